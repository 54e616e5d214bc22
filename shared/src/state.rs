//! The JSON handed between the states of the rollout state machine (`statemachine/rollout.asl.json`).
//!
//! One type per Task input/output, all camelCase and all carrying `schemaVersion`
//! ([`STATE_SCHEMA_VERSION`]):
//!
//! | Task                              | input                          | output           |
//! |-----------------------------------|--------------------------------|------------------|
//! | Prepare                           | [`PrepareInput`]               | [`RolloutState`] |
//! | PreTrafficHook, PostTrafficHook   | [`HookInput`]                  | [`RolloutState`] |
//! | Advance, Finalize, Rollback       | [`RolloutState`]               | [`RolloutState`] |
//! | NotifySucceeded, NotifyRollbackFailed | [`NotifyInput`]            | [`RolloutState`] |
//!
//! The ASL builds [`PrepareInput`], [`HookInput`] and [`NotifyInput`] with `Parameters` around the execution
//! input or the current [`RolloutState`]; every Task's result replaces the whole state (`ResultPath: "$"`).
//! A Catch adds `{"Error", "Cause"}` at `$.error` (`$.rollbackError` for Rollback's own Catch) and keeps the
//! rest of the state, so Rollback still has the rollout to undo.
//!
//! A failed health check or hook is data ([`RolloutState::verdict`], [`RolloutState::hook`]) that the ASL's
//! Choice states route on; only failures to *do* something are errors.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::health::Verdict;
use crate::notification::{EventType, HookPhase};
use crate::rollout::Rollout;
use crate::text::{cap, MAX_OUTSIDE_TEXT};
use crate::usecase::HookVerdict;

/// The version of the state-machine JSON below (not of [`Rollout`], which has its own).
pub const STATE_SCHEMA_VERSION: u32 = 1;

fn check_version(found: u32, what: &str) -> Result<()> {
    if found == STATE_SCHEMA_VERSION {
        Ok(())
    } else {
        Err(Error::InvalidState {
            message: format!(
                "{what}: schemaVersion {found} is not supported (expected {STATE_SCHEMA_VERSION})"
            ),
        })
    }
}

/// Prepare's input. The ASL builds it from the execution: `request` is the execution input (a rollout
/// request, as in `events/requests/`), `rolloutId` the execution name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrepareInput {
    pub schema_version: u32,
    pub rollout_id: String,
    /// Kept as raw JSON so a malformed request fails with `InvalidRequest` naming its field.
    pub request: Value,
    /// The execution running the rollout (`$$.Execution.Id`): the registry's lease names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
}

impl PrepareInput {
    pub fn check_schema(&self) -> Result<()> {
        check_version(self.schema_version, "Prepare input")
    }
}

/// The state every Task after Prepare reads and returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutState {
    pub schema_version: u32,
    pub rollout: Rollout,
    /// The last health check (set by Advance). The Choice after Advance routes `healthy: false` to Rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The last hook run (set by RunHook). The Choice after a hook routes `succeeded: false` to Rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<HookOutcome>,
    /// How long the Wait state bakes before the next Advance (the step just applied's bake).
    #[serde(default)]
    pub wait_seconds: u32,
    /// Set by Advance when only the final 100% step is left: the Choice goes to Finalize.
    #[serde(default)]
    pub done: bool,
    /// The error a Catch recorded (`ResultPath: "$.error"`). Rollback reports it as RolloutFailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StateError>,
    /// The error Rollback's own Catch recorded (`ResultPath: "$.rollbackError"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_error: Option<StateError>,
    /// Why the rollout was rolled back (set by Rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The error the execution ends with once Rollback restored the alias (the RolledBack state's ErrorPath):
    /// `RolledBack`, or the caught conflict (`AliasChanged`) so a caller can tell "someone else changed the
    /// alias" (exit 3) from "an alarm, a hook or an error said no" (exit 1), as the local driver does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_error: Option<String>,
    /// Set by Rollback when the alias held a routing this rollout did not produce, which it left as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_alone: Option<crate::domain::Routing>,
    /// How the last wait ended (`ResultPath: "$.operator"` of Bake and Paused): an operator's command
    /// (`{"command": "promote" | "pause" | "resume", …}`), or the bake's `States.Timeout` (the bake is over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Value>,
    /// A wait failed by a signal (`ResultPath: "$.signal"`): `AlarmFired`, `Aborted`, or a pause that
    /// outlived its maximum (`States.Timeout` in Paused). A verdict, not an error: nothing was in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<StateError>,
}

impl RolloutState {
    /// The state right after Prepare.
    pub fn new(rollout: Rollout) -> Self {
        RolloutState {
            schema_version: STATE_SCHEMA_VERSION,
            rollout,
            verdict: None,
            hook: None,
            wait_seconds: 0,
            done: false,
            error: None,
            rollback_error: None,
            reason: None,
            end_error: None,
            left_alone: None,
            operator: None,
            signal: None,
        }
    }

    /// Checks this envelope's and the rollout's schema versions and the plan.
    pub fn check_schema(&self) -> Result<()> {
        check_version(self.schema_version, "rollout state")?;
        self.rollout.check_schema()
    }

    /// The operator's command that ended the last wait, if any (`promote`, `pause`, `resume`).
    pub fn operator_command(&self) -> Option<&str> {
        self.operator
            .as_ref()
            .and_then(|o| o.get("command"))
            .and_then(Value::as_str)
    }

    /// Why the rollout stops, from what the state carries: a caught error first, then a signal, a failed
    /// hook, then an unhealthy verdict. `None` when nothing failed.
    pub fn failure_reason(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(error.message());
        }
        if let Some(signal) = &self.signal {
            return Some(signal_reason(signal));
        }
        if let Some(hook) = self.hook.as_ref().filter(|h| !h.succeeded) {
            return Some(format!(
                "{} hook failed: {}",
                hook.phase.as_str(),
                hook.reason.as_deref().unwrap_or("no reason given")
            ));
        }
        self.verdict
            .as_ref()
            .filter(|v| !v.healthy)
            .map(Verdict::reason)
    }
}

/// Why a signal stopped the rollout. Its Cause, when there is one (the emulator drops it).
fn signal_reason(signal: &StateError) -> String {
    let given = signal.cause.as_deref().filter(|c| !c.trim().is_empty());
    match (signal.error.as_str(), given) {
        (_, Some(_)) if signal.error != "States.Timeout" => signal.message(),
        (crate::registry::control::ALARM_FIRED, _) => "an alarm fired during the bake".to_string(),
        (crate::registry::control::ABORTED, _) => "aborted by an operator".to_string(),
        ("States.Timeout" | "States.HeartbeatTimeout", _) => {
            "the rollout stayed paused past its maximum pause".to_string()
        }
        _ => signal.message(),
    }
}

/// The Wait function's input (Bake and Paused, `lambda:invoke.waitForTaskToken`): the wait's kind, its task
/// token (`$$.Task.Token`), and the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitInput {
    pub schema_version: u32,
    pub kind: crate::registry::control::WaitKind,
    pub token: String,
    pub state: RolloutState,
}

impl WaitInput {
    pub fn check_schema(&self) -> Result<()> {
        check_version(self.schema_version, "wait input")?;
        self.state.check_schema()
    }
}

/// A hook's verdict and which hook it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookOutcome {
    pub phase: HookPhase,
    pub succeeded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl HookOutcome {
    pub fn new(phase: HookPhase, verdict: HookVerdict) -> Self {
        HookOutcome {
            phase,
            succeeded: verdict.succeeded,
            reason: verdict.reason,
        }
    }
}

/// What Step Functions puts at a Catch's ResultPath. `Error` is the function's `errorType` (one of
/// `shifter::Error::NAMES`) or a Step Functions name such as `States.Timeout` or `Lambda.Unknown`; `Cause` is
/// the function's error payload as a JSON string (`{"errorType":…,"errorMessage":…}`) or free text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl StateError {
    /// The human part: `errorMessage` when the Cause is a Lambda error payload, else the Cause itself. At most
    /// [`MAX_OUTSIDE_TEXT`] bytes: it becomes Rollback's `reason` and notification reasons, and a Cause may
    /// carry whatever a function or Step Functions put there.
    pub fn message(&self) -> String {
        let Some(cause) = self.cause.as_deref().filter(|c| !c.trim().is_empty()) else {
            return cap(&self.error, MAX_OUTSIDE_TEXT);
        };
        let message = serde_json::from_str::<Value>(cause).ok().and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(|m| cap(m, MAX_OUTSIDE_TEXT))
        });
        message.unwrap_or_else(|| cap(cause, MAX_OUTSIDE_TEXT))
    }
}

/// RunHook's input: which hook to run, and the state (`Parameters: {"phase": …, "state.$": "$"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HookInput {
    pub schema_version: u32,
    pub phase: HookPhase,
    pub state: RolloutState,
}

impl HookInput {
    pub fn check_schema(&self) -> Result<()> {
        check_version(self.schema_version, "hook input")?;
        self.state.check_schema()
    }
}

/// Notify's input: which lifecycle event to publish, and the state (`Parameters: {"event": …, "state.$": "$"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifyInput {
    pub schema_version: u32,
    pub event: EventType,
    pub state: RolloutState,
}

impl NotifyInput {
    pub fn check_schema(&self) -> Result<()> {
        check_version(self.schema_version, "notify input")?;
        self.state.check_schema()
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
