//! The canary-analysis part of `shifter plan`: which checks run, and, at a given traffic, how long each step
//! needs before both versions have `minInvocations` for a judgement. Pure: no AWS.

use shifter::analysis::settings::{AnalysisSettings, Compare, WhenInconclusive};
use shifter::domain::percent;
use shifter::plan::{Plan, FULL_BPS};

use crate::fmt;

/// `--traffic`: `600/min`, `10/s`, or a bare number of invocations per minute. Returns invocations per minute.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, per_minute) = match text.split_once('/') {
        Some((n, "min" | "m")) => (n, 1.0),
        Some((n, "s" | "sec")) => (n, 60.0),
        Some((_, unit)) => {
            return Err(format!(
                "unknown unit \"{unit}\": give invocations per minute or per second, as 600/min or 10/s"
            ))
        }
        None => (text, 1.0),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("\"{text}\" is not a rate: give one as 600/min or 10/s"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err("must be above 0, as 600/min or 10/s".into());
    }
    Ok(n * per_minute)
}

/// The checks, then (with `traffic` in invocations per minute) a line per weighted step.
pub fn describe(settings: &AnalysisSettings, plan: &Plan, traffic: Option<f64>) -> String {
    let mut lines = vec![format!(
        "canary analysis: the new version against the old one at the end of each bake{}",
        settings.interval_seconds.map_or(String::new(), |i| format!(
            ", and every {} during one",
            fmt::seconds(u64::from(i))
        ))
    )];
    lines.push(format!(
        "  errors     fail when the new error rate exceeds the old one by more than {} pts (one-sided test at {}%)",
        settings.error_rate.max_increase_points,
        settings.confidence * 100.0
    ));
    if let Some(l) = &settings.latency {
        lines.push(format!(
            "  latency    fail when the new {} Duration is above {} × the old one's",
            l.stat, l.max_ratio
        ));
    }
    lines.push(format!(
        "  throttles  fail above {} on the new version",
        settings.throttles.max
    ));
    for m in &settings.metrics {
        let limit = match m.compare {
            Compare::Baseline => {
                format!("above {} × the old version's", m.max_ratio.unwrap_or(1.0))
            }
            Compare::Threshold => format!("above {}", m.max.unwrap_or(f64::INFINITY)),
        };
        lines.push(format!(
            "  {}  {} {} ({}): fail {limit}",
            m.name, m.namespace, m.metric_name, m.stat
        ));
    }
    let max_ext = fmt::seconds(u64::from(settings.max_extension_seconds));
    lines.push(format!(
        "  judged once both versions have {} invocations; until then: {}",
        settings.min_invocations,
        match settings.when_inconclusive {
            WhenInconclusive::Extend => format!("bake longer, up to {max_ext}, then pass"),
            WhenInconclusive::Pass => "pass".into(),
            WhenInconclusive::Fail => "fail (roll back)".into(),
        }
    ));
    match traffic {
        None => lines.push(
            "  give --traffic RATE (the alias's invocations, as 600/min) to see how long each step needs"
                .into(),
        ),
        Some(rate) => lines.extend(steps(settings, plan, rate)),
    }
    lines.join("\n")
}

/// How long a step's bake must run for both versions to reach `minInvocations`, in whole minutes (Lambda's
/// metrics have a one-minute resolution). None: a version gets no traffic at this weight.
pub fn seconds_needed(
    settings: &AnalysisSettings,
    weight_bps: u32,
    per_minute: f64,
) -> Option<u64> {
    let share = f64::from(weight_bps) / f64::from(FULL_BPS);
    let slowest = (per_minute * share).min(per_minute * (1.0 - share));
    if slowest <= 0.0 {
        return None;
    }
    let minutes = (settings.min_invocations.max(1) as f64 / slowest).ceil();
    Some((minutes as u64).max(1) * 60)
}

fn steps(settings: &AnalysisSettings, plan: &Plan, per_minute: f64) -> Vec<String> {
    let mut lines = vec![
        format!("at {} invocations/min:", round(per_minute)),
        format!(
            "{:>4}  {:>7}  {:>7}  {:>7}  {:<9}  {:<9}  verdict",
            "step", "weight", "new/min", "old/min", "needs", "bake"
        ),
    ];
    for (i, step) in plan.steps.iter().enumerate() {
        if step.weight_bps >= FULL_BPS {
            continue;
        }
        let share = f64::from(step.weight_bps) / f64::from(FULL_BPS);
        let needed = seconds_needed(settings, step.weight_bps, per_minute);
        let bake = u64::from(step.bake_seconds);
        let verdict = match needed {
            Some(n) if n <= bake.max(60) => "at the end of the bake".to_string(),
            Some(n)
                if settings.when_inconclusive == WhenInconclusive::Extend
                    && n <= bake + u64::from(settings.max_extension_seconds) =>
            {
                format!("after {} of extension", fmt::seconds(n - bake))
            }
            _ => match settings.when_inconclusive {
                WhenInconclusive::Fail => "inconclusive: rolls back".to_string(),
                WhenInconclusive::Pass => "inconclusive: passes without a judgement".to_string(),
                WhenInconclusive::Extend => format!(
                    "inconclusive after {} of extension: passes without a judgement",
                    fmt::seconds(u64::from(settings.max_extension_seconds))
                ),
            },
        };
        lines.push(format!(
            "{:>4}  {:>7}  {:>7}  {:>7}  {:<9}  {:<9}  {verdict}",
            i + 1,
            percent(step.weight_bps),
            round(per_minute * share),
            round(per_minute * (1.0 - share)),
            needed.map_or("never".to_string(), fmt::seconds),
            fmt::seconds(bake),
        ));
    }
    lines
}

fn round(n: f64) -> String {
    if n >= 10.0 || n.fract() == 0.0 {
        format!("{n:.0}")
    } else {
        format!("{n:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shifter::plan::Strategy;

    fn plan(strategy: serde_json::Value) -> Plan {
        Strategy::from_json(&strategy).unwrap().plan().unwrap()
    }

    #[test]
    fn rates_per_minute_or_second() {
        assert_eq!(parse_rate("600/min"), Ok(600.0));
        assert_eq!(parse_rate("10/s"), Ok(600.0));
        assert_eq!(parse_rate("2.5"), Ok(2.5));
        assert!(parse_rate("0/min").is_err());
        assert!(parse_rate("5/h").unwrap_err().contains("unknown unit"));
        assert!(parse_rate("lots").is_err());
    }

    #[test]
    fn time_needed_is_set_by_the_version_with_less_traffic() {
        let s = AnalysisSettings::default();
        // 10% of 600/min: 60 a minute for the new version, 100 needed: 2 minutes.
        assert_eq!(seconds_needed(&s, 1000, 600.0), Some(120));
        // 90%: the old version has 60 a minute now.
        assert_eq!(seconds_needed(&s, 9000, 600.0), Some(120));
        assert_eq!(seconds_needed(&s, 5000, 1000.0), Some(60));
        assert_eq!(seconds_needed(&s, 1000, 10.0), Some(100 * 60));
    }

    #[test]
    fn the_plan_shows_the_checks_and_each_steps_verdict_time() {
        let s = AnalysisSettings::from_value(&json!({"metrics": [{"name": "checkout-failures",
            "namespace": "Orders", "metricName": "CheckoutFailed", "dimensions": {"Version": "${version}"},
            "stat": "Sum", "compare": "baseline", "maxRatio": 1.5}]}))
        .unwrap();
        let canary = plan(json!("Canary10Percent5Minutes"));
        insta::assert_snapshot!(
            "plan_analysis",
            [
                describe(&s, &canary, None),
                describe(&s, &canary, Some(1000.0)),
                describe(&s, &canary, Some(100.0)),
                describe(&s, &canary, Some(10.0)),
                describe(
                    &AnalysisSettings::from_value(
                        &json!({"whenInconclusive": "fail", "latency": null})
                    )
                    .unwrap(),
                    &plan(json!("Linear10PercentEvery1Minute")),
                    Some(600.0)
                ),
            ]
            .join("\n\n")
        );
    }
}
