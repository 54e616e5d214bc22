//! `orders-smoke`: the pre-traffic hook of the `live` alias. shifter invokes it synchronously, before any
//! traffic moves, with the hook event below; it invokes the new version directly (its qualified ARN, so the
//! alias's weights play no part) with a health probe, and returns its verdict:
//! `{"status": "Succeeded"}` or `{"status": "Failed", "reason": "..."}`.
//!
//! That return value is the whole contract: no `codedeploy:PutLifecycleEventHookExecutionStatus` call, no
//! deployment or execution ids to pass back. A function error or a timeout counts as a failure too.
//!
//! Configuration: `SMOKE_EVENT` (JSON, default `{"path":"/health"}`) and `SMOKE_EXPECT_STATUS` (default 200).

use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::primitives::Blob;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What shifter sends a hook (fields it may add later are ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // every field is shown for reference; the smoke test needs only a few
struct HookEvent {
    rollout_id: String,
    /// `preTraffic` or `postTraffic`.
    phase: String,
    function_name: String,
    alias: String,
    /// The version the alias serves now.
    current_version: String,
    /// The version being rolled out, and its qualified ARN.
    target_version: String,
    target_version_arn: String,
    /// The new version's share of the alias's traffic: 0 before traffic, 100 after.
    weight_percent: f64,
}

/// What a hook returns.
#[derive(Debug, PartialEq, Serialize)]
#[serde(tag = "status")]
enum Verdict {
    Succeeded,
    Failed { reason: String },
}

fn failed(reason: impl Into<String>) -> Verdict {
    Verdict::Failed {
        reason: reason.into(),
    }
}

/// Judges the probe's reply: no function error, the expected `statusCode`, and served by the version under
/// test (when the reply names one).
fn judge(
    event: &HookEvent,
    function_error: Option<&str>,
    payload: &[u8],
    expected_status: i64,
) -> Verdict {
    let target = &event.target_version_arn;
    let body: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    if let Some(kind) = function_error {
        let message = body
            .get("errorMessage")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return failed(format!(
            "{target} raised a function error ({kind}): {message}"
        ));
    }
    match body.get("statusCode").and_then(Value::as_i64) {
        Some(code) if code == expected_status => {}
        other => {
            return failed(format!(
                "{target} answered statusCode {other:?}, expected {expected_status}"
            ))
        }
    }
    match body.pointer("/body/version").and_then(Value::as_str) {
        Some(served) if served != event.target_version => failed(format!(
            "the probe of {target} was served by version {served}, not {}",
            event.target_version
        )),
        _ => Verdict::Succeeded,
    }
}

async fn handle(
    client: &aws_sdk_lambda::Client,
    event: LambdaEvent<Value>,
) -> Result<Verdict, Error> {
    let event: HookEvent = match serde_json::from_value(event.payload) {
        Ok(event) => event,
        Err(e) => return Ok(failed(format!("not a shifter hook event: {e}"))),
    };
    let probe =
        std::env::var("SMOKE_EVENT").unwrap_or_else(|_| r#"{"path":"/health"}"#.to_string());
    let expected_status = std::env::var("SMOKE_EXPECT_STATUS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let reply = match client
        .invoke()
        .function_name(&event.target_version_arn)
        .payload(Blob::new(probe))
        .send()
        .await
    {
        Ok(reply) => reply,
        Err(e) => {
            return Ok(failed(format!(
                "could not invoke {}: {}",
                event.target_version_arn,
                DisplayErrorContext(&e)
            )))
        }
    };
    let payload = reply.payload().map(|p| p.as_ref()).unwrap_or_default();
    let verdict = judge(&event, reply.function_error(), payload, expected_status);
    lambda_runtime::tracing::info!(
        rollout_id = %event.rollout_id,
        phase = %event.phase,
        target = %event.target_version_arn,
        verdict = ?verdict,
        "smoke test done"
    );
    Ok(verdict)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_lambda::Client::new(&config);
    lambda_runtime::run(service_fn(|event| handle(&client, event))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> HookEvent {
        serde_json::from_value(json!({
            "rolloutId": "r-1", "phase": "preTraffic", "functionName": "orders", "alias": "live",
            "currentVersion": "6", "targetVersion": "7",
            "targetVersionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders:7",
            "weightPercent": 0, "aFieldFromLater": true
        }))
        .unwrap()
    }

    fn reply(body: Value) -> Vec<u8> {
        body.to_string().into_bytes()
    }

    #[test]
    fn verdicts_serialize_as_shifter_reads_them() {
        assert_eq!(
            serde_json::to_value(Verdict::Succeeded).unwrap(),
            json!({"status": "Succeeded"})
        );
        assert_eq!(
            serde_json::to_value(failed("boom")).unwrap(),
            json!({"status": "Failed", "reason": "boom"})
        );
    }

    #[test]
    fn a_healthy_reply_from_the_target_version_passes() {
        let body = reply(json!({"statusCode": 200, "body": {"healthy": true, "version": "7"}}));
        assert_eq!(judge(&event(), None, &body, 200), Verdict::Succeeded);
        let unversioned = reply(json!({"statusCode": 200}));
        assert_eq!(judge(&event(), None, &unversioned, 200), Verdict::Succeeded);
    }

    #[test]
    fn a_function_error_fails_with_its_message() {
        let body = reply(json!({"errorType": "E", "errorMessage": "panicked"}));
        let Verdict::Failed { reason } = judge(&event(), Some("Unhandled"), &body, 200) else {
            panic!("passed")
        };
        assert!(
            reason.contains("function error (Unhandled): panicked"),
            "{reason}"
        );
        assert!(reason.contains("function:orders:7"), "{reason}");
    }

    #[test]
    fn a_wrong_or_missing_status_code_fails() {
        for body in [
            json!({"statusCode": 500}),
            json!({"ok": true}),
            json!("text"),
        ] {
            let Verdict::Failed { reason } = judge(&event(), None, &reply(body), 200) else {
                panic!("passed")
            };
            assert!(reason.contains("expected 200"), "{reason}");
        }
        let Verdict::Failed { .. } = judge(&event(), None, b"not json", 200) else {
            panic!("passed")
        };
    }

    #[test]
    fn a_reply_from_another_version_fails() {
        let body = reply(json!({"statusCode": 200, "body": {"version": "6"}}));
        let Verdict::Failed { reason } = judge(&event(), None, &body, 200) else {
            panic!("passed")
        };
        assert!(reason.contains("served by version 6, not 7"), "{reason}");
    }

    #[test]
    fn the_hook_event_needs_the_target_version_arn() {
        let missing = json!({"rolloutId": "r-1", "phase": "preTraffic"});
        assert!(serde_json::from_value::<HookEvent>(missing).is_err());
    }
}
