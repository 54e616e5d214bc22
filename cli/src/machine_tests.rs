use clap::Parser;
use serde_json::json;

use super::*;
use crate::args::{Cli, Command};
use crate::deploy::{Mode, NO_STATE_MACHINE_ARN, NO_WAIT_NEEDS_STATE_MACHINE};
use crate::render::Captured;
use crate::test_support::{state, weighted_history, FakeApi, ARN};

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

#[test]
fn the_cli_names_its_executions_cli_dash_so_the_registry_knows_who_started_them() {
    use crate::deploy::Deployment;
    let machine = Deployment::from_args(&deploy_args(&["--state-machine-arn", SM])).unwrap();
    assert!(
        machine.rollout_id.starts_with("cli-r-"),
        "{}",
        machine.rollout_id
    );
    let named = deploy_args(&["--state-machine-arn", SM, "--rollout-id", "orders-v7"]);
    assert_eq!(
        Deployment::from_args(&named).unwrap().rollout_id,
        "cli-orders-v7"
    );
    // Already prefixed: kept as it is, so the same id always names the same execution.
    let again = deploy_args(&["--state-machine-arn", SM, "--rollout-id", "cli-orders-v7"]);
    assert_eq!(
        Deployment::from_args(&again).unwrap().rollout_id,
        "cli-orders-v7"
    );
    // A local rollout has no execution: its id stays as given.
    let local = deploy_args(&["--local", "--rollout-id", "orders-v7"]);
    assert_eq!(
        Deployment::from_args(&local).unwrap().rollout_id,
        "orders-v7"
    );
    // Execution names have at most 80 characters.
    let longest = "x".repeat(76);
    assert_eq!(cli_execution_name(&longest).unwrap().len(), 80);
    let too_long = deploy_args(&["--state-machine-arn", SM, "--rollout-id", &"x".repeat(77)]);
    match Deployment::from_args(&too_long) {
        Err(Error::InvalidRequest { field, message }) => {
            assert_eq!(field, "rolloutId");
            assert!(message.contains("at most 76"), "{message}");
        }
        other => panic!("{other:?}"),
    }
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

/// Starts `r-1` on a state machine that answers ExecutionAlreadyExists: (exit code, stderr).
async fn start_existing(api: &FakeApi, state_machine_arn: &str) -> (i32, String) {
    let (out, err) = (Captured::default(), Captured::default());
    let start = Start {
        state_machine_arn,
        rollout_id: "r-1",
        input: "{}",
        format: OutputFormat::Text,
    };
    let code = start
        .run(api, true, &mut out.sink(), &mut err.sink())
        .await
        .unwrap_err();
    assert_eq!(out.text(), "", "nothing started, nothing on stdout");
    (code, err.text())
}

fn already_exists(status: &str) -> FakeApi {
    let mut api = FakeApi::new(vec![]);
    api.start_error = Some(ApiError::new(
        Some("ExecutionAlreadyExists"),
        "StartExecution: Execution Already Exists: 'r-1'",
    ));
    api.status = status.into();
    api
}

#[tokio::test]
async fn an_existing_running_execution_is_named_with_how_to_see_it() {
    let api = already_exists("RUNNING");
    let (code, err) = start_existing(&api, SM).await;
    assert_eq!(code, 2);
    assert_eq!(api.describes(), [ARN]);
    assert!(err.contains("is already running"), "{err}");
    assert!(err.contains(&format!("shifter status {ARN}")), "{err}");
    assert!(err.contains("nothing was started"), "{err}");
}

#[tokio::test]
async fn a_finished_execution_with_the_same_name_says_how_it_ended() {
    for status in ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"] {
        let api = already_exists(status);
        // A version- or alias-qualified state machine ARN names the same executions.
        let (code, err) = start_existing(&api, &format!("{SM}:prod")).await;
        assert_eq!(code, 2, "{status}");
        assert_eq!(api.describes(), [ARN], "{status}");
        assert!(err.contains(&format!("ended {status}")), "{err}");
        assert!(
            err.contains("90 days") && err.contains("--rollout-id"),
            "{err}"
        );
        assert!(!err.contains("another input"), "{err}");
    }
}

#[tokio::test]
async fn an_existing_execution_that_cannot_be_described_covers_both_cases() {
    let mut api = already_exists("RUNNING");
    api.describe_error = Some(ApiError::new(
        Some("AccessDeniedException"),
        "DescribeExecution: not authorized",
    ));
    let (code, err) = start_existing(&api, SM).await;
    assert_eq!(code, 2);
    assert!(!err.contains("another input"), "{err}");
    assert!(err.contains("running") && err.contains("ended"), "{err}");
    assert!(err.contains("--rollout-id"), "{err}");
    assert!(err.contains(&format!("shifter status {ARN}")), "{err}");
}

#[test]
fn an_execution_arn_is_derived_from_the_state_machine_arn() {
    assert_eq!(execution_arn(SM, "r-1").as_deref(), Some(ARN));
    assert_eq!(
        execution_arn(&format!("{SM}:7"), "r-1").as_deref(),
        Some(ARN)
    );
    assert_eq!(
        execution_arn("arn:aws:lambda:us-east-1:1:function:f", "r-1"),
        None
    );
}

#[tokio::test]
async fn a_failed_rollback_followed_to_its_end_points_at_abort() {
    let mut h = weighted_history();
    h.entered(
        "TaskStateEntered",
        "NotifyRollbackFailed",
        state(
            1,
            1000,
            json!({"rollbackError": {"Error": "Lambda.Unknown", "Cause": "boom"}}),
        ),
    )
    .ended("ExecutionFailed", Some("RollbackFailed"), Some("x"));
    let api = FakeApi::new(h.0);
    let (out, err) = (Captured::default(), Captured::default());
    let mut render = Renderer::new(OutputFormat::Text, out.sink(), err.sink(), false);
    let clock = shifter::fake::FakeClock::default();
    let code = follow_to_end(
        &api,
        ARN,
        &mut render,
        Polling::default(),
        &clock,
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        err.text().contains(&format!("hint: `shifter abort {ARN}`")),
        "{}",
        err.text()
    );
}
