//! Prepare: validates the rollout request, checks what it names in AWS and takes the alias
//! (`usecase::prepare`), then publishes RolloutStarted. Changes no alias.
//!
//! Errors (`errorType`): `InvalidRequest`, `ResourceNotFound`, `AliasBusy`, `Transient`, `AwsRejected`,
//! `InvalidState`. The state machine sends every one of them to the RequestRejected Fail state: nothing was
//! shifted yet, and an `AliasBusy` alias belongs to another rollout, so there is nothing to roll back.

use shifter::custom_resource::ports::{ReplyLedger, ReplySender};
use shifter::custom_resource::{self, answer, StackReply};
use shifter::notification::{EventType, Notification};
use shifter::ports::{AlarmSource, AliasRouter, CallerIdentity, FunctionRegistry, Notifier};
use shifter::request::RolloutRequest;
use shifter::state::{PrepareInput, RolloutState};
use shifter::time::SystemClock;
use shifter::usecase;
use shifter::usecase::lease::{self, Registry};

/// The stack's EventBridge rule passes the whole "Rollout Requested" event (so the rollout knows EventBridge
/// started it); its `detail` is the request. Any other input is the request itself.
pub fn unwrap_event(input: serde_json::Value) -> (serde_json::Value, Option<&'static str>) {
    let is_event = input.get("source").and_then(|v| v.as_str()) == Some("shifter")
        && input.get("detail-type").and_then(|v| v.as_str()) == Some("Rollout Requested")
        && input.get("detail").is_some_and(|d| d.is_object());
    match input {
        serde_json::Value::Object(mut event) if is_event => (
            event.remove("detail").unwrap_or_default(),
            Some(shifter::registry::started_by::EVENTBRIDGE),
        ),
        other => (other, None),
    }
}

/// `default_topic` (the stack's topic) is used when the request names no `notificationTopicArn`.
///
/// A rollout a `Custom::ShifterAlias` started carries where to answer CloudFormation (`cloudFormation` in
/// the input). When Prepare refuses it, nothing else will run to answer, so Prepare answers FAILED itself;
/// a `Transient` error is left to the state machine's retries.
pub async fn handle<P>(
    ports: &P,
    input: PrepareInput,
    default_topic: Option<&str>,
) -> shifter::Result<RolloutState>
where
    P: FunctionRegistry
        + AliasRouter
        + AlarmSource
        + CallerIdentity
        + Notifier
        + Registry
        + ReplyLedger
        + ReplySender,
{
    input.check_schema()?;
    let (request, started_by) = unwrap_event(input.request.clone());
    let (request, stack_reply) = custom_resource::split_input(request)?;
    let result = prepare(
        ports,
        &input,
        request,
        started_by,
        stack_reply.clone(),
        default_topic,
    )
    .await;
    if let (Err(e), Some(to)) = (&result, &stack_reply) {
        if !e.is_transient() {
            let reply = answer::rejected(to, e.error_type(), &e.to_string());
            if let Err(not_sent) = answer::answer(ports, to, &reply).await {
                tracing::warn!(error = %not_sent, "could not answer CloudFormation");
            }
        }
    }
    result
}

async fn prepare<P>(
    ports: &P,
    input: &PrepareInput,
    request: serde_json::Value,
    started_by: Option<&'static str>,
    stack_reply: Option<StackReply>,
    default_topic: Option<&str>,
) -> shifter::Result<RolloutState>
where
    P: FunctionRegistry + AliasRouter + AlarmSource + CallerIdentity + Notifier + Registry,
{
    let started_by = match &stack_reply {
        Some(_) => Some(shifter::registry::started_by::CLOUDFORMATION),
        None => started_by,
    };
    let mut request = RolloutRequest::from_value(request)?;
    if request.notification_topic_arn.is_none() {
        request.notification_topic_arn = default_topic.map(str::to_string);
    }
    let spec = request.validate()?;
    let mut rollout = usecase::prepare(ports, &SystemClock, &spec, &input.rollout_id).await?;
    rollout.execution_arn = input.execution_arn.clone();
    rollout.started_by = started_by.map(str::to_string);
    rollout.cloud_formation = stack_reply;
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

    fn from_cloudformation(version: &str) -> PrepareInput {
        let mut req = request(json!("AllAtOnce"), json!({"targetVersion": version}));
        req["cloudFormation"] =
            serde_json::to_value(shifter_lambda::testing::stack_reply()).unwrap();
        input(req)
    }

    #[tokio::test]
    async fn a_rollout_cloudformation_started_carries_its_reply_address_and_answers_nothing_yet() {
        let aws = world();
        let state = handle(&aws, from_cloudformation("2"), None).await.unwrap();
        assert_eq!(
            state.rollout.cloud_formation,
            Some(shifter_lambda::testing::stack_reply())
        );
        assert_eq!(state.rollout.started_by.as_deref(), Some("cloudformation"));
        assert!(aws.reply_puts().is_empty());
    }

    #[tokio::test]
    async fn a_refused_rollout_cloudformation_started_answers_failed_and_a_transient_error_does_not(
    ) {
        let aws = world();
        let e = handle(&aws, from_cloudformation("9"), None)
            .await
            .unwrap_err();
        assert_eq!(e.error_type(), "ResourceNotFound");
        let answers = shifter_lambda::testing::answers(&aws);
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0]["Status"], "FAILED");
        let reason = answers[0]["Reason"].as_str().unwrap();
        assert!(
            reason.starts_with("ResourceNotFound: ") && reason.ends_with("Nothing was changed."),
            "{reason}"
        );
        assert_eq!(aws.calls(Op::WriteAlias), 0);

        let aws = world();
        let throttled = shifter::Error::Transient {
            operation: "GetFunction".into(),
            message: "Rate exceeded".into(),
        };
        aws.fail_next(Op::DescribeFunction, throttled, 1);
        let e = handle(&aws, from_cloudformation("2"), None)
            .await
            .unwrap_err();
        assert!(e.is_transient());
        assert!(
            aws.reply_puts().is_empty(),
            "the state machine retries a Transient Prepare"
        );
    }

    #[tokio::test]
    async fn a_rollout_requested_event_is_unwrapped_and_marked_as_started_by_eventbridge() {
        let aws = world();
        let event: serde_json::Value = serde_json::from_str(include_str!(
            "../../../events/eventbridge/rollout-requested.json"
        ))
        .unwrap();
        let mut event = event;
        event["detail"] = request(json!("Canary10Percent5Minutes"), json!({}));
        let state = handle(&aws, input(event), None).await.unwrap();
        assert_eq!(state.rollout.started_by.as_deref(), Some("eventbridge"));
        assert_eq!(state.rollout.alias, ALIAS);
        // A request that only looks a little like an event is a request, and refused as one.
        let odd = json!({"source": "shifter", "detail-type": "Rollout Requested", "detail": "x"});
        let err = handle(&aws, input(odd), None).await.unwrap_err();
        assert_eq!(err.error_type(), "InvalidRequest");
        // A request started any other way says nothing about who started it.
        let aws = world();
        let state = handle(&aws, input(request(json!("AllAtOnce"), json!({}))), None)
            .await
            .unwrap();
        assert_eq!(state.rollout.started_by, None);
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
