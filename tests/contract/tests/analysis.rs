//! Canary analysis in whole executions of the ASL (every Task calling the real handler over the fake) and in
//! the local driver: the same verdicts, alias writes and notifications; the Advance → Bake loop that extends
//! a bake or waits it in `intervalSeconds` chunks costs 3 transitions a turn, and nothing without either.

use serde_json::{json, Value};
use shifter::analysis::judge::VersionMetrics;
use shifter::domain::Routing;
use shifter::driver::{LocalDriver, Outcome, Silent};
use shifter::fake::{FakeAws, FakeClock, Op};
use shifter::notification::EventType;
use shifter::request::RolloutRequest;
use shifter_contract_tests::Status;
use shifter_lambda::testing::{world, ALIAS, FUNCTION, TOPIC};

mod common;
use common::*;

/// A canary of 10% for 5 minutes (2 steps), with no alarm: the analysis alone judges it.
fn canary(analysis: Value) -> Value {
    json!({"functionName": FUNCTION, "alias": ALIAS, "targetVersion": "2",
        "strategy": "Canary10Percent5Minutes", "notificationTopicArn": TOPIC, "analysis": analysis})
}

fn counts(invocations: u64, errors: u64) -> VersionMetrics {
    VersionMetrics {
        invocations,
        errors,
        latency_ms: Some(100.0),
        ..VersionMetrics::default()
    }
}

/// What CloudWatch holds for both versions over any window (the interpreter does not move the clock).
fn metrics(aws: &FakeAws, old: VersionMetrics, new: VersionMetrics) {
    aws.set_version_metrics(FUNCTION, ALIAS, "1", old);
    aws.set_version_metrics(FUNCTION, ALIAS, "2", new);
}

async fn local(req: &Value, setup: impl Fn(&FakeAws)) -> (FakeAws, Outcome) {
    let aws = world();
    setup(&aws);
    let spec = RolloutRequest::from_value(req.clone())
        .unwrap()
        .validate()
        .unwrap();
    let clock = FakeClock::default();
    let outcome = LocalDriver::new(&aws, &clock)
        .run(&spec, "r-1", &mut Silent)
        .await;
    (aws, outcome)
}

#[tokio::test]
async fn a_bad_canary_rolls_back_in_both_drivers_with_the_numbers_in_the_cause() {
    let req = canary(json!("default"));
    let setup = |aws: &FakeAws| metrics(aws, counts(4500, 20), counts(500, 50));
    let machine = world();
    setup(&machine);
    let execution = run(&machine, req.clone()).await;
    let Status::Failed { error, cause } = &execution.status else {
        panic!("{:?}", execution.status)
    };
    assert_eq!(error, "RolledBack");
    assert!(
        cause.starts_with("canary analysis failed (v2 vs v1 over ")
            && cause.contains("errors: v2 10.0% (50/500) vs v1 0.4% (20/4500)"),
        "{cause}"
    );
    assert_eq!(
        tail(&execution, 4),
        ["Advance", "AdvanceChoice", "Rollback", "RolledBack"]
    );
    let (local, outcome) = local(&req, setup).await;
    assert!(matches!(outcome, Outcome::RolledBack { .. }), "{outcome:?}");
    assert_eq!(
        machine.history(FUNCTION, ALIAS),
        local.history(FUNCTION, ALIAS)
    );
    assert_eq!(
        machine.history(FUNCTION, ALIAS),
        [
            Routing::single("1"),
            Routing::split("1", "2", 1000),
            Routing::single("1")
        ]
    );
    assert_eq!(events(&machine), events(&local));
    assert_eq!(
        events(&machine),
        [
            (EventType::RolloutStarted, 0.0),
            (EventType::TrafficShifted, 10.0),
            (EventType::AnalysisFailed, 10.0),
            (EventType::RolledBack, 0.0),
        ]
    );
    assert_eq!(machine.calls(Op::GetMetricData), 1);
}

#[tokio::test]
async fn a_good_canary_promotes_in_both_drivers_with_no_added_transition() {
    let req = canary(json!("default"));
    let setup = |aws: &FakeAws| metrics(aws, counts(4500, 20), counts(500, 2));
    let machine = world();
    setup(&machine);
    let execution = run(&machine, req.clone()).await;
    assert!(
        matches!(execution.status, Status::Succeeded(_)),
        "{:?}",
        execution.status
    );
    // Two steps: 3 × 2 + 7, as without analysis.
    assert_eq!(execution.transitions, 3 * 2 + 7, "{:?}", execution.path);
    assert_eq!(execution.waited_seconds, 300);
    let (local, outcome) = local(&req, setup).await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    assert_eq!(
        machine.history(FUNCTION, ALIAS),
        local.history(FUNCTION, ALIAS)
    );
    assert_eq!(events(&machine), events(&local));
    assert!(events(&machine).contains(&(EventType::AnalysisPassed, 10.0)));
}

#[tokio::test]
async fn a_quiet_canary_extends_its_bake_alike_in_both_drivers() {
    for (when, promoted) in [("extend", true), ("pass", true), ("fail", false)] {
        let req = canary(json!({"whenInconclusive": when, "maxExtensionSeconds": 180}));
        let machine = world();
        let execution = run(&machine, req.clone()).await;
        let (local, outcome) = local(&req, |_| {}).await;
        assert_eq!(
            matches!(execution.status, Status::Succeeded(_)),
            promoted,
            "{when}: {:?}",
            execution.status
        );
        assert_eq!(
            matches!(outcome, Outcome::Promoted { .. }),
            promoted,
            "{when}: {outcome:?}"
        );
        assert_eq!(
            machine.history(FUNCTION, ALIAS),
            local.history(FUNCTION, ALIAS),
            "{when}"
        );
        assert_eq!(events(&machine), events(&local), "{when}");
        let inconclusive = events(&machine)
            .iter()
            .filter(|(e, _)| *e == EventType::AnalysisInconclusive)
            .count();
        if when == "extend" {
            // Three extensions of 60 s, each one more Bake, Advance and AdvanceChoice; the fourth analysis
            // has no extension left and passes.
            assert_eq!(inconclusive, 4);
            assert_eq!(execution.waited_seconds, 300 + 180);
            assert_eq!(execution.transitions, 3 * 2 + 7 + 3 * 3);
        } else {
            assert_eq!(inconclusive, 1, "{when}");
            assert_eq!(execution.waited_seconds, 300, "{when}");
        }
    }
}

#[tokio::test]
async fn with_an_interval_the_bake_is_waited_in_chunks_and_a_failure_stops_it_early() {
    let good = canary(json!({"intervalSeconds": 60}));
    let machine = world();
    metrics(&machine, counts(4500, 20), counts(500, 2));
    let execution = run(&machine, good).await;
    assert!(matches!(execution.status, Status::Succeeded(_)));
    assert_eq!(execution.waited_seconds, 300);
    // Five chunks of 60 s instead of one bake: four more turns of the loop.
    assert_eq!(execution.transitions, 3 * 2 + 7 + 3 * 4);
    assert_eq!(machine.calls(Op::GetMetricData), 5);

    let bad = canary(json!({"intervalSeconds": 60}));
    let machine = world();
    metrics(&machine, counts(4500, 20), counts(500, 50));
    let execution = run(&machine, bad).await;
    assert!(matches!(execution.status, Status::Failed { .. }));
    assert_eq!(
        execution.waited_seconds, 60,
        "stopped after the first chunk"
    );
}
