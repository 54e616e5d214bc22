//! The state-machine mode and the commands around its executions:
//!
//! - `shifter deploy` (without `--local`): StartExecution (input: the request; name: the rollout id), then
//!   follow the execution (`follow`) with the same display and exit codes as `--local`; `--no-wait` prints
//!   the execution ARN and returns.
//! - `shifter status ARN|function:alias`: an execution's status and where its rollout is, or an alias's
//!   routing.
//!
//! `shifter abort` lives in `abort`.

use std::io::Write;

use serde_json::{json, Value};
use shifter::aws::AwsPorts;
use shifter::domain::{percent, AliasState};
use shifter::driver::Outcome;
use shifter::ports::{AliasRouter, Clock};
use shifter::state::RolloutState;
use shifter::time::SystemClock;

use crate::args::{DeployArgs, OutputFormat, StatusArgs};
use crate::deploy::{Deployment, EXIT_INVALID};
use crate::follow::{follow, last_rollout_state, Polling};
use crate::render::Renderer;
use crate::request::build_request;
use crate::stepfunctions::{events_after, ApiError, Event, ExecutionApi, ExecutionInfo, SfnApi};

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
    let api = SfnApi::from_env().await;
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

/// Where an execution is: what DescribeExecution and the history say.
#[derive(Debug, Clone)]
pub struct ExecutionSummary {
    pub info: ExecutionInfo,
    pub state: Option<RolloutState>,
    /// The state the execution is in (the last one entered), while it runs.
    pub current_state: Option<String>,
    pub last_event: Option<Event>,
}

impl ExecutionSummary {
    pub async fn load<A: ExecutionApi>(api: &A, execution_arn: &str) -> Result<Self, ApiError> {
        let info = api.describe(execution_arn).await?;
        let events = events_after(api, execution_arn, 0).await?;
        Ok(Self::from_parts(info, &events))
    }

    pub fn from_parts(info: ExecutionInfo, events: &[Event]) -> Self {
        let current_state = events
            .iter()
            .rev()
            .find(|e| e.is_state_entered())
            .and_then(|e| e.state_name.clone());
        ExecutionSummary {
            info,
            state: last_rollout_state(events),
            current_state,
            last_event: events.last().cloned(),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "executionArn": self.info.execution_arn,
            "name": self.info.name,
            "stateMachineArn": self.info.state_machine_arn,
            "status": self.info.status,
            "error": self.info.error,
            "cause": self.info.cause,
            "currentState": self.current_state,
            "lastEvent": self.last_event.as_ref().map(|e| json!({
                "id": e.id, "type": e.kind, "state": e.state_name,
            })),
        });
        if let Some(s) = &self.state {
            let r = &s.rollout;
            v["rollout"] = json!({
                "rolloutId": r.rollout_id,
                "functionName": r.function_name,
                "alias": r.alias,
                "currentVersion": r.current_version,
                "targetVersion": r.target_version,
                "strategy": r.strategy,
                "stepsDone": r.steps_done,
                "stepCount": r.plan.steps.len(),
                "weightPercent": f64::from(r.weight_bps) / 100.0,
                "waitSeconds": s.wait_seconds,
                "reason": s.reason,
            });
        }
        v
    }

    pub fn to_text(&self) -> String {
        let i = &self.info;
        let mut lines = vec![
            format!("execution {}", i.execution_arn),
            format!("  status {}", i.status),
        ];
        if let Some(s) = &self.state {
            let r = &s.rollout;
            lines.push(format!(
                "  rollout {}: {}:{} version {} → {} ({})",
                r.rollout_id,
                r.function_name,
                r.alias,
                r.current_version,
                r.target_version,
                r.strategy
            ));
            lines.push(format!(
                "  step {}/{}: {} of traffic on version {}",
                r.steps_done,
                r.plan.steps.len(),
                percent(r.weight_bps),
                r.target_version
            ));
            if let Some(reason) = &s.reason {
                lines.push(format!("  reason: {reason}"));
            }
        } else {
            lines.push("  no rollout state yet (Prepare has not finished)".into());
        }
        if i.is_running() {
            if let Some(state) = &self.current_state {
                lines.push(format!("  current state: {state}"));
            }
        }
        if let Some(e) = &self.last_event {
            let state = e
                .state_name
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            lines.push(format!("  last event: #{} {}{state}", e.id, e.kind));
        }
        if let Some(error) = &i.error {
            let cause = crate::follow::cause_message(error, i.cause.as_deref());
            lines.push(format!("  error: {error}: {cause}"));
        }
        lines.join("\n")
    }
}

/// What `status` was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusTarget {
    Execution(String),
    Alias { function: String, alias: String },
}

impl StatusTarget {
    pub fn parse(text: &str) -> Result<StatusTarget, String> {
        let text = text.trim();
        if text.starts_with("arn:") && text.contains(":states:") {
            if text.contains(":execution:") {
                return Ok(StatusTarget::Execution(text.to_string()));
            }
            return Err(format!(
                "{text} is not an execution ARN (arn:aws:states:…:execution:…)"
            ));
        }
        match text.rsplit_once(':') {
            Some((function, alias)) if !function.is_empty() && !alias.is_empty() => {
                Ok(StatusTarget::Alias {
                    function: function.to_string(),
                    alias: alias.to_string(),
                })
            }
            _ => Err(format!(
                "{text:?} is neither an execution ARN nor function:alias"
            )),
        }
    }
}

/// An alias's routing, for `status function:alias`.
pub fn alias_text(function: &str, alias: &str, a: &AliasState) -> String {
    let routing = &a.routing;
    match &routing.additional {
        None => format!(
            "{function}:{alias} → version {} (all traffic)\n  not weighted: no rollout owns it",
            routing.function_version
        ),
        Some(extra) => format!(
            "{function}:{alias} → version {} {} + version {} {}\n  weighted: a rollout owns it (or was stopped midway: `shifter abort` on its execution rolls it back)",
            routing.function_version,
            percent(10_000 - extra.weight_bps),
            extra.version,
            percent(extra.weight_bps)
        ),
    }
}

pub fn alias_json(function: &str, alias: &str, a: &AliasState) -> Value {
    json!({
        "functionName": function,
        "alias": alias,
        "functionVersion": a.routing.function_version,
        "additionalVersion": a.routing.additional.as_ref().map(|x| json!({
            "version": x.version, "weightPercent": f64::from(x.weight_bps) / 100.0,
        })),
        "weighted": a.routing.is_weighted(),
        "revisionId": a.revision_id,
    })
}

/// `shifter status`, over the AWS SDK.
pub async fn status(args: &StatusArgs) -> i32 {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    match StatusTarget::parse(&args.target) {
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            EXIT_INVALID
        }
        Ok(StatusTarget::Execution(arn)) => {
            let api = SfnApi::from_env().await;
            status_execution(&api, &arn, args.output, &mut out, &mut err).await
        }
        Ok(StatusTarget::Alias { function, alias }) => {
            let ports = AwsPorts::from_env().await;
            status_alias(&ports, &function, &alias, args.output, &mut out, &mut err).await
        }
    }
}

pub async fn status_execution<A: ExecutionApi>(
    api: &A,
    arn: &str,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match ExecutionSummary::load(api, arn).await {
        Ok(summary) => {
            let text = match format {
                OutputFormat::Text => summary.to_text(),
                OutputFormat::Json => summary.to_json().to_string(),
            };
            let _ = writeln!(out, "{text}");
            0
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            if e.is_not_found() {
                EXIT_INVALID
            } else {
                1
            }
        }
    }
}

pub async fn status_alias<R: AliasRouter>(
    router: &R,
    function: &str,
    alias: &str,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match router.read_alias(function, alias).await {
        Ok(a) => {
            let text = match format {
                OutputFormat::Text => alias_text(function, alias, &a),
                OutputFormat::Json => alias_json(function, alias, &a).to_string(),
            };
            let _ = writeln!(out, "{text}");
            0
        }
        Err(e) => {
            let _ = writeln!(err, "{}", crate::render::error_line(&e));
            if e.is_invalid_input() {
                EXIT_INVALID
            } else {
                1
            }
        }
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
