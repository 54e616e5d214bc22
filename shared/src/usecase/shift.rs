use tracing::info;

use crate::domain::{AliasState, Routing};
use crate::error::{Error, Result};
use crate::plan::FULL_BPS;
use crate::ports::AliasRouter;
use crate::rollout::Rollout;

/// Applies the plan's next step (never the final 100% step: that is `finalize`). The weight written is
/// absolute, so a retried call converges instead of adding up.
pub async fn shift_traffic(router: &impl AliasRouter, rollout: &Rollout) -> Result<Rollout> {
    rollout.check_schema()?;
    let step = rollout
        .next_step()
        .filter(|s| s.weight_bps < FULL_BPS)
        .ok_or_else(|| Error::InvalidState {
            message: format!(
                "no step left to shift after {} of {}: finalize instead",
                rollout.steps_done,
                rollout.plan.steps.len()
            ),
        })?;
    let routing = Routing::split(
        &rollout.current_version,
        &rollout.target_version,
        step.weight_bps,
    );
    let state = set_routing(router, rollout, &routing).await?;
    info!(rollout_id = %rollout.rollout_id, weight_bps = step.weight_bps, revision_id = %state.revision_id, "traffic shifted");
    Ok(Rollout {
        steps_done: rollout.steps_done + 1,
        weight_bps: step.weight_bps,
        revision_id: state.revision_id,
        ..rollout.clone()
    })
}

/// Points the alias at the target version alone and clears its routing. Works from any step, so an
/// operator's "promote now" is the same call.
pub async fn finalize(router: &impl AliasRouter, rollout: &Rollout) -> Result<Rollout> {
    rollout.check_schema()?;
    let routing = Routing::single(&rollout.target_version);
    let state = set_routing(router, rollout, &routing).await?;
    info!(rollout_id = %rollout.rollout_id, version = %rollout.target_version, "alias finalized");
    Ok(Rollout {
        steps_done: rollout.plan.steps.len(),
        weight_bps: FULL_BPS,
        revision_id: state.revision_id,
        ..rollout.clone()
    })
}

/// Writes `routing` fenced on the rollout's RevisionId, then reads the alias back and checks it holds exactly
/// what was written (set an absolute weight, then verify it).
async fn set_routing(
    router: &impl AliasRouter,
    rollout: &Rollout,
    routing: &Routing,
) -> Result<AliasState> {
    let (function, alias) = (&rollout.function_name, &rollout.alias);
    let written = match router
        .write_alias(function, alias, routing, &rollout.revision_id)
        .await
    {
        Ok(state) => state,
        Err(Error::AliasChanged { .. }) => {
            // A retry after a write whose answer was lost finds the alias already as asked: that is success.
            // Anything else means someone else changed the alias, and the rollout must stop.
            let now = router.read_alias(function, alias).await?;
            if &now.routing != routing {
                return Err(changed(rollout, &now.routing, routing));
            }
            now
        }
        Err(other) => return Err(other),
    };
    let read = router.read_alias(function, alias).await?;
    if &read.routing != routing || read.revision_id != written.revision_id {
        return Err(changed(rollout, &read.routing, routing));
    }
    Ok(read)
}

fn changed(rollout: &Rollout, found: &Routing, wanted: &Routing) -> Error {
    Error::AliasChanged {
        alias: rollout.alias.clone(),
        message: format!(
            "expected {wanted}, found {found}: someone else changed it, so the rollout stops"
        ),
    }
}
