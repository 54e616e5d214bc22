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

/// One Retry rule of a Task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryRule {
    /// Idempotent Tasks also retry [`TIMEOUT_ERRORS`].
    pub idempotent: bool,
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
        let factor = self.backoff_rate.powi(n.saturating_sub(1) as i32);
        Duration::from_secs_f64(f64::from(self.interval_seconds) * factor)
    }

    /// The waits of every retry together: how long the rule can hold a Task back on top of its attempts.
    pub fn total_delay(&self) -> Duration {
        (1..=self.max_attempts).map(|n| self.delay(n)).sum()
    }
}

const STANDARD: RetryRule = RetryRule {
    idempotent: true,
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
    ("Prepare", STANDARD),
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
        loop {
            match call().await {
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

    #[tokio::test]
    async fn transient_errors_are_retried_with_backoff_then_returned() {
        let clock = FakeClock::default();
        let retrier = Retrier { clock: &clock };
        let calls = AtomicU32::new(0);
        let out: Result<()> = retrier
            .run("Advance", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(transient())
            })
            .await;
        assert_eq!(out.unwrap_err().error_type(), "Transient");
        assert_eq!(calls.load(Ordering::SeqCst), 5, "1 try + 4 retries");
        assert_eq!(clock.total_slept(), Duration::from_secs(2 + 4 + 8 + 16));
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
