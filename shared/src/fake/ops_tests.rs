//! Alarms, fault injection, history, hooks, notifications, setup checks and the clock.

use std::time::Duration;

use serde_json::json;

use super::tests::{assert_not_found, fake, weighted, write, A, F};
use super::*;
use crate::domain::{AlarmStatus, HookReply};
use crate::ports::{AlarmSource, AliasRouter, Clock, FunctionRegistry, HookInvoker, Notifier};

#[tokio::test]
async fn schedule_alarm_fires_on_the_right_call() {
    let aws = FakeAws::new();
    aws.set_alarm("errors", AlarmState::Ok);
    aws.schedule_alarm(3, "errors", AlarmState::Alarm);
    let names = vec!["errors".to_string()];
    let state = |s| {
        vec![AlarmStatus {
            name: "errors".into(),
            state: s,
            transitioned_ms: aws.alarm_transitioned("errors"),
        }]
    };
    assert_eq!(
        aws.alarm_states(&names).await.unwrap(),
        state(AlarmState::Ok)
    );
    assert_eq!(
        aws.alarm_states(&names).await.unwrap(),
        state(AlarmState::Ok)
    );
    assert_eq!(
        aws.alarm_states(&names).await.unwrap(),
        state(AlarmState::Alarm)
    );
    // Counted from when it was scheduled.
    aws.schedule_alarm(1, "errors", AlarmState::Ok);
    assert_eq!(
        aws.alarm_states(&names).await.unwrap(),
        state(AlarmState::Ok)
    );
    assert_eq!(aws.calls(Op::AlarmStates), 4);
}

#[tokio::test]
async fn alarm_states_answers_known_names_in_one_call() {
    let aws = FakeAws::new();
    aws.set_alarm("b", AlarmState::Alarm)
        .set_alarm("a", AlarmState::InsufficientData)
        .set_alarm("gone", AlarmState::Ok)
        .delete_alarm("gone");
    let names: Vec<String> = ["b", "missing", "a", "gone"].map(String::from).to_vec();
    let got = aws.alarm_states(&names).await.unwrap();
    let got: Vec<_> = got.iter().map(|s| (s.name.as_str(), s.state)).collect();
    assert_eq!(
        got,
        [
            ("a", AlarmState::InsufficientData),
            ("b", AlarmState::Alarm)
        ]
    );
    let too_many: Vec<String> = (0..101).map(|i| format!("alarm-{i}")).collect();
    let err = aws.alarm_states(&too_many).await.unwrap_err();
    assert!(matches!(&err, Error::AwsRejected { operation, .. } if operation == "DescribeAlarms"));
    assert!(aws.alarm_states(&too_many[..100]).await.is_ok());
}

#[tokio::test]
async fn fail_next_injects_exactly_count_failures_without_effect() {
    let aws = fake();
    let throttled = Error::Transient {
        operation: "UpdateAlias".into(),
        message: "Rate exceeded".into(),
    };
    aws.fail_next(Op::WriteAlias, throttled.clone(), 2);
    let to = weighted("1", "2", 1000);
    assert_eq!(write(&aws, &to).await, Err(throttled.clone()));
    assert_eq!(write(&aws, &to).await, Err(throttled));
    assert_eq!(
        aws.history(F, A),
        vec![Routing::single("1")],
        "a failed call had an effect"
    );
    assert_eq!(write(&aws, &to).await.unwrap().routing, to);
    assert_eq!(aws.calls(Op::WriteAlias), 3);
    // Other ops are unaffected; injected faults queue up in order.
    aws.fail_next(Op::PublishVersion, Error::invalid("a", "1"), 1)
        .fail_next(Op::PublishVersion, Error::invalid("b", "2"), 1);
    assert_eq!(
        aws.publish_version(F, None, "d").await,
        Err(Error::invalid("a", "1"))
    );
    assert_eq!(
        aws.publish_version(F, None, "d").await,
        Err(Error::invalid("b", "2"))
    );
    assert_eq!(aws.publish_version(F, None, "d").await, Ok("3".to_string()));
    assert_eq!(aws.calls(Op::ReadAlias), 0);
}

#[tokio::test]
async fn history_records_writes_including_out_of_band() {
    let aws = fake();
    write(&aws, &weighted("1", "2", 1000)).await.unwrap();
    aws.force_alias(F, A, Routing::single("3"));
    let rev = aws.alias(F, A).revision_id;
    aws.write_alias(F, A, &Routing::single("2"), &rev)
        .await
        .unwrap();
    let changes = aws.changes(F, A);
    let sources: Vec<_> = changes.iter().map(|c| c.source.as_str()).collect();
    assert_eq!(
        sources,
        ["created", "update-alias", "out-of-band", "update-alias"]
    );
    assert_eq!(
        aws.history(F, A),
        [
            Routing::single("1"),
            weighted("1", "2", 1000),
            Routing::single("3"),
            Routing::single("2")
        ]
    );
    assert_eq!(
        changes[2].revision_id, rev,
        "force_alias bumps the RevisionId"
    );
    assert_eq!(changes[3].revision_id, aws.alias(F, A).revision_id);
}

#[tokio::test]
async fn hooks_reply_like_lambda_and_are_recorded() {
    let aws = FakeAws::new();
    aws.set_hook("ok", HookBehaviour::Succeed)
        .set_hook("no", HookBehaviour::Fail("smoke test failed".into()))
        .set_hook("crash", HookBehaviour::FunctionError("boom".into()))
        .set_hook("raw", HookBehaviour::Reply(b"hello".to_vec()));
    let body = |r: &HookReply| serde_json::from_slice::<serde_json::Value>(&r.payload).unwrap();
    let ok = aws
        .invoke("ok", br#"{"phase":"preTraffic"}"#)
        .await
        .unwrap();
    assert_eq!(
        (ok.function_error.as_deref(), body(&ok)),
        (None, json!({"status": "Succeeded"}))
    );
    let no = aws.invoke("no", b"{}").await.unwrap();
    assert_eq!(
        body(&no),
        json!({"status": "Failed", "reason": "smoke test failed"})
    );
    let crash = aws.invoke("crash", b"{}").await.unwrap();
    assert_eq!(crash.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(
        body(&crash),
        json!({"errorType": "HookError", "errorMessage": "boom"})
    );
    let raw = aws.invoke("raw", b"not json").await.unwrap();
    assert_eq!((raw.function_error, raw.payload), (None, b"hello".to_vec()));
    assert_not_found(aws.invoke("missing", b"{}").await, "function:missing");
    let calls = aws.hook_calls();
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert_eq!(calls[0], ("ok".to_string(), json!({"phase": "preTraffic"})));
    assert_eq!(calls[3], ("raw".to_string(), json!("not json")));
    // set_hook created the functions, so they can be described.
    assert_eq!(aws.describe_function("crash").await.unwrap().name, "crash");
}

#[tokio::test]
async fn notifications_need_a_known_topic() {
    let aws = FakeAws::new();
    let topic = "arn:aws:sns:us-east-1:123456789012:rollouts";
    aws.add_topic(topic);
    let n: Notification = serde_json::from_value(json!({
        "schemaVersion": 1, "eventType": "RolloutStarted", "rolloutId": "r", "functionName": F,
        "alias": A, "currentVersion": "1", "targetVersion": "2", "strategy": "AllAtOnce",
        "weightPercent": 0.0, "stepsDone": 0, "stepCount": 1, "time": "2024-01-01T00:00:00Z"
    }))
    .unwrap();
    // The inherent `publish` is the setup helper; SNS Publish is the trait's.
    Notifier::publish(&aws, topic, &n).await.unwrap();
    let other = "arn:aws:sns:us-east-1:123456789012:other";
    assert_not_found(Notifier::publish(&aws, other, &n).await, "other");
    assert_eq!(aws.notifications(), vec![(topic.to_string(), n)]);
    assert_eq!(aws.calls(Op::Publish), 2);
}

#[test]
#[should_panic(expected = "AWS would refuse it")]
fn setup_refuses_routings_aws_would_refuse() {
    let aws = fake();
    aws.add_alias(F, "beta", weighted("1", "7", 100));
}

#[test]
fn setup_allows_a_plain_alias_on_latest_like_aws() {
    let aws = fake();
    aws.add_alias(F, "dev", Routing::single("$LATEST"));
    assert_eq!(aws.alias(F, "dev").routing.function_version, "$LATEST");
}

#[tokio::test]
async fn fake_clock_sleep_advances_time() {
    let clock = FakeClock::new(1_000);
    let shared = clock.clone();
    clock.sleep(Duration::from_secs(30)).await;
    clock.sleep(Duration::from_millis(250)).await;
    assert_eq!(shared.now_millis(), 31_250);
    clock.advance(Duration::from_secs(1));
    assert_eq!(clock.now_millis(), 32_250);
    assert_eq!(clock.total_slept(), Duration::from_millis(30_250));
    assert_eq!(clock.sleeps().len(), 2);
    assert_eq!(
        FakeClock::default().now_millis(),
        clock::DEFAULT_START_MILLIS
    );
}
