//! The alias's lease in the registry: taken after Prepare's checks and before any alias write, kept up to date
//! as the rollout moves, and given back when it ends, on every path.

use std::time::Duration;

use tracing::warn;

use crate::error::{Error, Result};
use crate::ports::Clock;
use crate::registry::{
    Acquired, ExecutionStatus, Lease, LeaseStore, RolloutJournal, RolloutRecord, RolloutStatus,
};
use crate::rollout::Rollout;

/// A local rollout's lease lasts its plan plus this; past it, a process that died no longer blocks the alias.
pub const LOCAL_LEASE_SLACK: Duration = Duration::from_secs(15 * 60);

/// Everything the lease needs from AWS.
pub trait Registry: LeaseStore + RolloutJournal + ExecutionStatus {}
impl<T: LeaseStore + RolloutJournal + ExecutionStatus> Registry for T {}

/// Takes the alias for `rollout`, or fails with `AliasBusy` naming the rollout that holds it. A holder whose
/// execution no longer runs (stopped from the console, timed out), or a local holder past its lease, is taken
/// over: nothing live owns the alias then.
pub async fn take(registry: &impl Registry, clock: &impl Clock, rollout: &Rollout) -> Result<()> {
    take_checking_in(registry, clock, rollout, None).await
}

/// [`take`], for a local rollout that checks in on its lease every `check_interval` while it waits (the local
/// driver): the lease records the interval and a first check-in, so that `shifter abort` can tell when the
/// process is gone ([`check_in_grace`]).
pub async fn take_checking_in(
    registry: &impl Registry,
    clock: &impl Clock,
    rollout: &Rollout,
    check_interval: Option<Duration>,
) -> Result<()> {
    let taken = take_lease(registry, clock, rollout, check_interval).await;
    if let Err(error) = &taken {
        // An acquire whose answer was lost may have landed, and a lease taken before a failed record would be
        // left behind: give back whatever this rollout may hold. (`release` removes only this rollout's lease,
        // never a holder's.)
        if !matches!(error, Error::AliasBusy { .. }) {
            release(registry, rollout).await;
        }
    }
    taken
}

async fn take_lease(
    registry: &impl Registry,
    clock: &impl Clock,
    rollout: &Rollout,
    check_interval: Option<Duration>,
) -> Result<()> {
    let now = clock.now_millis();
    let plan_ms = rollout.plan.total_seconds() * 1000;
    let lease = Lease {
        function_name: rollout.function_name.clone(),
        alias: rollout.alias.clone(),
        rollout_id: rollout.rollout_id.clone(),
        execution_arn: rollout.execution_arn.clone(),
        started_ms: rollout.started_ms,
        lease_until_ms: now + plan_ms + LOCAL_LEASE_SLACK.as_millis() as u64,
        check_interval_ms: check_interval.map(|i| i.as_millis() as u64),
        checked_in_ms: check_interval.map(|_| now),
        ..Default::default()
    };
    if let Acquired::HeldBy(holder) = registry.acquire(&lease, None).await? {
        if !is_dead(registry, &holder, now).await? {
            return Err(busy(rollout, &holder));
        }
        warn!(rollout_id = %rollout.rollout_id, holder = %holder.rollout_id, "taking over the lease of a rollout that no longer runs");
        if let Acquired::HeldBy(holder) = registry.acquire(&lease, Some(&holder.rollout_id)).await?
        {
            return Err(busy(rollout, &holder));
        }
        abandon(registry, &holder, &rollout.rollout_id, now).await;
    }
    registry
        .record(&RolloutRecord::of(rollout, RolloutStatus::Running, now))
        .await
}

/// The taken-over holder's record stops saying Running (`shifter list` would show it forever otherwise).
async fn abandon(registry: &impl RolloutJournal, holder: &Lease, by: &str, now: u64) {
    let found = registry
        .history(&holder.function_name, &holder.alias, ABANDON_LOOKBACK)
        .await
        .map(|records| {
            records
                .into_iter()
                .find(|r| r.rollout_id == holder.rollout_id && r.status == RolloutStatus::Running)
        });
    match found {
        Ok(Some(mut record)) => {
            record.status = RolloutStatus::Abandoned;
            record.updated_ms = now;
            record.ended_ms = Some(now);
            record.reason = Some(format!(
                "it ended with no rollback of its own; rollout {by} took its lease over"
            ));
            if let Err(error) = registry.record(&record).await {
                warn!(holder = %holder.rollout_id, %error, "could not mark the abandoned rollout's record");
            }
        }
        Ok(None) => {}
        Err(error) => {
            warn!(holder = %holder.rollout_id, %error, "could not read the abandoned rollout's record")
        }
    }
}

/// How many of an alias's latest records a takeover searches for the holder's.
const ABANDON_LOOKBACK: usize = 20;

/// The check interval a local rollout that did not record its own is taken to have (`--check-interval`'s
/// default).
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(10);

/// How long a local rollout's lease may go without a check-in before `shifter abort` takes its process to be
/// gone: two of its check intervals, plus the retry delays of a check and of a shift (a live local rollout
/// checks in at every check of a bake or a pause; between two bakes it checks the alarms and shifts, and each
/// may wait out its retries). Measured by the one who watches, on its own clock, from the last time it saw
/// `checked_in_ms` move.
///
/// A process that was only slow and checks in again finds its alias restored: its next write is refused on
/// the RevisionId and its rollback finds the old version already in place, so nothing is overwritten.
pub fn check_in_grace(lease: &Lease) -> Duration {
    let interval = lease
        .check_interval_ms
        .map_or(DEFAULT_CHECK_INTERVAL, Duration::from_millis);
    2 * interval + 2 * crate::retry::rule("Advance").total_delay()
}

/// Whether a holder is known to be dead without watching it: its execution no longer runs, or (local) it is
/// past its lease, as [`take`] judges.
pub async fn is_dead(registry: &impl ExecutionStatus, holder: &Lease, now: u64) -> Result<bool> {
    match &holder.execution_arn {
        Some(arn) => Ok(!registry.is_running(arn).await?),
        None => Ok(holder.lease_until_ms < now),
    }
}

fn busy(rollout: &Rollout, holder: &Lease) -> Error {
    let by = match &holder.execution_arn {
        Some(arn) => format!("execution {arn}"),
        None => "a local `shifter deploy --local`".to_string(),
    };
    Error::AliasBusy {
        alias: rollout.alias.clone(),
        message: format!(
            "rollout {} ({by}) holds its lease: let it finish, or abort it first",
            holder.rollout_id
        ),
    }
}

/// Records the rollout's progress (step, weight, and the end of the bake that follows, if any). Never fails
/// the rollout: a stale record is only a stale view.
pub async fn progress(
    registry: &impl RolloutJournal,
    rollout: &Rollout,
    now_ms: u64,
    bake: Option<Duration>,
) {
    let mut record = RolloutRecord::of(rollout, RolloutStatus::Running, now_ms);
    record.bake_ends_ms = bake
        .filter(|b| !b.is_zero())
        .map(|b| now_ms + b.as_millis() as u64);
    if let Err(error) = registry.record(&record).await {
        warn!(rollout_id = %rollout.rollout_id, %error, "could not record the rollout's progress");
    }
}

/// Records how the rollout ended and gives the lease back. Never fails the rollout: a lease left behind by a
/// failed release is taken over by the next rollout once this one's execution (or local lease) has ended.
pub async fn finish(
    registry: &impl Registry,
    rollout: &Rollout,
    status: RolloutStatus,
    reason: Option<&str>,
    now_ms: u64,
) {
    let mut record = RolloutRecord::of(rollout, status, now_ms);
    record.reason = reason.map(|r| crate::text::cap(r, crate::text::MAX_OUTSIDE_TEXT));
    attempts(rollout, "record how the rollout ended", || {
        registry.record(&record)
    })
    .await;
    release(registry, rollout).await;
}

/// How many times the end of a rollout tries each registry write (the SDK retries each with backoff too): a
/// throttled or failed release must not leave the lease behind when the next try would take.
pub const FINISH_ATTEMPTS: usize = 3;

/// Gives the alias's lease back if this rollout holds it, trying [`FINISH_ATTEMPTS`] times. Never fails: a
/// lease left behind is taken over once its rollout has ended (its execution stopped, or its local lease
/// expired).
async fn release(registry: &impl LeaseStore, rollout: &Rollout) {
    attempts(rollout, "release the alias's lease", || {
        registry.release(&rollout.function_name, &rollout.alias, &rollout.rollout_id)
    })
    .await;
}

/// Makes a registry write up to [`FINISH_ATTEMPTS`] times, logging each failure; gives up quietly.
async fn attempts<F, Fut>(rollout: &Rollout, what: &str, mut write: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    for attempt in 1..=FINISH_ATTEMPTS {
        match write().await {
            Ok(()) => return,
            Err(error) => {
                warn!(rollout_id = %rollout.rollout_id, %error, attempt, write = what, "registry write failed")
            }
        }
    }
}
