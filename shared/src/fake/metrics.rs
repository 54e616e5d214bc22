//! [`MetricsSource`] over the fake: scripted per-version metrics of an alias, as CloudWatch would sum them
//! over the window. A version with nothing scripted has no data: zero counts, no latency, no custom values.

use std::collections::BTreeMap;

use super::{FakeAws, Op};
use crate::analysis::judge::VersionMetrics;
use crate::analysis::metrics::{MetricsQuery, MetricsSource};
use crate::error::Result;

impl MetricsSource for FakeAws {
    async fn version_metrics(&self, q: &MetricsQuery) -> Result<BTreeMap<String, VersionMetrics>> {
        let mut st = self.lock();
        st.begin(Op::GetMetricData)?;
        Ok(q.versions
            .iter()
            .map(|v| {
                let key = (q.function_name.clone(), q.alias.clone(), v.clone());
                let mut m = match st.version_rates.get(&key) {
                    Some(rate) => {
                        let minutes = q.end_ms.saturating_sub(q.start_ms) / 60_000;
                        VersionMetrics {
                            invocations: rate.invocations * minutes,
                            errors: rate.errors * minutes,
                            throttles: rate.throttles * minutes,
                            ..rate.clone()
                        }
                    }
                    None => st.version_metrics.get(&key).cloned().unwrap_or_default(),
                };
                // Only what the query asked for comes back.
                if q.latency_stat.is_none() {
                    m.latency_ms = None;
                }
                m.custom
                    .retain(|name, _| q.custom.iter().any(|c| &c.name == name));
                (v.clone(), m)
            })
            .collect())
    }
}

impl FakeAws {
    /// Scripts what CloudWatch holds for one version of `function:alias` over any window.
    pub fn set_version_metrics(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        metrics: VersionMetrics,
    ) -> &Self {
        self.lock().version_metrics.insert(
            (function.to_string(), alias.to_string(), version.to_string()),
            metrics,
        );
        self
    }

    /// Scripts a steady traffic for one version: every whole minute of a window holds `per_minute`'s counts.
    pub fn set_version_rate(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        per_minute: VersionMetrics,
    ) -> &Self {
        self.lock().version_rates.insert(
            (function.to_string(), alias.to_string(), version.to_string()),
            per_minute,
        );
        self
    }
}
