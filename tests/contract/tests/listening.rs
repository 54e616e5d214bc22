//! Rollouts that listen, through the interpreted ASL and the real handlers: an alarm event, an operator's
//! promote, pause, resume and abort reach a rollout while it waits (or while a Task runs), and the state
//! machine is the only writer of the alias throughout.

mod common;

use common::*;
use serde_json::json;
use shifter::domain::Routing;
use shifter::fake::{FakeAws, Op};
use shifter::notification::EventType;
use shifter::registry::control::{AlarmSeen, Command};
use shifter::registry::RolloutStatus;
use shifter::usecase::listen;
use shifter_contract_tests::Status;
use shifter_lambda::testing::{request, world, ALARM, ALIAS, FUNCTION};

const WAITING: &str = "${WaitFunctionArn}:waiting";

fn linear() -> serde_json::Value {
    request(
        json!({"type": "linear", "percent": 25, "intervalSeconds": 600}),
        json!({}),
    )
}

fn now() -> u64 {
    shifter::time::unix_millis()
}

fn post(aws: &FakeAws, command: Command) {
    let aws = aws.clone();
    // The scripts run inside the interpreter's (sync) callback: post from a helper runtime thread.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(listen::command(&aws, FUNCTION, ALIAS, &command, now()))
            .unwrap();
    })
    .join()
    .unwrap();
}

fn alarm_event(aws: &FakeAws) {
    let aws = aws.clone();
    std::thread::spawn(move || {
        let seen = AlarmSeen {
            name: ALARM.into(),
            state: "ALARM".into(),
            at_ms: now(),
        };
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(listen::alarm_changed(&aws, &seen))
            .unwrap();
    })
    .join()
    .unwrap();
}

fn record_status(aws: &FakeAws) -> RolloutStatus {
    aws.record_of("r-1").expect("a record").status
}

#[tokio::test]
async fn an_alarm_event_mid_bake_rolls_back_at_once() {
    let aws = world();
    let script: Script = Box::new(|resource, n, aws| {
        if resource == WAITING && n == 1 {
            alarm_event(aws);
        }
    });
    let run = run_with(&aws, linear(), script).await;
    assert!(
        matches!(&run.status, Status::Failed { error, .. } if error == "RolledBack"),
        "{:?}",
        run.status
    );
    assert_eq!(tail(&run, 3), ["Bake", "Rollback", "RolledBack"]);
    assert_eq!(
        aws.history(FUNCTION, ALIAS),
        [
            Routing::single("1"),
            Routing::split("1", "2", 2500),
            Routing::split("1", "2", 5000),
            Routing::single("1"),
        ]
    );
    // The second bake did not run to its end: only the first one's 600 s were waited.
    assert_eq!(run.waited_seconds, 600);
    let last = aws.notifications().pop().unwrap().1;
    assert_eq!(last.event_type, EventType::RolledBack);
    assert!(last.reason.unwrap().contains(ALARM));
    assert_eq!(record_status(&aws), RolloutStatus::RolledBack);
    assert!(aws.lease(FUNCTION, ALIAS).is_none());
}

#[tokio::test]
async fn promote_mid_bake_skips_the_remaining_steps_and_still_runs_the_post_traffic_hook() {
    let aws = world();
    let req = request(
        json!({"type": "linear", "percent": 25, "intervalSeconds": 600}),
        json!({"hooks": {"postTraffic": shifter_lambda::testing::POST_HOOK}}),
    );
    let script: Script = Box::new(|resource, n, aws| {
        if resource == WAITING && n == 0 {
            post(aws, Command::Promote);
        }
    });
    let run = run_with(&aws, req, script).await;
    assert!(
        matches!(run.status, Status::Succeeded(_)),
        "{:?}",
        run.status
    );
    assert_eq!(
        aws.history(FUNCTION, ALIAS),
        [
            Routing::single("1"),
            Routing::split("1", "2", 2500),
            Routing::single("2"),
        ]
    );
    assert!(run.path.contains(&"PostTrafficHook".to_string()));
    assert_eq!(run.waited_seconds, 0);
    assert_eq!(record_status(&aws), RolloutStatus::Promoted);
}

#[tokio::test]
async fn a_command_given_while_a_task_runs_is_acted_on_by_the_next_wait() {
    let aws = world();
    let script: Script = Box::new(|resource, n, aws| {
        // Before the second wait registers (Advance has just shifted to 50%).
        if resource == "${WaitFunctionArn}" && n == 1 {
            post(aws, Command::Promote);
        }
    });
    let run = run_with(&aws, linear(), script).await;
    assert!(
        matches!(run.status, Status::Succeeded(_)),
        "{:?}",
        run.status
    );
    assert_eq!(
        aws.history(FUNCTION, ALIAS).last(),
        Some(&Routing::single("2"))
    );
    assert_eq!(
        aws.history(FUNCTION, ALIAS).len(),
        4,
        "1, 25%, 50%, then 100%"
    );
    assert_eq!(run.waited_seconds, 600);
}

#[tokio::test]
async fn pause_then_resume_goes_on_and_promotes() {
    let aws = world();
    let script: Script = Box::new(|resource, n, aws| match (resource, n) {
        (WAITING, 0) => post(aws, Command::Pause { max_seconds: 3600 }),
        (WAITING, 1) => {
            let lease = aws.lease(FUNCTION, ALIAS).unwrap();
            assert_eq!(
                lease.waiting.unwrap().kind,
                shifter::registry::control::WaitKind::Pause
            );
            post(aws, Command::Resume);
        }
        _ => {}
    });
    let run = run_with(&aws, linear(), script).await;
    assert!(
        matches!(run.status, Status::Succeeded(_)),
        "{:?}",
        run.status
    );
    let paused = run.path.iter().filter(|s| *s == "Paused").count();
    assert_eq!(paused, 1);
    assert_eq!(
        aws.history(FUNCTION, ALIAS).last(),
        Some(&Routing::single("2"))
    );
}

#[tokio::test]
async fn an_alarm_while_paused_rolls_back() {
    let aws = world();
    let script: Script = Box::new(|resource, n, aws| match (resource, n) {
        (WAITING, 0) => post(aws, Command::Pause { max_seconds: 3600 }),
        (WAITING, 1) => alarm_event(aws),
        _ => {}
    });
    let run = run_with(&aws, linear(), script).await;
    assert!(matches!(&run.status, Status::Failed { error, .. } if error == "RolledBack"));
    assert_eq!(tail(&run, 3), ["Paused", "Rollback", "RolledBack"]);
    assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("1"));
}

#[tokio::test]
async fn a_pause_past_its_maximum_rolls_back_and_says_so() {
    let aws = world();
    let script: Script = Box::new(|resource, n, aws| {
        if resource == WAITING && n == 0 {
            post(aws, Command::Pause { max_seconds: 120 });
        }
    });
    let run = run_with(&aws, linear(), script).await;
    assert!(matches!(&run.status, Status::Failed { error, .. } if error == "RolledBack"));
    assert_eq!(tail(&run, 3), ["Paused", "Rollback", "RolledBack"]);
    assert_eq!(run.waited_seconds, 120, "the pause's maximum, then no more");
    let last = aws.notifications().pop().unwrap().1;
    assert_eq!(last.event_type, EventType::RolledBack);
    assert!(last.reason.unwrap().contains("paused past its maximum"));
}

#[tokio::test]
async fn abort_rolls_back_inside_the_state_machine_with_no_write_after_it() {
    let aws = world();
    let writes_at_abort = std::sync::Arc::new(std::sync::Mutex::new(0usize));
    let seen = writes_at_abort.clone();
    let script: Script = Box::new(move |resource, n, aws| {
        if resource == WAITING && n == 0 {
            *seen.lock().unwrap() = aws.calls(Op::WriteAlias);
            post(
                aws,
                Command::Abort {
                    reason: "bad canary".into(),
                },
            );
        }
    });
    let run = run_with(&aws, linear(), script).await;
    assert!(matches!(&run.status, Status::Failed { error, .. } if error == "RolledBack"));
    assert_eq!(tail(&run, 3), ["Bake", "Rollback", "RolledBack"]);
    // The rollback's own write is the only one after the abort.
    assert_eq!(
        aws.calls(Op::WriteAlias),
        *writes_at_abort.lock().unwrap() + 1
    );
    assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("1"));
    let last = aws.notifications().pop().unwrap().1;
    assert!(last.reason.unwrap().contains("bad canary"));
}
