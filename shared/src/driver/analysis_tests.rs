//! Canary analysis in the local driver, over the fake's per-version metrics and a fake clock: every verdict
//! path (failed, passed, inconclusive extended then passed or failed, unreadable, custom metric, during a
//! bake), with no alarm configured.

use serde_json::json;

use super::*;
use crate::analysis::judge::VersionMetrics;
use crate::domain::Routing;
use crate::fake::sample::{ALIAS as A, FUNCTION as F, TOPIC};
use crate::fake::{FakeAws, FakeClock, Op};
use crate::notification::EventType::{self, *};
use crate::request::RolloutRequest;

fn spec(analysis: serde_json::Value) -> RolloutSpec {
    let req = json!({"functionName": F, "alias": A, "targetVersion": "2",
        "strategy": "Canary10Percent5Minutes", "notificationTopicArn": TOPIC, "analysis": analysis});
    RolloutRequest::from_value(req).unwrap().validate().unwrap()
}

/// Per-minute traffic: `invocations` with `errors`, and a p99 of `p99_ms`.
fn rate(invocations: u64, errors: u64, p99_ms: f64) -> VersionMetrics {
    VersionMetrics {
        invocations,
        errors,
        latency_ms: Some(p99_ms),
        ..VersionMetrics::default()
    }
}

/// The old version at 90% of 1,000 invocations a minute, the new one at 10%.
fn traffic(aws: &FakeAws, old: VersionMetrics, new: VersionMetrics) {
    aws.set_version_rate(F, A, "1", old);
    aws.set_version_rate(F, A, "2", new);
}

#[derive(Default)]
struct Seen {
    events: Vec<EventType>,
    evidence: Vec<String>,
}

impl Observer for Seen {
    fn observe(&mut self, p: Progress<'_>) {
        if let Progress::Lifecycle(n) = p {
            self.events.push(n.event_type);
            if let Some(a) = &n.analysis {
                self.evidence.push(a.evidence.clone());
            }
        }
    }
}

async fn run(aws: &FakeAws, spec: &RolloutSpec) -> (Outcome, Seen, u64) {
    let clock = FakeClock::default();
    let start = clock.now_millis();
    let mut seen = Seen::default();
    let outcome = LocalDriver::new(aws, &clock)
        .run(spec, "r-1", &mut seen)
        .await;
    (outcome, seen, (clock.now_millis() - start) / 1000)
}

fn rolled_back_reason(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::RolledBack { reason, .. } => reason,
        other => panic!("expected a rollback, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bad_canary_rolls_back_with_no_alarm_and_the_reason_names_the_numbers() {
    let aws = FakeAws::sample();
    traffic(&aws, rate(900, 4, 120.0), rate(100, 10, 125.0));
    let (outcome, seen, elapsed) = run(&aws, &spec(json!("default"))).await;
    let reason = rolled_back_reason(&outcome);
    assert!(
        reason.starts_with("canary analysis failed (v2 vs v1 over 300 s): errors: v2 10.0% (50/500) vs v1 0.4% (20/4500)"),
        "{reason}"
    );
    assert!(reason.contains("→ Failed"), "{reason}");
    assert_eq!(
        aws.history(F, A),
        [
            Routing::single("1"),
            Routing::split("1", "2", 1000),
            Routing::single("1")
        ]
    );
    assert_eq!(
        seen.events,
        [RolloutStarted, TrafficShifted, AnalysisFailed, RolledBack]
    );
    assert_eq!(elapsed, 300, "judged at the end of the bake");
    // One GetMetricData call: the only check with both versions serving.
    assert_eq!(aws.calls(Op::GetMetricData), 1);
    let published: Vec<_> = aws.notifications().into_iter().map(|(_, n)| n).collect();
    let failed = published
        .iter()
        .find(|n| n.event_type == AnalysisFailed)
        .unwrap();
    assert_eq!(failed.analysis.as_ref().unwrap().new_invocations, 500);
    assert!(failed.reason.as_ref().unwrap().contains("(50/500)"));
}

#[tokio::test]
async fn a_good_canary_promotes_after_a_passed_analysis() {
    let aws = FakeAws::sample();
    traffic(&aws, rate(900, 4, 120.0), rate(100, 1, 130.0));
    let (outcome, seen, elapsed) = run(&aws, &spec(json!("default"))).await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    assert_eq!(
        seen.events,
        [
            RolloutStarted,
            TrafficShifted,
            AnalysisPassed,
            TrafficShifted,
            RolloutSucceeded
        ]
    );
    assert_eq!(elapsed, 300);
    assert!(seen.evidence[0].contains("→ Passed"), "{:?}", seen.evidence);
    assert_eq!(aws.alias(F, A).routing, Routing::single("2"));
}

#[tokio::test]
async fn a_slow_new_version_fails_on_latency() {
    let aws = FakeAws::sample();
    traffic(&aws, rate(900, 4, 120.0), rate(100, 0, 400.0));
    let (outcome, _, _) = run(&aws, &spec(json!("default"))).await;
    let reason = rolled_back_reason(&outcome);
    assert!(
        reason.contains("latency p99: v2 400 ms vs v1 120 ms, ratio 3.33 > 1.25 allowed → Failed"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_quiet_canary_is_extended_up_to_its_maximum_then_passes() {
    let aws = FakeAws::sample();
    let (outcome, seen, elapsed) = run(
        &aws,
        &spec(json!({"maxExtensionSeconds": 180, "latency": null})),
    )
    .await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    // 300 s of bake, then three extensions of 60 s; the fourth analysis has no extension left and passes.
    assert_eq!(elapsed, 300 + 180);
    assert_eq!(
        seen.events,
        [
            RolloutStarted,
            TrafficShifted,
            AnalysisInconclusive,
            AnalysisInconclusive,
            AnalysisInconclusive,
            AnalysisInconclusive,
            TrafficShifted,
            RolloutSucceeded
        ]
    );
    assert!(
        seen.evidence[0].contains("Inconclusive"),
        "{:?}",
        seen.evidence
    );
}

#[tokio::test]
async fn a_quiet_canary_fails_when_told_to() {
    let aws = FakeAws::sample();
    let (outcome, seen, elapsed) = run(&aws, &spec(json!({"whenInconclusive": "fail"}))).await;
    let reason = rolled_back_reason(&outcome);
    assert!(
        reason.starts_with("canary analysis inconclusive (whenInconclusive: fail)"),
        "{reason}"
    );
    assert_eq!(elapsed, 300);
    assert_eq!(
        seen.events,
        [
            RolloutStarted,
            TrafficShifted,
            AnalysisInconclusive,
            RolledBack
        ]
    );
}

#[tokio::test]
async fn a_slow_trickle_of_traffic_is_judged_once_the_extension_brings_enough() {
    let aws = FakeAws::sample();
    // 15 invocations a minute: 75 after the bake, 90 a minute later, 105 (over minInvocations) after two.
    traffic(&aws, rate(150, 0, 100.0), rate(15, 0, 100.0));
    let (outcome, seen, elapsed) = run(&aws, &spec(json!("default"))).await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    assert_eq!(elapsed, 300 + 120);
    let analyses: Vec<_> = seen
        .events
        .iter()
        .filter(|e| e.as_str().starts_with("Analysis"))
        .collect();
    assert_eq!(
        analyses,
        [
            &AnalysisInconclusive,
            &AnalysisInconclusive,
            &AnalysisPassed
        ]
    );
}

#[tokio::test]
async fn unreadable_metrics_count_as_inconclusive_and_never_fail_the_rollout() {
    let aws = FakeAws::sample();
    traffic(&aws, rate(900, 4, 120.0), rate(100, 50, 125.0));
    aws.fail_next(
        Op::GetMetricData,
        crate::Error::Transient {
            operation: "GetMetricData".into(),
            message: "Throttling: Rate exceeded".into(),
        },
        100,
    );
    let (outcome, seen, _) = run(&aws, &spec(json!({"whenInconclusive": "pass"}))).await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    let evidence = &seen.evidence[0];
    assert!(
        evidence.starts_with("metrics could not be read: ")
            && evidence.contains("Rate exceeded")
            && evidence.ends_with("→ Error (counts as Inconclusive)"),
        "{evidence}"
    );
    assert_eq!(
        seen.events,
        [
            RolloutStarted,
            TrafficShifted,
            AnalysisInconclusive,
            TrafficShifted,
            RolloutSucceeded
        ]
    );
    assert_eq!(
        aws.calls(Op::GetMetricData),
        crate::usecase::METRICS_ATTEMPTS
    );
}

#[tokio::test]
async fn a_custom_metric_per_version_fails_the_rollout() {
    let aws = FakeAws::sample();
    let with_failures = |n: f64, m: VersionMetrics| VersionMetrics {
        custom: [("checkout-failures".to_string(), Some(n))].into(),
        ..m
    };
    traffic(
        &aws,
        with_failures(10.0, rate(900, 4, 120.0)),
        with_failures(30.0, rate(100, 0, 120.0)),
    );
    let analysis = json!({"metrics": [{"name": "checkout-failures", "namespace": "Orders",
        "metricName": "CheckoutFailed", "dimensions": {"Service": "orders", "Version": "${version}"},
        "stat": "Sum", "compare": "baseline", "maxRatio": 1.5}]});
    let (outcome, _, _) = run(&aws, &spec(analysis)).await;
    let reason = rolled_back_reason(&outcome);
    assert!(
        reason.contains("checkout-failures: v2 30 vs v1 10, ratio 3.00 > 1.50 allowed → Failed"),
        "{reason}"
    );
}

#[tokio::test]
async fn with_an_interval_a_bad_canary_is_caught_during_the_bake() {
    let aws = FakeAws::sample();
    traffic(&aws, rate(900, 4, 120.0), rate(100, 10, 125.0));
    let (outcome, seen, elapsed) = run(&aws, &spec(json!({"intervalSeconds": 60}))).await;
    rolled_back_reason(&outcome);
    assert_eq!(
        elapsed, 60,
        "caught after one interval, not at the bake's end"
    );
    assert_eq!(
        seen.events,
        [RolloutStarted, TrafficShifted, AnalysisFailed, RolledBack]
    );
}

#[tokio::test]
async fn with_an_interval_passing_checks_during_the_bake_are_quiet() {
    let aws = FakeAws::sample();
    traffic(&aws, rate(900, 4, 120.0), rate(100, 0, 120.0));
    let (outcome, seen, elapsed) = run(&aws, &spec(json!({"intervalSeconds": 60}))).await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    assert_eq!(elapsed, 300);
    // Five analyses (at 60, 120, 180, 240 and 300 s): only the one that ends the bake is an event.
    assert_eq!(aws.calls(Op::GetMetricData), 5);
    assert_eq!(
        seen.events,
        [
            RolloutStarted,
            TrafficShifted,
            AnalysisPassed,
            TrafficShifted,
            RolloutSucceeded
        ]
    );
}

#[test]
fn analysis_needs_a_step_where_both_versions_serve() {
    let req = json!({"functionName": F, "alias": A, "targetVersion": "2", "strategy": "AllAtOnce",
        "analysis": "default"});
    let error = RolloutRequest::from_value(req)
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(error.error_type(), "InvalidRequest");
    assert!(error.to_string().contains("analysis"), "{error}");
}
