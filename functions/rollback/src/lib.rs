//! Rollback: returns the alias to the version it served before the rollout (`usecase::rollback`,
//! idempotent) and publishes RolledBack (an alarm fired or a hook failed) or RolloutFailed (the state carries
//! an `error` a Catch recorded; its `Error` becomes the notification's `errorType`). Sets `reason`.
//!
//! When the alias holds a routing this rollout could not have set (someone else changed it), it is left
//! alone: that is not a failure. The execution then ends `AliasChanged` (exit 3 in the CLI) and the
//! notification is RolloutFailed with `errorType` AliasChanged, never RollbackFailed.
//!
//! Only a caught error (`$.error`) means a Task may have died after its UpdateAlias landed; an unhealthy
//! verdict or a failed hook never leaves a write in flight. That decides whether the plan's next routing
//! counts as this rollout's (`usecase::rollback`).
//!
//! Errors (`errorType`): `AliasChanged` (the alias changed during the rollback's own write), `Transient`,
//! `AwsRejected`, `InvalidState`. The state machine retries it hard, then publishes RollbackFailed.

use shifter::custom_resource::answer;
use shifter::custom_resource::ports::{ReplyLedger, ReplySender};
use shifter::ports::{AliasRouter, Notifier};
use shifter::state::RolloutState;
use shifter::usecase::lease::Registry;
use shifter::usecase::{self, RollbackEnd};

/// A conflict the state machine caught (someone else changed the alias) keeps its name at the end of the
/// execution, so `shifter deploy` exits 3 for it as in local mode.
fn is_conflict(error_type: &str) -> bool {
    matches!(error_type, "AliasChanged" | "AliasBusy")
}

pub async fn handle<P>(ports: &P, state: RolloutState) -> shifter::Result<RolloutState>
where
    P: AliasRouter + Notifier + Registry + ReplyLedger + ReplySender,
{
    state.check_schema()?;
    let now = shifter::time::unix_millis();
    let reason = state
        .failure_reason()
        .unwrap_or_else(|| "rollback requested".to_string());
    // An error is returned: the state machine retries Rollback, then publishes RollbackFailed itself.
    let outcome = usecase::rollback(ports, &state.rollout, state.error.is_some()).await?;
    let caught = state.error.as_ref().map(|e| e.error.as_str());
    let end = RollbackEnd::of(&state.rollout, &reason, caught, Ok(&outcome));
    // Logged inside; a step never fails because its notification could not be published.
    let _ = end.record(ports, now).await;
    if !outcome.restored() {
        answer::for_rollout(ports, &state.rollout, |r, to| {
            answer::not_promoted(r, to, "AliasChanged", &end.reason)
        })
        .await;
        return Ok(RolloutState {
            reason: Some(end.reason),
            end_error: Some("AliasChanged".to_string()),
            left_alone: Some(outcome.routing),
            ..state
        });
    }
    let end_error = match &state.error {
        Some(e) if is_conflict(&e.error) => e.error.clone(),
        _ => "RolledBack".to_string(),
    };
    // CloudFormation reads this reason in the stack's events: say where the rollout stood when it stopped.
    let at = format!(
        "{reason} (at {} on version {}); alias restored to version {}",
        shifter::domain::percent(state.rollout.weight_bps),
        end.rollout.target_version,
        end.rollout.current_version
    );
    answer::for_rollout(ports, &end.rollout, |r, to| {
        answer::not_promoted(r, to, &end_error, &at)
    })
    .await;
    Ok(RolloutState {
        rollout: end.rollout,
        reason: Some(reason),
        end_error: Some(end_error),
        ..state
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shifter::domain::{AlarmState, Routing};
    use shifter::notification::EventType;
    use shifter::state::StateError;
    use shifter_lambda::testing::{prepared, request, world, ALARM, ALIAS, FUNCTION};

    use super::*;

    #[tokio::test]
    async fn a_rollout_cloudformation_started_answers_failed_saying_where_it_stood() {
        let aws = world();
        let mut state = prepared(&aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
        state.rollout.cloud_formation = Some(shifter_lambda::testing::stack_reply());
        let state = shifter_advance::handle(&aws, state).await.unwrap();
        aws.set_alarm(ALARM, AlarmState::Alarm);
        let state = shifter_advance::handle(&aws, state).await.unwrap();
        handle(&aws, state.clone()).await.unwrap();
        let answers = shifter_lambda::testing::answers(&aws);
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0]["Status"], "FAILED");
        assert_eq!(
            answers[0]["Reason"],
            "RolledBack: alarm(s) firing: orders-errors (at 10% on version 2); alias restored to version 1"
        );
        assert_eq!(answers[0]["Data"]["Version"], "1");
        assert_eq!(answers[0]["Data"]["RolloutId"], "r-1");
        // A retried Rollback Task sends the same answer again, never another one.
        handle(&aws, state).await.unwrap();
        let again = shifter_lambda::testing::answers(&aws);
        assert_eq!(again.len(), 2);
        assert_eq!(again[1], again[0]);
    }

    #[tokio::test]
    async fn a_rollout_without_cloudformation_answers_nothing() {
        let aws = world();
        let state = prepared(&aws, request(json!("AllAtOnce"), json!({}))).await;
        handle(&aws, state).await.unwrap();
        assert!(aws.reply_puts().is_empty());
        assert_eq!(aws.calls(shifter::fake::Op::ReplyLedger), 0);
    }

    #[tokio::test]
    async fn an_alarm_rolls_back_and_says_why() {
        let aws = world();
        let state = prepared(&aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
        let state = shifter_advance::handle(&aws, state).await.unwrap();
        aws.set_alarm(ALARM, AlarmState::Alarm);
        let state = shifter_advance::handle(&aws, state).await.unwrap();
        let out = handle(&aws, state).await.unwrap();
        assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("1"));
        assert_eq!(
            out.reason.as_deref(),
            Some("alarm(s) firing: orders-errors")
        );
        let last = aws.notifications().pop().unwrap().1;
        assert_eq!(last.event_type, EventType::RolledBack);
        assert_eq!(last.weight_percent, 0.0);
    }

    #[tokio::test]
    async fn a_signal_rolls_back_as_a_verdict_not_an_error() {
        for (signal, reason) in [
            ("AlarmFired", "an alarm fired during the bake"),
            ("Aborted", "aborted by an operator"),
            (
                "States.Timeout",
                "the rollout stayed paused past its maximum pause",
            ),
        ] {
            let aws = world();
            let state = prepared(&aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
            let mut state = shifter_advance::handle(&aws, state).await.unwrap();
            state.signal = Some(StateError {
                error: signal.into(),
                cause: None,
            });
            let out = handle(&aws, state).await.unwrap();
            assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("1"));
            assert_eq!(out.reason.as_deref(), Some(reason));
            assert_eq!(out.end_error.as_deref(), Some("RolledBack"));
            let last = aws.notifications().pop().unwrap().1;
            assert_eq!(last.event_type, EventType::RolledBack, "{signal}");
        }
    }

    #[tokio::test]
    async fn the_execution_ends_with_rolled_back_or_the_caught_conflict() {
        for (caught, expected) in [
            (None, "RolledBack"),
            (Some("Transient"), "RolledBack"),
            (Some("AliasChanged"), "AliasChanged"),
        ] {
            let aws = world();
            let mut state =
                prepared(&aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
            state.error = caught.map(|e| StateError {
                error: e.into(),
                cause: None,
            });
            let out = handle(&aws, state).await.unwrap();
            assert_eq!(out.end_error.as_deref(), Some(expected), "{caught:?}");
        }
    }

    #[tokio::test]
    async fn an_operators_own_change_is_left_alone_and_ends_alias_changed() {
        // The pre-traffic hook failed (a verdict: no write in flight) and meanwhile an operator promoted the
        // new version by hand. The same two versions, but not this rollout's routing: it stays.
        let aws = world();
        let mut state = prepared(&aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
        state.hook = Some(shifter::state::HookOutcome {
            phase: shifter::notification::HookPhase::PreTraffic,
            succeeded: false,
            reason: Some("smoke test failed".into()),
        });
        aws.force_alias(FUNCTION, ALIAS, Routing::single("2"));
        let writes = aws.calls(shifter::fake::Op::WriteAlias);
        let out = handle(&aws, state).await.unwrap();
        assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("2"));
        assert_eq!(aws.calls(shifter::fake::Op::WriteAlias), writes);
        assert_eq!(out.end_error.as_deref(), Some("AliasChanged"));
        assert_eq!(out.left_alone, Some(Routing::single("2")));
        assert!(
            out.reason.as_deref().unwrap().contains("left alone"),
            "{out:?}"
        );
        let last = aws.notifications().pop().unwrap().1;
        assert_eq!(last.event_type, EventType::RolloutFailed);
        assert_eq!(last.error_type.as_deref(), Some("AliasChanged"));
    }

    #[tokio::test]
    async fn a_write_lost_with_its_task_is_still_undone() {
        // Advance died after its UpdateAlias to 10% landed (the Catch recorded Lambda.Unknown): the alias
        // carries a RevisionId the state never saw, but the plan's next routing is this rollout's.
        let aws = world();
        let mut state = prepared(&aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
        shifter_advance::handle(&aws, state.clone()).await.unwrap();
        assert_eq!(
            aws.alias(FUNCTION, ALIAS).routing,
            Routing::split("1", "2", 1000)
        );
        state.error = Some(StateError {
            error: "Lambda.Unknown".into(),
            cause: None,
        });
        let out = handle(&aws, state).await.unwrap();
        assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("1"));
        assert_eq!(out.end_error.as_deref(), Some("RolledBack"));
    }

    #[tokio::test]
    async fn a_caught_error_is_reported_as_rollout_failed() {
        let aws = world();
        let mut state = prepared(&aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
        state.error = Some(StateError {
            error: "Transient".into(),
            cause: Some(
                json!({"errorType": "Transient", "errorMessage": "UpdateAlias throttled"})
                    .to_string(),
            ),
        });
        let out = handle(&aws, state.clone()).await.unwrap();
        assert_eq!(out.reason.as_deref(), Some("UpdateAlias throttled"));
        let last = aws.notifications().pop().unwrap().1;
        assert_eq!(last.event_type, EventType::RolloutFailed);
        assert_eq!(last.error_type.as_deref(), Some("Transient"));
        // Idempotent: a second run changes nothing and still answers.
        handle(&aws, state).await.unwrap();
        assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("1"));
    }
}
