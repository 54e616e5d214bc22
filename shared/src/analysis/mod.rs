//! Canary analysis: judging the new version against the old one from per-version metrics (issue: "Canary
//! analysis without alarms"). This module holds the pure part: the settings, the statistics and the verdict
//! they give. The metrics port, its adapter and the check use case that combines alarms and analysis come
//! next; until then no rollout runs an analysis.

pub mod judge;
pub mod settings;
pub mod stats;

#[cfg(test)]
mod judge_tests;
#[cfg(test)]
mod settings_tests;
#[cfg(test)]
mod stats_tests;
