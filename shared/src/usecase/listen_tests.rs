//! Rollouts that listen, over the fake: waits, alarm events and commands meeting on the lease, in every
//! order they can arrive.

use serde_json::json;

use super::lease;
use super::listen::{self, WaitOutcome};
use crate::domain::AlarmState;
use crate::error::Error;
use crate::fake::{canary_rollout, sample, FakeAws, FakeClock, Op};
use crate::registry::control::{
    AlarmSeen, Answer, Command, Delivery, WaitKind, ABORTED, ALARM_FIRED,
};
use crate::rollout::Rollout;

const T0: u64 = 1_800_000_000_000;

/// A canary at 10%, its lease taken and its last check at T0.
async fn running(aws: &FakeAws) -> Rollout {
    let clock = FakeClock::default();
    let mut r = canary_rollout();
    r.execution_arn = Some("arn:aws:states:us-east-1:123456789012:execution:m:r-1".into());
    r.started_ms = T0 - 60_000;
    r.checked_ms = T0;
    r.steps_done = 1;
    r.weight_bps = 1000;
    lease::take(aws, &clock, &r).await.unwrap();
    r
}

/// `running`, with a bake registered on `token` and listening.
async fn baking(aws: &FakeAws, token: &str) -> Rollout {
    let r = running(aws).await;
    aws.open_token(token);
    let out = listen::wait(aws, &r, WaitKind::Bake, token, T0 + 5)
        .await
        .unwrap();
    assert_eq!(out, WaitOutcome::Listening);
    r
}

fn seen(state: &str, at_ms: u64) -> AlarmSeen {
    AlarmSeen {
        name: sample::ALARM.into(),
        state: state.into(),
        at_ms,
    }
}

fn failed_with(answer: Option<Answer>) -> Option<&'static str> {
    match answer {
        Some(Answer::Fail { error, .. }) => Some(error),
        _ => None,
    }
}

#[tokio::test]
async fn a_quiet_wait_only_listens() {
    let aws = FakeAws::sample();
    let r = running(&aws).await;
    aws.open_token("t1");
    let out = listen::wait(&aws, &r, WaitKind::Bake, "t1", T0 + 5)
        .await
        .unwrap();
    assert_eq!(out, WaitOutcome::Listening);
    assert_eq!(aws.token_answer("t1"), None);
    assert_eq!(
        aws.lease(sample::FUNCTION, sample::ALIAS)
            .unwrap()
            .waiting
            .unwrap()
            .token,
        "t1"
    );
}

#[tokio::test]
async fn an_alarm_event_fails_the_bake_it_finds_waiting() {
    let aws = FakeAws::sample();
    baking(&aws, "t1").await;
    let out = listen::alarm_changed(&aws, &seen("ALARM", T0 + 10))
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].delivery, Some(Delivery::Delivered));
    assert_eq!(failed_with(aws.token_answer("t1")), Some(ALARM_FIRED));
    // Redelivered by EventBridge: the token is already answered; nothing breaks, nothing changes.
    let again = listen::alarm_changed(&aws, &seen("ALARM", T0 + 10))
        .await
        .unwrap();
    assert_eq!(again[0].delivery, Some(Delivery::AlreadyFinished));
    assert_eq!(
        aws.calls(Op::WriteAlias),
        0,
        "the watcher never writes the alias"
    );
}

#[tokio::test]
async fn an_alarm_between_the_shift_and_the_registration_is_acted_on_when_the_wait_registers() {
    // The watcher ran while Advance was still running: no token yet. It leaves the alarm on the lease.
    let aws = FakeAws::sample();
    let r = running(&aws).await;
    let out = listen::alarm_changed(&aws, &seen("ALARM", T0 + 2))
        .await
        .unwrap();
    assert_eq!(out[0].delivery, None);
    aws.open_token("t1");
    let out = listen::wait(&aws, &r, WaitKind::Bake, "t1", T0 + 5)
        .await
        .unwrap();
    assert!(
        matches!(out, WaitOutcome::Answered(ref why) if why.contains(sample::ALARM)),
        "{out:?}"
    );
    assert_eq!(failed_with(aws.token_answer("t1")), Some(ALARM_FIRED));
}

#[tokio::test]
async fn an_alarm_with_no_event_at_all_is_read_when_the_wait_registers() {
    let aws = FakeAws::sample();
    let r = running(&aws).await;
    aws.set_alarm(sample::ALARM, AlarmState::Alarm);
    aws.open_token("t1");
    listen::wait(&aws, &r, WaitKind::Bake, "t1", T0 + 5)
        .await
        .unwrap();
    assert_eq!(failed_with(aws.token_answer("t1")), Some(ALARM_FIRED));
}

#[tokio::test]
async fn an_alarm_event_from_before_the_last_check_or_the_rollout_is_not_acted_on_again() {
    let aws = FakeAws::sample();
    let r = running(&aws).await;
    // Seen before the last check (which judged it): the next bake does not fail on it again.
    listen::alarm_changed(&aws, &seen("ALARM", T0 - 1))
        .await
        .unwrap();
    aws.open_token("t1");
    let out = listen::wait(&aws, &r, WaitKind::Bake, "t1", T0 + 5)
        .await
        .unwrap();
    assert_eq!(out, WaitOutcome::Listening);
    // From before this rollout started: not this rollout's business at all.
    let out = listen::alarm_changed(&aws, &seen("ALARM", r.started_ms - 1))
        .await
        .unwrap();
    assert!(out.is_empty());
}

#[tokio::test]
async fn insufficient_data_fails_only_rollouts_that_say_so() {
    let aws = FakeAws::sample();
    let _ = running(&aws).await;
    aws.open_token("t1");
    let r = canary_rollout();
    let mut lease = aws.lease(&r.function_name, &r.alias).unwrap();
    lease.waiting = Some(crate::registry::control::Waiting {
        kind: WaitKind::Bake,
        token: "t1".into(),
        since_ms: T0,
    });
    aws.put_lease(lease);
    let out = listen::alarm_changed(&aws, &seen("INSUFFICIENT_DATA", T0 + 1))
        .await
        .unwrap();
    assert!(
        out.is_empty(),
        "the default policy counts INSUFFICIENT_DATA as healthy"
    );
    assert_eq!(aws.token_answer("t1"), None);
}

#[tokio::test]
async fn an_alarm_no_rollout_watches_costs_one_query() {
    let aws = FakeAws::sample();
    running(&aws).await;
    let before = aws.calls(Op::Control);
    let out = listen::alarm_changed(
        &aws,
        &AlarmSeen {
            name: "someone-elses".into(),
            state: "ALARM".into(),
            at_ms: T0 + 1,
        },
    )
    .await
    .unwrap();
    assert!(out.is_empty());
    assert_eq!(aws.calls(Op::Control), before);
}

#[tokio::test]
async fn promote_reaches_a_waiting_bake_at_once() {
    let aws = FakeAws::sample();
    baking(&aws, "t1").await;
    let out = listen::command(
        &aws,
        sample::FUNCTION,
        sample::ALIAS,
        &Command::Promote,
        T0 + 6,
    )
    .await
    .unwrap();
    assert_eq!(out.delivery, Some(Delivery::Delivered));
    assert_eq!(out.rollout_id, "r-1");
    assert_eq!(
        aws.token_answer("t1"),
        Some(Answer::Succeed(json!({"command": "promote"})))
    );
}

#[tokio::test]
async fn a_command_while_mid_task_waits_on_the_lease_for_the_next_wait() {
    let aws = FakeAws::sample();
    let r = running(&aws).await;
    // The bake's token already timed out (Advance is running): the answer is moot, the command stays.
    aws.open_token("t1");
    listen::wait(&aws, &r, WaitKind::Bake, "t1", T0 + 5)
        .await
        .unwrap();
    aws.time_out_token("t1");
    let pause = Command::Pause { max_seconds: 600 };
    let out = listen::command(&aws, sample::FUNCTION, sample::ALIAS, &pause, T0 + 6)
        .await
        .unwrap();
    assert_eq!(out.delivery, Some(Delivery::AlreadyFinished));
    aws.open_token("t2");
    listen::wait(&aws, &r, WaitKind::Bake, "t2", T0 + 7)
        .await
        .unwrap();
    assert_eq!(
        aws.token_answer("t2"),
        Some(Answer::Succeed(
            json!({"command": "pause", "pauseSeconds": 600})
        ))
    );
    // The pause that follows does not pause again; resume then reaches it.
    aws.open_token("t3");
    let out = listen::wait(&aws, &r, WaitKind::Pause, "t3", T0 + 8)
        .await
        .unwrap();
    assert_eq!(out, WaitOutcome::Listening);
    listen::command(
        &aws,
        sample::FUNCTION,
        sample::ALIAS,
        &Command::Resume,
        T0 + 9,
    )
    .await
    .unwrap();
    assert_eq!(
        aws.token_answer("t3"),
        Some(Answer::Succeed(json!({"command": "resume"})))
    );
    // And the bake after the resume does not act on the old resume.
    aws.open_token("t4");
    let out = listen::wait(&aws, &r, WaitKind::Bake, "t4", T0 + 10)
        .await
        .unwrap();
    assert_eq!(out, WaitOutcome::Listening);
}

#[tokio::test]
async fn alarms_still_roll_back_a_paused_rollout() {
    let aws = FakeAws::sample();
    let r = running(&aws).await;
    aws.open_token("p1");
    listen::wait(&aws, &r, WaitKind::Pause, "p1", T0 + 5)
        .await
        .unwrap();
    listen::alarm_changed(&aws, &seen("ALARM", T0 + 6))
        .await
        .unwrap();
    assert_eq!(failed_with(aws.token_answer("p1")), Some(ALARM_FIRED));
}

#[tokio::test]
async fn abort_fails_the_wait_and_a_late_answer_is_harmless() {
    let aws = FakeAws::sample();
    baking(&aws, "t1").await;
    let abort = Command::Abort {
        reason: "bad deploy".into(),
    };
    let out = listen::command(&aws, sample::FUNCTION, sample::ALIAS, &abort, T0 + 6)
        .await
        .unwrap();
    assert_eq!(out.delivery, Some(Delivery::Delivered));
    assert_eq!(failed_with(aws.token_answer("t1")), Some(ABORTED));
    // A second operator's promote arrives late, on a finished token.
    let out = listen::command(
        &aws,
        sample::FUNCTION,
        sample::ALIAS,
        &Command::Promote,
        T0 + 7,
    )
    .await
    .unwrap();
    assert_eq!(out.delivery, Some(Delivery::AlreadyFinished));
    assert_eq!(
        failed_with(aws.token_answer("t1")),
        Some(ABORTED),
        "the first answer stands"
    );
}

#[tokio::test]
async fn a_command_for_an_alias_with_no_rollout_says_so_and_writes_nothing() {
    let aws = FakeAws::sample();
    let err = listen::command(&aws, sample::FUNCTION, sample::ALIAS, &Command::Promote, T0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("no rollout is running on orders:live"),
        "{err}"
    );
    assert!(aws.lease(sample::FUNCTION, sample::ALIAS).is_none());
}

#[tokio::test]
async fn a_wait_whose_rollout_lost_its_lease_ends_aborted() {
    let aws = FakeAws::sample();
    let r = running(&aws).await;
    lease::finish(
        &aws,
        &r,
        crate::registry::RolloutStatus::Abandoned,
        None,
        T0,
    )
    .await;
    aws.open_token("t1");
    listen::wait(&aws, &r, WaitKind::Bake, "t1", T0 + 5)
        .await
        .unwrap();
    assert_eq!(failed_with(aws.token_answer("t1")), Some(ABORTED));
}

#[tokio::test]
async fn a_command_to_one_rollout_never_reaches_the_next_one_on_the_alias() {
    let aws = FakeAws::sample();
    let r = baking(&aws, "t1").await;
    let key = crate::registry::control::LeaseKey::of(&r);
    let out = listen::command_to(&aws, &key, &Command::Promote, T0 + 6)
        .await
        .unwrap();
    assert_eq!(
        (out.delivery, out.waiting),
        (Some(Delivery::Delivered), Some(WaitKind::Bake))
    );
    // r-1 ends; r-2 takes the alias. A command meant for r-1 is refused, and r-2's lease is untouched.
    lease::finish(
        &aws,
        &r,
        crate::registry::RolloutStatus::Promoted,
        None,
        T0 + 7,
    )
    .await;
    let next = Rollout {
        rollout_id: "r-2".into(),
        ..r.clone()
    };
    lease::take(&aws, &FakeClock::default(), &next)
        .await
        .unwrap();
    let err = listen::command_to(&aws, &key, &Command::Promote, T0 + 8)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("rollout r-1 is no longer running on orders:live"),
        "{err}"
    );
    let lease = aws.lease(sample::FUNCTION, sample::ALIAS).unwrap();
    assert_eq!((lease.rollout_id.as_str(), lease.command), ("r-2", None));
}

#[tokio::test]
async fn a_local_rollouts_tokenless_wait_is_shown_but_never_answered() {
    let aws = FakeAws::sample();
    let r = running(&aws).await;
    let shown = crate::registry::control::Waiting {
        kind: WaitKind::Pause,
        token: String::new(),
        since_ms: T0,
    };
    use crate::registry::control::RolloutControl;
    aws.wait_for(&crate::registry::control::LeaseKey::of(&r), &shown)
        .await
        .unwrap();
    let out = listen::command(
        &aws,
        sample::FUNCTION,
        sample::ALIAS,
        &Command::Resume,
        T0 + 1,
    )
    .await
    .unwrap();
    assert_eq!(
        out.delivery, None,
        "nothing to answer: the local driver reads the lease"
    );
    assert_eq!(out.waiting, Some(WaitKind::Pause));
    let alarms = listen::alarm_changed(&aws, &seen("ALARM", T0 + 2))
        .await
        .unwrap();
    assert_eq!(alarms[0].delivery, None);
    assert_eq!(aws.calls(Op::TaskCallback), 0);
}
