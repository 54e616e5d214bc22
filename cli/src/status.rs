//! `shifter status ARN|function:alias`: an execution's status and where its rollout is, or an alias's
//! routing.

use std::io::Write;

use serde_json::{json, Value};
use shifter::aws::AwsPorts;
use shifter::domain::{percent, AliasState};
use shifter::ports::AliasRouter;
use shifter::state::RolloutState;
use shifter::Error;

use crate::args::{OutputFormat, StatusArgs};
use crate::deploy::EXIT_INVALID;
use crate::follow::last_rollout_state;
use crate::stepfunctions::{events_after, ApiError, Event, ExecutionApi, ExecutionInfo, SfnApi};

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
                "lastAnalysis": r.last_analysis,
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
            if let Some(a) = &r.last_analysis {
                lines.push(format!("  last analysis: {}", a.headline()));
                for line in a.evidence.lines() {
                    lines.push(format!("    {line}"));
                }
            }
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
            "{function}:{alias} → version {} {} + version {} {}\n  weighted: a rollout owns it (or was stopped midway: `shifter abort {function}:{alias}` rolls it back, through the rollout if one still runs)",
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
        Ok(target) => {
            let config = match crate::aws_env::load().await {
                Ok(config) => config,
                Err(missing) => {
                    let _ = writeln!(err, "{}", missing.message("nothing was read"));
                    return crate::aws_env::EXIT_NO_AWS;
                }
            };
            match target {
                StatusTarget::Execution(arn) => {
                    let api = SfnApi::new(&config);
                    status_execution(&api, &arn, args.output, &mut out, &mut err).await
                }
                StatusTarget::Alias { function, alias } => {
                    let ports = AwsPorts::new(&config);
                    status_alias(&ports, &function, &alias, args.output, &mut out, &mut err).await
                }
            }
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
        Err(Error::ResourceNotFound { message, .. }) => {
            let _ = writeln!(err, "{}", alias_not_found(function, alias, &message));
            EXIT_INVALID
        }
        Err(e) => {
            let _ = writeln!(err, "{}", crate::render::error_line(&e));
            let _ = writeln!(err, "{}", crate::render::hint(&e));
            if e.is_invalid_input() {
                EXIT_INVALID
            } else {
                1
            }
        }
    }
}

/// What `status function:alias` says when Lambda finds no such function or alias: which one, and how to look.
pub fn alias_not_found(function: &str, alias: &str, aws: &str) -> String {
    // Lambda says "Cannot find alias arn: …" for a missing alias, "Function not found: …" for a missing
    // function; an ARN ending in the alias leaves it open which.
    let lower = aws.to_ascii_lowercase();
    let names_alias = lower.contains("alias") || aws.trim_end().ends_with(&format!(":{alias}"));
    let (what, look) = if lower.contains("function not found") && !names_alias {
        (
            format!("function {function:?}"),
            "`aws lambda list-functions` lists the functions".to_string(),
        )
    } else {
        let what = if lower.contains("alias") {
            format!("alias {alias:?} of function {function:?}")
        } else {
            format!("{function}:{alias} (the function or its alias)")
        };
        (
            what,
            format!("`aws lambda list-aliases --function-name {function}` lists its aliases"),
        )
    };
    format!(
        "error: {what} not found (Lambda: {aws})\n\
         hint: {look}, in the account and region in use (AWS_PROFILE, AWS_REGION); nothing was changed"
    )
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
