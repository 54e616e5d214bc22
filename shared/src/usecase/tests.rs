//! Use cases over the stateful fake, which enforces AWS's alias rules (RevisionId, weights, versions).

use super::*;
use crate::domain::{AlarmState, HookReply, Routing};
use crate::error::Error;
use crate::fake::{FakeAws, FakeClock, HookBehaviour, Op};
use crate::notification::HookPhase;
use crate::request::RolloutRequest;
use crate::rollout::Rollout;
use serde_json::json;

const F: &str = "orders";
const A: &str = "live";

/// orders with versions 1 and 2, alias live on 1, a hook function and an alarm.
fn world() -> FakeAws {
    let aws = FakeAws::new();
    aws.add_function(F);
    aws.publish(F, "code-1");
    aws.publish(F, "code-2");
    aws.add_alias(F, A, Routing::single("1"));
    aws.add_function("smoke");
    aws.set_alarm("orders-errors", AlarmState::Ok);
    aws
}

fn spec(extra: serde_json::Value) -> crate::request::RolloutSpec {
    let mut req = json!({"functionName": F, "alias": A, "targetVersion": "2", "strategy": "Canary10Percent5Minutes"});
    req.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    RolloutRequest::from_value(req).unwrap().validate().unwrap()
}

async fn prepared(aws: &FakeAws, extra: serde_json::Value) -> Rollout {
    prepare(aws, &FakeClock::default(), &spec(extra), "r-test")
        .await
        .unwrap()
}

fn field_of(e: &Error) -> &str {
    match e {
        Error::InvalidRequest { field, .. } | Error::ResourceNotFound { field, .. } => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[tokio::test]
async fn prepare_takes_the_alias_without_writing() {
    let aws = world();
    let r = prepared(
        &aws,
        json!({"hooks": {"preTraffic": "smoke"}, "alarms": ["orders-errors"]}),
    )
    .await;
    assert_eq!(
        (r.current_version.as_str(), r.target_version.as_str()),
        ("1", "2")
    );
    assert_eq!(r.revision_id, aws.alias(F, A).revision_id);
    assert!(r.target_version_arn.ends_with(":function:orders:2"));
    assert_eq!((r.steps_done, r.weight_bps, r.plan.steps.len()), (0, 0, 2));
    assert_eq!(aws.calls(Op::WriteAlias), 0);
}

#[tokio::test]
async fn prepare_names_the_missing_resource_and_changes_nothing() {
    let cases = [
        (json!({"functionName": "nope"}), "functionName"),
        (json!({"alias": "nope"}), "alias"),
        (json!({"targetVersion": "9"}), "targetVersion"),
        (
            json!({"hooks": {"postTraffic": "ghost"}}),
            "hooks.postTraffic",
        ),
        (
            json!({"alarms": ["orders-errors", "ghost-alarm"]}),
            "alarms[1]",
        ),
        (json!({"targetVersion": "1"}), "targetVersion"),
    ];
    for (extra, field) in cases {
        let aws = world();
        let before = aws.alias(F, A);
        let err = prepare(&aws, &FakeClock::default(), &spec(extra.clone()), "r")
            .await
            .unwrap_err();
        assert!(err.is_invalid_input(), "{extra}: {err:?}");
        assert_eq!(field_of(&err), field, "{extra}");
        assert_eq!(aws.alias(F, A), before);
        assert_eq!(
            aws.calls(Op::WriteAlias) + aws.calls(Op::PublishVersion),
            0,
            "{extra}"
        );
    }
}

#[tokio::test]
async fn prepare_refuses_a_weighted_alias_as_busy() {
    let aws = world();
    aws.publish(F, "code-3");
    aws.force_alias(F, A, Routing::split("1", "3", 500));
    let before = aws.alias(F, A);
    let err = prepare(&aws, &FakeClock::default(), &spec(json!({})), "r")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AliasBusy { .. }), "{err:?}");
    assert!(err.is_conflict());
    assert_eq!(aws.alias(F, A), before);
}

#[tokio::test]
async fn prepare_publishes_latest_only_when_asked_and_changed() {
    let aws = world();
    aws.set_latest_code(F, "code-3");
    let spec3 =
        RolloutRequest::from_value(json!({"functionName": F, "alias": A, "strategy": "AllAtOnce"}))
            .unwrap()
            .validate()
            .unwrap();
    let r = prepare(&aws, &FakeClock::default(), &spec3, "r-pub")
        .await
        .unwrap();
    assert_eq!(r.target_version, "3");
    assert_eq!(aws.calls(Op::PublishVersion), 1);

    // Unchanged code publishes nothing new: AWS returns the latest version, which may be what the alias serves.
    let aws = world();
    aws.add_alias(F, "edge", Routing::single("2"));
    let spec_edge = RolloutRequest::from_value(
        json!({"functionName": F, "alias": "edge", "strategy": "AllAtOnce"}),
    )
    .unwrap()
    .validate()
    .unwrap();
    let err = prepare(&aws, &FakeClock::default(), &spec_edge, "r")
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "targetVersion");
}

#[tokio::test]
async fn shift_writes_absolute_weights_and_finalize_clears_routing() {
    let aws = world();
    let r = prepared(&aws, json!({"strategy": {"type": "steps", "steps": [{"percent": 5, "bakeSeconds": 1}, {"percent": 50, "bakeSeconds": 1}]}})).await;
    let r = shift_traffic(&aws, &r).await.unwrap();
    assert_eq!(aws.alias(F, A).routing, Routing::split("1", "2", 500));
    assert_eq!(r.revision_id, aws.alias(F, A).revision_id);
    let r = shift_traffic(&aws, &r).await.unwrap();
    assert_eq!((r.steps_done, r.weight_bps), (2, 5000));
    let err = shift_traffic(&aws, &r).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidState { .. }),
        "the final step belongs to finalize: {err:?}"
    );
    let r = finalize(&aws, &r).await.unwrap();
    assert_eq!(aws.alias(F, A).routing, Routing::single("2"));
    assert!(r.is_complete());
    assert_eq!(
        aws.history(F, A),
        vec![
            Routing::single("1"),
            Routing::split("1", "2", 500),
            Routing::split("1", "2", 5000),
            Routing::single("2")
        ]
    );
}

#[tokio::test]
async fn an_out_of_band_change_stops_the_shift_and_is_not_overwritten() {
    let aws = world();
    let r = prepared(&aws, json!({})).await;
    aws.force_alias(F, A, Routing::single("2")); // someone promoted by hand
    aws.publish(F, "code-3");
    aws.force_alias(F, A, Routing::single("3"));
    let err = shift_traffic(&aws, &r).await.unwrap_err();
    assert!(matches!(err, Error::AliasChanged { .. }), "{err:?}");
    assert_eq!(aws.alias(F, A).routing, Routing::single("3"));
}

#[tokio::test]
async fn a_retried_shift_that_already_landed_converges() {
    let aws = world();
    let r = prepared(&aws, json!({})).await;
    shift_traffic(&aws, &r).await.unwrap();
    // Same input again (as a Step Functions retry would send): the revision is stale, the routing is right.
    let again = shift_traffic(&aws, &r).await.unwrap();
    assert_eq!(again.weight_bps, 1000);
    assert_eq!(again.revision_id, aws.alias(F, A).revision_id);
    assert_eq!(aws.history(F, A).len(), 2, "no second write");
}

#[tokio::test]
async fn rollback_restores_the_old_version_and_is_idempotent() {
    let aws = world();
    let r = prepared(&aws, json!({})).await;
    let shifted = shift_traffic(&aws, &r).await.unwrap();
    let first = rollback(&aws, &shifted, false).await.unwrap();
    assert_eq!(first.action, RollbackAction::Restored);
    assert_eq!(aws.alias(F, A).routing, Routing::single("1"));
    let second = rollback(&aws, &shifted, false).await.unwrap();
    assert_eq!(second.action, RollbackAction::AlreadyRestored);
    // From a finalized alias (the post-traffic hook failed) too, and with a stale RevisionId in the state.
    let done = finalize(&aws, &prepared(&aws, json!({})).await)
        .await
        .unwrap();
    assert_eq!(aws.alias(F, A).routing, Routing::single("2"));
    let stale = Rollout {
        revision_id: "stale".into(),
        ..done
    };
    assert_eq!(
        rollback(&aws, &stale, false).await.unwrap().action,
        RollbackAction::Restored
    );
    assert_eq!(aws.alias(F, A).routing, Routing::single("1"));
}

#[tokio::test]
async fn rollback_leaves_an_alias_someone_else_took() {
    let aws = world();
    let r = prepared(&aws, json!({})).await;
    aws.publish(F, "code-3");
    aws.force_alias(F, A, Routing::split("1", "3", 2000));
    let out = rollback(&aws, &r, true).await.unwrap();
    assert_eq!(out.action, RollbackAction::LeftAlone);
    assert_eq!(out.routing, Routing::split("1", "3", 2000));
    assert_eq!(aws.alias(F, A).routing, Routing::split("1", "3", 2000));
    assert_eq!(aws.calls(Op::WriteAlias), 0);
}

#[tokio::test]
async fn check_reads_alarms_in_one_call() {
    let aws = world();
    aws.set_alarm("b", AlarmState::InsufficientData);
    let r = prepared(&aws, json!({"alarms": ["orders-errors", "b"]})).await;
    let calls = aws.calls(Op::AlarmStates);
    assert!(check_health(&aws, &r, 1).await.unwrap().healthy);
    aws.set_alarm("orders-errors", AlarmState::Alarm);
    let v = check_health(&aws, &r, 1).await.unwrap();
    assert!(!v.healthy);
    assert_eq!(v.failing, vec!["orders-errors".to_string()]);
    assert_eq!(aws.calls(Op::AlarmStates), calls + 2);
    let strict = prepared(
        &aws,
        json!({"alarms": ["b"], "insufficientData": "unhealthy"}),
    )
    .await;
    assert!(!check_health(&aws, &strict, 1).await.unwrap().healthy);
    let none = prepared(&aws, json!({})).await;
    let before = aws.calls(Op::AlarmStates);
    assert!(check_health(&aws, &none, 1).await.unwrap().healthy);
    assert_eq!(aws.calls(Op::AlarmStates), before, "no alarms, no call");
}

#[tokio::test]
async fn hooks_get_the_contract_payload_and_failures_are_verdicts() {
    let aws = world();
    let r = prepared(&aws, json!({"hooks": {"preTraffic": "smoke"}})).await;
    assert!(
        run_hook(&aws, &r, HookPhase::PreTraffic)
            .await
            .unwrap()
            .succeeded
    );
    let (function, payload) = aws.hook_calls().pop().unwrap();
    assert_eq!(function, "smoke");
    assert_eq!(payload["phase"], "preTraffic");
    assert_eq!(payload["rolloutId"], "r-test");
    assert_eq!(payload["targetVersion"], "2");
    assert_eq!(payload["currentVersion"], "1");
    assert_eq!(payload["weightPercent"], 0.0);
    assert!(payload["targetVersionArn"]
        .as_str()
        .unwrap()
        .ends_with(":orders:2"));
    // No post-traffic hook configured: success without an invoke.
    let calls = aws.calls(Op::Invoke);
    assert!(
        run_hook(&aws, &r, HookPhase::PostTraffic)
            .await
            .unwrap()
            .succeeded
    );
    assert_eq!(aws.calls(Op::Invoke), calls);
    aws.set_hook("smoke", HookBehaviour::FunctionError("boom".into()));
    let v = run_hook(&aws, &r, HookPhase::PreTraffic).await.unwrap();
    assert!(!v.succeeded && v.reason.unwrap().contains("boom"));
}

#[test]
fn hook_replies_are_interpreted_strictly() {
    let reply = |err: Option<&str>, body: &str| HookReply {
        function_error: err.map(String::from),
        payload: body.as_bytes().to_vec(),
    };
    let cases = [
        (reply(None, r#"{"status":"Succeeded"}"#), true, ""),
        (
            reply(None, r#"{"status":"Failed","reason":"5xx on /health"}"#),
            false,
            "5xx on /health",
        ),
        (
            reply(None, r#"{"status":"Failed"}"#),
            false,
            "no reason given",
        ),
        (reply(None, r#"{"status":"succeeded"}"#), false, "expected"),
        (reply(None, r#"null"#), false, "expected"),
        (reply(None, ""), false, "expected"),
        (
            reply(
                Some("Unhandled"),
                r#"{"errorType":"X","errorMessage":"Task timed out after 3.00 seconds"}"#,
            ),
            false,
            "timed out",
        ),
        (
            reply(Some("Unhandled"), r#"{"status":"Succeeded"}"#),
            false,
            "function error",
        ),
    ];
    for (r, ok, needle) in cases {
        let v = interpret_hook_reply(&r);
        assert_eq!(v.succeeded, ok, "{r:?}");
        assert!(
            v.reason.clone().unwrap_or_default().contains(needle),
            "{r:?} -> {v:?}"
        );
    }
}

#[tokio::test]
async fn every_rollback_path_ends_its_rollout_the_same_way() {
    use crate::notification::EventType;
    use crate::registry::RolloutStatus;
    let mut r = crate::fake::canary_rollout();
    r.weight_bps = 1000;
    let outcome = |action| RollbackOutcome {
        action,
        routing: Routing::single("1"),
        revision_id: "rev-9".into(),
    };
    // A verdict or an operator's abort: RolledBack, at weight 0 with the rollback's RevisionId.
    let end = RollbackEnd::of(
        &r,
        "alarm fired",
        None,
        Ok(&outcome(RollbackAction::Restored)),
    );
    assert_eq!(
        (end.status, end.reason.as_str()),
        (RolloutStatus::RolledBack, "alarm fired")
    );
    assert_eq!(
        (end.rollout.weight_bps, end.rollout.revision_id.as_str()),
        (0, "rev-9")
    );
    assert_eq!(end.notification.event_type, EventType::RolledBack);
    assert_eq!(end.notification.reason.as_deref(), Some("alarm fired"));
    assert_eq!(end.notification.error_type, None);
    // An error: RolloutFailed with its errorType, the alias restored (already, here: idempotent).
    let end = RollbackEnd::of(
        &r,
        "throttled",
        Some("Transient"),
        Ok(&outcome(RollbackAction::AlreadyRestored)),
    );
    assert_eq!(end.status, RolloutStatus::Failed);
    assert_eq!(end.reason, "throttled; alias restored to version 1");
    assert_eq!(
        (
            end.notification.event_type,
            end.notification.error_type.as_deref()
        ),
        (EventType::RolloutFailed, Some("Transient"))
    );
    assert_eq!(
        end.notification.reason.as_deref(),
        Some(end.reason.as_str())
    );
    // Left alone: RolloutFailed AliasChanged, whatever stopped it; the rollout as it was.
    let mut left = outcome(RollbackAction::LeftAlone);
    left.routing = Routing::single("3");
    for error_type in [None, Some("Transient")] {
        let end = RollbackEnd::of(&r, "stopped", error_type, Ok(&left));
        assert_eq!(end.status, RolloutStatus::LeftAlone);
        assert_eq!(
            end.reason,
            format!("stopped; {}", left_alone_message(&left))
        );
        assert_eq!(end.rollout, r);
        assert_eq!(
            (
                end.notification.event_type,
                end.notification.error_type.as_deref()
            ),
            (EventType::RolloutFailed, Some("AliasChanged"))
        );
    }
    // The rollback failed: RollbackFailed, with the rollback's own error type.
    let error = Error::AwsRejected {
        operation: "UpdateAlias".into(),
        message: "AccessDenied".into(),
    };
    let end = RollbackEnd::of(&r, "alarm fired", None, Err(&error));
    assert_eq!(end.status, RolloutStatus::RollbackFailed);
    assert!(
        end.reason
            .starts_with("alarm fired; then the rollback failed: "),
        "{}",
        end.reason
    );
    assert_eq!(
        (
            end.notification.event_type,
            end.notification.error_type.as_deref()
        ),
        (EventType::RollbackFailed, Some("AwsRejected"))
    );
    assert_eq!(end.rollout.weight_bps, 1000);
}
