//! An in-memory, stateful fake of the AWS APIs shifter uses, enforcing AWS's rules for weighted aliases (which
//! the moto emulator does not): fenced writes on RevisionId, published versions only, at most one additional
//! version with a weight of 0-100%, same execution role and dead-letter config on both versions.
//!
//! [`FakeAws`] implements every port except `Clock`; [`FakeClock`] implements `Clock` with instant sleeps.
//! Setup helpers panic on a mistake in the test's own setup (an unknown function, a routing AWS would refuse);
//! the port methods answer with the `Error` the real adapters would return.

mod clock;
mod custom_resource;
mod metrics;
mod ports;
mod registry;
mod state;
mod throttle;

#[cfg(test)]
mod ops_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};

pub use clock::FakeClock;

use crate::domain::{AlarmState, AliasState, Routing};
use crate::error::Error;
use crate::notification::Notification;
pub use state::PositionFault;
use state::{Alias, Config, Function, Scheduled, State, Version};
pub use throttle::{BudgetStats, Quota, SdkRetry};

pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// `arn:aws:lambda:us-east-1:123456789012:function:NAME`.
pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}")
}

/// The execution role every version of `function` has unless `set_version_config` says otherwise.
pub fn default_role(function: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:role/{function}-role")
}

/// The code $LATEST has right after `add_function`.
pub const INITIAL_CODE_SHA256: &str = "initial-code-sha256";

/// A port operation, for fault injection and call counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    ReadAlias,
    WriteAlias,
    DescribeFunction,
    /// GetFunctionConfiguration of a version or $LATEST.
    VersionInfo,
    PublishVersion,
    AlarmStates,
    /// DescribeAlarmHistory.
    AlarmHistory,
    /// STS GetCallerIdentity.
    Caller,
    /// The registry's lease (DynamoDB conditional put or delete).
    Lease,
    /// The registry's records (DynamoDB put or query).
    Journal,
    /// Step Functions DescribeExecution.
    DescribeExecution,
    /// The lease's listening side (DynamoDB conditional update or read): waits, commands, alarm events.
    Control,
    /// Step Functions SendTaskSuccess / SendTaskFailure.
    TaskCallback,
    Invoke,
    /// SNS Publish.
    Publish,
    /// Lambda CreateAlias.
    CreateAlias,
    /// Lambda DeleteAlias.
    DeleteAlias,
    /// Step Functions StartExecution.
    StartExecution,
    /// The custom-resource answer ledger (a conditional put).
    ReplyLedger,
    /// The PUT of a custom-resource answer to its ResponseURL.
    PutReply,
    /// CloudWatch GetMetricData.
    GetMetricData,
}

/// How a hook function answers an invocation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HookBehaviour {
    /// `{"status":"Succeeded"}` (the default for any function).
    #[default]
    Succeed,
    /// `{"status":"Failed","reason":REASON}`.
    Fail(String),
    /// The function crashed: FunctionError `Unhandled`, `{"errorType":"HookError","errorMessage":MESSAGE}`.
    FunctionError(String),
    /// This exact payload, no FunctionError.
    Reply(Vec<u8>),
}

/// Who changed an alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSource {
    /// `add_alias`.
    Created,
    /// A successful `write_alias` through the port.
    UpdateAlias,
    /// `force_alias`: someone else, outside shifter.
    OutOfBand,
}

impl ChangeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeSource::Created => "created",
            ChangeSource::UpdateAlias => "update-alias",
            ChangeSource::OutOfBand => "out-of-band",
        }
    }
}

/// One entry of an alias's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasChange {
    pub routing: Routing,
    pub revision_id: String,
    pub source: ChangeSource,
}

/// The fake AWS account. Clones share the same state.
#[derive(Debug, Clone, Default)]
pub struct FakeAws {
    state: Arc<Mutex<State>>,
}

impl FakeAws {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test must not turn every later assertion into a PoisonError.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_function<T>(&self, name: &str, f: impl FnOnce(&mut Function) -> T) -> T {
        let mut st = self.lock();
        let function = st
            .functions
            .get_mut(name)
            .unwrap_or_else(|| panic!("fake: no function {name:?}: call add_function first"));
        f(function)
    }

    // ---- setup -------------------------------------------------------------------------------------------

    /// Creates a function (no published version yet; $LATEST has [`INITIAL_CODE_SHA256`]).
    pub fn add_function(&self, name: &str) -> &Self {
        let mut st = self.lock();
        assert!(
            !st.functions.contains_key(name),
            "fake: function {name:?} already exists"
        );
        st.functions.insert(name.to_string(), Function::new(name));
        self
    }

    /// Sets $LATEST's code to `code_sha256` and publishes it as a new version, whether or not the code
    /// changed (a setup shortcut; the port's `publish_version` follows AWS and may return the last version).
    pub fn publish(&self, name: &str, code_sha256: &str) -> String {
        self.with_function(name, |f| {
            f.latest_code = code_sha256.to_string();
            f.publish_latest("published by the test setup")
        })
    }

    /// Changes $LATEST's code (like UpdateFunctionCode), so the next `publish_version` creates a version.
    pub fn set_latest_code(&self, name: &str, code_sha256: &str) -> &Self {
        self.with_function(name, |f| f.latest_code = code_sha256.to_string());
        self
    }

    /// Sets a version's execution role and dead-letter target. `version` may be `$LATEST` (what the next
    /// published version copies). Defaults: [`default_role`] and no DLQ.
    pub fn set_version_config(
        &self,
        name: &str,
        version: &str,
        role: &str,
        dead_letter_arn: Option<&str>,
    ) -> &Self {
        let config = Config {
            role: role.to_string(),
            dead_letter_arn: dead_letter_arn.map(str::to_string),
        };
        self.with_function(name, |f| {
            let slot = if version == state::LATEST {
                &mut f.latest_config
            } else {
                f.version_mut(version)
                    .map(|v: &mut Version| &mut v.config)
                    .unwrap_or_else(|| panic!("fake: {name} has no published version {version:?}"))
            };
            *slot = config;
        });
        self
    }

    /// Creates an alias. The routing must be one AWS would accept (a single-version alias may point at
    /// $LATEST, as in AWS); the fake panics otherwise.
    pub fn add_alias(&self, function: &str, alias: &str, routing: Routing) -> &Self {
        let mut st = self.lock();
        let revision_id = st.next_revision();
        let f = st
            .functions
            .get_mut(function)
            .unwrap_or_else(|| panic!("fake: no function {function:?}: call add_function first"));
        if let Err(e) = f.check_routing(&routing, true) {
            panic!("fake: add_alias {function}:{alias} {routing}: AWS would refuse it: {e}");
        }
        assert!(
            !f.aliases.contains_key(alias),
            "fake: alias {function}:{alias} already exists"
        );
        f.aliases.insert(
            alias.to_string(),
            Alias::new(routing, revision_id, ChangeSource::Created),
        );
        self
    }

    /// Someone else changes the alias (console, another tool): new RevisionId, recorded as out-of-band.
    pub fn force_alias(&self, function: &str, alias: &str, routing: Routing) -> &Self {
        let mut st = self.lock();
        let revision_id = st.next_revision();
        let f = st
            .functions
            .get_mut(function)
            .unwrap_or_else(|| panic!("fake: no function {function:?}"));
        if let Err(e) = f.check_routing(&routing, true) {
            panic!("fake: force_alias {function}:{alias} {routing}: AWS would refuse it: {e}");
        }
        let a = f
            .aliases
            .get_mut(alias)
            .unwrap_or_else(|| panic!("fake: no alias {function}:{alias}"));
        a.set(routing, revision_id, ChangeSource::OutOfBand);
        self
    }

    /// Someone else changes the alias to `routing` (as `force_alias`) right after its next read through the
    /// port has answered: a change that lands between a read and the write fenced on what it read.
    pub fn force_alias_after_next_read(
        &self,
        function: &str,
        alias: &str,
        routing: Routing,
    ) -> &Self {
        self.lock()
            .after_read
            .push((function.to_string(), alias.to_string(), routing));
        self
    }

    fn change_after_read(&self, function: &str, alias: &str) {
        let due = {
            let mut st = self.lock();
            let at = st
                .after_read
                .iter()
                .position(|(f, a, _)| f == function && a == alias);
            at.map(|i| st.after_read.remove(i).2)
        };
        if let Some(routing) = due {
            self.force_alias(function, alias, routing);
        }
    }

    /// Sets an alarm's state now (a change is stamped and logged in its history, as CloudWatch does).
    pub fn set_alarm(&self, name: &str, state: AlarmState) -> &Self {
        self.lock().set_alarm(name, state);
        self
    }

    /// Stamps alarm changes with `clock`'s time instead of the system's, so they line up with a driver's
    /// checks in simulated time.
    pub fn use_clock(&self, clock: &FakeClock) -> &Self {
        self.lock().clock = Some(clock.clone());
        self
    }

    /// The version reads as Pending for the next `reads` reads, then Active (a version Lambda is still
    /// creating).
    pub fn set_version_pending(&self, name: &str, version: &str, reads: usize) -> &Self {
        self.with_function(name, |f| {
            f.version_mut(version)
                .unwrap_or_else(|| panic!("fake: {name} has no published version {version:?}"))
                .pending_reads = reads;
        });
        self
    }

    /// Sets a version's Lambda State (Failed, Inactive…) and StateReason.
    pub fn set_version_state(&self, name: &str, version: &str, state: &str, reason: &str) -> &Self {
        self.with_function(name, |f| {
            let v = f
                .version_mut(version)
                .unwrap_or_else(|| panic!("fake: {name} has no published version {version:?}"));
            v.state = state.to_string();
            v.state_reason = Some(reason.to_string());
        });
        self
    }

    /// $LATEST reads as LastUpdateStatus InProgress for the next `reads` reads (an update under way), or
    /// Failed with `failed` as the reason.
    pub fn set_latest_update(&self, name: &str, reads: usize, failed: Option<&str>) -> &Self {
        self.with_function(name, |f| {
            f.latest_updating_reads = reads;
            f.latest_update_failed = failed.map(str::to_string);
        });
        self
    }

    pub fn delete_alarm(&self, name: &str) -> &Self {
        self.lock().alarms.remove(name);
        self
    }

    /// Sets alarm `name` to `state` (creating it if needed) when the `after_calls`-th `alarm_states` call
    /// from now happens (1-based), before that call answers: an alarm firing mid-bake. 0 sets it now.
    pub fn schedule_alarm(&self, after_calls: usize, name: &str, state: AlarmState) -> &Self {
        let mut st = self.lock();
        if after_calls == 0 {
            st.set_alarm(name, state);
        } else {
            let at_call = st.calls(Op::AlarmStates) + after_calls;
            st.scheduled.push(Scheduled {
                at_call,
                name: name.to_string(),
                state,
            });
        }
        drop(st);
        self
    }

    /// How `function` answers invocations. Creates the function if it does not exist yet.
    pub fn set_hook(&self, function: &str, behaviour: HookBehaviour) -> &Self {
        let mut st = self.lock();
        st.functions
            .entry(function.to_string())
            .or_insert_with(|| Function::new(function))
            .hook = behaviour;
        drop(st);
        self
    }

    pub fn add_topic(&self, topic_arn: &str) -> &Self {
        self.lock().topics.insert(topic_arn.to_string());
        self
    }

    /// A fault at the `fault.at`-th call of any op (the fault matrix).
    pub fn fail_at(&self, fault: PositionFault) -> &Self {
        self.lock().position_fault = Some(fault);
        self
    }

    /// Every call so far, in order.
    pub fn call_log(&self) -> Vec<Op> {
        self.lock().call_log.clone()
    }

    /// The next `count` calls of `op` fail with `error` and have no effect (after any already queued).
    pub fn fail_next(&self, op: Op, error: Error, count: usize) -> &Self {
        let mut st = self.lock();
        let queue = st.faults.entry(op).or_default();
        queue.extend(std::iter::repeat_n(error, count));
        drop(st);
        self
    }

    // ---- observation -------------------------------------------------------------------------------------

    /// The alias as it is now. Panics if it does not exist.
    pub fn alias(&self, function: &str, alias: &str) -> AliasState {
        self.with_function(function, |f| {
            f.aliases
                .get(alias)
                .unwrap_or_else(|| panic!("fake: no alias {function}:{alias}"))
                .state()
        })
    }

    /// Every routing the alias took, in order: the initial one, then each successful write or forced change.
    pub fn history(&self, function: &str, alias: &str) -> Vec<Routing> {
        self.changes(function, alias)
            .into_iter()
            .map(|c| c.routing)
            .collect()
    }

    /// Like `history`, with each change's RevisionId and source.
    pub fn changes(&self, function: &str, alias: &str) -> Vec<AliasChange> {
        self.with_function(function, |f| {
            f.aliases
                .get(alias)
                .unwrap_or_else(|| panic!("fake: no alias {function}:{alias}"))
                .history
                .clone()
        })
    }

    /// The function's published versions, oldest first.
    pub fn versions(&self, function: &str) -> Vec<String> {
        self.with_function(function, |f| {
            (1..=f.versions.len()).map(|n| n.to_string()).collect()
        })
    }

    /// The description a version was published with. Panics if the version does not exist.
    pub fn version_description(&self, function: &str, version: &str) -> String {
        self.with_function(function, |f| {
            f.version(version)
                .unwrap_or_else(|| panic!("fake: {function} has no published version {version:?}"))
                .description
                .clone()
        })
    }

    /// When the alarm's state value last changed (its StateTransitionedTimestamp), if it was ever set.
    pub fn alarm_transitioned(&self, name: &str) -> Option<u64> {
        self.lock().alarm_transitioned.get(name).copied()
    }

    /// How many times `op` was called, failed calls included.
    pub fn calls(&self, op: Op) -> usize {
        self.lock().calls(op)
    }

    /// Every hook invocation that reached a function: (function as invoked, payload as JSON; a payload that
    /// is not JSON is kept as a JSON string).
    pub fn hook_calls(&self) -> Vec<(String, serde_json::Value)> {
        self.lock().hook_calls.clone()
    }

    /// Every notification published to a known topic: (topic ARN, notification).
    pub fn notifications(&self) -> Vec<(String, Notification)> {
        self.lock().notifications.clone()
    }
}

/// A rollout of `orders:live` from version 1 to version 2 on Canary10Percent5Minutes (10% baking 300 s, then
/// 100%), watching `orders-errors`, prepared but not started: for tests that need a `Rollout` without running
/// `prepare`. Change what a test needs with struct update syntax.
pub fn canary_rollout() -> crate::rollout::Rollout {
    use crate::plan::{Plan, Step, FULL_BPS};
    crate::rollout::Rollout {
        schema_version: crate::rollout::SCHEMA_VERSION,
        rollout_id: "r-1".into(),
        function_name: "orders".into(),
        function_arn: function_arn("orders"),
        alias: "live".into(),
        current_version: "1".into(),
        target_version: "2".into(),
        target_version_arn: format!("{}:2", function_arn("orders")),
        strategy: "Canary10Percent5Minutes".into(),
        plan: Plan {
            steps: vec![
                Step {
                    weight_bps: 1000,
                    bake_seconds: 300,
                },
                Step {
                    weight_bps: FULL_BPS,
                    bake_seconds: 0,
                },
            ],
        },
        steps_done: 0,
        weight_bps: 0,
        revision_id: "rev-1".into(),
        checked_ms: 0,
        started_ms: 0,
        execution_arn: None,
        started_by: None,
        cloud_formation: None,
        hooks: crate::request::Hooks::default(),
        alarms: vec!["orders-errors".into()],
        insufficient_data: crate::request::InsufficientData::Healthy,
        notification_topic_arn: None,
        analysis: None,
        step_started_ms: 0,
        bake_left_seconds: 0,
        extended_seconds: 0,
        analysed_ms: 0,
        last_analysis: None,
    }
}

/// Names in the sample account that `FakeAws::sample` builds.
pub mod sample {
    pub const FUNCTION: &str = "orders";
    pub const ALIAS: &str = "live";
    pub const PRE_HOOK: &str = "pre-hook";
    pub const POST_HOOK: &str = "post-hook";
    pub const ALARM: &str = "orders-errors";
    pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:rollouts";
}

impl FakeAws {
    /// The account most tests start from: `orders` with versions 1 and 2, alias `live` on version 1, the hook
    /// functions `pre-hook` and `post-hook`, the alarm `orders-errors` in OK, and the topic `rollouts`.
    pub fn sample() -> FakeAws {
        use sample::*;
        let aws = FakeAws::new();
        aws.add_function(FUNCTION);
        aws.publish(FUNCTION, "code-1");
        aws.publish(FUNCTION, "code-2");
        aws.add_alias(FUNCTION, ALIAS, Routing::single("1"));
        aws.add_function(PRE_HOOK).add_function(POST_HOOK);
        aws.set_alarm(ALARM, AlarmState::Ok);
        aws.add_topic(TOPIC);
        aws
    }
}
