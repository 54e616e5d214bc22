//! The `analysis` settings of a rollout request: `"default"`, or an object whose omitted fields take the
//! defaults. Checked before anything changes; errors name the field (`analysis.confidence`) and what is valid.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// Where a custom metric's dimensions name the version being judged.
pub const VERSION_PLACEHOLDER: &str = "${version}";
/// The team's own metrics per rollout. The settings travel in the state machine's state (at most 256 KB on AWS),
/// so every part of them is capped: ten metrics at their longest take about 25 KB.
pub const MAX_CUSTOM_METRICS: usize = 10;
/// Dimensions per custom metric (CloudWatch allows 30; a per-version metric rarely needs more than three).
pub const MAX_DIMENSIONS: usize = 5;
/// A custom metric's `name`: it names the check in the evidence.
pub const MAX_METRIC_LABEL: usize = 64;
/// CloudWatch's own limit on a namespace and a metric name.
pub const MAX_METRIC_NAME: usize = 255;
/// A dimension's name (CloudWatch: 255) and value (CloudWatch: 1024), capped lower for the state's size.
pub const MAX_DIMENSION_NAME: usize = 128;
pub const MAX_DIMENSION_VALUE: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AnalysisSettings {
    pub error_rate: ErrorRateSettings,
    pub latency: Option<LatencySettings>,
    pub throttles: ThrottleSettings,
    pub min_invocations: u64,
    pub confidence: f64,
    pub when_inconclusive: WhenInconclusive,
    pub max_extension_seconds: u32,
    /// Analyse during a bake too, every this many seconds (one check loop: 3 transitions each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<u32>,
    pub metrics: Vec<CustomMetric>,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            error_rate: ErrorRateSettings::default(),
            latency: Some(LatencySettings::default()),
            throttles: ThrottleSettings::default(),
            min_invocations: 100,
            confidence: 0.95,
            when_inconclusive: WhenInconclusive::Extend,
            max_extension_seconds: 600,
            interval_seconds: None,
            metrics: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ErrorRateSettings {
    /// How far the new version's error rate may exceed the old one's, in percentage points.
    pub max_increase_points: f64,
}

impl Default for ErrorRateSettings {
    fn default() -> Self {
        ErrorRateSettings {
            max_increase_points: 1.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LatencySettings {
    /// A CloudWatch statistic of Duration: `p50` … `p99.9`, or `Average`.
    pub stat: String,
    pub max_ratio: f64,
}

impl Default for LatencySettings {
    fn default() -> Self {
        LatencySettings {
            stat: "p99".into(),
            max_ratio: 1.25,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ThrottleSettings {
    /// The most throttles the new version may have in the window.
    pub max: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WhenInconclusive {
    /// Bake longer, up to `maxExtensionSeconds`, then pass.
    #[default]
    Extend,
    Pass,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomMetric {
    pub name: String,
    pub namespace: String,
    pub metric_name: String,
    /// One of them names the version: `"Version": "${version}"`.
    pub dimensions: BTreeMap<String, String>,
    pub stat: String,
    pub compare: Compare,
    /// `compare: baseline`: the new version's value may be at most this many times the old one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ratio: Option<f64>,
    /// `compare: threshold`: the new version's value may be at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Compare {
    Baseline,
    Threshold,
}

impl AnalysisSettings {
    /// `"default"`, or an object. Errors are `InvalidRequest` naming `analysis.<field>`.
    pub fn from_value(value: &Value) -> Result<AnalysisSettings> {
        let settings = match value {
            Value::String(s) if s == "default" => AnalysisSettings::default(),
            Value::Object(_) => serde_path_to_error::deserialize(value).map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." || path.is_empty() {
                    "analysis".to_string()
                } else {
                    format!("analysis.{path}")
                };
                Error::invalid(field, crate::text::cap(&e.into_inner().to_string(), 300))
            })?,
            _ => {
                return Err(Error::invalid(
                    "analysis",
                    "must be \"default\" or an object of settings (errorRate, latency, throttles, \
                     minInvocations, confidence, whenInconclusive, maxExtensionSeconds, intervalSeconds, metrics)",
                ))
            }
        };
        settings.check()?;
        Ok(settings)
    }

    /// The most time the analysis can add to `plan`: every step where both versions serve extended by
    /// `maxExtensionSeconds` (with `whenInconclusive: extend`; none otherwise).
    pub fn longest_extension_seconds(&self, plan: &crate::plan::Plan) -> u64 {
        if self.when_inconclusive != WhenInconclusive::Extend {
            return 0;
        }
        let weighted = plan
            .steps
            .iter()
            .filter(|s| s.weight_bps < crate::plan::FULL_BPS)
            .count() as u64;
        weighted * u64::from(self.max_extension_seconds)
    }

    fn check(&self) -> Result<()> {
        let points = self.error_rate.max_increase_points;
        if !(0.0..=100.0).contains(&points) {
            return Err(Error::invalid(
                "analysis.errorRate.maxIncreasePoints",
                "must be from 0 to 100 (percentage points)",
            ));
        }
        if !(self.confidence > 0.5 && self.confidence < 1.0) {
            return Err(Error::invalid(
                "analysis.confidence",
                "must be above 0.5 and below 1, for example 0.95",
            ));
        }
        if let Some(latency) = &self.latency {
            if !is_statistic(&latency.stat) {
                return Err(Error::invalid(
                    "analysis.latency.stat",
                    "must be a percentile from p1 to p99.9 (p50, p90, p99, p99.9) or Average",
                ));
            }
            if !(latency.max_ratio >= 1.0 && latency.max_ratio.is_finite()) {
                return Err(Error::invalid(
                    "analysis.latency.maxRatio",
                    "must be 1 or more, for example 1.25 (the new version at most 25% slower)",
                ));
            }
        }
        if self.max_extension_seconds > 86_400 {
            return Err(Error::invalid(
                "analysis.maxExtensionSeconds",
                "must be at most 86400 (a day)",
            ));
        }
        if self.interval_seconds.is_some_and(|s| s < 60) {
            return Err(Error::invalid(
                "analysis.intervalSeconds",
                "must be at least 60: Lambda's metrics have a one-minute resolution",
            ));
        }
        if self.metrics.len() > MAX_CUSTOM_METRICS {
            return Err(Error::invalid(
                "analysis.metrics",
                format!("at most {MAX_CUSTOM_METRICS} custom metrics"),
            ));
        }
        for (i, m) in self.metrics.iter().enumerate() {
            let at = |f: &str| format!("analysis.metrics[{i}].{f}");
            check_text(&at("name"), &m.name, MAX_METRIC_LABEL)?;
            if self.metrics[..i].iter().any(|other| other.name == m.name) {
                return Err(Error::invalid(
                    at("name"),
                    format!(
                        "\"{}\" is given twice: each custom metric needs its own name",
                        m.name
                    ),
                ));
            }
            check_text(&at("namespace"), &m.namespace, MAX_METRIC_NAME)?;
            check_text(&at("metricName"), &m.metric_name, MAX_METRIC_NAME)?;
            if m.dimensions.is_empty() || m.dimensions.len() > MAX_DIMENSIONS {
                return Err(Error::invalid(
                    at("dimensions"),
                    format!("must hold 1 to {MAX_DIMENSIONS} dimensions"),
                ));
            }
            for (name, value) in &m.dimensions {
                check_text(&at("dimensions"), name, MAX_DIMENSION_NAME)?;
                check_text(
                    &format!("{}.{name}", at("dimensions")),
                    value,
                    MAX_DIMENSION_VALUE,
                )?;
            }
            if !m
                .dimensions
                .values()
                .any(|v| v.contains(VERSION_PLACEHOLDER))
            {
                return Err(Error::invalid(
                    at("dimensions"),
                    "must name the version in one dimension's value, as \"${version}\": the metric is \
                     read once for each version",
                ));
            }
            if !is_statistic(&m.stat)
                && !["Sum", "Minimum", "Maximum", "SampleCount"].contains(&m.stat.as_str())
            {
                return Err(Error::invalid(
                    at("stat"),
                    "must be Sum, Average, Minimum, Maximum, SampleCount or a percentile (p99)",
                ));
            }
            match (m.compare, m.max_ratio, m.max) {
                (Compare::Baseline, Some(r), None) if r >= 1.0 && r.is_finite() => {}
                (Compare::Baseline, _, _) => {
                    return Err(Error::invalid(
                        at("maxRatio"),
                        "compare: baseline takes maxRatio (1 or more), and no max",
                    ))
                }
                (Compare::Threshold, None, Some(max)) if max.is_finite() => {}
                (Compare::Threshold, _, _) => {
                    return Err(Error::invalid(
                        at("max"),
                        "compare: threshold takes max (a number), and no maxRatio",
                    ))
                }
            }
        }
        Ok(())
    }
}

/// 1 to `max` characters, none of them a control character.
fn check_text(field: &str, text: &str, max: usize) -> Result<()> {
    let len = text.chars().count();
    if len == 0 || len > max || text.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {max} characters, with no control characters"),
        ));
    }
    Ok(())
}

/// `Average`, or `pNN` / `pNN.N` from p1 to p99.9.
fn is_statistic(stat: &str) -> bool {
    if stat == "Average" {
        return true;
    }
    stat.strip_prefix('p')
        .and_then(|n| n.parse::<f64>().ok())
        .is_some_and(|n| (1.0..=99.9).contains(&n))
}
