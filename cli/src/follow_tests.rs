use serde_json::json;
use shifter::driver::Outcome;
use shifter::fake::FakeClock;

use super::*;
use crate::test_support::{state, FakeApi, History, Recorder, ARN};

/// Prepare → canary 10% → bake → 100% → promoted.
pub(crate) fn promoted_history() -> History {
    let mut h = History::prepared();
    let healthy = json!({"verdict": {"healthy": true, "failing": [], "missing": []}});
    let mut baking = healthy.clone();
    baking["waitSeconds"] = json!(300);
    let mut done = healthy.clone();
    done["done"] = json!(true);
    h.exited("Advance", state(1, 1000, baking.clone()))
        .entered("TaskStateEntered", "Bake", state(1, 1000, baking))
        .exited("Advance", state(1, 1000, done.clone()))
        .exited("Finalize", state(2, 10_000, done.clone()))
        .exited("PostTrafficHook", state(2, 10_000, done.clone()))
        .succeeded(state(2, 10_000, done));
    h
}

async fn run(history: History) -> (Ended, Vec<String>) {
    let api = FakeApi::new(history.0);
    let mut rec = Recorder::default();
    let ended = follow(
        &api,
        ARN,
        &mut rec,
        Polling::default(),
        &FakeClock::default(),
    )
    .await
    .unwrap();
    (ended, rec.0)
}

#[tokio::test]
async fn a_promoted_execution_reports_every_step_and_exits_0() {
    let (ended, seen) = run(promoted_history()).await;
    assert_eq!(ended.exit_code, 0);
    assert_eq!(ended.status, "SUCCEEDED");
    assert!(
        matches!(ended.outcome, Outcome::Promoted { ref rollout } if rollout.weight_bps == 10_000)
    );
    let lifecycle: Vec<&str> = seen
        .iter()
        .filter(|s| !s.starts_with("Baking") && !s.starts_with("Checked"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        lifecycle,
        [
            "RolloutStarted:0",
            "TrafficShifted:10",
            "TrafficShifted:100",
            "RolloutSucceeded:100"
        ]
    );
    assert!(
        seen.iter()
            .any(|s| s.starts_with("Baking:") && s.ends_with("/300")),
        "{seen:?}"
    );
    assert!(seen.contains(&"Checked:true".to_string()));
    // An unconfigured hook reports nothing.
    assert!(!seen.iter().any(|s| s.starts_with("Hook")));
}

#[tokio::test]
async fn an_alarm_rollback_exits_1_with_the_reason() {
    let mut h = History::prepared();
    let reason = "alarm(s) firing: orders-errors";
    let unhealthy =
        json!({"verdict": {"healthy": false, "failing": ["orders-errors"], "missing": []}});
    h.exited("Advance", state(1, 1000, json!({"waitSeconds": 300})))
        .entered(
            "TaskStateEntered",
            "Bake",
            state(1, 1000, json!({"waitSeconds": 300})),
        )
        .exited("Advance", state(1, 1000, unhealthy.clone()))
        .exited("Rollback", {
            let mut v = unhealthy;
            v["reason"] = json!(reason);
            state(1, 0, v)
        })
        .ended("ExecutionFailed", Some("RolledBack"), Some(reason));
    let (ended, seen) = run(h).await;
    assert_eq!(ended.exit_code, 1);
    assert_eq!(ended.status, "FAILED");
    match &ended.outcome {
        Outcome::RolledBack { reason: r, rollout } => {
            assert_eq!(r, reason);
            assert_eq!(rollout.current_version, "1");
        }
        other => panic!("{other:?}"),
    }
    assert!(seen.contains(&"Checked:false".to_string()));
    assert_eq!(seen.last().unwrap(), "RolledBack:0");
}

#[tokio::test]
async fn a_failed_hook_reports_hook_failed_then_rolled_back() {
    let mut h = History::new();
    let mut hooked = serde_json::from_str::<serde_json::Value>(&state(0, 0, json!({}))).unwrap();
    hooked["rollout"]["hooks"] = json!({"preTraffic": "orders-smoke"});
    let mut failed = hooked.clone();
    failed["hook"] =
        json!({"phase": "preTraffic", "succeeded": false, "reason": "smoke test failed"});
    let mut rolled = failed.clone();
    rolled["reason"] = json!("preTraffic hook failed: smoke test failed");
    h.exited("Prepare", hooked.to_string())
        .exited("PreTrafficHook", failed.to_string())
        .exited("Rollback", rolled.to_string())
        .ended(
            "ExecutionFailed",
            Some("RolledBack"),
            Some("preTraffic hook failed: smoke test failed"),
        );
    let (ended, seen) = run(h).await;
    assert_eq!(ended.exit_code, 1);
    assert_eq!(seen, ["RolloutStarted:0", "HookFailed:0", "RolledBack:0"]);
}

#[tokio::test]
async fn a_rejected_request_maps_its_error_name_to_the_exit_code() {
    for (name, message, code, field) in [
        (
            "InvalidRequest",
            "invalid request: strategy: unknown preset",
            2,
            Some("strategy"),
        ),
        (
            "ResourceNotFound",
            "not found: targetVersion: version 999 of orders does not exist",
            2,
            Some("targetVersion"),
        ),
        (
            "AliasBusy",
            "alias live is busy: it routes 10% to 3",
            3,
            None,
        ),
        ("States.Timeout", "Task timed out", 1, None),
    ] {
        let mut h = History::new();
        h.push(
            "TaskStateEntered",
            Some("Prepare"),
            Some(json!({"functionName": "orders"}).to_string()),
        );
        let cause = json!({"errorType": name, "errorMessage": message}).to_string();
        h.ended("ExecutionFailed", Some(name), Some(&cause));
        let (ended, seen) = run(h).await;
        assert_eq!(ended.exit_code, code, "{name}");
        assert!(seen.is_empty(), "nothing started: {seen:?}");
        let Outcome::Rejected { error } = &ended.outcome else {
            panic!("{name}: {:?}", ended.outcome);
        };
        assert_eq!(error.error_type() == name, name != "States.Timeout");
        if let Some(field) = field {
            assert!(
                matches!(error, shifter::Error::InvalidRequest { field: f, .. } | shifter::Error::ResourceNotFound { field: f, .. } if f == field),
                "{error:?}"
            );
        }
        if name == "AliasBusy" {
            assert_eq!(error.to_string(), "alias live is busy: it routes 10% to 3");
        }
    }
}

#[tokio::test]
async fn a_caught_error_rolled_back_is_a_failure_with_the_alias_restored() {
    let mut h = History::prepared();
    let caught = json!({"error": {"Error": "AliasChanged", "Cause": json!({"errorType": "AliasChanged", "errorMessage": "alias live changed outside this rollout: someone"}).to_string()}});
    let mut rolled = caught.clone();
    rolled["reason"] = json!("alias live changed outside this rollout: someone");
    h.exited("Rollback", state(0, 0, rolled)).ended(
        "ExecutionFailed",
        Some("RolledBack"),
        Some("x"),
    );
    let (ended, seen) = run(h).await;
    assert_eq!(ended.exit_code, 1);
    assert!(matches!(
        &ended.outcome,
        Outcome::Failed { alias_restored: true, error: shifter::Error::AliasChanged { alias, .. }, .. } if alias == "live"
    ));
    assert_eq!(seen.last().unwrap(), "RolloutFailed:0");
}

#[tokio::test]
async fn rollback_failed_aborted_and_timed_out_exit_1() {
    let mut h = History::prepared();
    let broken = json!({"rollbackError": {"Error": "AliasChanged", "Cause": "left alone"}});
    h.exited("Advance", state(1, 1000, json!({})))
        .entered(
            "TaskStateEntered",
            "NotifyRollbackFailed",
            state(1, 1000, broken),
        )
        .ended(
            "ExecutionFailed",
            Some("RollbackFailed"),
            Some("The rollback failed"),
        );
    let (ended, seen) = run(h).await;
    assert_eq!(ended.exit_code, 1);
    assert!(matches!(
        ended.outcome,
        Outcome::Failed {
            alias_restored: false,
            ..
        }
    ));
    assert_eq!(seen.last().unwrap(), "RollbackFailed:10");

    for kind in ["ExecutionAborted", "ExecutionTimedOut"] {
        let mut h = History::prepared();
        h.exited("Advance", state(1, 1000, json!({}))).ended(
            kind,
            None,
            Some("aborted by someone"),
        );
        let (ended, _) = run(h).await;
        assert_eq!(ended.exit_code, 1, "{kind}");
        assert!(matches!(
            ended.outcome,
            Outcome::Failed {
                alias_restored: false,
                ..
            }
        ));
    }
}

#[test]
fn exit_codes_by_error_name() {
    assert_eq!(exit_code_for_error("RolledBack"), 1);
    assert_eq!(exit_code_for_error("RollbackFailed"), 1);
    assert_eq!(exit_code_for_error("AliasBusy"), 3);
    assert_eq!(exit_code_for_error("AliasChanged"), 3);
    assert_eq!(exit_code_for_error("InvalidRequest"), 2);
    assert_eq!(exit_code_for_error("ResourceNotFound"), 2);
    assert_eq!(exit_code_for_error("Lambda.Unknown"), 1);
}

#[test]
fn the_last_rollout_state_is_the_latest_state_carrying_a_rollout() {
    let mut h = History::new();
    h.push(
        "TaskStateEntered",
        Some("Prepare"),
        Some(json!({"functionName": "orders"}).to_string()),
    );
    assert!(
        last_rollout_state(&h.0).is_none(),
        "the request is no state"
    );
    h.exited("Prepare", state(0, 0, json!({})))
        .exited("Advance", state(1, 1000, json!({"waitSeconds": 300})))
        .entered(
            "TaskStateEntered",
            "Bake",
            state(1, 1000, json!({"waitSeconds": 300})),
        )
        .push(
            "LambdaFunctionScheduled",
            None,
            Some("{\"state\":{}}".into()),
        );
    let s = last_rollout_state(&h.0).unwrap();
    assert_eq!((s.rollout.steps_done, s.rollout.weight_bps), (1, 1000));
    assert_eq!(s.wait_seconds, 300);
}

#[test]
fn a_bake_counts_down_from_the_wait_states_entry() {
    let mut h = History::prepared();
    h.entered(
        "TaskStateEntered",
        "Bake",
        state(1, 1000, json!({"waitSeconds": 300})),
    );
    let entered = h.0.last().unwrap().timestamp_ms;
    let mut t = Tracker::new();
    t.now_ms = Some(entered + 100_000);
    let mut rec = Recorder::default();
    for e in &h.0 {
        assert!(t.on_event(e, &mut rec).is_none());
    }
    assert_eq!(rec.0.last().unwrap(), "Baking:200/300");
}

#[tokio::test]
async fn a_rollback_that_left_someone_elses_change_alone_exits_3_not_rollback_failed() {
    let mut h = History::prepared();
    let left = json!({"reason": "alarm(s) firing: orders-errors; someone else changed the alias: it routes v3 100%, which this rollout did not set; left alone",
        "endError": "AliasChanged", "leftAlone": {"functionVersion": "3"}});
    h.exited("Rollback", state(1, 1000, left)).ended(
        "ExecutionFailed",
        Some("AliasChanged"),
        Some("left alone"),
    );
    let (ended, seen) = run(h).await;
    assert_eq!(ended.exit_code, 3);
    let Outcome::LeftAlone { found, reason, .. } = &ended.outcome else {
        panic!("{:?}", ended.outcome)
    };
    assert_eq!(found, &shifter::domain::Routing::single("3"));
    assert!(reason.contains("left alone"), "{reason}");
    assert_eq!(seen.last().unwrap(), "RolloutFailed:10");
}

#[tokio::test]
async fn an_operators_pause_resume_and_promote_show_as_they_happen() {
    let mut h = History::prepared();
    let healthy = json!({"verdict": {"healthy": true, "failing": [], "missing": []}});
    let mut baking = healthy.clone();
    baking["waitSeconds"] = json!(300);
    let mut paused = baking.clone();
    paused["operator"] = json!({"command": "pause", "pauseSeconds": 3600});
    let mut resumed = baking.clone();
    resumed["operator"] = json!({"command": "resume"});
    let mut promoted = baking.clone();
    promoted["operator"] = json!({"command": "promote"});
    let mut done = healthy.clone();
    done["done"] = json!(true);
    h.exited("Advance", state(1, 1000, baking.clone()))
        .entered("TaskStateEntered", "Bake", state(1, 1000, baking.clone()))
        .exited("Bake", state(1, 1000, paused.clone()))
        .entered("TaskStateEntered", "Paused", state(1, 1000, paused))
        .exited("Paused", state(1, 1000, resumed))
        .exited("Advance", state(2, 2000, baking.clone()))
        .entered("TaskStateEntered", "Bake", state(2, 2000, baking))
        .exited("Bake", state(2, 2000, promoted))
        .exited("Advance", state(2, 2000, done.clone()))
        .exited("Finalize", state(3, 10_000, done.clone()))
        .succeeded(state(3, 10_000, done));
    let (ended, seen) = run(h).await;
    assert_eq!(ended.exit_code, 0);
    let operator: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|s| s.starts_with("Paused") || s.starts_with("Resumed") || s.starts_with("Promote"))
        .collect();
    assert_eq!(operator.len(), 3, "{seen:?}");
    assert!(
        operator[0].starts_with("Paused") && operator[0].contains("3600"),
        "{operator:?}"
    );
    assert!(operator[1].starts_with("Resumed") && operator[2].starts_with("PromoteRequested"));
}
