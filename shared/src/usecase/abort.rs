//! `shifter abort FUNCTION:ALIAS` on an alias that no live rollout owns: there is no lease, the lease's
//! execution has ended, or its local process is gone (killed: nothing rolled it back). Nobody else will
//! write the alias, so the abort does, once: it removes the routing config so that the alias serves its main
//! (old) version alone, fenced on the RevisionId it read before it judged the alias unowned
//! ([`restore_main`]); a change that lands in between is left alone. Then the gone rollout's record says how it ended, the same notification as every
//! other rollback path goes to its topic ([`RollbackEnd`]), and its lease is given back.
//!
//! Whether an owner is live is for the caller to judge (`shifter abort` asks Step Functions about an
//! execution, and watches a local rollout's check-ins: `lease::check_in_grace`).

use tracing::warn;

use super::lease::Registry;
use super::{restore_main, MainRestored, RollbackAction, RollbackEnd};
use crate::custom_resource::answer;
use crate::custom_resource::ports::{ReplyLedger, ReplySender};
use crate::domain::AliasState;
use crate::error::{Error, Result};
use crate::ports::{AliasRouter, Notifier};
use crate::registry::{Lease, RolloutStatus};
use crate::rollout::Rollout;

/// How many of the alias's latest records are searched for the gone owner's.
const LOOKBACK: usize = 20;

/// A rollout that holds (or held) the alias but no longer acts on it.
#[derive(Debug, Clone, PartialEq)]
pub struct GoneOwner {
    pub rollout_id: String,
    pub execution_arn: Option<String>,
    /// The rollout as its record last had it, if the record was found.
    pub rollout: Option<Rollout>,
    /// Why it is taken to be gone, as a clause: "its execution … no longer runs".
    pub why: String,
}

impl GoneOwner {
    /// The holder of `lease`, with its rollout as the alias's records last had it (when found).
    pub async fn of_lease(registry: &impl Registry, lease: &Lease, why: String) -> Self {
        let rollout = match registry
            .history(&lease.function_name, &lease.alias, LOOKBACK)
            .await
        {
            Ok(records) => records
                .into_iter()
                .find(|r| r.rollout_id == lease.rollout_id)
                .and_then(|r| r.rollout()),
            Err(error) => {
                warn!(rollout_id = %lease.rollout_id, %error, "could not read the alias's records");
                None
            }
        };
        GoneOwner {
            rollout_id: lease.rollout_id.clone(),
            execution_arn: lease.execution_arn.clone(),
            rollout,
            why,
        }
    }
}

/// What the abort of an unowned alias came to.
#[derive(Debug)]
pub struct Unowned {
    pub restored: MainRestored,
    /// How the gone owner's record now ends (None: no owner, no record of it, or nothing recorded because the
    /// alias was not weighted).
    pub recorded: Option<RolloutStatus>,
    /// The notification that could not be published, if any.
    pub notify_error: Option<Error>,
}

impl Unowned {
    /// Whether the alias had a routing config when the abort read it.
    pub fn was_weighted(&self) -> bool {
        self.restored.before.routing.is_weighted()
    }

    pub fn action(&self) -> RollbackAction {
        self.restored.outcome.action
    }
}

/// Restores `function:alias`, which no live rollout owns, to its main version alone ([`restore_main`]),
/// fenced on `before`: the alias as read before the caller judged it unowned (so that nothing written since,
/// by a rollout that started or an owner that was only slow, is overwritten). Then it ends `owner`'s rollout
/// in the registry: RolledBack (the alias serves the old version alone; notified as RolledBack, the reason
/// saying so) or LeftAlone (changed by someone else in between; notified as RolloutFailed with `errorType`
/// AliasChanged), and gives its lease back. `reason`: the operator's.
///
/// An alias that is not weighted is not written, and the registry is left as it is: an owner that looks gone
/// may only be slow (a long hook), and it acts on the abort posted on its lease if it is not. An AWS error
/// is returned with the registry left as it is, so that the abort can be run again.
pub async fn abort_unowned<P>(
    ports: &P,
    function: &str,
    alias: &str,
    before: AliasState,
    owner: Option<&GoneOwner>,
    reason: &str,
    now_ms: u64,
) -> Result<Unowned>
where
    P: AliasRouter + Registry + Notifier + ReplyLedger + ReplySender,
{
    let restored = restore_main(ports, function, alias, before).await?;
    let mut done = Unowned {
        restored,
        recorded: None,
        notify_error: None,
    };
    let Some(owner) = owner.filter(|_| done.was_weighted()) else {
        return Ok(done);
    };
    let Some(rollout) = &owner.rollout else {
        // No record to end: give the lease back, so that the next rollout need not wait for it to expire.
        if let Err(error) = ports.release(function, alias, &owner.rollout_id).await {
            warn!(rollout_id = %owner.rollout_id, %error, "could not release the alias's lease");
        }
        return Ok(done);
    };
    let outcome = &done.restored.outcome;
    let aborted = format!("aborted by an operator: {reason} ({})", owner.why);
    let cause = match outcome.action {
        RollbackAction::LeftAlone => aborted,
        RollbackAction::Restored | RollbackAction::AlreadyRestored => format!(
            "{aborted}; shifter abort restored version {} alone",
            outcome.routing.function_version
        ),
    };
    let end = RollbackEnd::of(rollout, &cause, None, Ok(outcome));
    done.notify_error = end.record(ports, now_ms).await.err();
    done.recorded = Some(end.status);
    // A rollout a Custom::ShifterAlias started: CloudFormation hears that it did not promote (if its
    // execution's own end or the cleanup answered first, the recorded answer is sent again instead).
    let error = match end.status {
        RolloutStatus::LeftAlone => "AliasChanged",
        _ => "Aborted",
    };
    answer::for_rollout(ports, &end.rollout, |r, to| {
        answer::not_promoted(r, to, error, &end.reason)
    })
    .await;
    Ok(done)
}

#[cfg(test)]
#[path = "abort_tests.rs"]
mod tests;
