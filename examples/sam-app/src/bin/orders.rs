//! `orders`: the function this SAM app ships, a stand-in for your own. shifter rolls each new version of it out
//! on the `live` alias (see template.yaml).
//!
//! - `{"path": "/health"}` answers `{"statusCode": 200, ...}`: the smoke hook's probe.
//! - anything else is an order: `{"orderId": "o-1"}` answers `{"statusCode": 200, "body": {"status": "accepted", ...}}`.
//!
//! Every reply names the version that served it, so invoking the `live` alias during a rollout shows the split.
//! `ORDERS_FAIL_PERCENT` (0-100, default 0) makes that share of orders fail with a function error, for trying a
//! rollback: the health probe keeps passing, so the smoke hook lets the version through and the errors alarm
//! catches it once it takes traffic.

use std::hash::{DefaultHasher, Hash, Hasher};

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

/// How the function is set up, read once per sandbox.
struct Config {
    /// The version serving this sandbox (Lambda sets `AWS_LAMBDA_FUNCTION_VERSION`).
    version: String,
    /// The share of orders to fail on purpose, 0-100.
    fail_percent: u64,
}

impl Config {
    fn from_env() -> Self {
        let fail_percent = std::env::var("ORDERS_FAIL_PERCENT")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0)
            .min(100);
        Self {
            version: std::env::var("AWS_LAMBDA_FUNCTION_VERSION")
                .unwrap_or_else(|_| "$LATEST".to_string()),
            fail_percent,
        }
    }
}

/// A number in 0..100 drawn from the request id: spreads `ORDERS_FAIL_PERCENT` over requests without a
/// random-number crate, and the same request id always gets the same answer.
fn roll(request_id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    request_id.hash(&mut h);
    h.finish() % 100
}

fn respond(config: &Config, request: &Value, roll: u64) -> Result<Value, Error> {
    if request.get("path").and_then(Value::as_str) == Some("/health") {
        return Ok(json!({
            "statusCode": 200,
            "body": { "service": "orders", "healthy": true, "version": config.version }
        }));
    }
    if roll < config.fail_percent {
        return Err(format!(
            "orders version {} failed this order on purpose (ORDERS_FAIL_PERCENT={})",
            config.version, config.fail_percent
        )
        .into());
    }
    let order_id = request
        .get("orderId")
        .and_then(Value::as_str)
        .unwrap_or("unnamed");
    Ok(json!({
        "statusCode": 200,
        "body": { "orderId": order_id, "status": "accepted", "version": config.version }
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let dice = roll(&event.context.request_id);
        let reply = respond(&config, &event.payload, dice);
        async move { reply }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(fail_percent: u64) -> Config {
        Config {
            version: "7".to_string(),
            fail_percent,
        }
    }

    #[test]
    fn the_health_probe_passes_and_names_the_version_even_when_orders_fail() {
        let reply = respond(&config(100), &json!({"path": "/health"}), 0).unwrap();
        assert_eq!(reply["statusCode"], 200);
        assert_eq!(reply["body"]["healthy"], true);
        assert_eq!(reply["body"]["version"], "7");
    }

    #[test]
    fn an_order_is_accepted_by_a_healthy_version() {
        let reply = respond(&config(0), &json!({"orderId": "o-1"}), 0).unwrap();
        assert_eq!(reply["statusCode"], 200);
        assert_eq!(reply["body"]["orderId"], "o-1");
        assert_eq!(reply["body"]["status"], "accepted");
        assert_eq!(reply["body"]["version"], "7");
    }

    #[test]
    fn fail_percent_fails_the_rolls_below_it() {
        let order = json!({"orderId": "o-1"});
        assert!(respond(&config(30), &order, 29).is_err());
        assert!(respond(&config(30), &order, 30).is_ok());
        assert!(respond(&config(100), &order, 99).is_err());
        assert!(respond(&config(0), &order, 0).is_ok());
    }

    #[test]
    fn rolls_are_in_range_and_spread_out() {
        let rolls: Vec<u64> = (0..1000).map(|i| roll(&format!("req-{i}"))).collect();
        assert!(rolls.iter().all(|r| *r < 100));
        let below_half = rolls.iter().filter(|r| **r < 50).count();
        assert!(
            (350..=650).contains(&below_half),
            "{below_half} of 1000 below 50"
        );
        assert_eq!(roll("same"), roll("same"));
    }
}
