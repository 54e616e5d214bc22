use tracing::info;

use crate::error::Result;
use crate::health::{judge, Verdict};
use crate::ports::AlarmSource;
use crate::rollout::Rollout;

/// Reads every watched alarm in one batched call and judges them. An unhealthy verdict is an answer, not an error.
pub async fn check_health(alarms: &impl AlarmSource, rollout: &Rollout) -> Result<Verdict> {
    if rollout.alarms.is_empty() {
        return Ok(Verdict::healthy());
    }
    let observed = alarms.alarm_states(&rollout.alarms).await?;
    let verdict = judge(&rollout.alarms, &observed, rollout.insufficient_data);
    info!(rollout_id = %rollout.rollout_id, healthy = verdict.healthy, reason = %verdict.reason(), "health checked");
    Ok(verdict)
}
