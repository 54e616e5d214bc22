use shifter::fake::{FakeAws, Op};
use shifter::registry::{RolloutJournal, RolloutRecord, RolloutStatus};
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

/// Two running rollouts (a local one on `orders:live` started 302 s ago at step 0, a state-machine one on
/// `payments:live` started an hour ago at 10%) and a finished one, recorded newest first.
async fn registry() -> FakeAws {
    let aws = FakeAws::new();
    let local = record("r-local", RolloutStatus::Running, NOW - 302_000);
    let machine = RolloutRecord {
        function_name: "payments".into(),
        execution_arn: Some(ARN.into()),
        started_by: "state-machine".into(),
        steps_done: 1,
        weight_bps: 1000,
        // Its 10% step bakes 5 minutes; 90.5 s of it are left.
        bake_ends_ms: Some(NOW + 90_500),
        ..record("r-machine", RolloutStatus::Running, NOW - 3_600_000)
    };
    let done = record("r-done", RolloutStatus::Promoted, NOW - 7_200_000);
    for r in [&local, &machine, &done] {
        aws.record(r).await.unwrap();
    }
    aws
}

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
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["alias", "versions", "weight", "step", "bake", "started", "by"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        [
            "payments:live",
            "1",
            "→",
            "2",
            "10%",
            "1/2",
            "1m31s",
            "1h00m00s",
            "ago",
            "state-machine",
            ARN
        ]
    );
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        [
            "orders:live",
            "1",
            "→",
            "2",
            "0%",
            "0/2",
            "-",
            "5m02s",
            "ago",
            "local"
        ]
    );
    // The columns line up.
    assert_eq!(lines[1].find("10%"), lines[2].find("0%"));
}

#[tokio::test]
async fn json_is_the_records_as_an_array() {
    let aws = registry().await;
    let (code, out, err) = run_list(Some(&aws), OutputFormat::Json).await;
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out.lines().count(), 1, "{out}");
    let records: Vec<RolloutRecord> = serde_json::from_str(&out).unwrap();
    assert_eq!(records, aws.running().await.unwrap());
    let ids: Vec<&str> = records.iter().map(|r| r.rollout_id.as_str()).collect();
    assert_eq!(ids, ["r-machine", "r-local"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc[0]["executionArn"], ARN);
    assert_eq!(doc[0]["weightBps"], 1000);
    assert_eq!(doc[1]["startedBy"], "local");
    assert_eq!(doc[1]["status"], "Running");
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
