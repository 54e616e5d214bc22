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

/// Writes `routing` fenced on the rollout's RevisionId, and checks that the alias holds exactly what was written
/// (set an absolute weight, then verify it). UpdateAlias answers with the alias as it now is (its routing and
/// its new RevisionId), so a step costs one control-plane call: Lambda's control plane allows about 15 calls a
/// second per account and region, shared with every other tool. The alias is read only when the write's
/// outcome is ambiguous (a conflict that may be our own lost write). A change made by someone else after the
/// write is caught by the next write's fence.
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
    if &written.routing != routing {
        return Err(changed(rollout, &written.routing, routing));
    }
    Ok(written)
}

fn changed(rollout: &Rollout, found: &Routing, wanted: &Routing) -> Error {
    Error::AliasChanged {
        alias: rollout.alias.clone(),
        message: format!(
            "expected {wanted}, found {found}: someone else changed it, so the rollout stops"
        ),
    }
}
