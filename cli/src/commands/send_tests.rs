use clap::Parser;
use serde_json::json;
use shifter::fake::{FakeAws, Op};
use shifter::registry::control::{Answer, DEFAULT_MAX_PAUSE_SECONDS};
use shifter::Error;

use super::*;
use crate::args::{Cli, Command as Cli_};
use crate::commands::fixture::{running, Driver, NOW};
use crate::render::Captured;
use crate::test_support::{FakeApi, ARN};

/// Runs `send`: (exit code, stdout, stderr).
async fn sent(
    aws: Option<&FakeAws>,
    api: &FakeApi,
    target: &str,
    command: &Command,
    format: OutputFormat,
) -> (i32, String, String) {
    let (out, err) = (Captured::default(), Captured::default());
    let code = send(
        aws,
        api,
        target,
        command,
        NOW,
        format,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    (code, out.text(), err.text())
}

fn succeeded(aws: &FakeAws, token: &str) -> Option<serde_json::Value> {
    match aws.token_answer(token) {
        Some(Answer::Succeed(v)) => Some(v),
        _ => None,
    }
}

#[tokio::test]
async fn promote_is_delivered_to_a_baking_rollout_and_writes_no_alias() {
    let (aws, _) = running(Driver::Machine, Some((WaitKind::Bake, "t1"))).await;
    let api = FakeApi::new(vec![]);
    let (code, out, err) = sent(
        Some(&aws),
        &api,
        "orders:live",
        &Command::Promote,
        OutputFormat::Text,
    )
    .await;
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        format!("promote delivered to rollout r-1 (execution {ARN}): it checks the alarms once more, then finalizes\n")
    );
    assert_eq!(succeeded(&aws, "t1"), Some(json!({"command": "promote"})));
    assert_eq!(
        aws.calls(Op::WriteAlias),
        0,
        "the rollout writes the alias, not the command"
    );
    assert!(api.describes().is_empty());
}

#[tokio::test]
async fn pause_by_execution_arn_is_delivered_with_its_limit_as_json() {
    let (aws, _) = running(Driver::Machine, Some((WaitKind::Bake, "t1"))).await;
    let api = FakeApi::new(vec![]);
    let pause = Command::Pause { max_seconds: 7200 };
    let (code, out, err) = sent(Some(&aws), &api, ARN, &pause, OutputFormat::Json).await;
    assert_eq!((code, err.as_str()), (0, ""));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc,
        json!({"command": "pause", "maxSeconds": 7200, "rolloutId": "r-1", "functionName": "orders",
               "alias": "live", "executionArn": ARN, "delivery": "delivered", "waiting": "bake"})
    );
    assert_eq!(
        succeeded(&aws, "t1"),
        Some(json!({"command": "pause", "pauseSeconds": 7200}))
    );
    let (_, text, _) = sent(Some(&aws), &api, ARN, &pause, OutputFormat::Text).await;
    // The token was answered already: the second pause is only recorded.
    assert!(text.starts_with("pause recorded for rollout r-1"), "{text}");
}

#[tokio::test]
async fn a_command_mid_step_is_recorded_for_when_the_step_ends() {
    let (aws, _) = running(Driver::Machine, None).await;
    let api = FakeApi::new(vec![]);
    let (code, out, _) = sent(
        Some(&aws),
        &api,
        "orders:live",
        &Command::Promote,
        OutputFormat::Text,
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("promote recorded for rollout r-1 (execution {ARN}): it takes effect when the current step ends\n")
    );
    let lease = aws.lease("orders", "live").unwrap();
    assert_eq!(
        (lease.command, lease.command_ms),
        (Some(Command::Promote), Some(NOW))
    );
    let (_, out, _) = sent(
        Some(&aws),
        &api,
        "orders:live",
        &Command::Promote,
        OutputFormat::Json,
    )
    .await;
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (doc["delivery"].as_str(), doc["waiting"].is_null()),
        (Some("recorded"), true)
    );
}

#[tokio::test]
async fn resume_ends_a_pause_and_says_when_there_is_none_to_end() {
    let (aws, _) = running(Driver::Machine, Some((WaitKind::Pause, "p1"))).await;
    let api = FakeApi::new(vec![]);
    let pause = Command::Pause { max_seconds: 60 };
    let (_, out, _) = sent(Some(&aws), &api, "orders:live", &pause, OutputFormat::Text).await;
    assert!(
        out.contains("pause recorded for rollout r-1") && out.contains("it was already paused"),
        "{out}"
    );
    assert_eq!(aws.token_answer("p1"), None, "a pause does not end a pause");
    let (code, out, _) = sent(
        Some(&aws),
        &api,
        "orders:live",
        &Command::Resume,
        OutputFormat::Text,
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("resume delivered to rollout r-1 (execution {ARN}): the pause ends and the rollout goes on\n")
    );
    assert_eq!(succeeded(&aws, "p1"), Some(json!({"command": "resume"})));

    let (baking, _) = running(Driver::Machine, Some((WaitKind::Bake, "t1"))).await;
    let (code, out, _) = sent(
        Some(&baking),
        &api,
        "orders:live",
        &Command::Resume,
        OutputFormat::Text,
    )
    .await;
    assert_eq!(code, 0);
    assert!(
        out.contains("resume recorded") && out.contains("it was not paused"),
        "{out}"
    );
    assert_eq!(
        baking.token_answer("t1"),
        None,
        "a resume does not end a bake"
    );
}

#[tokio::test]
async fn a_local_rollout_reads_the_command_at_its_next_check() {
    let (aws, _) = running(Driver::Local, None).await;
    let api = FakeApi::new(vec![]);
    let pause = Command::Pause { max_seconds: 60 };
    let (code, out, _) = sent(Some(&aws), &api, "orders:live", &pause, OutputFormat::Text).await;
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "pause recorded for rollout r-1 (local): the local rollout reads it at its next check\n"
    );
    assert_eq!(aws.lease("orders", "live").unwrap().command, Some(pause));
}

#[tokio::test]
async fn no_rollout_running_exits_2_and_writes_nothing() {
    let aws = crate::test_support::aws_with_alias(shifter::domain::Routing::single("1"));
    let mut api = FakeApi::new(vec![]);
    api.status = "SUCCEEDED".into();
    for target in ["orders:live", ARN] {
        let (code, out, err) = sent(
            Some(&aws),
            &api,
            target,
            &Command::Promote,
            OutputFormat::Json,
        )
        .await;
        assert_eq!((code, out.as_str()), (2, ""), "{target}");
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(err.contains("`shifter list`"), "{err}");
    }
    let (_, _, err) = sent(
        Some(&aws),
        &api,
        "orders:live",
        &Command::Promote,
        OutputFormat::Text,
    )
    .await;
    assert!(
        err.starts_with("error: no rollout is running on orders:live;"),
        "{err}"
    );
    let (_, _, err) = sent(Some(&aws), &api, ARN, &Command::Promote, OutputFormat::Text).await;
    assert!(
        err.contains(&format!(
            "execution {ARN} is not running: it ended SUCCEEDED"
        )),
        "{err}"
    );
    assert!(aws.lease("orders", "live").is_none());
    assert_eq!(aws.calls(Op::WriteAlias), 0);
}

#[tokio::test]
async fn no_table_or_a_bad_target_exits_2_and_calls_nothing() {
    let api = FakeApi::new(vec![]);
    let (code, _, err) = sent(
        None,
        &api,
        "orders:live",
        &Command::Resume,
        OutputFormat::Text,
    )
    .await;
    assert_eq!(code, 2);
    assert!(
        err.contains("--table")
            && err.contains("SHIFTER_TABLE")
            && err.contains("nothing was changed"),
        "{err}"
    );
    let aws = FakeAws::new();
    let (code, _, err) = sent(
        Some(&aws),
        &api,
        "orders",
        &Command::Resume,
        OutputFormat::Text,
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("function:alias"), "{err}");
    assert_eq!(aws.calls(Op::Control) + aws.calls(Op::Journal), 0);
    assert!(api.describes().is_empty());
}

#[tokio::test]
async fn an_aws_error_exits_1() {
    let (aws, _) = running(Driver::Machine, Some((WaitKind::Bake, "t1"))).await;
    aws.fail_next(
        Op::TaskCallback,
        Error::AwsRejected {
            operation: "SendTaskSuccess".into(),
            message: "AccessDeniedException".into(),
        },
        1,
    );
    let api = FakeApi::new(vec![]);
    let (code, out, err) = sent(
        Some(&aws),
        &api,
        "orders:live",
        &Command::Promote,
        OutputFormat::Text,
    )
    .await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with("error: AWS rejected SendTaskSuccess"),
        "{err}"
    );
}

#[test]
fn the_flags_parse_durations_and_name_themselves_when_wrong() {
    let parse = |argv: &[&str]| Cli::try_parse_from(argv).map(|c| c.command);
    match parse(&["shifter", "pause", "orders:live"]).unwrap() {
        Cli_::Pause(a) => assert_eq!(a.max_pause, DEFAULT_MAX_PAUSE_SECONDS),
        other => panic!("{other:?}"),
    }
    match parse(&["shifter", "pause", "orders:live", "--max-pause", "90m"]).unwrap() {
        Cli_::Pause(a) => assert_eq!(a.max_pause, 5400),
        other => panic!("{other:?}"),
    }
    let e = parse(&["shifter", "pause", "orders:live", "--max-pause", "8d"]).unwrap_err();
    assert!(
        e.to_string().contains("--max-pause") && e.to_string().contains("at most 7d"),
        "{e}"
    );
    match parse(&["shifter", "abort", "orders:live", "--table", "t"]).unwrap() {
        Cli_::Abort(a) => {
            assert_eq!(
                (a.timeout, a.reason, a.on.table.as_deref()),
                (300, None, Some("t"))
            );
        }
        other => panic!("{other:?}"),
    }
    let e = parse(&["shifter", "abort", "orders:live", "--timeout", "soon"]).unwrap_err();
    assert!(e.to_string().contains("--timeout"), "{e}");
    let e = parse(&["shifter", "abort", "orders:live", "--reason", " "]).unwrap_err();
    assert!(
        e.to_string().contains("--reason") && e.to_string().contains("must not be empty"),
        "{e}"
    );
    for command in ["promote", "resume"] {
        assert!(parse(&["shifter", command, "orders:live", "--output", "json"]).is_ok());
    }
}
