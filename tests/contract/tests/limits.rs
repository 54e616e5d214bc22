//! Sizes on real AWS. A Step Functions state (every Task's input and output) holds at most 256 KB: past that,
//! Step Functions raises `States.DataLimitExceeded`, which `States.ALL` does not catch, so the execution would
//! die with the alias still weighted, no rollback and no notification. An SNS message holds at most 256 KB.
//!
//! These tests build the largest state the request schema allows, with every optional field at its longest at
//! once (more than any one execution holds), and outside text at its worst: a 6 MB hook reply (Lambda's limit
//! for a synchronous response) and a 6 MB error message, both of characters JSON escapes six-fold. The state
//! must stay far below 256 KB, and every notification far below SNS's limit.

use serde_json::{json, Value};
use shifter::analysis::decide::{AnalysisReport, Decision, MAX_EVIDENCE};
use shifter::analysis::judge::{AnalysisVerdict, CheckResult, Outcome};
use shifter::analysis::settings::{
    MAX_CUSTOM_METRICS, MAX_DIMENSIONS, MAX_DIMENSION_NAME, MAX_DIMENSION_VALUE, MAX_METRIC_LABEL,
    MAX_METRIC_NAME, VERSION_PLACEHOLDER,
};
use shifter::domain::{AlarmState, AlarmStatus, HookReply};
use shifter::fake::FakeAws;
use shifter::health::judge;
use shifter::notification::{EventType, HookPhase, Notification};
use shifter::plan::{MAX_STEPS, MAX_TOTAL_SECONDS};
use shifter::request::{
    RolloutRequest, MAX_ALARMS, MAX_FUNCTION_REF, MAX_HOOK_REF, MAX_TOPIC_ARN, MAX_TOPIC_NAME,
};
use shifter::rollout::{Rollout, SCHEMA_VERSION};
use shifter::state::{
    HookInput, HookOutcome, NotifyInput, PrepareInput, RolloutState, StateError,
    STATE_SCHEMA_VERSION,
};
use shifter::text::{cap, MAX_OUTSIDE_TEXT};
use shifter::usecase::interpret_hook_reply;
use shifter::Error;
use shifter_contract_tests::TaskError;

const KB: usize = 1024;
/// Step Functions' limit on a state, and SNS's on a message (body, subject and attributes).
const AWS_LIMIT: usize = 256 * KB;
/// What the largest state may take: well under the limit. It measures about 147 KB: 100 alarm names of 255
/// characters sit in it three times (the rollout's list, the verdict's, Rollback's reason: 77 KB); each capped
/// 1 KB text of control characters takes up to 7 KB once JSON-escaped (twice inside a Cause); the `analysis`
/// settings at their longest (ten custom metrics of five dimensions) take 25 KB, and an analysis report's
/// evidence (capped at 2 KB) sits in it three times (the verdict, the rollout's last analysis, the reason).
const STATE_BUDGET: usize = 160 * KB;
/// What the largest notification may take: a quarter of the limit.
const MESSAGE_BUDGET: usize = 64 * KB;
/// Lambda's limit for a synchronous response: the most a hook can reply.
const SIX_MB: usize = 6 * KB * KB;
/// Characters as they are worst for size: plain, multi-byte, and escaped by JSON (`\"`, `\u0001`).
const UNITS: [&str; 4] = ["x", "é", "\"", "\u{1}"];

fn six_mb_of(unit: &str) -> String {
    unit.repeat(SIX_MB / unit.len())
}

/// A Lambda function ARN of exactly `len` characters, padded in the region (which shifter does not check).
fn lambda_arn(len: usize, name: &str, qualifier: Option<&str>) -> String {
    let tail = match qualifier {
        Some(q) => format!(":123456789012:function:{name}:{q}"),
        None => format!(":123456789012:function:{name}"),
    };
    let head = "arn:aws:lambda:us-east-1";
    format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
}

fn topic_arn(len: usize) -> String {
    let tail = format!(":123456789012:{}", "t".repeat(MAX_TOPIC_NAME));
    let head = "arn:aws:sns:us-east-1";
    format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
}

/// The longest request the schema allows: every field present and at its longest.
fn longest_request() -> Value {
    let name = "f".repeat(64);
    let steps: Vec<Value> = (1..MAX_STEPS)
        .map(|i| json!({"percent": i, "bakeSeconds": MAX_TOTAL_SECONDS / (MAX_STEPS as u64 - 1)}))
        .collect();
    let alarms: Vec<String> = (0..MAX_ALARMS)
        .map(|i| format!("{i:03}{}", "a".repeat(252)))
        .collect();
    json!({
        "functionName": lambda_arn(MAX_FUNCTION_REF, &name, None),
        "alias": "a".repeat(128),
        "targetVersion": "9999999999",
        "strategy": {"type": "steps", "steps": steps},
        "hooks": {
            "preTraffic": lambda_arn(MAX_HOOK_REF, &"p".repeat(64), Some("live")),
            "postTraffic": lambda_arn(MAX_HOOK_REF, &"q".repeat(64), Some("live")),
        },
        "alarms": alarms,
        "insufficientData": "unhealthy",
        "notificationTopicArn": topic_arn(MAX_TOPIC_ARN),
        "analysis": longest_analysis(),
    })
}

/// The longest `analysis` settings: every custom metric and dimension at its longest.
fn longest_analysis() -> Value {
    let metrics: Vec<Value> = (0..MAX_CUSTOM_METRICS)
        .map(|i| {
            let dimensions: serde_json::Map<String, Value> = (0..MAX_DIMENSIONS)
                .map(|d| {
                    let name = format!("{d}{}", "d".repeat(MAX_DIMENSION_NAME - 1));
                    let value = format!(
                        "{VERSION_PLACEHOLDER}{}",
                        "v".repeat(MAX_DIMENSION_VALUE - VERSION_PLACEHOLDER.len())
                    );
                    (name, json!(value))
                })
                .collect();
            json!({
                "name": format!("{i:02}{}", "m".repeat(MAX_METRIC_LABEL - 2)),
                "namespace": "n".repeat(MAX_METRIC_NAME),
                "metricName": "c".repeat(MAX_METRIC_NAME),
                "dimensions": dimensions,
                "stat": "p99.9",
                "compare": "baseline",
                "maxRatio": f64::MAX,
            })
        })
        .collect();
    json!({
        "errorRate": {"maxIncreasePoints": 99.999_999_9},
        "latency": {"stat": "p99.9", "maxRatio": f64::MAX},
        "throttles": {"max": u64::MAX},
        "minInvocations": u64::MAX,
        "confidence": 0.999_999_9,
        "whenInconclusive": "extend",
        "maxExtensionSeconds": 86_400,
        "intervalSeconds": u32::MAX,
        "metrics": metrics,
    })
}

fn validate(request: &Value) -> shifter::Result<shifter::request::RolloutSpec> {
    RolloutRequest::from_json_str(&request.to_string())?.validate()
}

#[test]
fn the_longest_request_is_valid_and_one_more_of_anything_is_not() {
    let request = longest_request();
    let spec = validate(&request).expect("the longest request is valid");
    assert_eq!(spec.plan.steps.len(), MAX_STEPS);
    assert_eq!(spec.alarms.len(), MAX_ALARMS);
    let longer = |pointer: &str, extra: &str| {
        let mut r = request.clone();
        let s = r.pointer_mut(pointer).unwrap();
        *s = json!(format!("{}{extra}", s.as_str().unwrap()));
        r
    };
    let mut more_alarms = request.clone();
    more_alarms["alarms"]
        .as_array_mut()
        .unwrap()
        .push(json!("one-more"));
    let mut more_steps = request.clone();
    more_steps["strategy"]["steps"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"percent": 0.5, "bakeSeconds": 1}));
    let mut more_metrics = request.clone();
    let first = more_metrics["analysis"]["metrics"][0].clone();
    let metrics = more_metrics["analysis"]["metrics"].as_array_mut().unwrap();
    let mut extra = first.clone();
    extra["name"] = json!("one-more");
    metrics.push(extra);
    let mut more_dimensions = request.clone();
    more_dimensions["analysis"]["metrics"][0]["dimensions"]["one-more"] = json!("x");
    for too_long in [
        longer("/functionName", "f"),
        longer("/alias", "a"),
        longer("/targetVersion", "9"),
        longer("/hooks/preTraffic", "e"),
        longer("/hooks/postTraffic", "e"),
        longer("/alarms/0", "a"),
        longer("/notificationTopicArn", "t"),
        longer("/analysis/metrics/0/name", "m"),
        longer("/analysis/metrics/0/namespace", "n"),
        longer("/analysis/metrics/0/metricName", "c"),
        longer(
            &format!(
                "/analysis/metrics/0/dimensions/0{}",
                "d".repeat(MAX_DIMENSION_NAME - 1)
            ),
            "v",
        ),
        more_alarms,
        more_steps,
        more_metrics,
        more_dimensions,
    ] {
        assert!(
            matches!(validate(&too_long), Err(Error::InvalidRequest { .. })),
            "accepted a request past the limits: update longest_request()"
        );
    }
}

/// The longest hook reason: `interpret_hook_reply` on each kind of 6 MB reply, the longest once serialized.
fn longest_hook_outcome() -> HookOutcome {
    let mut outcomes = Vec::new();
    for unit in UNITS {
        let long = six_mb_of(unit);
        let failed = json!({"status": "Failed", "reason": long}).to_string();
        let crashed = json!({"errorType": "HookError", "errorMessage": long}).to_string();
        for (function_error, payload) in [
            (None, failed.into_bytes()),
            (Some("Unhandled".to_string()), crashed.into_bytes()),
            (None, long.clone().into_bytes()),
        ] {
            assert!(payload.len() >= SIX_MB);
            let verdict = interpret_hook_reply(&HookReply {
                function_error,
                payload,
            });
            assert!(!verdict.succeeded);
            assert!(verdict.reason.as_ref().unwrap().len() <= MAX_OUTSIDE_TEXT);
            outcomes.push(HookOutcome::new(HookPhase::PostTraffic, verdict));
        }
    }
    longest(outcomes)
}

/// The longest error a Catch can record from one of shifter's functions: its message holds a 6 MB AWS error
/// message as the AWS adapters keep it (capped: shared/src/aws/errors.rs, errors_tests.rs).
fn longest_caught_error() -> StateError {
    let errors = UNITS.map(|unit| {
        let error = Error::AliasChanged {
            alias: "a".repeat(128),
            message: cap(&six_mb_of(unit), MAX_OUTSIDE_TEXT),
        };
        let caught = TaskError::lambda(error.error_type(), &error.to_string());
        StateError {
            error: caught.error,
            cause: Some(caught.cause),
        }
    });
    longest(errors.to_vec())
}

fn longest<T: serde::Serialize>(items: Vec<T>) -> T {
    items
        .into_iter()
        .max_by_key(|i| serde_json::to_string(i).unwrap().len())
        .unwrap()
}

/// The longest analysis report: evidence past its cap, of the character JSON escapes (`"`), and every number at
/// its longest.
fn longest_report() -> AnalysisReport {
    let checks = (0..20)
        .map(|i| CheckResult {
            check: format!("c{i}"),
            outcome: Outcome::Failed,
            evidence: "\"".repeat(MAX_EVIDENCE),
        })
        .collect();
    let verdict = AnalysisVerdict {
        outcome: Outcome::Failed,
        checks,
    };
    let report = AnalysisReport::new(
        &verdict,
        Decision::Fail,
        ("9999999999", "9999999998"),
        (u64::MAX, u64::MAX),
        u64::MAX,
    );
    assert!(report.evidence.len() <= MAX_EVIDENCE);
    report
}

/// A state with every field at its longest at once: the largest Rollout, a verdict with every alarm failing,
/// the longest hook outcome, caught errors at both Catches, and the longest reason Rollback can write.
fn largest_state() -> RolloutState {
    let spec = validate(&longest_request()).unwrap();
    let function_arn = spec.function_name.clone();
    let rollout = Rollout {
        schema_version: SCHEMA_VERSION,
        rollout_id: "r".repeat(80), // an execution name is at most 80 characters
        function_name: spec.function_name,
        target_version_arn: format!("{function_arn}:9999999999"),
        function_arn,
        alias: spec.alias,
        current_version: "9999999998".into(),
        target_version: "9999999999".into(),
        strategy: spec.strategy_name,
        plan: spec.plan,
        steps_done: MAX_STEPS - 1,
        weight_bps: 9_999,
        revision_id: "3b3b9d3c-0f4e-4f3e-9a57-1b8a0e2c6d7f".into(),
        checked_ms: u64::MAX,
        started_ms: u64::MAX,
        // The longest ARN of an execution: a state machine name and an execution name of 80 characters each.
        execution_arn: Some(format!(
            "arn:aws:states:us-east-1:123456789012:execution:{}:{}",
            "m".repeat(80),
            "r".repeat(80)
        )),
        started_by: Some("eventbridge".into()),
        // A rollout a Custom::ShifterAlias started carries where to answer, each field at its longest.
        cloud_formation: Some(shifter::custom_resource::StackReply {
            response_url: "u".repeat(shifter::custom_resource::MAX_RESPONSE_URL),
            stack_id: "s".repeat(shifter::custom_resource::MAX_REPLY_FIELD),
            request_id: "q".repeat(shifter::custom_resource::MAX_REPLY_FIELD),
            logical_resource_id: "l".repeat(shifter::custom_resource::MAX_REPLY_FIELD),
            physical_resource_id: "p".repeat(shifter::custom_resource::MAX_REPLY_FIELD),
        }),
        hooks: spec.hooks,
        alarms: spec.alarms,
        insufficient_data: spec.insufficient_data,
        notification_topic_arn: spec.notification_topic_arn,
        analysis: spec.analysis,
        step_started_ms: u64::MAX,
        bake_left_seconds: u32::MAX,
        extended_seconds: u32::MAX,
        analysed_ms: u64::MAX,
        last_analysis: Some(longest_report()),
    };
    let firing: Vec<AlarmStatus> = rollout
        .alarms
        .iter()
        .map(|name| AlarmStatus {
            name: name.clone(),
            state: AlarmState::Alarm,
            transitioned_ms: Some(u64::MAX),
        })
        .collect();
    let verdict = judge(&rollout.alarms, &firing, &[], rollout.insufficient_data)
        .with_analysis(longest_report());
    assert_eq!(verdict.failing.len(), MAX_ALARMS);
    let mut state = RolloutState::new(rollout);
    state.wait_seconds = MAX_TOTAL_SECONDS as u32;
    state.done = true;
    // Rollback's reason is the failure_reason of the state it got: one cause at a time.
    let only = |f: &dyn Fn(&mut RolloutState)| {
        let mut s = state.clone();
        f(&mut s);
        s.failure_reason().unwrap()
    };
    let (hook, caught) = (longest_hook_outcome(), longest_caught_error());
    let reasons = vec![
        only(&|s| s.error = Some(caught.clone())),
        only(&|s| s.hook = Some(hook.clone())),
        only(&|s| s.verdict = Some(verdict.clone())),
    ];
    state.reason = Some(longest(reasons));
    state.verdict = Some(verdict);
    state.hook = Some(hook);
    state.error = Some(caught.clone());
    state.rollback_error = Some(caught);
    state.end_error = Some("AliasChanged".into());
    state.left_alone = Some(shifter::domain::Routing::split(
        "9999999998",
        "9999999999",
        9_999,
    ));
    state
}

fn size(value: &impl serde::Serialize) -> usize {
    serde_json::to_string(value).unwrap().len()
}

#[test]
fn the_largest_state_stays_far_below_the_step_functions_limit() {
    let state = largest_state();
    state.check_schema().unwrap();
    let hook = state.hook.as_ref().unwrap();
    assert!(hook.reason.as_ref().unwrap().len() <= MAX_OUTSIDE_TEXT);
    let request = longest_request();
    let caught = state.error.clone().unwrap();
    let mut prepare_caught = serde_json::to_value(PrepareInput {
        schema_version: STATE_SCHEMA_VERSION,
        rollout_id: "r".repeat(80),
        request,
        execution_arn: None,
    })
    .unwrap();
    prepare_caught["error"] = serde_json::to_value(&caught).unwrap();
    let sizes = [
        ("RolloutState", size(&state)),
        (
            "HookInput",
            size(&HookInput {
                schema_version: STATE_SCHEMA_VERSION,
                phase: HookPhase::PostTraffic,
                state: state.clone(),
            }),
        ),
        (
            "NotifyInput",
            size(&NotifyInput {
                schema_version: STATE_SCHEMA_VERSION,
                event: EventType::RollbackFailed,
                state: state.clone(),
            }),
        ),
        ("PrepareInput with a caught error", size(&prepare_caught)),
    ];
    for (what, bytes) in sizes {
        println!("{what}: {bytes} bytes");
        assert!(
            bytes <= STATE_BUDGET,
            "{what} is {bytes} bytes: over the {STATE_BUDGET}-byte budget (Step Functions' limit: {AWS_LIMIT})"
        );
    }
}

/// What SNS counts towards its limit: the message, the subject and the attributes.
fn sns_size(n: &Notification) -> usize {
    let attributes: usize = n.attributes().iter().map(|(k, v)| k.len() + v.len()).sum();
    n.to_json().len() + n.subject().len() + attributes
}

#[tokio::test]
async fn the_largest_notifications_stay_far_below_the_sns_limit() {
    let mut state = largest_state();
    // A Cause Step Functions wrote as it is, 6 MB long: its message is read back capped.
    state.rollback_error = Some(StateError {
        error: "Lambda.Unknown".into(),
        cause: Some(six_mb_of("\u{1}")),
    });
    let rollout = state.rollout.clone();
    let topic = rollout.notification_topic_arn.clone().unwrap();
    let aws = FakeAws::new();
    aws.add_topic(&topic);
    // The RollbackFailed reason joins the most parts: published by the real Notify function.
    shifter_notify::handle(
        &aws,
        NotifyInput {
            schema_version: STATE_SCHEMA_VERSION,
            event: EventType::RollbackFailed,
            state: state.clone(),
        },
    )
    .await
    .unwrap();
    let mut notifications: Vec<Notification> =
        aws.notifications().into_iter().map(|(_, n)| n).collect();
    assert_eq!(notifications.len(), 1);
    let longest_reason = notifications[0].reason.clone().unwrap();
    for event in EventType::ALL {
        for reason in [longest_reason.clone(), six_mb_of("\u{1}"), six_mb_of("é")] {
            notifications.push(
                Notification::new(event, &rollout)
                    .with_phase(HookPhase::PostTraffic)
                    .with_reason(reason)
                    .with_error_type("ResourceNotFound"),
            );
        }
    }
    for n in &notifications {
        let subject = n.subject();
        assert!(!subject.is_empty() && subject.len() < 100, "{subject}");
        let bytes = sns_size(n);
        assert!(
            bytes <= MESSAGE_BUDGET,
            "{:?} is {bytes} bytes: over the {MESSAGE_BUDGET}-byte budget (SNS's limit: {AWS_LIMIT})",
            n.event_type
        );
    }
    let largest = notifications.iter().map(sns_size).max().unwrap();
    println!("largest notification: {largest} bytes");
}
