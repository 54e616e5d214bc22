//! Execution cleanup: a lease never outlives its execution. EventBridge's "Step Functions Execution Status
//! Change" for the rollout state machine (ABORTED, TIMED_OUT, FAILED, as the template's rule filters) runs
//! the same fenced rollback as the state machine's Rollback, from the rollout as the registry last recorded
//! it, and releases the lease (`usecase::cleanup`). An execution that ended through its own Rollback or
//! RequestRejected has already given its lease back: then this costs one query and changes nothing.
//!
//! Errors (`errorType`): `AliasChanged`, `Transient`, `AwsRejected`, `InvalidState`. An error makes Lambda
//! retry the asynchronous invocation (twice), then send the event to the stack's `UndeliveredEventsQueue` (the
//! function's OnFailure destination).

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use shifter::custom_resource::ports::{ReplyLedger, ReplySender};
use shifter::ports::{AliasRouter, Notifier};
use shifter::usecase::cleanup::{self, Cleanup};
use shifter::usecase::lease::Registry;
use shifter::Error;

pub const DETAIL_TYPE: &str = "Step Functions Execution Status Change";

/// The part of the event's `detail` this function reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStatusChange {
    pub execution_arn: String,
    #[serde(default)]
    pub state_machine_arn: String,
    #[serde(default)]
    pub name: String,
    pub status: String,
}

pub struct ExecutionEvent(pub EventBridgeEvent<ExecutionStatusChange>);

impl<'de> Deserialize<'de> for ExecutionEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        EventBridgeEvent::deserialize(d).map(ExecutionEvent)
    }
}

impl shifter_lambda::Traced for ExecutionEvent {
    /// shifter names each execution after its rollout.
    fn rollout_id(&self) -> &str {
        &self.0.detail.name
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupOutput {
    pub execution_arn: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<Cleanup>,
}

pub async fn handle<P>(ports: &P, event: ExecutionEvent) -> shifter::Result<CleanupOutput>
where
    P: Registry + AliasRouter + Notifier + ReplyLedger + ReplySender,
{
    let e = event.0;
    if e.source != "aws.states" || e.detail_type != DETAIL_TYPE {
        return Err(Error::InvalidState {
            message: format!(
                "not a Step Functions execution status change: source {:?}, detail-type {:?}",
                e.source, e.detail_type
            ),
        });
    }
    let detail = e.detail;
    let now = shifter::time::unix_millis();
    let cleanup =
        cleanup::execution_ended(ports, &detail.execution_arn, &detail.status, now).await?;
    Ok(CleanupOutput {
        execution_arn: detail.execution_arn,
        status: detail.status,
        cleanup,
    })
}

#[cfg(test)]
mod tests;
