//! The retry policy, in one table for both drivers: the state machine's Retry blocks
//! (`statemachine/rollout.asl.json`, which a contract test checks against [`TASKS`]) and the local driver,
//! which applies the same rules to the same use cases with [`Retrier`].
//!
//! Step Functions semantics: `max_attempts` retries after the first attempt; the n-th retry waits
//! `interval_seconds * backoff_rate^(n-1)`.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::ports::Clock;

/// Lambda's service errors: the function did not run (or its answer was lost), so running it again is safe.
pub const LAMBDA_SERVICE_ERRORS: [&str; 5] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
];

/// What a function timeout looks like to the state machine: Step Functions reports it as `Lambda.Unknown`,
/// Lambda names the timed-out sandbox `Sandbox.Timedout`, and a Task's own timeout is `States.Timeout`. Only
/// a Task whose function is idempotent may retry these: the function may have acted before it was killed.
pub const TIMEOUT_ERRORS: [&str; 3] = ["Lambda.Unknown", "Sandbox.Timedout", "States.Timeout"];

/// shifter's own retryable error ([`Error::Transient`]).
pub const TRANSIENT: &str = "Transient";

/// shifter's error for an API that still throttled after the SDK's retries ([`Error::Throttled`]).
pub const THROTTLED: &str = "Throttled";

/// The first Retry of every Task: a throttle is retried apart from other failures, for longer and with full
/// jitter. Lambda's control plane admits 15 requests a second for the whole account, so when many rollouts
/// (or other tools) share it, the calls it turned away must come back spread out, not in step, and keep coming
/// back until the queue drains. Step Functions waits these retries for free; a Lambda sleeping in the SDK would
/// be billed for it and run into its timeouts.
///
/// Two rules, so that rollouts already moving weight go first: a rollout in flight retries often
/// ([`THROTTLE_IN_FLIGHT`], every 0-5 s), while one still in Prepare (nothing written yet) backs off far
/// ([`THROTTLE_BEFORE_START`], up to 300 s) and leaves the budget to them. Without the split, 1,000 rollouts
/// started in one minute starve each other: Prepare's three reads must all get through in one attempt, and
/// shifts come minutes late. The scale simulation (`tests/contract/tests/scale.rs`) measures both;
/// docs/reliability.md has the figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleRule {
    pub interval_seconds: u32,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: u32,
}

/// Every Task after Prepare: up to 100 retries, each within 1, 2, 4, then 5 s.
pub const THROTTLE_IN_FLIGHT: ThrottleRule = ThrottleRule {
    interval_seconds: 1,
    max_attempts: 100,
    backoff_rate: 2.0,
    max_delay_seconds: 5,
};

/// Prepare: up to 20 retries, each within 10, 20, 40 ... then 300 s (about 45 minutes of patience on average).
pub const THROTTLE_BEFORE_START: ThrottleRule = ThrottleRule {
    interval_seconds: 10,
    max_attempts: 20,
    backoff_rate: 2.0,
    max_delay_seconds: 300,
};

impl ThrottleRule {
    /// The most retry `n` (1-based) waits; `JitterStrategy: FULL` waits a uniformly random part of it.
    pub fn cap(&self, n: u32) -> Duration {
        backoff(
            Duration::from_secs(self.interval_seconds.into()),
            self.backoff_rate,
            n,
            Duration::from_secs(self.max_delay_seconds.into()),
        )
    }

    /// The Retry entry the ASL carries for this rule.
    pub fn asl(&self) -> serde_json::Value {
        serde_json::json!({
            "ErrorEquals": [THROTTLED],
            "IntervalSeconds": self.interval_seconds,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": self.backoff_rate,
            "MaxDelaySeconds": self.max_delay_seconds,
            "JitterStrategy": "FULL",
        })
    }
}

/// One Retry rule of a Task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryRule {
    /// Idempotent Tasks also retry [`TIMEOUT_ERRORS`].
    pub idempotent: bool,
    /// How the Task retries [`THROTTLED`], before this rule.
    pub throttle: ThrottleRule,
    /// A callback Task (`waitForTaskToken`: Bake, Paused) ends on purpose with `States.Timeout` (the bake is
    /// over), so it never retries that one.
    pub callback: bool,
    pub interval_seconds: u32,
    pub max_attempts: u32,
    pub backoff_rate: f64,
}

impl RetryRule {
    /// The error names the rule matches, in the order the ASL lists them.
    pub fn error_names(&self) -> Vec<&'static str> {
        let mut names = LAMBDA_SERVICE_ERRORS.to_vec();
        names.push(TRANSIENT);
        if self.idempotent {
            names.extend(
                TIMEOUT_ERRORS
                    .into_iter()
                    .filter(|n| !(self.callback && *n == "States.Timeout")),
            );
        }
        names
    }

    /// The wait before retry `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        backoff(
            Duration::from_secs(self.interval_seconds.into()),
            self.backoff_rate,
            n,
            Duration::MAX,
        )
    }

    /// The waits of every retry together: how long the rule can hold a Task back on top of its attempts.
    pub fn total_delay(&self) -> Duration {
        (1..=self.max_attempts).map(|n| self.delay(n)).sum()
    }

    /// The Task's whole Retry block, as the ASL carries it: its throttle rule, then this rule.
    pub fn asl(&self) -> serde_json::Value {
        serde_json::json!([
            self.throttle.asl(),
            {
                "ErrorEquals": self.error_names(),
                "IntervalSeconds": self.interval_seconds,
                "MaxAttempts": self.max_attempts,
                "BackoffRate": self.backoff_rate,
            }
        ])
    }
}

const STANDARD: RetryRule = RetryRule {
    idempotent: true,
    throttle: THROTTLE_IN_FLIGHT,
    callback: false,
    interval_seconds: 2,
    max_attempts: 4,
    backoff_rate: 2.0,
};

/// Every Task of the state machine and its rule. Every Task but the hooks is idempotent (a retried wait
/// registers its new token over the old one): writes are absolute
/// and fenced, reads are reads, PublishVersion returns the existing version when nothing changed, and a
/// notification sent twice is at-least-once delivery. A hook is the user's code and may not be: it is
/// retried only when Lambda says it did not run.
pub const TASKS: [(&str, RetryRule); 10] = [
    (
        "Prepare",
        RetryRule {
            throttle: THROTTLE_BEFORE_START,
            ..STANDARD
        },
    ),
    (
        "PreTrafficHook",
        RetryRule {
            idempotent: false,
            ..STANDARD
        },
    ),
    ("Advance", STANDARD),
    (
        "Bake",
        RetryRule {
            callback: true,
            ..STANDARD
        },
    ),
    (
        "Paused",
        RetryRule {
            callback: true,
            ..STANDARD
        },
    ),
    ("Finalize", STANDARD),
    (
        "PostTrafficHook",
        RetryRule {
            idempotent: false,
            ..STANDARD
        },
    ),
    ("NotifySucceeded", STANDARD),
    (
        "Rollback",
        RetryRule {
            max_attempts: 6,
            ..STANDARD
        },
    ),
    ("NotifyRollbackFailed", STANDARD),
];

/// The rule of the Task named `task`. Panics on a name not in [`TASKS`] (a bug in the caller).
pub fn rule(task: &str) -> RetryRule {
    TASKS
        .iter()
        .find(|(name, _)| *name == task)
        .map(|(_, rule)| *rule)
        .unwrap_or_else(|| panic!("no retry rule for task {task:?}"))
}

/// Applies a Task's rule in-process (the local driver): an error whose name the rule lists is retried after
/// the rule's delay, up to its attempts; anything else, or the last failure, is returned.
pub struct Retrier<'a, C> {
    pub clock: &'a C,
}

impl<C: Clock> Retrier<'_, C> {
    pub async fn run<T, F, Fut>(&self, task: &str, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let rule = rule(task);
        let names = rule.error_names();
        let mut retries = 0;
        // Step Functions counts each retrier's attempts apart.
        let mut throttled = 0;
        loop {
            match call().await {
                Err(error)
                    if error.error_type() == THROTTLED
                        && throttled < rule.throttle.max_attempts =>
                {
                    throttled += 1;
                    let delay = rule
                        .throttle
                        .cap(throttled)
                        .mul_f64(jitter(self.clock.now_millis(), throttled));
                    tracing::warn!(task, error_type = THROTTLED, %error, retry = throttled, ?delay, "throttled; retrying");
                    self.clock.sleep(delay).await;
                }
                Err(error) if retries < rule.max_attempts && retryable(&names, &error) => {
                    retries += 1;
                    let delay = rule.delay(retries);
                    tracing::warn!(task, error_type = error.error_type(), %error, retry = retries, ?delay, "retrying");
                    self.clock.sleep(delay).await;
                }
                other => return other,
            }
        }
    }
}

fn retryable(names: &[&str], error: &Error) -> bool {
    names.contains(&error.error_type())
}

/// The wait before retry `n` (1-based) of an exponential backoff: `first × rate^(n-1)`, at most `cap`. Step
/// Functions' Retry (IntervalSeconds, BackoffRate, MaxDelaySeconds) and the SDK's standard mode (initial backoff,
/// doubling, max backoff) both wait so, before any jitter.
pub fn backoff(first: Duration, rate: f64, n: u32, cap: Duration) -> Duration {
    let factor = rate.powi(n.saturating_sub(1).min(64) as i32);
    let seconds = (first.as_secs_f64() * factor).min(cap.as_secs_f64());
    Duration::try_from_secs_f64(seconds).unwrap_or(cap)
}

/// A fraction in [0, 1) from the time and the retry's number: full jitter for the local driver, repeatable
/// under a fake clock.
fn jitter(now_millis: u64, n: u32) -> f64 {
    fraction(now_millis ^ (u64::from(n) << 48) ^ SPLITMIX_GAMMA)
}

/// splitmix64's increment: a seed advanced by it and passed to [`fraction`] gives the next number of a sequence.
pub const SPLITMIX_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64's finalizer as a fraction in [0, 1): jitter that repeats for the same seed, with no random-number
/// dependency (the fake's throttling uses it too).
pub fn fraction(seed: u64) -> f64 {
    let mut z = seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::fake::FakeClock;

    fn transient() -> Error {
        Error::Transient {
            operation: "DescribeAlarms".into(),
            message: "throttled".into(),
        }
    }

    #[test]
    fn delays_follow_step_functions_backoff() {
        let r = rule("Rollback");
        let delays: Vec<u64> = (1..=r.max_attempts).map(|n| r.delay(n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 64]);
    }

    #[test]
    fn hooks_do_not_retry_timeouts_and_everything_else_does() {
        for (task, rule) in TASKS {
            let names = rule.error_names();
            let hook = task.ends_with("Hook");
            assert_eq!(names.contains(&"Sandbox.Timedout"), !hook, "{task}");
            assert!(names.contains(&"Transient"), "{task}");
            assert!(names.contains(&"Lambda.ClientExecutionTimeoutException"));
        }
    }

    /// Runs `task` with a call that always fails with `error`: how many calls were made, and the last error.
    async fn always_failing(clock: &FakeClock, task: &str, error: Error) -> (u32, Error) {
        let calls = AtomicU32::new(0);
        let out: Result<()> = Retrier { clock }
            .run(task, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(error.clone())
            })
            .await;
        (calls.load(Ordering::SeqCst), out.unwrap_err())
    }

    #[tokio::test]
    async fn transient_errors_are_retried_with_backoff_then_returned() {
        let clock = FakeClock::default();
        let (calls, last) = always_failing(&clock, "Advance", transient()).await;
        assert_eq!(last.error_type(), "Transient");
        assert_eq!(calls, 5, "1 try + 4 retries");
        assert_eq!(clock.total_slept(), Duration::from_secs(2 + 4 + 8 + 16));
    }

    #[tokio::test]
    async fn throttles_have_their_own_longer_jittered_retries() {
        let clock = FakeClock::default();
        let throttled = Error::Throttled {
            operation: "UpdateAlias".into(),
            message: "TooManyRequestsException: Rate exceeded".into(),
        };
        let (attempts, last) = always_failing(&clock, "Advance", throttled).await;
        assert_eq!(last.error_type(), "Throttled");
        let rule = THROTTLE_IN_FLIGHT;
        assert_eq!(
            attempts,
            1 + rule.max_attempts,
            "the throttle rule's attempts, not Advance's"
        );
        let sleeps = clock.sleeps();
        for (i, slept) in sleeps.iter().enumerate() {
            assert!(
                *slept <= rule.cap(i as u32 + 1),
                "retry {}: {slept:?}",
                i + 1
            );
        }
        let total: Duration = sleeps.iter().sum();
        let most: Duration = (1..=rule.max_attempts).map(|n| rule.cap(n)).sum();
        assert!(total < most, "jittered: {total:?} of at most {most:?}");
        assert!(
            sleeps.windows(2).any(|w| w[0] > w[1]),
            "not in lockstep: {sleeps:?}"
        );
    }

    #[test]
    fn throttle_rules_double_up_to_their_caps_and_prepare_yields_to_rollouts_in_flight() {
        let caps = |r: ThrottleRule| (1..=7).map(|n| r.cap(n).as_secs()).collect::<Vec<_>>();
        assert_eq!(caps(THROTTLE_IN_FLIGHT), [1, 2, 4, 5, 5, 5, 5]);
        assert_eq!(caps(THROTTLE_BEFORE_START), [10, 20, 40, 80, 160, 300, 300]);
        for (task, rule) in TASKS {
            let expected = match task {
                "Prepare" => THROTTLE_BEFORE_START,
                _ => THROTTLE_IN_FLIGHT,
            };
            assert_eq!(rule.throttle, expected, "{task}");
        }
    }

    #[tokio::test]
    async fn a_transient_error_then_success_succeeds_and_others_are_not_retried() {
        let clock = FakeClock::default();
        let retrier = Retrier { clock: &clock };
        let calls = AtomicU32::new(0);
        let out = retrier
            .run("Rollback", || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(transient()),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(out, Ok(7));
        let calls = AtomicU32::new(0);
        let out: Result<()> = retrier
            .run("Rollback", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::invalid("alias", "bad"))
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
