use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::domain::Routing;
use crate::error::{Error, Result};
use crate::ports::AliasRouter;
use crate::rollout::Rollout;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackOutcome {
    pub routing: Routing,
    /// False when the alias already served only the old version (rollback is idempotent).
    pub changed: bool,
    pub revision_id: String,
}

/// Returns the alias to the version it served before the rollout, with no routing config. Idempotent.
/// It reads the alias first and fences its write on that fresh RevisionId: whatever weight the rollout
/// (or a retry of it) left, the alias ends on one version. If the alias now routes to a version this rollout
/// never used, someone else owns it, and it is left alone.
pub async fn rollback(router: &impl AliasRouter, rollout: &Rollout) -> Result<RollbackOutcome> {
    let (function, alias) = (&rollout.function_name, &rollout.alias);
    let old = Routing::single(&rollout.current_version);
    let now = router.read_alias(function, alias).await?;
    if now.routing == old {
        return Ok(RollbackOutcome {
            routing: old,
            changed: false,
            revision_id: now.revision_id,
        });
    }
    let ours = [
        rollout.current_version.as_str(),
        rollout.target_version.as_str(),
    ];
    let touches_only_ours = ours.contains(&now.routing.function_version.as_str())
        && now
            .routing
            .additional
            .as_ref()
            .is_none_or(|a| ours.contains(&a.version.as_str()));
    if !touches_only_ours {
        warn!(rollout_id = %rollout.rollout_id, found = %now.routing, "alias routes to versions this rollout never used; left alone");
        return Err(Error::AliasChanged {
            alias: alias.clone(),
            message: format!(
                "it now routes {}, which this rollout did not set; left as it is",
                now.routing
            ),
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
        routing: old,
        changed: true,
        revision_id: read.revision_id,
    })
}
