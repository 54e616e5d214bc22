//! Canary analysis: how long a verdict takes at a given traffic, how many GetMetricData calls a check makes,
//! and the CPU time of one `judge`. Whole rollouts of the `LocalDriver` over `FakeAws` + `FakeClock` (sleeps
//! return at once, so simulated minutes take microseconds), no alarms, `"analysis": "default"` unless a
//! scenario says otherwise.
//!
//!     cargo run --release -p shifter-core --example analysis_bench [-- --judge-iterations N]
//!
//! Traffic: the alias gets `rate` invocations a minute, split by the alias's weight: the new version (v2)
//! gets round(rate × weight), the old one (v1) the rest, re-scripted on the fake every time the driver shifts
//! traffic (an observer of its progress). The fake holds per-minute counts and CloudWatch-like sums over the
//! whole minutes of a window, so errors are whole numbers a minute too: round(invocations × error rate). A
//! good canary fails 0.5% like the old version; a bad one 10%. Both versions have a p99 of 120 ms.
//!
//! Output: `#` comment lines, then one JSON object per scenario (`"kind": "rollout"`) and per judge timing
//! (`"kind": "judge"`); tests/bench/bench.py renders them.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use serde_json::json;
use shifter::analysis::decide::Decision;
use shifter::analysis::judge::{judge, Outcome as Verdict, VersionMetrics};
use shifter::analysis::settings::{AnalysisSettings, Compare, CustomMetric};
use shifter::driver::{LocalDriver, Observer, Outcome, Progress};
use shifter::fake::sample::{ALIAS as A, FUNCTION as F};
use shifter::fake::{FakeAws, FakeClock, Op};
use shifter::notification::EventType;
use shifter::ports::Clock;
use shifter::request::{RolloutRequest, RolloutSpec};

const OLD_ERROR_RATE: f64 = 0.005;
const BAD_ERROR_RATE: f64 = 0.10;
const P99_MS: f64 = 120.0;

#[derive(Clone, Copy)]
struct Traffic {
    per_minute: u64,
    new_error_rate: f64,
}

impl Traffic {
    /// (new, old) per-minute metrics at `weight_percent` on the new version.
    fn split(&self, weight_percent: f64) -> (VersionMetrics, VersionMetrics) {
        let new = (self.per_minute as f64 * weight_percent / 100.0).round() as u64;
        let new = new.min(self.per_minute);
        let old = self.per_minute - new;
        let metrics = |invocations: u64, rate: f64| VersionMetrics {
            invocations,
            errors: (invocations as f64 * rate).round() as u64,
            latency_ms: Some(P99_MS),
            ..VersionMetrics::default()
        };
        (
            metrics(new, self.new_error_rate),
            metrics(old, OLD_ERROR_RATE),
        )
    }

    fn apply(&self, aws: &FakeAws, weight_percent: f64) -> String {
        let (new, old) = self.split(weight_percent);
        let text = format!(
            "v2 {}/min ({} err), v1 {}/min ({} err)",
            new.invocations, new.errors, old.invocations, old.errors
        );
        aws.set_version_rate(F, A, "2", new);
        aws.set_version_rate(F, A, "1", old);
        text
    }
}

/// One analysis as the observer saw it.
struct Analysis {
    at_s: u64,
    weight: f64,
    outcome: Verdict,
    decision: Decision,
    new_invocations: u64,
    old_invocations: u64,
    window_s: u64,
}

/// Re-scripts the traffic at every shift and records every analysis with the simulated time.
struct Watch {
    aws: FakeAws,
    clock: FakeClock,
    traffic: Traffic,
    start_ms: u64,
    first_shift_s: Option<u64>,
    first_split: String,
    analyses: Vec<Analysis>,
}

impl Observer for Watch {
    fn observe(&mut self, p: Progress<'_>) {
        let now_s = (self.clock.now_millis() - self.start_ms) / 1000;
        match p {
            Progress::Lifecycle(n) if n.event_type == EventType::TrafficShifted => {
                let split = self.traffic.apply(&self.aws, n.weight_percent);
                if self.first_shift_s.is_none() {
                    self.first_shift_s = Some(now_s);
                    self.first_split = format!("{}%: {split}", n.weight_percent);
                }
            }
            Progress::Checked { rollout, verdict } => {
                if let Some(a) = &verdict.analysis {
                    self.analyses.push(Analysis {
                        at_s: now_s,
                        weight: rollout.weight_bps as f64 / 100.0,
                        outcome: a.outcome,
                        decision: a.decision,
                        new_invocations: a.new_invocations,
                        old_invocations: a.old_invocations,
                        window_s: a.window_seconds,
                    });
                }
            }
            _ => {}
        }
    }
}

fn spec(strategy: &str, analysis: serde_json::Value) -> RolloutSpec {
    let req = json!({"functionName": F, "alias": A, "targetVersion": "2", "strategy": strategy,
        "analysis": analysis});
    RolloutRequest::from_value(req)
        .and_then(|r| r.validate())
        .unwrap_or_else(|e| panic!("analysis_bench: bad request: {e}"))
}

fn outcome_name(o: Verdict) -> &'static str {
    match o {
        Verdict::Passed => "Passed",
        Verdict::Failed => "Failed",
        Verdict::Inconclusive => "Inconclusive",
        Verdict::Error => "Error",
    }
}

/// The first analysis that let the rollout go on or stopped it: Passed, Failed, or an inconclusive one
/// passed (its extension used up). Checks during a bake (decision `wait`) and extensions are not verdicts.
fn verdict_of(a: &Analysis) -> Option<String> {
    match (a.decision, a.outcome) {
        (Decision::Pass, Verdict::Passed) => Some("Passed".into()),
        (Decision::Fail, Verdict::Failed) => Some("Failed".into()),
        (Decision::Pass, o) => Some(format!("{} → passed (extension used up)", outcome_name(o))),
        (Decision::Fail, o) => Some(format!("{} → failed", outcome_name(o))),
        _ => None,
    }
}

async fn scenario(
    name: &str,
    strategy: &str,
    analysis: serde_json::Value,
    canary: &str,
    traffic: Traffic,
) {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    let start_ms = clock.now_millis();
    let spec = spec(strategy, analysis.clone());
    let mut watch = Watch {
        aws: aws.clone(),
        clock: clock.clone(),
        traffic,
        start_ms,
        first_shift_s: None,
        first_split: String::new(),
        analyses: Vec::new(),
    };
    let outcome = LocalDriver::new(&aws, &clock)
        .run(&spec, "r-bench", &mut watch)
        .await;
    let total_s = (clock.now_millis() - start_ms) / 1000;
    let shift = watch.first_shift_s.unwrap_or(0);
    let first = watch
        .analyses
        .iter()
        .find_map(|a| verdict_of(a).map(|v| (a, v)));
    let get_metric_data = aws.calls(Op::GetMetricData);
    let analyses = watch.analyses.len();
    let result = match &outcome {
        Outcome::Promoted { .. } => "promoted".to_string(),
        Outcome::RolledBack { .. } => "rolled back".to_string(),
        other => format!("{other:?}"),
    };
    let line = json!({
        "kind": "rollout",
        "scenario": name,
        "strategy": strategy,
        "analysis": analysis,
        "canary": canary,
        "traffic_per_minute": traffic.per_minute,
        "first_split": watch.first_split,
        "first_verdict": first.as_ref().map(|(_, v)| v.clone()),
        "first_verdict_weight": first.as_ref().map(|(a, _)| a.weight),
        "seconds_shift_to_first_verdict": first.as_ref().map(|(a, _)| a.at_s - shift),
        "first_verdict_window_seconds": first.as_ref().map(|(a, _)| a.window_s),
        "first_verdict_invocations": first.as_ref().map(|(a, _)| json!({"new": a.new_invocations, "old": a.old_invocations})),
        "analyses": analyses,
        "inconclusive": watch.analyses.iter().filter(|a| matches!(a.outcome, Verdict::Inconclusive | Verdict::Error)).count(),
        "get_metric_data_calls": get_metric_data,
        "get_metric_data_per_analysis": if analyses > 0 { get_metric_data as f64 / analyses as f64 } else { 0.0 },
        "outcome": result,
        "seconds_rollout": total_s,
    });
    println!("{line}");
}

fn custom_metrics(n: usize) -> Vec<CustomMetric> {
    (0..n)
        .map(|i| CustomMetric {
            name: format!("metric{i}"),
            namespace: "Orders".into(),
            metric_name: format!("Metric{i}"),
            dimensions: BTreeMap::from([("Version".to_string(), "${version}".to_string())]),
            stat: "Average".into(),
            compare: if i % 2 == 0 {
                Compare::Baseline
            } else {
                Compare::Threshold
            },
            max_ratio: Some(1.5),
            max: Some(100.0),
        })
        .collect()
}

fn with_custom(mut m: VersionMetrics, n: usize, value: f64) -> VersionMetrics {
    m.custom = (0..n)
        .map(|i| (format!("metric{i}"), Some(value)))
        .collect();
    m
}

/// CPU time of one `judge` call (thread CPU from /proc/thread-self/schedstat, and wall time).
fn time_judge(
    name: &str,
    settings: &AnalysisSettings,
    new: &VersionMetrics,
    old: &VersionMetrics,
    iterations: u64,
) {
    let outcome = judge(settings, "2", new, "1", old).outcome;
    for _ in 0..iterations / 10 {
        black_box(judge(
            black_box(settings),
            "2",
            black_box(new),
            "1",
            black_box(old),
        ));
    }
    let cpu0 = thread_cpu_ns();
    let t0 = Instant::now();
    for _ in 0..iterations {
        black_box(judge(
            black_box(settings),
            "2",
            black_box(new),
            "1",
            black_box(old),
        ));
    }
    let wall = t0.elapsed();
    let cpu1 = thread_cpu_ns();
    let cpu_ns = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / iterations as f64),
        _ => None,
    };
    let line = json!({
        "kind": "judge",
        "case": name,
        "outcome": outcome_name(outcome),
        "checks": 2 + usize::from(settings.latency.is_some()) + settings.metrics.len(),
        "iterations": iterations,
        "wall_ns_per_call": wall.as_secs_f64() * 1e9 / iterations as f64,
        "thread_cpu_ns_per_call": cpu_ns,
        "total_wall_ms": wall.as_secs_f64() * 1e3,
    });
    println!("{line}");
}

fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    match args.iter().position(|a| a == name) {
        None => default,
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("analysis_bench: {name} needs a number")),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let iterations = arg(&args, "--judge-iterations", 300_000).max(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");

    println!("# analysis_bench: LocalDriver over FakeAws + FakeClock (simulated time), no alarms");
    println!(
        "# traffic split by the alias weight; errors: old {}%, good canary {}%, bad canary {}%; p99 {P99_MS} ms both",
        OLD_ERROR_RATE * 100.0,
        OLD_ERROR_RATE * 100.0,
        BAD_ERROR_RATE * 100.0
    );
    let scenarios = [
        ("canary", "Canary10Percent5Minutes", json!("default")),
        (
            "canary, intervalSeconds 60",
            "Canary10Percent5Minutes",
            json!({"intervalSeconds": 60}),
        ),
        ("linear", "Linear10PercentEvery1Minute", json!("default")),
    ];
    rt.block_on(async {
        for (name, strategy, analysis) in &scenarios {
            for per_minute in [10, 100, 1000] {
                for (canary, rate) in [("good", OLD_ERROR_RATE), ("bad", BAD_ERROR_RATE)] {
                    let traffic = Traffic {
                        per_minute,
                        new_error_rate: rate,
                    };
                    scenario(name, strategy, analysis.clone(), canary, traffic).await;
                }
            }
        }
    });

    println!(
        "# judge: {iterations} calls per case after {} warm-up calls, one thread",
        iterations / 10
    );
    let defaults = AnalysisSettings::default();
    let old = VersionMetrics {
        invocations: 4500,
        errors: 20,
        latency_ms: Some(120.0),
        ..VersionMetrics::default()
    };
    let good = VersionMetrics {
        invocations: 500,
        errors: 2,
        latency_ms: Some(125.0),
        ..VersionMetrics::default()
    };
    let bad = VersionMetrics {
        errors: 50,
        ..good.clone()
    };
    let quiet = VersionMetrics {
        invocations: 50,
        errors: 0,
        ..good.clone()
    };
    time_judge(
        "default settings, good canary",
        &defaults,
        &good,
        &old,
        iterations,
    );
    time_judge(
        "default settings, bad canary",
        &defaults,
        &bad,
        &old,
        iterations,
    );
    time_judge(
        "default settings, too few invocations",
        &defaults,
        &quiet,
        &old,
        iterations,
    );
    let ten = AnalysisSettings {
        metrics: custom_metrics(10),
        ..AnalysisSettings::default()
    };
    time_judge(
        "10 custom metrics (the maximum), good canary",
        &ten,
        &with_custom(good.clone(), 10, 50.0),
        &with_custom(old.clone(), 10, 50.0),
        iterations,
    );
}
