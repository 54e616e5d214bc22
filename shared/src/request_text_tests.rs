//! The request as text: a key given twice is refused, and what keeps a request (and so the state built from
//! it) small: ARNs no longer than AWS accepts, and error messages that quote at most a capped part of what
//! they reject.

use std::path::Path;

use serde_json::{json, Value};

use super::*;
use crate::text::MAX_OUTSIDE_TEXT;

fn base() -> Value {
    json!({"functionName": "orders", "alias": "live", "targetVersion": "7", "strategy": "AllAtOnce"})
}

fn with(key: &str, value: Value) -> Value {
    let mut v = base();
    v[key] = value;
    v
}

fn check(value: &Value) -> Result<RolloutSpec> {
    RolloutRequest::from_json_str(&value.to_string())?.validate()
}

fn rejected_field(value: &Value) -> String {
    match check(value) {
        Err(Error::InvalidRequest { field, message }) => {
            assert!(message.len() <= MAX_OUTSIDE_TEXT, "{} bytes", message.len());
            assert!(field.len() <= MAX_OUTSIDE_TEXT, "{} bytes", field.len());
            field
        }
        other => panic!("should be invalid, got {other:?}"),
    }
}

/// A Lambda function ARN of exactly `len` characters, padded in the region (which shifter does not check).
pub(super) fn lambda_arn(len: usize, name: &str, qualifier: Option<&str>) -> String {
    let tail = match qualifier {
        Some(q) => format!(":123456789012:function:{name}:{q}"),
        None => format!(":123456789012:function:{name}"),
    };
    let head = "arn:aws:lambda:us-east-1";
    let pad = len
        .checked_sub(head.len() + tail.len())
        .expect("long enough");
    let arn = format!("{head}{}{tail}", "x".repeat(pad));
    assert_eq!(arn.len(), len);
    arn
}

/// An SNS topic ARN of exactly `len` characters with a name of `name_len`, padded in the region.
pub(super) fn topic_arn(len: usize, name_len: usize) -> String {
    let tail = format!(":123456789012:{}", "t".repeat(name_len));
    let head = "arn:aws:sns:us-east-1";
    let pad = len
        .checked_sub(head.len() + tail.len())
        .expect("long enough");
    let arn = format!("{head}{}{tail}", "x".repeat(pad));
    assert_eq!(arn.len(), len);
    arn
}

#[test]
fn function_arns_are_at_most_as_long_as_get_alias_accepts() {
    let name = "f".repeat(64);
    check(&with(
        "functionName",
        json!(lambda_arn(MAX_FUNCTION_REF, &name, None)),
    ))
    .unwrap();
    for len in [MAX_FUNCTION_REF + 1, 200 * 1024] {
        let arn = lambda_arn(len, &name, None);
        assert_eq!(
            rejected_field(&with("functionName", json!(arn))),
            "functionName"
        );
    }
}

#[test]
fn hook_arns_are_at_most_as_long_as_invoke_accepts() {
    let name = "h".repeat(64);
    let qualifier = Some("live");
    for key in ["preTraffic", "postTraffic"] {
        let longest = lambda_arn(MAX_HOOK_REF, &name, qualifier);
        let spec = check(&with("hooks", json!({ key: longest }))).unwrap();
        assert!(spec.hooks.pre_traffic.or(spec.hooks.post_traffic).is_some());
        for len in [MAX_HOOK_REF + 1, 200 * 1024] {
            let arn = lambda_arn(len, &name, qualifier);
            assert_eq!(
                rejected_field(&with("hooks", json!({ key: arn }))),
                format!("hooks.{key}")
            );
        }
    }
}

#[test]
fn topic_arns_are_bounded_by_the_topic_name_limit() {
    let n = "notificationTopicArn";
    check(&with(n, json!(topic_arn(MAX_TOPIC_ARN, MAX_TOPIC_NAME)))).unwrap();
    for arn in [
        topic_arn(MAX_TOPIC_ARN + 1, 8),
        topic_arn(MAX_TOPIC_ARN, MAX_TOPIC_NAME + 1),
        topic_arn(200 * 1024, 8),
    ] {
        assert_eq!(rejected_field(&with(n, json!(arn))), n);
    }
}

#[test]
fn messages_quote_at_most_a_capped_part_of_what_they_reject() {
    let huge = "é".repeat(100 * 1024);
    let cases = [
        (with("alias", json!(huge)), "alias"),
        (with("targetVersion", json!(huge)), "targetVersion"),
        (with("functionName", json!(huge)), "functionName"),
        (with("strategy", json!(huge)), "strategy"),
        (with("insufficientData", json!(huge)), "insufficientData"),
        (with("alarms", json!([huge])), "alarms[0]"),
    ];
    for (value, field) in cases {
        assert_eq!(rejected_field(&value), field);
    }
    let mut unknown = base();
    unknown[&huge] = json!(1);
    assert!(rejected_field(&unknown).starts_with("éé"));
}

fn parse_error(text: &str) -> (String, String) {
    match RolloutRequest::from_json_str(text) {
        Err(Error::InvalidRequest { field, message }) => (field, message),
        other => panic!("{text} should be refused, got {other:?}"),
    }
}

#[test]
fn a_key_given_twice_is_refused_naming_its_path() {
    let cases = [
        (
            r#"{"functionName":"orders","alias":"live","targetVersion":"6","strategy":"AllAtOnce",
                "targetVersion":"7"}"#,
            "targetVersion",
        ),
        (
            r#"{"functionName":"orders","alias":"live","alias":"live","strategy":"AllAtOnce"}"#,
            "alias",
        ),
        (
            r#"{"functionName":"orders","alias":"live","targetVersion":"7",
                "strategy":{"type":"canary","percent":10,"bakeSeconds":60,"percent":50}}"#,
            "strategy.percent",
        ),
        (
            r#"{"functionName":"orders","alias":"live","targetVersion":"7","strategy":"AllAtOnce",
                "hooks":{"preTraffic":"smoke","postTraffic":"check","preTraffic":"other"}}"#,
            "hooks.preTraffic",
        ),
        (
            r#"{"functionName":"orders","alias":"live","targetVersion":"7",
                "strategy":{"type":"steps","steps":[{"percent":10,"bakeSeconds":60},
                    {"percent":20,"bakeSeconds":60,"bakeSeconds":0}]}}"#,
            "strategy.steps[1].bakeSeconds",
        ),
        // Unknown keys too: the duplicate is the first thing wrong with it.
        (r#"{"colour":1,"colour":2}"#, "colour"),
    ];
    for (text, path) in cases {
        let (field, message) = parse_error(text);
        assert_eq!(field, path, "{text}");
        let key = path.rsplit(['.', ']']).next().unwrap();
        assert_eq!(
            message,
            format!("{key:?} is given twice: keep one"),
            "{text}"
        );
    }
}

#[test]
fn the_same_key_in_sibling_objects_is_fine() {
    let text = r#"{"functionName":"orders","alias":"live","targetVersion":"7",
        "strategy":{"type":"steps","steps":[{"percent":10,"bakeSeconds":60},{"percent":20,"bakeSeconds":60}]},
        "hooks":{"preTraffic":"alias","postTraffic":"alias"},"alarms":["live","live-errors"]}"#;
    let spec = RolloutRequest::from_json_str(text)
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(spec.plan.steps.len(), 3);
}

fn refusal(text: &str) -> (String, String) {
    match RolloutRequest::from_json_str(text) {
        Err(Error::InvalidRequest { field, message }) => (field, message),
        other => panic!("{:?} should be refused, got {other:?}", cap(text, 80)),
    }
}

/// What is not a JSON request is refused as what it is, with what to do: not as "expected value".
#[test]
fn text_that_is_not_a_json_request_is_refused_saying_why_and_what_to_do() {
    let good = base().to_string();
    let big = format!("{}{}}}", &good[..good.len() - 1], " ".repeat(300 * 1024));
    let nan = r#"{"functionName":"orders","alias":"live","strategy":{"type":"canary","percent":NaN,"bakeSeconds":60}}"#;
    let inf = nan.replace("NaN", "-Infinity");
    let deep = format!(
        r#"{{"functionName":"orders","alias":"live","strategy":{}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    for (text, field, phrase) in [
        (
            big.as_str(),
            "request",
            "bytes (301 KB); Step Functions takes at most 262144 bytes (256 KB)",
        ),
        (
            &format!("\u{feff}{good}"),
            "request",
            "save it as UTF-8 without a BOM",
        ),
        ("", "request", "is empty"),
        (" \n", "request", "is empty"),
        (
            "functionName: orders\nalias: live\n",
            "request",
            "YAML is not read: convert it to JSON",
        ),
        (
            nan,
            "strategy.percent",
            "NaN and Infinity are not JSON numbers: give a finite number",
        ),
        (
            &inf,
            "strategy.percent",
            "NaN and Infinity are not JSON numbers",
        ),
        (&deep, "strategy", "more than 128 levels deep"),
        (r#"{"alias": 'live'}"#, "alias", "single quotes"),
    ] {
        let (f, message) = refusal(text);
        assert_eq!(f, field, "{message}");
        assert!(message.contains(phrase), "{field}: {message}");
        assert!(message.len() <= MAX_OUTSIDE_TEXT);
    }
    // JSON that is not an object is still the parser's to name.
    assert_eq!(refusal("true").0, "request");
    assert_eq!(
        refusal("[]"),
        (
            "request".into(),
            "is a JSON list: give one JSON object, one request per file".into()
        )
    );
    // Exactly at the limit is read (and refused for what it lacks, not for its size).
    let at_limit = format!(
        "{}{}}}",
        &good[..good.len() - 1],
        " ".repeat(MAX_REQUEST_BYTES - good.len())
    );
    assert_eq!(at_limit.len(), MAX_REQUEST_BYTES);
    assert!(RolloutRequest::from_json_str(&at_limit).is_ok());
}

#[test]
fn an_alarm_arn_is_refused_asking_for_the_name() {
    let arn = json!(["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-errors"]);
    assert_eq!(rejected_field(&with("alarms", arn)), "alarms[0]");
}

/// The catalogue's cases that need AWS, or the stack's settings, are valid in form: only Prepare's checks
/// against AWS, or against the stack's HookFunctionArnPattern, refuse them.
#[test]
fn the_catalogue_cases_needing_aws_pass_every_check_without_it() {
    let catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/requests/invalid");
    let mut n = 0;
    for dir in ["aws", "state-machine"] {
        for entry in std::fs::read_dir(catalogue.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let checked = RolloutRequest::from_json_str(&text).and_then(|r| r.validate());
            assert!(checked.is_ok(), "{}: {checked:?}", path.display());
            n += 1;
        }
    }
    assert!(n >= 6, "only {n}");
}
