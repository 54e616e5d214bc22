//! Notify: publishes the lifecycle event the state machine names (RolloutSucceeded after the post-traffic
//! hook; RollbackFailed when Rollback gave up) and passes the state through. For RollbackFailed the reason
//! joins why the rollout stopped with why the rollback failed, and `errorType` is the rollback's error.
//!
//! Errors (`errorType`): `InvalidState` only: a failed publish is logged, never an error.

use shifter::custom_resource::answer;
use shifter::custom_resource::ports::{ReplyLedger, ReplySender};
use shifter::notification::{EventType, Notification};
use shifter::ports::Notifier;
use shifter::registry::RolloutStatus;
use shifter::state::{NotifyInput, RolloutState};
use shifter::usecase::lease::{self, Registry};

pub async fn handle<P>(ports: &P, input: NotifyInput) -> shifter::Result<RolloutState>
where
    P: Notifier + Registry + ReplyLedger + ReplySender,
{
    input.check_schema()?;
    let NotifyInput { event, state, .. } = input;
    let mut n = Notification::new(event, &state.rollout);
    // The last Task of both ends (promoted, rollback failed): it records the end and gives the lease back.
    let ended = match event {
        EventType::RolloutSucceeded => Some(RolloutStatus::Promoted),
        EventType::RollbackFailed => Some(RolloutStatus::RollbackFailed),
        _ => None,
    };
    if event == EventType::RollbackFailed {
        let why = state
            .failure_reason()
            .unwrap_or_else(|| "rollback requested".to_string());
        n = match &state.rollback_error {
            Some(e) => n
                .with_reason(format!("{why}; then the rollback failed: {}", e.message()))
                .with_error_type(&e.error),
            None => n.with_reason(format!("{why}; then the rollback failed")),
        };
    } else if let Some(reason) = state.failure_reason() {
        n = n.with_reason(reason);
    }
    if let Some(status) = ended {
        let now = shifter::time::unix_millis();
        lease::finish(ports, &state.rollout, status, n.reason.as_deref(), now).await;
    }
    let rollout = &state.rollout;
    match event {
        EventType::RolloutSucceeded => {
            answer::for_rollout(ports, rollout, answer::promoted).await;
        }
        EventType::RollbackFailed => {
            let why = n.reason.clone().unwrap_or_default();
            answer::for_rollout(ports, rollout, |r, to| {
                answer::not_promoted(r, to, "RollbackFailed", &why)
            })
            .await;
        }
        _ => {}
    }
    shifter_lambda::publish(ports, &state.rollout, n).await;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shifter::health::Verdict;
    use shifter::state::StateError;
    use shifter_lambda::testing::{prepared, request, world};

    use super::*;

    #[tokio::test]
    async fn a_promoted_rollout_answers_cloudformation_success_once() {
        let aws = world();
        let mut state = prepared(&aws, request(json!("AllAtOnce"), json!({}))).await;
        state.rollout.cloud_formation = Some(shifter_lambda::testing::stack_reply());
        let input = NotifyInput {
            schema_version: 1,
            event: EventType::RolloutSucceeded,
            state,
        };
        handle(&aws, input.clone()).await.unwrap();
        let answers = shifter_lambda::testing::answers(&aws);
        assert_eq!(
            answers,
            vec![
                json!({"Status": "SUCCESS", "Reason": "Promoted: orders:live serves version 2",
                "PhysicalResourceId": "arn:aws:lambda:us-east-1:123456789012:function:orders:live",
                "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/orders/guid",
                "RequestId": "req-7", "LogicalResourceId": "OrdersLive", "NoEcho": false,
                "Data": {"Version": "2", "AliasArn": "arn:aws:lambda:us-east-1:123456789012:function:orders:live",
                    "RolloutId": "r-1"}})
            ]
        );
        // Any later answer to the same request (a redelivery, the cleanup) re-sends this one.
        let rollback_failed = NotifyInput {
            event: EventType::RollbackFailed,
            ..input
        };
        handle(&aws, rollback_failed).await.unwrap();
        let all = shifter_lambda::testing::answers(&aws);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1], all[0]);
    }

    #[tokio::test]
    async fn rollback_failed_says_both_whys() {
        let aws = world();
        let mut state = prepared(&aws, request(json!("AllAtOnce"), json!({}))).await;
        state.verdict = Some(Verdict {
            healthy: false,
            failing: vec!["orders-errors".into()],
            ..Verdict::default()
        });
        state.rollback_error = Some(StateError {
            error: "AliasChanged".into(),
            cause: Some(
                json!({"errorType": "AliasChanged", "errorMessage": "left as it is"}).to_string(),
            ),
        });
        let input = NotifyInput {
            schema_version: 1,
            event: EventType::RollbackFailed,
            state: state.clone(),
        };
        assert_eq!(handle(&aws, input).await.unwrap(), state);
        let n = aws.notifications().pop().unwrap().1;
        assert_eq!(n.event_type, EventType::RollbackFailed);
        assert_eq!(
            n.reason.as_deref(),
            Some("alarm(s) firing: orders-errors; then the rollback failed: left as it is")
        );
        assert_eq!(n.error_type.as_deref(), Some("AliasChanged"));
    }

    #[tokio::test]
    async fn succeeded_passes_the_state_through() {
        let aws = world();
        let state = prepared(&aws, request(json!("AllAtOnce"), json!({}))).await;
        let input = NotifyInput {
            schema_version: 1,
            event: EventType::RolloutSucceeded,
            state: state.clone(),
        };
        assert_eq!(handle(&aws, input).await.unwrap(), state);
        let n = aws.notifications().pop().unwrap().1;
        assert_eq!(n.event_type, EventType::RolloutSucceeded);
        assert_eq!(n.reason, None);
    }
}
