use serde_json::{json, Value};

use super::provider::{handle, not_created_id, Handled};
use crate::domain::Routing;
use crate::fake::sample::{ALIAS, FUNCTION};
use crate::fake::{function_arn, FakeAws, Op};

const URL: &str = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/signed";
const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/orders/guid";

fn alias_arn() -> String {
    format!("{}:{ALIAS}", function_arn(FUNCTION))
}

fn properties(version: &str, extra: Value) -> Value {
    let mut p = json!({"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:shifter-alias-provider",
        "FunctionName": FUNCTION, "AliasName": ALIAS, "Version": version,
        "Strategy": "Canary10Percent5Minutes", "Alarms": ["orders-errors"]});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        p[k] = v;
    }
    p
}

fn event(
    kind: &str,
    request_id: &str,
    props: Value,
    old: Option<Value>,
    physical: Option<&str>,
) -> Value {
    let mut e = json!({"RequestType": kind, "ServiceToken": "t", "ResponseURL": URL, "StackId": STACK,
        "RequestId": request_id, "ResourceType": "Custom::ShifterAlias", "LogicalResourceId": "OrdersLive",
        "ResourceProperties": props});
    if let Some(old) = old {
        e["OldResourceProperties"] = old;
    }
    if let Some(p) = physical {
        e["PhysicalResourceId"] = json!(p);
    }
    e
}

async fn run(aws: &FakeAws, e: Value) -> Handled {
    handle(
        aws,
        serde_json::from_value(e).expect("a CloudFormation event"),
    )
    .await
    .expect("answered or started")
}

fn answered(h: &Handled) -> Value {
    match h {
        Handled::Answered(a) => serde_json::from_str(&a.body).unwrap(),
        other => panic!("expected an answer, got {other:?}"),
    }
}

fn update(version: &str, old_version: &str, extra: Value) -> Value {
    let arn = alias_arn();
    event(
        "Update",
        "req-2",
        properties(version, extra),
        Some(properties(old_version, json!({}))),
        Some(&arn),
    )
}

#[tokio::test]
async fn create_makes_the_alias_and_answers_success_with_its_arn_and_data() {
    let aws = FakeAws::sample();
    aws.add_function("billing");
    let v = aws.publish("billing", "sha-1");
    let mut props = properties(&v, json!({}));
    props["FunctionName"] = json!("billing");
    let body = answered(&run(&aws, event("Create", "req-1", props, None, None)).await);
    let arn = format!("{}:{ALIAS}", function_arn("billing"));
    assert_eq!(
        body,
        json!({"Status": "SUCCESS", "Reason": format!("created billing:live serving version {v}"),
            "PhysicalResourceId": arn, "StackId": STACK, "RequestId": "req-1", "LogicalResourceId": "OrdersLive",
            "NoEcho": false, "Data": {"Version": v, "AliasArn": arn, "RolloutId": ""}})
    );
    assert_eq!(aws.alias("billing", ALIAS).routing, Routing::single(&v));
    assert_eq!(aws.reply_puts().len(), 1);
    assert_eq!(aws.reply_puts()[0].0, URL);
}

#[tokio::test]
async fn create_on_an_existing_alias_points_it_at_the_version_fenced() {
    let aws = FakeAws::sample();
    let body = answered(
        &run(
            &aws,
            event("Create", "req-1", properties("2", json!({})), None, None),
        )
        .await,
    );
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["PhysicalResourceId"], alias_arn());
    assert_eq!(
        aws.history(FUNCTION, ALIAS),
        vec![Routing::single("1"), Routing::single("2")]
    );
}

#[tokio::test]
async fn create_on_a_weighted_alias_is_refused_untouched_with_an_id_no_delete_can_act_on() {
    let aws = FakeAws::sample();
    aws.force_alias(FUNCTION, ALIAS, Routing::split("1", "2", 1000));
    let body = answered(
        &run(
            &aws,
            event("Create", "req-1", properties("2", json!({})), None, None),
        )
        .await,
    );
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(body["PhysicalResourceId"], not_created_id("req-1"));
    assert!(
        body["Reason"].as_str().unwrap().starts_with("AliasBusy: "),
        "{body}"
    );
    assert_eq!(aws.calls(Op::WriteAlias), 0);
    // CloudFormation's rollback of the failed Create sends a Delete for that id: nothing is deleted.
    let id = not_created_id("req-1");
    let body = answered(
        &run(
            &aws,
            event(
                "Delete",
                "req-1d",
                properties("2", json!({})),
                None,
                Some(&id),
            ),
        )
        .await,
    );
    assert_eq!(body["Status"], "SUCCESS");
    assert!(aws.has_alias(FUNCTION, ALIAS));
    assert_eq!(aws.calls(Op::DeleteAlias), 0);
}

#[tokio::test]
async fn update_to_a_new_version_starts_a_rollout_that_carries_the_reply_address() {
    let aws = FakeAws::sample();
    let handled = run(&aws, update("2", "1", json!({}))).await;
    assert_eq!(
        handled,
        Handled::RolloutStarted {
            rollout_id: "cfn-req-2".into()
        }
    );
    assert!(
        aws.reply_puts().is_empty(),
        "the state machine answers, not the provider"
    );
    assert_eq!(aws.calls(Op::WriteAlias), 0);
    let started = aws.started_rollouts();
    assert_eq!(started.len(), 1);
    let (name, input) = &started[0];
    assert_eq!(name, "cfn-req-2");
    assert_eq!(
        *input,
        json!({"functionName": FUNCTION, "alias": ALIAS, "targetVersion": "2",
            "strategy": "Canary10Percent5Minutes", "hooks": {}, "alarms": ["orders-errors"],
            "insufficientData": "healthy",
            "cloudFormation": {"responseURL": URL, "stackId": STACK, "requestId": "req-2",
                "logicalResourceId": "OrdersLive", "physicalResourceId": alias_arn()}})
    );
    // The input is a request the state machine's Prepare accepts.
    let (request, reply) = super::split_input(input.clone()).unwrap();
    crate::request::RolloutRequest::from_value(request)
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(reply.unwrap().request_id, "req-2");
}

#[tokio::test]
async fn a_redelivered_update_starts_nothing_more() {
    let aws = FakeAws::sample();
    run(&aws, update("2", "1", json!({}))).await;
    let again = run(&aws, update("2", "1", json!({}))).await;
    assert_eq!(
        again,
        Handled::RolloutStarted {
            rollout_id: "cfn-req-2".into()
        }
    );
    assert_eq!(aws.calls(Op::StartExecution), 2);
    assert_eq!(aws.started_rollouts().len(), 1);
    assert!(aws.reply_puts().is_empty());
}

#[tokio::test]
async fn an_update_back_to_the_version_the_alias_serves_answers_at_once_with_no_writes() {
    // CloudFormation's rollback Update after a rolled-back rollout: the alias is on version 1 already.
    let aws = FakeAws::sample();
    let body = answered(&run(&aws, update("1", "2", json!({}))).await);
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["Data"]["Version"], "1");
    assert_eq!(body["PhysicalResourceId"], alias_arn());
    assert_eq!(
        aws.calls(Op::WriteAlias) + aws.calls(Op::StartExecution) + aws.calls(Op::CreateAlias),
        0
    );
    assert_eq!(aws.history(FUNCTION, ALIAS), vec![Routing::single("1")]);
}

#[tokio::test]
async fn an_update_of_the_strategy_alarms_or_hooks_alone_rolls_nothing_out() {
    let aws = FakeAws::sample();
    let mut e = update(
        "1",
        "1",
        json!({"Strategy": "Linear10PercentEvery1Minute", "Alarms": []}),
    );
    e["OldResourceProperties"] = properties("1", json!({}));
    let body = answered(&run(&aws, e).await);
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(aws.calls(Op::WriteAlias) + aws.calls(Op::StartExecution), 0);
}

#[tokio::test]
async fn a_plan_longer_than_the_service_timeout_is_refused_at_once_untouched() {
    let aws = FakeAws::sample();
    let long = json!({"Strategy": "Linear10PercentEvery10Minutes"});
    let body = answered(&run(&aws, update("2", "1", long)).await);
    assert_eq!(body["Status"], "FAILED");
    insta::assert_snapshot!(body["Reason"].as_str().unwrap());
    let short_timeout = json!({"Strategy": "Canary10Percent15Minutes", "ServiceTimeout": "600"});
    let mut e = update("2", "1", short_timeout);
    e["RequestId"] = json!("req-3");
    let body = answered(&run(&aws, e).await);
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"]
            .as_str()
            .unwrap()
            .contains("waits for this resource: 10 min (ServiceTimeout: 600 s"),
        "{body}"
    );
    assert_eq!(aws.calls(Op::WriteAlias) + aws.calls(Op::StartExecution), 0);
    assert_eq!(aws.history(FUNCTION, ALIAS), vec![Routing::single("1")]);
}

#[tokio::test]
async fn an_analysis_whose_extensions_could_outlive_the_service_timeout_is_refused_untouched() {
    let aws = FakeAws::sample();
    // 15 minutes of bake and up to 10 of extension: 25 minutes, past a ServiceTimeout of 20.
    let props = json!({"Strategy": "Canary10Percent15Minutes", "ServiceTimeout": "1200",
        "Analysis": {"MaxExtensionSeconds": "600"}});
    let body = answered(&run(&aws, update("2", "1", props)).await);
    assert_eq!(body["Status"], "FAILED");
    let reason = body["Reason"].as_str().unwrap();
    assert!(
        reason.contains("Properties.Analysis.maxExtensionSeconds")
            && reason.contains("extend its bakes by up to 10 min"),
        "{reason}"
    );
    assert_eq!(aws.calls(Op::WriteAlias) + aws.calls(Op::StartExecution), 0);
    // Told to fail when inconclusive, it cannot extend: the same plan fits, and the rollout starts.
    let fits = json!({"Strategy": "Canary10Percent15Minutes", "ServiceTimeout": "1200",
        "Analysis": {"WhenInconclusive": "fail"}});
    let mut e = update("2", "1", fits);
    e["RequestId"] = json!("req-4");
    run(&aws, e).await;
    assert_eq!(aws.calls(Op::StartExecution), 1);
}

#[tokio::test]
async fn invalid_properties_fail_the_update_naming_the_property_untouched() {
    let aws = FakeAws::sample();
    let body = answered(
        &run(
            &aws,
            update(
                "2",
                "1",
                json!({"Strategy": {"Type": "canary", "Percent": "0"}}),
            ),
        )
        .await,
    );
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(body["PhysicalResourceId"], alias_arn());
    assert!(
        body["Reason"]
            .as_str()
            .unwrap()
            .starts_with("InvalidRequest: invalid request: Properties.Strategy"),
        "{body}"
    );
    assert_eq!(aws.calls(Op::WriteAlias) + aws.calls(Op::StartExecution), 0);
}

#[tokio::test]
async fn an_update_to_a_version_that_does_not_exist_fails_naming_version() {
    let aws = FakeAws::sample();
    let body = answered(&run(&aws, update("9", "1", json!({}))).await);
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"]
            .as_str()
            .unwrap()
            .contains("Properties.Version"),
        "{body}"
    );
    assert_eq!(aws.calls(Op::WriteAlias) + aws.calls(Op::StartExecution), 0);
}

#[tokio::test]
async fn delete_removes_the_alias_and_retain_keeps_it() {
    let aws = FakeAws::sample();
    let arn = alias_arn();
    let retained = event(
        "Delete",
        "req-3",
        properties("1", json!({"RetainOnDelete": "true"})),
        None,
        Some(&arn),
    );
    assert_eq!(answered(&run(&aws, retained).await)["Status"], "SUCCESS");
    assert!(aws.has_alias(FUNCTION, ALIAS));
    let deleted = event(
        "Delete",
        "req-4",
        properties("1", json!({})),
        None,
        Some(&arn),
    );
    let body = answered(&run(&aws, deleted.clone()).await);
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["Reason"], format!("deleted {arn}"));
    assert!(!aws.has_alias(FUNCTION, ALIAS));
    // A redelivered Delete re-sends the same answer.
    let again = answered(&run(&aws, deleted).await);
    assert_eq!(again, body);
}

#[tokio::test]
async fn one_answer_per_request_whatever_is_redelivered() {
    let aws = FakeAws::sample();
    let create = event("Create", "req-1", properties("2", json!({})), None, None);
    let first = answered(&run(&aws, create.clone()).await);
    // Between deliveries, someone moved the alias: the redelivery would now say something else, but the
    // recorded answer is the one sent again.
    aws.force_alias(FUNCTION, ALIAS, Routing::single("1"));
    let second = answered(&run(&aws, create).await);
    assert_eq!(first, second);
    let puts = aws.reply_puts();
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[0].1, puts[1].1);
}

#[tokio::test]
async fn a_failed_put_is_an_error_so_lambda_retries_and_the_retry_sends_the_recorded_answer() {
    let aws = FakeAws::sample();
    let reset = crate::Error::Transient {
        operation: "PUT".into(),
        message: "reset".into(),
    };
    aws.fail_next(Op::PutReply, reset, 1);
    let create = event("Create", "req-1", properties("2", json!({})), None, None);
    let e = handle(&aws, serde_json::from_value(create.clone()).unwrap())
        .await
        .unwrap_err();
    assert!(e.is_transient());
    let body = answered(&run(&aws, create).await);
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(aws.reply_puts().len(), 1);
}
