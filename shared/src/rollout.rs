//! The state of one rollout, handed from use case to use case (and, in the state machine, from state to state).

use serde::{Deserialize, Serialize};

use crate::analysis::decide::{AnalysisReport, CheckPoint};
use crate::analysis::settings::AnalysisSettings;
use crate::domain::Routing;
use crate::error::{Error, Result};
use crate::plan::{Plan, Step};
use crate::request::{Hooks, InsufficientData};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    pub schema_version: u32,
    pub rollout_id: String,
    pub function_name: String,
    pub function_arn: String,
    pub alias: String,
    /// The version the alias served when the rollout began, and returns to on rollback.
    pub current_version: String,
    pub target_version: String,
    pub target_version_arn: String,
    pub strategy: String,
    pub plan: Plan,
    /// How many plan steps have been applied.
    pub steps_done: usize,
    /// The target version's share of the alias now, in basis points.
    pub weight_bps: u32,
    /// The alias's RevisionId after our last read or write: the fence for the next write.
    pub revision_id: String,
    /// When the alarms were last read (ms since the epoch): the next check also looks at their history since
    /// then, so an alarm that fired and cleared in between is not missed. 0 before the first check.
    #[serde(default)]
    pub checked_ms: u64,
    /// When Prepare took the alias (ms since the epoch): the rollout's start in the registry.
    #[serde(default)]
    pub started_ms: u64,
    /// The Step Functions execution running the rollout; none in local mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// How the rollout was started when Prepare could tell: `eventbridge` for a "Rollout Requested" event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    /// Where to answer CloudFormation when the rollout ends: a `Custom::ShifterAlias` Update started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_formation: Option<crate::custom_resource::StackReply>,
    #[serde(default)]
    pub hooks: Hooks,
    #[serde(default)]
    pub alarms: Vec<String>,
    #[serde(default)]
    pub insufficient_data: InsufficientData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_topic_arn: Option<String>,
    /// Canary analysis: the new version judged against the old one from per-version metrics at the end of
    /// each bake (and every `intervalSeconds` during one). None: alarms only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisSettings>,
    /// When the current step's weight was applied (ms since the epoch): the analysis window's start.
    #[serde(default)]
    pub step_started_ms: u64,
    /// The seconds of the current step's bake not waited yet: the state machine waits a bake in chunks of
    /// `analysis.intervalSeconds` when that is set, with an analysis between them. 0 otherwise.
    #[serde(default)]
    pub bake_left_seconds: u32,
    /// The seconds the current step's bake was extended by inconclusive analyses.
    #[serde(default)]
    pub extended_seconds: u32,
    /// When the analysis last ran (ms since the epoch).
    #[serde(default)]
    pub analysed_ms: u64,
    /// The last analysis (shown by `shifter status` and `history`, and in notifications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_analysis: Option<AnalysisReport>,
}

impl Rollout {
    pub fn check_schema(&self) -> Result<()> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(Error::InvalidState {
                message: format!(
                    "schemaVersion {} is not supported (expected {SCHEMA_VERSION})",
                    self.schema_version
                ),
            });
        }
        self.plan.check()
    }

    /// The step to apply next, if any.
    pub fn next_step(&self) -> Option<Step> {
        self.plan.steps.get(self.steps_done).copied()
    }

    /// True once the plan's final (100%) step has been applied.
    pub fn is_complete(&self) -> bool {
        self.steps_done >= self.plan.steps.len()
    }

    /// The step just applied starts now: the analysis window opens, and no extension is used yet.
    pub fn begin_step(&mut self, now_ms: u64) {
        self.step_started_ms = now_ms;
        self.analysed_ms = now_ms;
        self.extended_seconds = 0;
    }

    /// [`begin_step`](Self::begin_step), for the state machine, which waits the bake in chunks: returns the
    /// first wait, the whole bake, or its first `intervalSeconds` when the analysis runs during bakes too.
    pub fn begin_bake(&mut self, now_ms: u64, bake_seconds: u32) -> u32 {
        self.begin_step(now_ms);
        self.bake_left_seconds = bake_seconds;
        self.next_bake_chunk().unwrap_or(0)
    }

    /// The next part of the current bake to wait, if any is left (taken off `bake_left_seconds`).
    pub fn next_bake_chunk(&mut self) -> Option<u32> {
        if self.bake_left_seconds == 0 {
            return None;
        }
        let interval = self
            .analysis
            .as_ref()
            .and_then(|a| a.interval_seconds)
            .unwrap_or(u32::MAX);
        let chunk = self.bake_left_seconds.min(interval);
        self.bake_left_seconds -= chunk;
        Some(chunk)
    }

    /// Whether a check at `point` runs the analysis: only while both versions take traffic, and then at the
    /// end of a bake, on an operator's promote, or once `intervalSeconds` have passed since the last one.
    pub fn analysis_due(&self, point: CheckPoint) -> bool {
        self.analysis.is_some()
            && self.weight_bps > 0
            && self.weight_bps < crate::plan::FULL_BPS
            && (point.end_of_bake || point.promote || point.interval_over)
    }

    /// Whether `analysis.intervalSeconds` have passed since the last analysis (the local driver's clock; the
    /// state machine knows it from the chunk of bake it just waited).
    pub fn interval_over(&self, now_ms: u64) -> bool {
        self.analysis
            .as_ref()
            .and_then(|a| a.interval_seconds)
            .is_some_and(|i| now_ms >= self.analysed_ms.saturating_add(u64::from(i) * 1000))
    }

    /// Records a check made at `now_ms`: the alarms' next history read starts here, and an analysis it ran
    /// (with any extension it asked for) is kept.
    pub fn checked(&mut self, now_ms: u64, verdict: &crate::health::Verdict) {
        self.checked_ms = now_ms;
        if let Some(report) = &verdict.analysis {
            self.analysed_ms = now_ms;
            self.extended_seconds = self
                .extended_seconds
                .saturating_add(report.extend_seconds().unwrap_or(0));
            self.last_analysis = Some(report.clone());
        }
    }

    /// The routing the alias should have right now, if nothing else touched it.
    pub fn expected_routing(&self) -> Routing {
        Routing::split(&self.current_version, &self.target_version, self.weight_bps)
    }
}
