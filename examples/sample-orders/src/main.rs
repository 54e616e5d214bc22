//! A stand-in for the function a team ships: the demo and the tests roll it out. It answers a health probe,
//! and fails on request (`{"fail": true}`) so a smoke hook can be seen failing.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    if event.payload.get("fail").and_then(Value::as_bool) == Some(true) {
        return Err("sample-orders was asked to fail".into());
    }
    Ok(json!({ "statusCode": 200, "body": { "service": "orders", "healthy": true } }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(handle)).await
}
