//! `shifter deploy`: the mode-independent part. Checks the flags and the request (no AWS yet), then hands
//! the validated rollout to a mode's module (`local`, or `machine` for the state machine), inside a `rollout`
//! span. Every mode reports through the same `Renderer`.

use std::time::Duration;

use shifter::driver::Outcome;
use shifter::request::RolloutSpec;
use shifter::time::new_rollout_id;
use shifter::Error;
use tracing::Instrument;

use crate::args::DeployArgs;
use crate::logging::rollout_span;
use crate::render::Renderer;
use crate::request::{check_rollout_id, spec_from_args};

/// Exit code for a request refused before anything changed (as `Outcome::exit_code` uses for it).
pub const EXIT_INVALID: i32 = 2;

/// Where the rollout is driven from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// This process runs the steps and the bakes (`--local`).
    Local,
    /// The state machine runs the rollout; this process starts its execution and (unless `no_wait`)
    /// follows it.
    StateMachine { arn: String, no_wait: bool },
}

pub const NO_STATE_MACHINE_ARN: &str = "error: no state machine to deploy through: give --state-machine-arn ARN (or set SHIFTER_STATE_MACHINE_ARN), or add --local to drive the rollout from this process\nhint: the ARN is the stack's StateMachineArn output; --local uses this shell's AWS credentials (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL)";

pub const CHECK_INTERVAL_NEEDS_LOCAL: &str = "error: --check-interval applies to --local only: the state machine reads no alarms on an interval, it reacts to an alarm's state-change event within seconds; nothing was changed\nhint: drop --check-interval, or add --local to drive the rollout from this process";

/// Seconds between a local rollout's alarm reads, without --check-interval.
pub const DEFAULT_CHECK_INTERVAL: u64 = 10;

pub const NO_WAIT_NEEDS_STATE_MACHINE: &str = "error: --no-wait starts a state-machine execution and cannot be used with --local (the local mode runs in this process)";

impl Mode {
    pub fn from_args(args: &DeployArgs) -> Result<Mode, &'static str> {
        if args.local {
            if args.no_wait {
                return Err(NO_WAIT_NEEDS_STATE_MACHINE);
            }
            return Ok(Mode::Local);
        }
        if args.check_interval.is_some() {
            return Err(CHECK_INTERVAL_NEEDS_LOCAL);
        }
        match args.state_machine_arn.as_deref().map(str::trim) {
            Some(arn) if !arn.is_empty() => Ok(Mode::StateMachine {
                arn: arn.to_string(),
                no_wait: args.no_wait,
            }),
            _ => Err(NO_STATE_MACHINE_ARN),
        }
    }
}

/// A rollout that passed every check needing no AWS.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub spec: RolloutSpec,
    pub rollout_id: String,
    pub check_interval: Duration,
    /// The rollout registry's table for `--local` (`--table`/`SHIFTER_TABLE`; blank counts as none). With it
    /// the local rollout takes the alias's lease, records its progress, and listens for operators' commands.
    pub table: Option<String>,
}

impl Deployment {
    pub fn from_args(args: &DeployArgs) -> Result<Deployment, Error> {
        let spec = spec_from_args(&args.request)?;
        let rollout_id = match &args.rollout_id {
            Some(id) => {
                check_rollout_id(id)?;
                id.clone()
            }
            None => new_rollout_id(),
        };
        // The state machine's rollout id is the execution's name, which says the CLI started it.
        let rollout_id = if args.local {
            rollout_id
        } else {
            crate::machine::cli_execution_name(&rollout_id)?
        };
        Ok(Deployment {
            spec,
            rollout_id,
            check_interval: Duration::from_secs(
                args.check_interval.unwrap_or(DEFAULT_CHECK_INTERVAL),
            ),
            table: crate::registry::table(args.table.as_deref()),
        })
    }
}

/// Runs `shifter deploy` against real AWS and returns the exit code.
pub async fn run(args: &DeployArgs, render: &mut Renderer) -> i32 {
    let mode = match Mode::from_args(args) {
        Ok(mode) => mode,
        Err(message) => {
            eprintln!("{message}");
            return EXIT_INVALID;
        }
    };
    let deployment = match Deployment::from_args(args) {
        Ok(d) => d,
        Err(error) => return reject(render, error),
    };
    render.plan(&deployment.spec.plan);
    let span = rollout_span(&deployment.rollout_id);
    match mode {
        Mode::Local => {
            crate::local::run(&deployment, render)
                .instrument(span)
                .await
        }
        Mode::StateMachine { arn, no_wait } => {
            crate::machine::run(args, &deployment, &arn, no_wait, render)
                .instrument(span)
                .await
        }
    }
}

/// Renders a request refused before anything changed; returns its exit code.
pub fn reject(render: &mut Renderer, error: Error) -> i32 {
    let outcome = Outcome::Rejected { error };
    render.finish(&outcome, Duration::ZERO);
    outcome.exit_code()
}
