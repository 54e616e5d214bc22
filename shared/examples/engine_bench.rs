//! The engine's own CPU cost per plan step: `LocalDriver` over `FakeAws` + `FakeClock` (instant sleeps) on a
//! current-thread tokio runtime, so everything measured is shifter's code plus the in-memory fake.
//!
//!     cargo run --release -p shifter-core --example engine_bench [-- --rollouts N --warmup N]
//!
//! Two plans: `linear-10` (Linear10PercentEvery1Minute: 9 weighted steps + the final 100% = 10 steps) and
//! `steps-100` (custom steps 1%..99% + 100% = 100 steps, the most a plan may have). Every weighted step bakes
//! 60 s, so with the driver's 10 s check interval a step is: 1 alias read + 1 alias write, 6 alarm reads,
//! 1 SNS publish (the request names a topic), plus progress callbacks. Each rollout also has a pre- and a
//! post-traffic hook and ends promoted.
//!
//! The worlds (fake account + clock) are built before the timed loop and dropped after it. Output: `#` comment
//! lines, then one JSON object per plan (tests/bench/bench.py parses them).

use std::time::{Duration, Instant};

use serde_json::json;
use shifter::domain::AlarmState;
use shifter::driver::{LocalDriver, Outcome, Silent};
use shifter::fake::{FakeAws, FakeClock, Op};
use shifter::request::{RolloutRequest, RolloutSpec};

use shifter::fake::sample::{ALIAS as A, FUNCTION as F, TOPIC};

fn world() -> FakeAws {
    let aws = FakeAws::sample();
    aws.set_alarm("latency", AlarmState::Ok);
    aws
}

fn spec(strategy: serde_json::Value) -> RolloutSpec {
    let req = json!({
        "functionName": F, "alias": A, "targetVersion": "2", "strategy": strategy,
        "alarms": ["orders-errors", "latency"], "notificationTopicArn": TOPIC,
        "hooks": {"preTraffic": "pre-hook", "postTraffic": "post-hook"},
    });
    RolloutRequest::from_value(req)
        .and_then(|r| r.validate())
        .unwrap_or_else(|e| panic!("engine_bench: bad request: {e}"))
}

/// CPU time of the calling thread in ns (`/proc/thread-self/schedstat`; the kernel updates it at scheduler
/// ticks, so it may lag by a few ms), if readable.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The process's user + system CPU time in clock ticks (`/proc/self/stat` fields 14 and 15), if readable.
fn process_cpu_ticks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state), so field N is rest[N - 3].
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// USER_HZ: 100 on every mainstream Linux configuration (`getconf CLK_TCK`); no libc to ask.
const TICKS_PER_SECOND: f64 = 100.0;

async fn run_all(worlds: &[(FakeAws, FakeClock)], spec: &RolloutSpec) -> usize {
    let mut promoted = 0;
    for (i, (aws, clock)) in worlds.iter().enumerate() {
        let mut driver = LocalDriver::new(aws, clock);
        driver.check_interval = Duration::from_secs(10);
        let outcome = driver.run(spec, &format!("r-{i}"), &mut Silent).await;
        if matches!(outcome, Outcome::Promoted { .. }) {
            promoted += 1;
        } else {
            panic!("engine_bench: rollout {i} did not promote: {outcome:?}");
        }
    }
    promoted
}

fn bench(
    rt: &tokio::runtime::Runtime,
    name: &str,
    spec: &RolloutSpec,
    rollouts: usize,
    warmup: usize,
) {
    let steps = spec.plan.steps.len();
    let make = |n: usize| -> Vec<(FakeAws, FakeClock)> {
        (0..n).map(|_| (world(), FakeClock::default())).collect()
    };

    let warm = make(warmup);
    rt.block_on(run_all(&warm, spec));
    drop(warm);

    let worlds = make(rollouts);
    let cpu0 = thread_cpu_ns();
    let ticks0 = process_cpu_ticks();
    let t0 = Instant::now();
    let promoted = rt.block_on(run_all(&worlds, spec));
    let wall = t0.elapsed();
    let ticks1 = process_cpu_ticks();
    let cpu1 = thread_cpu_ns();
    assert_eq!(promoted, rollouts);

    let total_steps = (rollouts * steps) as f64;
    let wall_us = wall.as_secs_f64() * 1e6;
    let thread_cpu_us = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / 1e3),
        _ => None,
    };
    let process_cpu_us = match (ticks0, ticks1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / TICKS_PER_SECOND * 1e6),
        _ => None,
    };
    let per_step = |us: Option<f64>| us.map(|u| u / total_steps);
    let (aws, clock) = &worlds[0];
    let calls = json!({
        "readAlias": aws.calls(Op::ReadAlias),
        "writeAlias": aws.calls(Op::WriteAlias),
        "alarmStates": aws.calls(Op::AlarmStates),
        "invoke": aws.calls(Op::Invoke),
        "publish": aws.calls(Op::Publish),
        "describeFunction": aws.calls(Op::DescribeFunction),
        "versionInfo": aws.calls(Op::VersionInfo),
    });
    // Lambda's control plane (about 15 calls a second per account and region): GetAlias, UpdateAlias,
    // GetFunction, GetFunctionConfiguration.
    let control_plane = [
        Op::ReadAlias,
        Op::WriteAlias,
        Op::DescribeFunction,
        Op::VersionInfo,
    ]
    .iter()
    .map(|op| aws.calls(*op))
    .sum::<usize>();
    let line = json!({
        "plan": name,
        "control_plane_calls_per_rollout": control_plane,
        "alias_writes_per_step": aws.calls(Op::WriteAlias) as f64 / steps as f64,
        "alias_reads_per_step": aws.calls(Op::ReadAlias) as f64 / steps as f64,
        "steps": steps,
        "rollouts": rollouts,
        "warmup": warmup,
        "bake_seconds_simulated_per_rollout": clock.total_slept().as_secs(),
        "wall_us_total": wall_us,
        "wall_us_per_rollout": wall_us / rollouts as f64,
        "wall_us_per_step": wall_us / total_steps,
        "thread_cpu_us_total": thread_cpu_us,
        "thread_cpu_us_per_step": per_step(thread_cpu_us),
        "process_cpu_us_total": process_cpu_us,
        "process_cpu_us_per_step": per_step(process_cpu_us),
        "calls_per_rollout": calls,
    });
    println!("{line}");
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    match args.iter().position(|a| a == name) {
        None => default,
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("engine_bench: {name} needs a number")),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rollouts = arg(&args, "--rollouts", 2000).max(1);
    let warmup = arg(&args, "--warmup", 100);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");

    let linear = spec(json!("Linear10PercentEvery1Minute"));
    let custom: Vec<serde_json::Value> = (1..=99)
        .map(|p| json!({"percent": p, "bakeSeconds": 60}))
        .chain(std::iter::once(json!({"percent": 100})))
        .collect();
    let steps = spec(json!({"type": "steps", "steps": custom}));
    assert_eq!(linear.plan.steps.len(), 10);
    assert_eq!(steps.plan.steps.len(), 100);

    println!("# engine_bench: LocalDriver over FakeAws + FakeClock, current-thread tokio runtime");
    println!("# {rollouts} timed rollouts per plan after {warmup} warm-up rollouts; worlds built outside the timing");
    println!("# thread CPU: /proc/thread-self/schedstat (ns, updated at scheduler ticks); process CPU: /proc/self/stat utime+stime (10 ms ticks)");
    bench(&rt, "linear-10", &linear, rollouts, warmup);
    bench(&rt, "steps-100", &steps, rollouts, warmup);
}
