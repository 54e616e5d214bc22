//! Prepare refuses, before any write, what Lambda would refuse later (defects found against AWS's rules):
//! versions with different roles or dead-letter configs, an alias on $LATEST, a version not yet Active, an
//! update still in progress, and a function ARN from another region or account.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::domain::Routing;
use crate::error::Error;
use crate::fake::{sample, FakeAws, FakeClock, Op};
use crate::request::RolloutRequest;
use crate::usecase::prepare::READY_WAIT;

const F: &str = sample::FUNCTION;
const A: &str = sample::ALIAS;

fn spec(extra: serde_json::Value) -> crate::request::RolloutSpec {
    let mut req = json!({"functionName": F, "alias": A, "targetVersion": "2", "strategy": "Canary10Percent5Minutes"});
    req.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    RolloutRequest::from_value(req).unwrap().validate().unwrap()
}

/// Prepare fails with an invalid request naming `field`, having written nothing.
async fn refused(aws: &FakeAws, spec: &crate::request::RolloutSpec, field: &str) -> String {
    let before = aws.alias(F, A);
    let err = prepare(aws, &FakeClock::default(), spec, "r")
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    let Error::InvalidRequest { field: f, message } = err else {
        panic!("{err:?}")
    };
    assert_eq!(f, field, "{message}");
    assert_eq!(aws.alias(F, A), before);
    assert_eq!(aws.calls(Op::WriteAlias), 0);
    message
}

#[tokio::test]
async fn versions_with_different_roles_or_dead_letter_configs_are_refused_up_front() {
    let aws = FakeAws::sample();
    aws.set_version_config(F, "2", "arn:aws:iam::123456789012:role/other", None);
    let message = refused(
        &aws,
        &spec(json!({"hooks": {"preTraffic": "pre-hook"}})),
        "targetVersion",
    )
    .await;
    assert!(
        message.contains("role/other") && message.contains("orders-role"),
        "{message}"
    );
    assert_eq!(
        aws.calls(Op::Invoke),
        0,
        "refused before the pre-traffic hook"
    );

    let aws = FakeAws::sample();
    let role = crate::fake::default_role(F);
    aws.set_version_config(
        F,
        "2",
        &role,
        Some("arn:aws:sqs:us-east-1:123456789012:dlq"),
    );
    let message = refused(&aws, &spec(json!({})), "targetVersion").await;
    assert!(
        message.contains("dead-letter") && message.contains(":dlq"),
        "{message}"
    );

    // Publishing: $LATEST's config is checked before PublishVersion, so nothing is published.
    let aws = FakeAws::sample();
    aws.set_latest_code(F, "code-3");
    aws.set_version_config(F, "$LATEST", "arn:aws:iam::123456789012:role/other", None);
    let publish =
        RolloutRequest::from_value(json!({"functionName": F, "alias": A, "strategy": "AllAtOnce"}))
            .unwrap()
            .validate()
            .unwrap();
    refused(&aws, &publish, "codeSha256").await;
    assert_eq!(aws.calls(Op::PublishVersion), 0);
}

#[tokio::test]
async fn an_alias_on_latest_cannot_be_weighted() {
    let aws = FakeAws::sample();
    aws.force_alias(F, A, Routing::single("$LATEST"));
    refused(&aws, &spec(json!({})), "alias").await;
}

#[tokio::test]
async fn a_pending_version_is_waited_for_then_used() {
    let aws = FakeAws::sample();
    aws.set_version_pending(F, "2", 3);
    let clock = FakeClock::default();
    let r = prepare(&aws, &clock, &spec(json!({})), "r").await.unwrap();
    assert_eq!(r.target_version, "2");
    // The lookup read the first Pending; then two more reads, a second apart.
    assert_eq!(
        clock.total_slept(),
        Duration::from_secs(2),
        "polled every second"
    );
}

#[tokio::test]
async fn a_version_still_pending_after_the_wait_is_transient_and_nothing_changed() {
    let aws = FakeAws::sample();
    aws.set_version_pending(F, "2", 1_000);
    let clock = FakeClock::default();
    let err = prepare(&aws, &clock, &spec(json!({})), "r")
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("Pending"), "{err}");
    assert_eq!(clock.total_slept(), READY_WAIT);
    assert_eq!(aws.calls(Op::WriteAlias), 0);
}

#[tokio::test]
async fn failed_or_inactive_versions_are_refused_with_the_reason() {
    let aws = FakeAws::sample();
    aws.set_version_state(
        F,
        "2",
        "Failed",
        "The function could not be created: EniLimitExceeded",
    );
    let message = refused(&aws, &spec(json!({})), "targetVersion").await;
    assert!(message.contains("EniLimitExceeded"), "{message}");
    let aws = FakeAws::sample();
    aws.set_version_state(F, "2", "Inactive", "idle");
    let message = refused(&aws, &spec(json!({})), "targetVersion").await;
    assert!(message.contains("invoke it once"), "{message}");
}

#[tokio::test]
async fn publishing_waits_for_an_update_in_progress_and_refuses_a_failed_one() {
    let publish =
        RolloutRequest::from_value(json!({"functionName": F, "alias": A, "strategy": "AllAtOnce"}))
            .unwrap()
            .validate()
            .unwrap();
    let aws = FakeAws::sample();
    aws.set_latest_code(F, "code-3")
        .set_latest_update(F, 2, None);
    let clock = FakeClock::default();
    let r = prepare(&aws, &clock, &publish, "r").await.unwrap();
    assert_eq!(r.target_version, "3");
    assert_eq!(
        clock.total_slept(),
        Duration::from_secs(2),
        "published once the update finished"
    );

    let aws = FakeAws::sample();
    aws.set_latest_code(F, "code-3").set_latest_update(
        F,
        0,
        Some("InvalidImage: bootstrap not found"),
    );
    let message = refused(&aws, &publish, "functionName").await;
    assert!(message.contains("bootstrap not found"), "{message}");
    assert_eq!(aws.calls(Op::PublishVersion), 0);
}

#[tokio::test]
async fn a_function_arn_from_another_region_or_account_is_refused_naming_both() {
    for arn in [
        "arn:aws:lambda:eu-west-1:123456789012:function:orders",
        "arn:aws:lambda:us-east-1:210987654321:function:orders",
    ] {
        let aws = FakeAws::sample();
        let message = refused(&aws, &spec(json!({"functionName": arn})), "functionName").await;
        assert!(message.contains(arn), "{message}");
        assert!(
            message.contains("region us-east-1, account 123456789012"),
            "{message}"
        );
        assert_eq!(
            aws.calls(Op::DescribeFunction),
            0,
            "refused before any lookup"
        );
    }
    // The caller's own ARN is the same function as its bare name.
    let aws = FakeAws::sample();
    let own = "arn:aws:lambda:us-east-1:123456789012:function:orders";
    let r = prepare(
        &aws,
        &FakeClock::default(),
        &spec(json!({"functionName": own})),
        "r",
    )
    .await
    .unwrap();
    assert_eq!(r.function_arn, own);
}
