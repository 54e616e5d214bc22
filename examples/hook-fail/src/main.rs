//! A hook that always fails, to see a rollout stop: before traffic it answers `{"status":"Failed"}`; after
//! traffic it raises a function error. Together they exercise both failure shapes shifter must handle.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let phase = event
        .payload
        .get("phase")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let version = event
        .payload
        .get("targetVersion")
        .and_then(Value::as_str)
        .unwrap_or("?");
    if phase == "postTraffic" {
        return Err(format!(
            "example-hook-fail: version {version} failed its post-traffic check on purpose"
        )
        .into());
    }
    Ok(
        json!({ "status": "Failed", "reason": format!("version {version} failed its {phase} check on purpose") }),
    )
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(handle)).await
}
