//! Aborting an alias no live rollout owns, over the stateful fake: the fenced restore, and the gone owner's
//! record, lease and notification.

use super::*;
use crate::domain::Routing;
use crate::fake::sample::{ALIAS as A, FUNCTION as F, TOPIC};
use crate::fake::{canary_rollout, FakeAws, Op};
use crate::notification::EventType;
use crate::ports::AliasRouter;
use crate::registry::{Lease, RolloutJournal, RolloutRecord};

const NOW: u64 = 1_700_000_000_000;

/// The sample account with `orders:live` at 10% on version 2, as a rollout left it.
fn weighted() -> FakeAws {
    let aws = FakeAws::sample();
    aws.force_alias(F, A, Routing::split("1", "2", 1000));
    aws
}

/// A local rollout (r-1, notifying the sample topic) holding the lease and recorded Running at 10%.
async fn held_by_a_gone_rollout(aws: &FakeAws) -> GoneOwner {
    held_by_a_gone_rollout_answering(aws, None).await
}

/// The same, for a rollout a `Custom::ShifterAlias` started when `cloud_formation` is set.
async fn held_by_a_gone_rollout_answering(
    aws: &FakeAws,
    cloud_formation: Option<crate::custom_resource::StackReply>,
) -> GoneOwner {
    let mut r = canary_rollout();
    r.cloud_formation = cloud_formation;
    r.steps_done = 1;
    r.weight_bps = 1000;
    r.revision_id = aws.alias(F, A).revision_id;
    r.notification_topic_arn = Some(TOPIC.into());
    aws.record(&RolloutRecord::of(&r, RolloutStatus::Running, NOW - 60_000))
        .await
        .unwrap();
    let lease = Lease {
        function_name: F.into(),
        alias: A.into(),
        rollout_id: r.rollout_id.clone(),
        lease_until_ms: NOW + 3_600_000,
        ..Lease::default()
    };
    aws.put_lease(lease.clone());
    GoneOwner::of_lease(aws, &lease, "its process is gone".into()).await
}

async fn read(aws: &FakeAws) -> AliasState {
    aws.read_alias(F, A).await.unwrap()
}

#[tokio::test]
async fn an_alias_nobody_owns_is_restored_to_its_main_version_with_one_fenced_write() {
    let aws = weighted();
    let before = read(&aws).await;
    let done = abort_unowned(&aws, F, A, before.clone(), None, "bad", NOW)
        .await
        .unwrap();
    assert!(done.was_weighted());
    assert_eq!(done.action(), RollbackAction::Restored);
    assert_eq!(done.restored.before, before);
    assert_eq!(aws.alias(F, A).routing, Routing::single("1"));
    assert_eq!(aws.calls(Op::WriteAlias), 1);
    let last = aws.changes(F, A).pop().unwrap();
    assert_eq!(last.source, crate::fake::ChangeSource::UpdateAlias);
    assert_eq!(done.restored.outcome.revision_id, last.revision_id);
    // No owner: nothing recorded, nothing published.
    assert_eq!(done.recorded, None);
    assert!(aws.notifications().is_empty());
}

#[tokio::test]
async fn an_alias_that_is_not_weighted_is_not_written() {
    let aws = FakeAws::sample();
    let owner = held_by_a_gone_rollout(&aws).await;
    let before = read(&aws).await;
    let done = abort_unowned(&aws, F, A, before, Some(&owner), "bad", NOW)
        .await
        .unwrap();
    assert!(!done.was_weighted());
    assert_eq!(done.action(), RollbackAction::AlreadyRestored);
    assert_eq!(aws.calls(Op::WriteAlias), 0);
    // The owner may only be slow: its lease and record stay as they were.
    assert_eq!(done.recorded, None);
    assert!(aws.lease(F, A).is_some());
    assert_eq!(aws.record_of("r-1").unwrap().status, RolloutStatus::Running);
    assert!(aws.notifications().is_empty());
}

#[tokio::test]
async fn a_change_between_the_read_and_the_write_is_left_alone() {
    for (theirs, action) in [
        (Routing::split("1", "2", 5000), RollbackAction::LeftAlone),
        (Routing::single("2"), RollbackAction::LeftAlone),
        // Someone else restored it meanwhile: nothing to write, and it serves the main version.
        (Routing::single("1"), RollbackAction::AlreadyRestored),
    ] {
        let aws = weighted();
        let before = read(&aws).await;
        aws.force_alias(F, A, theirs.clone());
        let done = abort_unowned(&aws, F, A, before, None, "bad", NOW)
            .await
            .unwrap();
        assert_eq!(done.action(), action, "{theirs}");
        assert_eq!(aws.alias(F, A).routing, theirs);
        assert_eq!(done.restored.outcome.routing, theirs);
        // The one write was refused on its RevisionId: the alias's last change is still theirs.
        assert_eq!(aws.calls(Op::WriteAlias), 1);
        assert_eq!(
            aws.changes(F, A).pop().unwrap().source,
            crate::fake::ChangeSource::OutOfBand
        );
    }
}

#[tokio::test]
async fn a_gone_owner_ends_rolled_back_notified_and_without_its_lease() {
    let aws = weighted();
    let owner = held_by_a_gone_rollout(&aws).await;
    assert!(owner.rollout.is_some(), "found in the alias's records");
    let before = read(&aws).await;
    let done = abort_unowned(&aws, F, A, before, Some(&owner), "bad deploy", NOW)
        .await
        .unwrap();
    assert_eq!(done.action(), RollbackAction::Restored);
    assert_eq!(done.recorded, Some(RolloutStatus::RolledBack));
    assert!(done.notify_error.is_none());
    assert_eq!(aws.alias(F, A).routing, Routing::single("1"));
    assert_eq!(aws.lease(F, A), None);
    let record = aws.record_of("r-1").unwrap();
    let reason = "aborted by an operator: bad deploy (its process is gone); shifter abort restored version 1 alone";
    assert_eq!(
        (record.status, record.reason.as_deref(), record.ended_ms),
        (RolloutStatus::RolledBack, Some(reason), Some(NOW))
    );
    assert_eq!(record.weight_bps, 0);
    // The notification every rollback path sends for an operator's abort.
    let sent = aws.notifications();
    assert_eq!(sent.len(), 1);
    let (topic, n) = &sent[0];
    assert_eq!(topic, TOPIC);
    assert_eq!(n.event_type, EventType::RolledBack);
    assert_eq!(n.reason.as_deref(), Some(reason));
    assert_eq!(n.weight_percent, 0.0);
}

#[tokio::test]
async fn a_gone_owners_alias_changed_in_between_is_left_alone_and_recorded_so() {
    let aws = weighted();
    let owner = held_by_a_gone_rollout(&aws).await;
    let before = read(&aws).await;
    aws.force_alias(F, A, Routing::split("1", "2", 5000));
    let done = abort_unowned(&aws, F, A, before, Some(&owner), "bad", NOW)
        .await
        .unwrap();
    assert_eq!(done.action(), RollbackAction::LeftAlone);
    assert_eq!(done.recorded, Some(RolloutStatus::LeftAlone));
    assert_eq!(aws.alias(F, A).routing, Routing::split("1", "2", 5000));
    assert_eq!(aws.lease(F, A), None);
    let record = aws.record_of("r-1").unwrap();
    assert_eq!(record.status, RolloutStatus::LeftAlone);
    assert!(
        record.reason.as_deref().unwrap().contains("left alone"),
        "{record:?}"
    );
    let (_, n) = aws.notifications().pop().unwrap();
    assert_eq!(
        (n.event_type, n.error_type.as_deref()),
        (EventType::RolloutFailed, Some("AliasChanged"))
    );
}

#[tokio::test]
async fn an_aws_error_leaves_the_registry_as_it_was_so_the_abort_can_run_again() {
    let aws = weighted();
    let owner = held_by_a_gone_rollout(&aws).await;
    let before = read(&aws).await;
    let denied = Error::AwsRejected {
        operation: "UpdateAlias".into(),
        message: "AccessDeniedException".into(),
    };
    aws.fail_next(Op::WriteAlias, denied, 1);
    let err = abort_unowned(&aws, F, A, before, Some(&owner), "bad", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AwsRejected { .. }), "{err:?}");
    assert_eq!(aws.alias(F, A).routing, Routing::split("1", "2", 1000));
    assert!(aws.lease(F, A).is_some());
    assert_eq!(aws.record_of("r-1").unwrap().status, RolloutStatus::Running);
    assert!(aws.notifications().is_empty());
}

#[tokio::test]
async fn a_gone_owner_without_a_record_still_gives_its_lease_back() {
    let aws = weighted();
    let lease = Lease {
        function_name: F.into(),
        alias: A.into(),
        rollout_id: "r-lost".into(),
        ..Lease::default()
    };
    aws.put_lease(lease.clone());
    let owner = GoneOwner::of_lease(&aws, &lease, "gone".into()).await;
    assert_eq!(owner.rollout, None);
    let before = read(&aws).await;
    let done = abort_unowned(&aws, F, A, before, Some(&owner), "bad", NOW)
        .await
        .unwrap();
    assert_eq!(done.action(), RollbackAction::Restored);
    assert_eq!(done.recorded, None);
    assert_eq!(aws.lease(F, A), None);
}

#[tokio::test]
async fn a_gone_rollout_cloudformation_started_gets_its_stack_answered_failed() {
    let aws = weighted();
    let to = crate::custom_resource::StackReply {
        response_url: "https://s3.example/signed".into(),
        stack_id: "stack".into(),
        request_id: "req-1".into(),
        logical_resource_id: "Live".into(),
        physical_resource_id: "arn:aws:lambda:us-east-1:123456789012:function:orders:live".into(),
    };
    let owner = held_by_a_gone_rollout_answering(&aws, Some(to)).await;
    let before = read(&aws).await;
    abort_unowned(&aws, F, A, before, Some(&owner), "bad build", NOW)
        .await
        .unwrap();
    assert_eq!(aws.alias(F, A).routing, Routing::single("1"));
    let puts = aws.reply_puts();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].0, "https://s3.example/signed");
    let body: serde_json::Value = serde_json::from_str(&puts[0].1).unwrap();
    assert_eq!(body["Status"], "FAILED");
    let reason = body["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with("Aborted: aborted by an operator: bad build"),
        "{reason}"
    );
    assert_eq!(body["Data"]["Version"], "1");
}
