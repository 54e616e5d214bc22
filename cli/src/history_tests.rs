use shifter::fake::{FakeAws, Op};
use shifter::registry::{RolloutJournal, RolloutRecord, RolloutStatus};
use shifter::Error;

use super::*;
use crate::render::Captured;
use crate::test_support::{record, ARN};

/// 2023-11-14T22:13:20.000Z
const T0: u64 = 1_700_000_000_000;

async fn run_history(
    journal: Option<&FakeAws>,
    limit: usize,
    format: OutputFormat,
) -> (i32, String, String) {
    let (out, err) = (Captured::default(), Captured::default());
    let code = history(
        journal,
        "orders",
        "live",
        limit,
        format,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    (code, out.text(), err.text())
}

/// `orders:live`: promoted at T0, rolled back an hour later (a two-line reason), running since two hours
/// later; and a rollout of another alias.
async fn registry() -> FakeAws {
    let aws = FakeAws::new();
    let promoted = record("r-1", RolloutStatus::Promoted, T0);
    let rolled_back = RolloutRecord {
        reason: Some("alarm orders-errors is ALARM\nThreshold crossed".into()),
        ended_ms: Some(T0 + 3_600_000 + 95_400),
        ..record("r-2", RolloutStatus::RolledBack, T0 + 3_600_000)
    };
    let running = RolloutRecord {
        execution_arn: Some(ARN.into()),
        started_by: "state-machine".into(),
        ..record("r-3", RolloutStatus::Running, T0 + 7_200_000)
    };
    let other = RolloutRecord {
        alias: "beta".into(),
        ..record("r-4", RolloutStatus::Failed, T0 + 9_000_000)
    };
    for r in [&running, &promoted, &other, &rolled_back] {
        aws.record(r).await.unwrap();
    }
    aws
}

#[tokio::test]
async fn without_a_table_it_exits_2_naming_the_flag_and_reads_nothing() {
    let (code, out, err) = run_history(None, 10, OutputFormat::Text).await;
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("--table"), "{err}");
    assert!(err.contains("SHIFTER_TABLE"), "{err}");
    assert!(err.contains("nothing was read"), "{err}");
}

#[tokio::test]
async fn an_alias_with_no_rollouts_is_not_an_error() {
    let aws = FakeAws::new();
    let (code, out, err) = run_history(Some(&aws), 10, OutputFormat::Text).await;
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "no rollouts recorded for orders:live (finished ones are kept 90 days)\n"
    );
    let (code, out, _) = run_history(Some(&aws), 10, OutputFormat::Json).await;
    assert_eq!((code, out.as_str()), (0, "[]\n"));
}

#[tokio::test]
async fn shows_the_alias_rollouts_newest_first() {
    let aws = registry().await;
    let (code, out, err) = run_history(Some(&aws), 10, OutputFormat::Text).await;
    assert_eq!((code, err.as_str()), (0, ""));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0], "orders:live, newest first");
    let words = |line: &str| {
        line.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        words(lines[1]),
        ["started", "outcome", "versions", "duration", "reason"]
    );
    assert_eq!(
        words(lines[2]),
        [
            "2023-11-15T00:13:20.000Z",
            "Running",
            "1",
            "→",
            "2",
            "running"
        ]
    );
    assert_eq!(
        words(lines[3]),
        [
            "2023-11-14T23:13:20.000Z",
            "RolledBack",
            "1",
            "→",
            "2",
            "1m35s",
            "alarm",
            "orders-errors",
            "is",
            "ALARM",
            "Threshold",
            "crossed"
        ]
    );
    assert_eq!(
        words(lines[4]),
        [
            "2023-11-14T22:13:20.000Z",
            "Promoted",
            "1",
            "→",
            "2",
            "1m00s"
        ]
    );
    assert!(!out.contains("Failed"), "another alias's rollout: {out}");
}

#[tokio::test]
async fn the_limit_keeps_the_newest() {
    let aws = registry().await;
    let (code, out, _) = run_history(Some(&aws), 2, OutputFormat::Json).await;
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
    let records: Vec<RolloutRecord> = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.rollout_id.as_str()).collect();
    assert_eq!(ids, ["r-3", "r-2"]);
    assert_eq!(
        records[1].reason.as_deref(),
        Some("alarm orders-errors is ALARM\nThreshold crossed")
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc[0]["status"], "Running");
    assert_eq!(doc[0]["executionArn"], ARN);
    assert!(doc[0].get("endedMs").is_none(), "{doc}");
    assert_eq!(doc[1]["status"], "RolledBack");
}

#[tokio::test]
async fn an_aws_error_exits_1_with_nothing_on_stdout() {
    let aws = registry().await;
    aws.fail_next(
        Op::Journal,
        Error::Transient {
            operation: "Query".into(),
            message: "ThrottlingException".into(),
        },
        1,
    );
    let (code, out, err) = run_history(Some(&aws), 10, OutputFormat::Text).await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with("error: transient failure in Query"),
        "{err}"
    );
    assert!(err.contains("hint: "), "{err}");
}

#[test]
fn the_target_is_function_colon_alias() {
    assert_eq!(target("orders:live"), Ok(("orders".into(), "live".into())));
    assert_eq!(
        target("arn:aws:lambda:us-east-1:123456789012:function:orders:live"),
        Ok(("orders".into(), "live".into()))
    );
    let err = target(ARN).unwrap_err();
    assert!(err.contains("history takes function:alias"), "{err}");
    assert!(target("orders").is_err());
}
