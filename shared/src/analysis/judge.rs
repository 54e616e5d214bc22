//! One analysis: the new version's metrics against the old version's over the same window, check by check,
//! into one verdict with its evidence. Pure: the metrics come in as numbers (`VersionMetrics`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::settings::{AnalysisSettings, Compare};
use super::stats::{error_rate_test, Counts, ErrorRateVerdict};

/// One version's metrics over the window. `None`: CloudWatch had no data point (never read as healthy).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionMetrics {
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    /// The configured Duration statistic, in milliseconds.
    pub latency_ms: Option<f64>,
    /// Custom metrics by their `name`.
    pub custom: BTreeMap<String, Option<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Passed,
    Failed,
    /// Not enough data to judge.
    Inconclusive,
    /// The metrics could not be read (set by the caller: a judgement never produces it).
    Error,
}

/// One check's result and the line of evidence that says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check: String,
    pub outcome: Outcome,
    pub evidence: String,
}

/// The analysis verdict: Failed if any check failed, else Inconclusive if any was, else Passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisVerdict {
    pub outcome: Outcome,
    pub checks: Vec<CheckResult>,
}

impl AnalysisVerdict {
    /// The evidence of every check, one per line, failures first.
    pub fn evidence(&self) -> String {
        let mut lines: Vec<&CheckResult> = self.checks.iter().collect();
        lines.sort_by_key(|c| match c.outcome {
            Outcome::Failed => 0,
            Outcome::Error => 1,
            Outcome::Inconclusive => 2,
            Outcome::Passed => 3,
        });
        lines
            .iter()
            .map(|c| c.evidence.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Judges `new` (version `new_version`) against `old` with `settings`.
pub fn judge(
    settings: &AnalysisSettings,
    new_version: &str,
    new: &VersionMetrics,
    old_version: &str,
    old: &VersionMetrics,
) -> AnalysisVerdict {
    let enough = new.invocations >= settings.min_invocations.max(1)
        && old.invocations >= settings.min_invocations.max(1);
    let mut checks = Vec::new();

    let errors = error_rate_test(
        Counts::new(new.invocations, new.errors),
        Counts::new(old.invocations, old.errors),
        settings.error_rate.max_increase_points,
        settings.confidence,
        settings.min_invocations,
    );
    checks.push(CheckResult {
        check: "errorRate".into(),
        outcome: match errors.verdict {
            ErrorRateVerdict::Passed => Outcome::Passed,
            ErrorRateVerdict::Failed => Outcome::Failed,
            ErrorRateVerdict::Inconclusive => Outcome::Inconclusive,
        },
        evidence: errors.evidence(new_version, old_version),
    });

    if let Some(latency) = &settings.latency {
        let stat = &latency.stat;
        let (outcome, evidence) = match (new.latency_ms, old.latency_ms) {
            _ if !enough => (
                Outcome::Inconclusive,
                format!(
                    "latency {stat}: fewer than {} invocations per version → Inconclusive",
                    settings.min_invocations
                ),
            ),
            (Some(n), Some(o)) if o > 0.0 => {
                let ratio = n / o;
                let passed = ratio <= latency.max_ratio;
                (
                    if passed { Outcome::Passed } else { Outcome::Failed },
                    format!(
                        "latency {stat}: v{new_version} {n:.0} ms vs v{old_version} {o:.0} ms, ratio {ratio:.2} {} {:.2} allowed → {}",
                        if passed { "≤" } else { ">" },
                        latency.max_ratio,
                        if passed { "Passed" } else { "Failed" }
                    ),
                )
            }
            _ => (
                Outcome::Inconclusive,
                format!("latency {stat}: no Duration data for both versions → Inconclusive"),
            ),
        };
        checks.push(CheckResult {
            check: "latency".into(),
            outcome,
            evidence,
        });
    }

    let max = settings.throttles.max;
    let throttled = new.throttles > max;
    checks.push(CheckResult {
        check: "throttles".into(),
        outcome: if throttled {
            Outcome::Failed
        } else {
            Outcome::Passed
        },
        evidence: format!(
            "throttles: v{new_version} {} {} {max} allowed → {}",
            new.throttles,
            if throttled { ">" } else { "≤" },
            if throttled { "Failed" } else { "Passed" }
        ),
    });

    for metric in &settings.metrics {
        let name = &metric.name;
        let value = |m: &VersionMetrics| m.custom.get(name).copied().flatten();
        let (outcome, evidence) = match (metric.compare, value(new), value(old)) {
            (Compare::Threshold, Some(n), _) => {
                let max = metric.max.unwrap_or(f64::INFINITY);
                let passed = n <= max;
                (
                    if passed {
                        Outcome::Passed
                    } else {
                        Outcome::Failed
                    },
                    format!(
                        "{name}: v{new_version} {n} {} {max} allowed → {}",
                        if passed { "≤" } else { ">" },
                        if passed { "Passed" } else { "Failed" }
                    ),
                )
            }
            (Compare::Baseline, Some(n), Some(o)) => {
                let allowed = metric.max_ratio.unwrap_or(f64::INFINITY);
                // A baseline of 0: any value of the new version is an infinite ratio, except 0.
                let ratio = if o > 0.0 {
                    n / o
                } else if n > 0.0 {
                    f64::INFINITY
                } else {
                    1.0
                };
                let passed = ratio <= allowed;
                (
                    if passed { Outcome::Passed } else { Outcome::Failed },
                    format!(
                        "{name}: v{new_version} {n} vs v{old_version} {o}, ratio {ratio:.2} {} {allowed:.2} allowed → {}",
                        if passed { "≤" } else { ">" },
                        if passed { "Passed" } else { "Failed" }
                    ),
                )
            }
            _ => (
                Outcome::Inconclusive,
                format!("{name}: no data for both versions → Inconclusive"),
            ),
        };
        checks.push(CheckResult {
            check: name.clone(),
            outcome,
            evidence,
        });
    }

    let outcome = if checks.iter().any(|c| c.outcome == Outcome::Failed) {
        Outcome::Failed
    } else if checks.iter().any(|c| c.outcome == Outcome::Inconclusive) {
        Outcome::Inconclusive
    } else {
        Outcome::Passed
    };
    AnalysisVerdict { outcome, checks }
}
