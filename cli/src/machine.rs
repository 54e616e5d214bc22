//! The state-machine mode of `shifter deploy` (without `--local`): StartExecution (input: the request; name:
//! the rollout id, `cli-…`), then follow the execution (`follow`) with the same display and exit codes as `--local`;
//! `--no-wait` prints the execution ARN and returns. `shifter status` lives in `status`, `shifter abort` in
//! `abort`.

use std::io::Write;

use serde_json::json;
use shifter::driver::Outcome;
use shifter::ports::Clock;
use shifter::registry::started_by::CLI_PREFIX;
use shifter::time::SystemClock;
use shifter::Error;

use crate::args::{DeployArgs, OutputFormat};
use crate::deploy::{Deployment, EXIT_INVALID};
use crate::follow::{follow, Polling};
use crate::render::Renderer;
use crate::request::build_request;
use crate::stepfunctions::{ApiError, ExecutionApi, SfnApi};

/// Exit code when following was interrupted (SIGINT); the execution goes on.
pub const EXIT_INTERRUPTED: i32 = 130;

/// `shifter deploy` in state-machine mode, over the AWS SDK.
pub async fn run(
    args: &DeployArgs,
    deployment: &Deployment,
    state_machine_arn: &str,
    no_wait: bool,
    render: &mut Renderer,
) -> i32 {
    let input = match build_request(&args.request) {
        Ok(v) => v.to_string(),
        Err(error) => return crate::deploy::reject(render, error),
    };
    let api = match crate::aws_env::load().await {
        Ok(config) => SfnApi::new(&config),
        Err(missing) => {
            eprintln!("{}", missing.message("nothing was changed"));
            return crate::aws_env::EXIT_NO_AWS;
        }
    };
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let start = Start {
        state_machine_arn,
        rollout_id: &deployment.rollout_id,
        input: &input,
        format: args.output,
    };
    let execution_arn = match start.run(&api, !no_wait, &mut out, &mut err).await {
        Ok(arn) => arn,
        Err(code) => return code,
    };
    if no_wait {
        return 0;
    }
    tokio::select! {
        code = follow_to_end(&api, &execution_arn, render, Polling::default(), &SystemClock, &mut err) => code,
        _ = tokio::signal::ctrl_c() => {
            let _ = writeln!(err, "\nstopped following {execution_arn}: the rollout goes on in the state machine\nhint: `shifter status {execution_arn}` shows it; `shifter abort {execution_arn}` stops it and rolls back");
            EXIT_INTERRUPTED
        }
    }
}

/// The longest Step Functions execution name.
pub const MAX_EXECUTION_NAME: usize = 80;

/// The execution name (and rollout id) `shifter deploy` gives a rollout: `cli-` and the id, unless the id
/// starts with `cli-` already, so the registry records that the CLI started it (`shifter list` shows it). The
/// same id always gives the same name, so a repeated deploy still finds its execution.
pub fn cli_execution_name(rollout_id: &str) -> Result<String, Error> {
    if rollout_id.starts_with(CLI_PREFIX) {
        return Ok(rollout_id.to_string());
    }
    let name = format!("{CLI_PREFIX}{rollout_id}");
    if name.len() > MAX_EXECUTION_NAME {
        return Err(Error::invalid(
            "rolloutId",
            format!(
                "{rollout_id:?} is too long: the execution is named {CLI_PREFIX}<id>, and execution names have at most {MAX_EXECUTION_NAME} characters; use at most {} (or start the id with {CLI_PREFIX})",
                MAX_EXECUTION_NAME - CLI_PREFIX.len()
            ),
        ));
    }
    Ok(name)
}

/// StartExecution with the request, named after the rollout id.
pub struct Start<'a> {
    pub state_machine_arn: &'a str,
    pub rollout_id: &'a str,
    pub input: &'a str,
    pub format: OutputFormat,
}

impl Start<'_> {
    /// Starts the execution and prints its ARN. With `--no-wait` (`follow` false) stdout gets the ARN alone,
    /// or one JSON object `{executionArn, rolloutId}`. When following, text output starts with an
    /// `execution ARN` line, and JSON output keeps stdout for lifecycle objects (the ARN goes to stderr).
    /// When it did not start: prints why and returns the exit code.
    pub async fn run<A: ExecutionApi>(
        &self,
        api: &A,
        follow: bool,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<String, i32> {
        match self.start(api).await {
            Ok(arn) => {
                let _ = match (self.format, follow) {
                    (OutputFormat::Text, false) => writeln!(out, "{arn}"),
                    (OutputFormat::Json, false) => writeln!(
                        out,
                        "{}",
                        json!({"executionArn": arn, "rolloutId": self.rollout_id})
                    ),
                    (OutputFormat::Text, true) => writeln!(out, "execution {arn}"),
                    (OutputFormat::Json, true) => writeln!(err, "execution {arn}"),
                };
                let _ = out.flush();
                Ok(arn)
            }
            Err((code, text)) => {
                let _ = writeln!(err, "{text}");
                Err(code)
            }
        }
    }

    /// The execution ARN, or an exit code and what to print.
    pub async fn start<A: ExecutionApi>(&self, api: &A) -> Result<String, (i32, String)> {
        match api
            .start(self.state_machine_arn, self.rollout_id, self.input)
            .await
        {
            Ok(arn) => Ok(arn),
            Err(e) if e.code.as_deref() == Some("ExecutionAlreadyExists") => {
                Err((EXIT_INVALID, self.already_exists(api, &e).await))
            }
            Err(e) => Err(start_error(&e, self.state_machine_arn)),
        }
    }

    /// StartExecution answers ExecutionAlreadyExists both for a running execution of that name started with
    /// another input (the same input would have returned it, as StartExecution is idempotent then) and for
    /// any finished one, since a name cannot be reused for 90 days: DescribeExecution says which.
    async fn already_exists<A: ExecutionApi>(&self, api: &A, e: &ApiError) -> String {
        let id = self.rollout_id;
        let Some(arn) = execution_arn(self.state_machine_arn, id) else {
            return format!("error: the state machine already has an execution named {id}, still running (started with another request) or already ended: {e}\nhint: nothing was started; give another --rollout-id (names cannot be reused for 90 days)");
        };
        match api.describe(&arn).await {
            Ok(info) if info.is_running() || info.status == "PENDING_REDRIVE" => {
                let redrive = if info.is_running() { "" } else { " (PENDING_REDRIVE)" };
                format!("error: an execution named {id} is already running{redrive}, started with another request: {arn}\nhint: nothing was started; `shifter status {arn}` shows where it is, `shifter abort {arn}` stops it and rolls back; or give another --rollout-id")
            }
            Ok(info) => {
                let how = match &info.error {
                    Some(error) => format!("{} ({error})", info.status),
                    None => info.status.clone(),
                };
                format!("error: the rollout id {id} was already used: execution {arn} ended {how}, and execution names cannot be reused for 90 days\nhint: nothing was started; give another --rollout-id; `shifter status {arn}` shows how it ended")
            }
            Err(describe) => format!(
                "error: the state machine already has an execution named {id}, still running (started with another request) or already ended: {e} (and DescribeExecution failed: {describe})\nhint: nothing was started; `shifter status {arn}` shows it; to start a rollout, give another --rollout-id (names cannot be reused for 90 days)"
            ),
        }
    }
}

/// The ARN of the execution named `name` of a state machine: `arn:…:execution:<state machine>:<name>`.
/// A version- or alias-qualified state machine ARN (`…:stateMachine:<name>:<qualifier>`) names the same
/// executions, so the qualifier is dropped.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> Option<String> {
    let (prefix, rest) = state_machine_arn.split_once(":stateMachine:")?;
    let machine = rest.split(':').next().filter(|m| !m.is_empty())?;
    Some(format!("{prefix}:execution:{machine}:{name}"))
}

fn start_error(e: &ApiError, state_machine_arn: &str) -> (i32, String) {
    let code = e.code.as_deref().unwrap_or_default();
    if e.is_not_found() || code.contains("InvalidArn") || code.contains("Validation") {
        return (EXIT_INVALID, format!("error: cannot start an execution of {state_machine_arn}: {e}\nhint: nothing was started; check --state-machine-arn (or SHIFTER_STATE_MACHINE_ARN) and the account and region in use"));
    }
    (
        1,
        format!("error: cannot start an execution of {state_machine_arn}: {e}\nhint: check the credentials in use and their states:StartExecution permission; AWS_ENDPOINT_URL, if set"),
    )
}

/// Follows an execution to its end through `render`; returns the exit code.
pub async fn follow_to_end<A: ExecutionApi>(
    api: &A,
    execution_arn: &str,
    render: &mut Renderer,
    polling: Polling,
    clock: &impl Clock,
    err: &mut dyn Write,
) -> i32 {
    match follow(api, execution_arn, render, polling, clock).await {
        Ok(ended) => {
            render.finish(&ended.outcome, ended.elapsed);
            if ended.status != "SUCCEEDED" {
                let _ = writeln!(err, "execution {execution_arn}: {}", ended.status);
            }
            if matches!(
                ended.outcome,
                Outcome::Failed {
                    alias_restored: false,
                    ..
                }
            ) {
                let _ = writeln!(err, "hint: `shifter abort {execution_arn}` returns the alias to its old version if it still routes only to this rollout's versions");
            }
            ended.exit_code
        }
        Err(e) => {
            // Only a not-found error gets here: throttling and other read errors are waited out.
            let _ = writeln!(err, "error: execution {execution_arn} cannot be found: {e}\nhint: check the account and region in use (AWS_PROFILE, AWS_REGION); if the execution exists, `shifter status {execution_arn}` shows it");
            1
        }
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
