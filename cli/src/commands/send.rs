//! What `promote`, `pause`, `resume` and `abort` share: find the target's running rollout, post the command on
//! its lease (`listen::command_to`), and say what happened.

use std::io::Write;

use serde_json::{json, Value};
use shifter::registry::control::{
    Command, Delivery, LeaseKey, RolloutControl, TaskCallback, WaitKind,
};
use shifter::registry::RolloutJournal;
use shifter::usecase::listen::{self, CommandOutcome};

use super::target::{find, Found, Target};
use super::NO_TABLE;
use crate::args::OutputFormat;
use crate::deploy::EXIT_INVALID;
use crate::fmt::whole_unit;
use crate::registry;
use crate::stepfunctions::ExecutionApi;

/// A command posted on a running rollout's lease.
#[derive(Debug, Clone)]
pub struct Posted {
    pub key: LeaseKey,
    pub outcome: CommandOutcome,
}

impl Posted {
    pub fn delivered(&self) -> bool {
        self.outcome.delivery == Some(Delivery::Delivered)
    }

    /// `rollout R (execution E)`, or `rollout R (local)`.
    fn who(&self) -> String {
        match &self.outcome.execution_arn {
            Some(arn) => format!("rollout {} (execution {arn})", self.outcome.rollout_id),
            None => format!("rollout {} (local)", self.outcome.rollout_id),
        }
    }

    /// One sentence: delivered (and what the rollout does now), or recorded (and when it takes effect).
    pub fn text(&self, command: &Command, target: &str) -> String {
        let (name, who) = (command.name(), self.who());
        let waiting = self.outcome.waiting;
        if self.delivered() {
            let effect = match command {
                Command::Promote => "it checks the alarms once more, then finalizes".to_string(),
                Command::Pause { max_seconds } => format!(
                    "it holds its current weight until `shifter resume {target}`, and rolls back if not resumed within {}",
                    whole_unit(u64::from(*max_seconds))
                ),
                Command::Resume => "the pause ends and the rollout goes on".to_string(),
                Command::Abort { .. } => "it rolls back now".to_string(),
            };
            return format!("{name} delivered to {who}: {effect}");
        }
        if self.outcome.execution_arn.is_none() {
            return format!(
                "{name} recorded for {who}: the local rollout reads it at its next check"
            );
        }
        match command {
            Command::Pause { .. } if waiting == Some(WaitKind::Pause) => format!(
                "pause recorded for {who}: it was already paused; if it has resumed since, it pauses when its current step ends"
            ),
            Command::Resume if waiting != Some(WaitKind::Pause) => format!(
                "resume recorded for {who}: it was not paused; a pause that has not taken effect yet is cancelled"
            ),
            _ => format!("{name} recorded for {who}: it takes effect when the current step ends"),
        }
    }

    /// The command's own fields (`command`, and `maxSeconds` or `reason`), the rollout, and how it went.
    pub fn json(&self, command: &Command) -> Value {
        let mut v = serde_json::to_value(command).expect("commands always serialize");
        let fields = json!({
            "rolloutId": self.outcome.rollout_id,
            "functionName": self.key.function,
            "alias": self.key.alias,
            "executionArn": self.outcome.execution_arn,
            "delivery": if self.delivered() { "delivered" } else { "recorded" },
            "waiting": self.outcome.waiting.map(wait_name),
        });
        if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), fields) {
            obj.extend(more);
        }
        v
    }
}

/// `bake` or `pause`, as the JSON outputs name a wait.
pub fn wait_name(kind: WaitKind) -> &'static str {
    match kind {
        WaitKind::Bake => "bake",
        WaitKind::Pause => "pause",
    }
}

/// Why nothing was sent, already reported: the exit code.
pub type Refused = i32;

/// Posts `command` to the rollout `key` names (only while it holds the lease); reports a failure and returns
/// its exit code.
pub async fn post<P>(
    ports: &P,
    key: LeaseKey,
    command: &Command,
    now_ms: u64,
    err: &mut dyn Write,
) -> Result<Posted, Refused>
where
    P: RolloutControl + TaskCallback,
{
    match listen::command_to(ports, &key, command, now_ms).await {
        Ok(outcome) => Ok(Posted { key, outcome }),
        // The rollout ended between the lookup and the post.
        Err(error) if error.is_invalid_input() => {
            let _ = writeln!(err, "{}", crate::render::error_line(&error));
            let _ = writeln!(err, "hint: nothing was changed");
            Err(EXIT_INVALID)
        }
        Err(error) => {
            let hint = match &error {
                shifter::Error::AwsRejected { .. } => "hint: check the table's name (--table or SHIFTER_TABLE), the account and region in use, and that the credentials may update the table (dynamodb:UpdateItem) and answer task tokens (states:SendTaskSuccess, states:SendTaskFailure)",
                other => crate::render::hint(other),
            };
            let _ = writeln!(err, "{}", crate::render::error_line(&error));
            let _ = writeln!(err, "{hint}; the command may be on the rollout's lease already, and sending it again is harmless");
            Err(registry::EXIT_AWS)
        }
    }
}

/// Reports a target with no running rollout: exit 2.
pub fn not_running(why: &str, err: &mut dyn Write) -> Refused {
    let _ = writeln!(
        err,
        "error: {why}; nothing was changed\nhint: `shifter list` shows the running rollouts"
    );
    EXIT_INVALID
}

/// `shifter promote | pause | resume`: finds the target's running rollout, posts `command`, says what
/// happened. `ports` none: no table configured (exit 2, nothing called).
#[allow(clippy::too_many_arguments)]
pub async fn send<P, A>(
    ports: Option<&P>,
    api: &A,
    target_text: &str,
    command: &Command,
    now_ms: u64,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32
where
    P: RolloutJournal + RolloutControl + TaskCallback,
    A: ExecutionApi,
{
    let target = match Target::parse(target_text) {
        Ok(t) => t,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return EXIT_INVALID;
        }
    };
    let Some(ports) = ports else {
        let _ = writeln!(err, "{NO_TABLE}");
        return EXIT_INVALID;
    };
    let key = match find(ports, api, &target).await {
        Ok(Found::Running(key)) => key,
        Ok(Found::NotRunning(why)) => return not_running(&why, err),
        Err(failure) => return failure.report(err),
    };
    let posted = match post(ports, key, command, now_ms, err).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    let text = match format {
        OutputFormat::Json => posted.json(command).to_string(),
        OutputFormat::Text => posted.text(command, target_text.trim()),
    };
    let _ = writeln!(out, "{text}");
    0
}

#[cfg(test)]
#[path = "send_tests.rs"]
mod tests;
