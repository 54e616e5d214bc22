use serde_json::json;
use shifter::domain::Routing;
use shifter::fake::{FakeAws, Op};

use super::*;
use crate::render::Captured;
use crate::test_support::{aws_with_alias, state, weighted_history, FakeApi, History, ARN};

#[tokio::test]
async fn abort_stops_the_execution_then_rolls_the_alias_back() {
    let api = FakeApi::new(weighted_history().0);
    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    let (code, out, err) = abort_text(&api, &aws).await;
    assert_eq!(code, 0, "{}", err);
    assert_eq!(api.stops(), [(ARN.to_string(), ABORT_CAUSE.to_string())]);
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("1"));
    assert!(
        out.contains("rolled back orders:live to version 1"),
        "{}",
        out
    );
    // The registry learns how the aborted rollout ended (no Catch of the stopped execution will say it).
    let rollout_id = &shifter::fake::canary_rollout().rollout_id;
    let record = aws
        .record_of(rollout_id)
        .expect("a record of the aborted rollout");
    assert_eq!(record.status, shifter::registry::RolloutStatus::RolledBack);
    assert!(record.reason.unwrap().contains("shifter abort"));
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
    assert_eq!(code, 3, "{}", err.text());
    let doc: serde_json::Value = serde_json::from_str(out.text().trim()).unwrap();
    assert_eq!(doc["aliasRestored"], false);
    assert_eq!(doc["aliasLeftAlone"], true);
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
    let (code, _, err) = abort_text(&api, &aws).await;
    assert_eq!(code, 1);
    assert!(api.stops().is_empty());
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("2"));
    assert!(err.contains("nothing to abort"));
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
    let (code, out, _) = abort_text(&api, &aws).await;
    assert_eq!(code, 0);
    assert_eq!(api.stops().len(), 1);
    assert!(out.contains("nothing to roll back"));
}

/// Runs `abort_with`: (exit code, stdout, stderr).
async fn abort_text(api: &FakeApi, aws: &FakeAws) -> (i32, String, String) {
    let (out, err) = (Captured::default(), Captured::default());
    let code = abort_with(
        api,
        aws,
        ARN,
        OutputFormat::Text,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    (code, out.text(), err.text())
}

/// A rollout at 10% whose execution then ended FAILED with `error`, without rolling back.
fn failed_while_weighted(error: &str) -> FakeApi {
    let mut h = weighted_history();
    h.ended("ExecutionFailed", Some(error), Some("the cause"));
    let mut api = FakeApi::new(h.0);
    api.status = "FAILED".into();
    api
}

#[tokio::test]
async fn abort_rolls_back_a_failed_execution_whose_rollback_failed() {
    let mut h = weighted_history();
    let broken = json!({"rollbackError": {"Error": "Lambda.ServiceException", "Cause": "boom"}});
    h.entered(
        "TaskStateEntered",
        "NotifyRollbackFailed",
        state(1, 1000, broken),
    )
    .ended(
        "ExecutionFailed",
        Some("RollbackFailed"),
        Some("The rollback failed"),
    );
    let mut api = FakeApi::new(h.0);
    api.status = "FAILED".into();
    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    let (code, out, err) = abort_text(&api, &aws).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        api.stops().is_empty(),
        "a finished execution is not stopped"
    );
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("1"));
    assert!(out.contains("was already FAILED"), "{out}");
    assert!(
        out.contains("rolled back orders:live to version 1"),
        "{out}"
    );
}

#[tokio::test]
async fn abort_rolls_back_an_execution_that_ended_without_its_catch() {
    // A States.* error raised outside a Task's Catch (DataLimitExceeded on a state's output), a timeout or a
    // StopExecution from elsewhere: the execution ends with the alias still weighted.
    for (status, error) in [
        ("FAILED", "States.DataLimitExceeded"),
        ("TIMED_OUT", "States.Timeout"),
        ("ABORTED", "States.Aborted"),
    ] {
        let mut api = failed_while_weighted(error);
        api.status = status.into();
        let aws = aws_with_alias(Routing::split("1", "2", 1000));
        let (code, out, err) = abort_text(&api, &aws).await;
        assert_eq!(code, 0, "{status}: {out}{err}");
        assert_eq!(
            aws.alias("orders", "live").routing,
            Routing::single("1"),
            "{status}"
        );
    }
}

#[tokio::test]
async fn abort_of_a_failed_execution_that_rolled_back_exits_0_without_writing() {
    let mut h = weighted_history();
    h.exited(
        "Rollback",
        state(1, 0, json!({"reason": "alarm(s) firing: orders-errors"})),
    )
    .ended(
        "ExecutionFailed",
        Some("RolledBack"),
        Some("alarm(s) firing"),
    );
    let mut api = FakeApi::new(h.0);
    api.status = "FAILED".into();
    let aws = aws_with_alias(Routing::single("1"));
    let (code, out, err) = abort_text(&api, &aws).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(aws.calls(Op::WriteAlias), 0);
    assert!(
        out.contains("orders:live already served version 1 alone"),
        "{out}"
    );
}

#[tokio::test]
async fn abort_of_a_failed_execution_leaves_an_alias_another_rollout_took() {
    let api = failed_while_weighted("RollbackFailed");
    let aws = aws_with_alias(Routing::single("1"));
    aws.publish("orders", "code-3");
    aws.force_alias("orders", "live", Routing::split("2", "3", 2000));
    let (code, out, err) = abort_text(&api, &aws).await;
    assert_eq!(code, 3, "{out}{err}");
    assert_eq!(aws.calls(Op::WriteAlias), 0);
    assert!(err.contains("left alone"), "{err}");
}

#[tokio::test]
async fn abort_exits_1_when_the_rollback_fails() {
    let api = failed_while_weighted("RollbackFailed");
    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    aws.fail_next(
        Op::WriteAlias,
        shifter::Error::AwsRejected {
            operation: "UpdateAlias".into(),
            message: "AccessDeniedException".into(),
        },
        1,
    );
    let (code, _, err) = abort_text(&api, &aws).await;
    assert_eq!(code, 1);
    assert!(err.contains("rolling orders:live back failed"), "{err}");
    assert_eq!(
        aws.alias("orders", "live").routing,
        Routing::split("1", "2", 1000)
    );
}

#[tokio::test]
async fn abort_of_an_old_execution_leaves_a_newer_rollout_on_the_alias_alone() {
    // r-1's execution FAILED at 10%; meanwhile rollout r-2 took the alias and runs at exactly that routing.
    let api = failed_while_weighted("States.DataLimitExceeded");
    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    let newer = shifter::registry::RolloutRecord {
        rollout_id: "r-2".into(),
        function_name: "orders".into(),
        alias: "live".into(),
        ..crate::test_support::record("r-2", shifter::registry::RolloutStatus::Running, 1)
    };
    shifter::registry::RolloutJournal::record(&aws, &newer)
        .await
        .unwrap();
    let (code, _, err) = abort_text(&api, &aws).await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("r-2"), "{err}");
    assert_eq!(
        aws.alias("orders", "live").routing,
        Routing::split("1", "2", 1000)
    );
    assert_eq!(aws.calls(Op::WriteAlias), 0);
}

#[tokio::test]
async fn a_write_refused_because_the_execution_cleanup_restored_first_is_read_again() {
    // The stack's execution cleanup reacts to the same ABORTED event: its fenced write can win, and then
    // ours is refused as AliasChanged. A second look finds the alias restored, not someone else's.
    let api = FakeApi::new(weighted_history().0);
    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    aws.fail_next(
        Op::WriteAlias,
        shifter::Error::AliasChanged {
            alias: "live".into(),
            message: "PreconditionFailed: the RevisionId changed".into(),
        },
        1,
    );
    let (code, out, err) = abort_text(&api, &aws).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("1"));
    assert!(!out.contains("left alone"), "{out}");
}
