use shifter::fake::{FakeAws, Op};
use shifter::registry::control::{Command, WaitKind, Waiting};
use shifter::registry::{Lease, RolloutJournal, RolloutRecord, RolloutStatus};
use shifter::Error;

use super::*;
use crate::render::Captured;
use crate::test_support::{record, ARN};

const NOW: u64 = 1_700_000_000_000;

async fn run_list(journal: Option<&FakeAws>, format: OutputFormat) -> (i32, String, String) {
    let (out, err) = (Captured::default(), Captured::default());
    let code = list(journal, NOW, format, &mut out.sink(), &mut err.sink()).await;
    (code, out.text(), err.text())
}

/// Three running rollouts: a local one on `orders:live` started 302 s ago at step 0; one the CLI started on
/// `payments:live` an hour ago, at 10% and baking; one a pipeline started on `stock:live` 2 hours ago, paused
/// for 10 minutes by an operator. And a finished one.
async fn registry() -> FakeAws {
    let aws = FakeAws::new();
    let local = record("r-local", RolloutStatus::Running, NOW - 302_000);
    let machine = RolloutRecord {
        function_name: "payments".into(),
        execution_arn: Some(ARN.into()),
        started_by: "cli".into(),
        steps_done: 1,
        weight_bps: 1000,
        // Its 10% step bakes 5 minutes; 90.5 s of it are left.
        bake_ends_ms: Some(NOW + 90_500),
        ..record("r-machine", RolloutStatus::Running, NOW - 3_600_000)
    };
    let paused = RolloutRecord {
        function_name: "stock".into(),
        execution_arn: Some(PIPELINE_ARN.into()),
        started_by: "start-execution".into(),
        steps_done: 1,
        weight_bps: 1000,
        ..record("r-paused", RolloutStatus::Running, NOW - 7_200_000)
    };
    let done = record("r-done", RolloutStatus::Promoted, NOW - 9_000_000);
    for r in [&local, &machine, &paused, &done] {
        aws.record(r).await.unwrap();
    }
    let lease = |r: &RolloutRecord| Lease {
        function_name: r.function_name.clone(),
        alias: r.alias.clone(),
        rollout_id: r.rollout_id.clone(),
        execution_arn: r.execution_arn.clone(),
        started_ms: r.started_ms,
        ..Lease::default()
    };
    aws.put_lease(Lease {
        waiting: Some(Waiting {
            kind: WaitKind::Bake,
            token: "secret-token-1".into(),
            since_ms: NOW - 209_500,
        }),
        ..lease(&machine)
    });
    aws.put_lease(Lease {
        waiting: Some(Waiting {
            kind: WaitKind::Pause,
            token: "secret-token-2".into(),
            since_ms: NOW - 600_000,
        }),
        command: Some(Command::Pause { max_seconds: 3600 }),
        command_ms: Some(NOW - 601_000),
        ..lease(&paused)
    });
    // orders:live's lease is someone else's (a stale view): its wait and command are not this rollout's.
    aws.put_lease(Lease {
        rollout_id: "r-other".into(),
        command: Some(Command::Promote),
        command_ms: Some(NOW),
        ..lease(&local)
    });
    aws
}

const PIPELINE_ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:shifter:orders-v7-42";

#[tokio::test]
async fn without_a_table_it_exits_2_naming_the_flag_and_reads_nothing() {
    for format in [OutputFormat::Text, OutputFormat::Json] {
        let (code, out, err) = run_list(None, format).await;
        assert_eq!(code, 2);
        assert_eq!(out, "");
        assert!(err.contains("--table"), "{err}");
        assert!(err.contains("SHIFTER_TABLE"), "{err}");
        assert!(err.contains("nothing was read"), "{err}");
    }
}

#[tokio::test]
async fn none_running_is_not_an_error() {
    let aws = registry_of_finished().await;
    let (code, out, err) = run_list(Some(&aws), OutputFormat::Text).await;
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "no rollout is running\n", "")
    );
    let (code, out, _) = run_list(Some(&aws), OutputFormat::Json).await;
    assert_eq!((code, out.as_str()), (0, "[]\n"));
}

async fn registry_of_finished() -> FakeAws {
    let aws = FakeAws::new();
    aws.record(&record("r-old", RolloutStatus::RolledBack, 0))
        .await
        .unwrap();
    aws
}

#[tokio::test]
async fn lists_running_rollouts_oldest_first_one_line_each() {
    let aws = registry().await;
    let (code, out, err) = run_list(Some(&aws), OutputFormat::Text).await;
    assert_eq!((code, err.as_str()), (0, ""));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    let words = |line: &str| {
        line.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        words(lines[0]),
        ["alias", "versions", "weight", "step", "wait", "command", "started", "by"]
    );
    assert_eq!(
        words(lines[1]),
        [
            "stock:live",
            "1",
            "→",
            "2",
            "10%",
            "1/2",
            "paused",
            "10m00s",
            "pause",
            "10m01s",
            "ago",
            "2h00m00s",
            "ago",
            "StartExecution",
            PIPELINE_ARN
        ]
    );
    assert_eq!(
        words(lines[2]),
        [
            "payments:live",
            "1",
            "→",
            "2",
            "10%",
            "1/2",
            "baking",
            "1m31s",
            "left",
            "-",
            "1h00m00s",
            "ago",
            "CLI",
            ARN
        ]
    );
    assert_eq!(
        words(lines[3]),
        [
            "orders:live",
            "1",
            "→",
            "2",
            "0%",
            "0/2",
            "-",
            "-",
            "5m02s",
            "ago",
            "local"
        ]
    );
    // The columns line up.
    assert_eq!(lines[1].find("10%"), lines[3].find("0%"));
    assert_eq!(lines[1].find("paused"), lines[2].find("baking"));
    assert!(!out.contains("secret-token"), "task tokens are never shown");
}

#[test]
fn started_by_reads_as_who_started_the_rollout() {
    let labels: Vec<&str> = [
        "cli",
        "start-execution",
        "eventbridge",
        "local",
        "state-machine",
    ]
    .into_iter()
    .map(started_by_label)
    .collect();
    assert_eq!(
        labels,
        [
            "CLI",
            "StartExecution",
            "EventBridge",
            "local",
            "state-machine"
        ]
    );
}

#[tokio::test]
async fn json_is_the_records_as_an_array_with_their_wait_and_last_command() {
    let aws = registry().await;
    let (code, out, err) = run_list(Some(&aws), OutputFormat::Json).await;
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out.lines().count(), 1, "{out}");
    let records: Vec<RolloutRecord> = serde_json::from_str(&out).unwrap();
    assert_eq!(records, aws.running().await.unwrap());
    let ids: Vec<&str> = records.iter().map(|r| r.rollout_id.as_str()).collect();
    assert_eq!(ids, ["r-paused", "r-machine", "r-local"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc[0]["startedBy"], "start-execution");
    assert_eq!(
        doc[0]["wait"],
        serde_json::json!({"kind": "pause", "sinceMs": NOW - 600_000})
    );
    assert_eq!(
        doc[0]["lastCommand"],
        serde_json::json!({"command": "pause", "maxSeconds": 3600, "postedMs": NOW - 601_000})
    );
    assert_eq!(doc[1]["executionArn"], ARN);
    assert_eq!(doc[1]["weightBps"], 1000);
    assert_eq!(doc[1]["startedBy"], "cli");
    assert_eq!(doc[1]["wait"]["kind"], "bake");
    assert_eq!(doc[1]["lastCommand"], serde_json::Value::Null);
    assert_eq!(doc[2]["startedBy"], "local");
    assert_eq!(doc[2]["status"], "Running");
    assert_eq!(doc[2]["wait"], serde_json::Value::Null);
    assert_eq!(doc[2]["lastCommand"], serde_json::Value::Null);
    assert!(!out.contains("secret-token"), "task tokens are never shown");
}

#[tokio::test]
async fn an_aws_error_exits_1_with_nothing_on_stdout() {
    let aws = registry().await;
    aws.fail_next(
        Op::Journal,
        Error::AwsRejected {
            operation: "Query".into(),
            message: "AccessDeniedException: not allowed".into(),
        },
        1,
    );
    let (code, out, err) = run_list(Some(&aws), OutputFormat::Json).await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with("error: AWS rejected Query: AccessDenied"),
        "{err}"
    );
    assert!(
        err.contains("\nhint: nothing was read; check the table's name (--table"),
        "{err}"
    );
}

#[tokio::test]
async fn a_lease_that_cannot_be_read_is_an_aws_error() {
    let aws = registry().await;
    aws.fail_next(
        Op::Control,
        Error::AwsRejected {
            operation: "GetItem".into(),
            message: "AccessDeniedException: not allowed".into(),
        },
        1,
    );
    let (code, out, err) = run_list(Some(&aws), OutputFormat::Text).await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("error: AWS rejected GetItem"), "{err}");
}
