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
    use shifter::notification::EventType;
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

    fn counts(invocations: u64, errors: u64) -> shifter::analysis::judge::VersionMetrics {
        shifter::analysis::judge::VersionMetrics {
            invocations,
            errors,
            latency_ms: Some(100.0),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn an_inconclusive_analysis_extends_the_bake_without_shifting() {
        let aws = world();
        let analysis = json!({"analysis": {"maxExtensionSeconds": 90}});
        let state = prepared(&aws, request(json!("Canary10Percent5Minutes"), analysis)).await;
        let shifted = handle(&aws, state).await.unwrap();
        assert_eq!(shifted.wait_seconds, 300);
        assert_eq!(
            aws.calls(Op::GetMetricData),
            0,
            "no analysis before traffic is split"
        );
        // No traffic: 60 s more, then the last 30 s, then no extension is left and the rollout goes on.
        let once = handle(&aws, shifted).await.unwrap();
        assert_eq!((once.wait_seconds, once.done), (60, false));
        assert_eq!(once.rollout.steps_done, 1, "nothing shifted");
        let twice = handle(&aws, once).await.unwrap();
        assert_eq!(
            (twice.wait_seconds, twice.rollout.extended_seconds),
            (30, 90)
        );
        let passed = handle(&aws, twice).await.unwrap();
        assert!(passed.done && passed.verdict.as_ref().unwrap().healthy);
        assert_eq!(aws.calls(Op::GetMetricData), 3);
        assert_eq!(aws.calls(Op::WriteAlias), 1);
        let events: Vec<_> = aws
            .notifications()
            .into_iter()
            .map(|(_, n)| n.event_type)
            .collect();
        assert_eq!(
            events
                .iter()
                .filter(|e| **e == EventType::AnalysisInconclusive)
                .count(),
            3
        );
    }

    #[tokio::test]
    async fn with_an_interval_the_bake_is_waited_in_chunks_with_an_analysis_after_each() {
        let aws = world();
        aws.set_version_metrics(FUNCTION, ALIAS, "1", counts(4000, 10));
        aws.set_version_metrics(FUNCTION, ALIAS, "2", counts(400, 1));
        let analysis = json!({"analysis": {"intervalSeconds": 120}});
        let state = prepared(&aws, request(json!("Canary10Percent5Minutes"), analysis)).await;
        let mut state = handle(&aws, state).await.unwrap();
        let mut waits = vec![state.wait_seconds];
        while !state.done {
            state = handle(&aws, state).await.unwrap();
            waits.push(state.wait_seconds);
        }
        assert_eq!(waits, [120, 120, 60, 0]);
        assert_eq!(aws.calls(Op::GetMetricData), 3);
        // Only the analysis that ends the bake is an event; the two during it found nothing wrong.
        let events: Vec<_> = aws
            .notifications()
            .into_iter()
            .map(|(_, n)| n.event_type)
            .collect();
        assert_eq!(
            events,
            [EventType::TrafficShifted, EventType::AnalysisPassed]
        );
    }

    #[tokio::test]
    async fn a_failed_analysis_is_an_unhealthy_verdict_even_on_a_promote() {
        let aws = world();
        aws.set_version_metrics(FUNCTION, ALIAS, "1", counts(4000, 10));
        aws.set_version_metrics(FUNCTION, ALIAS, "2", counts(400, 40));
        let state = prepared(
            &aws,
            request(
                json!("Canary10Percent5Minutes"),
                json!({"analysis": "default"}),
            ),
        )
        .await;
        let mut state = handle(&aws, state).await.unwrap();
        state.operator = Some(json!({"command": "promote"}));
        let out = handle(&aws, state).await.unwrap();
        let verdict = out.verdict.unwrap();
        assert!(!verdict.healthy && !out.done);
        assert!(
            verdict
                .reason()
                .starts_with("canary analysis failed (v2 vs v1 over "),
            "{}",
            verdict.reason()
        );
        assert_eq!(out.rollout.last_analysis.unwrap().new_invocations, 400);
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
