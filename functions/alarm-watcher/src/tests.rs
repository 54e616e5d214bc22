use serde_json::json;
use shifter::registry::control::{Answer, Delivery, WaitKind, ALARM_FIRED};
use shifter::usecase::{lease, listen};
use shifter_lambda::testing::{prepared, request, world, ALARM};

use super::*;

/// The fixture: the event exactly as AWS sends it (events/eventbridge/alarm-state-change.json).
fn event(state: &str, timestamp: &str) -> AlarmStateChange {
    let mut v: Value = serde_json::from_str(include_str!(
        "../../../events/eventbridge/alarm-state-change.json"
    ))
    .unwrap();
    v["detail"]["alarmName"] = json!(ALARM);
    v["detail"]["state"]["value"] = json!(state);
    v["detail"]["state"]["timestamp"] = json!(timestamp);
    shifter_lambda::parse(v).unwrap()
}

#[test]
fn reads_the_alarm_its_state_and_when_from_aws_format() {
    let e = event("ALARM", "2026-11-30T15:04:05.123+0000");
    let seen = seen(&e).unwrap();
    assert_eq!(seen.name, ALARM);
    assert_eq!(seen.state, "ALARM");
    assert_eq!(seen.at_ms, 1_796_051_045_123);
}

#[test]
fn another_event_is_refused_by_name() {
    let mut e = event("ALARM", "2026-11-30T15:04:05.123+0000");
    e.0.source = "aws.ec2".into();
    let err = seen(&e).unwrap_err();
    assert_eq!(err.error_type(), "InvalidState");
    assert!(err.to_string().contains("aws.ec2"), "{err}");
}

#[tokio::test]
async fn fails_the_waiting_bake_of_the_rollout_that_watches_the_alarm() {
    let aws = world();
    let state = prepared(&aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
    let clock = shifter::time::SystemClock;
    lease::take(&aws, &clock, &state.rollout).await.unwrap();
    aws.open_token("t1");
    listen::wait(
        &aws,
        &state.rollout,
        WaitKind::Bake,
        "t1",
        shifter::time::unix_millis(),
    )
    .await
    .unwrap();
    let out = handle(&aws, event("ALARM", "2099-01-01T00:00:00.000+0000"))
        .await
        .unwrap();
    assert_eq!(out.rollouts.len(), 1);
    assert_eq!(out.rollouts[0].delivery, Some(Delivery::Delivered));
    assert!(matches!(
        aws.token_answer("t1"),
        Some(Answer::Fail {
            error: ALARM_FIRED,
            ..
        })
    ));
}
