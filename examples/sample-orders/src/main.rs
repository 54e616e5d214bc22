//! A stand-in for the function a team ships: the demo and the tests roll it out. It answers a health probe,
//! and fails on request (`{"fail": true}`) so a smoke hook can be seen failing.
//!
//! Canary analysis needs versions that behave differently under the same traffic, so two settings come from
//! the environment, which on AWS every published version keeps its own snapshot of:
//! - `SAMPLE_FAIL_PERCENT` (0 to 100, decimals allowed, e.g. `0.5`): that share of invocations fails with a
//!   function error. The failures follow a fixed sequence, not chance: of the first `n` invocations of one
//!   execution environment exactly `floor(n * percent / 100)` fail (10% fails the 10th, 20th, ... call), so a
//!   test can predict the counts.
//! - `SAMPLE_EXTRA_LATENCY_MS` (whole milliseconds): every invocation waits that long before answering.
//!
//! Both default to 0; a value that does not parse stops the function at start-up (an init error), so a typo
//! never passes for a healthy version. On the local harness, `cargo lambda watch` gives every version one
//! process environment; the harness runs versions that carry their own variables in processes with those
//! variables (docs/local-aws.md, "Per-version environments").

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

const FAIL_PERCENT: &str = "SAMPLE_FAIL_PERCENT";
const EXTRA_LATENCY_MS: &str = "SAMPLE_EXTRA_LATENCY_MS";

/// The behaviour set through the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Settings {
    /// Failure rate in hundredths of a percent (10% = 1000).
    fail_basis_points: u64,
    extra_latency_ms: u64,
}

impl Settings {
    fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let fail_basis_points = match get(FAIL_PERCENT) {
            None => 0,
            Some(raw) => parse_percent(&raw).ok_or_else(|| {
                format!(
                    "{FAIL_PERCENT}={raw:?}: expected a percentage from 0 to 100, e.g. 10 or 0.5"
                )
            })?,
        };
        let extra_latency_ms = match get(EXTRA_LATENCY_MS) {
            None => 0,
            Some(raw) => raw.trim().parse::<u64>().map_err(|_| {
                format!("{EXTRA_LATENCY_MS}={raw:?}: expected whole milliseconds, e.g. 50")
            })?,
        };
        Ok(Settings {
            fail_basis_points,
            extra_latency_ms,
        })
    }
}

/// "10" -> 1000, "0.5" -> 50, "12.25" -> 1225 (hundredths of a percent); None outside 0..=100 or finer than
/// a hundredth.
fn parse_percent(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty()
        || raw.ends_with('.')
        || frac.len() > 2
        || !(whole.chars().chain(frac.chars())).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let frac: u64 = format!("{frac:0<2}").parse().ok()?;
    let bp = whole.checked_mul(100)?.checked_add(frac)?;
    (bp <= 10_000).then_some(bp)
}

/// Whether the `n`-th invocation (1-based) fails: exactly when `floor(n * rate)` steps up, so the first `n`
/// invocations hold exactly `floor(n * rate)` failures.
fn fails(n: u64, fail_basis_points: u64) -> bool {
    n * fail_basis_points / 10_000 > (n - 1) * fail_basis_points / 10_000
}

struct Orders {
    settings: Settings,
    invocations: AtomicU64,
}

impl Orders {
    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let n = self.invocations.fetch_add(1, Ordering::SeqCst) + 1;
        if self.settings.extra_latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.settings.extra_latency_ms)).await;
        }
        if event.payload.get("fail").and_then(Value::as_bool) == Some(true) {
            return Err("sample-orders was asked to fail".into());
        }
        if fails(n, self.settings.fail_basis_points) {
            return Err(format!(
                "sample-orders: invocation {n} fails ({FAIL_PERCENT}={}%)",
                self.settings.fail_basis_points as f64 / 100.0
            )
            .into());
        }
        Ok(json!({ "statusCode": 200, "body": { "service": "orders", "healthy": true } }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env(|key| std::env::var(key).ok())?;
    let orders = Orders {
        settings,
        invocations: AtomicU64::new(0),
    };
    let orders = &orders;
    lambda_runtime::run(service_fn(move |event| orders.handle(event))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Context;

    fn settings(fail: Option<&str>, latency: Option<&str>) -> Result<Settings, String> {
        Settings::from_env(|key| match key {
            FAIL_PERCENT => fail.map(str::to_string),
            EXTRA_LATENCY_MS => latency.map(str::to_string),
            _ => None,
        })
    }

    fn orders(fail_basis_points: u64, extra_latency_ms: u64) -> Orders {
        Orders {
            settings: Settings {
                fail_basis_points,
                extra_latency_ms,
            },
            invocations: AtomicU64::new(0),
        }
    }

    fn event(payload: Value) -> LambdaEvent<Value> {
        LambdaEvent::new(payload, Context::default())
    }

    #[test]
    fn settings_default_to_zero_and_parse_percentages() {
        assert_eq!(settings(None, None), Ok(Settings::default()));
        assert_eq!(
            settings(Some("10"), Some("250")),
            Ok(Settings {
                fail_basis_points: 1000,
                extra_latency_ms: 250
            })
        );
        assert_eq!(parse_percent("0.5"), Some(50));
        assert_eq!(parse_percent(" 12.25 "), Some(1225));
        assert_eq!(parse_percent("100"), Some(10_000));
        assert_eq!(parse_percent("0"), Some(0));
        for bad in ["", "-1", "100.01", "101", "1e1", "0.125", "ten", ".5", "5."] {
            assert_eq!(parse_percent(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bad_settings_are_refused_naming_the_variable() {
        let err = settings(Some("10%"), None).unwrap_err();
        assert!(err.contains("SAMPLE_FAIL_PERCENT"), "{err}");
        let err = settings(None, Some("-5")).unwrap_err();
        assert!(err.contains("SAMPLE_EXTRA_LATENCY_MS"), "{err}");
    }

    #[test]
    fn the_failure_sequence_is_exact_over_every_hundred_calls() {
        for (bp, per_hundred) in [(0, 0), (1000, 10), (2500, 25), (10_000, 100), (700, 7)] {
            let failed: Vec<u64> = (1..=1000).filter(|&n| fails(n, bp)).collect();
            for window in 0..10 {
                let in_window = failed
                    .iter()
                    .filter(|&&n| n > window * 100 && n <= (window + 1) * 100)
                    .count();
                assert_eq!(in_window as u64, per_hundred, "{bp} bp, window {window}");
            }
        }
        // 10%: the 10th, 20th, ... invocation fails, never the first.
        let first: Vec<u64> = (1..=30).filter(|&n| fails(n, 1000)).collect();
        assert_eq!(first, vec![10, 20, 30]);
        // 0.5%: exactly one in every 200.
        assert_eq!((1..=1000).filter(|&n| fails(n, 50)).count(), 5);
    }

    #[tokio::test]
    async fn a_handler_fails_exactly_its_share() {
        let orders = orders(1000, 0);
        let mut failed = 0;
        for _ in 0..100 {
            if orders.handle(event(json!({}))).await.is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 10);
        let healthy = self::orders(0, 0);
        for _ in 0..100 {
            assert!(healthy.handle(event(json!({}))).await.is_ok());
        }
        assert!(healthy.handle(event(json!({"fail": true}))).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_added_latency_delays_every_answer() {
        let orders = orders(0, 250);
        let started = tokio::time::Instant::now();
        orders.handle(event(json!({}))).await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_millis(250));
        let quick = self::orders(0, 0);
        let started = tokio::time::Instant::now();
        quick.handle(event(json!({}))).await.unwrap();
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
