use serde_json::{json, Value};
use shifter::domain::Routing;
use shifter::fake::Op;
use shifter::notification::EventType;
use shifter::registry::RolloutStatus;
use shifter::usecase::lease;
use shifter_lambda::testing::{prepared, request, world, ALIAS, FUNCTION};

use super::*;

const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:shifter-rollout:r-1";

/// The fixture: the event exactly as AWS sends it (events/eventbridge/execution-status-change.json).
fn event(status: &str) -> ExecutionEvent {
    let mut v: Value = serde_json::from_str(include_str!(
        "../../../events/eventbridge/execution-status-change.json"
    ))
    .unwrap();
    v["detail"]["status"] = json!(status);
    v["detail"]["executionArn"] = json!(ARN);
    shifter_lambda::parse(v).unwrap()
}

/// A canary at 10% whose execution was stopped from outside mid-bake.
async fn stopped_mid_bake(aws: &shifter::fake::FakeAws) -> shifter::rollout::Rollout {
    stopped_mid_bake_answering(aws, None).await
}

/// The same, for a rollout a `Custom::ShifterAlias` started when `cloud_formation` is set.
async fn stopped_mid_bake_answering(
    aws: &shifter::fake::FakeAws,
    cloud_formation: Option<shifter::custom_resource::StackReply>,
) -> shifter::rollout::Rollout {
    let mut state = prepared(aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
    state.rollout.execution_arn = Some(ARN.into());
    state.rollout.cloud_formation = cloud_formation;
    lease::take(aws, &shifter::time::SystemClock, &state.rollout)
        .await
        .unwrap();
    let shifted = shifter::usecase::shift_traffic(aws, &state.rollout)
        .await
        .unwrap();
    lease::progress(aws, &shifted, shifter::time::unix_millis(), None).await;
    shifted
}

#[tokio::test]
async fn an_execution_stopped_mid_bake_is_rolled_back_and_its_lease_released() {
    let aws = world();
    let r = stopped_mid_bake(&aws).await;
    assert_eq!(
        aws.alias(FUNCTION, ALIAS).routing,
        Routing::split("1", "2", 1000)
    );
    let out = handle(&aws, event("ABORTED")).await.unwrap();
    assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("1"));
    assert!(aws.lease(FUNCTION, ALIAS).is_none());
    let record = aws.record_of(&r.rollout_id).unwrap();
    assert_eq!(record.status, RolloutStatus::Failed);
    assert!(record.reason.unwrap().contains("ended ABORTED"));
    assert_eq!(out.cleanup.unwrap().status, RolloutStatus::Failed);
    let last = aws.notifications().pop().unwrap().1;
    assert_eq!(last.event_type, EventType::RolloutFailed);
    assert_eq!(last.error_type.as_deref(), Some("ExecutionAborted"));
    // Redelivered: the lease is gone, nothing to do, no write.
    let writes = aws.calls(Op::WriteAlias);
    let again = handle(&aws, event("ABORTED")).await.unwrap();
    assert!(again.cleanup.is_none());
    assert_eq!(aws.calls(Op::WriteAlias), writes);
}

#[tokio::test]
async fn a_rollout_that_ended_through_its_own_rollback_is_not_touched() {
    let aws = world();
    let r = stopped_mid_bake(&aws).await;
    lease::finish(
        &aws,
        &r,
        RolloutStatus::Promoted,
        None,
        shifter::time::unix_millis(),
    )
    .await;
    let writes = aws.calls(Op::WriteAlias);
    let out = handle(&aws, event("FAILED")).await.unwrap();
    assert!(out.cleanup.is_none());
    assert_eq!(aws.calls(Op::WriteAlias), writes);
}

#[tokio::test]
async fn someone_elses_change_is_left_alone() {
    let aws = world();
    let r = stopped_mid_bake(&aws).await;
    // Someone pointed the alias at version 3 (the plan's next routing, 100% on 2, would count as ours).
    aws.publish(FUNCTION, "code-3");
    aws.force_alias(FUNCTION, ALIAS, Routing::single("3"));
    let out = handle(&aws, event("TIMED_OUT")).await.unwrap();
    assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("3"));
    assert_eq!(out.cleanup.unwrap().status, RolloutStatus::LeftAlone);
    assert_eq!(
        aws.record_of(&r.rollout_id).unwrap().status,
        RolloutStatus::LeftAlone
    );
}

#[tokio::test]
async fn succeeded_or_running_executions_are_none_of_its_business() {
    let aws = world();
    stopped_mid_bake(&aws).await;
    for status in ["SUCCEEDED", "RUNNING"] {
        assert!(handle(&aws, event(status)).await.unwrap().cleanup.is_none());
    }
    assert_eq!(
        aws.alias(FUNCTION, ALIAS).routing,
        Routing::split("1", "2", 1000)
    );
}

#[tokio::test]
async fn a_stopped_rollout_cloudformation_started_answers_failed() {
    let aws = world();
    stopped_mid_bake_answering(&aws, Some(shifter_lambda::testing::stack_reply())).await;
    handle(&aws, event("ABORTED")).await.unwrap();
    assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("1"));
    let answers = shifter_lambda::testing::answers(&aws);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["Status"], "FAILED");
    assert_eq!(
        answers[0]["Reason"],
        "ExecutionAborted: its execution ended ABORTED with no rollback of its own; alias restored to version 1"
    );
}

#[tokio::test]
async fn a_rollout_cloudformation_started_that_never_took_the_alias_is_answered_once() {
    let aws = world();
    let mut input = request(json!("AllAtOnce"), json!({}));
    input["cloudFormation"] = serde_json::to_value(shifter_lambda::testing::stack_reply()).unwrap();
    let mut e = event("FAILED");
    e.0.detail.input = Some(input.to_string());
    e.0.detail.error = Some("Transient".into());
    e.0.detail.cause = Some("transient failure in GetFunction: Rate exceeded".into());
    let out = handle(&aws, e).await.unwrap();
    assert!(out.cleanup.is_none());
    let answers = shifter_lambda::testing::answers(&aws);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["Status"], "FAILED");
    assert_eq!(
        answers[0]["Reason"],
        "Transient: transient failure in GetFunction: Rate exceeded. Nothing was changed."
    );
    assert_eq!(aws.calls(Op::WriteAlias), 0);
    // An input with no cloudFormation (a rollout a pipeline started) is answered to nobody.
    let aws = world();
    let mut e = event("FAILED");
    e.0.detail.input = Some(request(json!("AllAtOnce"), json!({})).to_string());
    handle(&aws, e).await.unwrap();
    assert!(aws.reply_puts().is_empty());
}
