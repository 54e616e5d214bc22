//! Advance: one turn of the state machine's loop. Checks the alarms (`usecase::check_health`); if healthy,
//! shifts traffic to the plan's next step that is not the final 100% one (`usecase::shift_traffic`) and
//! publishes TrafficShifted.
//!
//! Output: `verdict` (always set), `waitSeconds` (the bake of the step just applied), and `done` (true when
//! only the final step is left, after a healthy check, or after an operator's promote: `$.operator`). The Choice after it goes: unhealthy → Rollback,
//! done → Finalize, otherwise → Wait `waitSeconds` → Advance. So each non-final step costs three state
//! transitions (Advance, Choice, Wait), and the alias sees the same writes as in the local driver: every
//! step's weight, each one after a healthy check, then Finalize after a last healthy check.
//!
//! With canary analysis (`rollout.analysis`), the check also judges the new version against the old one at the
//! end of each bake (`usecase::check`): a failed analysis rolls back like an alarm; an inconclusive one may
//! extend the bake (`waitSeconds` set, nothing shifted: the Choice goes to Bake again). With
//! `analysis.intervalSeconds` the bake is waited in chunks of that length, with an analysis after each.
//!
//! Errors (`errorType`): `AliasChanged`, `Transient`, `AwsRejected`, `InvalidState`.

use shifter::analysis::decide::{AnalysisReport, CheckPoint};
use shifter::analysis::metrics::MetricsSource;
use shifter::notification::{EventType, Notification};
use shifter::plan::FULL_BPS;
use shifter::ports::{AlarmSource, AliasRouter, Notifier};
use shifter::registry::RolloutJournal;
use shifter::state::RolloutState;
use shifter::usecase;

pub async fn handle<P>(ports: &P, state: RolloutState) -> shifter::Result<RolloutState>
where
    P: AliasRouter + AlarmSource + MetricsSource + Notifier + RolloutJournal,
{
    state.check_schema()?;
    let now = shifter::time::unix_millis();
    let command = state.operator_command();
    let promote = command == Some("promote");
    let mut rollout = state.rollout.clone();
    if command == Some("resume") {
        // An operator's resume ends the bake the pause interrupted, as in the local driver.
        rollout.bake_left_seconds = 0;
    }
    // Advance runs after a whole bake (or a resume, or a promote), or after one `intervalSeconds` chunk of it.
    let point = CheckPoint {
        end_of_bake: rollout.bake_left_seconds == 0,
        promote,
        interval_over: rollout.bake_left_seconds > 0,
    };
    let verdict = usecase::check(ports, &rollout, now, point).await?;
    rollout.checked(now, &verdict);
    if let Some(event) = verdict
        .analysis
        .as_ref()
        .and_then(|report| Notification::of_analysis(&rollout, report))
    {
        shifter_lambda::publish(ports, &rollout, event).await;
    }
    let healthy = verdict.healthy;
    let extend = verdict
        .analysis
        .as_ref()
        .and_then(AnalysisReport::extend_seconds);
    let mut next = RolloutState {
        rollout,
        verdict: Some(verdict),
        wait_seconds: 0,
        done: false,
        operator: None,
        ..state
    };
    if !healthy {
        return Ok(next);
    }
    if promote {
        // An operator's promote: the remaining steps and bakes are skipped after this last healthy check.
        tracing::info!(rollout_id = %next.rollout.rollout_id, "promote requested: skipping the remaining steps");
        next.done = true;
        return Ok(next);
    }
    if let Some(seconds) = extend {
        // Too little data to judge: bake this step longer (one more Bake and Advance: 3 transitions).
        tracing::info!(rollout_id = %next.rollout.rollout_id, seconds, "bake extended for the analysis");
        record_bake(ports, &next, seconds).await;
        next.wait_seconds = seconds;
        return Ok(next);
    }
    if let Some(chunk) = next.rollout.next_bake_chunk() {
        // The bake goes on: the analysis runs every `intervalSeconds` during it.
        next.wait_seconds = chunk;
        return Ok(next);
    }
    match next.rollout.next_step().filter(|s| s.weight_bps < FULL_BPS) {
        None => next.done = true,
        Some(step) => {
            next.rollout = usecase::shift_traffic(ports, &next.rollout).await?;
            let shifted = shifter::time::unix_millis();
            next.wait_seconds = next.rollout.begin_bake(shifted, step.bake_seconds);
            record_bake(ports, &next, step.bake_seconds).await;
            shifter_lambda::publish(
                ports,
                &next.rollout,
                Notification::new(EventType::TrafficShifted, &next.rollout),
            )
            .await;
        }
    }
    Ok(next)
}

/// Shows the bake on the registry's record (`shifter status`: when it ends).
async fn record_bake(journal: &impl RolloutJournal, state: &RolloutState, seconds: u32) {
    let bake = std::time::Duration::from_secs(u64::from(seconds));
    usecase::lease::progress(
        journal,
        &state.rollout,
        shifter::time::unix_millis(),
        Some(bake),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shifter::domain::{AlarmState, Routing};
    use shifter::fake::Op;
    use shifter_lambda::testing::{prepared, request, world, ALARM, ALIAS, FUNCTION};

    use super::*;

    #[tokio::test]
    async fn walks_a_linear_plan_then_reports_done() {
        let aws = world();
        let strategy = json!({"type": "linear", "percent": 40, "intervalSeconds": 60});
        let mut state = prepared(&aws, request(strategy, json!({}))).await;
        let mut waits = vec![];
        while !state.done {
            state = handle(&aws, state).await.unwrap();
            assert!(state.verdict.as_ref().unwrap().healthy);
            waits.push(state.wait_seconds);
        }
        assert_eq!(waits, [60, 60, 0]);
        assert_eq!(state.rollout.steps_done, 2);
        assert_eq!(
            aws.alias(FUNCTION, ALIAS).routing,
            Routing::split("1", "2", 8000)
        );
        assert_eq!(aws.calls(Op::WriteAlias), 2);
        assert_eq!(aws.notifications().len(), 2);
    }

    #[tokio::test]
    async fn an_operators_promote_skips_the_remaining_steps_after_a_healthy_check() {
        let aws = world();
        let strategy = json!({"type": "linear", "percent": 20, "intervalSeconds": 60});
        let state = prepared(&aws, request(strategy, json!({}))).await;
        let mut state = handle(&aws, state).await.unwrap();
        state.operator = Some(json!({"command": "promote"}));
        let promoted = handle(&aws, state.clone()).await.unwrap();
        assert!(promoted.done && promoted.operator.is_none());
        assert_eq!(
            promoted.rollout.steps_done, 1,
            "no further step was applied"
        );
        assert_eq!(aws.calls(Op::WriteAlias), 1);
        // An alarm still wins over a promote.
        aws.set_alarm(ALARM, AlarmState::Alarm);
        let refused = handle(&aws, state).await.unwrap();
        assert!(!refused.verdict.unwrap().healthy && !refused.done);
    }

    #[tokio::test]
    async fn an_unhealthy_check_shifts_nothing() {
        let aws = world();
        let state = prepared(&aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
        aws.set_alarm(ALARM, AlarmState::Alarm);
        let out = handle(&aws, state).await.unwrap();
        assert!(!out.verdict.as_ref().unwrap().healthy);
        assert!(!out.done);
        assert_eq!(out.rollout.steps_done, 0);
        assert_eq!(aws.calls(Op::WriteAlias), 0);
    }

    #[tokio::test]
    async fn a_foreign_change_is_an_error() {
        let aws = world();
        let state = prepared(&aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
        aws.force_alias(FUNCTION, ALIAS, Routing::single("1"));
        let error = handle(&aws, state).await.unwrap_err();
        assert_eq!(error.error_type(), "AliasChanged");
    }
}
