use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::domain::{AliasState, Routing};
use crate::error::{Error, Result};
use crate::ports::AliasRouter;
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
    router
        .write_alias(function, alias, &old, &now.revision_id)
        .await?;
    let read = router.read_alias(function, alias).await?;
    if read.routing != old {
        return Err(Error::AliasChanged {
            alias: alias.clone(),
            message: format!("rollback wrote {old} but read back {}", read.routing),
        });
    }
    info!(rollout_id = %rollout.rollout_id, version = %rollout.current_version, "rolled back");
    Ok(RollbackOutcome {
        action: RollbackAction::Restored,
        routing: old,
        revision_id: read.revision_id,
    })
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
