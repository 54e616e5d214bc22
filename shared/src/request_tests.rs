use super::*;
use crate::plan::Step;
use serde_json::json;
use std::path::{Path, PathBuf};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:shifter-notifications";
const SHA: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

/// A minimal valid request.
fn base() -> Value {
    json!({
        "functionName": "orders",
        "alias": "live",
        "targetVersion": "7",
        "strategy": "Canary10Percent5Minutes"
    })
}

/// `base()` with one top-level field set (or removed, for `Value::Null` on an optional field use `without`).
fn with(key: &str, value: Value) -> Value {
    let mut v = base();
    v[key] = value;
    v
}

fn without(key: &str) -> Value {
    let mut v = base();
    v.as_object_mut().unwrap().remove(key);
    v
}

fn validate(value: &Value) -> Result<RolloutSpec> {
    RolloutRequest::from_value(value.clone())?.validate()
}

/// The `field` of the InvalidRequest (from parsing or validation); panics on success or another error.
fn invalid_field(value: &Value) -> String {
    match validate(value) {
        Err(Error::InvalidRequest { field, message }) => {
            assert!(!message.is_empty(), "{value}: empty message");
            field
        }
        other => panic!("{value} should be an invalid request, got {other:?}"),
    }
}

fn parse_error(text: &str) -> (String, String) {
    match RolloutRequest::from_json_str(text) {
        Err(Error::InvalidRequest { field, message }) => (field, message),
        other => panic!("{text} should not parse, got {other:?}"),
    }
}

fn assert_valid(value: &Value) -> RolloutSpec {
    match validate(value) {
        Ok(spec) => spec,
        Err(e) => panic!("{value} should be valid, got {e:?}"),
    }
}

fn assert_no_position(message: &str) {
    assert!(!message.contains(" at line "), "{message}");
    assert!(!message.contains(" column "), "{message}");
}

// ---------------------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------------------

#[test]
fn parses_the_full_contract() {
    let text = json!({
        "functionName": "orders",
        "alias": "live",
        "targetVersion": "7",
        "strategy": {"type": "canary", "percent": 5, "bakeSeconds": 60},
        "hooks": {"preTraffic": "pre", "postTraffic": "post:live"},
        "alarms": ["a", "b"],
        "insufficientData": "unhealthy",
        "notificationTopicArn": TOPIC
    })
    .to_string();
    let request = RolloutRequest::from_json_str(&text).unwrap();
    assert_eq!(
        request,
        RolloutRequest {
            function_name: "orders".into(),
            alias: "live".into(),
            target_version: Some("7".into()),
            code_sha256: None,
            strategy: json!({"type": "canary", "percent": 5, "bakeSeconds": 60}),
            hooks: Hooks {
                pre_traffic: Some("pre".into()),
                post_traffic: Some("post:live".into()),
            },
            alarms: vec!["a".into(), "b".into()],
            insufficient_data: InsufficientData::Unhealthy,
            notification_topic_arn: Some(TOPIC.into()),
            analysis: None,
        }
    );
}

#[test]
fn optional_fields_default() {
    let request = RolloutRequest::from_value(base()).unwrap();
    assert_eq!(request.code_sha256, None);
    assert_eq!(request.hooks, Hooks::default());
    assert!(request.alarms.is_empty());
    assert_eq!(request.insufficient_data, InsufficientData::Healthy);
    assert_eq!(request.notification_topic_arn, None);
}

#[test]
fn serializes_back_to_the_same_camel_case_request() {
    let full = json!({
        "functionName": "orders",
        "alias": "live",
        "codeSha256": SHA,
        "strategy": "AllAtOnce",
        "hooks": {"preTraffic": "pre"},
        "alarms": ["a"],
        "insufficientData": "unhealthy",
        "notificationTopicArn": TOPIC
    });
    let request = RolloutRequest::from_value(full.clone()).unwrap();
    assert_eq!(serde_json::to_value(&request).unwrap(), full);
    // Absent options stay absent rather than becoming nulls.
    let minimal = RolloutRequest::from_value(base()).unwrap();
    let out = serde_json::to_value(&minimal).unwrap();
    for key in ["codeSha256", "notificationTopicArn"] {
        assert!(out.get(key).is_none(), "{key} in {out}");
    }
    assert_eq!(
        RolloutRequest::from_value(out).unwrap(),
        minimal,
        "round trip"
    );
}

#[test]
fn an_unknown_top_level_field_is_reported_by_name() {
    let (field, message) = parse_error(&with("colour", json!("blue")).to_string());
    assert!(field.contains("colour"), "{field}");
    assert!(message.contains("unknown field `colour`"), "{message}");
    assert!(
        message.contains("functionName"),
        "lists the valid fields: {message}"
    );
    assert_no_position(&message);
}

#[test]
fn an_unknown_top_level_field_is_the_field() {
    let (field, _) = parse_error(&with("colour", json!("blue")).to_string());
    assert_eq!(field, "colour");
}

/// Found by fuzzing (`fuzz/`, target rollout_request): a blank key was the field, so the error named none.
#[test]
fn an_unknown_blank_key_names_its_parent() {
    let (field, message) = parse_error(&with(" ", json!(1)).to_string());
    assert_eq!(field, "request");
    assert!(message.contains("unknown field ` `"), "{message}");
    let (field, _) = parse_error(&with("hooks", json!({"\t": "pre"})).to_string());
    assert_eq!(field, "hooks");
}

/// Found by fuzzing: a blank key given twice was refused with an empty field.
#[test]
fn a_blank_key_given_twice_names_its_parent() {
    let (field, message) = parse_error(r#"{"functionName": "orders", "": 1, "": 2}"#);
    assert_eq!(field, "request");
    assert!(message.contains("given twice"), "{message}");
    let (field, _) = parse_error(r#"{"hooks": {" ": 1, " ": 2}}"#);
    assert_eq!(field, "hooks");
}

#[test]
fn an_unknown_hook_field_is_reported_under_hooks() {
    let (field, message) = parse_error(&with("hooks", json!({"preTrafic": "pre"})).to_string());
    assert!(field.starts_with("hooks.preTrafic"), "{field}");
    assert!(
        message.contains("preTraffic"),
        "suggests the right name: {message}"
    );
    assert_no_position(&message);
}

#[test]
fn an_unknown_hook_field_is_named_exactly_once() {
    let (field, _) = parse_error(&with("hooks", json!({"preTrafic": "pre"})).to_string());
    assert_eq!(field, "hooks.preTrafic");
}

#[test]
fn wrong_types_name_the_field() {
    let cases = [
        (
            with("targetVersion", json!(7)),
            "targetVersion",
            "expected a string",
        ),
        (
            with("functionName", json!(null)),
            "functionName",
            "expected a string",
        ),
        (with("alias", json!(["live"])), "alias", "expected a string"),
        (
            with("alarms", json!("orders-errors")),
            "alarms",
            "expected a sequence",
        ),
        (
            with("alarms", json!(["a", 3])),
            "alarms[1]",
            "expected a string",
        ),
        (with("hooks", json!("pre")), "hooks", "invalid type"),
        (
            with("hooks", json!({"preTraffic": 1})),
            "hooks.preTraffic",
            "expected a string",
        ),
        (
            with("codeSha256", json!(true)),
            "codeSha256",
            "expected a string",
        ),
        (
            with("insufficientData", json!("maybe")),
            "insufficientData",
            "unknown variant",
        ),
        (
            with("insufficientData", json!("Healthy")),
            "insufficientData",
            "unknown variant",
        ),
        (
            with("insufficientData", json!("")),
            "insufficientData",
            "unknown variant",
        ),
        (
            with("insufficientData", json!(null)),
            "insufficientData",
            "expected value",
        ),
        (
            with("insufficientData", json!(1)),
            "insufficientData",
            "expected value",
        ),
        (
            with("notificationTopicArn", json!(5)),
            "notificationTopicArn",
            "expected a string",
        ),
    ];
    for (value, field, says) in cases {
        let (got, message) = parse_error(&value.to_string());
        assert_eq!(got, field, "{value}");
        assert!(message.contains(says), "{value}: {message}");
        assert_no_position(&message);
    }
}

#[test]
fn insufficient_data_values_say_what_is_valid() {
    let (_, message) = parse_error(&with("insufficientData", json!("ignore")).to_string());
    assert!(
        message.contains("healthy") && message.contains("unhealthy"),
        "{message}"
    );
}

#[test]
fn insufficient_data_parses_both_policies() {
    for (text, policy) in [
        ("healthy", InsufficientData::Healthy),
        ("unhealthy", InsufficientData::Unhealthy),
    ] {
        let spec = assert_valid(&with("insufficientData", json!(text)));
        assert_eq!(spec.insufficient_data, policy, "{text}");
    }
}

#[test]
fn missing_required_fields_are_named_in_the_message() {
    // serde reports a missing field at its parent (the request itself), naming the field in the message.
    for key in ["functionName", "alias", "strategy"] {
        let (field, message) = parse_error(&without(key).to_string());
        assert_eq!(field, "request", "{key}");
        assert!(
            message.contains(&format!("missing field `{key}`")),
            "{message}"
        );
        assert_no_position(&message);
    }
}

#[test]
fn malformed_json_is_reported_against_the_request() {
    for text in ["", "[]", "null", "\"orders\"", "{\"functionName\""] {
        let (field, message) = parse_error(text);
        assert_eq!(field, "request", "{text:?}");
        assert_no_position(&message);
    }
    // A value cut short is blamed on its field.
    let (field, message) = parse_error("{\"functionName\":");
    assert_eq!(field, "functionName");
    assert_no_position(&message);
}

#[test]
fn syntax_errors_between_keys_name_a_real_path() {
    let hooks_trailing_comma = r#"{"functionName":"orders","hooks":{"preTraffic":"pre",}}"#;
    for (text, expected) in [
        ("{", "request"),
        ("{\"functionName\": \"orders\",}", "request"),
        (hooks_trailing_comma, "hooks"),
    ] {
        let (field, message) = parse_error(text);
        assert_eq!(field, expected, "{text:?}: {message}");
    }
}

#[test]
fn trailing_characters_are_rejected() {
    for tail in [" x", " {}", ",", " null"] {
        let text = format!("{}{tail}", base());
        let (field, message) = parse_error(&text);
        assert_eq!(field, "request", "{text:?}");
        assert_no_position(&message);
    }
}

#[test]
fn duplicate_fields_are_rejected() {
    let text = format!("{{\"alias\":\"x\",{}", &base().to_string()[1..]);
    let (field, message) = parse_error(&text);
    assert_eq!(field, "alias");
    assert_eq!(message, "\"alias\" is given twice: keep one");
}

#[test]
fn from_value_and_from_json_str_agree() {
    for value in [
        base(),
        with("colour", json!(1)),
        with("targetVersion", json!(7)),
    ] {
        assert_eq!(
            RolloutRequest::from_value(value.clone()),
            RolloutRequest::from_json_str(&value.to_string()),
            "{value}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// Validation, field by field
// ---------------------------------------------------------------------------------------------------------

fn check_table(key: &str, good: &[&str], bad: &[(&str, &str)]) {
    for g in good {
        assert_valid(&with(key, json!(g)));
    }
    for (b, field) in bad {
        assert_eq!(invalid_field(&with(key, json!(b))), *field, "{key} = {b:?}");
    }
}

#[test]
fn function_name() {
    let max = "f".repeat(64);
    let over = "f".repeat(65);
    let arn = |name: &str| format!("arn:aws:lambda:us-east-1:123456789012:function:{name}");
    let (arn_orders, arn_max, arn_over) = (arn("orders"), arn(&max), arn(&over));
    let good = [
        "orders",
        "o",
        "Orders-v2_blue",
        "0rders",
        max.as_str(),
        arn_orders.as_str(),
        arn_max.as_str(),
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:orders",
        "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:orders",
    ];
    let f = "functionName";
    let qualified = arn("orders:live");
    let qualified_version = arn("orders:7");
    let empty_qualifier = arn("orders:");
    let too_many_parts = arn("orders:live:extra");
    let empty_name = arn("");
    let bad = [
        ("", f),
        (over.as_str(), f),
        (arn_over.as_str(), f),
        ("orders:live", f),
        ("orders:7", f),
        ("orders:", f),
        (qualified.as_str(), f),
        (qualified_version.as_str(), f),
        (empty_qualifier.as_str(), f),
        (too_many_parts.as_str(), f),
        (empty_name.as_str(), f),
        ("orders.v2", f),
        ("my orders", f),
        ("orders$", f),
        ("ördërs", f),
        ("orders/live", f),
        ("a:b:c", f),
        ("arn:aws:lambda:us-east-1:123456789012:function", f),
        ("arn:aws:lambda::123456789012:function:orders", f),
        ("arn:aws:lambda:us-east-1:12345:function:orders", f),
        ("arn:aws:lambda:us-east-1:123456789012:layer:orders", f),
        ("arn:aws:sns:us-east-1:123456789012:function:orders", f),
        ("arn:azure:lambda:us-east-1:123456789012:function:orders", f),
        ("arn:aws:s3:::bucket", f),
    ];
    check_table(f, &good, &bad);
}

#[test]
fn a_qualified_function_says_to_use_alias() {
    let value = with(
        "functionName",
        json!("arn:aws:lambda:us-east-1:123456789012:function:orders:live"),
    );
    match validate(&value) {
        Err(Error::InvalidRequest { message, .. }) => {
            assert!(message.contains("alias"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn arn_account_ids_must_be_digits() {
    let bad = [
        (
            with(
                "functionName",
                json!("arn:aws:lambda:us-east-1:abcdefghijkl:function:orders"),
            ),
            "functionName",
        ),
        (
            with(
                "notificationTopicArn",
                json!("arn:aws:sns:us-east-1:abcdefghijkl:topic"),
            ),
            "notificationTopicArn",
        ),
    ];
    for (value, field) in bad {
        assert_eq!(invalid_field(&value), field, "{value}");
    }
}

#[test]
fn alias() {
    let max = "a".repeat(128);
    let over = "a".repeat(129);
    let good = [
        "live",
        "l",
        "prod-1",
        "v2",
        "Live_Env",
        "1a",
        "007x",
        "-",
        max.as_str(),
    ];
    let a = "alias";
    let bad = [
        ("", a),
        ("7", a),
        ("123", a),
        ("0", a),
        ("$LATEST", a),
        ("LATEST$", a),
        ("live!", a),
        ("live.v2", a),
        ("li ve", a),
        ("live:1", a),
        ("live/blue", a),
        ("lïve", a),
        (over.as_str(), a),
    ];
    check_table(a, &good, &bad);
}

#[test]
fn target_version() {
    let t = "targetVersion";
    let good = ["1", "7", "42", "1000", "4294967295"];
    let bad = [
        ("$LATEST", t),
        ("07", t),
        ("0", t),
        ("abc", t),
        ("", t),
        ("-1", t),
        ("+7", t),
        (" 7", t),
        ("7 ", t),
        ("7.0", t),
        ("1e3", t),
        ("live", t),
        ("12345678901", t),
        ("٣", t),
    ];
    check_table(t, &good, &bad);
    for (version, target) in [("7", "7"), ("4294967295", "4294967295")] {
        let spec = assert_valid(&with(t, json!(version)));
        assert_eq!(
            spec.target,
            Target::Version {
                version: target.into()
            }
        );
    }
}

#[test]
fn latest_is_explained() {
    match validate(&with("targetVersion", json!("$LATEST"))) {
        Err(Error::InvalidRequest { message, .. }) => {
            assert!(message.contains("omit targetVersion"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn code_sha256() {
    let publish = |sha: Value| {
        let mut v = without("targetVersion");
        v["codeSha256"] = sha;
        v
    };
    // Good: a base64 SHA-256 (44 characters, one '=' of padding), publishing $LATEST.
    for sha in [
        SHA,
        "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+=",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ] {
        let spec = assert_valid(&publish(json!(sha)));
        assert_eq!(
            spec.target,
            Target::PublishLatest {
                code_sha256: Some(sha.into())
            }
        );
    }
    let missing_pad = &SHA[..43];
    let no_pad = format!("{missing_pad}A");
    let too_long = format!("{SHA}=");
    let url_safe = SHA.replace('+', "-").replace('/', "_");
    let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let spaced = SHA.replacen('D', " ", 1);
    let double_pad = format!("{}==", &SHA[..42]);
    for bad in [
        "",
        missing_pad,
        no_pad.as_str(),
        too_long.as_str(),
        url_safe.as_str(),
        hex,
        spaced.as_str(),
        double_pad.as_str(),
        "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ+=",
    ] {
        assert_eq!(invalid_field(&publish(json!(bad))), "codeSha256", "{bad:?}");
    }
}

#[test]
fn code_sha256_with_target_version_is_rejected() {
    // Even a well-formed hash: it only applies when publishing.
    for sha in [SHA, "garbage"] {
        assert_eq!(
            invalid_field(&with("codeSha256", json!(sha))),
            "codeSha256",
            "{sha}"
        );
    }
}

#[test]
fn no_target_version_publishes_latest() {
    let spec = assert_valid(&without("targetVersion"));
    assert_eq!(spec.target, Target::PublishLatest { code_sha256: None });
}

#[test]
fn hooks() {
    let max = "h".repeat(64);
    let over = "h".repeat(65);
    let good = [
        "pre-hook",
        "pre-hook:live",
        "pre-hook:3",
        "pre-hook:$LATEST",
        max.as_str(),
        "arn:aws:lambda:us-east-1:123456789012:function:pre-hook",
        "arn:aws:lambda:us-east-1:123456789012:function:pre-hook:live",
        "arn:aws:lambda:us-east-1:123456789012:function:pre-hook:7",
    ];
    let bad = [
        "",
        "not a function",
        "pre-hook:",
        ":live",
        "a:b:c",
        over.as_str(),
        "pre.hook",
        "arn:aws:lambda:us-east-1:123456789012:function:pre-hook:",
        "arn:aws:lambda:us-east-1:123456789012:function:pre-hook:live:x",
        "arn:aws:sns:us-east-1:123456789012:topic",
        "arn:aws:lambda:us-east-1:123456789012:function",
    ];
    for (key, field) in [
        ("preTraffic", "hooks.preTraffic"),
        ("postTraffic", "hooks.postTraffic"),
    ] {
        for g in good {
            let spec = assert_valid(&with("hooks", json!({ key: g })));
            let got = match key {
                "preTraffic" => spec.hooks.pre_traffic,
                _ => spec.hooks.post_traffic,
            };
            assert_eq!(got.as_deref(), Some(g), "{key}");
        }
        for b in bad {
            assert_eq!(
                invalid_field(&with("hooks", json!({ key: b }))),
                field,
                "{key} = {b:?}"
            );
        }
    }
    // Only the bad hook is blamed.
    assert_eq!(
        invalid_field(&with(
            "hooks",
            json!({"preTraffic": "good", "postTraffic": "bad hook"})
        )),
        "hooks.postTraffic"
    );
}

#[test]
fn hook_qualifiers_must_be_a_version_or_alias() {
    for bad in [
        "https://example.com/hook",
        "pre-hook:live!",
        "pre-hook:$LATEST/x",
        "arn:aws:lambda:us-east-1:123456789012:function:pre-hook:v/1",
    ] {
        assert_eq!(
            invalid_field(&with("hooks", json!({"preTraffic": bad}))),
            "hooks.preTraffic",
            "{bad:?}"
        );
    }
}

#[test]
fn alarms() {
    let names = |n: usize| -> Vec<String> { (0..n).map(|i| format!("alarm-{i}")).collect() };
    for good in [
        json!([]),
        json!(["orders-errors"]),
        json!(["Orders Errors (p99) > 1%", "orders/latency:p99", "ä"]),
        json!(["x".repeat(255)]),
        json!(names(MAX_ALARMS)),
    ] {
        let spec = assert_valid(&with("alarms", good.clone()));
        assert_eq!(json!(spec.alarms), good);
    }
    let mut hundred_and_one_with_duplicates = names(MAX_ALARMS);
    hundred_and_one_with_duplicates.push("alarm-0".into());
    let cases = [
        (json!(names(MAX_ALARMS + 1)), "alarms"),
        (json!(hundred_and_one_with_duplicates), "alarms"),
        (json!(["a", "a"]), "alarms[1]"),
        (json!(["a", "b", "a"]), "alarms[2]"),
        (json!(["a", "b", "c", "b"]), "alarms[3]"),
        (json!([""]), "alarms[0]"),
        (json!(["ok", ""]), "alarms[1]"),
        (json!(["ok", "bad\nname"]), "alarms[1]"),
        (json!(["tab\there"]), "alarms[0]"),
        (json!(["x".repeat(256)]), "alarms[0]"),
    ];
    for (value, field) in cases {
        assert_eq!(
            invalid_field(&with("alarms", value.clone())),
            field,
            "{value}"
        );
    }
}

#[test]
fn notification_topic_arn() {
    let n = "notificationTopicArn";
    let good = [
        TOPIC,
        "arn:aws:sns:eu-west-1:123456789012:shifter.fifo",
        "arn:aws-cn:sns:cn-north-1:123456789012:t",
    ];
    let bad = [
        ("", n),
        ("shifter-notifications", n),
        ("arn:aws:sns:us-east-1:123456789012", n),
        ("arn:aws:sns:us-east-1:123456789012:", n),
        (
            "arn:aws:sqs:us-east-1:123456789012:shifter-notifications",
            n,
        ),
        ("arn:aws:sns::123456789012:t", n),
        ("arn:aws:sns:us-east-1:1234:t", n),
        (
            "arn:aws:sns:us-east-1:123456789012:t:0b1c7d0e-subscription",
            n,
        ),
        ("arn:gcp:sns:us-east-1:123456789012:t", n),
    ];
    check_table(n, &good, &bad);
}

#[test]
fn strategy_errors_come_through_validate() {
    let cases = [
        (json!("Canary10Percent20Minutes"), "strategy"),
        (json!(null), "strategy"),
        (
            json!({"type": "canary", "percent": 0, "bakeSeconds": 60}),
            "strategy.percent",
        ),
        (
            json!({"type": "linear", "percent": 0.5, "intervalSeconds": 60}),
            "strategy",
        ),
        (
            json!({"type": "steps", "steps": [{"percent": 10, "bakeSeconds": 1}, {"percent": 5, "bakeSeconds": 1}]}),
            "strategy.steps[1].percent",
        ),
        (
            json!({"type": "canary", "percent": 10, "bakeSeconds": 60, "foo": 1}),
            "strategy.foo",
        ),
    ];
    for (strategy, field) in cases {
        assert_eq!(
            invalid_field(&with("strategy", strategy.clone())),
            field,
            "{strategy}"
        );
    }
}

#[test]
fn the_spec_carries_the_plan_and_a_strategy_name() {
    let cases = [
        (
            json!("Canary10Percent5Minutes"),
            "Canary10Percent5Minutes",
            2,
        ),
        (
            json!("CodeDeployDefault.LambdaLinear10PercentEvery1Minute"),
            "Linear10PercentEvery1Minute",
            10,
        ),
        (json!("CodeDeployDefault.LambdaAllAtOnce"), "AllAtOnce", 1),
        (
            json!({"type": "linear", "percent": 50, "intervalSeconds": 1}),
            "linear",
            2,
        ),
        (json!({"type": "allAtOnce"}), "allAtOnce", 1),
    ];
    for (strategy, name, len) in cases {
        let spec = assert_valid(&with("strategy", strategy.clone()));
        assert_eq!(spec.strategy_name, name, "{strategy}");
        assert_eq!(spec.plan.steps.len(), len, "{strategy}");
        assert_eq!(
            spec.plan,
            Strategy::from_json(&strategy).unwrap().plan().unwrap()
        );
    }
}

#[test]
fn the_first_problem_in_field_order_is_reported() {
    let mut value = base();
    value["alias"] = json!("7");
    value["alarms"] = json!(["a", "a"]);
    value["functionName"] = json!("bad name");
    assert_eq!(invalid_field(&value), "functionName");
    value["functionName"] = json!("orders");
    assert_eq!(invalid_field(&value), "alias");
    value["alias"] = json!("live");
    assert_eq!(invalid_field(&value), "alarms[1]");
}

// ---------------------------------------------------------------------------------------------------------
// Sample requests under events/requests
// ---------------------------------------------------------------------------------------------------------

fn requests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/requests")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap()
}

fn parse_file(path: &Path) -> Result<RolloutSpec> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    RolloutRequest::from_json_str(&text)?.validate()
}

fn weights(spec: &RolloutSpec) -> Vec<u32> {
    spec.plan.steps.iter().map(|s| s.weight_bps).collect()
}

#[test]
fn every_sample_request_validates() {
    let files = json_files(&requests_dir());
    let names: Vec<&str> = files.iter().map(|p| file_name(p)).collect();
    for expected in [
        "canary.json",
        "linear.json",
        "all-at-once.json",
        "steps.json",
        "exponential.json",
        "publish-latest.json",
    ] {
        assert!(names.contains(&expected), "missing {expected} in {names:?}");
    }
    for path in &files {
        let spec = parse_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expected: Option<(&str, Vec<u32>)> = match file_name(path) {
            "canary.json" => Some(("Canary10Percent5Minutes", vec![1000, 10_000])),
            "linear.json" => Some(("linear", vec![2500, 5000, 7500, 10_000])),
            "all-at-once.json" => Some(("AllAtOnce", vec![10_000])),
            "steps.json" => Some(("steps", vec![100, 1000, 5000, 10_000])),
            "exponential.json" => Some((
                "exponential",
                vec![100, 200, 400, 800, 1600, 3200, 6400, 10_000],
            )),
            "publish-latest.json" => Some((
                "Linear10PercentEvery2Minutes",
                (1..=10).map(|i| i * 1000).collect(),
            )),
            _ => None,
        };
        if let Some((name, w)) = expected {
            assert_eq!(spec.strategy_name, name, "{}", path.display());
            assert_eq!(weights(&spec), w, "{}", path.display());
        }
    }
}

#[test]
fn the_canary_sample_is_the_documented_request() {
    let spec = parse_file(&requests_dir().join("canary.json")).unwrap();
    assert_eq!(
        spec,
        RolloutSpec {
            function_name: "orders".into(),
            alias: "live".into(),
            target: Target::Version {
                version: "7".into()
            },
            strategy_name: "Canary10Percent5Minutes".into(),
            plan: Plan {
                steps: vec![
                    Step {
                        weight_bps: 1000,
                        bake_seconds: 300
                    },
                    Step {
                        weight_bps: 10_000,
                        bake_seconds: 0
                    },
                ],
            },
            hooks: Hooks {
                pre_traffic: Some("orders-pre-traffic".into()),
                post_traffic: Some(
                    "arn:aws:lambda:us-east-1:123456789012:function:orders-post-traffic".into()
                ),
            },
            alarms: vec!["orders-errors".into()],
            insufficient_data: InsufficientData::Healthy,
            notification_topic_arn: Some(TOPIC.into()),
            analysis: None,
        }
    );
    let latest = parse_file(&requests_dir().join("publish-latest.json")).unwrap();
    assert_eq!(
        latest.target,
        Target::PublishLatest {
            code_sha256: Some(SHA.into())
        }
    );
}

fn expected_field(path: &Path) -> &str {
    let name = file_name(path);
    name.split_once("--")
        .map(|(field, _)| field)
        .unwrap_or_else(|| panic!("{name}: name invalid samples <expected-field>--<what>.json"))
}

#[test]
fn every_invalid_sample_fails_at_the_field_its_name_gives() {
    let files = json_files(&requests_dir().join("invalid"));
    assert!(files.len() >= 9, "only {} invalid samples", files.len());
    for path in &files {
        let expected = expected_field(path);
        match parse_file(path) {
            Err(Error::InvalidRequest { field, message }) => {
                assert_no_position(&message);
                assert_eq!(field, expected, "{}: {message}", path.display());
            }
            other => panic!("{} should be invalid, got {other:?}", path.display()),
        }
    }
}
