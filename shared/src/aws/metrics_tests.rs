//! GetMetricData against mocked clients: one call for every query of a check, Lambda's dimensions, the
//! period, pages followed, and missing data never read as healthy.

use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::MetricDataResult;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

use super::test_support::lambda_ports;
use super::AwsPorts;
use crate::analysis::metrics::{MetricsQuery, MetricsSource};
use crate::analysis::settings::{Compare, CustomMetric};

fn ports(rules: &[&Rule]) -> AwsPorts {
    let mut p = lambda_ports(&[]);
    p.cloudwatch = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, rules);
    p
}

fn query(custom: Vec<CustomMetric>) -> MetricsQuery {
    MetricsQuery {
        function_name: "orders".into(),
        alias: "live".into(),
        versions: vec!["1".into(), "2".into()],
        start_ms: 1_700_000_000_000,
        end_ms: 1_700_000_000_000 + 5 * 60_000 + 1,
        latency_stat: Some("p99".into()),
        custom,
    }
}

fn result(id: &str, values: &[f64]) -> MetricDataResult {
    MetricDataResult::builder()
        .id(id)
        .set_values(Some(values.to_vec()))
        .build()
}

#[tokio::test]
async fn one_call_reads_every_version_with_lambdas_dimensions_and_follows_pages() {
    let first = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| {
            let qs = r.metric_data_queries();
            let inv2 = qs.iter().find(|q| q.id() == Some("v1_inv"));
            let dims: Vec<(String, String)> = inv2
                .and_then(|q| q.metric_stat())
                .and_then(|s| s.metric())
                .map(|m| {
                    m.dimensions()
                        .iter()
                        .map(|d| (d.name().unwrap_or("").to_string(), d.value().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default();
            qs.len() == 10 // 2 versions × (Invocations, Errors, Throttles, Duration, one custom metric)
                && r.next_token().is_none()
                && dims
                    == vec![
                        ("FunctionName".to_string(), "orders".to_string()),
                        ("Resource".to_string(), "orders:live".to_string()),
                        ("ExecutedVersion".to_string(), "2".to_string()),
                    ]
                && qs.iter().all(|q| q.metric_stat().and_then(|s| s.period()) == Some(360))
                && qs.iter().any(|q| {
                    q.id() == Some("v1_c0")
                        && q.metric_stat().and_then(|s| s.metric()).is_some_and(|m| {
                            m.dimensions().iter().any(|d| d.name() == Some("Version") && d.value() == Some("2"))
                        })
                })
        })
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(result("v0_inv", &[3000.0]))
                .metric_data_results(result("v0_err", &[15.0]))
                .metric_data_results(result("v1_inv", &[300.0]))
                .next_token("page-2")
                .build()
        });
    let second = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            GetMetricDataOutput::builder()
                .metric_data_results(result("v1_inv", &[100.0]))
                .metric_data_results(result("v1_err", &[40.0]))
                .metric_data_results(result("v0_dur", &[110.0]))
                .metric_data_results(result("v1_dur", &[140.0, 180.0]))
                .metric_data_results(result("v1_c0", &[7.0]))
                .build()
        });
    let custom = CustomMetric {
        name: "checkout-failures".into(),
        namespace: "Orders".into(),
        metric_name: "CheckoutFailed".into(),
        dimensions: [("Version".to_string(), "${version}".to_string())].into(),
        stat: "Sum".into(),
        compare: Compare::Baseline,
        max_ratio: Some(1.5),
        max: None,
    };
    let m = ports(&[&first, &second])
        .version_metrics(&query(vec![custom]))
        .await
        .unwrap();
    let (old, new) = (&m["1"], &m["2"]);
    assert_eq!((old.invocations, old.errors, old.throttles), (3000, 15, 0));
    assert_eq!((new.invocations, new.errors), (400, 40));
    assert_eq!(old.latency_ms, Some(110.0));
    // Two data points of a percentile: the worse one.
    assert_eq!(new.latency_ms, Some(180.0));
    assert_eq!(new.custom["checkout-failures"], Some(7.0));
    // The old version had no data point for the custom metric: no value, never 0.
    assert_eq!(old.custom["checkout-failures"], None);
}

#[tokio::test]
async fn a_version_with_no_data_is_zero_invocations_and_no_latency() {
    let empty = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .then_output(|| GetMetricDataOutput::builder().build());
    let m = ports(&[&empty])
        .version_metrics(&query(vec![]))
        .await
        .unwrap();
    for v in ["1", "2"] {
        assert_eq!(m[v].invocations, 0);
        assert_eq!(m[v].latency_ms, None);
    }
}

#[test]
fn the_period_covers_the_window_in_whole_minutes() {
    let mut q = query(vec![]);
    q.end_ms = q.start_ms + 30_000;
    assert_eq!(q.period_seconds(), 60);
    q.end_ms = q.start_ms + 600_000;
    assert_eq!(q.period_seconds(), 600);
}
