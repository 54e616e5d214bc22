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

use std::time::Duration;

use serde_json::Value;
use shifter::driver::Outcome;
use shifter::state::{RolloutState, StateError};
use shifter::Error;

use crate::stepfunctions::Event;

// The ASL states whose history events the follower reads (statemachine/rollout.asl.json). A test checks that
// each exists there, so renaming a state cannot silently blind the progress display.
const PREPARE: &str = "Prepare";
const PRE_TRAFFIC_HOOK: &str = "PreTrafficHook";
const POST_TRAFFIC_HOOK: &str = "PostTrafficHook";
const ADVANCE: &str = "Advance";
const FINALIZE: &str = "Finalize";
const ROLLBACK: &str = "Rollback";
const NOTIFY_ROLLBACK_FAILED: &str = "NotifyRollbackFailed";
const BAKE: &str = "Bake";
const PAUSED: &str = "Paused";
pub const FOLLOWED_STATES: [&str; 9] = [
    PREPARE,
    PRE_TRAFFIC_HOOK,
    POST_TRAFFIC_HOOK,
    ADVANCE,
    FINALIZE,
    ROLLBACK,
    NOTIFY_ROLLBACK_FAILED,
    BAKE,
    PAUSED,
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
        "Throttled" => Error::Throttled {
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

mod poll;
mod tracker;

pub use poll::{follow, Polling};
pub use tracker::Tracker;

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
