//! `shifter promote TARGET`: the rollout skips its remaining steps and bakes, checks its alarms once more and
//! finalizes.

use shifter::registry::control::Command;

use crate::args::TargetArgs;

pub async fn run(args: &TargetArgs) -> i32 {
    super::run_send(args, &Command::Promote).await
}
