use super::*;
use crate::plan::Strategy;
use proptest::prelude::{prop_assert, prop_assert_eq, prop_oneof, proptest, ProptestConfig};
use proptest::strategy::Strategy as _;
use proptest::test_runner::TestCaseError;
use serde_json::json;

fn plan_of(value: &Value) -> Result<Plan> {
    Strategy::from_json(value)?.plan()
}

fn pairs(plan: &Plan) -> Vec<(u32, u32)> {
    plan.steps
        .iter()
        .map(|s| (s.weight_bps, s.bake_seconds))
        .collect()
}

fn plan_pairs(value: &Value) -> Vec<(u32, u32)> {
    match plan_of(value) {
        Ok(plan) => pairs(&plan),
        Err(e) => panic!("{value} should plan, got {e:?}"),
    }
}

/// The `field` of the InvalidRequest the strategy fails with (panics on success or another error).
fn rejected_field(value: &Value) -> String {
    match plan_of(value) {
        Err(Error::InvalidRequest { field, message }) => {
            assert!(!message.is_empty(), "{value}: empty message");
            field
        }
        other => panic!("{value} should be an invalid request, got {other:?}"),
    }
}

fn steps(list: &[(u32, u32)]) -> Plan {
    Plan {
        steps: list
            .iter()
            .map(|&(weight_bps, bake_seconds)| Step {
                weight_bps,
                bake_seconds,
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------------------
// CodeDeploy presets
// ---------------------------------------------------------------------------------------------------------

/// CodeDeploy's schedules, written out independently of `PRESETS`.
fn codedeploy_schedule(name: &str) -> Vec<(u32, u32)> {
    let canary = |minutes: u32| vec![(1000, minutes * 60), (10_000, 0)];
    let linear = |minutes: u32| {
        let mut v: Vec<(u32, u32)> = (1..=9).map(|i| (i * 1000, minutes * 60)).collect();
        v.push((10_000, 0));
        v
    };
    match name {
        "Canary10Percent5Minutes" => canary(5),
        "Canary10Percent10Minutes" => canary(10),
        "Canary10Percent15Minutes" => canary(15),
        "Canary10Percent30Minutes" => canary(30),
        "Linear10PercentEvery1Minute" => linear(1),
        "Linear10PercentEvery2Minutes" => linear(2),
        "Linear10PercentEvery3Minutes" => linear(3),
        "Linear10PercentEvery10Minutes" => linear(10),
        "AllAtOnce" => vec![(10_000, 0)],
        other => panic!("not a CodeDeploy preset: {other}"),
    }
}

const CODEDEPLOY_PRESETS: [&str; 9] = [
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
    "AllAtOnce",
];

#[test]
fn presets_are_exactly_codedeploys_nine() {
    let mut ours: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
    let mut theirs = CODEDEPLOY_PRESETS.to_vec();
    ours.sort_unstable();
    theirs.sort_unstable();
    assert_eq!(ours, theirs);
}

#[test]
fn every_preset_produces_codedeploys_schedule_in_both_spellings() {
    for name in CODEDEPLOY_PRESETS {
        let expected = codedeploy_schedule(name);
        for spelling in [name.to_string(), format!("CodeDeployDefault.Lambda{name}")] {
            let got = plan_pairs(&json!(spelling));
            assert_eq!(got, expected, "{spelling}");
        }
    }
}

#[test]
fn preset_totals_match_codedeploy() {
    let cases = [
        ("Canary10Percent5Minutes", 300),
        ("Canary10Percent10Minutes", 600),
        ("Canary10Percent15Minutes", 900),
        ("Canary10Percent30Minutes", 1800),
        ("Linear10PercentEvery1Minute", 9 * 60),
        ("Linear10PercentEvery2Minutes", 9 * 120),
        ("Linear10PercentEvery3Minutes", 9 * 180),
        ("Linear10PercentEvery10Minutes", 9 * 600),
        ("AllAtOnce", 0),
    ];
    for (name, total) in cases {
        let plan = plan_of(&json!(name)).unwrap();
        assert_eq!(plan.total_seconds(), total, "{name}");
        let len = if name.starts_with("Linear") {
            10
        } else if name.starts_with("Canary") {
            2
        } else {
            1
        };
        assert_eq!(plan.steps.len(), len, "{name}");
    }
}

#[test]
fn preset_strategies_are_the_named_shapes() {
    assert_eq!(
        Strategy::from_json(&json!("Canary10Percent15Minutes")).unwrap(),
        Strategy::Canary {
            percent_bps: 1000,
            bake_seconds: 900
        }
    );
    assert_eq!(
        Strategy::from_json(&json!(
            "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes"
        ))
        .unwrap(),
        Strategy::Linear {
            percent_bps: 1000,
            interval_seconds: 180
        }
    );
    assert_eq!(
        Strategy::from_json(&json!("CodeDeployDefault.LambdaAllAtOnce")).unwrap(),
        Strategy::AllAtOnce
    );
}

#[test]
fn unknown_presets_are_rejected_at_strategy_with_the_list() {
    for name in [
        "Canary10Percent20Minutes",
        "Linear10PercentEvery1Minutes",
        "Linear10PercentEvery2Minute",
        "CodeDeployDefault.AllAtOnce",
        "CodeDeployDefault.LambdaFoo",
        "CodeDeployDefault.Lambda",
        "CodeDeployDefault.LambdaCodeDeployDefault.LambdaAllAtOnce",
        " AllAtOnce",
        "AllAtOnce ",
        "",
    ] {
        let err = plan_of(&json!(name)).unwrap_err();
        match err {
            Error::InvalidRequest { field, message } => {
                assert_eq!(field, "strategy", "{name:?}");
                assert!(
                    message.contains("Canary10Percent5Minutes") && message.contains("AllAtOnce"),
                    "{name:?}: the message should list the presets: {message}"
                );
            }
            other => panic!("{name:?}: {other:?}"),
        }
    }
}

#[test]
fn a_strategy_that_is_neither_string_nor_object_is_rejected() {
    for value in [
        json!(null),
        json!(5),
        json!(true),
        json!([]),
        json!(["Canary10Percent5Minutes"]),
    ] {
        assert_eq!(rejected_field(&value), "strategy", "{value}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Custom strategies: happy paths
// ---------------------------------------------------------------------------------------------------------

#[test]
fn custom_strategies_make_the_exact_steps() {
    let linear_percent_1: Vec<(u32, u32)> = (1..=99)
        .map(|i| (i * 100, 5))
        .chain([(10_000, 0)])
        .collect();
    let cases: Vec<(Value, Vec<(u32, u32)>)> = vec![
        (
            json!({"type": "canary", "percent": 10, "bakeSeconds": 300}),
            vec![(1000, 300), (10_000, 0)],
        ),
        (
            json!({"type": "canary", "percent": 0.5, "bakeSeconds": 1}),
            vec![(50, 1), (10_000, 0)],
        ),
        (
            json!({"type": "canary", "percent": 0.01, "bakeSeconds": 60}),
            vec![(1, 60), (10_000, 0)],
        ),
        (
            json!({"type": "canary", "percent": 99.99, "bakeSeconds": 60}),
            vec![(9999, 60), (10_000, 0)],
        ),
        (
            json!({"type": "canary", "percent": 0.29, "bakeSeconds": 60}),
            vec![(29, 60), (10_000, 0)],
        ),
        (
            json!({"type": "canary", "percent": 12.5, "bakeSeconds": MAX_TOTAL_SECONDS}),
            vec![(1250, MAX_TOTAL_SECONDS as u32), (10_000, 0)],
        ),
        (
            json!({"type": "linear", "percent": 33, "intervalSeconds": 60}),
            vec![(3300, 60), (6600, 60), (9900, 60), (10_000, 0)],
        ),
        (
            json!({"type": "linear", "percent": 25, "intervalSeconds": 120}),
            vec![(2500, 120), (5000, 120), (7500, 120), (10_000, 0)],
        ),
        (
            json!({"type": "linear", "percent": 50, "intervalSeconds": 10}),
            vec![(5000, 10), (10_000, 0)],
        ),
        (
            json!({"type": "linear", "percent": 99, "intervalSeconds": 1}),
            vec![(9900, 1), (10_000, 0)],
        ),
        (
            json!({"type": "linear", "percent": 1, "intervalSeconds": 5}),
            linear_percent_1,
        ),
        (
            json!({"type": "exponential", "startPercent": 1, "factor": 2, "intervalSeconds": 60}),
            vec![
                (100, 60),
                (200, 60),
                (400, 60),
                (800, 60),
                (1600, 60),
                (3200, 60),
                (6400, 60),
                (10_000, 0),
            ],
        ),
        (
            json!({"type": "exponential", "startPercent": 10, "factor": 3, "intervalSeconds": 30}),
            vec![(1000, 30), (3000, 30), (9000, 30), (10_000, 0)],
        ),
        (
            json!({"type": "exponential", "startPercent": 0.5, "factor": 10, "intervalSeconds": 30}),
            vec![(50, 30), (500, 30), (5000, 30), (10_000, 0)],
        ),
        (
            json!({"type": "exponential", "startPercent": 60, "factor": 2, "intervalSeconds": 30}),
            vec![(6000, 30), (10_000, 0)],
        ),
        (
            // 3% * 1.5 = 4.5%, 6.75%, 10.125% -> rounded up to whole basis points.
            json!({"type": "exponential", "startPercent": 3, "factor": 1.5, "intervalSeconds": 7}),
            vec![
                (300, 7),
                (450, 7),
                (675, 7),
                (1013, 7),
                (1519, 7),
                (2279, 7),
                (3418, 7),
                (5126, 7),
                (7689, 7),
                (10_000, 0),
            ],
        ),
        (
            json!({"type": "steps", "steps": [
                {"percent": 1, "bakeSeconds": 60},
                {"percent": 5, "bakeSeconds": 120},
                {"percent": 25, "bakeSeconds": 300},
                {"percent": 100}
            ]}),
            vec![(100, 60), (500, 120), (2500, 300), (10_000, 0)],
        ),
        (
            json!({"type": "steps", "steps": [
                {"percent": 1, "bakeSeconds": 60},
                {"percent": 50, "bakeSeconds": 0}
            ]}),
            vec![(100, 60), (5000, 0), (10_000, 0)],
        ),
        (
            json!({"type": "steps", "steps": [
                {"bakeSeconds": 60, "percent": 0.25},
                {"percent": 100, "bakeSeconds": 0}
            ]}),
            vec![(25, 60), (10_000, 0)],
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 100}]}),
            vec![(10_000, 0)],
        ),
        (json!({"type": "allAtOnce"}), vec![(10_000, 0)]),
    ];
    for (value, expected) in cases {
        assert_eq!(plan_pairs(&value), expected, "{value}");
    }
}

#[test]
fn custom_strategies_parse_to_basis_points() {
    assert_eq!(
        Strategy::from_json(&json!({"type": "canary", "percent": 2.5, "bakeSeconds": 90})).unwrap(),
        Strategy::Canary {
            percent_bps: 250,
            bake_seconds: 90
        }
    );
    assert_eq!(
        Strategy::from_json(&json!({"type": "linear", "percent": 0.07, "intervalSeconds": 1}))
            .unwrap(),
        Strategy::Linear {
            percent_bps: 7,
            interval_seconds: 1
        }
    );
    assert_eq!(
        Strategy::from_json(
            &json!({"type": "exponential", "startPercent": 1.5, "factor": 2.5, "intervalSeconds": 9})
        )
        .unwrap(),
        Strategy::Exponential {
            start_bps: 150,
            factor: 2.5,
            interval_seconds: 9
        }
    );
    assert_eq!(
        Strategy::from_json(&json!({"type": "steps", "steps": [{"percent": 3, "bakeSeconds": 4}]}))
            .unwrap(),
        Strategy::Steps(vec![Step {
            weight_bps: 300,
            bake_seconds: 4
        }])
    );
}

#[test]
fn plan_limits_are_inclusive() {
    // 99 partial steps plus the final one: exactly MAX_STEPS.
    let list: Vec<Value> = (1..=99)
        .map(|p| json!({"percent": p, "bakeSeconds": 1}))
        .collect();
    let plan = plan_of(&json!({"type": "steps", "steps": list})).unwrap();
    assert_eq!(plan.steps.len(), MAX_STEPS);
    // Spelling out the final 100% does not count twice.
    let mut list: Vec<Value> = (1..=99)
        .map(|p| json!({"percent": p, "bakeSeconds": 1}))
        .collect();
    list.push(json!({"percent": 100}));
    let plan = plan_of(&json!({"type": "steps", "steps": list})).unwrap();
    assert_eq!(plan.steps.len(), MAX_STEPS);
    // Exactly 30 days of baking.
    let plan = plan_of(&json!({"type": "steps", "steps": [
        {"percent": 1, "bakeSeconds": MAX_TOTAL_SECONDS - 1},
        {"percent": 2, "bakeSeconds": 1}
    ]}))
    .unwrap();
    assert_eq!(plan.total_seconds(), MAX_TOTAL_SECONDS);
}

/// 1% grown by 1.1 is 1.1%, 1.21%, 1.331% (rounded up: 134 bps). Float noise must not round 110 up to 111.
#[test]
fn exponential_growth_rounds_exact_values_exactly() {
    let got = plan_pairs(&json!(
        {"type": "exponential", "startPercent": 1, "factor": 1.1, "intervalSeconds": 60}
    ));
    let weights: Vec<u32> = got.iter().map(|p| p.0).take(4).collect();
    assert_eq!(weights, vec![100, 110, 121, 134]);
}

// ---------------------------------------------------------------------------------------------------------
// Custom strategies: rejections
// ---------------------------------------------------------------------------------------------------------

#[test]
fn bad_custom_strategies_name_the_field() {
    let day30 = MAX_TOTAL_SECONDS;
    let hundred_and_one_steps: Vec<Value> = (1..=100)
        .map(|i| json!({"percent": f64::from(i) * 0.5, "bakeSeconds": 1}))
        .collect();
    let cases: Vec<(Value, &str)> = vec![
        // type
        (json!({}), "strategy.type"),
        (json!({"percent": 10, "bakeSeconds": 60}), "strategy.type"),
        (json!({"type": 3}), "strategy.type"),
        (json!({"type": null}), "strategy.type"),
        (json!({"type": "Canary"}), "strategy.type"),
        (json!({"type": "blueGreen"}), "strategy.type"),
        (json!({"type": "Canary10Percent5Minutes"}), "strategy.type"),
        // unknown fields
        (
            json!({"type": "canary", "percent": 10, "bakeSeconds": 60, "foo": 1}),
            "strategy.foo",
        ),
        (
            json!({"type": "canary", "percent": 10, "intervalSeconds": 60}),
            "strategy.intervalSeconds",
        ),
        (
            json!({"type": "linear", "percent": 10, "bakeSeconds": 60}),
            "strategy.bakeSeconds",
        ),
        (
            json!({"type": "exponential", "percent": 10, "factor": 2, "intervalSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "allAtOnce", "percent": 10}),
            "strategy.percent",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 10, "bakeSeconds": 1}], "bakeSeconds": 1}),
            "strategy.bakeSeconds",
        ),
        // canary percent
        (
            json!({"type": "canary", "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "canary", "percent": 0, "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "canary", "percent": -5, "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "canary", "percent": 100, "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "canary", "percent": 100.0, "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "canary", "percent": 150, "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "canary", "percent": 10.125, "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "canary", "percent": 0.001, "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "canary", "percent": 99.999, "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "canary", "percent": "10", "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "canary", "percent": null, "bakeSeconds": 60}),
            "strategy.percent",
        ),
        // canary bake
        (
            json!({"type": "canary", "percent": 10}),
            "strategy.bakeSeconds",
        ),
        (
            json!({"type": "canary", "percent": 10, "bakeSeconds": 0}),
            "strategy.bakeSeconds",
        ),
        (
            json!({"type": "canary", "percent": 10, "bakeSeconds": -1}),
            "strategy.bakeSeconds",
        ),
        (
            json!({"type": "canary", "percent": 10, "bakeSeconds": 1.5}),
            "strategy.bakeSeconds",
        ),
        (
            json!({"type": "canary", "percent": 10, "bakeSeconds": "60"}),
            "strategy.bakeSeconds",
        ),
        (
            json!({"type": "canary", "percent": 10, "bakeSeconds": day30 + 1}),
            "strategy.bakeSeconds",
        ),
        (
            json!({"type": "canary", "percent": 10, "bakeSeconds": u64::MAX}),
            "strategy.bakeSeconds",
        ),
        // linear
        (
            json!({"type": "linear", "percent": 0.5, "intervalSeconds": 60}),
            "strategy",
        ),
        (
            json!({"type": "linear", "percent": 0.99, "intervalSeconds": 60}),
            "strategy",
        ),
        (
            json!({"type": "linear", "percent": 100, "intervalSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "linear", "percent": 0, "intervalSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "linear", "percent": 33.333, "intervalSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "linear", "percent": 10}),
            "strategy.intervalSeconds",
        ),
        (
            json!({"type": "linear", "percent": 10, "intervalSeconds": 0}),
            "strategy.intervalSeconds",
        ),
        (
            // 99 intervals of 30,000 s: 2,970,000 s is over 30 days.
            json!({"type": "linear", "percent": 1, "intervalSeconds": 30_000}),
            "strategy",
        ),
        // exponential
        (
            json!({"type": "exponential", "startPercent": 1, "intervalSeconds": 60}),
            "strategy.factor",
        ),
        (
            json!({"type": "exponential", "startPercent": 1, "factor": 1, "intervalSeconds": 60}),
            "strategy.factor",
        ),
        (
            json!({"type": "exponential", "startPercent": 1, "factor": 0.5, "intervalSeconds": 60}),
            "strategy.factor",
        ),
        (
            json!({"type": "exponential", "startPercent": 1, "factor": -2, "intervalSeconds": 60}),
            "strategy.factor",
        ),
        (
            json!({"type": "exponential", "startPercent": 1, "factor": 101, "intervalSeconds": 60}),
            "strategy.factor",
        ),
        (
            json!({"type": "exponential", "startPercent": 1, "factor": "2", "intervalSeconds": 60}),
            "strategy.factor",
        ),
        (
            json!({"type": "exponential", "factor": 2, "intervalSeconds": 60}),
            "strategy.startPercent",
        ),
        (
            json!({"type": "exponential", "startPercent": 0, "factor": 2, "intervalSeconds": 60}),
            "strategy.startPercent",
        ),
        (
            json!({"type": "exponential", "startPercent": 100, "factor": 2, "intervalSeconds": 60}),
            "strategy.startPercent",
        ),
        (
            json!({"type": "exponential", "startPercent": 1.234, "factor": 2, "intervalSeconds": 60}),
            "strategy.startPercent",
        ),
        (
            json!({"type": "exponential", "startPercent": 1, "factor": 2}),
            "strategy.intervalSeconds",
        ),
        (
            json!({"type": "exponential", "startPercent": 1, "factor": 2, "intervalSeconds": 0}),
            "strategy.intervalSeconds",
        ),
        (
            json!({"type": "exponential", "startPercent": 0.01, "factor": 1.01, "intervalSeconds": 1}),
            "strategy",
        ),
        (
            // 7 steps of 5 days.
            json!({"type": "exponential", "startPercent": 1, "factor": 2, "intervalSeconds": 432_000}),
            "strategy",
        ),
        // steps
        (json!({"type": "steps"}), "strategy.steps"),
        (json!({"type": "steps", "steps": []}), "strategy.steps"),
        (
            json!({"type": "steps", "steps": "1,5,100"}),
            "strategy.steps",
        ),
        (
            json!({"type": "steps", "steps": {"percent": 10}}),
            "strategy.steps",
        ),
        (json!({"type": "steps", "steps": [5]}), "strategy.steps[0]"),
        (
            json!({"type": "steps", "steps": [{"percent": 5, "bakeSeconds": 1}, null]}),
            "strategy.steps[1]",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 5, "bakeSeconds": 1, "foo": 2}]}),
            "strategy.steps[0].foo",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 5, "bakeSeconds": 1}, {"weight": 50, "bakeSeconds": 1}]}),
            "strategy.steps[1].weight",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 10, "bakeSeconds": 60}, {"percent": 10, "bakeSeconds": 60}]}),
            "strategy.steps[1].percent",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 20, "bakeSeconds": 60}, {"percent": 10, "bakeSeconds": 60}]}),
            "strategy.steps[1].percent",
        ),
        (
            json!({"type": "steps", "steps": [
                {"percent": 1, "bakeSeconds": 1},
                {"percent": 2, "bakeSeconds": 1},
                {"percent": 2, "bakeSeconds": 1}
            ]}),
            "strategy.steps[2].percent",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 10, "bakeSeconds": 60}, {"percent": 100, "bakeSeconds": 0}, {"percent": 50, "bakeSeconds": 60}]}),
            "strategy.steps[1].percent",
        ),
        (
            // Only the last step may leave out its bake, so a 100 in the middle without one is refused there.
            json!({"type": "steps", "steps": [{"percent": 10, "bakeSeconds": 60}, {"percent": 100}, {"percent": 50, "bakeSeconds": 60}]}),
            "strategy.steps[1].bakeSeconds",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 100, "bakeSeconds": 0}, {"percent": 100}]}),
            "strategy.steps[0].percent",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 10, "bakeSeconds": 60}, {"percent": 100, "bakeSeconds": 60}]}),
            "strategy.steps[1].percent",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 10}]}),
            "strategy.steps[0].bakeSeconds",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 10}, {"percent": 100}]}),
            "strategy.steps[0].bakeSeconds",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 10, "bakeSeconds": -1}]}),
            "strategy.steps[0].bakeSeconds",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 0, "bakeSeconds": 60}]}),
            "strategy.steps[0].percent",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": -1, "bakeSeconds": 60}]}),
            "strategy.steps[0].percent",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 5, "bakeSeconds": 60}, {"percent": 100.5}]}),
            "strategy.steps[1].percent",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 1.001, "bakeSeconds": 60}]}),
            "strategy.steps[0].percent",
        ),
        (
            json!({"type": "steps", "steps": [{"bakeSeconds": 60}]}),
            "strategy.steps[0].percent",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 1, "bakeSeconds": day30}, {"percent": 2, "bakeSeconds": day30}]}),
            "strategy",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 1, "bakeSeconds": day30}, {"percent": 2, "bakeSeconds": 1}]}),
            "strategy",
        ),
        (
            json!({"type": "steps", "steps": hundred_and_one_steps}),
            "strategy",
        ),
    ];
    for (value, field) in cases {
        assert_eq!(rejected_field(&value), field, "{value}");
    }
}

#[test]
fn rejection_messages_say_what_is_valid() {
    let message = |v: Value| match plan_of(&v) {
        Err(Error::InvalidRequest { message, .. }) => message,
        other => panic!("{v}: {other:?}"),
    };
    let m = message(json!({"type": "linear", "percent": 0.5, "intervalSeconds": 60}));
    assert!(
        m.contains("steps") && m.contains(&MAX_STEPS.to_string()),
        "{m}"
    );
    let m = message(json!({"type": "canary", "percent": 10.125, "bakeSeconds": 60}));
    assert!(m.contains("decimals"), "{m}");
    let m = message(json!({"type": "canary", "percent": 100, "bakeSeconds": 60}));
    assert!(m.contains("AllAtOnce"), "{m}");
    let m = message(json!({"type": "nope"}));
    assert!(m.contains("\"nope\"") && m.contains("canary"), "{m}");
    let m = message(json!({"type": "canary", "percent": 10, "bakeSeconds": 60, "foo": 1}));
    assert!(m.contains("percent") && m.contains("bakeSeconds"), "{m}");
    let m = message(json!({"type": "steps", "steps": [
        {"percent": 1, "bakeSeconds": MAX_TOTAL_SECONDS}, {"percent": 2, "bakeSeconds": 1}
    ]}));
    assert!(m.contains("30 days"), "{m}");
}

/// A percent so small it rounds to 0 basis points must be refused as a request error, not slip through to
/// `Plan::check` as an InvalidState.
#[test]
fn a_percent_that_rounds_to_zero_is_an_invalid_request() {
    for (value, field) in [
        (
            json!({"type": "canary", "percent": 1e-9, "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 1e-9, "bakeSeconds": 60}]}),
            "strategy.steps[0].percent",
        ),
    ] {
        assert_eq!(rejected_field(&value), field, "{value}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Plan::check
// ---------------------------------------------------------------------------------------------------------

#[test]
fn check_accepts_well_formed_plans() {
    for list in [
        vec![(10_000, 0)],
        vec![(1, 0), (10_000, 0)],
        vec![(1, 1), (2, 1), (9_999, 1), (10_000, 0)],
    ] {
        assert_eq!(steps(&list).check(), Ok(()), "{list:?}");
    }
}

#[test]
fn check_rejects_hand_made_bad_plans() {
    let cases: Vec<(&str, Vec<(u32, u32)>)> = vec![
        ("empty", vec![]),
        ("last below 100%", vec![(1000, 60), (9000, 0)]),
        ("last above 100%", vec![(1000, 60), (10_001, 0)]),
        ("last bakes", vec![(1000, 60), (10_000, 60)]),
        ("only step bakes", vec![(10_000, 1)]),
        ("decreasing", vec![(5000, 60), (4000, 60), (10_000, 0)]),
        ("repeated", vec![(5000, 60), (5000, 60), (10_000, 0)]),
        ("zero weight", vec![(0, 60), (10_000, 0)]),
        ("over 100% midway", vec![(20_000, 60), (10_000, 0)]),
        ("100% twice", vec![(10_000, 0), (10_000, 0)]),
    ];
    for (what, list) in cases {
        match steps(&list).check() {
            Err(Error::InvalidState { message }) => {
                assert!(message.starts_with("plan: "), "{what}: {message}")
            }
            other => panic!("{what}: {list:?} should be rejected, got {other:?}"),
        }
    }
}

#[test]
fn total_seconds_sums_bakes_without_overflow() {
    assert_eq!(steps(&[(10_000, 0)]).total_seconds(), 0);
    assert_eq!(
        steps(&[(1, u32::MAX), (2, u32::MAX), (10_000, 0)]).total_seconds(),
        2 * u64::from(u32::MAX)
    );
}

#[test]
fn plan_serializes_as_camel_case() {
    let plan = steps(&[(1000, 300), (10_000, 0)]);
    let value = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        value,
        json!({"steps": [
            {"weightBps": 1000, "bakeSeconds": 300},
            {"weightBps": 10000, "bakeSeconds": 0}
        ]})
    );
    let back: Plan = serde_json::from_value(value).unwrap();
    assert_eq!(back, plan);
}

// ---------------------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------------------

/// A percent as a JSON number built from whole basis points, as users write it (e.g. 12.34).
fn percent(bps: u32) -> Value {
    json!(f64::from(bps) / 100.0)
}

/// Every plan invariant the drivers rely on.
fn assert_plan_invariants(plan: &Plan) -> std::result::Result<(), TestCaseError> {
    prop_assert!(!plan.steps.is_empty());
    prop_assert!(plan.steps.len() <= MAX_STEPS, "{} steps", plan.steps.len());
    prop_assert!(plan.total_seconds() <= MAX_TOTAL_SECONDS);
    prop_assert_eq!(
        plan.steps.last().copied(),
        Some(Step {
            weight_bps: FULL_BPS,
            bake_seconds: 0
        })
    );
    let mut previous = 0;
    for s in &plan.steps {
        prop_assert!(s.weight_bps > previous, "not increasing: {:?}", plan.steps);
        prop_assert!(s.weight_bps <= FULL_BPS);
        previous = s.weight_bps;
    }
    prop_assert_eq!(plan.check(), Ok(()));
    Ok(())
}

/// `plan()` either refuses the strategy as an invalid request or returns a plan that holds every invariant.
fn assert_plans_or_rejects(value: &Value) -> std::result::Result<Option<Plan>, TestCaseError> {
    match plan_of(value) {
        Ok(plan) => {
            assert_plan_invariants(&plan)?;
            Ok(Some(plan))
        }
        Err(Error::InvalidRequest { field, .. }) => {
            prop_assert!(field.starts_with("strategy"), "{}", field);
            Ok(None)
        }
        Err(other) => Err(TestCaseError::fail(format!("{value}: {other:?}"))),
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn any_strategy_json() -> impl proptest::strategy::Strategy<Value = Value> {
    let seconds = 0u64..=3_000_000;
    let pct = prop_oneof![
        (1u32..=10_000).prop_map(percent),
        (-1_000i32..=11_000).prop_map(|b| json!(f64::from(b) / 100.0)),
        (-10.0f64..110.0).prop_map(|p| json!(p)),
    ];
    prop_oneof![
        (pct.clone(), seconds.clone())
            .prop_map(|(p, s)| json!({"type": "canary", "percent": p, "bakeSeconds": s})),
        (pct.clone(), seconds.clone())
            .prop_map(|(p, s)| json!({"type": "linear", "percent": p, "intervalSeconds": s})),
        (pct.clone(), 0.5f64..120.0, seconds.clone()).prop_map(|(p, f, s)| json!(
            {"type": "exponential", "startPercent": p, "factor": f, "intervalSeconds": s}
        )),
        proptest::collection::vec((pct, seconds), 0..12).prop_map(|list| {
            let steps: Vec<Value> = list
                .into_iter()
                .map(|(p, s)| json!({"percent": p, "bakeSeconds": s}))
                .collect();
            json!({"type": "steps", "steps": steps})
        }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_strategy_plans_validly_or_is_an_invalid_request(value in any_strategy_json()) {
        assert_plans_or_rejects(&value)?;
    }

    #[test]
    fn valid_canaries_always_plan_exactly(bps in 1u32..FULL_BPS, bake in 1u32..=MAX_TOTAL_SECONDS as u32) {
        let value = json!({"type": "canary", "percent": percent(bps), "bakeSeconds": bake});
        let plan = assert_plans_or_rejects(&value)?;
        prop_assert_eq!(plan.map(|p| pairs(&p)), Some(vec![(bps, bake), (FULL_BPS, 0)]));
    }

    #[test]
    fn linear_plans_exactly_when_within_limits(bps in 1u32..FULL_BPS, interval in 1u32..=100_000) {
        let value = json!({"type": "linear", "percent": percent(bps), "intervalSeconds": interval});
        let partial = (FULL_BPS - 1) / bps; // steps strictly below 100%
        let fits = (partial as usize) < MAX_STEPS
            && u64::from(partial) * u64::from(interval) <= MAX_TOTAL_SECONDS;
        let plan = assert_plans_or_rejects(&value)?;
        prop_assert_eq!(plan.is_some(), fits, "{} partial steps", partial);
        if let Some(plan) = plan {
            prop_assert_eq!(plan.steps.len(), partial as usize + 1);
            prop_assert_eq!(plan.total_seconds(), u64::from(partial) * u64::from(interval));
        }
    }

    #[test]
    fn linear_plans_have_equal_increments_except_the_final_jump(bps in 100u32..FULL_BPS, interval in 1u32..=3600) {
        let value = json!({"type": "linear", "percent": percent(bps), "intervalSeconds": interval});
        let plan = assert_plans_or_rejects(&value)?.expect("within limits");
        let (last, partial) = plan.steps.split_last().unwrap();
        prop_assert!(!partial.is_empty());
        for (i, s) in partial.iter().enumerate() {
            prop_assert_eq!(s.weight_bps, bps * (i as u32 + 1));
            prop_assert_eq!(s.bake_seconds, interval);
        }
        let jump = last.weight_bps - partial.last().unwrap().weight_bps;
        prop_assert!(jump > 0 && jump <= bps, "final jump {} for increments of {}", jump, bps);
    }

    #[test]
    fn exponential_plans_grow_from_the_start_by_at_least_the_factor(
        start in 1u32..FULL_BPS,
        factor in 1.000_001f64..=100.0,
        interval in 1u32..=86_400,
    ) {
        let value = json!({
            "type": "exponential", "startPercent": percent(start), "factor": factor, "intervalSeconds": interval
        });
        if let Some(plan) = assert_plans_or_rejects(&value)? {
            let (_, partial) = plan.steps.split_last().unwrap();
            prop_assert_eq!(partial[0].weight_bps, start);
            // Rounding up and forced progress only ever move a step up: never below the exact growth.
            let mut exact = f64::from(start);
            for s in partial {
                prop_assert!(f64::from(s.weight_bps) >= exact * (1.0 - 1e-12), "{:?} below {}", s, exact);
                exact *= factor;
            }
            // And growth does not stop early: the next step would have reached 100%.
            let top = partial.last().unwrap().weight_bps;
            prop_assert!(exact.ceil() >= f64::from(FULL_BPS) || top + 1 >= FULL_BPS, "stopped at {}", top);
            prop_assert!(partial.iter().all(|s| s.bake_seconds == interval));
        } else {
            // Only the plan limits can refuse well-formed parameters.
            let err = plan_of(&value).unwrap_err();
            prop_assert!(matches!(&err, Error::InvalidRequest { field, .. } if field == "strategy"), "{:?}", err);
        }
    }

    #[test]
    fn increasing_step_lists_plan_as_written_when_within_limits(
        weights in proptest::collection::btree_set(1u32..=FULL_BPS, 1..130),
        bake in 0u32..=30_000,
    ) {
        let weights: Vec<u32> = weights.into_iter().collect();
        let list: Vec<Value> = weights
            .iter()
            .map(|&w| if w == FULL_BPS {
                json!({"percent": 100})
            } else {
                json!({"percent": percent(w), "bakeSeconds": bake})
            })
            .collect();
        let mut expected: Vec<(u32, u32)> = weights
            .iter()
            .filter(|&&w| w < FULL_BPS)
            .map(|&w| (w, bake))
            .collect();
        expected.push((FULL_BPS, 0));
        let fits = expected.len() <= MAX_STEPS
            && (expected.len() as u64 - 1) * u64::from(bake) <= MAX_TOTAL_SECONDS;
        let value = json!({"type": "steps", "steps": list});
        let plan = assert_plans_or_rejects(&value)?;
        prop_assert_eq!(plan.map(|p| pairs(&p)), fits.then_some(expected));
    }

    #[test]
    fn percents_with_more_than_two_decimals_are_refused(bps in 1u32..FULL_BPS, tenth in 1u32..10) {
        // e.g. 12.345: a whole basis point plus a tenth of one.
        let p = (f64::from(bps) * 10.0 + f64::from(tenth)) / 1000.0;
        let value = json!({"type": "canary", "percent": p, "bakeSeconds": 60});
        prop_assert_eq!(rejected_field(&value), "strategy.percent");
    }
}

#[test]
fn check_enforces_the_plan_limits_on_plans_read_from_state() {
    let many = Plan {
        steps: (1..=MAX_STEPS as u32 + 1)
            .map(|i| Step {
                weight_bps: i * 10,
                bake_seconds: 1,
            })
            .chain(std::iter::once(Step {
                weight_bps: FULL_BPS,
                bake_seconds: 0,
            }))
            .collect(),
    };
    assert!(matches!(many.check(), Err(Error::InvalidState { .. })));
    let long = Plan {
        steps: vec![
            Step {
                weight_bps: 100,
                bake_seconds: (MAX_TOTAL_SECONDS + 1) as u32,
            },
            Step {
                weight_bps: FULL_BPS,
                bake_seconds: 0,
            },
        ],
    };
    assert!(matches!(long.check(), Err(Error::InvalidState { .. })));
}
