//! `shifter abort ARN`: StopExecution, then roll the alias back from this process (StopExecution does not
//! run the state machine's Catch, so nothing else would).

use std::io::Write;

use serde_json::json;
use shifter::aws::AwsPorts;
use shifter::ports::AliasRouter;
use shifter::usecase;

use crate::args::{AbortArgs, OutputFormat};
use crate::deploy::EXIT_INVALID;
use crate::follow::last_rollout_state;
use crate::machine::StatusTarget;
use crate::stepfunctions::{events_after, ApiError, ExecutionApi, SfnApi};

/// The cause StopExecution records for `shifter abort`.
pub const ABORT_CAUSE: &str = "aborted by shifter abort";

/// `shifter abort`, over the AWS SDK.
pub async fn abort(args: &AbortArgs) -> i32 {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    if let Err(message) = match StatusTarget::parse(&args.execution_arn) {
        Ok(StatusTarget::Execution(_)) => Ok(()),
        Ok(_) => Err(format!("{} is not an execution ARN", args.execution_arn)),
        Err(m) => Err(m),
    } {
        let _ = writeln!(err, "error: {message}");
        return EXIT_INVALID;
    }
    let api = SfnApi::from_env().await;
    let ports = AwsPorts::from_env().await;
    abort_with(
        &api,
        &ports,
        args.execution_arn.trim(),
        args.output,
        &mut out,
        &mut err,
    )
    .await
}

/// What `abort` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aborted {
    pub status_before: String,
    pub stopped: bool,
    pub rollout: Option<(String, String, String)>,
    pub restored: bool,
    pub changed: bool,
    pub error: Option<String>,
}

/// Stops the execution if it runs, then rolls its rollout back (idempotent; an alias someone else has since
/// changed is left alone). An execution that already SUCCEEDED or FAILED is left alone: the state machine
/// finished it (and rolled back itself when it failed).
pub async fn abort_with<A: ExecutionApi, R: AliasRouter>(
    api: &A,
    router: &R,
    arn: &str,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let fail = |err: &mut dyn Write, e: &ApiError| {
        let _ = writeln!(err, "error: {e}");
        if e.is_not_found() {
            EXIT_INVALID
        } else {
            1
        }
    };
    let info = match api.describe(arn).await {
        Ok(i) => i,
        Err(e) => return fail(err, &e),
    };
    if matches!(info.status.as_str(), "SUCCEEDED" | "FAILED") {
        let _ = writeln!(err, "error: execution {arn} already ended ({}): nothing to abort\nhint: `shifter status {arn}` shows how it ended", info.status);
        return 1;
    }
    let mut stopped = false;
    if info.is_running() {
        if let Err(e) = api.stop(arn, ABORT_CAUSE).await {
            return fail(err, &e);
        }
        stopped = true;
    }
    // Read the history after the stop: no state comes after it.
    let events = match events_after(api, arn, 0).await {
        Ok(e) => e,
        Err(e) => return fail(err, &e),
    };
    let mut result = Aborted {
        status_before: info.status.clone(),
        stopped,
        rollout: None,
        restored: false,
        changed: false,
        error: None,
    };
    let state = last_rollout_state(&events);
    let code = match &state {
        None => {
            // Prepare never finished: it changes no alias, so there is nothing to undo.
            result.restored = true;
            0
        }
        Some(state) => {
            let r = &state.rollout;
            result.rollout = Some((
                r.function_name.clone(),
                r.alias.clone(),
                r.current_version.clone(),
            ));
            match usecase::rollback(router, r).await {
                Ok(outcome) => {
                    result.restored = true;
                    result.changed = outcome.changed;
                    0
                }
                Err(e) => {
                    result.error = Some(e.to_string());
                    1
                }
            }
        }
    };
    let text = match format {
        OutputFormat::Json => json!({
            "executionArn": arn,
            "statusBefore": result.status_before,
            "stopped": result.stopped,
            "functionName": result.rollout.as_ref().map(|r| &r.0),
            "alias": result.rollout.as_ref().map(|r| &r.1),
            "restoredVersion": result.rollout.as_ref().filter(|_| result.restored).map(|r| &r.2),
            "aliasRestored": result.restored,
            "aliasChanged": result.changed,
            "error": result.error,
        })
        .to_string(),
        OutputFormat::Text => {
            let mut lines = vec![if stopped {
                format!("stopped {arn}")
            } else {
                format!("{arn} was already {}", info.status)
            }];
            match (&result.rollout, &result.error) {
                (None, _) => lines.push(
                    "  the rollout had not started shifting traffic: nothing to roll back".into(),
                ),
                (Some((f, a, v)), None) if result.changed => {
                    lines.push(format!("  rolled back {f}:{a} to version {v}"))
                }
                (Some((f, a, v)), None) => {
                    lines.push(format!("  {f}:{a} already served version {v} alone"))
                }
                (Some((f, a, _)), Some(e)) => {
                    let _ = writeln!(
                        err,
                        "error: rolling {f}:{a} back failed: {e}\nhint: check the alias (`shifter status {f}:{a}`) and fix it by hand"
                    );
                }
            }
            lines.join("\n")
        }
    };
    let _ = writeln!(out, "{text}");
    code
}

#[cfg(test)]
#[path = "abort_tests.rs"]
mod tests;
