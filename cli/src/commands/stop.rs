//! `shifter abort`'s fallback for an execution no running rollout in the registry has (stacks without a
//! registry, or an execution that ended without rolling back): StopExecution, then roll the alias back from
//! this process (StopExecution does not run the state machine's Catch, so nothing else would).

use std::io::Write;

use serde_json::json;
use shifter::ports::AliasRouter;
use shifter::registry::RolloutStatus;
use shifter::rollout::Rollout;
use shifter::usecase::lease::{self, Registry};
use shifter::usecase::{self, RollbackAction};
use shifter::Error;

use crate::args::OutputFormat;
use crate::deploy::EXIT_INVALID;
use crate::follow::last_rollout_state;
use crate::stepfunctions::{events_after, ApiError, ExecutionApi};

/// The cause StopExecution records for `shifter abort`.
pub const ABORT_CAUSE: &str = "aborted by shifter abort";

/// What rolling the alias back came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollBack {
    /// Prepare never finished: it changes no alias, so there is nothing to undo.
    NothingToUndo,
    /// The alias serves the rollout's old version alone; `wrote` when this run wrote it.
    Restored {
        wrote: bool,
    },
    /// The alias routes to something this rollout could not have written: someone else owns it now.
    LeftAlone {
        reason: String,
    },
    Failed {
        error: String,
    },
}

impl RollBack {
    pub fn exit_code(&self) -> i32 {
        match self {
            RollBack::NothingToUndo | RollBack::Restored { .. } => 0,
            RollBack::LeftAlone { .. } => 3,
            RollBack::Failed { .. } => 1,
        }
    }
}

/// The one call to `usecase::rollback`. `write_may_be_in_flight`: a Task of the execution may have written
/// the alias after the last state its history shows (see `abort_with`), so the plan's next routing counts as
/// this rollout's too.
async fn roll_back<R: AliasRouter>(
    router: &R,
    rollout: &Rollout,
    write_may_be_in_flight: bool,
) -> RollBack {
    let mut result = usecase::rollback(router, rollout, write_may_be_in_flight).await;
    // The stack's execution cleanup (on the ABORTED event) may restore the alias at the same moment: its
    // fenced write wins and ours is refused. Read the alias again: restored, or truly someone else's.
    if matches!(result, Err(Error::AliasChanged { .. })) {
        result = usecase::rollback(router, rollout, write_may_be_in_flight).await;
    }
    match result {
        Ok(outcome) if outcome.action == RollbackAction::LeftAlone => RollBack::LeftAlone {
            reason: usecase::left_alone_message(&outcome),
        },
        Ok(outcome) => RollBack::Restored {
            wrote: outcome.action == RollbackAction::Restored,
        },
        // The alias read back other than the rollback wrote: someone else changed it meanwhile.
        Err(Error::AliasChanged { message, .. }) => RollBack::LeftAlone { reason: message },
        Err(e) => RollBack::Failed {
            error: e.to_string(),
        },
    }
}

/// Another rollout that the registry says runs on the same alias now owns it: aborting an older execution
/// must not undo it, even where the routing looks like one the older rollout could have left. None when the
/// registry is off or cannot be read (the RevisionId and routing checks of the rollback still apply).
async fn newer_owner<R: Registry>(registry: &R, rollout: &Rollout) -> Option<String> {
    let running = registry.running().await.ok()?;
    running
        .into_iter()
        .find(|other| {
            other.function_name == rollout.function_name
                && other.alias == rollout.alias
                && other.rollout_id != rollout.rollout_id
        })
        .map(|other| {
            format!(
                "rollout {} runs on {}:{} now (the registry says so): it owns the alias, so it was left alone",
                other.rollout_id, rollout.function_name, rollout.alias
            )
        })
}

/// Stops the execution if it runs, then rolls its rollout back from the last rollout state in its history:
/// the alias returns to the old version when it still routes only to this rollout's versions (idempotent),
/// and is left alone (exit 3) when it routes to anything else.
///
/// An execution that ended FAILED, ABORTED or TIMED_OUT is rolled back the same way, without a stop: the
/// state machine's own rollback runs only from a Catch, so a RollbackFailed end, a `States.*` error raised
/// outside a Task (DataLimitExceeded on a state's output), a timeout or a StopExecution from elsewhere can
/// leave the alias weighted. One that rolled back already finds the alias restored and writes nothing. A
/// SUCCEEDED execution is refused: it promoted, and rolling back would undo a finished deployment.
pub async fn abort_with<A: ExecutionApi, R: AliasRouter + Registry>(
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
    if info.status == "SUCCEEDED" {
        let _ = writeln!(err, "error: execution {arn} already SUCCEEDED: the rollout promoted, nothing to abort\nhint: `shifter status {arn}` shows how it ended; to go back, deploy the old version");
        return 1;
    }
    let mut stopped = false;
    if info.is_running() {
        if let Err(e) = api.stop(arn, ABORT_CAUSE).await {
            return fail(err, &e);
        }
        stopped = true;
    }
    // Any execution abort handles may have written the alias after its last visible state: a running Task
    // outlives StopExecution and an execution's timeout, and a Task whose output broke a States.* limit
    // (DataLimitExceeded) had already written when it failed. So the plan's next routing counts as ours.
    let write_may_be_in_flight = true;
    // Read the history after the stop: no state comes after it.
    let events = match events_after(api, arn, 0).await {
        Ok(e) => e,
        Err(e) => return fail(err, &e),
    };
    let state = last_rollout_state(&events);
    let rollout = state.as_ref().map(|s| &s.rollout);
    let result = match rollout {
        None => RollBack::NothingToUndo,
        Some(r) => match newer_owner(router, r).await {
            Some(reason) => RollBack::LeftAlone { reason },
            None => roll_back(router, r, write_may_be_in_flight).await,
        },
    };
    // The registry learns how it ended when abort ended it, or when no Catch of the execution could say so.
    let no_catch_ran = stopped || matches!(info.status.as_str(), "ABORTED" | "TIMED_OUT");
    if let Some(r) =
        rollout.filter(|_| no_catch_ran || matches!(result, RollBack::Restored { wrote: true }))
    {
        let (status, reason) = match &result {
            RollBack::LeftAlone { reason } => (RolloutStatus::LeftAlone, reason.clone()),
            RollBack::Failed { error } => (RolloutStatus::RollbackFailed, error.clone()),
            _ => (
                RolloutStatus::RolledBack,
                format!(
                    "aborted with shifter abort ({before_status})",
                    before_status = info.status
                ),
            ),
        };
        lease::finish(
            router,
            r,
            status,
            Some(&reason),
            shifter::time::unix_millis(),
        )
        .await;
    }
    let before = match &info.error {
        Some(error) => format!("{} ({error})", info.status),
        None => info.status.clone(),
    };
    let text = match format {
        OutputFormat::Json => json!({
            "path": "stopExecution",
            "executionArn": arn,
            "statusBefore": info.status,
            "stopped": stopped,
            "functionName": rollout.map(|r| &r.function_name),
            "alias": rollout.map(|r| &r.alias),
            "restoredVersion": rollout
                .filter(|_| matches!(result, RollBack::Restored { .. }))
                .map(|r| &r.current_version),
            "aliasRestored": matches!(result, RollBack::NothingToUndo | RollBack::Restored { .. }),
            "aliasChanged": matches!(result, RollBack::Restored { wrote: true }),
            "aliasLeftAlone": matches!(result, RollBack::LeftAlone { .. }),
            "error": match &result {
                RollBack::LeftAlone { reason } => Some(reason),
                RollBack::Failed { error } => Some(error),
                _ => None,
            },
        })
        .to_string(),
        OutputFormat::Text => {
            let mut lines = vec![if stopped {
                format!("stopped {arn}")
            } else {
                format!("{arn} was already {before}")
            }];
            match (rollout, &result) {
                (None, _) | (_, RollBack::NothingToUndo) => lines.push(
                    "  the rollout had not started shifting traffic: nothing to roll back".into(),
                ),
                (Some(r), RollBack::Restored { wrote: true }) => lines.push(format!(
                    "  rolled back {}:{} to version {}",
                    r.function_name, r.alias, r.current_version
                )),
                (Some(r), RollBack::Restored { wrote: false }) => lines.push(format!(
                    "  {}:{} already served version {} alone",
                    r.function_name, r.alias, r.current_version
                )),
                (Some(r), RollBack::LeftAlone { reason }) => {
                    lines.push(format!("  {}:{} left alone", r.function_name, r.alias));
                    let _ = writeln!(
                        err,
                        "error: {f}:{a} was changed outside this rollout and is left alone: {reason}\nhint: `shifter status {f}:{a}` shows how it routes now",
                        f = r.function_name,
                        a = r.alias
                    );
                }
                (Some(r), RollBack::Failed { error }) => {
                    let _ = writeln!(
                        err,
                        "error: rolling {f}:{a} back failed: {error}\nhint: check the alias (`shifter status {f}:{a}`) and fix it by hand, or run `shifter abort` again",
                        f = r.function_name,
                        a = r.alias
                    );
                }
            }
            lines.join("\n")
        }
    };
    let _ = writeln!(out, "{text}");
    result.exit_code()
}

#[cfg(test)]
#[path = "stop_tests.rs"]
mod tests;
