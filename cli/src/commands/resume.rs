//! `shifter resume TARGET`: a paused rollout goes on.

use shifter::registry::control::Command;

use crate::args::TargetArgs;

pub async fn run(args: &TargetArgs) -> i32 {
    super::run_send(args, &Command::Resume).await
}
