//! The metrics an analysis reads: Lambda's own per-version metrics of an alias (`Invocations`, `Errors`,
//! `Throttles`, `Duration`, with dimensions `FunctionName`, `Resource` = `function:alias` and
//! `ExecutedVersion`, which Lambda publishes for a weighted alias), and the team's custom metrics with
//! `${version}` in a dimension. The port is [`MetricsSource`]; the AWS adapter batches every query of one
//! check into one `GetMetricData` call (`aws/metrics.rs`), the fake serves scripted values.

use std::collections::BTreeMap;
use std::future::Future;

use super::judge::VersionMetrics;
use super::settings::{CustomMetric, VERSION_PLACEHOLDER};
use crate::error::Result;

/// GetMetricData takes at most 500 queries per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;

/// What one check reads: every version's metrics over the same window.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsQuery {
    pub function_name: String,
    pub alias: String,
    pub versions: Vec<String>,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The Duration statistic (`p99`, `Average`); none: Duration is not read.
    pub latency_stat: Option<String>,
    pub custom: Vec<CustomMetric>,
}

impl MetricsQuery {
    /// The period of every query: the whole window in one data point, in whole minutes (Lambda's metrics
    /// have a one-minute resolution), at least one minute.
    pub fn period_seconds(&self) -> i32 {
        let seconds = self.end_ms.saturating_sub(self.start_ms).div_ceil(1000);
        let minutes = seconds.div_ceil(60).max(1);
        i32::try_from(minutes * 60).unwrap_or(i32::MAX - 59)
    }

    /// A custom metric's dimensions for one version.
    pub fn dimensions_for(metric: &CustomMetric, version: &str) -> Vec<(String, String)> {
        metric
            .dimensions
            .iter()
            .map(|(k, v)| (k.clone(), v.replace(VERSION_PLACEHOLDER, version)))
            .collect()
    }

    /// Lambda's dimensions for one version of the alias.
    pub fn lambda_dimensions(&self, version: &str) -> Vec<(String, String)> {
        let function = self
            .function_name
            .rsplit(":function:")
            .next()
            .unwrap_or(&self.function_name)
            .to_string();
        vec![
            ("FunctionName".into(), function.clone()),
            ("Resource".into(), format!("{function}:{}", self.alias)),
            ("ExecutedVersion".into(), version.to_string()),
        ]
    }
}

/// Reads every version's metrics for one check. A version with no data points comes back with zero
/// invocations, errors and throttles and no latency or custom values: missing data is never healthy.
pub trait MetricsSource: Send + Sync {
    fn version_metrics(
        &self,
        query: &MetricsQuery,
    ) -> impl Future<Output = Result<BTreeMap<String, VersionMetrics>>> + Send;
}
