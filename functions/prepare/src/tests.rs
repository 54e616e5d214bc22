use serde_json::json;
use shifter::domain::Routing;
use shifter::fake::Op;
use shifter_lambda::testing::{request, world, ALIAS, FUNCTION, POST_HOOK, PRE_HOOK, TOPIC};

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
    req["cloudFormation"] = serde_json::to_value(shifter_lambda::testing::stack_reply()).unwrap();
    input(req)
}

#[tokio::test]
async fn a_rollout_cloudformation_started_carries_its_reply_address_and_answers_nothing_yet() {
    let aws = world();
    let state = handle(&aws, from_cloudformation("2"), &Settings::default())
        .await
        .unwrap();
    assert_eq!(
        state.rollout.cloud_formation,
        Some(shifter_lambda::testing::stack_reply())
    );
    assert_eq!(state.rollout.started_by.as_deref(), Some("cloudformation"));
    assert!(aws.reply_puts().is_empty());
}

#[tokio::test]
async fn a_refused_rollout_cloudformation_started_answers_failed_and_a_transient_error_does_not() {
    let aws = world();
    let e = handle(&aws, from_cloudformation("9"), &Settings::default())
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
    let e = handle(&aws, from_cloudformation("2"), &Settings::default())
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
    let state = handle(&aws, input(event), &Settings::default())
        .await
        .unwrap();
    assert_eq!(state.rollout.started_by.as_deref(), Some("eventbridge"));
    assert_eq!(state.rollout.alias, ALIAS);
    // A request that only looks a little like an event is a request, and refused as one.
    let odd = json!({"source": "shifter", "detail-type": "Rollout Requested", "detail": "x"});
    let err = handle(&aws, input(odd), &Settings::default())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidRequest");
    // A request started any other way says nothing about who started it.
    let aws = world();
    let state = handle(
        &aws,
        input(request(json!("AllAtOnce"), json!({}))),
        &Settings::default(),
    )
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
        &Settings::default(),
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
    let topic =
        Settings::from_env(|name| (name == "SHIFTER_DEFAULT_TOPIC_ARN").then(|| TOPIC.to_string()));
    let state = handle(&aws, input(req.clone()), &topic).await.unwrap();
    assert_eq!(state.rollout.notification_topic_arn.as_deref(), Some(TOPIC));
    let state = handle(&aws, input(req), &Settings::default())
        .await
        .unwrap();
    assert_eq!(state.rollout.notification_topic_arn, None);
}

fn hook_pattern(pattern: &str) -> Settings {
    Settings::from_env(|name| {
        (name == shifter::hook_scope::PATTERN_ENV).then(|| pattern.to_string())
    })
}

#[test]
fn settings_come_from_the_environment_and_default_to_the_templates_defaults() {
    assert_eq!(Settings::from_env(|_| None), Settings::default());
    assert_eq!(
        Settings::from_env(|_| Some(String::new())),
        Settings::default()
    );
    assert_eq!(
        Settings::default().hook_scope,
        HookScope::ThisAccountAndRegion
    );
    let set = Settings::from_env(|name| Some(format!("value of {name}")));
    assert_eq!(
        set.default_topic.as_deref(),
        Some("value of SHIFTER_DEFAULT_TOPIC_ARN")
    );
    assert_eq!(
        set.hook_scope,
        HookScope::Pattern("value of SHIFTER_HOOK_FUNCTION_ARN_PATTERN".into())
    );
}

#[tokio::test]
async fn a_hook_outside_the_pattern_is_refused_before_anything_is_read_or_written() {
    let pattern = "arn:aws:lambda:us-east-1:123456789012:function:pre-*";
    for hooks in [
        json!({"postTraffic": POST_HOOK}),
        json!({"preTraffic": PRE_HOOK, "postTraffic": POST_HOOK}),
        json!({"preTraffic": "arn:aws:lambda:us-east-1:210987654321:function:pre-hook"}),
    ] {
        let aws = world();
        let req = request(json!("Canary10Percent5Minutes"), json!({ "hooks": hooks }));
        let e = handle(&aws, input(req), &hook_pattern(pattern))
            .await
            .unwrap_err();
        assert_eq!(e.error_type(), "InvalidRequest", "{hooks}");
        let shifter::Error::InvalidRequest { field, message } = &e else {
            unreachable!()
        };
        let expected = if hooks.get("preTraffic").is_some_and(|h| h != PRE_HOOK) {
            "hooks.preTraffic"
        } else {
            "hooks.postTraffic"
        };
        assert_eq!(field, expected, "{hooks}");
        assert!(
            message.contains(&format!("HookFunctionArnPattern `{pattern}`")),
            "{message}"
        );
        for op in [
            Op::DescribeFunction,
            Op::ReadAlias,
            Op::PublishVersion,
            Op::WriteAlias,
            Op::Lease,
        ] {
            assert_eq!(aws.calls(op), 0, "{op:?} for {hooks}");
        }
        assert!(aws.notifications().is_empty());
        assert_eq!(aws.lease(FUNCTION, ALIAS), None);
    }
}

#[tokio::test]
async fn hooks_within_the_pattern_or_the_default_pass() {
    let hooks = json!({"hooks": {"preTraffic": PRE_HOOK, "postTraffic": shifter::fake::function_arn(POST_HOOK)}});
    for settings in [
        Settings::default(),
        hook_pattern("arn:aws:lambda:us-east-1:123456789012:function:*-hook*"),
    ] {
        let aws = world();
        let req = request(json!("Canary10Percent5Minutes"), hooks.clone());
        let state = handle(&aws, input(req), &settings).await.unwrap();
        assert_eq!(state.rollout.hooks.pre_traffic.as_deref(), Some(PRE_HOOK));
    }
    // No hooks: no pattern to check, not even the caller asked.
    let aws = world();
    let req = request(json!("AllAtOnce"), json!({}));
    handle(
        &aws,
        input(req),
        &hook_pattern("arn:aws:lambda:*:*:function:none"),
    )
    .await
    .unwrap();
    assert_eq!(aws.calls(Op::Caller), 0);
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
        &Settings::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(bad.error_type(), "InvalidRequest");

    aws.force_alias(FUNCTION, ALIAS, Routing::split("1", "2", 1000));
    let busy = handle(
        &aws,
        input(request(json!("Canary10Percent5Minutes"), json!({}))),
        &Settings::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(busy.error_type(), "AliasBusy");
    assert_eq!(aws.calls(Op::WriteAlias), 0);
    assert!(aws.notifications().is_empty());

    let mut old = input(json!({}));
    old.schema_version = 9;
    assert_eq!(
        handle(&aws, old, &Settings::default())
            .await
            .unwrap_err()
            .error_type(),
        "InvalidState"
    );
}
