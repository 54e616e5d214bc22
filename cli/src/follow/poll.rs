//! Polling an execution's history until it ends.
//!
//! GetExecutionHistory is throttled per account and region (a token bucket shared by every pipeline and
//! console tab reading histories there), so the follower reads only what is new, newest first, every 2 s, and
//! waits out throttling and other errors with a capped exponential back-off instead of giving up: a follower
//! that quits leaves a pipeline failing while the rollout goes on. Only an execution that no longer exists
//! ends the follow with an error.

use std::time::Duration;

use shifter::driver::Observer;
use shifter::ports::Clock;

use super::{Ended, Tracker};
use crate::stepfunctions::{events_since, ApiError, ExecutionApi, MAX_PAGE};

/// How the follower polls.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// Between two polls that read the history.
    pub interval: Duration,
    /// The back-off cap: after `n` failed polls in a row the next waits `interval × 2ⁿ`, at most this.
    pub max_interval: Duration,
    /// `maxResults` of a poll once the history has been read: a poll between two states sees a few events
    /// (a Task entered, its Lambda scheduled, started, succeeded, the Task exited, a Choice, a Wait), and reads
    /// at most this many it has already seen.
    pub page: u32,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
            page: 20,
        }
    }
}

/// The wait before the next poll: `interval` while polls succeed, doubling with each failure in a row up to
/// `max_interval`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    polling: Polling,
    failures: u32,
}

impl Backoff {
    pub fn new(polling: Polling) -> Self {
        Backoff {
            polling,
            failures: 0,
        }
    }

    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    pub fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn delay(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.failures);
        self.polling
            .interval
            .saturating_mul(factor)
            .min(self.polling.max_interval.max(self.polling.interval))
    }
}

/// Polls the execution's history until it ends, reporting progress to `obs` and sleeping on `clock`. Read
/// errors are logged and retried for as long as it takes; the only error returned is a not-found one (the
/// execution, or its state machine, is gone).
pub async fn follow<A: ExecutionApi>(
    api: &A,
    execution_arn: &str,
    obs: &mut impl Observer,
    polling: Polling,
    clock: &impl Clock,
) -> Result<Ended, ApiError> {
    let mut tracker = Tracker::new();
    let mut last_id = 0;
    let mut backoff = Backoff::new(polling);
    loop {
        // Nothing seen yet: the whole history is new, so read it in as few calls as possible.
        let page = if last_id == 0 { MAX_PAGE } else { polling.page };
        match events_since(api, execution_arn, last_id, page).await {
            Ok(events) => {
                backoff.succeeded();
                for e in events {
                    last_id = last_id.max(e.id);
                    if let Some(ended) = tracker.on_event(&e, obs) {
                        return Ok(ended);
                    }
                }
            }
            Err(error) if error.is_not_found() => return Err(error),
            Err(error) => {
                backoff.failed();
                let retry_in = backoff.delay();
                let why = if error.is_retryable() {
                    "throttled or unavailable"
                } else {
                    "refused"
                };
                tracing::warn!(
                    execution = %execution_arn,
                    %error,
                    failures = backoff.failures(),
                    "cannot read the execution history ({why}); the rollout goes on and shifter keeps following it, next try in {}s",
                    retry_in.as_secs_f64()
                );
            }
        }
        clock.sleep(backoff.delay()).await;
    }
}

#[cfg(test)]
#[path = "poll_tests.rs"]
mod tests;
