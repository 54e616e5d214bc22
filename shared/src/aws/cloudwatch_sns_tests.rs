//! CloudWatch and SNS adapter tests against mocked SDK clients.

use aws_sdk_cloudwatch::operation::describe_alarms::{DescribeAlarmsError, DescribeAlarmsOutput};
use aws_sdk_cloudwatch::types::{AlarmType, CompositeAlarm, MetricAlarm, StateValue};
use aws_sdk_cloudwatch::Client as CloudWatch;
use aws_sdk_sns::operation::publish::{PublishError, PublishOutput};
use aws_sdk_sns::types::error::NotFoundException;
use aws_sdk_sns::Client as Sns;
use aws_smithy_mocks::mock;

use super::test_support::{cloudwatch_ports, meta, sns_ports};
use crate::domain::{AlarmState, AlarmStatus};
use crate::error::Error;
use crate::notification::{EventType, Notification, NOTIFICATION_SCHEMA_VERSION};
use crate::ports::{AlarmSource, Notifier};

fn metric(name: &str, state: StateValue) -> MetricAlarm {
    MetricAlarm::builder()
        .alarm_name(name)
        .state_value(state)
        .build()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn status(name: &str, state: AlarmState) -> AlarmStatus {
    AlarmStatus {
        name: name.into(),
        state,
        transitioned_ms: None,
    }
}

#[tokio::test]
async fn alarm_states_maps_all_three_states_and_omits_missing_alarms() {
    let asked = names(&["errors", "latency", "fresh", "deleted"]);
    let expected_names = asked.clone();
    let rule = mock!(CloudWatch::describe_alarms)
        .match_requests(move |r| {
            r.alarm_names() == expected_names.as_slice()
                && r.alarm_types() == [AlarmType::MetricAlarm, AlarmType::CompositeAlarm]
                && r.max_records() == Some(100)
                && r.next_token().is_none()
        })
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(metric("errors", StateValue::Alarm))
                .metric_alarms(metric("fresh", StateValue::InsufficientData))
                .composite_alarms(
                    CompositeAlarm::builder()
                        .alarm_name("latency")
                        .state_value(StateValue::Ok)
                        .build(),
                )
                .build()
        });
    let ports = cloudwatch_ports(&[&rule]);

    let states = ports.alarm_states(&asked).await.unwrap();

    assert_eq!(
        states,
        vec![
            status("errors", AlarmState::Alarm),
            status("fresh", AlarmState::InsufficientData),
            status("latency", AlarmState::Ok),
        ]
    );
    assert_eq!(rule.num_calls(), 1, "one DescribeAlarms call");
}

#[tokio::test]
async fn alarm_states_follows_next_token() {
    let first = mock!(CloudWatch::describe_alarms)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(metric("a", StateValue::Ok))
                .next_token("page-2")
                .build()
        });
    let second = mock!(CloudWatch::describe_alarms)
        .match_requests(|r| r.next_token() == Some("page-2") && r.alarm_names().len() == 2)
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(metric("b", StateValue::Alarm))
                .build()
        });
    let ports = cloudwatch_ports(&[&first, &second]);

    let states = ports.alarm_states(&names(&["a", "b"])).await.unwrap();

    assert_eq!(
        states,
        vec![status("a", AlarmState::Ok), status("b", AlarmState::Alarm)]
    );
}

#[tokio::test]
async fn no_alarms_means_no_call_and_too_many_is_invalid() {
    // No rules: the mocked client panics if it is called at all.
    let ports = cloudwatch_ports(&[]);
    assert_eq!(ports.alarm_states(&[]).await.unwrap(), vec![]);
    let too_many: Vec<String> = (0..101).map(|i| format!("alarm-{i}")).collect();
    let err = ports.alarm_states(&too_many).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidRequest");
}

#[tokio::test]
async fn cloudwatch_throttling_is_retried_then_throttled() {
    let rule = mock!(CloudWatch::describe_alarms)
        .sequence()
        .error(|| DescribeAlarmsError::generic(meta("Throttling", "Rate exceeded")))
        .repeatedly()
        .build();
    let ports = cloudwatch_ports(&[&rule]);

    let err = ports.alarm_states(&names(&["errors"])).await.unwrap_err();

    assert_eq!(
        err,
        Error::Throttled {
            operation: "DescribeAlarms".into(),
            message: "Throttling: Rate exceeded".into()
        }
    );
    assert_eq!(rule.num_calls(), 3);
}

fn notification() -> Notification {
    Notification {
        schema_version: NOTIFICATION_SCHEMA_VERSION,
        event_type: EventType::TrafficShifted,
        rollout_id: "r-1".into(),
        function_name: "orders".into(),
        alias: "live".into(),
        current_version: "1".into(),
        target_version: "2".into(),
        strategy: "Canary10Percent5Minutes".into(),
        weight_percent: 10.0,
        steps_done: 1,
        step_count: 2,
        phase: None,
        reason: None,
        error_type: None,
        analysis: None,
        time: "2026-11-02T10:00:00.000Z".into(),
    }
}

const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:shifter";

#[tokio::test]
async fn publish_sends_subject_message_and_the_three_attributes() {
    let n = notification();
    assert_eq!(n.subject(), "shifter TrafficShifted orders:live v1 -> v2");
    let (subject, message) = (n.subject(), n.to_json());
    let rule = mock!(Sns::publish)
        .match_requests(move |r| {
            let attrs = r.message_attributes().expect("attributes sent");
            let attr = |k: &str| {
                attrs.get(k).map(|v| {
                    (
                        v.data_type().to_string(),
                        v.string_value().map(str::to_string),
                    )
                })
            };
            let string = |v: &str| Some(("String".to_string(), Some(v.to_string())));
            r.topic_arn() == Some(TOPIC)
                && r.subject() == Some(subject.as_str())
                && r.message() == Some(message.as_str())
                && attrs.len() == 3
                && attr("eventType") == string("TrafficShifted")
                && attr("functionName") == string("orders")
                && attr("alias") == string("live")
        })
        .then_output(|| PublishOutput::builder().message_id("m-1").build());
    let ports = sns_ports(&[&rule]);

    ports.publish(TOPIC, &n).await.unwrap();

    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn publish_to_a_missing_topic_is_not_found() {
    let rule = mock!(Sns::publish).then_error(|| {
        PublishError::NotFoundException(
            NotFoundException::builder()
                .meta(meta("NotFound", "Topic does not exist"))
                .build(),
        )
    });
    let ports = sns_ports(&[&rule]);

    let err = ports.publish(TOPIC, &notification()).await.unwrap_err();

    assert_eq!(
        err,
        Error::ResourceNotFound {
            field: String::new(),
            message: "NotFound: Topic does not exist".into()
        }
    );
}

#[tokio::test]
async fn publish_leaves_out_empty_attribute_values() {
    let rule = mock!(Sns::publish)
        .match_requests(|r| {
            let attrs = r.message_attributes().expect("attributes sent");
            attrs.len() == 2 && !attrs.contains_key("alias")
        })
        .then_output(|| PublishOutput::builder().message_id("m-2").build());
    let ports = sns_ports(&[&rule]);
    let mut n = notification();
    n.alias = String::new();

    ports.publish(TOPIC, &n).await.unwrap();

    assert_eq!(rule.num_calls(), 1);
}
