//! Scale under Lambda's control-plane budget (issue "Proven under faults", part 4): 1,000 rollouts of
//! `Linear10PercentEvery1Minute`, all started within the same minute, each a whole execution of the ASL over
//! the real handlers, sharing one fake account whose Lambda control plane admits 15 requests a second
//! (`FakeAws::limit_lambda`; the SDK's retries played as `shifter::aws::retry_config` sets them). Time is
//! tokio's paused clock: bakes, Wait states, the SDK's backoff and the Retry blocks' (jittered) waits are
//! simulated, and the executions interleave on it as they would on AWS.
//!
//! Goal: no rollout fails, no alias is left weighted or leased, and every shift comes within its bake plus
//! N/15 s of the one before (N rollouts queueing for a 15/s budget). The table is in docs/reliability.md;
//! `SHIFTER_WRITE_RELIABILITY=1` rewrites it; `SHIFTER_SCALE_ROLLOUTS` runs another count and only prints.
//!
//! The experiments docs/reliability.md reports (other Retry and SDK settings) are knobs here, off by default:
//! `SHIFTER_SCALE_THROTTLE=interval,attempts,max_delay` replaces every Task's throttle Retry,
//! `SHIFTER_SCALE_THROTTLE_PREPARE=…` Prepare's alone, `SHIFTER_SCALE_SDK=max_attempts,max_backoff_seconds` the SDK's.
//! With a knob set the test still prints its table, then fails: on the goal where the setting is worse, and
//! otherwise on the doc's table, which records the settings in the code.

use std::time::Duration;

use serde_json::{json, Value};
use shifter::domain::{AlarmState, Routing};
use shifter::fake::{FakeAws, FakeClock, Op, Quota, SdkRetry};
use shifter_contract_tests::{asl, execute_timed, Execution, Status, Timing};
use tokio::time::Instant;

mod common;
use common::*;

const ROLLOUTS: usize = 1000;
const STRATEGY: &str = "Linear10PercentEvery1Minute";
const BAKE_SECONDS: f64 = 60.0;
const ALARM: &str = "orders-errors";

fn function(i: usize) -> String {
    format!("fn-{i:04}")
}

fn account(rollouts: usize) -> FakeAws {
    let aws = FakeAws::new();
    // Alarms stamped long before any check (see fault_matrix.rs): the handlers read the system clock.
    aws.use_clock(&FakeClock::new(1_000_000_000_000));
    aws.set_alarm(ALARM, AlarmState::Ok);
    for i in 0..rollouts {
        let name = function(i);
        aws.add_function(&name);
        aws.publish(&name, "code-1");
        aws.publish(&name, "code-2");
        aws.add_alias(&name, "live", Routing::single("1"));
    }
    aws
}

/// One rollout's execution and when its alias moved (seconds since the simulation began).
struct Rollout {
    started: f64,
    shifts: Vec<(Routing, f64)>,
    execution: Execution,
}

async fn rollout(
    aws: FakeAws,
    definition: Value,
    i: usize,
    start: Instant,
    offset: f64,
) -> Rollout {
    tokio::time::sleep(Duration::from_secs_f64(offset)).await;
    let name = function(i);
    let input = json!({"functionName": name, "alias": "live", "targetVersion": "2",
        "strategy": STRATEGY, "alarms": [ALARM]});
    let shifts = std::cell::RefCell::new(Vec::new());
    let timing = Timing {
        sleep: true,
        seed: 42,
    };
    let execution = execute_timed(
        &definition,
        input,
        &format!("r-{i}"),
        timing,
        |resource, input| {
            let aws = aws.clone();
            let name = name.clone();
            let shifts = &shifts;
            async move {
                let before = aws.alias(&name, "live").routing;
                let result = if resource == "${WaitFunctionArn}" {
                    wait(&aws, input, |_| {}).await
                } else {
                    call(&aws, &resource, input).await
                };
                let after = aws.alias(&name, "live").routing;
                if after != before {
                    shifts
                        .borrow_mut()
                        .push((after, start.elapsed().as_secs_f64()));
                }
                result
            }
        },
    )
    .await;
    Rollout {
        started: offset,
        shifts: shifts.into_inner(),
        execution,
    }
}

/// What one simulation measured.
struct Figures {
    rollouts: usize,
    failed: Vec<String>,
    left_weighted_or_leased: Vec<String>,
    /// Seconds from each execution's start to its first shift.
    first_shift: Vec<f64>,
    /// Per step after the first: how late the shift came after the previous one's bake.
    lateness: Vec<Vec<f64>>,
    control_plane_calls: usize,
    throttled_attempts: usize,
    surfaced: usize,
    state_machine_retries: usize,
    shifts: usize,
    longest_rollout: f64,
}

async fn simulate(rollouts: usize, definition: Value) -> Figures {
    let aws = account(rollouts);
    let mut sdk = SdkRetry::shifter();
    // Experiments: SHIFTER_SCALE_SDK=max_attempts,max_backoff_seconds.
    if let Ok(spec) = std::env::var("SHIFTER_SCALE_SDK") {
        let n: Vec<u64> = spec.split(',').map(|x| x.parse().unwrap()).collect();
        sdk.max_attempts = n[0] as u32;
        sdk.max_backoff = Duration::from_secs(n[1]);
    }
    aws.limit_lambda(Quota::CONTROL_PLANE, sdk, 7);
    let start = Instant::now();
    let local = tokio::task::LocalSet::new();
    let runs: Vec<Rollout> = local
        .run_until(async {
            let handles: Vec<_> = (0..rollouts)
                .map(|i| {
                    // All started within the same minute, evenly.
                    let offset = 60.0 * i as f64 / rollouts as f64;
                    tokio::task::spawn_local(rollout(
                        aws.clone(),
                        definition.clone(),
                        i,
                        start,
                        offset,
                    ))
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await.expect("a rollout task panicked"));
            }
            out
        })
        .await;

    let stats = aws.budget_stats();
    if std::env::var_os("SHIFTER_SCALE_DEBUG").is_some() {
        eprintln!("{stats:?}");
    }
    let mut figures = Figures {
        rollouts,
        failed: vec![],
        left_weighted_or_leased: vec![],
        first_shift: vec![],
        lateness: vec![],
        control_plane_calls: stats
            .admitted
            .iter()
            .filter(|(op, _)| **op != Op::DescribeFunction)
            .map(|(_, n)| n)
            .sum(),
        throttled_attempts: stats.throttled.values().sum(),
        surfaced: stats.surfaced,
        state_machine_retries: runs.iter().map(|r| r.execution.retries).sum(),
        shifts: runs.iter().map(|r| r.shifts.len()).sum(),
        longest_rollout: 0.0,
    };
    for (i, run) in runs.iter().enumerate() {
        let name = function(i);
        if !matches!(run.execution.status, Status::Succeeded(_)) {
            figures
                .failed
                .push(format!("{name}: {:?}", run.execution.status));
        }
        let routing = aws.alias(&name, "live").routing;
        if routing.is_weighted() || aws.lease(&name, "live").is_some() {
            figures.left_weighted_or_leased.push(format!(
                "{name}: {routing}, lease {:?}",
                aws.lease(&name, "live")
            ));
        }
        if let Some((_, first)) = run.shifts.first() {
            figures.first_shift.push(first - run.started);
        }
        for (k, pair) in run.shifts.windows(2).enumerate() {
            if figures.lateness.len() <= k {
                figures.lateness.push(vec![]);
            }
            figures.lateness[k].push(pair[1].1 - pair[0].1 - BAKE_SECONDS);
        }
        if let Some((_, last)) = run.shifts.last() {
            figures.longest_rollout = figures.longest_rollout.max(last - run.started);
        }
    }
    figures
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn table(f: &Figures) -> String {
    let steps = f.rollouts * 10;
    let mut lines = vec![
        format!(
            "{} rollouts of `{STRATEGY}` started within one minute; Lambda's control plane at 15 requests/s; \
             simulated time.",
            f.rollouts
        ),
        String::new(),
        "| | figure |".to_string(),
        "|---|---:|".to_string(),
        format!("| rollouts failed | {} |", f.failed.len()),
        format!(
            "| aliases left weighted or leased | {} |",
            f.left_weighted_or_leased.len()
        ),
        format!("| shifts (10 per rollout) | {} |", f.shifts),
        format!(
            "| control-plane calls admitted (GetAlias, UpdateAlias, GetFunctionConfiguration...) | {} |",
            f.control_plane_calls
        ),
        format!(
            "| control-plane calls per step | {:.2} |",
            f.control_plane_calls as f64 / steps as f64
        ),
        format!(
            "| attempts throttled (TooManyRequestsException) | {} |",
            f.throttled_attempts
        ),
        format!(
            "| calls still throttled after the SDK's 3 attempts | {} |",
            f.surfaced
        ),
        format!(
            "| Task retries by the state machine | {} |",
            f.state_machine_retries
        ),
        format!(
            "| start to first shift: p50 / p99 / max | {:.1} s / {:.1} s / {:.1} s |",
            percentile(&f.first_shift, 50.0),
            percentile(&f.first_shift, 99.0),
            percentile(&f.first_shift, 100.0)
        ),
        format!(
            "| longest rollout, start to 100% (10 × 60 s of bakes: 540 s) | {:.0} s |",
            f.longest_rollout
        ),
        String::new(),
        format!(
            "Lateness of each shift after the previous one's 60 s bake (goal: at most N/15 = {:.1} s):",
            f.rollouts as f64 / 15.0
        ),
        String::new(),
        "| step | p50 | p99 | max |".to_string(),
        "|---|---:|---:|---:|".to_string(),
    ];
    for (k, late) in f.lateness.iter().enumerate() {
        lines.push(format!(
            "| {}% → {}% | {:.1} s | {:.1} s | {:.1} s |",
            (k + 1) * 10,
            (k + 2) * 10,
            percentile(late, 50.0),
            percentile(late, 99.0),
            percentile(late, 100.0)
        ));
    }
    lines.join("\n")
}

#[tokio::test(start_paused = true)]
async fn a_thousand_rollouts_share_the_control_plane_without_failing_or_orphaning() {
    let rollouts = std::env::var("SHIFTER_SCALE_ROLLOUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(ROLLOUTS);
    let mut definition = asl();
    // Experiments: SHIFTER_SCALE_THROTTLE=interval,attempts,max_delay replaces every Task's throttle Retry.
    if let Ok(spec) = std::env::var("SHIFTER_SCALE_THROTTLE") {
        let n: Vec<u64> = spec.split(',').map(|x| x.parse().unwrap()).collect();
        let prepare: Option<Vec<u64>> = std::env::var("SHIFTER_SCALE_THROTTLE_PREPARE")
            .ok()
            .map(|p| p.split(',').map(|x| x.parse().unwrap()).collect());
        for (name, state) in definition["States"].as_object_mut().unwrap().iter_mut() {
            let n = match (&prepare, name.as_str()) {
                (Some(p), "Prepare") => p.clone(),
                _ => n.clone(),
            };
            if let Some(first) = state.get_mut("Retry").and_then(|r| r.get_mut(0)) {
                first["IntervalSeconds"] = json!(n[0]);
                first["MaxAttempts"] = json!(n[1]);
                first["MaxDelaySeconds"] = json!(n[2]);
            }
        }
    }
    let figures = simulate(rollouts, definition).await;
    let table = table(&figures);
    println!("{table}");
    assert!(
        figures.failed.is_empty(),
        "{} rollouts failed, e.g. {:?}",
        figures.failed.len(),
        &figures.failed[..figures.failed.len().min(3)]
    );
    assert!(
        figures.left_weighted_or_leased.is_empty(),
        "{:?}",
        &figures.left_weighted_or_leased[..figures.left_weighted_or_leased.len().min(3)]
    );
    assert_eq!(figures.shifts, rollouts * 10, "10 shifts per rollout");
    let bound = rollouts as f64 / 15.0;
    let worst = figures
        .lateness
        .iter()
        .map(|l| percentile(l, 100.0))
        .fold(0.0, f64::max);
    assert!(
        worst <= bound,
        "a shift came {worst:.1} s after its bake, beyond N/15 = {bound:.1} s"
    );
    if rollouts != ROLLOUTS {
        return;
    }
    reliability_doc_section("scale", &table, "scale");
}
