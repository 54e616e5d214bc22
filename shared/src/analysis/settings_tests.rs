use serde_json::json;

use super::settings::{AnalysisSettings, Compare, WhenInconclusive};

#[test]
fn default_and_a_partial_object_take_the_defaults() {
    let d = AnalysisSettings::from_value(&json!("default")).unwrap();
    assert_eq!(d, AnalysisSettings::default());
    assert_eq!(d.min_invocations, 100);
    assert_eq!(d.confidence, 0.95);
    assert_eq!(d.latency.as_ref().unwrap().stat, "p99");
    let s = AnalysisSettings::from_value(&json!({
        "errorRate": {"maxIncreasePoints": 2.5}, "whenInconclusive": "fail",
        "metrics": [{"name": "checkout-failures", "namespace": "Orders", "metricName": "CheckoutFailed",
            "dimensions": {"Service": "orders", "Version": "${version}"}, "stat": "Sum",
            "compare": "baseline", "maxRatio": 1.5}]
    }))
    .unwrap();
    assert_eq!(s.error_rate.max_increase_points, 2.5);
    assert_eq!(s.when_inconclusive, WhenInconclusive::Fail);
    assert_eq!(s.min_invocations, 100);
    assert_eq!(s.metrics[0].compare, Compare::Baseline);
}

#[test]
fn refusals_name_the_field_and_what_is_valid() {
    let refuse = |v: serde_json::Value| AnalysisSettings::from_value(&v).unwrap_err().to_string();
    let metric = |extra: serde_json::Value| {
        let mut m = json!({"name": "m", "namespace": "N", "metricName": "M",
            "dimensions": {"Version": "${version}"}, "stat": "Sum", "compare": "baseline", "maxRatio": 1.5});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        json!({"metrics": [m]})
    };
    insta::assert_snapshot!([
        refuse(json!("on")),
        refuse(json!({"confidence": 1.0})),
        refuse(json!({"confidence": "high"})),
        refuse(json!({"errorRate": {"maxIncreasePoints": -1}})),
        refuse(json!({"errorRate": {"maxIncrease": 1}})),
        refuse(json!({"latency": {"stat": "p100"}})),
        refuse(json!({"latency": {"maxRatio": 0.9}})),
        refuse(json!({"whenInconclusive": "retry"})),
        refuse(json!({"intervalSeconds": 10})),
        refuse(metric(json!({"dimensions": {"Version": "7"}}))),
        refuse(metric(json!({"compare": "threshold"}))),
        refuse(metric(json!({"stat": "Median"}))),
    ]
    .join("\n"));
}
