//! A lease never outlives its execution. An execution can end with no Catch of its own running: stopped from
//! the console or by `StopExecution`, timed out, or failed on a states error. EventBridge's "Step Functions
//! Execution Status Change" then calls this: the same fenced rollback as the state machine's Rollback, from the
//! rollout as the registry last recorded it, and the lease given back.
//!
//! A Task the execution was running when it stopped may still finish its own write afterwards (Step Functions
//! does not kill a running Lambda invocation). Every write is fenced on the RevisionId it read, so whichever
//! write comes second fails instead of overwriting; and the rollback counts the plan's next routing as this
//! rollout's (a write may have been in flight), so a write that landed first is still undone.

use serde::Serialize;
use tracing::{info, warn};

use super::lease::Registry;
use super::{rollback, RollbackEnd};
use crate::custom_resource::answer;
use crate::custom_resource::ports::{ReplyLedger, ReplySender};
use crate::error::{Error, Result};
use crate::ports::{AliasRouter, Notifier};
use crate::registry::RolloutStatus;
use crate::rollout::Rollout;

/// The execution statuses that end a rollout with no rollback of its own.
pub const UNCLEAN_ENDS: [&str; 3] = ["ABORTED", "TIMED_OUT", "FAILED"];

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cleanup {
    pub rollout_id: String,
    pub status: RolloutStatus,
    pub reason: String,
}

/// Rolls back the rollout `execution_arn` ran, if the registry still shows it running. `None`: nothing to do
/// (the execution ended cleanly and gave its lease back, or it is not one of shifter's).
pub async fn execution_ended<P>(
    ports: &P,
    execution_arn: &str,
    status: &str,
    now_ms: u64,
) -> Result<Option<Cleanup>>
where
    P: Registry + AliasRouter + Notifier + ReplyLedger + ReplySender,
{
    if !UNCLEAN_ENDS.contains(&status) {
        return Ok(None);
    }
    let Some(record) = ports
        .running()
        .await?
        .into_iter()
        .find(|r| r.execution_arn.as_deref() == Some(execution_arn))
    else {
        info!(
            execution_arn,
            status, "no running rollout for this execution: nothing to clean up"
        );
        return Ok(None);
    };
    let rollout: Rollout = record.rollout().ok_or_else(|| Error::InvalidState {
        message: format!(
            "the registry's record of rollout {} has no usable snapshot",
            record.rollout_id
        ),
    })?;
    let why = format!("its execution ended {status} with no rollback of its own");
    warn!(rollout_id = %rollout.rollout_id, execution_arn, status, "cleaning up after an execution that ended");
    // An error here is returned: Lambda retries the asynchronous invocation, then sends the event to the
    // stack's UndeliveredEventsQueue (the function's OnFailure destination).
    let done = rollback(ports, &rollout, true).await?;
    let end = RollbackEnd::of(
        &rollout,
        &why,
        Some(execution_error_type(status)),
        Ok(&done),
    );
    let _ = end.record(ports, now_ms).await;
    let error = match end.status {
        RolloutStatus::LeftAlone => "AliasChanged",
        _ => execution_error_type(status),
    };
    answer::for_rollout(ports, &end.rollout, |r, to| {
        answer::not_promoted(r, to, error, &end.reason)
    })
    .await;
    Ok(Some(Cleanup {
        rollout_id: rollout.rollout_id,
        status: end.status,
        reason: end.reason,
    }))
}

/// The notification's `errorType` for an execution that ended on its own: `ExecutionAborted`,
/// `ExecutionTimedOut` or `ExecutionFailed`.
pub fn execution_error_type(status: &str) -> &'static str {
    match status {
        "ABORTED" => "ExecutionAborted",
        "TIMED_OUT" => "ExecutionTimedOut",
        _ => "ExecutionFailed",
    }
}
