use serde_json::json;
use shifter::fake::{FakeAws, Op};
use shifter::registry::{Lease, RolloutJournal, RolloutStatus};

use super::*;
use crate::test_support::{record, FakeApi, ARN};

fn lease(rollout_id: &str, execution_arn: Option<&str>) -> Lease {
    Lease {
        function_name: "orders".into(),
        alias: "live".into(),
        rollout_id: rollout_id.into(),
        execution_arn: execution_arn.map(str::to_string),
        ..Lease::default()
    }
}

fn key(rollout_id: &str) -> LeaseKey {
    LeaseKey {
        function: "orders".into(),
        alias: "live".into(),
        rollout_id: rollout_id.into(),
    }
}

#[test]
fn targets_are_execution_arns_or_aliases_by_function_name() {
    assert_eq!(Target::parse(ARN), Ok(Target::Execution(ARN.into())));
    assert_eq!(
        Target::parse("arn:aws:lambda:us-east-1:123456789012:function:orders:live"),
        Ok(Target::Alias {
            function: "orders".into(),
            alias: "live".into()
        })
    );
    let bad = Target::parse("arn:aws:states:us-east-1:123456789012:stateMachine:shifter");
    assert!(bad.unwrap_err().contains("not an execution ARN"));
    assert!(Target::parse("orders").is_err());
}

#[tokio::test]
async fn an_alias_leads_to_the_rollout_holding_its_lease() {
    let aws = FakeAws::new();
    let api = FakeApi::new(vec![]);
    let target = Target::parse("orders:live").unwrap();
    assert_eq!(
        find(&aws, &api, &target).await.unwrap(),
        Found::NotRunning("no rollout is running on orders:live".into())
    );
    aws.put_lease(lease("r-1", None));
    assert_eq!(
        find(&aws, &api, &target).await.unwrap(),
        Found::Running(key("r-1"))
    );
    assert!(
        api.describes().is_empty(),
        "an alias needs no Step Functions"
    );
}

#[tokio::test]
async fn an_execution_leads_to_the_running_record_that_names_it() {
    let aws = FakeAws::new();
    let mut mine = record("r-1", RolloutStatus::Running, 1);
    mine.execution_arn = Some(ARN.into());
    let other = record("r-0", RolloutStatus::Running, 0);
    for r in [&other, &mine] {
        aws.record(r).await.unwrap();
    }
    let api = FakeApi::new(vec![]);
    let found = find(&aws, &api, &Target::Execution(ARN.into())).await;
    assert_eq!(found.unwrap(), Found::Running(key("r-1")));
    assert!(api.describes().is_empty());
}

#[tokio::test]
async fn without_a_record_an_execution_leads_to_its_inputs_lease_only_if_the_lease_names_it() {
    let aws = FakeAws::new();
    let mut api = FakeApi::new(vec![]);
    // The stack's EventBridge rule may hand the state machine the whole event.
    let request = json!({"functionName": "arn:aws:lambda:us-east-1:123456789012:function:orders",
                         "alias": "live"});
    api.input = Some(json!({"detail-type": "Rollout Requested", "detail": request}).to_string());
    let target = Target::Execution(ARN.into());
    aws.put_lease(lease(
        "r-9",
        Some("arn:aws:states:us-east-1:123456789012:execution:shifter:r-9"),
    ));
    assert_eq!(
        find(&aws, &api, &target).await.unwrap(),
        Found::NotRunning(format!(
            "no running rollout in the registry has execution {ARN}"
        ))
    );
    aws.put_lease(lease("r-1", Some(ARN)));
    assert_eq!(
        find(&aws, &api, &target).await.unwrap(),
        Found::Running(key("r-1"))
    );
    api.input = Some(request.to_string());
    assert_eq!(
        find(&aws, &api, &target).await.unwrap(),
        Found::Running(key("r-1"))
    );
}

#[tokio::test]
async fn an_execution_that_ended_or_does_not_exist_is_not_running() {
    let aws = FakeAws::new();
    let mut api = FakeApi::new(vec![]);
    api.status = "ABORTED".into();
    let target = Target::Execution(ARN.into());
    assert_eq!(
        find(&aws, &api, &target).await.unwrap(),
        Found::NotRunning(format!("execution {ARN} is not running: it ended ABORTED"))
    );
    api.describe_error = Some(ApiError::new(
        Some("ExecutionDoesNotExist"),
        "no such execution",
    ));
    let failed = find(&aws, &api, &target).await.unwrap_err();
    let err = crate::render::Captured::default();
    assert_eq!(failed.report(&mut err.sink()), 2);
    assert!(
        err.text().contains("ExecutionDoesNotExist"),
        "{}",
        err.text()
    );
}

#[tokio::test]
async fn a_registry_error_is_an_aws_error() {
    let aws = FakeAws::new();
    aws.fail_next(
        Op::Journal,
        Error::Transient {
            operation: "Query".into(),
            message: "throttled".into(),
        },
        1,
    );
    let api = FakeApi::new(vec![]);
    let failed = find(&aws, &api, &Target::Execution(ARN.into()))
        .await
        .unwrap_err();
    let err = crate::render::Captured::default();
    assert_eq!(failed.report(&mut err.sink()), 1);
}
