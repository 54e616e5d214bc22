//! `shifter pause TARGET [--max-pause 24h]`: the rollout holds its weight until `resume`, and rolls back
//! after `--max-pause`.

use shifter::registry::control::Command;

use crate::args::PauseArgs;

pub async fn run(args: &PauseArgs) -> i32 {
    let command = Command::Pause {
        max_seconds: args.max_pause,
    };
    super::run_send(&args.on, &command).await
}
