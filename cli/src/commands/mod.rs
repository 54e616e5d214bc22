//! The commands that steer a running rollout: `promote`, `pause`, `resume` and `abort`. Each finds the
//! rollout (`target`) and posts the command on its lease in the rollout registry (`send`); the rollout acts
//! on it, as the alias's only writer. `abort` then waits for the rollout to end; `stop` is its fallback for
//! executions the registry does not know (StopExecution, then a fenced rollback from this process), and
//! `unowned` for an alias that no live rollout owns (restored from this process).
//!
//! `analyze` is apart: it steers nothing, and judges two versions of an alias from their metrics, as a
//! rollout's canary analysis does.

pub mod abort;
pub mod analyze;
#[cfg(test)]
mod fixture;
pub mod pause;
pub mod promote;
pub mod resume;
pub mod send;
pub mod stop;
pub mod target;
pub mod unowned;

use shifter::registry::control::Command;
use shifter::time::unix_millis;

use crate::args::TargetArgs;
use crate::stepfunctions::SfnApi;

/// Without a table nothing can reach a rollout.
pub const NO_TABLE: &str = "error: no rollout registry to send the command through: give --table NAME (or set SHIFTER_TABLE); nothing was changed\nhint: commands reach a running rollout through its lease in the registry, the DynamoDB table the shifter stack records rollouts in";

/// `promote`, `pause` or `resume` over the AWS SDK. Without a table it calls nothing.
pub async fn run_send(on: &TargetArgs, command: &Command) -> i32 {
    let ports = match crate::registry::ports(on.table.as_deref(), "nothing was changed").await {
        Ok(ports) => ports,
        Err(code) => return code,
    };
    // Without a table, `send` refuses before any call: this client is never used then.
    let api = SfnApi::from_env().await;
    send::send(
        ports.as_ref(),
        &api,
        &on.target,
        command,
        unix_millis(),
        on.output,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
    .await
}
