//! `shifter deploy`: the mode-independent part. Checks the flags and the request (no AWS yet), then hands
//! the validated rollout to a mode's module (`local`; the state-machine mode is a separate module to come),
//! inside a `rollout` span. Every mode reports through the same `Renderer`.

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// This process runs the steps and the bakes (`--local`).
    Local,
}

pub const NO_STATE_MACHINE_MODE: &str = "error: deploying through the state machine is not available in this build yet: add --local to drive the rollout from this process\nhint: --local uses this shell's AWS credentials (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL)";

impl Mode {
    pub fn from_args(args: &DeployArgs) -> Result<Mode, &'static str> {
        if args.local {
            Ok(Mode::Local)
        } else {
            Err(NO_STATE_MACHINE_MODE)
        }
    }
}

/// A rollout that passed every check needing no AWS.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub spec: RolloutSpec,
    pub rollout_id: String,
    pub check_interval: Duration,
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
        Ok(Deployment {
            spec,
            rollout_id,
            check_interval: Duration::from_secs(args.check_interval),
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
    }
}

/// Renders a request refused before anything changed; returns its exit code.
pub fn reject(render: &mut Renderer, error: Error) -> i32 {
    let outcome = Outcome::Rejected { error };
    render.finish(&outcome, Duration::ZERO);
    outcome.exit_code()
}
