use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::judge::{judge, Outcome, VersionMetrics};
use super::settings::AnalysisSettings;

fn metrics(invocations: u64, errors: u64, latency_ms: f64) -> VersionMetrics {
    VersionMetrics {
        invocations,
        errors,
        throttles: 0,
        latency_ms: Some(latency_ms),
        custom: BTreeMap::new(),
    }
}

fn defaults() -> AnalysisSettings {
    AnalysisSettings::default()
}

#[test]
fn a_bad_canary_fails_and_the_evidence_names_the_numbers() {
    // v2 fails 10%, v1 fails 0.5%: the bad canary.
    let v = judge(
        &defaults(),
        "2",
        &metrics(400, 40, 120.0),
        "1",
        &metrics(3600, 18, 118.0),
    );
    assert_eq!(v.outcome, Outcome::Failed);
    insta::assert_snapshot!(v.evidence());
}

#[test]
fn a_good_canary_passes_every_check() {
    let v = judge(
        &defaults(),
        "2",
        &metrics(400, 2, 121.0),
        "1",
        &metrics(3600, 18, 118.0),
    );
    assert_eq!(v.outcome, Outcome::Passed, "{}", v.evidence());
    assert_eq!(v.checks.len(), 3);
}

#[test]
fn a_quiet_canary_is_inconclusive_never_healthy() {
    let v = judge(
        &defaults(),
        "2",
        &metrics(12, 0, 100.0),
        "1",
        &metrics(3600, 18, 118.0),
    );
    assert_eq!(v.outcome, Outcome::Inconclusive, "{}", v.evidence());
    let no_duration = VersionMetrics {
        latency_ms: None,
        ..metrics(400, 0, 0.0)
    };
    let v = judge(
        &defaults(),
        "2",
        &no_duration,
        "1",
        &metrics(3600, 18, 118.0),
    );
    assert_eq!(v.outcome, Outcome::Inconclusive, "{}", v.evidence());
}

#[test]
fn slow_or_throttled_versions_fail() {
    let v = judge(
        &defaults(),
        "2",
        &metrics(400, 0, 200.0),
        "1",
        &metrics(3600, 0, 100.0),
    );
    assert_eq!(v.outcome, Outcome::Failed);
    assert!(v
        .evidence()
        .starts_with("latency p99: v2 200 ms vs v1 100 ms, ratio 2.00 > 1.25 allowed → Failed"));
    let throttled = VersionMetrics {
        throttles: 3,
        ..metrics(400, 0, 100.0)
    };
    let v = judge(&defaults(), "2", &throttled, "1", &metrics(3600, 0, 100.0));
    assert_eq!(v.outcome, Outcome::Failed);
    assert!(
        v.evidence()
            .starts_with("throttles: v2 3 > 0 allowed → Failed"),
        "{}",
        v.evidence()
    );
}

#[test]
fn a_custom_metric_against_the_baseline_fails_or_passes_by_its_ratio() {
    let settings = AnalysisSettings::from_value(&json!({"metrics": [{"name": "checkout-failures",
        "namespace": "Orders", "metricName": "CheckoutFailed", "dimensions": {"Version": "${version}"},
        "stat": "Sum", "compare": "baseline", "maxRatio": 1.5}]}))
    .unwrap();
    let with = |value: Option<f64>| VersionMetrics {
        custom: BTreeMap::from([("checkout-failures".to_string(), value)]),
        ..metrics(400, 0, 100.0)
    };
    let v = judge(&settings, "2", &with(Some(30.0)), "1", &with(Some(10.0)));
    assert_eq!(v.outcome, Outcome::Failed);
    assert!(v
        .evidence()
        .starts_with("checkout-failures: v2 30 vs v1 10, ratio 3.00 > 1.50 allowed → Failed"));
    let v = judge(&settings, "2", &with(Some(12.0)), "1", &with(Some(10.0)));
    assert_eq!(v.outcome, Outcome::Passed);
    let v = judge(&settings, "2", &with(None), "1", &with(Some(10.0)));
    assert_eq!(v.outcome, Outcome::Inconclusive);
}

fn rank(o: Outcome) -> u8 {
    match o {
        Outcome::Passed => 0,
        Outcome::Inconclusive | Outcome::Error => 1,
        Outcome::Failed => 2,
    }
}

proptest! {
    #[test]
    fn more_errors_on_the_new_version_never_improve_the_verdict(
        n1 in 0u64..3000, n0 in 0u64..3000, e1 in 0u64..3000, e0 in 0u64..3000, more in 1u64..300,
        l1 in 1.0f64..500.0, l0 in 1.0f64..500.0,
    ) {
        let (e1, e0) = (e1.min(n1), e0.min(n0));
        let before = judge(&defaults(), "2", &metrics(n1, e1, l1), "1", &metrics(n0, e0, l0));
        let after = judge(&defaults(), "2", &metrics(n1, (e1 + more).min(n1), l1), "1", &metrics(n0, e0, l0));
        prop_assert!(rank(after.outcome) >= rank(before.outcome), "{}\n->\n{}", before.evidence(), after.evidence());
    }
}

#[tokio::test]
async fn over_the_fake_scripted_versions_are_judged_and_an_unscripted_one_has_no_data() {
    use super::metrics::{MetricsQuery, MetricsSource};
    let aws = crate::fake::FakeAws::sample();
    aws.set_version_metrics("orders", "live", "1", metrics(3600, 18, 118.0));
    aws.set_version_metrics("orders", "live", "2", metrics(400, 40, 120.0));
    let q = MetricsQuery {
        function_name: "orders".into(),
        alias: "live".into(),
        versions: vec!["1".into(), "2".into(), "3".into()],
        start_ms: 0,
        end_ms: 300_000,
        latency_stat: Some("p99".into()),
        custom: vec![],
    };
    let m = aws.version_metrics(&q).await.unwrap();
    assert_eq!(
        judge(&defaults(), "2", &m["2"], "1", &m["1"]).outcome,
        Outcome::Failed
    );
    assert_eq!(m["3"], VersionMetrics::default());
    assert_eq!(
        judge(&defaults(), "3", &m["3"], "1", &m["1"]).outcome,
        Outcome::Inconclusive
    );
    aws.fail_next(
        crate::fake::Op::GetMetricData,
        crate::Error::Transient {
            operation: "GetMetricData".into(),
            message: "throttled".into(),
        },
        1,
    );
    assert!(aws.version_metrics(&q).await.unwrap_err().is_transient());
}
