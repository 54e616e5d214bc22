//! CloudWatch: alarm states in one DescribeAlarms call.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{AlarmType, HistoryItemType, ScanBy, StateValue};

use super::errors::cloudwatch_error;
use super::AwsPorts;
use crate::domain::{AlarmState, AlarmStatus};
use crate::error::{Error, Result};
use crate::ports::AlarmSource;
use crate::request::MAX_ALARMS;

/// DescribeAlarms accepts at most 100 AlarmNames per call; requests are validated against the same limit.
const MAX_ALARM_NAMES: usize = MAX_ALARMS;

/// CloudWatch's StateValue as the domain's. A value this SDK does not know yet counts as INSUFFICIENT_DATA: it is
/// neither a healthy OK nor a proven ALARM.
pub(crate) fn alarm_state(value: Option<&StateValue>) -> AlarmState {
    match value {
        Some(StateValue::Ok) => AlarmState::Ok,
        Some(StateValue::Alarm) => AlarmState::Alarm,
        Some(StateValue::InsufficientData) => AlarmState::InsufficientData,
        other => {
            tracing::warn!(state = ?other, "unknown alarm state; treating it as INSUFFICIENT_DATA");
            AlarmState::InsufficientData
        }
    }
}

impl AlarmSource for AwsPorts {
    /// One DescribeAlarms call for up to 100 names, metric and composite alarms alike; NextToken is followed
    /// should CloudWatch ever split the answer. Names that match no alarm are simply absent from the result.
    ///
    /// Emulator note: moto ignores AlarmTypes (it answers metric alarms and an empty CompositeAlarms list) and
    /// cannot create composite alarms at all (its PutCompositeAlarm answers 500), so the composite branch is
    /// only exercised by the mocked tests.
    async fn alarm_states(&self, names: &[String]) -> Result<Vec<AlarmStatus>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        if names.len() > MAX_ALARM_NAMES {
            return Err(Error::invalid(
                "alarms",
                format!(
                    "lists {} alarms; at most {MAX_ALARM_NAMES} (one DescribeAlarms call)",
                    names.len()
                ),
            ));
        }
        let mut states = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let out = self
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(MAX_ALARM_NAMES as i32)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| cloudwatch_error("DescribeAlarms", e))?;
            let metric = out.metric_alarms().iter().map(|a| {
                (
                    a.alarm_name(),
                    a.state_value(),
                    a.state_transitioned_timestamp(),
                )
            });
            let composite = out.composite_alarms().iter().map(|a| {
                (
                    a.alarm_name(),
                    a.state_value(),
                    a.state_transitioned_timestamp(),
                )
            });
            for (name, value, transitioned) in metric.chain(composite) {
                if let Some(name) = name {
                    states.push(AlarmStatus {
                        name: name.to_string(),
                        state: alarm_state(value),
                        transitioned_ms: transitioned
                            .and_then(|t| t.to_millis().ok())
                            .and_then(|t| u64::try_from(t).ok()),
                    });
                }
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => break,
            }
        }
        Ok(states)
    }

    /// DescribeAlarmHistory for one alarm's StateUpdate items since `since_ms`, newest first, stopping at the
    /// first change into ALARM. The item's HistoryData is a JSON document whose `newState.stateValue` names
    /// the state the alarm moved to.
    async fn fired_since(&self, name: &str, since_ms: u64) -> Result<bool> {
        let mut next_token: Option<String> = None;
        loop {
            let out = self
                .cloudwatch
                .describe_alarm_history()
                .alarm_name(name)
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .history_item_type(HistoryItemType::StateUpdate)
                .start_date(DateTime::from_millis(since_ms as i64))
                .scan_by(ScanBy::TimestampDescending)
                .max_records(100)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| cloudwatch_error("DescribeAlarmHistory", e))?;
            if out
                .alarm_history_items()
                .iter()
                .filter_map(|item| item.history_data())
                .any(entered_alarm)
            {
                return Ok(true);
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(false),
            }
        }
    }
}

/// True when a StateUpdate item's HistoryData says the alarm moved into ALARM.
pub(crate) fn entered_alarm(history_data: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(history_data)
        .ok()
        .and_then(|v| {
            v.pointer("/newState/stateValue")
                .and_then(|s| s.as_str())
                .map(|s| s == "ALARM")
        })
        .unwrap_or(false)
}
