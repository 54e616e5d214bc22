//! Alarm watcher: an EventBridge "CloudWatch Alarm State Change" (ALARM or INSUFFICIENT_DATA, as the
//! template's rule filters) fails the bake or pause of every running rollout that watches the alarm, at once
//! (`usecase::listen::alarm_changed`). A rollout mid-Task gets the alarm on its lease; its next wait acts on it.
//!
//! EventBridge delivers at least once: a redelivered event finds the token already answered, which is fine.
//! An error is returned so that Lambda retries the asynchronous invocation (twice), then sends the event to the
//! stack's `UndeliveredEventsQueue` (the function's OnFailure destination). The rule's own retry policy and
//! dead-letter queue cover failures to invoke the function at all.
//!
//! Errors (`errorType`): `Transient`, `AwsRejected`, `InvalidState` (an event that is not an alarm state
//! change).

use aws_lambda_events::cloudwatch_alarms::CloudWatchAlarmData;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;
use serde_json::Value;
use shifter::registry::control::{AlarmSeen, RolloutControl, TaskCallback};
use shifter::registry::RolloutJournal;
use shifter::usecase::listen::{self, AlarmDelivery};
use shifter::Error;

/// The event, as EventBridge delivers it.
pub struct AlarmStateChange(pub EventBridgeEvent<CloudWatchAlarmData<Value, Value>>);

impl<'de> serde::Deserialize<'de> for AlarmStateChange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        EventBridgeEvent::deserialize(d).map(AlarmStateChange)
    }
}

impl shifter_lambda::Traced for AlarmStateChange {
    fn rollout_id(&self) -> &str {
        ""
    }
    fn span(&self, step: &'static str) -> tracing::Span {
        tracing::info_span!("step", step, alarm = %self.0.detail.alarm_name)
    }
}

pub const DETAIL_TYPE: &str = "CloudWatch Alarm State Change";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatcherOutput {
    pub alarm: String,
    pub state: String,
    pub rollouts: Vec<AlarmDelivery>,
}

/// What the event says: which alarm, its new state, and when it changed.
pub fn seen(event: &AlarmStateChange) -> shifter::Result<AlarmSeen> {
    let e = &event.0;
    if e.source != "aws.cloudwatch" || e.detail_type != DETAIL_TYPE {
        return Err(Error::InvalidState {
            message: format!(
                "not a CloudWatch alarm state change: source {:?}, detail-type {:?}",
                e.source, e.detail_type
            ),
        });
    }
    let state = e.detail.state.as_ref().ok_or_else(|| Error::InvalidState {
        message: "the alarm state change has no detail.state".into(),
    })?;
    let value = serde_json::to_value(&state.value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    Ok(AlarmSeen {
        name: e.detail.alarm_name.clone(),
        state: value,
        at_ms: u64::try_from(state.timestamp.timestamp_millis()).unwrap_or(0),
    })
}

pub async fn handle<P>(ports: &P, event: AlarmStateChange) -> shifter::Result<WatcherOutput>
where
    P: RolloutJournal + RolloutControl + TaskCallback,
{
    let seen = seen(&event)?;
    let rollouts = listen::alarm_changed(ports, &seen).await?;
    tracing::info!(alarm = %seen.name, state = %seen.state, rollouts = rollouts.len(), "alarm state change handled");
    Ok(WatcherOutput {
        alarm: seen.name,
        state: seen.state,
        rollouts,
    })
}

#[cfg(test)]
mod tests;
