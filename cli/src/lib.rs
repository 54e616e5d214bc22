//! The `shifter` command. `main.rs` only parses and dispatches; everything else lives here so that tests can
//! drive it in-process.
//!
//! - `args`: the command line; `request`: flags and a request file to a validated rollout spec.
//! - `deploy`: the mode-independent deploy flow; `local`: the `--local` mode (the `LocalDriver`);
//!   `machine`: the state-machine mode (start and follow an execution); `status`; all over `stepfunctions`
//!   (the `ExecutionApi` seam) and `follow` (history → progress and outcome).
//! - `commands`: `promote`, `pause`, `resume` and `abort`, sent to a running rollout through the registry;
//!   and `analyze`, the canary analysis of two versions, without a rollout.
//! - `render` and `text`: progress and outcome as text (a bar on a terminal) or JSON lines.
//! - `list` and `history`: the rollout registry (`--table`), with what they share in `registry`.
//! - `aws_env`: this shell's AWS configuration, checked for a region and credentials before any call.
//! - `plan_cmd`: `shifter plan`; `logging`: tracing to stderr; `fmt`: durations.

pub mod args;
pub mod aws_env;
pub mod commands;
pub mod deploy;
pub mod fmt;
pub mod follow;
pub mod history;
pub mod list;
pub mod local;
pub mod logging;
pub mod machine;
pub mod plan_analysis;
pub mod plan_cmd;
pub mod registry;
pub mod render;
pub mod request;
pub mod status;
pub mod stepfunctions;
#[cfg(test)]
pub mod test_support;
pub mod text;
