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
use shifter::custom_resource::{self, answer};
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
    /// The execution's input (AWS includes it up to 256 KB): a rollout a `Custom::ShifterAlias` started
    /// carries where to answer CloudFormation in it.
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
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
    if cleanup.is_none() && cleanup::UNCLEAN_ENDS.contains(&detail.status.as_str()) {
        answer_unanswered(ports, &detail).await;
    }
    Ok(CleanupOutput {
        execution_arn: detail.execution_arn,
        status: detail.status,
        cleanup,
    })
}

/// A rollout CloudFormation started whose execution ended with no running rollout in the registry: it either
/// answered already (its Rollback, Notify or Prepare did: the ledger re-sends that answer), or it ended before
/// it took the alias, for example on a Prepare that failed with `Transient` after all its retries. Then this is
/// the only answer CloudFormation will get.
async fn answer_unanswered<P: ReplyLedger + ReplySender>(
    ports: &P,
    detail: &ExecutionStatusChange,
) {
    let input = detail
        .input
        .as_deref()
        .and_then(|i| serde_json::from_str::<serde_json::Value>(i).ok());
    let Some(Ok((_, Some(to)))) = input.map(custom_resource::split_input) else {
        return;
    };
    let error = detail
        .error
        .clone()
        .unwrap_or_else(|| cleanup::execution_error_type(&detail.status).to_string());
    let cause = detail
        .cause
        .clone()
        .unwrap_or_else(|| format!("the rollout's execution ended {}.", detail.status));
    let reply = answer::rejected(&to, &error, &shifter::text::cap(&cause, 512));
    if let Err(e) = answer::answer(ports, &to, &reply).await {
        tracing::warn!(error = %e, "could not answer CloudFormation");
    }
}

#[cfg(test)]
mod tests;
