//! The fake's state and the AWS rules it enforces.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::{default_role, function_arn, AliasChange, ChangeSource, HookBehaviour, Op};
use super::{ACCOUNT_ID, INITIAL_CODE_SHA256, REGION};
use crate::domain::{AlarmState, AliasState, Routing, VersionInfo};
use crate::error::{Error, Result};
use crate::notification::Notification;
use crate::plan::FULL_BPS;

pub(super) const LATEST: &str = "$LATEST";

#[derive(Debug, Default)]
pub(super) struct State {
    pub functions: BTreeMap<String, Function>,
    pub alarms: BTreeMap<String, AlarmState>,
    /// When each alarm's state value last changed (StateTransitionedTimestamp).
    pub alarm_transitioned: BTreeMap<String, u64>,
    /// Every alarm state change: (alarm, time, new state). DescribeAlarmHistory's StateUpdate items.
    pub alarm_log: Vec<(String, u64, AlarmState)>,
    /// The time the fake stamps alarm changes with: a test's FakeClock, or the system clock.
    pub clock: Option<super::FakeClock>,
    /// The registry: leases by (function, alias), records by rollout id, executions' running status.
    pub leases: BTreeMap<(String, String), crate::registry::Lease>,
    pub records: BTreeMap<String, crate::registry::RolloutRecord>,
    pub executions: BTreeMap<String, bool>,
    /// Task tokens: open ones wait for an answer; answered ones keep it (`SendTaskSuccess`/`Failure`).
    pub tokens: BTreeMap<String, Option<crate::registry::control::Answer>>,
    pub scheduled: Vec<Scheduled>,
    /// Out-of-band alias changes due right after the alias's next read answers: (function, alias, routing).
    pub after_read: Vec<(String, String, Routing)>,
    pub topics: BTreeSet<String>,
    pub notifications: Vec<(String, Notification)>,
    pub hook_calls: Vec<(String, serde_json::Value)>,
    /// Custom-resource answers: recorded per request id (the ledger), and every PUT sent (url, body).
    pub replies: BTreeMap<String, String>,
    pub reply_puts: Vec<(String, String)>,
    /// Executions the alias provider started: (name, input).
    pub started: Vec<(String, serde_json::Value)>,
    /// Scripted metrics by (function, alias, version).
    pub version_metrics: BTreeMap<(String, String, String), crate::analysis::judge::VersionMetrics>,
    /// Per-minute counts: a window of N minutes reads N times these (latency and custom values as they are).
    pub version_rates: BTreeMap<(String, String, String), crate::analysis::judge::VersionMetrics>,
    pub faults: HashMap<Op, VecDeque<Error>>,
    /// A fault by the position of a call among all calls (the fault matrix): see [`PositionFault`].
    pub position_fault: Option<PositionFault>,
    /// Every call, in order.
    pub call_log: Vec<Op>,
    /// Lambda's control-plane budget, when a test sets one (`FakeAws::limit_lambda`).
    pub budget: Option<super::throttle::Budget>,
    call_counts: HashMap<Op, usize>,
    revisions: u64,
}

#[derive(Debug)]
pub(super) struct Scheduled {
    pub at_call: usize,
    pub name: String,
    pub state: AlarmState,
}

/// A fault injected at the `at`-th call (1-based, counting every call of every op), or at every call from there
/// on when `persistent`. A `lost_answer` fault lets a write land, then loses its answer (a timeout after the
/// effect); on a call that has no effect to land it fails the call before anything happens.
#[derive(Debug, Clone)]
pub struct PositionFault {
    pub at: usize,
    pub error: Error,
    pub persistent: bool,
    pub lost_answer: bool,
}

impl PositionFault {
    fn hits(&self, position: usize) -> bool {
        position == self.at || (self.persistent && position >= self.at)
    }
}

/// The calls whose handlers land their effect before a lost answer is reported (`State::answer`).
fn lands(op: Op) -> bool {
    matches!(
        op,
        Op::WriteAlias | Op::PublishVersion | Op::Lease | Op::Invoke | Op::Publish
    )
}

impl State {
    pub fn calls(&self, op: Op) -> usize {
        self.call_counts.get(&op).copied().unwrap_or(0)
    }

    /// Counts a call of `op` and returns its 1-based number.
    pub fn count(&mut self, op: Op) -> usize {
        self.call_log.push(op);
        let n = self.call_counts.entry(op).or_insert(0);
        *n += 1;
        *n
    }

    /// The injected failure for this call of `op`, if one is queued (by op, or by position).
    pub fn injected(&mut self, op: Op) -> Result<()> {
        if let Some(fault) = &self.position_fault {
            if fault.hits(self.call_log.len()) && !(fault.lost_answer && lands(op)) {
                return Err(fault.error.clone());
            }
        }
        match self.faults.get_mut(&op).and_then(VecDeque::pop_front) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Called by a handler once its effect landed: the answer is lost when a `lost_answer` fault hits this
    /// call.
    pub fn answer(&self) -> Result<()> {
        match &self.position_fault {
            Some(fault) if fault.lost_answer && fault.hits(self.call_log.len()) => {
                Err(fault.error.clone())
            }
            _ => Ok(()),
        }
    }

    /// Counts the call, then fails it if a failure is queued.
    pub fn begin(&mut self, op: Op) -> Result<()> {
        self.count(op);
        self.injected(op)
    }

    pub fn now(&self) -> u64 {
        use crate::ports::Clock;
        self.clock
            .as_ref()
            .map_or_else(crate::time::unix_millis, Clock::now_millis)
    }

    /// Sets an alarm's state; a change of value is stamped and logged, as CloudWatch's history records it.
    pub fn set_alarm(&mut self, name: &str, state: AlarmState) {
        let now = self.now();
        if self.alarms.insert(name.to_string(), state) != Some(state) {
            self.alarm_transitioned.insert(name.to_string(), now);
            self.alarm_log.push((name.to_string(), now, state));
        }
    }

    /// A fresh RevisionId, never seen before in this fake.
    pub fn next_revision(&mut self) -> String {
        self.revisions += 1;
        format!("rev-{:08}", self.revisions)
    }

    /// The function named by `name_or_arn` (a name or an unqualified function ARN), like Lambda resolves it.
    pub fn function(&self, name_or_arn: &str) -> Result<(&str, &Function)> {
        let name = resolve(name_or_arn);
        self.functions
            .get_key_value(name)
            .map(|(k, f)| (k.as_str(), f))
            .ok_or_else(|| function_not_found(name_or_arn))
    }
}

fn resolve(name_or_arn: &str) -> &str {
    let prefix = format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:");
    name_or_arn.strip_prefix(&prefix).unwrap_or(name_or_arn)
}

fn function_not_found(name_or_arn: &str) -> Error {
    let arn = if name_or_arn.starts_with("arn:") {
        name_or_arn.to_string()
    } else {
        function_arn(name_or_arn)
    };
    Error::not_found("", format!("Function not found: {arn}"))
}

/// What a version carries that the alias rules compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Config {
    pub role: String,
    pub dead_letter_arn: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Version {
    pub code: String,
    pub config: Config,
    pub description: String,
    /// Lambda's State: Active, or what `set_version_state` set.
    pub state: String,
    pub state_reason: Option<String>,
    /// The version reads as Pending for this many more reads, then Active.
    pub pending_reads: usize,
}

#[derive(Debug)]
pub(super) struct Function {
    pub name: String,
    pub latest_code: String,
    pub latest_config: Config,
    /// Version N is `versions[N - 1]`.
    pub versions: Vec<Version>,
    pub aliases: BTreeMap<String, Alias>,
    pub hook: HookBehaviour,
    /// $LATEST reads as LastUpdateStatus InProgress for this many more reads (an UpdateFunctionCode under way).
    pub latest_updating_reads: usize,
    /// $LATEST's last update failed, with this reason.
    pub latest_update_failed: Option<String>,
}

impl Function {
    pub fn new(name: &str) -> Self {
        Function {
            name: name.to_string(),
            latest_code: INITIAL_CODE_SHA256.to_string(),
            latest_config: Config {
                role: default_role(name),
                dead_letter_arn: None,
            },
            versions: Vec::new(),
            aliases: BTreeMap::new(),
            hook: HookBehaviour::default(),
            latest_updating_reads: 0,
            latest_update_failed: None,
        }
    }

    fn index(&self, version: &str) -> Option<usize> {
        let n: usize = version.parse().ok()?;
        // "01" is not version 1; "0" is not a version.
        (n.to_string() == version && (1..=self.versions.len()).contains(&n)).then(|| n - 1)
    }

    /// A published version ($LATEST is not one).
    pub fn version(&self, version: &str) -> Option<&Version> {
        self.index(version).map(|i| &self.versions[i])
    }

    pub fn version_mut(&mut self, version: &str) -> Option<&mut Version> {
        self.index(version).map(move |i| &mut self.versions[i])
    }

    /// Always creates a new version from $LATEST.
    pub fn publish_latest(&mut self, description: &str) -> String {
        self.versions.push(Version {
            code: self.latest_code.clone(),
            config: self.latest_config.clone(),
            description: description.to_string(),
            state: "Active".to_string(),
            state_reason: None,
            pending_reads: 0,
        });
        self.versions.len().to_string()
    }

    /// PublishVersion: the last version when neither code nor configuration changed since, else a new one.
    pub fn publish_if_changed(&mut self, description: &str) -> String {
        match self.versions.last() {
            Some(last) if last.code == self.latest_code && last.config == self.latest_config => {
                self.versions.len().to_string()
            }
            _ => self.publish_latest(description),
        }
    }

    /// GetFunctionConfiguration of a version or $LATEST, counting down the scripted Pending/InProgress reads.
    pub fn read_version_info(&mut self, version: &str) -> Option<VersionInfo> {
        let arn = self.version_arn(version);
        if version == LATEST {
            let updating = self.latest_updating_reads > 0;
            self.latest_updating_reads = self.latest_updating_reads.saturating_sub(1);
            let status = match (&self.latest_update_failed, updating) {
                (Some(_), _) => "Failed",
                (None, true) => "InProgress",
                (None, false) => "Successful",
            };
            return Some(VersionInfo {
                arn,
                role: self.latest_config.role.clone(),
                dead_letter_arn: self.latest_config.dead_letter_arn.clone(),
                state: "Active".to_string(),
                last_update_status: status.to_string(),
                reason: self.latest_update_failed.clone(),
            });
        }
        let v = self.version_mut(version)?;
        let state = if v.pending_reads > 0 {
            v.pending_reads -= 1;
            "Pending".to_string()
        } else {
            v.state.clone()
        };
        Some(VersionInfo {
            arn,
            role: v.config.role.clone(),
            dead_letter_arn: v.config.dead_letter_arn.clone(),
            state,
            last_update_status: "Successful".to_string(),
            reason: v.state_reason.clone(),
        })
    }

    pub fn version_arn(&self, version: &str) -> String {
        format!("{}:{version}", function_arn(&self.name))
    }

    /// AWS's rules for an alias's routing. `allow_latest_single`: AWS lets a plain alias point at $LATEST;
    /// shifter's writes never should, so `write_alias` refuses it.
    pub fn check_routing(&self, routing: &Routing, allow_latest_single: bool) -> Result<()> {
        let primary = routing.function_version.as_str();
        let Some(extra) = &routing.additional else {
            if primary == LATEST && allow_latest_single {
                return Ok(());
            }
            return self.published(primary).map(|_| ());
        };
        let p = self.published(primary)?;
        let a = self.published(&extra.version)?;
        if extra.version == primary {
            return Err(rejected(format!(
                "the additional version {primary} must differ from the primary version"
            )));
        }
        if extra.weight_bps > FULL_BPS {
            return Err(rejected(format!(
                "AdditionalVersionWeights value {} is outside 0.0-1.0",
                f64::from(extra.weight_bps) / f64::from(FULL_BPS)
            )));
        }
        if p.config.role != a.config.role {
            return Err(rejected(
                "Specified versions must be associated with the same execution role".to_string(),
            ));
        }
        if p.config.dead_letter_arn != a.config.dead_letter_arn {
            return Err(rejected(
                "Specified versions must be associated with the same dead letter queue configuration"
                    .to_string(),
            ));
        }
        Ok(())
    }

    fn published(&self, version: &str) -> Result<&Version> {
        if version == LATEST {
            return Err(rejected(
                "routing to $LATEST is not supported: an alias must point to published versions"
                    .to_string(),
            ));
        }
        self.version(version).ok_or_else(|| {
            Error::not_found(
                "",
                format!("Function not found: {}", self.version_arn(version)),
            )
        })
    }
}

fn rejected(message: String) -> Error {
    Error::AwsRejected {
        operation: "UpdateAlias".to_string(),
        message,
    }
}

#[derive(Debug)]
pub(super) struct Alias {
    pub routing: Routing,
    pub revision_id: String,
    pub history: Vec<AliasChange>,
}

impl Alias {
    pub fn new(routing: Routing, revision_id: String, source: ChangeSource) -> Self {
        let mut alias = Alias {
            routing: routing.clone(),
            revision_id: revision_id.clone(),
            history: Vec::new(),
        };
        alias.set(routing, revision_id, source);
        alias
    }

    pub fn set(&mut self, routing: Routing, revision_id: String, source: ChangeSource) {
        self.history.push(AliasChange {
            routing: routing.clone(),
            revision_id: revision_id.clone(),
            source,
        });
        self.routing = routing;
        self.revision_id = revision_id;
    }

    pub fn state(&self) -> AliasState {
        AliasState {
            routing: self.routing.clone(),
            revision_id: self.revision_id.clone(),
        }
    }
}
