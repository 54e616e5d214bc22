//! The state of one rollout, handed from use case to use case (and, in the state machine, from state to state).

use serde::{Deserialize, Serialize};

use crate::domain::Routing;
use crate::error::{Error, Result};
use crate::plan::{Plan, Step};
use crate::request::{Hooks, InsufficientData};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

    /// The routing the alias should have right now, if nothing else touched it.
    pub fn expected_routing(&self) -> Routing {
        Routing::split(&self.current_version, &self.target_version, self.weight_bps)
    }
}
