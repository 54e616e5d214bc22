//! Polling an execution's history until it ends.

use std::time::Duration;

use shifter::driver::Observer;

use super::{Ended, Tracker};
use crate::stepfunctions::{events_after, ApiError, ExecutionApi};

/// Polling: every `interval`, doubling up to `max_interval` while calls fail; gives up after `max_errors`
/// failures in a row.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub interval: Duration,
    pub max_interval: Duration,
    pub max_errors: u32,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            max_errors: 8,
        }
    }
}

/// Polls the execution's history until it ends, reporting progress to `obs`. An error is returned only
/// when the history could not be read `max_errors` times in a row (the execution itself goes on).
pub async fn follow<A: ExecutionApi>(
    api: &A,
    execution_arn: &str,
    obs: &mut impl Observer,
    polling: Polling,
) -> Result<Ended, ApiError> {
    let mut tracker = Tracker::new();
    let mut last_id = 0;
    let mut interval = polling.interval;
    let mut errors = 0;
    loop {
        match events_after(api, execution_arn, last_id).await {
            Ok(events) => {
                errors = 0;
                interval = polling.interval;
                for e in events {
                    last_id = last_id.max(e.id);
                    if let Some(ended) = tracker.on_event(&e, obs) {
                        return Ok(ended);
                    }
                }
            }
            Err(error) if error.is_not_found() => return Err(error),
            Err(error) => {
                errors += 1;
                if errors >= polling.max_errors {
                    return Err(error);
                }
                interval = (interval * 2).clamp(Duration::from_millis(1), polling.max_interval);
                tracing::warn!(%error, retry_in = ?interval, "cannot read the execution history; retrying");
            }
        }
        tokio::time::sleep(interval).await;
    }
}
