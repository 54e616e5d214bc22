//! End to end, in-process: command-line flags → request → `LocalDriver` over the in-memory AWS fake and a
//! fake clock → the CLI's renderers → exit code, output and the alias's history.

use clap::Parser;
use shifter::domain::{AlarmState, Routing};
use shifter::fake::{FakeAws, FakeClock, HookBehaviour};
use shifter::notification::{EventType, Notification};
use shifter_cli::args::{Cli, Command};
use shifter_cli::deploy::Deployment;
use shifter_cli::local;
use shifter_cli::render::{Captured, Renderer};

const FN: &str = "orders";
const ALIAS: &str = "live";
const ALARM: &str = "orders-errors";
const HOOK: &str = "orders-smoke";
/// 25% steps baking 30 s each: three bakes of three 10-second checks, then 100%.
const LINEAR: &str = r#"{"type":"linear","percent":25,"intervalSeconds":30}"#;

/// `orders` with versions 1 and 2, `live` on version 1, a quiet alarm and a passing smoke hook.
fn account() -> FakeAws {
    let aws = FakeAws::new();
    aws.add_function(FN);
    assert_eq!(aws.publish(FN, "code-1"), "1");
    assert_eq!(aws.publish(FN, "code-2"), "2");
    aws.add_alias(FN, ALIAS, Routing::single("1"))
        .set_alarm(ALARM, AlarmState::Ok)
        .set_hook(HOOK, HookBehaviour::Succeed);
    aws
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    clock: FakeClock,
}

impl Run {
    fn events(&self) -> Vec<Notification> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    fn event_types(&self) -> Vec<EventType> {
        self.events().iter().map(|n| n.event_type).collect()
    }
}

async fn deploy(aws: &FakeAws, extra: &[&str]) -> Run {
    deploy_to(aws, ALIAS, extra).await
}

async fn deploy_to(aws: &FakeAws, alias: &str, extra: &[&str]) -> Run {
    let mut argv = vec![
        "shifter",
        "deploy",
        "--local",
        "--function",
        FN,
        "--alias",
        alias,
        "--alarm",
        ALARM,
        "--pre-traffic-hook",
        HOOK,
        "--rollout-id",
        "r-e2e",
    ];
    argv.extend_from_slice(extra);
    let Command::Deploy(args) = Cli::try_parse_from(argv).expect("parses").command else {
        panic!("not a deploy");
    };
    let deployment = Deployment::from_args(&args).expect("a valid request");
    let (out, err) = (Captured::default(), Captured::default());
    let mut render = Renderer::new(args.output, out.sink(), err.sink(), false);
    render.plan(&deployment.spec.plan);
    let clock = FakeClock::default();
    let outcome = local::drive(aws, &clock, &deployment, &mut render).await;
    Run {
        code: outcome.exit_code(),
        stdout: out.text(),
        stderr: err.text(),
        clock,
    }
}

#[tokio::test]
async fn a_healthy_rollout_is_promoted_step_by_step() {
    let aws = account();
    let run = deploy(
        &aws,
        &["--version", "2", "--strategy", LINEAR, "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(
        aws.history(FN, ALIAS),
        [
            Routing::single("1"),
            Routing::split("1", "2", 2500),
            Routing::split("1", "2", 5000),
            Routing::split("1", "2", 7500),
            Routing::single("2"),
        ]
    );
    use EventType::*;
    assert_eq!(
        run.event_types(),
        [
            RolloutStarted,
            HookSucceeded,
            TrafficShifted,
            TrafficShifted,
            TrafficShifted,
            TrafficShifted,
            RolloutSucceeded
        ]
    );
    let weights: Vec<f64> = run.events().iter().map(|n| n.weight_percent).collect();
    assert_eq!(weights, [0.0, 0.0, 25.0, 50.0, 75.0, 100.0, 100.0]);
    assert_eq!(run.clock.total_slept().as_secs(), 90);
    assert_eq!(run.stderr, "promoted orders:live to version 2 in 1m30s\n");
}

#[tokio::test]
async fn text_output_shows_the_steps_and_a_summary() {
    let aws = account();
    let run = deploy(
        &aws,
        &[
            "--strategy",
            "Canary10Percent5Minutes",
            "--check-interval",
            "60",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    // No --version: $LATEST ("code-2", already version 2) is published, and AWS answers with version 2.
    assert_eq!(aws.alias(FN, ALIAS).routing, Routing::single("2"));
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "deploying orders:live: version 1 → 2 (rollout r-e2e)",
            "  strategy Canary10Percent5Minutes: 2 steps, 5m00s in total",
            "  preTraffic hook passed",
        ]
    );
    assert!(lines.contains(&"  step 1/2: 10% of traffic on version 2"));
    assert!(lines.contains(&"  baking 10%: 5m00s left, alarms OK"));
    assert!(lines.contains(&"  baking 10%: 1m00s left, alarms OK"));
    let bake_lines = lines.iter().filter(|l| l.contains("baking")).count();
    assert_eq!(bake_lines, 5, "one per check: {lines:#?}");
    assert_eq!(
        lines.last(),
        Some(&"promoted orders:live to version 2 in 5m00s")
    );
    assert_eq!(run.stderr, "");
}

#[tokio::test]
async fn an_alarm_firing_mid_bake_rolls_back_to_the_old_version() {
    let aws = account();
    // alarm reads: 1 prepare (the alarm exists), 2 before any shift, 3.. during the first bake.
    aws.schedule_alarm(4, ALARM, AlarmState::Alarm);
    let run = deploy(
        &aws,
        &["--version", "2", "--strategy", LINEAR, "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 1);
    assert_eq!(
        aws.history(FN, ALIAS),
        [
            Routing::single("1"),
            Routing::split("1", "2", 2500),
            Routing::single("1"),
        ]
    );
    assert_eq!(aws.alias(FN, ALIAS).routing, Routing::single("1"));
    let events = run.events();
    let last = events.last().expect("events");
    assert_eq!(last.event_type, EventType::RolledBack);
    assert_eq!(last.weight_percent, 0.0);
    assert_eq!(
        last.reason.as_deref(),
        Some("alarm(s) firing: orders-errors")
    );
    assert_eq!(run.clock.total_slept().as_secs(), 20, "stopped mid-bake");
    assert_eq!(
        run.stderr,
        "rolled back orders:live to version 1: alarm(s) firing: orders-errors\n"
    );
}

#[tokio::test]
async fn a_failing_pre_traffic_hook_stops_before_any_traffic_moves() {
    let aws = account();
    aws.set_hook(
        HOOK,
        HookBehaviour::Fail("smoke test: 500 on /orders".into()),
    );
    let run = deploy(&aws, &["--version", "2", "--strategy", LINEAR]).await;
    assert_eq!(run.code, 1);
    let history = aws.history(FN, ALIAS);
    assert!(
        history
            .iter()
            .all(|r| !r.is_weighted() && r.function_version == "1"),
        "the alias was never weighted: {history:?}"
    );
    assert_eq!(aws.alias(FN, ALIAS).routing, Routing::single("1"));
    assert!(
        run.stdout.contains(
            "  preTraffic hook failed: hook reported failure: smoke test: 500 on /orders\n"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.ends_with(
        "rolled back orders:live to version 1: preTraffic hook failed: hook reported failure: smoke test: 500 on /orders\n"
    ));
    assert_eq!(run.clock.total_slept().as_secs(), 0);
}

#[tokio::test]
async fn an_alias_already_weighted_is_a_conflict_and_left_untouched() {
    let aws = account();
    assert_eq!(aws.publish(FN, "code-3"), "3");
    aws.add_alias(FN, "canary", Routing::split("1", "2", 1000));
    let before = aws.changes(FN, "canary");
    let run = deploy_to(
        &aws,
        "canary",
        &["--version", "3", "--strategy", LINEAR, "--output", "json"],
    )
    .await;
    assert_eq!(run.code, 3);
    assert_eq!(aws.changes(FN, "canary"), before);
    assert!(aws.hook_calls().is_empty(), "no hook ran");
    let v: serde_json::Value = serde_json::from_str(run.stdout.trim_end()).unwrap();
    assert_eq!(run.stdout.lines().count(), 1, "only the rejection");
    assert_eq!(v["eventType"], "RequestRejected");
    assert_eq!(v["errorType"], "AliasBusy");
    assert!(run.stderr.starts_with("error: alias canary is busy: "));
    assert!(run.stderr.contains("\nhint: "));
}

#[tokio::test]
async fn a_missing_alarm_is_an_invalid_request_and_changes_nothing() {
    let aws = account();
    let run = deploy(
        &aws,
        &[
            "--version",
            "2",
            "--strategy",
            LINEAR,
            "--alarm",
            "no-such-alarm",
        ],
    )
    .await;
    assert_eq!(run.code, 2);
    assert_eq!(aws.history(FN, ALIAS), [Routing::single("1")]);
    assert!(run
        .stderr
        .starts_with("error: alarms[1]: no CloudWatch alarm is named \"no-such-alarm\"\nhint: "));
    assert_eq!(run.stdout, "");
}

#[tokio::test]
async fn with_a_table_a_local_rollout_reads_the_operators_commands_at_every_check() {
    use shifter::fake::Op;
    // 10% baking 300 s, read every 60 s: five checks.
    let flags = [
        "--version",
        "2",
        "--strategy",
        "Canary10Percent5Minutes",
        "--check-interval",
        "60",
        "--table",
        "rollouts",
    ];
    let listening = account();
    let run = deploy(&listening, &flags).await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(listening.calls(Op::Control), 5);

    let deaf = account();
    let run = deploy(&deaf, &flags[..6]).await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(deaf.calls(Op::Control), 0);
    assert_eq!(deaf.changes(FN, ALIAS), listening.changes(FN, ALIAS));
}
