//! How a running rollout listens: while it waits (a bake, or a pause) its lease carries the wait's task token,
//! and operators' commands and alarm events are posted on the same lease item. Whoever writes second acts:
//!
//! - a command or alarm posted while the rollout waits finds the token and answers it (`SendTaskSuccess` /
//!   `SendTaskFailure`);
//! - a command or alarm posted while a Task runs (no wait registered yet, or a token already answered) stays
//!   on the lease, and the next wait finds it when it registers.
//!
//! Both sides write the lease item with one conditional update, so neither can miss the other. Commands are
//! the operator's latest wish, not a queue: a `pause` that was already acted on is ignored by the pause that
//! follows, a `resume` by the bake that follows (see [`answer`]).

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::Lease;
use crate::error::Result;

/// The longest pause by default (24 h): past it the rollout rolls back rather than hold a weighted alias.
pub const DEFAULT_MAX_PAUSE_SECONDS: u32 = 24 * 3600;
/// Step Functions' longest task timeout is a year; a pause never needs more than a week.
pub const MAX_PAUSE_SECONDS: u32 = 7 * 24 * 3600;

/// The error names a wait's token is failed with. The ASL's Catch blocks name them (a contract test checks
/// that every name the ASL uses is one of these, an `Error` name, or a `States.` one).
pub const ALARM_FIRED: &str = "AlarmFired";
pub const ABORTED: &str = "Aborted";
pub const SIGNAL_NAMES: [&str; 2] = [ALARM_FIRED, ABORTED];

/// What a rollout waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitKind {
    /// A step's bake (the `Bake` callback Task): it ends on its own when the bake time is over.
    Bake,
    /// An operator's pause (the `Paused` callback Task): it ends on `resume`, `promote`, `abort`, an alarm,
    /// or the pause's maximum length.
    Pause,
}

/// A wait in progress: its kind and its Step Functions task token (opaque: never parsed). A local rollout
/// shows its pause with no token (empty): it reads its commands from the lease itself, nobody answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    pub kind: WaitKind,
    pub token: String,
    pub since_ms: u64,
}

/// An operator's command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "command")]
pub enum Command {
    /// Skip the remaining steps and bakes: check the alarms once more, then finalize (the post-traffic hook
    /// still runs).
    Promote,
    /// Hold the current weight until `resume`; roll back after `max_seconds`.
    #[serde(rename_all = "camelCase")]
    Pause {
        max_seconds: u32,
    },
    Resume,
    /// Roll back now.
    Abort {
        reason: String,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Promote => "promote",
            Command::Pause { .. } => "pause",
            Command::Resume => "resume",
            Command::Abort { .. } => "abort",
        }
    }
}

/// An alarm event seen by the watcher, kept for the next wait when no wait was registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmSeen {
    pub name: String,
    /// `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// When the alarm changed state (the event's time), ms since the epoch.
    pub at_ms: u64,
}

/// Something posted to a running rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    Command(Command, u64),
    Alarm(AlarmSeen),
}

/// Which lease: the alias, and the rollout that must hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseKey {
    pub function: String,
    pub alias: String,
    pub rollout_id: String,
}

impl LeaseKey {
    pub fn of(rollout: &crate::rollout::Rollout) -> Self {
        LeaseKey {
            function: rollout.function_name.clone(),
            alias: rollout.alias.clone(),
            rollout_id: rollout.rollout_id.clone(),
        }
    }
}

/// How a wait's token is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `SendTaskSuccess` with this output (the ASL puts it at `$.operator`).
    Succeed(Value),
    /// `SendTaskFailure` with one of [`SIGNAL_NAMES`] and a cause.
    Fail { error: &'static str, cause: String },
}

/// What a command means to a wait of `kind`, if anything (pure: the one place these rules live).
pub fn answer(kind: WaitKind, command: &Command) -> Option<Answer> {
    match (kind, command) {
        (_, Command::Promote) => Some(Answer::Succeed(json!({"command": "promote"}))),
        (_, Command::Abort { reason }) => Some(Answer::Fail {
            error: ABORTED,
            cause: format!("aborted by an operator: {reason}"),
        }),
        (WaitKind::Bake, Command::Pause { max_seconds }) => Some(Answer::Succeed(
            json!({"command": "pause", "pauseSeconds": max_seconds}),
        )),
        (WaitKind::Pause, Command::Resume) => Some(Answer::Succeed(json!({"command": "resume"}))),
        // Already paused, or already running: the command was acted on before.
        (WaitKind::Pause, Command::Pause { .. }) | (WaitKind::Bake, Command::Resume) => None,
    }
}

/// Whether a delivery reached a waiting task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Delivery {
    Delivered,
    /// The token had already been answered or timed out (`InvalidToken`, `TaskTimedOut`): the signal stays on
    /// the lease for the next wait.
    AlreadyFinished,
}

/// The lease item's listening side.
pub trait RolloutControl: Send + Sync {
    /// Registers `waiting` on the rollout's lease and answers the lease as it now stands (with any pending
    /// command or alarm). `None`: the rollout no longer holds the lease.
    fn wait_for(
        &self,
        key: &LeaseKey,
        waiting: &Waiting,
    ) -> impl Future<Output = Result<Option<Lease>>> + Send;
    /// Posts a command or an alarm on the rollout's lease and answers the lease as it now stands (with the
    /// wait to answer, if one is registered). `None`: the rollout no longer holds the lease.
    fn post(
        &self,
        key: &LeaseKey,
        signal: &Signal,
    ) -> impl Future<Output = Result<Option<Lease>>> + Send;
    /// A local rollout checks in: records `at_ms` as its latest check-in (`Lease::checked_in_ms`) and answers
    /// the lease as it now stands, with any pending command (the local driver reads its commands so). `None`:
    /// the rollout no longer holds the lease.
    fn check_in(
        &self,
        key: &LeaseKey,
        at_ms: u64,
    ) -> impl Future<Output = Result<Option<Lease>>> + Send;
    /// The alias's lease, if any.
    fn lease_of(
        &self,
        function: &str,
        alias: &str,
    ) -> impl Future<Output = Result<Option<Lease>>> + Send;
}

/// Answers Step Functions task tokens.
pub trait TaskCallback: Send + Sync {
    fn answer(&self, token: &str, answer: &Answer)
        -> impl Future<Output = Result<Delivery>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_mean_what_they_say_to_each_kind_of_wait() {
        let pause = Command::Pause { max_seconds: 60 };
        let abort = Command::Abort {
            reason: "bad".into(),
        };
        for kind in [WaitKind::Bake, WaitKind::Pause] {
            assert_eq!(
                answer(kind, &Command::Promote),
                Some(Answer::Succeed(json!({"command": "promote"})))
            );
            assert!(matches!(
                answer(kind, &abort),
                Some(Answer::Fail { error: ABORTED, ref cause }) if cause.contains("bad")
            ));
        }
        assert_eq!(
            answer(WaitKind::Bake, &pause),
            Some(Answer::Succeed(
                json!({"command": "pause", "pauseSeconds": 60})
            ))
        );
        assert_eq!(answer(WaitKind::Pause, &pause), None);
        assert_eq!(answer(WaitKind::Bake, &Command::Resume), None);
        assert_eq!(
            answer(WaitKind::Pause, &Command::Resume),
            Some(Answer::Succeed(json!({"command": "resume"})))
        );
    }

    #[test]
    fn commands_serialize_tagged() {
        let c = Command::Pause { max_seconds: 5 };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v, json!({"command": "pause", "maxSeconds": 5}));
        assert_eq!(serde_json::from_value::<Command>(v).unwrap(), c);
    }
}
