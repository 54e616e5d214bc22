//! The local driver listening to operators: commands posted on the alias's lease (as `shifter promote | pause
//! | resume | abort` post them) reach a running rollout at its next check. Over the fake, with the fake clock:
//! a script runs alongside the rollout and posts commands at given times of its timeline.

use std::future::Future;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::domain::AlarmState;
use crate::fake::sample::{ALARM, ALIAS as A, FUNCTION as F, POST_HOOK};
use crate::fake::{FakeAws, FakeClock, Op};
use crate::registry::control::Command;
use crate::registry::RolloutStatus;
use crate::request::RolloutRequest;
use crate::usecase::listen;

const CANARY: &str = "Canary10Percent5Minutes";
/// Nine steps of 10%, each baking 60 s: 540 s in all.
const LINEAR: &str = "Linear10PercentEvery1Minute";

fn spec(strategy: &str) -> RolloutSpec {
    let req = json!({"functionName": F, "alias": A, "targetVersion": "2", "strategy": strategy,
        "alarms": [ALARM], "hooks": {"postTraffic": POST_HOOK}});
    RolloutRequest::from_value(req).unwrap().validate().unwrap()
}

/// Lifecycle events and operator progress, in order.
#[derive(Default)]
struct Log(Vec<String>);

impl Observer for Log {
    fn observe(&mut self, p: Progress<'_>) {
        match p {
            Progress::Lifecycle(n) => self.0.push(n.event_type.as_str().to_string()),
            Progress::PromoteRequested { .. } => self.0.push("PromoteRequested".into()),
            Progress::Paused { max, .. } => self.0.push(format!("Paused:{}", max.as_secs())),
            Progress::Resumed { .. } => self.0.push("Resumed".into()),
            Progress::Baking { .. } | Progress::Checked { .. } | Progress::NotifyFailed { .. } => {}
        }
    }
}

struct World {
    aws: FakeAws,
    clock: FakeClock,
    /// When the rollout starts (the fake clock's time before its first sleep).
    t0: u64,
}

impl World {
    fn new() -> Self {
        let aws = FakeAws::sample();
        let clock = FakeClock::default();
        aws.use_clock(&clock);
        let t0 = clock.now_millis();
        World { aws, clock, t0 }
    }

    /// Runs a listening driver, with `script` alongside it in the fake clock's timeline.
    async fn run(&self, strategy: &str, script: impl Future<Output = ()>) -> (Outcome, Log) {
        let driver = LocalDriver {
            listen: true,
            ..LocalDriver::new(&self.aws, &self.clock)
        };
        self.run_spec(&driver, &spec(strategy), script).await
    }

    async fn run_with(
        &self,
        driver: &LocalDriver<'_, FakeAws, FakeClock>,
        strategy: &str,
        script: impl Future<Output = ()>,
    ) -> (Outcome, Log) {
        self.run_spec(driver, &spec(strategy), script).await
    }

    async fn run_spec(
        &self,
        driver: &LocalDriver<'_, FakeAws, FakeClock>,
        spec: &RolloutSpec,
        script: impl Future<Output = ()>,
    ) -> (Outcome, Log) {
        let mut log = Log::default();
        let script = async {
            script.await;
            std::future::pending::<()>().await
        };
        // The script is polled first: it sees each of the driver's sleeps end before the driver goes on (a
        // sleep of the fake clock moves the time, then yields once).
        let outcome = tokio::select! {
            biased;
            () = script => unreachable!("the script never ends"),
            outcome = driver.run(spec, "r-listen", &mut log) => outcome,
        };
        (outcome, log)
    }

    /// Waits until the rollout has been running `secs` seconds (the driver's sleeps move the clock).
    async fn at(&self, secs: u64) {
        while self.clock.now_millis() < self.t0 + secs * 1000 {
            tokio::task::yield_now().await;
        }
    }

    /// Posts an operator's command now, as the CLI does.
    async fn post(&self, command: Command) {
        self.post_given(command, self.clock.now_millis()).await;
    }

    async fn post_given(&self, command: Command, given_ms: u64) {
        listen::command(&self.aws, F, A, &command, given_ms)
            .await
            .expect("the rollout holds the lease");
    }

    fn weights(&self) -> Vec<u32> {
        self.aws
            .history(F, A)
            .iter()
            .map(|r| r.weight_of("2"))
            .collect()
    }
}

fn pause(max_seconds: u32) -> Command {
    Command::Pause { max_seconds }
}

fn reason(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::RolledBack { reason, .. } => reason,
        other => panic!("not rolled back: {other:?}"),
    }
}

#[tokio::test]
async fn promote_mid_bake_skips_the_remaining_steps_and_bakes() {
    let w = World::new();
    // Step 2 (20%) shifts at 60 s; the promote comes at its bake's third check.
    let (outcome, log) = w
        .run(LINEAR, async {
            w.at(90).await;
            w.post(Command::Promote).await;
        })
        .await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    assert_eq!(w.weights(), [0, 1000, 2000, 10_000]);
    assert_eq!(w.clock.total_slept(), Duration::from_secs(90));
    assert!(w.clock.total_slept() < Duration::from_secs(spec(LINEAR).plan.total_seconds()));
    assert_eq!(
        log.0,
        [
            "RolloutStarted",
            "TrafficShifted",
            "TrafficShifted",
            "PromoteRequested",
            "TrafficShifted",
            "HookSucceeded",
            "RolloutSucceeded"
        ]
    );
    let hooks: Vec<_> = w.aws.hook_calls().into_iter().map(|(f, _)| f).collect();
    assert_eq!(hooks, [POST_HOOK], "the post-traffic hook still runs");
}

#[tokio::test]
async fn a_promote_while_an_alarm_fires_rolls_back() {
    let w = World::new();
    let (outcome, log) = w
        .run(CANARY, async {
            w.at(30).await;
            w.post(Command::Promote).await;
            // The alarm check that follows the promote sees it.
            w.aws.schedule_alarm(1, ALARM, AlarmState::Alarm);
        })
        .await;
    assert!(reason(&outcome).contains(ALARM), "{outcome:?}");
    assert_eq!(w.weights(), [0, 1000, 0]);
    assert!(
        !log.0.contains(&"PromoteRequested".to_string()),
        "{:?}",
        log.0
    );
}

#[tokio::test]
async fn a_paused_rollout_holds_its_weight_and_still_rolls_back_on_an_alarm() {
    let w = World::new();
    let (outcome, log) = w
        .run(CANARY, async {
            w.at(30).await;
            w.post(pause(3600)).await;
            // Past the canary's 300 s bake: the pause holds the 10%.
            w.at(400).await;
            w.aws.set_alarm(ALARM, AlarmState::Alarm);
        })
        .await;
    assert!(reason(&outcome).contains(ALARM), "{outcome:?}");
    assert_eq!(w.weights(), [0, 1000, 0]);
    assert_eq!(w.clock.total_slept(), Duration::from_secs(400));
    assert_eq!(
        log.0,
        [
            "RolloutStarted",
            "TrafficShifted",
            "Paused:3600",
            "RolledBack"
        ]
    );
}

#[tokio::test]
async fn resume_goes_on_with_the_next_step_and_later_bakes_ignore_it() {
    let w = World::new();
    let (outcome, log) = w
        .run(LINEAR, async {
            w.at(30).await;
            w.post(pause(3600)).await;
            w.at(200).await;
            w.post(Command::Resume).await;
        })
        .await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    assert_eq!(
        w.weights(),
        [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]
    );
    // The rest of the paused bake is skipped (as the state machine's Advance does); the 8 bakes after it run
    // in full.
    assert_eq!(w.clock.total_slept(), Duration::from_secs(200 + 8 * 60));
    assert_eq!(
        log.0[..4],
        ["RolloutStarted", "TrafficShifted", "Paused:3600", "Resumed"]
    );
    assert_eq!(log.0[4], "TrafficShifted");
}

#[tokio::test]
async fn a_pause_past_its_maximum_rolls_back() {
    let w = World::new();
    let (outcome, log) = w
        .run(CANARY, async {
            w.at(30).await;
            w.post(pause(45)).await;
        })
        .await;
    assert_eq!(
        reason(&outcome),
        "the rollout stayed paused past its maximum pause (45 s)"
    );
    assert_eq!(outcome.exit_code(), 1);
    assert_eq!(w.weights(), [0, 1000, 0]);
    assert_eq!(w.clock.total_slept(), Duration::from_secs(30 + 45));
    assert_eq!(log.0.last().map(String::as_str), Some("RolledBack"));
}

#[tokio::test]
async fn a_second_pause_and_a_resume_while_baking_are_ignored() {
    let w = World::new();
    let (outcome, _) = w
        .run(CANARY, async {
            w.at(20).await;
            w.post(Command::Resume).await;
            w.at(30).await;
            w.post(pause(3600)).await;
            // Acted on, this pause would roll back at 70 s.
            w.at(60).await;
            w.post(pause(10)).await;
            w.at(500).await;
            w.post(Command::Resume).await;
        })
        .await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    assert_eq!(w.clock.total_slept(), Duration::from_secs(500));
}

#[tokio::test]
async fn an_abort_mid_bake_rolls_back_with_the_operators_reason() {
    let w = World::new();
    let (outcome, log) = w
        .run(CANARY, async {
            w.at(30).await;
            w.post(Command::Abort {
                reason: "bad canary".into(),
            })
            .await;
        })
        .await;
    assert_eq!(reason(&outcome), "aborted by an operator: bad canary");
    assert_eq!(outcome.exit_code(), 1);
    assert_eq!(w.weights(), [0, 1000, 0]);
    assert_eq!(w.clock.total_slept(), Duration::from_secs(30));
    assert_eq!(w.aws.calls(Op::WriteAlias), 2, "the shift and the rollback");
    assert_eq!(log.0.last().map(String::as_str), Some("RolledBack"));
    let record = w.aws.record_of("r-listen").unwrap();
    assert_eq!(record.status, RolloutStatus::RolledBack);
    assert_eq!(
        record.reason.as_deref(),
        Some("aborted by an operator: bad canary")
    );
    assert_eq!(w.aws.lease(F, A), None);
}

#[tokio::test]
async fn a_command_given_before_the_rollout_started_is_ignored() {
    let w = World::new();
    let (outcome, _) = w
        .run(CANARY, async {
            w.at(30).await;
            let before = w.t0 - 1000;
            w.post_given(
                Command::Abort {
                    reason: "old".into(),
                },
                before,
            )
            .await;
        })
        .await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    assert_eq!(w.clock.total_slept(), Duration::from_secs(300));
}

#[tokio::test]
async fn a_failed_read_of_the_commands_does_not_stop_the_rollout() {
    let w = World::new();
    let throttled = Error::Transient {
        operation: "GetItem".into(),
        message: "ProvisionedThroughputExceededException".into(),
    };
    // The reads at 10 s and 20 s fail; the one at 50 s sees the promote.
    w.aws.fail_next(Op::Control, throttled, 2);
    let (outcome, _) = w
        .run(CANARY, async {
            w.at(50).await;
            w.post(Command::Promote).await;
        })
        .await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    assert_eq!(w.weights(), [0, 1000, 10_000]);
    assert_eq!(w.clock.total_slept(), Duration::from_secs(50));
}

#[tokio::test]
async fn without_a_registry_nothing_is_read_and_nothing_is_heard() {
    let w = World::new();
    let driver = LocalDriver::new(&w.aws, &w.clock);
    assert!(!driver.listen, "off by default");
    let (outcome, _) = w.run_with(&driver, CANARY, std::future::ready(())).await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    assert_eq!(w.aws.calls(Op::Control), 0);
}

#[tokio::test]
async fn listening_with_no_command_changes_nothing_but_one_read_per_check() {
    let deaf = World::new();
    let driver = LocalDriver::new(&deaf.aws, &deaf.clock);
    let (deaf_outcome, deaf_log) = deaf.run_with(&driver, LINEAR, std::future::ready(())).await;
    let listening = World::new();
    let (outcome, log) = listening.run(LINEAR, std::future::ready(())).await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    assert_eq!(deaf_outcome.exit_code(), 0);
    assert_eq!(listening.aws.changes(F, A), deaf.aws.changes(F, A));
    assert_eq!(log.0, deaf_log.0);
    assert_eq!(listening.clock.sleeps(), deaf.clock.sleeps());
    // Nine bakes of 60 s, a check every 10 s: 54 reads.
    assert_eq!(listening.aws.calls(Op::Control), 54);
}

#[tokio::test]
async fn a_listening_rollout_checks_in_on_its_lease_at_every_check() {
    let w = World::new();
    let driver = LocalDriver {
        listen: true,
        check_interval: Duration::from_secs(5),
        ..LocalDriver::new(&w.aws, &w.clock)
    };
    let seen = std::sync::Mutex::new(Vec::new());
    let (outcome, _) = w
        .run_with(&driver, CANARY, async {
            // The lease as taken: the interval, and a first check-in before any wait.
            let lease = loop {
                match w.aws.lease(F, A) {
                    Some(lease) => break lease,
                    None => tokio::task::yield_now().await,
                }
            };
            seen.lock()
                .unwrap()
                .push((lease.check_interval_ms, lease.checked_in_ms));
            w.at(12).await;
            let lease = w.aws.lease(F, A).unwrap();
            seen.lock()
                .unwrap()
                .push((lease.check_interval_ms, lease.checked_in_ms));
        })
        .await;
    assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");
    // Checks of the 10% bake at 5 s and 10 s; at 12 s the last check-in is the one at 10 s.
    assert_eq!(
        seen.into_inner().unwrap(),
        [(Some(5000), Some(w.t0)), (Some(5000), Some(w.t0 + 10_000))]
    );
}

#[tokio::test]
async fn a_pause_holds_the_analysis_until_the_resume_as_the_state_machine_does() {
    use crate::analysis::judge::VersionMetrics;
    let w = World::new();
    // A bad canary, analysed every 60 s: paused at 30 s, it is not judged while paused (the state machine runs
    // no Advance then), only at the resume, which ends the bake.
    let bad = |invocations, errors| VersionMetrics {
        invocations,
        errors,
        ..VersionMetrics::default()
    };
    w.aws.set_version_metrics(F, A, "1", bad(4000, 10));
    w.aws.set_version_metrics(F, A, "2", bad(400, 40));
    let req = json!({"functionName": F, "alias": A, "targetVersion": "2", "strategy": CANARY,
        "analysis": {"intervalSeconds": 60, "latency": null}});
    let spec = RolloutRequest::from_value(req).unwrap().validate().unwrap();
    let driver = LocalDriver {
        listen: true,
        ..LocalDriver::new(&w.aws, &w.clock)
    };
    let (outcome, log) = w
        .run_spec(&driver, &spec, async {
            w.at(30).await;
            w.post(pause(3600)).await;
            w.at(500).await;
            assert_eq!(
                w.aws.calls(Op::GetMetricData),
                0,
                "no analysis while paused"
            );
            w.post(Command::Resume).await;
        })
        .await;
    assert!(
        reason(&outcome).starts_with("canary analysis failed"),
        "{outcome:?}"
    );
    assert_eq!(w.aws.calls(Op::GetMetricData), 1);
    assert_eq!(
        w.clock.total_slept(),
        Duration::from_secs(500),
        "judged at the resume"
    );
    assert_eq!(
        log.0,
        [
            "RolloutStarted",
            "TrafficShifted",
            "Paused:3600",
            "AnalysisFailed",
            "RolledBack"
        ]
    );
}
