//! The alias's lease over the fake registry: one owner at a time, takeover only of a holder that no longer
//! runs, and a record that follows the rollout to its end.

use std::time::Duration;

use serde_json::json;

use super::lease;
use super::prepare;
use crate::error::Error;
use crate::fake::{sample, FakeAws, FakeClock, Op};
use crate::ports::Clock;
use crate::registry::{Lease, RolloutJournal, RolloutStatus};
use crate::request::RolloutRequest;
use crate::rollout::Rollout;

const F: &str = sample::FUNCTION;
const A: &str = sample::ALIAS;

async fn prepared(aws: &FakeAws, clock: &FakeClock, id: &str, execution: Option<&str>) -> Rollout {
    let req = json!({"functionName": F, "alias": A, "targetVersion": "2", "strategy": "Canary10Percent5Minutes"});
    let spec = RolloutRequest::from_value(req).unwrap().validate().unwrap();
    let mut r = prepare(aws, clock, &spec, id).await.unwrap();
    r.execution_arn = execution.map(str::to_string);
    r
}

fn arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:execution:shifter-rollout:{name}")
}

#[tokio::test]
async fn the_lease_is_taken_once_and_a_second_rollout_is_busy() {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    let first = prepared(&aws, &clock, "r-1", Some(&arn("r-1"))).await;
    aws.set_execution(&arn("r-1"), true);
    lease::take(&aws, &clock, &first).await.unwrap();
    // A retried Prepare of the same rollout takes it again.
    lease::take(&aws, &clock, &first).await.unwrap();
    let second = prepared(&aws, &clock, "r-2", Some(&arn("r-2"))).await;
    let err = lease::take(&aws, &clock, &second).await.unwrap_err();
    assert!(matches!(err, Error::AliasBusy { .. }), "{err:?}");
    assert!(
        err.to_string().contains("r-1") && err.to_string().contains(&arn("r-1")),
        "{err}"
    );
    assert_eq!(aws.lease(F, A).unwrap().rollout_id, "r-1");
    assert_eq!(aws.record_of("r-1").unwrap().status, RolloutStatus::Running);
    assert!(
        aws.record_of("r-2").is_none(),
        "a refused rollout leaves no record"
    );
    assert_eq!(aws.calls(Op::WriteAlias), 0);
}

#[tokio::test]
async fn a_lease_whose_execution_ended_is_taken_over() {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    let dead = Lease {
        function_name: F.into(),
        alias: A.into(),
        rollout_id: "r-old".into(),
        execution_arn: Some(arn("r-old")),
        started_ms: 1,
        lease_until_ms: u64::MAX,
        ..Default::default()
    };
    aws.put_lease(dead.clone());
    aws.set_execution(&arn("r-old"), false);
    let old = prepared(&aws, &clock, "r-old", Some(&arn("r-old"))).await;
    aws.record(&crate::registry::RolloutRecord::of(
        &old,
        RolloutStatus::Running,
        1,
    ))
    .await
    .unwrap();
    let r = prepared(&aws, &clock, "r-new", Some(&arn("r-new"))).await;
    lease::take(&aws, &clock, &r).await.unwrap();
    assert_eq!(aws.lease(F, A).unwrap().rollout_id, "r-new");
    let abandoned = aws.record_of("r-old").unwrap();
    assert_eq!(
        abandoned.status,
        RolloutStatus::Abandoned,
        "no longer listed as running"
    );
    assert!(abandoned.reason.unwrap().contains("r-new"));

    // Still running: busy, and the holder keeps it.
    let aws = FakeAws::sample();
    aws.put_lease(dead);
    aws.set_execution(&arn("r-old"), true);
    let r = prepared(&aws, &clock, "r-new", Some(&arn("r-new"))).await;
    assert!(lease::take(&aws, &clock, &r).await.is_err());
    assert_eq!(aws.lease(F, A).unwrap().rollout_id, "r-old");
}

#[tokio::test]
async fn a_local_lease_is_taken_over_only_once_it_has_expired() {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    let local = prepared(&aws, &clock, "r-local", None).await;
    lease::take(&aws, &clock, &local).await.unwrap();
    let until = aws.lease(F, A).unwrap().lease_until_ms;
    assert!(until >= clock.now_millis() + 300_000 + lease::LOCAL_LEASE_SLACK.as_millis() as u64);
    let other = prepared(&aws, &clock, "r-other", None).await;
    assert!(
        lease::take(&aws, &clock, &other).await.is_err(),
        "its process may still run"
    );
    clock.advance(Duration::from_millis(until - clock.now_millis() + 1));
    lease::take(&aws, &clock, &other).await.unwrap();
    assert_eq!(aws.lease(F, A).unwrap().rollout_id, "r-other");
}

#[tokio::test]
async fn finishing_records_the_end_and_releases_only_its_own_lease() {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    let r = prepared(&aws, &clock, "r-1", None).await;
    lease::take(&aws, &clock, &r).await.unwrap();
    lease::finish(
        &aws,
        &r,
        RolloutStatus::RolledBack,
        Some("alarm(s) firing: x"),
        42,
    )
    .await;
    assert!(aws.lease(F, A).is_none());
    let record = aws.record_of("r-1").unwrap();
    assert_eq!(record.status, RolloutStatus::RolledBack);
    assert_eq!(
        (record.ended_ms, record.reason.as_deref()),
        (Some(42), Some("alarm(s) firing: x"))
    );
    // Finishing another rollout's record never frees a lease it does not hold.
    let holder = prepared(&aws, &clock, "r-2", None).await;
    lease::take(&aws, &clock, &holder).await.unwrap();
    lease::finish(&aws, &r, RolloutStatus::Failed, None, 43).await;
    assert_eq!(aws.lease(F, A).unwrap().rollout_id, "r-2");
}

#[tokio::test]
async fn a_failing_registry_never_fails_the_end_of_a_rollout() {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    let r = prepared(&aws, &clock, "r-1", None).await;
    lease::take(&aws, &clock, &r).await.unwrap();
    let throttled = Error::Transient {
        operation: "PutItem".into(),
        message: "ProvisionedThroughputExceededException".into(),
    };
    aws.fail_next(Op::Journal, throttled.clone(), 2);
    // Every attempt at the release fails: the registry is down to the end.
    aws.fail_next(Op::Lease, throttled, lease::FINISH_ATTEMPTS);
    lease::progress(&aws, &r, 1, None).await;
    lease::finish(&aws, &r, RolloutStatus::Promoted, None, 2).await;
    assert!(
        aws.lease(F, A).is_some(),
        "left for the next rollout's takeover check"
    );
}

#[tokio::test]
async fn progress_records_when_the_bake_ends() {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    let r = prepared(&aws, &clock, "r-1", None).await;
    lease::progress(&aws, &r, 1_000, Some(Duration::from_secs(300))).await;
    assert_eq!(aws.record_of("r-1").unwrap().bake_ends_ms, Some(301_000));
    // No bake (the final step, or a step that bakes 0 s): nothing to count down.
    lease::progress(&aws, &r, 2_000, Some(Duration::ZERO)).await;
    assert_eq!(aws.record_of("r-1").unwrap().bake_ends_ms, None);
    lease::progress(&aws, &r, 3_000, None).await;
    assert_eq!(aws.record_of("r-1").unwrap().bake_ends_ms, None);
}

#[tokio::test]
async fn a_local_rollout_that_checks_in_records_its_interval_and_each_check_in() {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    let r = prepared(&aws, &clock, "r-1", None).await;
    lease::take_checking_in(&aws, &clock, &r, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    let lease = aws.lease(F, A).unwrap();
    assert_eq!(
        (lease.check_interval_ms, lease.checked_in_ms),
        (Some(5000), Some(clock.now_millis()))
    );
    use crate::registry::control::{LeaseKey, RolloutControl};
    let seen = aws.check_in(&LeaseKey::of(&r), 77).await.unwrap().unwrap();
    assert_eq!(seen.checked_in_ms, Some(77));
    assert_eq!(aws.lease(F, A).unwrap().checked_in_ms, Some(77));
    // Only the holder checks in.
    let other = LeaseKey {
        rollout_id: "r-other".into(),
        ..LeaseKey::of(&r)
    };
    assert_eq!(aws.check_in(&other, 88).await.unwrap(), None);
    assert_eq!(aws.lease(F, A).unwrap().checked_in_ms, Some(77));
    // The state machine's lease records neither.
    let machine = prepared(&aws, &clock, "r-2", Some(&arn("r-2"))).await;
    lease::finish(&aws, &r, RolloutStatus::RolledBack, None, 1).await;
    lease::take(&aws, &clock, &machine).await.unwrap();
    let lease = aws.lease(F, A).unwrap();
    assert_eq!((lease.check_interval_ms, lease.checked_in_ms), (None, None));
}

#[test]
fn a_silent_local_rollout_is_given_two_intervals_and_the_retries_of_a_check_and_a_shift() {
    let with = |interval_ms: Option<u64>| Lease {
        check_interval_ms: interval_ms,
        ..Lease::default()
    };
    // Advance retries after 2, 4, 8 and 16 s: 30 s, once for the check and once for the shift.
    assert_eq!(
        crate::retry::rule("Advance").total_delay(),
        Duration::from_secs(30)
    );
    assert_eq!(
        lease::check_in_grace(&with(Some(1000))),
        Duration::from_secs(62)
    );
    assert_eq!(
        lease::check_in_grace(&with(Some(60_000))),
        Duration::from_secs(180)
    );
    // A lease that does not say (written by an older shifter): --check-interval's default, 10 s.
    assert_eq!(lease::check_in_grace(&with(None)), Duration::from_secs(80));
}

fn throttled() -> Error {
    Error::Transient {
        operation: "PutItem".into(),
        message: "ProvisionedThroughputExceededException".into(),
    }
}

#[tokio::test]
async fn a_take_that_fails_after_the_lease_was_written_gives_it_back() {
    // Found by the fault matrix: the record after the lease failed, and the refused rollout kept the alias.
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    let r = prepared(&aws, &clock, "r-1", None).await;
    aws.fail_next(Op::Journal, throttled(), 1);
    let err = lease::take(&aws, &clock, &r).await.unwrap_err();
    assert_eq!(err.error_type(), "Transient");
    assert!(aws.lease(F, A).is_none(), "the lease was given back");
    // A busy alias is never released by the rollout that found it busy.
    lease::take(&aws, &clock, &r).await.unwrap();
    let other = prepared(&aws, &clock, "r-2", None).await;
    let busy = lease::take(&aws, &clock, &other).await.unwrap_err();
    assert_eq!(busy.error_type(), "AliasBusy");
    assert_eq!(aws.lease(F, A).unwrap().rollout_id, "r-1");
}

#[tokio::test]
async fn finishing_retries_a_throttled_release() {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    let r = prepared(&aws, &clock, "r-1", None).await;
    lease::take(&aws, &clock, &r).await.unwrap();
    aws.fail_next(Op::Lease, throttled(), lease::FINISH_ATTEMPTS - 1);
    lease::finish(&aws, &r, RolloutStatus::Promoted, None, clock.now_millis()).await;
    assert!(aws.lease(F, A).is_none());
    assert_eq!(
        aws.record_of("r-1").unwrap().status,
        RolloutStatus::Promoted
    );
}
