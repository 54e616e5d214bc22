//! Prepare: validates the rollout request, checks what it names in AWS and takes the alias
//! (`usecase::prepare`), then publishes RolloutStarted. Changes no alias.
//!
//! Errors (`errorType`): `InvalidRequest`, `ResourceNotFound`, `AliasBusy`, `Transient`, `AwsRejected`,
//! `InvalidState`. The state machine sends every one of them to the RequestRejected Fail state: nothing was
//! shifted yet, and an `AliasBusy` alias belongs to another rollout, so there is nothing to roll back.

use shifter::notification::{EventType, Notification};
use shifter::ports::{AlarmSource, AliasRouter, CallerIdentity, FunctionRegistry, Notifier};
use shifter::request::RolloutRequest;
use shifter::state::{PrepareInput, RolloutState};
use shifter::time::SystemClock;
use shifter::usecase;
use shifter::usecase::lease::{self, Registry};

/// `default_topic` (the stack's topic) is used when the request names no `notificationTopicArn`.
pub async fn handle<P>(
    ports: &P,
    input: PrepareInput,
    default_topic: Option<&str>,
) -> shifter::Result<RolloutState>
where
    P: FunctionRegistry + AliasRouter + AlarmSource + CallerIdentity + Notifier + Registry,
{
    input.check_schema()?;
    let mut request = RolloutRequest::from_value(input.request)?;
    if request.notification_topic_arn.is_none() {
        request.notification_topic_arn = default_topic.map(str::to_string);
    }
    let spec = request.validate()?;
    let mut rollout = usecase::prepare(ports, &SystemClock, &spec, &input.rollout_id).await?;
    rollout.execution_arn = input.execution_arn.clone();
    // The alias's lease: a second execution on the same alias stops here with AliasBusy, before any write.
    lease::take(ports, &SystemClock, &rollout).await?;
    shifter_lambda::publish(
        ports,
        &rollout,
        Notification::new(EventType::RolloutStarted, &rollout),
    )
    .await;
    Ok(RolloutState::new(rollout))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shifter::domain::Routing;
    use shifter::fake::Op;
    use shifter_lambda::testing::{request, world, ALIAS, FUNCTION, TOPIC};

    use super::*;

    fn input(request: serde_json::Value) -> PrepareInput {
        PrepareInput {
            schema_version: 1,
            rollout_id: "r-1".into(),
            request,
            execution_arn: None,
        }
    }

    #[tokio::test]
    async fn prepares_and_announces_without_touching_the_alias() {
        let aws = world();
        let state = handle(
            &aws,
            input(request(json!("Canary10Percent5Minutes"), json!({}))),
            None,
        )
        .await
        .unwrap();
        assert_eq!(state.rollout.rollout_id, "r-1");
        assert_eq!(state.rollout.target_version, "2");
        assert_eq!(state.rollout.plan.steps.len(), 2);
        assert!(!state.done && state.error.is_none());
        assert_eq!(aws.calls(Op::WriteAlias), 0);
        let sent = aws.notifications();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].1.event_type, EventType::RolloutStarted);
    }

    #[tokio::test]
    async fn the_stack_topic_is_the_default() {
        let aws = world();
        let req = request(json!("AllAtOnce"), json!({"notificationTopicArn": null}));
        let state = handle(&aws, input(req.clone()), Some(TOPIC)).await.unwrap();
        assert_eq!(state.rollout.notification_topic_arn.as_deref(), Some(TOPIC));
        let state = handle(&aws, input(req), None).await.unwrap();
        assert_eq!(state.rollout.notification_topic_arn, None);
    }

    #[tokio::test]
    async fn rejections_carry_stable_names() {
        let aws = world();
        let bad = handle(
            &aws,
            input(request(
                json!("Canary10Percent5Minutes"),
                json!({"alias": ""}),
            )),
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(bad.error_type(), "InvalidRequest");

        aws.force_alias(FUNCTION, ALIAS, Routing::split("1", "2", 1000));
        let busy = handle(
            &aws,
            input(request(json!("Canary10Percent5Minutes"), json!({}))),
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(busy.error_type(), "AliasBusy");
        assert_eq!(aws.calls(Op::WriteAlias), 0);
        assert!(aws.notifications().is_empty());

        let mut old = input(json!({}));
        old.schema_version = 9;
        assert_eq!(
            handle(&aws, old, None).await.unwrap_err().error_type(),
            "InvalidState"
        );
    }
}
