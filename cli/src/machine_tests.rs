use clap::Parser;
use serde_json::json;
use shifter::domain::Routing;
use shifter::fake::FakeAws;

use super::*;
use crate::args::{Cli, Command};
use crate::deploy::{Mode, NO_STATE_MACHINE_ARN, NO_WAIT_NEEDS_STATE_MACHINE};
use crate::render::Captured;
use crate::test_support::{state, FakeApi, History, ARN};

const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:shifter";

fn deploy_args(extra: &[&str]) -> DeployArgs {
    let mut argv = vec![
        "shifter",
        "deploy",
        "--function",
        "orders",
        "--alias",
        "live",
        "--version",
        "2",
        "--strategy",
        "AllAtOnce",
    ];
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Deploy(a) => *a,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_mode_follows_the_flags() {
    assert_eq!(Mode::from_args(&deploy_args(&["--local"])), Ok(Mode::Local));
    assert_eq!(
        Mode::from_args(&deploy_args(&["--state-machine-arn", SM])),
        Ok(Mode::StateMachine {
            arn: SM.into(),
            no_wait: false
        })
    );
    assert_eq!(
        Mode::from_args(&deploy_args(&["--state-machine-arn", SM, "--no-wait"])),
        Ok(Mode::StateMachine {
            arn: SM.into(),
            no_wait: true
        })
    );
    // --local wins over an ARN (which may come from the environment).
    assert_eq!(
        Mode::from_args(&deploy_args(&["--local", "--state-machine-arn", SM])),
        Ok(Mode::Local)
    );
    assert_eq!(
        Mode::from_args(&deploy_args(&["--local", "--no-wait"])),
        Err(NO_WAIT_NEEDS_STATE_MACHINE)
    );
    let mut none = deploy_args(&[]);
    none.state_machine_arn = None; // whatever SHIFTER_STATE_MACHINE_ARN says here
    assert_eq!(Mode::from_args(&none), Err(NO_STATE_MACHINE_ARN));
    none.state_machine_arn = Some("  ".into());
    assert_eq!(Mode::from_args(&none), Err(NO_STATE_MACHINE_ARN));
    assert!(NO_STATE_MACHINE_ARN.contains("--state-machine-arn"));
    assert!(NO_STATE_MACHINE_ARN.contains("SHIFTER_STATE_MACHINE_ARN"));
}

#[tokio::test]
async fn start_names_the_execution_after_the_rollout_and_prints_its_arn() {
    let api = FakeApi::new(vec![]);
    let (out, err) = (Captured::default(), Captured::default());
    let input = json!({"functionName": "orders"}).to_string();
    let start = Start {
        state_machine_arn: SM,
        rollout_id: "r-1",
        input: &input,
        format: OutputFormat::Text,
    };
    let arn = start
        .run(&api, false, &mut out.sink(), &mut err.sink())
        .await
        .unwrap();
    assert_eq!(arn, ARN);
    assert_eq!(out.text(), format!("{ARN}\n"));
    let followed = Captured::default();
    start
        .run(&api, true, &mut followed.sink(), &mut err.sink())
        .await
        .unwrap();
    assert_eq!(followed.text(), format!("execution {ARN}\n"));
    assert_eq!(
        api.starts()[..1],
        [(SM.to_string(), "r-1".to_string(), input.clone())]
    );

    let mut refused = FakeApi::new(vec![]);
    refused.start_error = Some(ApiError::new(
        Some("StateMachineDoesNotExist"),
        "StartExecution: no such state machine",
    ));
    let code = start
        .run(&refused, true, &mut out.sink(), &mut err.sink())
        .await
        .unwrap_err();
    assert_eq!(code, 2);
    assert!(err.text().contains("nothing was started"), "{}", err.text());
}

fn weighted_history() -> History {
    let mut h = History::prepared();
    h.exited("Advance", state(1, 1000, json!({"waitSeconds": 300})))
        .entered(
            "WaitStateEntered",
            "Bake",
            state(1, 1000, json!({"waitSeconds": 300})),
        );
    h
}

fn aws_with_alias(routing: Routing) -> FakeAws {
    let aws = FakeAws::new();
    aws.add_function("orders");
    aws.publish("orders", "code-1");
    aws.publish("orders", "code-2");
    aws.add_alias("orders", "live", routing);
    aws
}

#[tokio::test]
async fn abort_stops_the_execution_then_rolls_the_alias_back() {
    let api = FakeApi::new(weighted_history().0);
    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    let (out, err) = (Captured::default(), Captured::default());
    let code = abort_with(
        &api,
        &aws,
        ARN,
        OutputFormat::Text,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 0, "{}", err.text());
    assert_eq!(api.stops(), [(ARN.to_string(), ABORT_CAUSE.to_string())]);
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("1"));
    assert!(
        out.text().contains("rolled back orders:live to version 1"),
        "{}",
        out.text()
    );
}

#[tokio::test]
async fn abort_leaves_an_alias_someone_else_changed_and_exits_3() {
    let api = FakeApi::new(weighted_history().0);
    let aws = aws_with_alias(Routing::single("1"));
    aws.publish("orders", "code-3");
    aws.force_alias("orders", "live", Routing::split("1", "3", 5000));
    let (out, err) = (Captured::default(), Captured::default());
    let code = abort_with(
        &api,
        &aws,
        ARN,
        OutputFormat::Json,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 3, "left alone is a conflict, not a failure");
    let doc: serde_json::Value = serde_json::from_str(out.text().trim()).unwrap();
    assert_eq!(doc["aliasRestored"], false);
    assert_eq!(
        aws.alias("orders", "live").routing,
        Routing::split("1", "3", 5000)
    );
}

#[tokio::test]
async fn abort_refuses_an_execution_that_already_ended() {
    let mut api = FakeApi::new(weighted_history().0);
    api.status = "SUCCEEDED".into();
    let aws = aws_with_alias(Routing::single("2"));
    let (out, err) = (Captured::default(), Captured::default());
    let code = abort_with(
        &api,
        &aws,
        ARN,
        OutputFormat::Text,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 1);
    assert!(api.stops().is_empty());
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("2"));
    assert!(err.text().contains("nothing to abort"));
}

#[tokio::test]
async fn abort_before_prepare_finished_only_stops() {
    let mut h = History::new();
    h.push(
        "TaskStateEntered",
        Some("Prepare"),
        Some(json!({"functionName": "orders"}).to_string()),
    );
    let api = FakeApi::new(h.0);
    let aws = aws_with_alias(Routing::single("1"));
    let (out, err) = (Captured::default(), Captured::default());
    let code = abort_with(
        &api,
        &aws,
        ARN,
        OutputFormat::Text,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(api.stops().len(), 1);
    assert!(out.text().contains("nothing to roll back"));
}

#[tokio::test]
async fn status_summarizes_a_running_execution() {
    let api = FakeApi::new(weighted_history().0);
    let (out, err) = (Captured::default(), Captured::default());
    let code = status_execution(
        &api,
        ARN,
        OutputFormat::Text,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 0);
    let text = out.text();
    assert!(text.contains("status RUNNING"), "{text}");
    assert!(
        text.contains("step 1/2: 10% of traffic on version 2"),
        "{text}"
    );
    assert!(text.contains("current state: Bake"), "{text}");
    let out = Captured::default();
    status_execution(
        &api,
        ARN,
        OutputFormat::Json,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    let doc: serde_json::Value = serde_json::from_str(out.text().trim()).unwrap();
    assert_eq!(doc["rollout"]["weightPercent"], 10.0);
    assert_eq!(doc["currentState"], "Bake");
    assert_eq!(doc["lastEvent"]["type"], "WaitStateEntered");
}

#[tokio::test]
async fn status_of_an_alias_says_whether_a_rollout_owns_it() {
    let aws = aws_with_alias(Routing::split("1", "2", 2500));
    let (out, err) = (Captured::default(), Captured::default());
    let code = status_alias(
        &aws,
        "orders",
        "live",
        OutputFormat::Text,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 0);
    assert!(
        out.text().contains("weighted: a rollout owns it"),
        "{}",
        out.text()
    );
    let out = Captured::default();
    let code = status_alias(
        &aws,
        "orders",
        "nope",
        OutputFormat::Json,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_ne!(code, 0);
}

#[test]
fn status_targets_parse() {
    assert_eq!(
        StatusTarget::parse(ARN),
        Ok(StatusTarget::Execution(ARN.into()))
    );
    assert_eq!(
        StatusTarget::parse("orders:live"),
        Ok(StatusTarget::Alias {
            function: "orders".into(),
            alias: "live".into()
        })
    );
    assert_eq!(
        StatusTarget::parse("arn:aws:lambda:us-east-1:123456789012:function:orders:live"),
        Ok(StatusTarget::Alias {
            function: "arn:aws:lambda:us-east-1:123456789012:function:orders".into(),
            alias: "live".into()
        })
    );
    assert!(StatusTarget::parse(SM).is_err());
    assert!(StatusTarget::parse("orders").is_err());
}
