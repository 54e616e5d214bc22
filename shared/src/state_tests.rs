//! Tests of `state`.
use serde_json::json;

use super::*;

fn rollout() -> Rollout {
    Rollout {
        alarms: vec![],
        ..crate::fake::canary_rollout()
    }
}

#[test]
fn state_round_trips_in_camel_case_and_omits_empty_fields() {
    let state = RolloutState::new(rollout());
    let v = serde_json::to_value(&state).unwrap();
    assert_eq!(v["schemaVersion"], 1);
    assert_eq!(v["waitSeconds"], 0);
    assert_eq!(v["done"], false);
    assert!(v.get("error").is_none() && v.get("verdict").is_none());
    let back: RolloutState = serde_json::from_value(v).unwrap();
    assert_eq!(back, state);
    back.check_schema().unwrap();
}

#[test]
fn catch_error_fields_are_read_as_step_functions_writes_them() {
    let mut v = serde_json::to_value(RolloutState::new(rollout())).unwrap();
    v["error"] = json!({"Error": "AliasChanged",
        "Cause": "{\"errorType\":\"AliasChanged\",\"errorMessage\":\"alias live changed outside this rollout: x\"}"});
    let state: RolloutState = serde_json::from_value(v).unwrap();
    assert_eq!(state.error.as_ref().unwrap().error, "AliasChanged");
    assert_eq!(
        state.failure_reason().unwrap(),
        "alias live changed outside this rollout: x"
    );
    let timeout = StateError {
        error: "States.Timeout".into(),
        cause: None,
    };
    assert_eq!(timeout.message(), "States.Timeout");
    let text = StateError {
        error: "Lambda.Unknown".into(),
        cause: Some("The cause could not be determined".into()),
    };
    assert_eq!(text.message(), "The cause could not be determined");
}

#[test]
fn a_six_megabyte_cause_or_error_is_read_back_capped() {
    let long = "é".repeat(3 * 1024 * 1024);
    let payload = json!({"errorType": "AwsRejected", "errorMessage": long}).to_string();
    let cases = [
        StateError {
            error: "AwsRejected".into(),
            cause: Some(payload),
        },
        StateError {
            error: "Lambda.Unknown".into(),
            cause: Some(long.clone()),
        },
        StateError {
            error: long.clone(),
            cause: None,
        },
    ];
    for error in cases {
        let message = error.message();
        assert!(message.len() <= MAX_OUTSIDE_TEXT, "{} bytes", message.len());
        assert!(message.starts_with("éé") && message.ends_with(" bytes cut)"));
        let mut state = RolloutState::new(rollout());
        state.error = Some(error);
        assert_eq!(state.failure_reason(), Some(message));
    }
}

#[test]
fn failure_reason_prefers_error_then_hook_then_verdict() {
    let mut state = RolloutState::new(rollout());
    assert_eq!(state.failure_reason(), None);
    state.verdict = Some(Verdict {
        healthy: false,
        failing: vec!["errors".into()],
        ..Verdict::default()
    });
    assert_eq!(state.failure_reason().unwrap(), "alarm(s) firing: errors");
    state.hook = Some(HookOutcome {
        phase: HookPhase::PostTraffic,
        succeeded: false,
        reason: Some("smoke test failed".into()),
    });
    assert_eq!(
        state.failure_reason().unwrap(),
        "postTraffic hook failed: smoke test failed"
    );
    state.error = Some(StateError {
        error: "Transient".into(),
        cause: Some("throttled".into()),
    });
    assert_eq!(state.failure_reason().unwrap(), "throttled");
}

#[test]
fn wrapped_inputs_check_their_versions() {
    let hook: HookInput = serde_json::from_value(json!({
        "schemaVersion": 1, "phase": "preTraffic",
        "state": serde_json::to_value(RolloutState::new(rollout())).unwrap()
    }))
    .unwrap();
    hook.check_schema().unwrap();
    let notify: NotifyInput = serde_json::from_value(json!({
        "schemaVersion": 2, "event": "RolloutSucceeded",
        "state": serde_json::to_value(RolloutState::new(rollout())).unwrap()
    }))
    .unwrap();
    assert_eq!(
        notify.check_schema().unwrap_err().error_type(),
        "InvalidState"
    );
    let prepare: PrepareInput = serde_json::from_value(
        json!({"schemaVersion": 1, "rolloutId": "r-1", "request": {"functionName": "f"}}),
    )
    .unwrap();
    prepare.check_schema().unwrap();
}

#[test]
fn a_signal_is_a_reason_even_when_the_emulator_drops_its_cause() {
    let mut state = RolloutState::new(rollout());
    for (error, cause, expected) in [
        ("AlarmFired", None, "an alarm fired during the bake"),
        (
            "AlarmFired",
            Some("alarm errors went to ALARM"),
            "alarm errors went to ALARM",
        ),
        ("Aborted", None, "aborted by an operator"),
        (
            "States.Timeout",
            Some("timed out"),
            "the rollout stayed paused past its maximum pause",
        ),
    ] {
        state.signal = Some(StateError {
            error: error.into(),
            cause: cause.map(str::to_string),
        });
        assert_eq!(state.failure_reason().as_deref(), Some(expected), "{error}");
    }
}

#[test]
fn the_operators_command_is_read_from_the_waits_result() {
    let mut state = RolloutState::new(rollout());
    assert_eq!(state.operator_command(), None);
    state.operator = Some(json!({"command": "promote"}));
    assert_eq!(state.operator_command(), Some("promote"));
    state.operator = Some(json!({"Error": "States.Timeout", "Cause": null}));
    assert_eq!(state.operator_command(), None);
}
