//! A smoke-test hook. shifter invokes it with the hook event (`rolloutId`, `phase`, `targetVersionArn`, ...);
//! it invokes the target version itself (the qualified ARN, so the alias's weights do not matter) with a
//! sample event and passes when the reply has the expected status code.
//!
//! Configuration: `SMOKE_EVENT` (JSON, default `{"path":"/health"}`) and `SMOKE_EXPECT_STATUS` (default 200).

use aws_sdk_lambda::primitives::Blob;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn handle(
    client: &aws_sdk_lambda::Client,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let Some(target) = event
        .payload
        .get("targetVersionArn")
        .and_then(Value::as_str)
    else {
        return Ok(failed("the hook event has no targetVersionArn"));
    };
    let sample =
        std::env::var("SMOKE_EVENT").unwrap_or_else(|_| r#"{"path":"/health"}"#.to_string());
    let expected: i64 = std::env::var("SMOKE_EXPECT_STATUS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let reply = client
        .invoke()
        .function_name(target)
        .payload(Blob::new(sample))
        .send()
        .await?;
    let body: Value = reply
        .payload()
        .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
        .unwrap_or(Value::Null);
    if let Some(kind) = reply.function_error() {
        let message = body
            .get("errorMessage")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Ok(failed(&format!(
            "{target} raised a function error ({kind}): {message}"
        )));
    }
    match body.get("statusCode").and_then(Value::as_i64) {
        Some(code) if code == expected => Ok(json!({ "status": "Succeeded" })),
        other => Ok(failed(&format!(
            "{target} answered statusCode {other:?}, expected {expected}"
        ))),
    }
}

fn failed(reason: &str) -> Value {
    json!({ "status": "Failed", "reason": reason })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_lambda::Client::new(&config);
    lambda_runtime::run(service_fn(|event| handle(&client, event))).await
}
