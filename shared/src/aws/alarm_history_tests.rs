//! CloudWatch alarm transitions and history, and STS caller identity, against mocked SDK clients.

use aws_sdk_cloudwatch::operation::describe_alarm_history::DescribeAlarmHistoryOutput;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    AlarmHistoryItem, AlarmType, HistoryItemType, MetricAlarm, ScanBy, StateValue,
};
use aws_sdk_cloudwatch::Client as CloudWatch;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_mocks::mock;

use super::cloudwatch::entered_alarm;
use super::test_support::{cloudwatch_ports, sts_ports};
use crate::domain::Caller;
use crate::ports::{AlarmSource, CallerIdentity};

fn update(old: &str, new: &str) -> AlarmHistoryItem {
    AlarmHistoryItem::builder()
        .alarm_name("errors")
        .alarm_type(AlarmType::MetricAlarm)
        .history_item_type(HistoryItemType::StateUpdate)
        .history_summary(format!("Alarm updated from {old} to {new}"))
        .history_data(format!(
            r#"{{"version":"1.0","oldState":{{"stateValue":"{old}","stateReason":"r"}},"newState":{{"stateValue":"{new}","stateReason":"Threshold Crossed","stateReasonData":{{"version":"1.0"}}}}}}"#
        ))
        .build()
}

#[tokio::test]
async fn alarm_states_carry_when_the_state_last_changed() {
    let rule = mock!(CloudWatch::describe_alarms).then_output(|| {
        DescribeAlarmsOutput::builder()
            .metric_alarms(
                MetricAlarm::builder()
                    .alarm_name("errors")
                    .state_value(StateValue::Ok)
                    .state_transitioned_timestamp(DateTime::from_millis(1_700_000_123_456))
                    .build(),
            )
            .build()
    });
    let ports = cloudwatch_ports(&[&rule]);
    let states = ports.alarm_states(&["errors".to_string()]).await.unwrap();
    assert_eq!(states[0].transitioned_ms, Some(1_700_000_123_456));
}

#[tokio::test]
async fn fired_since_asks_for_state_updates_since_the_last_check_and_follows_pages() {
    let first = mock!(CloudWatch::describe_alarm_history)
        .match_requests(|r| {
            r.alarm_name() == Some("errors")
                && r.history_item_type() == Some(&HistoryItemType::StateUpdate)
                && r.start_date() == Some(&DateTime::from_millis(1_700_000_000_000))
                && r.scan_by() == Some(&ScanBy::TimestampDescending)
                && r.alarm_types() == [AlarmType::MetricAlarm, AlarmType::CompositeAlarm]
                && r.next_token().is_none()
        })
        .then_output(|| {
            DescribeAlarmHistoryOutput::builder()
                .alarm_history_items(update("INSUFFICIENT_DATA", "OK"))
                .next_token("page-2")
                .build()
        });
    let second = mock!(CloudWatch::describe_alarm_history)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            DescribeAlarmHistoryOutput::builder()
                .alarm_history_items(update("ALARM", "OK"))
                .alarm_history_items(update("OK", "ALARM"))
                .build()
        });
    let ports = cloudwatch_ports(&[&first, &second]);
    assert!(ports
        .fired_since("errors", 1_700_000_000_000)
        .await
        .unwrap());
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));

    let quiet = mock!(CloudWatch::describe_alarm_history).then_output(|| {
        DescribeAlarmHistoryOutput::builder()
            .alarm_history_items(update("INSUFFICIENT_DATA", "OK"))
            .build()
    });
    let ports = cloudwatch_ports(&[&quiet]);
    assert!(!ports.fired_since("errors", 1).await.unwrap());
}

#[test]
fn only_a_move_into_alarm_counts() {
    assert!(entered_alarm(
        r#"{"oldState":{"stateValue":"OK"},"newState":{"stateValue":"ALARM"}}"#
    ));
    assert!(!entered_alarm(
        r#"{"oldState":{"stateValue":"ALARM"},"newState":{"stateValue":"OK"}}"#
    ));
    assert!(!entered_alarm("not json"));
    assert!(!entered_alarm(r#"{"newState":{}}"#));
}

#[tokio::test]
async fn the_caller_is_the_configured_region_and_the_sts_account_and_partition() {
    let who = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        GetCallerIdentityOutput::builder()
            .account("123456789012")
            .arn("arn:aws-cn:iam::123456789012:user/ci")
            .build()
    });
    let ports = sts_ports(&[&who], "cn-north-1");
    assert_eq!(
        ports.caller().await.unwrap(),
        Caller {
            partition: "aws-cn".into(),
            region: "cn-north-1".into(),
            account: "123456789012".into()
        }
    );
}
