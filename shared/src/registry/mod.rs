//! The rollout registry: which rollout owns an alias (a lease), and what every rollout did (its record, kept
//! as history after it ends). In AWS it is one DynamoDB table (`template.yaml`, `RolloutTable`; adapter in
//! `dynamo.rs`); in tests the fake (`crate::fake`). Without a table (local mode with no `--table`) the
//! registry is off: every lease is granted, nothing is recorded, and the alias itself is the lock (a weighted
//! alias is busy).
//!
//! Items (`pk`, `sk`):
//! - `ALIAS#<function>:<alias>`, `LEASE`: the lease. At most one per alias; taken with a conditional put.
//! - `ALIAS#<function>:<alias>`, `ROLLOUT#<rollout id>`: the record, with `historyAt` (its start, the sort key
//!   of the local index `history`). While the rollout runs it carries `runningPk`/`runningSk` (the sparse
//!   global index `running` lists them); once it ends, `expiresAt` (the TTL attribute).

pub mod control;
mod dynamo;

#[cfg(test)]
mod dynamo_tests;

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::rollout::Rollout;

/// How long a finished rollout's record is kept (DynamoDB TTL), by default.
pub const HISTORY_DAYS: u64 = 90;

/// Who owns an alias while a rollout runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    pub function_name: String,
    pub alias: String,
    pub rollout_id: String,
    /// The execution that runs the rollout; none for `shifter deploy --local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    pub started_ms: u64,
    /// Past this, a lease with no execution (a local rollout whose process died) may be taken over.
    pub lease_until_ms: u64,
    /// A local rollout's `--check-interval`: how often it checks in while it waits (`checked_in_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_interval_ms: Option<u64>,
    /// When a local rollout last checked in on its lease, by its own clock (it does at every check of a bake
    /// or a pause, as it reads its commands). Only whether it moves counts (`usecase::lease::check_in_grace`):
    /// another machine's clock is never compared with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in_ms: Option<u64>,
    /// The wait the rollout is in (a bake or a pause), with its task token (`control`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<control::Waiting>,
    /// The operator's latest command, and when it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<control::Command>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_ms: Option<u64>,
    /// The latest alarm event the watcher saw for this rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm: Option<control::AlarmSeen>,
}

/// What `LeaseStore::acquire` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The lease is this rollout's now (or already was: a retried Prepare).
    Taken,
    /// Another rollout holds it.
    HeldBy(Box<Lease>),
}

/// How a rollout ended, or that it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RolloutStatus {
    Running,
    Promoted,
    RolledBack,
    /// Someone else changed the alias; shifter left their change alone.
    LeftAlone,
    /// An error stopped the rollout; the alias was restored.
    Failed,
    /// The rollback failed: the alias may still be weighted.
    RollbackFailed,
    /// Its execution or process ended with no rollback of its own (stopped from outside, timed out, killed);
    /// another rollout took its lease over.
    Abandoned,
}

impl RolloutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutStatus::Running => "Running",
            RolloutStatus::Promoted => "Promoted",
            RolloutStatus::RolledBack => "RolledBack",
            RolloutStatus::LeftAlone => "LeftAlone",
            RolloutStatus::Failed => "Failed",
            RolloutStatus::RollbackFailed => "RollbackFailed",
            RolloutStatus::Abandoned => "Abandoned",
        }
    }
}

/// One rollout, as `shifter list` and `shifter history` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutRecord {
    pub rollout_id: String,
    pub function_name: String,
    pub alias: String,
    pub current_version: String,
    pub target_version: String,
    pub strategy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// How the rollout was started: one of [`started_by`]'s values (records written before they existed say
    /// `state-machine`).
    pub started_by: String,
    pub status: RolloutStatus,
    pub steps_done: usize,
    pub step_count: usize,
    pub weight_bps: u32,
    pub started_ms: u64,
    pub updated_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_ms: Option<u64>,
    /// When the current step's bake ends (ms since the epoch), while one runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_ends_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The last canary analysis, on one line: its outcome, the versions and the evidence (`shifter history`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<String>,
    /// The alarms the rollout watches (the alarm watcher finds its rollouts by them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<String>,
    /// The rollout as last recorded (JSON), so a rollout whose execution died can still be rolled back
    /// (`usecase::cleanup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
}

impl Lease {
    /// The wait a signal can answer: one with a task token. A local rollout's shown pause has none (it reads
    /// its lease itself).
    pub fn answerable_wait(&self) -> Option<&control::Waiting> {
        self.waiting.as_ref().filter(|w| !w.token.is_empty())
    }
}

impl RolloutRecord {
    /// The rollout as last recorded (its snapshot), if the record has one that parses.
    pub fn rollout(&self) -> Option<Rollout> {
        self.snapshot
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }

    /// The record of `rollout` as it stands, with `status` (`Running` until it ends).
    pub fn of(rollout: &Rollout, status: RolloutStatus, now_ms: u64) -> Self {
        RolloutRecord {
            rollout_id: rollout.rollout_id.clone(),
            function_name: rollout.function_name.clone(),
            alias: rollout.alias.clone(),
            current_version: rollout.current_version.clone(),
            target_version: rollout.target_version.clone(),
            strategy: rollout.strategy.clone(),
            execution_arn: rollout.execution_arn.clone(),
            started_by: started_by::of(rollout).to_string(),
            status,
            steps_done: rollout.steps_done,
            step_count: rollout.plan.steps.len(),
            weight_bps: rollout.weight_bps,
            started_ms: rollout.started_ms,
            updated_ms: now_ms,
            ended_ms: (status != RolloutStatus::Running).then_some(now_ms),
            bake_ends_ms: None,
            reason: None,
            analysis: rollout.last_analysis.as_ref().map(|a| {
                crate::text::cap(
                    &format!(
                        "analysis {}: {}",
                        a.headline(),
                        a.evidence.replace('\n', "; ")
                    ),
                    crate::text::MAX_OUTSIDE_TEXT,
                )
            }),
            alarms: rollout.alarms.clone(),
            snapshot: serde_json::to_string(rollout).ok(),
        }
    }
}

/// How a rollout was started, as its record says (`RolloutRecord::started_by`).
pub mod started_by {
    use crate::rollout::Rollout;

    /// `shifter deploy` started the execution (it names executions [`CLI_PREFIX`]`…`).
    pub const CLI: &str = "cli";
    /// Another StartExecution caller (a pipeline, the console, the AWS CLI).
    pub const START_EXECUTION: &str = "start-execution";
    /// The stack's EventBridge rule ("Rollout Requested").
    pub const EVENTBRIDGE: &str = "eventbridge";
    /// A `Custom::ShifterAlias` Update (the alias provider).
    pub const CLOUDFORMATION: &str = "cloudformation";
    /// `shifter deploy --local`: no execution.
    pub const LOCAL: &str = "local";
    /// The prefix of the execution names `shifter deploy` gives.
    pub const CLI_PREFIX: &str = "cli-";

    /// What Prepare recorded (`eventbridge` for a "Rollout Requested" event); else `local` without an
    /// execution; else `cli` when the execution's name (the last part of its ARN) starts with [`CLI_PREFIX`],
    /// else `start-execution`.
    pub fn of(rollout: &Rollout) -> &str {
        if let Some(by) = rollout.started_by.as_deref() {
            return by;
        }
        match &rollout.execution_arn {
            None => LOCAL,
            Some(arn) if execution_name(arn).starts_with(CLI_PREFIX) => CLI,
            Some(_) => START_EXECUTION,
        }
    }

    /// An execution's name: what follows the last `:` of its ARN.
    pub fn execution_name(execution_arn: &str) -> &str {
        execution_arn.rsplit(':').next().unwrap_or(execution_arn)
    }
}

/// The alias's lease. Writes are conditional, so two rollouts racing for one alias cannot both win.
pub trait LeaseStore: Send + Sync {
    /// Takes the lease for `lease.rollout_id` when the alias has none, when it is already this rollout's, or
    /// when it is `take_over`'s (a holder the caller found dead). Otherwise answers who holds it.
    fn acquire(
        &self,
        lease: &Lease,
        take_over: Option<&str>,
    ) -> impl Future<Output = Result<Acquired>> + Send;
    /// Gives the lease back if `rollout_id` holds it (idempotent: a lease already gone is fine).
    fn release(
        &self,
        function: &str,
        alias: &str,
        rollout_id: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The records of rollouts, running and finished.
pub trait RolloutJournal: Send + Sync {
    /// Writes the record (replacing the rollout's earlier one). A finished record gets its TTL here.
    fn record(&self, record: &RolloutRecord) -> impl Future<Output = Result<()>> + Send;
    /// Every rollout still running, oldest first.
    fn running(&self) -> impl Future<Output = Result<Vec<RolloutRecord>>> + Send;
    /// The alias's last `limit` rollouts, newest first.
    fn history(
        &self,
        function: &str,
        alias: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RolloutRecord>>> + Send;
}

/// Whether a Step Functions execution still runs (a lease held by an execution that ended may be taken over).
pub trait ExecutionStatus: Send + Sync {
    fn is_running(&self, execution_arn: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// The item keys, shared by the adapter and the fake.
pub mod keys {
    pub fn alias_pk(function: &str, alias: &str) -> String {
        format!("ALIAS#{function}:{alias}")
    }
    pub const LEASE_SK: &str = "LEASE";
    /// One record per rollout id, so a retried write replaces it.
    pub fn rollout_sk(rollout_id: &str) -> String {
        format!("ROLLOUT#{rollout_id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_says_how_its_rollout_was_started() {
        let started = |arn: Option<&str>, by: Option<&str>| {
            let mut r = crate::fake::canary_rollout();
            r.execution_arn = arn.map(str::to_string);
            r.started_by = by.map(str::to_string);
            RolloutRecord::of(&r, RolloutStatus::Running, 1).started_by
        };
        let at = |arn: Option<&str>| started(arn, None);
        let machine = "arn:aws:states:us-east-1:123456789012:execution:shifter-rollout";
        assert_eq!(at(None), "local");
        assert_eq!(at(Some(&format!("{machine}:cli-r-18f-abc"))), "cli");
        assert_eq!(
            at(Some(&format!("{machine}:orders-v7-42"))),
            "start-execution"
        );
        // Only the name counts: a state machine called cli-… does not make its executions the CLI's.
        assert_eq!(
            at(Some(
                "arn:aws:states:us-east-1:123456789012:execution:cli-machine:r-1"
            )),
            "start-execution"
        );
        // Prepare knows better: the execution EventBridge started carries no sign of it in its name.
        assert_eq!(
            started(Some(&format!("{machine}:6f1e2d3c")), Some("eventbridge")),
            "eventbridge"
        );
    }
}
