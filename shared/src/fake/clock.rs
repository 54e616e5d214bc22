//! A clock whose sleeps return at once, after moving time forward.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ports::Clock;

/// 2023-11-14T22:13:20Z: a plausible "now" for tests that format times.
pub const DEFAULT_START_MILLIS: u64 = 1_700_000_000_000;

/// Clones share the same time.
#[derive(Debug, Clone)]
pub struct FakeClock {
    now: Arc<AtomicU64>,
    sleeps: Arc<Mutex<Vec<Duration>>>,
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::new(DEFAULT_START_MILLIS)
    }
}

impl FakeClock {
    pub fn new(start_millis: u64) -> Self {
        FakeClock {
            now: Arc::new(AtomicU64::new(start_millis)),
            sleeps: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Moves time forward without counting it as slept (time passing elsewhere).
    pub fn advance(&self, by: Duration) {
        self.now.fetch_add(millis(by), Ordering::SeqCst);
    }

    /// Every `sleep` so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The sum of every `sleep` so far.
    pub fn total_slept(&self) -> Duration {
        self.sleeps().iter().sum()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Clock for FakeClock {
    fn now_millis(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }

    async fn sleep(&self, duration: Duration) {
        self.sleeps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(duration);
        self.now.fetch_add(millis(duration), Ordering::SeqCst);
        // Let other tasks run, as a real sleep would.
        tokio::task::yield_now().await;
    }
}
