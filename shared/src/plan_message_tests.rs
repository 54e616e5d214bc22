//! The messages a refused strategy gets, pinned as snapshots (`snapshots/`): each says what is wrong with the
//! value given, with one range per field, the true step count, and numbers echoed in a bounded form.

use serde_json::{json, Value};

use super::*;

/// `field: message` for a strategy that must be refused, or a panic.
fn refusal(value: &Value) -> String {
    match Strategy::from_json(value).and_then(|s| s.plan()) {
        Err(Error::InvalidRequest { field, message }) => format!("{field}: {message}"),
        other => panic!("{value} should be refused, got {other:?}"),
    }
}

/// One line per case: the strategy as given, then its refusal.
fn refusals(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| {
            format!(
                "{}\n  -> {}",
                crate::text::cap(&v.to_string(), 120),
                refusal(v)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn seconds_that_are_present_but_wrong_say_what_is_wrong() {
    insta::assert_snapshot!(
        "seconds_present_but_wrong",
        refusals(&[
            json!({"type": "canary", "percent": 10, "bakeSeconds": -1}),
            json!({"type": "canary", "percent": 10, "bakeSeconds": 99_999_999_999_999_999_999.0}),
            json!({"type": "canary", "percent": 10, "bakeSeconds": 1.5}),
            json!({"type": "canary", "percent": 10, "bakeSeconds": "60"}),
            json!({"type": "canary", "percent": 10, "bakeSeconds": 0}),
            json!({"type": "canary", "percent": 10}),
            json!({"type": "linear", "percent": 10, "intervalSeconds": -60}),
            json!({"type": "steps", "steps": [{"percent": 10, "bakeSeconds": -1}]}),
        ])
    );
}

#[test]
fn too_many_steps_says_the_true_count() {
    insta::assert_snapshot!(
        "too_many_steps",
        refusals(&[
            json!({"type": "linear", "percent": 0.5, "intervalSeconds": 1}),
            json!({"type": "linear", "percent": 0.9, "intervalSeconds": 1}),
            json!({"type": "linear", "percent": 0.01, "intervalSeconds": 1}),
            json!({"type": "exponential", "startPercent": 0.01, "factor": 1.01, "intervalSeconds": 1}),
        ])
    );
}

#[test]
fn linear_step_counts_are_exact_past_the_limit() {
    let count = |percent: f64| match refusal(
        &json!({"type": "linear", "percent": percent, "intervalSeconds": 1}),
    )
    .split_whitespace()
    .nth(2)
    {
        Some(n) => n.parse::<usize>().unwrap(),
        None => panic!("no count"),
    };
    assert_eq!(count(0.5), 200);
    assert_eq!(count(0.9), 112);
    assert_eq!(count(0.01), 10_000);
    assert_eq!(count(0.99), 102);
}

#[test]
fn percent_ranges_are_the_same_in_every_message_of_a_field() {
    insta::assert_snapshot!(
        "percent_ranges",
        refusals(&[
            json!({"type": "canary", "percent": -5, "bakeSeconds": 60}),
            json!({"type": "canary", "percent": 100, "bakeSeconds": 60}),
            json!({"type": "canary", "percent": 0, "bakeSeconds": 60}),
            json!({"type": "canary", "bakeSeconds": 60}),
            json!({"type": "canary", "percent": "10", "bakeSeconds": 60}),
            json!({"type": "linear", "percent": 100, "intervalSeconds": 60}),
            json!({"type": "exponential", "startPercent": 100, "factor": 2, "intervalSeconds": 60}),
            json!({"type": "steps", "steps": [{"percent": -5, "bakeSeconds": 60}]}),
            json!({"type": "steps", "steps": [{"percent": 101, "bakeSeconds": 60}]}),
            json!({"type": "steps", "steps": [{"percent": 10, "bakeSeconds": 60}, {"percent": 5, "bakeSeconds": 60}]}),
        ])
    );
}

#[test]
fn long_numbers_are_echoed_short() {
    insta::assert_snapshot!(
        "long_numbers_echoed_short",
        refusals(&[
            json!({"type": "exponential", "startPercent": 1, "factor": 1e308, "intervalSeconds": 60}),
            json!({"type": "exponential", "startPercent": 1, "factor": 1.0, "intervalSeconds": 60}),
            json!({"type": "exponential", "startPercent": 1, "factor": "2", "intervalSeconds": 60}),
            json!({"type": "canary", "percent": 1e300, "bakeSeconds": 60}),
            json!({"type": "canary", "percent": -1e-300, "bakeSeconds": 60}),
            json!({"type": "canary", "percent": 12.3456789, "bakeSeconds": 60}),
            json!({"type": "canary", "percent": 10, "bakeSeconds": "x".repeat(500)}),
        ])
    );
    for v in [
        json!(1e308),
        json!(-1e308),
        json!(1.234_567_890_123_456_7e-300),
    ] {
        let m = refusal(
            &json!({"type": "exponential", "startPercent": 1, "factor": v, "intervalSeconds": 60}),
        );
        assert!(m.len() < 120, "{m}");
    }
}

#[test]
fn unknown_presets_suggest_the_closest_once() {
    insta::assert_snapshot!(
        "unknown_presets",
        refusals(&[
            json!("Canary10Percent5Minute"),
            json!("Linear10PercentEvery1Minutes"),
            json!("CodeDeployDefault.LambdaCanary10Percent5Minute"),
            json!("Canary99"),
            json!(""),
        ])
    );
    for v in [json!("Canary99"), json!("Canary10Percent5Minute")] {
        let m = refusal(&v);
        assert_eq!(m.matches("AllAtOnce").count(), 1, "{m}");
    }
}

#[test]
fn preset_names_are_accepted_in_any_case() {
    for name in [
        "canary10percent5minutes",
        "CANARY10PERCENT5MINUTES",
        "codedeploydefault.lambdaCanary10Percent5Minutes",
    ] {
        assert_eq!(
            Strategy::from_json(&json!(name)).unwrap(),
            Strategy::Canary {
                percent_bps: 1000,
                bake_seconds: 300
            },
            "{name}"
        );
    }
    assert_eq!(
        Strategy::from_json(&json!("allatonce")).unwrap(),
        Strategy::AllAtOnce
    );
}
