//! `shifter abort FUNCTION:ALIAS` when no live rollout owns the alias, over the stateful fake: no lease, a
//! lease whose execution has ended, a local rollout that stops checking in (and one that does not), the
//! fence, and without a registry. Every message is pinned (`snapshots/`).

use std::time::Duration;

use serde_json::json;
use shifter::domain::Routing;
use shifter::fake::{ChangeSource, FakeAws, FakeClock, Op};
use shifter::notification::EventType;
use shifter::ports::Clock;
use shifter::registry::control::{LeaseKey, RolloutControl};
use shifter::registry::{Lease, RolloutJournal, RolloutRecord, RolloutStatus};
use shifter::rollout::Rollout;
use shifter::usecase::lease;

use crate::args::OutputFormat;
use crate::commands::abort::{abort, Abort, POLL};
use crate::commands::fixture::{running, Driver, NOW};
use crate::render::Captured;
use crate::test_support::{aws_with_alias, FakeApi, ARN};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:rollouts";

fn request(format: OutputFormat) -> Abort<'static> {
    Abort {
        target: "orders:live",
        reason: "bad deploy".into(),
        timeout: Duration::from_secs(300),
        poll: POLL,
        format,
        registry: true,
        unowned: false,
    }
}

/// Runs `abort`: (exit code, stdout, stderr).
async fn aborted(aws: &FakeAws, clock: &FakeClock, request: &Abort<'_>) -> (i32, String, String) {
    let (out, err) = (Captured::default(), Captured::default());
    let api = FakeApi::new(vec![]);
    let code = abort(aws, &api, clock, request, &mut out.sink(), &mut err.sink()).await;
    assert!(
        api.stops().is_empty(),
        "never StopExecution for FUNCTION:ALIAS"
    );
    (code, out.text(), err.text())
}

/// `exit N`, stdout and stderr, for a snapshot.
fn shown((code, out, err): &(i32, String, String)) -> String {
    format!("exit {code}\n--- stdout\n{out}--- stderr\n{err}")
}

/// The fixture's rollout, recorded again with a topic to notify.
async fn with_topic(aws: &FakeAws, r: &mut Rollout) {
    aws.add_topic(TOPIC);
    r.notification_topic_arn = Some(TOPIC.into());
    aws.record(&RolloutRecord::of(r, RolloutStatus::Running, NOW))
        .await
        .unwrap();
}

/// Routing the alias took through UpdateAlias (shifter's writes), in order.
fn writes(aws: &FakeAws) -> Vec<Routing> {
    aws.changes("orders", "live")
        .into_iter()
        .filter(|c| c.source == ChangeSource::UpdateAlias)
        .map(|c| c.routing)
        .collect()
}

#[tokio::test]
async fn a_weighted_alias_that_no_rollout_owns_is_restored_from_here() {
    // Before this, the answer was exit 2 "no rollout is running on orders:live", and the alias stayed weighted.
    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    let clock = FakeClock::new(NOW);
    let got = aborted(&aws, &clock, &request(OutputFormat::Text)).await;
    insta::assert_snapshot!("abort_no_owner_restored", shown(&got));
    assert_eq!(got.0, 0);
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("1"));
    assert_eq!(writes(&aws), [Routing::single("1")]);
    assert!(clock.sleeps().is_empty(), "nothing to wait for");
    assert!(aws.lease("orders", "live").is_none());

    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    let (code, out, err) = aborted(&aws, &clock, &request(OutputFormat::Json)).await;
    assert_eq!((code, err.as_str()), (0, ""));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc,
        json!({"path": "unowned", "functionName": "orders", "alias": "live", "reason": "bad deploy",
               "owner": null, "weighted": true,
               "routingBefore": {"functionVersion": "1",
                                 "additionalVersion": {"version": "2", "weightPercent": 10.0}},
               "routing": {"functionVersion": "1", "additionalVersion": null},
               "aliasRestored": true, "aliasChanged": true, "aliasLeftAlone": false,
               "status": null, "error": null})
    );
}

#[tokio::test]
async fn an_alias_that_is_not_weighted_says_so_and_changes_nothing() {
    let aws = aws_with_alias(Routing::single("2"));
    let clock = FakeClock::new(NOW);
    let got = aborted(&aws, &clock, &request(OutputFormat::Text)).await;
    insta::assert_snapshot!("abort_no_owner_not_weighted", shown(&got));
    assert_eq!(got.0, 2);
    assert_eq!(aws.calls(Op::WriteAlias), 0);
    let (code, out, _) = aborted(&aws, &clock, &request(OutputFormat::Json)).await;
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, 2);
    assert_eq!(
        (
            &doc["weighted"],
            &doc["aliasRestored"],
            &doc["aliasChanged"]
        ),
        (&json!(false), &json!(false), &json!(false))
    );
    assert!(doc["error"]
        .as_str()
        .unwrap()
        .starts_with("orders:live is not weighted"));
}

#[tokio::test]
async fn a_change_between_the_read_and_the_fenced_write_is_left_alone() {
    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    // Someone else moves the alias to 50% right after abort has read it.
    aws.force_alias_after_next_read("orders", "live", Routing::split("1", "2", 5000));
    let clock = FakeClock::new(NOW);
    let got = aborted(&aws, &clock, &request(OutputFormat::Text)).await;
    insta::assert_snapshot!("abort_no_owner_left_alone", shown(&got));
    assert_eq!(got.0, 3);
    assert_eq!(
        aws.alias("orders", "live").routing,
        Routing::split("1", "2", 5000)
    );
    assert!(writes(&aws).is_empty(), "the one write was refused");
    assert_eq!(aws.calls(Op::WriteAlias), 1);
}

#[tokio::test]
async fn without_a_registry_only_unowned_restores_the_alias() {
    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    let clock = FakeClock::new(NOW);
    let mut req = request(OutputFormat::Text);
    req.registry = false;
    let refused = aborted(&aws, &clock, &req).await;
    insta::assert_snapshot!("abort_no_table", shown(&refused));
    assert_eq!(refused.0, 2);
    assert_eq!(aws.calls(Op::ReadAlias) + aws.calls(Op::WriteAlias), 0);
    req.unowned = true;
    let (code, out, err) = aborted(&aws, &clock, &req).await;
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "restored orders:live to version 1 alone (it routed version 1 90% + version 2 10%, and no live rollout owned it)\n"
    );
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("1"));
    // No registry: nothing read there.
    assert_eq!(aws.calls(Op::Control) + aws.calls(Op::Journal), 0);
}

#[tokio::test]
async fn a_lease_whose_execution_has_ended_is_taken_over_at_once() {
    let (aws, mut r) = running(Driver::Machine, None).await;
    with_topic(&aws, &mut r).await;
    aws.set_execution(ARN, false);
    let clock = FakeClock::new(NOW);
    let got = aborted(&aws, &clock, &request(OutputFormat::Text)).await;
    insta::assert_snapshot!("abort_execution_ended", shown(&got));
    assert_eq!(got.0, 0);
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("1"));
    assert!(clock.sleeps().is_empty());
    // Nothing posted to a rollout that cannot act on it; its lease given back, its record ended.
    assert!(aws.lease("orders", "live").is_none());
    let record = aws.record_of("r-1").unwrap();
    assert_eq!(record.status, RolloutStatus::RolledBack);
    assert_eq!(
        record.reason.as_deref(),
        Some("aborted by an operator: bad deploy (its execution no longer runs); shifter abort restored version 1 alone")
    );
    let sent = aws.notifications();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, TOPIC);
    assert_eq!(sent[0].1.event_type, EventType::RolledBack);
}

/// The local fixture, its lease saying it checks in every second (last at NOW).
async fn local_checking_in(aws: &FakeAws) {
    let mut lease = aws.lease("orders", "live").unwrap();
    lease.check_interval_ms = Some(1000);
    lease.checked_in_ms = Some(NOW);
    aws.put_lease(lease);
}

#[tokio::test]
async fn a_local_rollout_that_stops_checking_in_is_taken_over_after_its_grace() {
    let (aws, mut r) = running(Driver::Local, None).await;
    with_topic(&aws, &mut r).await;
    local_checking_in(&aws).await;
    let grace = lease::check_in_grace(&aws.lease("orders", "live").unwrap());
    assert_eq!(grace, Duration::from_secs(62));
    let clock = FakeClock::new(NOW);
    let got = aborted(&aws, &clock, &request(OutputFormat::Text)).await;
    insta::assert_snapshot!("abort_local_gone", shown(&got));
    assert_eq!(got.0, 0);
    // It waited out the grace, a poll at a time, then restored the alias itself.
    assert_eq!(clock.total_slept(), grace);
    assert!(clock.sleeps().iter().all(|s| *s == POLL));
    assert_eq!(writes(&aws), [Routing::single("1")]);
    assert!(aws.lease("orders", "live").is_none());
    let record = aws.record_of("r-1").unwrap();
    assert_eq!(record.status, RolloutStatus::RolledBack);
    assert_eq!(aws.notifications()[0].1.event_type, EventType::RolledBack);

    // JSON: the abort posted, then the takeover, in one object.
    let (aws, _) = running(Driver::Local, None).await;
    local_checking_in(&aws).await;
    let clock = FakeClock::new(NOW);
    let (code, out, err) = aborted(&aws, &clock, &request(OutputFormat::Json)).await;
    assert_eq!((code, err.as_str()), (0, ""));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            &doc["command"],
            &doc["delivery"],
            &doc["path"],
            &doc["status"]
        ),
        (
            &json!("abort"),
            &json!("recorded"),
            &json!("unowned"),
            &json!("RolledBack")
        )
    );
    assert_eq!(doc["owner"]["rolloutId"], "r-1");
    assert_eq!(
        doc["owner"]["why"],
        "its process stopped checking in on the lease: none for 1m02s, it checks in every 1s"
    );
}

#[tokio::test]
async fn a_local_rollout_that_checks_in_is_never_taken_over() {
    let (aws, r) = running(Driver::Local, None).await;
    local_checking_in(&aws).await;
    let clock = FakeClock::new(NOW);
    // The rollout is alive: it checks in every second, and acts on the abort only after 90 s (longer than
    // its grace: a slow rollback, say), as the only writer of the alias.
    let live = {
        let (aws, clock, r) = (aws.clone(), clock.clone(), r.clone());
        tokio::spawn(async move {
            let mut last = NOW;
            while clock.now_millis() < NOW + 90_000 {
                if clock.now_millis() >= last + 1000 {
                    last = clock.now_millis();
                    aws.check_in(&LeaseKey::of(&r), last).await.unwrap();
                }
                tokio::task::yield_now().await;
            }
            let _ = shifter::usecase::rollback(&aws, &r, false).await;
            lease::finish(
                &aws,
                &r,
                RolloutStatus::RolledBack,
                Some("aborted by an operator: bad deploy"),
                clock.now_millis(),
            )
            .await;
        })
    };
    let (code, out, err) = aborted(&aws, &clock, &request(OutputFormat::Text)).await;
    live.await.unwrap();
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(out.ends_with("rollout r-1 ended RolledBack (aborted by an operator: bad deploy): orders:live serves version 1 alone\n"), "{out}");
    assert!(!out.contains("restoring"), "{out}");
    assert_eq!(
        writes(&aws),
        [Routing::single("1")],
        "the rollout's own rollback, once"
    );
    assert!(clock.total_slept() >= Duration::from_secs(90));
}

#[tokio::test]
async fn a_gone_local_rollouts_alias_that_is_not_weighted_is_left_with_its_lease() {
    // Killed before its first shift (or during a long pre-traffic hook: it may still run).
    let (aws, _) = running(Driver::Local, None).await;
    aws.force_alias("orders", "live", Routing::single("1"));
    local_checking_in(&aws).await;
    let clock = FakeClock::new(NOW);
    let got = aborted(&aws, &clock, &request(OutputFormat::Text)).await;
    insta::assert_snapshot!("abort_local_gone_not_weighted", shown(&got));
    assert_eq!(got.0, 2);
    assert!(writes(&aws).is_empty());
    let lease = aws.lease("orders", "live").unwrap();
    assert_eq!(lease.rollout_id, "r-1");
    assert!(matches!(
        lease.command,
        Some(shifter::registry::control::Command::Abort { .. })
    ));
    assert_eq!(aws.record_of("r-1").unwrap().status, RolloutStatus::Running);
}

#[tokio::test]
async fn an_expired_local_lease_is_taken_over_without_waiting() {
    let (aws, _) = running(Driver::Local, None).await;
    aws.put_lease(Lease {
        lease_until_ms: NOW - 1,
        ..aws.lease("orders", "live").unwrap()
    });
    let clock = FakeClock::new(NOW);
    let (code, out, _) = aborted(&aws, &clock, &request(OutputFormat::Text)).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with(
            "rollout r-1 (local): its local lease has expired; restoring orders:live from here\n"
        ),
        "{out}"
    );
    assert!(clock.sleeps().is_empty());
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("1"));
}

#[tokio::test]
async fn a_failed_restore_records_nothing_and_says_to_try_again() {
    let (aws, _) = running(Driver::Machine, None).await;
    aws.set_execution(ARN, false);
    let denied = shifter::Error::AwsRejected {
        operation: "UpdateAlias".into(),
        message: "AccessDeniedException: not authorized to perform lambda:UpdateAlias".into(),
    };
    aws.fail_next(Op::WriteAlias, denied, 1);
    let clock = FakeClock::new(NOW);
    let got = aborted(&aws, &clock, &request(OutputFormat::Text)).await;
    insta::assert_snapshot!("abort_takeover_failed", shown(&got));
    assert_eq!(got.0, 1);
    assert!(aws.lease("orders", "live").is_some());
    assert_eq!(aws.record_of("r-1").unwrap().status, RolloutStatus::Running);
}
