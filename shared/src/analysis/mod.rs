//! Canary analysis: judging the new version against the old one from per-version metrics (issue: "Canary
//! analysis without alarms"). This module holds the pure part: the statistics and the verdicts they give.
//! The metrics port, its adapter and the check use case that combines alarms and analysis come next.

pub mod stats;

#[cfg(test)]
mod stats_tests;
