use serde_json::json;

use super::properties::AliasProperties;
use crate::request::Target;

fn props(v: serde_json::Value) -> crate::Result<AliasProperties> {
    AliasProperties::from_value(&v)
}

#[test]
fn pascal_case_properties_as_cloudformation_sends_them_make_a_request() {
    // CloudFormation sends every scalar as a string.
    let p = props(json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:shifter-alias-provider",
        "ServiceTimeout": "1800",
        "FunctionName": "orders",
        "AliasName": "live",
        "Version": "7",
        "Strategy": {"Type": "canary", "Percent": "10", "BakeSeconds": "300"},
        "Alarms": ["OrdersErrors"],
        "Hooks": {"PreTraffic": "orders-smoke"},
        "InsufficientData": "Unhealthy",
        "RetainOnDelete": "true"
    }))
    .unwrap();
    assert_eq!(p.function_name(), "orders");
    assert_eq!(p.alias(), "live");
    assert_eq!(p.version, "7");
    assert_eq!(
        p.spec.target,
        Target::Version {
            version: "7".into()
        }
    );
    assert_eq!(p.spec.plan.total_seconds(), 300);
    assert_eq!(p.spec.alarms, vec!["OrdersErrors".to_string()]);
    assert_eq!(p.spec.hooks.pre_traffic.as_deref(), Some("orders-smoke"));
    assert_eq!(
        p.spec.insufficient_data,
        crate::request::InsufficientData::Unhealthy
    );
    assert!(p.retain_on_delete);
    assert_eq!(p.service_timeout_seconds, 1800);
}

#[test]
fn analysis_as_cloudformation_sends_it_keeps_dimension_names_and_values() {
    let p = props(json!({
        "FunctionName": "orders", "AliasName": "live", "Version": "7", "Strategy": "Canary10Percent5Minutes",
        "Analysis": {
            "ErrorRate": {"MaxIncreasePoints": "2.5"},
            "Latency": {"Stat": "p90", "MaxRatio": "1.5"},
            "MinInvocations": "200",
            "WhenInconclusive": "fail",
            "Metrics": [{"Name": "checkout-failures", "Namespace": "Orders", "MetricName": "CheckoutFailed",
                "Dimensions": {"Service": "orders", "Version": "${version}", "Shard": "7"},
                "Stat": "Sum", "Compare": "threshold", "Max": "5"}]
        }
    }))
    .unwrap();
    let a = p.spec.analysis.expect("analysis");
    assert_eq!(a.error_rate.max_increase_points, 2.5);
    assert_eq!(a.latency.unwrap().max_ratio, 1.5);
    assert_eq!(a.min_invocations, 200);
    assert_eq!(
        a.when_inconclusive,
        crate::analysis::settings::WhenInconclusive::Fail
    );
    let m = &a.metrics[0];
    assert_eq!(m.metric_name, "CheckoutFailed");
    assert_eq!(
        m.dimensions["Shard"], "7",
        "a dimension value stays a string"
    );
    assert!(
        m.dimensions.contains_key("Service"),
        "dimension names are kept"
    );
    assert_eq!(m.max, Some(5.0));
    let default = props(
        json!({"FunctionName": "orders", "AliasName": "live", "Version": "7",
        "Strategy": "Canary10Percent5Minutes", "Analysis": "default"}),
    )
    .unwrap();
    assert_eq!(
        default.spec.analysis,
        Some(crate::analysis::settings::AnalysisSettings::default())
    );
    let bad = props(
        json!({"FunctionName": "orders", "AliasName": "live", "Version": "7",
        "Strategy": "Canary10Percent5Minutes", "Analysis": {"Confidence": "2"}}),
    )
    .unwrap_err();
    assert!(
        bad.to_string()
            .contains("Properties.Analysis.confidence: must be above 0.5"),
        "{bad}"
    );
}

#[test]
fn camel_case_properties_and_a_preset_work_too_with_the_defaults() {
    let p = props(json!({
        "functionName": "orders", "alias": "live", "targetVersion": "3",
        "strategy": "canary10percent5minutes"
    }))
    .unwrap();
    assert_eq!(p.spec.plan.total_seconds(), 300);
    assert!(!p.retain_on_delete);
    assert_eq!(p.service_timeout_seconds, 3600);
}

fn refusal(v: serde_json::Value) -> String {
    props(v).unwrap_err().to_string()
}

#[test]
fn refusals_name_the_property_as_the_template_spells_it() {
    let base = json!({"FunctionName": "orders", "AliasName": "live", "Version": "7", "Strategy": "AllAtOnce"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    insta::assert_snapshot!([
        refusal(without("Version")),
        refusal(without("AliasName")),
        refusal(with(
            "Strategy",
            json!({"Type": "canary", "Percent": "150", "BakeSeconds": "60"})
        )),
        refusal(with("Strategy", json!("Canary99"))),
        refusal(with("Versoin", json!("7"))),
        refusal(with("version", json!("8"))),
        refusal(with("Version", json!("$LATEST"))),
        refusal(with("CodeSha256", json!("abc"))),
        refusal(with("RetainOnDelete", json!("yes"))),
        refusal(with("ServiceTimeout", json!("7200"))),
        refusal(json!("orders")),
    ]
    .join("\n"));
}

#[test]
fn a_version_arn_as_sam_refs_it_gives_its_version_for_the_same_function() {
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:orders:7";
    for function in [
        "orders",
        "arn:aws:lambda:us-east-1:123456789012:function:orders",
    ] {
        let p = props(json!({"FunctionName": function, "AliasName": "live", "Version": arn, "Strategy": "AllAtOnce"}))
            .unwrap();
        assert_eq!(p.version, "7");
        assert_eq!(
            p.spec.target,
            Target::Version {
                version: "7".into()
            }
        );
    }
    let other = refusal(
        json!({"FunctionName": "billing", "AliasName": "live", "Version": arn, "Strategy": "AllAtOnce"}),
    );
    assert_eq!(
        other,
        "invalid request: Properties.Version: arn:aws:lambda:us-east-1:123456789012:function:orders:7 is a version of \
         another function than FunctionName billing"
    );
    let garbled = refusal(
        json!({"FunctionName": "orders", "AliasName": "live", "Version": "arn:aws:s3:::b", "Strategy": "AllAtOnce"}),
    );
    assert!(
        garbled.starts_with("invalid request: Properties.Version: must be a version number"),
        "{garbled}"
    );
}
