use tracing::info;

use crate::error::Result;
use crate::health::{changed_since, judge, Verdict};
use crate::ports::AlarmSource;
use crate::rollout::Rollout;

/// Reads every watched alarm in one batched call and judges them. An unhealthy verdict is an answer, not an
/// error. `now_ms` is when this check began; the caller stores it as the rollout's `checked_ms` once the
/// verdict is in hand.
///
/// An alarm's current state is not enough: one that went to ALARM and back to OK between two checks would
/// let the rollout promote. So every watched alarm whose state changed since the previous check (and is not
/// in ALARM now) has its history read too. That is rare: most checks make one call.
pub async fn check_health(
    alarms: &impl AlarmSource,
    rollout: &Rollout,
    now_ms: u64,
) -> Result<Verdict> {
    if rollout.alarms.is_empty() {
        return Ok(Verdict::healthy());
    }
    let observed = alarms.alarm_states(&rollout.alarms).await?;
    let mut fired = Vec::new();
    if rollout.checked_ms > 0 {
        for name in changed_since(&rollout.alarms, &observed, rollout.checked_ms) {
            if alarms.fired_since(&name, rollout.checked_ms).await? {
                fired.push(name);
            }
        }
    }
    let verdict = judge(
        &rollout.alarms,
        &observed,
        &fired,
        rollout.insufficient_data,
    );
    info!(rollout_id = %rollout.rollout_id, healthy = verdict.healthy, reason = %verdict.reason(), now_ms, "health checked");
    Ok(verdict)
}
