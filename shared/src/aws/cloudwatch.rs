//! CloudWatch: alarm states in one DescribeAlarms call.

use aws_sdk_cloudwatch::types::{AlarmType, StateValue};

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
            let metric = out
                .metric_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value()));
            let composite = out
                .composite_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value()));
            for (name, value) in metric.chain(composite) {
                if let Some(name) = name {
                    states.push(AlarmStatus {
                        name: name.to_string(),
                        state: alarm_state(value),
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
}
