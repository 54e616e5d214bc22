use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::lease::{self, Registry};
use super::notify;
use crate::domain::{AliasState, Routing};
use crate::error::{Error, Result};
use crate::notification::{EventType, Notification};
use crate::ports::{AliasRouter, Notifier};
use crate::registry::RolloutStatus;
use crate::rollout::Rollout;

/// What the rollback did to the alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RollbackAction {
    /// It wrote the old version back.
    Restored,
    /// The alias already served only the old version (rollback is idempotent).
    AlreadyRestored,
    /// The alias holds a routing this rollout could not have produced (someone else changed it): it was left
    /// as it is. Not a failure: the alias belongs to whoever changed it.
    LeftAlone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackOutcome {
    pub action: RollbackAction,
    /// The alias's routing after the rollback: the old version, or what someone else left.
    pub routing: Routing,
    pub revision_id: String,
}

impl RollbackOutcome {
    /// True when the alias serves the rollout's old version alone.
    pub fn restored(&self) -> bool {
        self.action != RollbackAction::LeftAlone
    }
}

/// Returns the alias to the version it served before the rollout, with no routing config. Idempotent.
///
/// Ownership is judged by what this rollout could have written, never by which versions the alias names: an
/// operator's own change that uses the same two versions (a manual promote, a manual 50% split) is theirs.
/// The alias is the rollout's when it still carries the RevisionId the rollout last read or wrote, or when it
/// holds exactly the routing the rollout last set. When `write_may_be_in_flight` (a Task died with an error
/// after its UpdateAlias may have landed, its answer lost), the routing of the plan's next step counts too.
/// Anything else is left alone and reported as such.
///
/// The write is fenced on the RevisionId just read, so a change racing the rollback stops it.
pub async fn rollback(
    router: &impl AliasRouter,
    rollout: &Rollout,
    write_may_be_in_flight: bool,
) -> Result<RollbackOutcome> {
    let (function, alias) = (&rollout.function_name, &rollout.alias);
    let old = Routing::single(&rollout.current_version);
    let now = router.read_alias(function, alias).await?;
    if now.routing == old {
        return Ok(RollbackOutcome {
            action: RollbackAction::AlreadyRestored,
            routing: old,
            revision_id: now.revision_id,
        });
    }
    if !could_have_written(rollout, &now, write_may_be_in_flight) {
        warn!(rollout_id = %rollout.rollout_id, found = %now.routing, "the alias holds a routing this rollout did not set; left alone");
        return Ok(RollbackOutcome {
            action: RollbackAction::LeftAlone,
            routing: now.routing,
            revision_id: now.revision_id,
        });
    }
    let read = write_and_verify(router, function, alias, &old, &now.revision_id).await?;
    info!(rollout_id = %rollout.rollout_id, version = %rollout.current_version, "rolled back");
    Ok(RollbackOutcome {
        action: RollbackAction::Restored,
        routing: old,
        revision_id: read.revision_id,
    })
}

/// Writes `routing`, fenced on `revision_id`, then reads the alias back: `AliasChanged` when it reads other
/// than what was written (set, then verify).
async fn write_and_verify(
    router: &impl AliasRouter,
    function: &str,
    alias: &str,
    routing: &Routing,
    revision_id: &str,
) -> Result<AliasState> {
    router
        .write_alias(function, alias, routing, revision_id)
        .await?;
    let read = router.read_alias(function, alias).await?;
    if read.routing != *routing {
        return Err(Error::AliasChanged {
            alias: alias.to_string(),
            message: format!("rollback wrote {routing} but read back {}", read.routing),
        });
    }
    Ok(read)
}

/// What [`restore_main`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainRestored {
    /// The alias as read before anything was written.
    pub before: AliasState,
    /// `Restored`: the routing config was removed. `AlreadyRestored`: the alias was not weighted (nothing
    /// written), or someone else removed its routing between the read and the write. `LeftAlone`: someone
    /// else changed it to anything else in between (the fenced write was refused, or read back other).
    pub outcome: RollbackOutcome,
}

/// Removes the routing config of an alias that no live rollout owns, so that it serves its main version
/// alone: one write fenced on the RevisionId of `before` (the alias as the caller read it, before it judged
/// that no live rollout owns it), then a read back. Unlike [`rollback`] it does not ask which rollout
/// produced the routing (no live one did): whatever weights the alias goes. A change made by anyone since
/// `before` was read is never overwritten: it is left alone.
pub async fn restore_main(
    router: &impl AliasRouter,
    function: &str,
    alias: &str,
    before: AliasState,
) -> Result<MainRestored> {
    let main = Routing::single(&before.routing.function_version);
    let done = |action, now: AliasState| RollbackOutcome {
        action,
        routing: now.routing,
        revision_id: now.revision_id,
    };
    if !before.routing.is_weighted() {
        let outcome = done(RollbackAction::AlreadyRestored, before.clone());
        return Ok(MainRestored { before, outcome });
    }
    let outcome = match write_and_verify(router, function, alias, &main, &before.revision_id).await
    {
        Ok(read) => {
            info!(function, alias, version = %main.function_version, "removed the routing of an alias no rollout owns");
            done(RollbackAction::Restored, read)
        }
        Err(Error::AliasChanged { message, .. }) => {
            // Refused (a stale RevisionId) or read back other: look at what the alias holds now.
            let now = router.read_alias(function, alias).await?;
            warn!(function, alias, found = %now.routing, message, "the alias changed between the read and the write");
            let action = if now.routing == main {
                RollbackAction::AlreadyRestored
            } else {
                RollbackAction::LeftAlone
            };
            done(action, now)
        }
        Err(error) => return Err(error),
    };
    Ok(MainRestored { before, outcome })
}

/// How a rollback ends its rollout, for every path that rolls one back (the state machine's Rollback, the
/// execution cleanup, the local driver, and `shifter abort` on an alias whose rollout is gone): the status
/// the registry records, the reason, and the notification, from why it rolled back and what the rollback
/// did.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackEnd {
    /// The rollout as it ended: when the alias was restored, at weight 0 with the RevisionId the rollback
    /// left.
    pub rollout: Rollout,
    pub status: RolloutStatus,
    /// Why, as the record and the notification say it.
    pub reason: String,
    pub notification: Notification,
}

impl RollbackEnd {
    /// `cause`: why the rollout rolled back. `error_type`: the error that stopped it, if an error did (the
    /// notification is then RolloutFailed with that `errorType`, and the status Failed; without one, an
    /// alarm, a hook, an operator's abort or an expired pause, RolledBack). `done`: what the rollback did.
    ///
    /// An alias left alone is RolloutFailed with `errorType` AliasChanged (status LeftAlone); a rollback that
    /// failed is RollbackFailed (status RollbackFailed).
    pub fn of(
        rollout: &Rollout,
        cause: &str,
        error_type: Option<&str>,
        done: std::result::Result<&RollbackOutcome, &Error>,
    ) -> RollbackEnd {
        let end = |rollout: Rollout, status, reason: String, n: Notification| RollbackEnd {
            notification: n.with_reason(&reason),
            rollout,
            status,
            reason,
        };
        match done {
            Ok(outcome) if outcome.action == RollbackAction::LeftAlone => end(
                rollout.clone(),
                RolloutStatus::LeftAlone,
                format!("{cause}; {}", left_alone_message(outcome)),
                Notification::new(EventType::RolloutFailed, rollout)
                    .with_error_type("AliasChanged"),
            ),
            Ok(outcome) => {
                let mut restored = rollout.clone();
                restored.weight_bps = 0;
                restored.revision_id = outcome.revision_id.clone();
                match error_type {
                    None => {
                        let n = Notification::new(EventType::RolledBack, &restored);
                        end(restored, RolloutStatus::RolledBack, cause.to_string(), n)
                    }
                    Some(error_type) => {
                        let reason = format!(
                            "{cause}; alias restored to version {}",
                            restored.current_version
                        );
                        let n = Notification::new(EventType::RolloutFailed, &restored)
                            .with_error_type(error_type);
                        end(restored, RolloutStatus::Failed, reason, n)
                    }
                }
            }
            Err(error) => end(
                rollout.clone(),
                RolloutStatus::RollbackFailed,
                format!("{cause}; then the rollback failed: {error}"),
                Notification::new(EventType::RollbackFailed, rollout)
                    .with_error_type(error.error_type()),
            ),
        }
    }

    /// Publishes the notification to the rollout's topic (if it names one), then records the end in the
    /// registry and gives the alias's lease back. Never fails the caller: a notification that could not be
    /// published is returned, for the caller to show.
    pub async fn record<P: Registry + Notifier>(&self, ports: &P, now_ms: u64) -> Result<()> {
        let published = notify(ports, &self.rollout, &self.notification).await;
        lease::finish(
            ports,
            &self.rollout,
            self.status,
            Some(&self.reason),
            now_ms,
        )
        .await;
        published
    }
}

/// True when `now` is a state of the alias this rollout produced (see [`rollback`]).
pub fn could_have_written(
    rollout: &Rollout,
    now: &AliasState,
    write_may_be_in_flight: bool,
) -> bool {
    if now.revision_id == rollout.revision_id || now.routing == rollout.expected_routing() {
        return true;
    }
    write_may_be_in_flight
        && rollout.next_step().is_some_and(|step| {
            now.routing
                == Routing::split(
                    &rollout.current_version,
                    &rollout.target_version,
                    step.weight_bps,
                )
        })
}

/// The message for an alias left alone: what it routes now, and that the rollout did not set it.
pub fn left_alone_message(outcome: &RollbackOutcome) -> String {
    format!(
        "someone else changed the alias: it routes {}, which this rollout did not set; left alone",
        outcome.routing
    )
}
