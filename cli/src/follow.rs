//! Following a rollout execution: its history, polled, becomes the same progress the local driver reports
//! (lifecycle notifications, bakes, alarm checks), and its end becomes an `Outcome` and an exit code.
//!
//! Every state after Prepare carries a `RolloutState` (the state's input when entered, its output when
//! exited); the tracker keeps the latest and derives the lifecycle events the functions publish from the
//! state transitions: Prepare exited → RolloutStarted; a hook state exited → HookSucceeded/HookFailed (when
//! the hook is configured); Advance exited with one more step done, or Finalize exited → TrafficShifted; a
//! Wait entered → a bake of `waitSeconds`; Rollback exited → RolledBack or RolloutFailed;
//! NotifyRollbackFailed entered → RollbackFailed; ExecutionSucceeded → RolloutSucceeded.
//!
//! Exit codes come from the execution's end: SUCCEEDED 0; FAILED by its error name (`RolledBack` and
//! `RollbackFailed` 1, `AliasBusy`/`AliasChanged` 3, `InvalidRequest`/`ResourceNotFound` 2, else 1);
//! ABORTED and TIMED_OUT 1.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use shifter::driver::{Observer, Outcome, Progress};
use shifter::notification::{EventType, HookPhase, Notification};
use shifter::state::{RolloutState, StateError};
use shifter::Error;

use crate::stepfunctions::{events_after, ApiError, Event, ExecutionApi};

// The ASL states whose history events the follower reads (statemachine/rollout.asl.json). A test checks that
// each exists there, so renaming a state cannot silently blind the progress display.
const PREPARE: &str = "Prepare";
const PRE_TRAFFIC_HOOK: &str = "PreTrafficHook";
const POST_TRAFFIC_HOOK: &str = "PostTrafficHook";
const ADVANCE: &str = "Advance";
const FINALIZE: &str = "Finalize";
const ROLLBACK: &str = "Rollback";
const NOTIFY_ROLLBACK_FAILED: &str = "NotifyRollbackFailed";
pub const FOLLOWED_STATES: [&str; 7] = [
    PREPARE,
    PRE_TRAFFIC_HOOK,
    POST_TRAFFIC_HOOK,
    ADVANCE,
    FINALIZE,
    ROLLBACK,
    NOTIFY_ROLLBACK_FAILED,
];

/// How a followed execution ended.
#[derive(Debug)]
pub struct Ended {
    pub outcome: Outcome,
    pub exit_code: i32,
    /// Execution start to end, from the event timestamps.
    pub elapsed: Duration,
    /// The execution's status: SUCCEEDED, FAILED, ABORTED or TIMED_OUT.
    pub status: &'static str,
}

/// Polling: every `interval`, doubling up to `max_interval` while calls fail; gives up after `max_errors`
/// failures in a row.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub interval: Duration,
    pub max_interval: Duration,
    pub max_errors: u32,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            max_errors: 8,
        }
    }
}

/// Decodes a state's JSON as a `RolloutState`; `None` for anything else (the request before Prepare, a
/// truncated or foreign document).
pub fn rollout_state(data: Option<&str>) -> Option<RolloutState> {
    let value: Value = serde_json::from_str(data?).ok()?;
    value.get("rollout")?;
    serde_json::from_value(value).ok()
}

/// The latest `RolloutState` in a history (the last state input or output carrying `rollout`).
pub fn last_rollout_state(events: &[Event]) -> Option<RolloutState> {
    events
        .iter()
        .rev()
        .filter(|e| e.is_state_entered() || e.is_state_exited() || e.kind == "ExecutionSucceeded")
        .find_map(|e| rollout_state(e.data.as_deref()))
}

/// The exit code for an execution that failed with `error`.
pub fn exit_code_for_error(error: &str) -> i32 {
    match error {
        "RolledBack" | "RollbackFailed" => 1,
        "AliasBusy" | "AliasChanged" => 3,
        "InvalidRequest" | "ResourceNotFound" => 2,
        _ => 1,
    }
}

/// The human part of a Cause: `errorMessage` when it is a Lambda error payload, else the text itself.
pub fn cause_message(error: &str, cause: Option<&str>) -> String {
    StateError {
        error: error.to_string(),
        cause: cause.map(str::to_string),
    }
    .message()
}

/// Rebuilds a `shifter::Error` from an error name and its message (an `Error`'s Display, as the functions
/// report it in `errorMessage`). Names shifter does not define (`States.Timeout`, `Lambda.Unknown`, …) become
/// `AwsRejected` naming them.
pub fn error_from(name: &str, message: &str) -> Error {
    let field_and_rest = |prefix: &str| -> (String, String) {
        let rest = message.strip_prefix(prefix).unwrap_or(message);
        match rest.split_once(": ") {
            Some((field, m)) if !field.contains(' ') => (field.to_string(), m.to_string()),
            _ => ("request".to_string(), rest.to_string()),
        }
    };
    let alias_and_rest = |infix: &str| -> (String, String) {
        match message
            .strip_prefix("alias ")
            .and_then(|r| r.split_once(infix))
        {
            Some((alias, m)) => (alias.to_string(), m.to_string()),
            None => ("?".to_string(), message.to_string()),
        }
    };
    match name {
        "InvalidRequest" => {
            let (field, message) = field_and_rest("invalid request: ");
            Error::InvalidRequest { field, message }
        }
        "ResourceNotFound" => {
            let (field, message) = field_and_rest("not found: ");
            Error::ResourceNotFound { field, message }
        }
        "AliasBusy" => {
            let (alias, message) = alias_and_rest(" is busy: ");
            Error::AliasBusy { alias, message }
        }
        "AliasChanged" => {
            let (alias, message) = alias_and_rest(" changed outside this rollout: ");
            Error::AliasChanged { alias, message }
        }
        "Transient" => Error::Transient {
            operation: "the state machine".into(),
            message: message.to_string(),
        },
        "InvalidState" => Error::InvalidState {
            message: message.to_string(),
        },
        other => Error::AwsRejected {
            operation: format!("the rollout execution ({other})"),
            message: message.to_string(),
        },
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Turns history events, in order, into progress and, at the end, an [`Ended`].
#[derive(Debug, Default)]
pub struct Tracker {
    last: Option<RolloutState>,
    steps_shown: usize,
    started_ms: Option<i64>,
    /// The current time, for bake countdowns (`None`: the system clock).
    pub now_ms: Option<i64>,
}

impl Tracker {
    pub fn new() -> Self {
        Tracker::default()
    }

    /// The latest rollout state seen.
    pub fn state(&self) -> Option<&RolloutState> {
        self.last.as_ref()
    }

    fn lifecycle(obs: &mut impl Observer, n: Notification) {
        obs.observe(Progress::Lifecycle(&n));
    }

    /// Feeds one event; `Some` when the execution has ended.
    pub fn on_event(&mut self, e: &Event, obs: &mut impl Observer) -> Option<Ended> {
        if e.kind == "ExecutionStarted" {
            self.started_ms = Some(e.timestamp_ms);
            return None;
        }
        let name = e.state_name.as_deref().unwrap_or_default();
        if e.is_state_entered() || e.is_state_exited() {
            if let Some(state) = rollout_state(e.data.as_deref()) {
                self.on_state(e, name, &state, obs);
                self.last = Some(state);
            }
            return None;
        }
        let elapsed = Duration::from_millis(
            e.timestamp_ms
                .saturating_sub(self.started_ms.unwrap_or(e.timestamp_ms))
                .max(0) as u64,
        );
        match e.kind.as_str() {
            "ExecutionSucceeded" => {
                let state = rollout_state(e.data.as_deref()).or_else(|| self.last.clone());
                let Some(state) = state else {
                    return Some(self.ended_without_rollout(
                        "SUCCEEDED",
                        0,
                        Error::InvalidState {
                            message: "the execution succeeded without a rollout state".into(),
                        },
                        elapsed,
                    ));
                };
                Self::lifecycle(
                    obs,
                    Notification::new(EventType::RolloutSucceeded, &state.rollout),
                );
                Some(Ended {
                    outcome: Outcome::Promoted {
                        rollout: state.rollout,
                    },
                    exit_code: 0,
                    elapsed,
                    status: "SUCCEEDED",
                })
            }
            "ExecutionFailed" => Some(self.failed(e, elapsed)),
            "ExecutionAborted" | "ExecutionTimedOut" => {
                let status = if e.kind == "ExecutionAborted" {
                    "ABORTED"
                } else {
                    "TIMED_OUT"
                };
                let why = e.cause.clone().or_else(|| e.error.clone());
                let message = format!(
                    "the execution was {}{}; the state machine did not roll back: run `shifter abort` on it or check the alias",
                    status.to_lowercase().replace('_', " "),
                    why.map(|w| format!(" ({w})")).unwrap_or_default()
                );
                let error = Error::AwsRejected {
                    operation: "the rollout execution".into(),
                    message,
                };
                Some(match self.last.clone() {
                    Some(state) => Ended {
                        outcome: Outcome::Failed {
                            rollout: state.rollout,
                            error,
                            alias_restored: false,
                        },
                        exit_code: 1,
                        elapsed,
                        status,
                    },
                    None => self.ended_without_rollout(status, 1, error, elapsed),
                })
            }
            _ => None,
        }
    }

    fn ended_without_rollout(
        &self,
        status: &'static str,
        exit_code: i32,
        error: Error,
        elapsed: Duration,
    ) -> Ended {
        Ended {
            outcome: Outcome::Rejected { error },
            exit_code,
            elapsed,
            status,
        }
    }

    fn failed(&self, e: &Event, elapsed: Duration) -> Ended {
        let name = e.error.as_deref().unwrap_or("States.Unknown");
        let exit_code = exit_code_for_error(name);
        let message = cause_message(name, e.cause.as_deref());
        let outcome = match (name, self.last.clone()) {
            ("RolledBack", Some(state)) => match &state.error {
                Some(caught) => Outcome::Failed {
                    error: error_from(&caught.error, &caught.message()),
                    rollout: state.rollout,
                    alias_restored: true,
                },
                None => Outcome::RolledBack {
                    reason: state.reason.clone().unwrap_or(message),
                    rollout: state.rollout,
                },
            },
            ("RollbackFailed", Some(state)) => {
                let error = match state.rollback_error.as_ref().or(state.error.as_ref()) {
                    Some(err) => error_from(&err.error, &err.message()),
                    None => error_from(name, &message),
                };
                Outcome::Failed {
                    rollout: state.rollout,
                    error,
                    alias_restored: false,
                }
            }
            ("InvalidRequest" | "ResourceNotFound" | "AliasBusy", _) | (_, None) => {
                Outcome::Rejected {
                    error: error_from(name, &message),
                }
            }
            (_, Some(state)) => Outcome::Failed {
                rollout: state.rollout,
                error: error_from(name, &message),
                alias_restored: false,
            },
        };
        Ended {
            outcome,
            exit_code,
            elapsed,
            status: "FAILED",
        }
    }

    fn on_state(&mut self, e: &Event, name: &str, state: &RolloutState, obs: &mut impl Observer) {
        let rollout = &state.rollout;
        match (e.kind.as_str(), name) {
            ("TaskStateExited", PREPARE) => {
                self.steps_shown = rollout.steps_done;
                Self::lifecycle(obs, Notification::new(EventType::RolloutStarted, rollout));
            }
            ("TaskStateExited", PRE_TRAFFIC_HOOK | POST_TRAFFIC_HOOK) => {
                let phase = if name == PRE_TRAFFIC_HOOK {
                    HookPhase::PreTraffic
                } else {
                    HookPhase::PostTraffic
                };
                let configured = match phase {
                    HookPhase::PreTraffic => rollout.hooks.pre_traffic.is_some(),
                    HookPhase::PostTraffic => rollout.hooks.post_traffic.is_some(),
                };
                let Some(hook) = state.hook.as_ref().filter(|h| h.phase == phase) else {
                    return;
                };
                if !configured {
                    return;
                }
                let n = if hook.succeeded {
                    Notification::new(EventType::HookSucceeded, rollout).with_phase(phase)
                } else {
                    let n = Notification::new(EventType::HookFailed, rollout).with_phase(phase);
                    match hook.reason.as_deref() {
                        Some(reason) => n.with_reason(reason),
                        None => n,
                    }
                };
                Self::lifecycle(obs, n);
            }
            ("TaskStateExited", ADVANCE) => {
                if let Some(verdict) = &state.verdict {
                    obs.observe(Progress::Checked { rollout, verdict });
                }
                if rollout.steps_done > self.steps_shown {
                    self.steps_shown = rollout.steps_done;
                    Self::lifecycle(obs, Notification::new(EventType::TrafficShifted, rollout));
                }
            }
            ("TaskStateExited", FINALIZE) => {
                self.steps_shown = rollout.steps_done;
                Self::lifecycle(obs, Notification::new(EventType::TrafficShifted, rollout));
            }
            ("WaitStateEntered", _) => {
                let total = Duration::from_secs(u64::from(state.wait_seconds));
                let now = self.now_ms.unwrap_or_else(now_ms);
                let waited =
                    Duration::from_millis(now.saturating_sub(e.timestamp_ms).max(0) as u64);
                obs.observe(Progress::Baking {
                    rollout,
                    remaining: total.saturating_sub(waited),
                    total,
                });
            }
            ("TaskStateExited", ROLLBACK) => {
                let reason = state
                    .reason
                    .clone()
                    .unwrap_or_else(|| "rollback requested".into());
                let n = match &state.error {
                    None => Notification::new(EventType::RolledBack, rollout).with_reason(reason),
                    Some(error) => Notification::new(EventType::RolloutFailed, rollout)
                        .with_reason(format!(
                            "{reason}; alias restored to version {}",
                            rollout.current_version
                        ))
                        .with_error_type(&error.error),
                };
                Self::lifecycle(obs, n);
            }
            ("TaskStateEntered", NOTIFY_ROLLBACK_FAILED) => {
                let reason = state
                    .rollback_error
                    .as_ref()
                    .map(StateError::message)
                    .unwrap_or_else(|| "the rollback failed".into());
                let mut n =
                    Notification::new(EventType::RollbackFailed, rollout).with_reason(reason);
                if let Some(err) = &state.rollback_error {
                    n = n.with_error_type(&err.error);
                }
                Self::lifecycle(obs, n);
            }
            _ => {}
        }
    }
}

/// Polls the execution's history until it ends, reporting progress to `obs`. An error is returned only
/// when the history could not be read `max_errors` times in a row (the execution itself goes on).
pub async fn follow<A: ExecutionApi>(
    api: &A,
    execution_arn: &str,
    obs: &mut impl Observer,
    polling: Polling,
) -> Result<Ended, ApiError> {
    let mut tracker = Tracker::new();
    let mut last_id = 0;
    let mut interval = polling.interval;
    let mut errors = 0;
    loop {
        match events_after(api, execution_arn, last_id).await {
            Ok(events) => {
                errors = 0;
                interval = polling.interval;
                for e in events {
                    last_id = last_id.max(e.id);
                    if let Some(ended) = tracker.on_event(&e, obs) {
                        return Ok(ended);
                    }
                }
            }
            Err(error) if error.is_not_found() => return Err(error),
            Err(error) => {
                errors += 1;
                if errors >= polling.max_errors {
                    return Err(error);
                }
                interval = (interval * 2).clamp(Duration::from_millis(1), polling.max_interval);
                tracing::warn!(%error, retry_in = ?interval, "cannot read the execution history; retrying");
            }
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
#[path = "follow_tests.rs"]
mod tests;

#[cfg(test)]
mod asl_contract {
    #[test]
    fn every_followed_state_exists_in_the_state_machine() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../statemachine/rollout.asl.json"
        );
        let asl: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let states = asl["States"].as_object().expect("the ASL has States");
        for name in super::FOLLOWED_STATES {
            assert!(
                states.contains_key(name),
                "cli/src/follow.rs follows {name:?}, which the ASL no longer has"
            );
        }
    }
}
