//! Lambda's control-plane budget, for the scale simulation: a token bucket per quota, answering
//! `TooManyRequestsException` past it, behind a model of the SDK's own retries.
//!
//! Lambda's quotas page: "Control plane API requests (excludes invocation, GetFunction, and GetPolicy
//! requests)": 15 per second per account and Region, not increasable, and shared with every other tool in the
//! account; GetFunction has its own 100 per second. The bucket's refill and burst are a model: AWS does not
//! publish its algorithm, only the rate.
//!
//! Time is tokio's (`tokio::time::Instant`), so a test under `start_paused` runs hours of rollouts in seconds
//! and the SDK's backoff sleeps cost nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::{FakeAws, Op};
use crate::error::{Error, Result};

/// One quota: `per_second` tokens a second, holding at most `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub per_second: f64,
    pub burst: f64,
}

impl Quota {
    /// The control-plane quota: 15 requests a second (a second's worth of burst).
    pub const CONTROL_PLANE: Quota = Quota {
        per_second: 15.0,
        burst: 15.0,
    };
    /// GetFunction's own quota: 100 requests a second.
    pub const GET_FUNCTION: Quota = Quota {
        per_second: 100.0,
        burst: 100.0,
    };
}

/// The SDK's standard retry mode as the fake plays it: `max_attempts` attempts in all; before retry `n`
/// (1-based) it sleeps a random fraction of `initial_backoff × 2^(n-1)`, capped at `max_backoff` ("full
/// jitter"). A call still throttled after the last attempt fails with [`Error::Throttled`], as the adapters
/// report it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SdkRetry {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl SdkRetry {
    /// What `shifter::aws::retry_config` sets on the Lambda client.
    pub fn shifter() -> Self {
        let config = crate::aws::retry_config();
        SdkRetry {
            max_attempts: config.max_attempts(),
            initial_backoff: config.initial_backoff(),
            max_backoff: config.max_backoff(),
        }
    }
}

/// What the budget saw: admitted and throttled attempts per op.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BudgetStats {
    pub admitted: BTreeMap<Op, usize>,
    pub throttled: BTreeMap<Op, usize>,
    /// Calls that failed after the SDK's last attempt (each is a Task failure the state machine retries).
    pub surfaced: usize,
}

#[derive(Debug)]
struct Bucket {
    quota: Quota,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(quota: Quota) -> Self {
        Bucket {
            quota,
            tokens: quota.burst,
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.quota.per_second;
        self.tokens = (self.tokens + refill).min(self.quota.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
pub(super) struct Budget {
    control_plane: Bucket,
    get_function: Bucket,
    sdk: SdkRetry,
    rng: u64,
    stats: BudgetStats,
}

impl Budget {
    fn bucket(&mut self, op: Op) -> Option<&mut Bucket> {
        match op {
            Op::ReadAlias
            | Op::WriteAlias
            | Op::VersionInfo
            | Op::PublishVersion
            | Op::CreateAlias
            | Op::DeleteAlias => Some(&mut self.control_plane),
            Op::DescribeFunction => Some(&mut self.get_function),
            _ => None,
        }
    }

    /// Deterministic (splitmix64), so a simulation gives the same figures every run.
    fn random(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(crate::retry::SPLITMIX_GAMMA);
        crate::retry::fraction(self.rng)
    }
}

impl FakeAws {
    /// Puts Lambda's control plane behind `control_plane` (GetFunction behind its own 100/s), with the SDK's
    /// retries played by `sdk`. `seed` makes the jitter repeatable.
    pub fn limit_lambda(&self, control_plane: Quota, sdk: SdkRetry, seed: u64) -> &Self {
        self.lock().budget = Some(Budget {
            control_plane: Bucket::new(control_plane),
            get_function: Bucket::new(Quota::GET_FUNCTION),
            sdk,
            rng: seed,
            stats: BudgetStats::default(),
        });
        self
    }

    /// What the budget admitted and throttled so far (empty without [`FakeAws::limit_lambda`]).
    pub fn budget_stats(&self) -> BudgetStats {
        self.lock()
            .budget
            .as_ref()
            .map(|b| b.stats.clone())
            .unwrap_or_default()
    }

    /// Waits for the budget to admit a call of `op`, as the SDK would: throttled attempts back off, and the
    /// last one fails with [`Error::Throttled`], as the adapters report `TooManyRequestsException`.
    pub(super) async fn admit(&self, op: Op) -> Result<()> {
        for attempt in 1.. {
            let backoff = {
                let mut st = self.lock();
                let Some(budget) = st.budget.as_mut() else {
                    return Ok(());
                };
                let sdk = budget.sdk;
                let Some(bucket) = budget.bucket(op) else {
                    return Ok(());
                };
                if bucket.take() {
                    *budget.stats.admitted.entry(op).or_default() += 1;
                    return Ok(());
                }
                *budget.stats.throttled.entry(op).or_default() += 1;
                if attempt >= sdk.max_attempts {
                    budget.stats.surfaced += 1;
                    return Err(Error::Throttled {
                        operation: format!("{op:?}"),
                        message: format!(
                            "TooManyRequestsException: Rate exceeded (after {attempt} attempts)"
                        ),
                    });
                }
                crate::retry::backoff(sdk.initial_backoff, 2.0, attempt, sdk.max_backoff)
                    .mul_f64(budget.random())
            };
            tokio::time::sleep(backoff).await;
        }
        unreachable!("the loop returns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Routing;
    use crate::ports::AliasRouter;

    fn sdk(max_attempts: u32) -> SdkRetry {
        SdkRetry {
            max_attempts,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }

    fn account() -> FakeAws {
        let aws = FakeAws::new();
        aws.add_function("f");
        aws.publish("f", "c1");
        aws.add_alias("f", "live", Routing::single("1"));
        aws
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_burst_calls_are_throttled_until_tokens_refill() {
        let aws = account();
        aws.limit_lambda(Quota::CONTROL_PLANE, sdk(1), 7);
        let mut ok = 0;
        for _ in 0..20 {
            if aws.read_alias("f", "live").await.is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 15, "a second's burst, then TooManyRequests");
        let stats = aws.budget_stats();
        assert_eq!(stats.throttled[&Op::ReadAlias], 5);
        assert_eq!(stats.surfaced, 5);
        let err = aws.read_alias("f", "live").await.unwrap_err();
        assert_eq!(err.error_type(), "Throttled");
        assert!(
            err.to_string().contains("TooManyRequestsException"),
            "{err}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(aws.read_alias("f", "live").await.is_ok(), "3 tokens back");
    }

    #[tokio::test(start_paused = true)]
    async fn the_sdk_backs_off_and_gets_through_when_tokens_come_back() {
        let aws = account();
        aws.limit_lambda(Quota::CONTROL_PLANE, sdk(3), 7);
        for _ in 0..15 {
            aws.read_alias("f", "live").await.unwrap();
        }
        let start = Instant::now();
        aws.read_alias("f", "live").await.unwrap();
        assert!(start.elapsed() > Duration::ZERO, "it slept before a retry");
        assert!(
            start.elapsed() <= Duration::from_secs(3),
            "1 s then 2 s at most"
        );
        assert_eq!(aws.budget_stats().surfaced, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn invocations_and_other_services_are_outside_the_budget() {
        let aws = account();
        aws.limit_lambda(
            Quota {
                per_second: 1.0,
                burst: 1.0,
            },
            sdk(1),
            7,
        );
        aws.read_alias("f", "live").await.unwrap();
        assert!(aws.read_alias("f", "live").await.is_err());
        for _ in 0..5 {
            crate::ports::FunctionRegistry::describe_function(&aws, "f")
                .await
                .unwrap();
        }
        let stats = aws.budget_stats();
        assert_eq!(
            stats.admitted[&Op::DescribeFunction],
            5,
            "GetFunction: 100/s"
        );
    }

    #[test]
    fn without_a_budget_nothing_is_counted() {
        assert_eq!(FakeAws::new().budget_stats(), BudgetStats::default());
    }
}
