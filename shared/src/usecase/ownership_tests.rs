//! Rollback restores only what this rollout could have written, and a check sees an alarm that fired and
//! cleared between two reads.

use serde_json::json;

use super::*;
use crate::domain::{AlarmState, Routing};
use crate::fake::{sample, FakeAws, FakeClock, Op};
use crate::ports::Clock;
use crate::request::RolloutRequest;
use crate::rollout::Rollout;

const F: &str = sample::FUNCTION;
const A: &str = sample::ALIAS;

async fn prepared(aws: &FakeAws, clock: &FakeClock, strategy: serde_json::Value) -> Rollout {
    let req = json!({"functionName": F, "alias": A, "targetVersion": "2", "strategy": strategy,
        "alarms": [sample::ALARM]});
    let spec = RolloutRequest::from_value(req).unwrap().validate().unwrap();
    prepare(aws, clock, &spec, "r-own").await.unwrap()
}

#[tokio::test]
async fn an_operators_change_with_the_same_versions_is_left_alone() {
    // Nothing written yet (a failed pre-traffic hook, an unhealthy first check): a manual promote and a manual
    // 50% split use this rollout's two versions, but neither is this rollout's.
    for theirs in [Routing::single("2"), Routing::split("1", "2", 5000)] {
        let aws = FakeAws::sample();
        let r = prepared(
            &aws,
            &FakeClock::default(),
            json!("Canary10Percent5Minutes"),
        )
        .await;
        aws.force_alias(F, A, theirs.clone());
        for in_flight in [false, true] {
            let out = rollback(&aws, &r, in_flight).await.unwrap();
            assert_eq!(
                out.action,
                RollbackAction::LeftAlone,
                "{theirs} {in_flight}"
            );
            assert_eq!(aws.alias(F, A).routing, theirs);
        }
        assert_eq!(aws.calls(Op::WriteAlias), 0);
    }
    // After a shift to 10%, an operator's 50% split is theirs too.
    let aws = FakeAws::sample();
    let r = prepared(
        &aws,
        &FakeClock::default(),
        json!("Canary10Percent5Minutes"),
    )
    .await;
    let r = shift_traffic(&aws, &r).await.unwrap();
    aws.force_alias(F, A, Routing::split("1", "2", 5000));
    let out = rollback(&aws, &r, true).await.unwrap();
    assert_eq!(out.action, RollbackAction::LeftAlone);
}

#[tokio::test]
async fn what_the_rollout_wrote_or_may_have_written_is_restored() {
    // Its own last write: the RevisionId matches.
    let aws = FakeAws::sample();
    let r = prepared(
        &aws,
        &FakeClock::default(),
        json!("Canary10Percent5Minutes"),
    )
    .await;
    let shifted = shift_traffic(&aws, &r).await.unwrap();
    assert_eq!(
        rollback(&aws, &shifted, false).await.unwrap().action,
        RollbackAction::Restored
    );

    // A write whose answer was lost: the state still says 0%, the alias is at the plan's next step (10%).
    // Only counted when the caller says a write may have been in flight.
    let aws = FakeAws::sample();
    let r = prepared(
        &aws,
        &FakeClock::default(),
        json!("Canary10Percent5Minutes"),
    )
    .await;
    shift_traffic(&aws, &r).await.unwrap();
    assert_eq!(
        rollback(&aws, &r, false).await.unwrap().action,
        RollbackAction::LeftAlone
    );
    assert_eq!(
        rollback(&aws, &r, true).await.unwrap().action,
        RollbackAction::Restored
    );
    assert_eq!(aws.alias(F, A).routing, Routing::single("1"));

    // Finalize's write lost: the next step is 100%.
    let aws = FakeAws::sample();
    let r = prepared(&aws, &FakeClock::default(), json!("AllAtOnce")).await;
    finalize(&aws, &r).await.unwrap();
    assert_eq!(
        rollback(&aws, &r, true).await.unwrap().action,
        RollbackAction::Restored
    );
}

#[tokio::test]
async fn an_alarm_that_fires_and_clears_between_checks_is_unhealthy() {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    aws.use_clock(&clock);
    let mut r = prepared(&aws, &clock, json!("Canary10Percent5Minutes")).await;
    let now = clock.now_millis();
    assert!(check_health(&aws, &r, now).await.unwrap().healthy);
    r.checked_ms = now;
    // Mid-bake the alarm fires, then clears before the next read.
    clock.advance(std::time::Duration::from_secs(30));
    aws.set_alarm(sample::ALARM, AlarmState::Alarm);
    clock.advance(std::time::Duration::from_secs(30));
    aws.set_alarm(sample::ALARM, AlarmState::Ok);
    clock.advance(std::time::Duration::from_secs(30));
    let history_reads = aws.calls(Op::AlarmHistory);
    let v = check_health(&aws, &r, clock.now_millis()).await.unwrap();
    assert!(!v.healthy, "{v:?}");
    assert_eq!(v.cleared, vec![sample::ALARM.to_string()]);
    assert_eq!(aws.calls(Op::AlarmHistory), history_reads + 1);
}

#[tokio::test]
async fn history_is_read_only_for_alarms_that_changed_since_the_last_check() {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    aws.use_clock(&clock);
    // A flicker BEFORE the rollout's last check does not count: that check already judged it.
    aws.set_alarm(sample::ALARM, AlarmState::Alarm);
    aws.set_alarm(sample::ALARM, AlarmState::Ok);
    clock.advance(std::time::Duration::from_secs(5));
    let mut r = prepared(&aws, &clock, json!("Canary10Percent5Minutes")).await;
    r.checked_ms = clock.now_millis();
    clock.advance(std::time::Duration::from_secs(60));
    let v = check_health(&aws, &r, clock.now_millis()).await.unwrap();
    assert!(v.healthy, "{v:?}");
    assert_eq!(
        aws.calls(Op::AlarmHistory),
        0,
        "no change since the last check: one call"
    );
    // A change that did not go through ALARM (INSUFFICIENT_DATA -> OK) reads the history and passes.
    aws.set_alarm(sample::ALARM, AlarmState::InsufficientData);
    aws.set_alarm(sample::ALARM, AlarmState::Ok);
    let v = check_health(&aws, &r, clock.now_millis()).await.unwrap();
    assert!(v.healthy, "{v:?}");
    assert_eq!(aws.calls(Op::AlarmHistory), 1);
}
