//! Canary analysis: judging the new version against the old one from per-version metrics (issue: "Canary
//! analysis without alarms"). This module holds the pure part: the settings, the statistics and the verdict
//! they give; and the metrics port ([`metrics::MetricsSource`]: GetMetricData in `aws/metrics.rs`, scripted
//! values in the fake); and what a rollout does with a verdict ([`decide`]). The check use case
//! (`usecase::check`) combines the alarms and the analysis into one verdict for both drivers.

pub mod decide;
pub mod judge;
pub mod metrics;
pub mod settings;
pub mod stats;

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod judge_tests;
#[cfg(test)]
mod settings_tests;
#[cfg(test)]
mod stats_tests;
