//! The local driver end to end over the fake AWS and a fake clock: whole rollouts in microseconds.

use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::domain::{AlarmState, Routing};
use crate::fake::{FakeAws, FakeClock, HookBehaviour, Op};
use crate::request::RolloutRequest;

use crate::fake::sample::{ALIAS as A, FUNCTION as F, TOPIC};

fn world() -> FakeAws {
    FakeAws::sample()
}

fn spec(extra: serde_json::Value) -> RolloutSpec {
    let mut req = json!({"functionName": F, "alias": A, "targetVersion": "2", "strategy": "Canary10Percent5Minutes",
        "alarms": ["orders-errors"], "notificationTopicArn": TOPIC});
    req.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    RolloutRequest::from_value(req).unwrap().validate().unwrap()
}

#[derive(Default)]
struct Recorder {
    events: Vec<EventType>,
    bakes: usize,
    checks: usize,
    notify_failures: usize,
}

impl Observer for Recorder {
    fn observe(&mut self, p: Progress<'_>) {
        match p {
            Progress::Lifecycle(n) => self.events.push(n.event_type),
            Progress::Baking { .. } => self.bakes += 1,
            Progress::Checked { .. } => self.checks += 1,
            Progress::NotifyFailed { .. } => self.notify_failures += 1,
            Progress::PromoteRequested { .. }
            | Progress::Paused { .. }
            | Progress::Resumed { .. } => {}
        }
    }
}

async fn run(aws: &FakeAws, spec: &RolloutSpec) -> (Outcome, Recorder, FakeClock) {
    let clock = FakeClock::default();
    let mut rec = Recorder::default();
    let outcome = LocalDriver::new(aws, &clock)
        .run(spec, "r-1", &mut rec)
        .await;
    (outcome, rec, clock)
}

use EventType::*;

#[tokio::test]
async fn a_canary_promotes_after_its_bake_checking_every_interval() {
    let aws = world();
    let (outcome, rec, clock) = run(&aws, &spec(json!({}))).await;
    assert_eq!(outcome.exit_code(), 0, "{outcome:?}");
    assert_eq!(
        aws.history(F, A),
        vec![
            Routing::single("1"),
            Routing::split("1", "2", 1000),
            Routing::single("2")
        ]
    );
    assert_eq!(
        rec.events,
        vec![
            RolloutStarted,
            TrafficShifted,
            TrafficShifted,
            RolloutSucceeded
        ]
    );
    assert_eq!(clock.total_slept(), Duration::from_secs(300));
    assert_eq!(
        rec.checks,
        1 + 30,
        "one before the first shift, then every 10 s of the 300 s bake"
    );
    let published: Vec<_> = aws
        .notifications()
        .into_iter()
        .map(|(t, n)| (t, n.event_type))
        .collect();
    assert_eq!(published.len(), 4);
    assert!(published.iter().all(|(t, _)| t == TOPIC));
}

#[tokio::test]
async fn a_linear_rollout_steps_through_every_weight() {
    let aws = world();
    let (outcome, _, clock) = run(
        &aws,
        &spec(json!({"strategy": "Linear10PercentEvery1Minute"})),
    )
    .await;
    assert_eq!(outcome.exit_code(), 0);
    let weights: Vec<u32> = aws.history(F, A).iter().map(|r| r.weight_of("2")).collect();
    assert_eq!(
        weights,
        vec![0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]
    );
    assert_eq!(clock.total_slept(), Duration::from_secs(9 * 60));
}

#[tokio::test]
async fn an_alarm_mid_bake_rolls_back_at_once() {
    let aws = world();
    // Call 1 is prepare checking the alarm exists, 2 the check before the first shift, 5 the 3rd check of the bake.
    aws.schedule_alarm(5, "orders-errors", AlarmState::Alarm);
    let (outcome, rec, clock) = run(&aws, &spec(json!({}))).await;
    assert_eq!(outcome.exit_code(), 1);
    match &outcome {
        Outcome::RolledBack { reason, .. } => assert!(reason.contains("orders-errors"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        aws.history(F, A),
        vec![
            Routing::single("1"),
            Routing::split("1", "2", 1000),
            Routing::single("1")
        ]
    );
    assert_eq!(
        clock.total_slept(),
        Duration::from_secs(30),
        "stops at the check that saw the alarm"
    );
    assert_eq!(rec.events, vec![RolloutStarted, TrafficShifted, RolledBack]);
}

#[tokio::test]
async fn an_alarm_already_firing_stops_before_any_shift() {
    let aws = world();
    aws.set_alarm("orders-errors", AlarmState::Alarm);
    let (outcome, _, _) = run(&aws, &spec(json!({}))).await;
    assert_eq!(outcome.exit_code(), 1);
    assert_eq!(aws.history(F, A), vec![Routing::single("1")]);
}

#[tokio::test]
async fn a_failed_pre_traffic_hook_shifts_nothing() {
    let aws = world();
    aws.set_hook("pre-hook", HookBehaviour::Fail("smoke test failed".into()));
    let (outcome, rec, _) = run(&aws, &spec(json!({"hooks": {"preTraffic": "pre-hook"}}))).await;
    assert_eq!(outcome.exit_code(), 1);
    assert_eq!(aws.history(F, A), vec![Routing::single("1")]);
    assert_eq!(rec.events, vec![RolloutStarted, HookFailed, RolledBack]);
    assert_eq!(aws.calls(Op::WriteAlias), 0);
}

#[tokio::test]
async fn a_failed_post_traffic_hook_rolls_back_from_full_traffic() {
    let aws = world();
    aws.set_hook(
        "post-hook",
        HookBehaviour::FunctionError("panic in hook".into()),
    );
    let (outcome, rec, _) = run(
        &aws,
        &spec(json!({"hooks": {"preTraffic": "pre-hook", "postTraffic": "post-hook"}})),
    )
    .await;
    assert_eq!(outcome.exit_code(), 1);
    assert_eq!(
        aws.history(F, A),
        vec![
            Routing::single("1"),
            Routing::split("1", "2", 1000),
            Routing::single("2"),
            Routing::single("1")
        ]
    );
    assert_eq!(
        rec.events,
        vec![
            RolloutStarted,
            HookSucceeded,
            TrafficShifted,
            TrafficShifted,
            HookFailed,
            RolledBack
        ]
    );
    let calls: Vec<String> = aws
        .hook_calls()
        .into_iter()
        .map(|(f, p)| format!("{f}:{}", p["weightPercent"]))
        .collect();
    assert_eq!(calls, vec!["pre-hook:0.0", "post-hook:100.0"]);
}

#[tokio::test]
async fn a_busy_alias_is_a_conflict_and_stays_untouched() {
    let aws = world();
    aws.publish(F, "code-3");
    aws.force_alias(F, A, Routing::split("1", "3", 3000));
    let before = aws.alias(F, A);
    let (outcome, rec, _) = run(&aws, &spec(json!({}))).await;
    assert_eq!(outcome.exit_code(), 3);
    assert_eq!(aws.alias(F, A), before);
    assert!(rec.events.is_empty(), "nothing started, nothing announced");
}

#[tokio::test]
async fn an_invalid_target_exits_2_before_any_write() {
    let aws = world();
    let (outcome, _, _) = run(&aws, &spec(json!({"targetVersion": "42"}))).await;
    assert_eq!(outcome.exit_code(), 2);
    assert_eq!(aws.calls(Op::WriteAlias), 0);
}

#[tokio::test]
async fn an_alias_changed_mid_rollout_stops_with_a_conflict() {
    let aws = world();
    aws.fail_next(
        Op::WriteAlias,
        Error::AliasChanged {
            alias: A.into(),
            message: "PreconditionFailed".into(),
        },
        1,
    );
    let (outcome, rec, _) = run(&aws, &spec(json!({}))).await;
    assert_eq!(outcome.exit_code(), 3, "{outcome:?}");
    assert_eq!(aws.alias(F, A).routing, Routing::single("1"));
    assert_eq!(rec.events.last(), Some(&RolloutFailed));
}

#[tokio::test]
async fn an_error_after_traffic_moved_restores_the_old_version() {
    let aws = world();
    // The post-traffic hook cannot be invoked at all (1 try + 4 retries): an error, not a verdict.
    aws.fail_next(
        Op::Invoke,
        Error::Transient {
            operation: "Invoke".into(),
            message: "503".into(),
        },
        5,
    );
    let (outcome, rec, _) = run(&aws, &spec(json!({"hooks": {"postTraffic": "post-hook"}}))).await;
    assert_eq!(outcome.exit_code(), 1, "{outcome:?}");
    assert!(
        matches!(
            outcome,
            Outcome::Failed {
                alias_restored: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(aws.alias(F, A).routing, Routing::single("1"));
    assert_eq!(rec.events.last(), Some(&RolloutFailed));
    let (_, last) = aws.notifications().pop().unwrap();
    assert_eq!(last.error_type.as_deref(), Some("Transient"));
}

#[tokio::test]
async fn a_bake_stops_on_a_failed_alarm_read() {
    let aws = world();
    let clock = FakeClock::default();
    let driver = LocalDriver::new(&aws, &clock);
    let s = spec(json!({}));
    let rollout = crate::usecase::prepare(&aws, &clock, &s, "r-2")
        .await
        .unwrap();
    let rollout = crate::usecase::shift_traffic(&aws, &rollout).await.unwrap();
    // Advance's retry rule: 1 try + 4 retries, waiting 2, 4, 8 and 16 s.
    aws.fail_next(
        Op::AlarmStates,
        Error::Transient {
            operation: "DescribeAlarms".into(),
            message: "503".into(),
        },
        5,
    );
    let err = driver
        .bake(&mut rollout.clone(), 60, &mut Recorder::default())
        .await
        .unwrap_err();
    assert!(err.is_transient());
    assert_eq!(
        clock.total_slept(),
        Duration::from_secs(10 + 2 + 4 + 8 + 16)
    );
}

#[tokio::test]
async fn transient_errors_are_retried_as_the_state_machine_retries_them() {
    // One Transient on each kind of call: the rollout still promotes, and writes nothing twice.
    let aws = world();
    let transient = |op: &str| Error::Transient {
        operation: op.into(),
        message: "Rate exceeded".into(),
    };
    for op in [
        Op::DescribeFunction,
        Op::AlarmStates,
        Op::WriteAlias,
        Op::Invoke,
    ] {
        aws.fail_next(op, transient("call"), 1);
    }
    let (outcome, _, _) = run(&aws, &spec(json!({"hooks": {"preTraffic": "pre-hook"}}))).await;
    assert_eq!(outcome.exit_code(), 0, "{outcome:?}");
    assert_eq!(
        aws.history(F, A),
        vec![
            Routing::single("1"),
            Routing::split("1", "2", 1000),
            Routing::single("2")
        ]
    );
    // And a Transient during the rollback does not make it fail.
    let aws = world();
    let clock = FakeClock::default();
    let driver = LocalDriver::new(&aws, &clock);
    let rollout = crate::usecase::prepare(&aws, &clock, &spec(json!({})), "r-rb")
        .await
        .unwrap();
    let rollout = crate::usecase::shift_traffic(&aws, &rollout).await.unwrap();
    aws.fail_next(Op::ReadAlias, transient("GetAlias"), 1);
    aws.fail_next(Op::WriteAlias, transient("UpdateAlias"), 1);
    let stop = Stop {
        reason: "alarm(s) firing: orders-errors".into(),
        error: None,
        write_may_be_in_flight: false,
    };
    let outcome = driver.roll_back(rollout, stop, &mut Silent).await;
    assert!(matches!(outcome, Outcome::RolledBack { .. }), "{outcome:?}");
    assert_eq!(aws.alias(F, A).routing, Routing::single("1"));
}

#[tokio::test]
async fn a_failing_topic_does_not_stop_the_rollout() {
    let aws = world();
    aws.fail_next(
        Op::Publish,
        Error::AwsRejected {
            operation: "Publish".into(),
            message: "AuthorizationError".into(),
        },
        2,
    );
    let (outcome, rec, _) = run(&aws, &spec(json!({}))).await;
    assert_eq!(outcome.exit_code(), 0);
    assert_eq!(rec.notify_failures, 2);
    assert_eq!(aws.notifications().len(), 2);
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::ReadAlias),
        Just(Op::WriteAlias),
        Just(Op::AlarmStates),
        Just(Op::Invoke),
        Just(Op::Publish)
    ]
}

fn error() -> impl Strategy<Value = Error> {
    prop_oneof![
        Just(Error::Transient {
            operation: "x".into(),
            message: "503".into()
        }),
        Just(Error::AwsRejected {
            operation: "x".into(),
            message: "denied".into()
        }),
        Just(Error::AliasChanged {
            alias: A.into(),
            message: "PreconditionFailed".into()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// Whatever fails and whenever, the alias ends on one version with no routing config, or the outcome says
    /// loudly that the rollback itself failed.
    #[test]
    fn the_alias_never_ends_weighted_unannounced(
        faults in proptest::collection::vec((op(), error(), 1usize..3), 0..4),
        alarm_at in proptest::option::of(1usize..12),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let aws = world();
            if let Some(n) = alarm_at {
                aws.schedule_alarm(n, "orders-errors", AlarmState::Alarm);
            }
            let spec = spec(json!({"strategy": {"type": "linear", "percent": 25, "intervalSeconds": 20},
                "hooks": {"preTraffic": "pre-hook", "postTraffic": "post-hook"}}));
            let clock = FakeClock::default();
            let driver = LocalDriver::new(&aws, &clock);
            for (op, err, count) in &faults {
                aws.fail_next(*op, err.clone(), *count);
            }
            let outcome = driver.run(&spec, "r-p", &mut Silent).await;
            let alias = aws.alias(F, A).routing;
            let announced = matches!(outcome, Outcome::Failed { alias_restored: false, .. });
            prop_assert!(!alias.is_weighted() || announced, "{outcome:?} left {alias}");
            if let Outcome::Promoted { .. } = outcome {
                prop_assert_eq!(&alias, &Routing::single("2"));
            }
            if let Outcome::RolledBack { .. } = outcome {
                prop_assert_eq!(&alias, &Routing::single("1"));
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn an_abort_mid_bake_rolls_back() {
    let aws = world();
    let clock = FakeClock::default();
    let mut rec = Recorder::default();
    let driver = LocalDriver::new(&aws, &clock);
    // Abort once the canary has taken traffic: poll the fake until the alias is weighted.
    let watcher = aws.clone();
    let abort = async move {
        while !watcher.alias(F, A).routing.is_weighted() {
            tokio::task::yield_now().await;
        }
        "SIGINT".to_string()
    };
    let outcome = driver
        .run_until(&spec(json!({})), "r-abort", &mut rec, abort)
        .await;
    assert_eq!(outcome.exit_code(), 1, "{outcome:?}");
    match &outcome {
        Outcome::RolledBack { reason, .. } => assert_eq!(reason, "aborted: SIGINT"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        aws.history(F, A),
        vec![
            Routing::single("1"),
            Routing::split("1", "2", 1000),
            Routing::single("1")
        ]
    );
    assert!(clock.total_slept() < Duration::from_secs(300));
}
