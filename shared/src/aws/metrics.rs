//! [`MetricsSource`] over CloudWatch GetMetricData: every query of one check in one call (more calls only
//! past GetMetricData's 500 queries), pages followed, one data point per query over the window.
//!
//! Ids: GetMetricData wants `^[a-z][a-zA-Z0-9_]*$`, so queries are named `v<version index>_<what>`.
//! Combining data points, should the window span more than one period (it is aligned to the period, so it can
//! by one): counts are summed; any other statistic takes the largest value, the worse one for latency.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_smithy_types::DateTime;

use super::errors::cloudwatch_error;
use super::AwsPorts;
use crate::analysis::judge::VersionMetrics;
use crate::analysis::metrics::{MetricsQuery, MetricsSource, MAX_QUERIES_PER_CALL};
use crate::error::Result;

/// What one query reads for one version.
#[derive(Debug, Clone, PartialEq)]
enum Reads {
    Invocations,
    Errors,
    Throttles,
    Duration,
    Custom(String),
}

struct Planned {
    id: String,
    version: String,
    reads: Reads,
    query: MetricDataQuery,
}

fn query(
    id: &str,
    namespace: &str,
    metric: &str,
    dimensions: Vec<(String, String)>,
    stat: &str,
    period: i32,
) -> MetricDataQuery {
    let dimensions = dimensions
        .into_iter()
        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
        .collect();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(namespace)
                        .metric_name(metric)
                        .set_dimensions(Some(dimensions))
                        .build(),
                )
                .period(period)
                .stat(stat)
                .build(),
        )
        .return_data(true)
        .build()
}

fn plan(q: &MetricsQuery) -> Vec<Planned> {
    let period = q.period_seconds();
    let mut planned = Vec::new();
    for (i, version) in q.versions.iter().enumerate() {
        let lambda = q.lambda_dimensions(version);
        let mut add = |what: &str, reads: Reads, query: MetricDataQuery| {
            planned.push(Planned {
                id: format!("v{i}_{what}"),
                version: version.clone(),
                reads,
                query,
            })
        };
        for (what, metric, reads) in [
            ("inv", "Invocations", Reads::Invocations),
            ("err", "Errors", Reads::Errors),
            ("thr", "Throttles", Reads::Throttles),
        ] {
            let id = format!("v{i}_{what}");
            add(
                what,
                reads,
                query(&id, "AWS/Lambda", metric, lambda.clone(), "Sum", period),
            );
        }
        if let Some(stat) = &q.latency_stat {
            let id = format!("v{i}_dur");
            add(
                "dur",
                Reads::Duration,
                query(&id, "AWS/Lambda", "Duration", lambda.clone(), stat, period),
            );
        }
        for (j, m) in q.custom.iter().enumerate() {
            let what = format!("c{j}");
            let id = format!("v{i}_{what}");
            let dims = MetricsQuery::dimensions_for(m, version);
            let built = query(&id, &m.namespace, &m.metric_name, dims, &m.stat, period);
            add(&what, Reads::Custom(m.name.clone()), built);
        }
    }
    planned
}

impl MetricsSource for AwsPorts {
    async fn version_metrics(&self, q: &MetricsQuery) -> Result<BTreeMap<String, VersionMetrics>> {
        let planned = plan(q);
        let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for batch in planned.chunks(MAX_QUERIES_PER_CALL) {
            let mut next_token: Option<String> = None;
            loop {
                let out = self
                    .cloudwatch
                    .get_metric_data()
                    .set_metric_data_queries(Some(batch.iter().map(|p| p.query.clone()).collect()))
                    .start_time(DateTime::from_millis(q.start_ms as i64))
                    .end_time(DateTime::from_millis(q.end_ms as i64))
                    .set_next_token(next_token.clone())
                    .send()
                    .await
                    .map_err(|e| cloudwatch_error("GetMetricData", e))?;
                for result in out.metric_data_results() {
                    if let Some(id) = result.id() {
                        values
                            .entry(id.to_string())
                            .or_default()
                            .extend(result.values().iter().copied());
                    }
                }
                next_token = out.next_token().map(str::to_string);
                if next_token.is_none() {
                    break;
                }
            }
        }
        let mut out: BTreeMap<String, VersionMetrics> = q
            .versions
            .iter()
            .map(|v| (v.clone(), VersionMetrics::default()))
            .collect();
        for p in planned {
            let points = values.get(&p.id).map(Vec::as_slice).unwrap_or(&[]);
            let sum = || points.iter().sum::<f64>().max(0.0).round() as u64;
            let worst = || points.iter().copied().reduce(f64::max);
            let m = out.entry(p.version.clone()).or_default();
            match &p.reads {
                Reads::Invocations => m.invocations = sum(),
                Reads::Errors => m.errors = sum(),
                Reads::Throttles => m.throttles = sum(),
                Reads::Duration => m.latency_ms = worst(),
                Reads::Custom(name) => {
                    let stat = q
                        .custom
                        .iter()
                        .find(|c| &c.name == name)
                        .map(|c| c.stat.as_str());
                    let value = if stat == Some("Sum") || stat == Some("SampleCount") {
                        (!points.is_empty()).then(|| points.iter().sum())
                    } else {
                        worst()
                    };
                    m.custom.insert(name.clone(), value);
                }
            }
        }
        Ok(out)
    }
}
