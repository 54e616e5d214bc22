//! Rollouts that listen (`registry::control`): the three sides that meet on a running rollout's lease.
//!
//! - [`wait`]: a bake or a pause begins (the state machine's Bake function, with its task token). It registers
//!   the token, then acts at once on anything that happened before it was listening: an alarm event, an
//!   alarm that fired since the last check, or an operator's command.
//! - [`alarm_changed`]: the alarm watcher (an EventBridge "CloudWatch Alarm State Change").
//! - [`command`]: an operator's `shifter promote | pause | resume | abort`.
//!
//! Every side is idempotent: a redelivered event or a repeated command posts the same thing again, and an
//! answer to a token that was already answered is `Delivery::AlreadyFinished`, never an error.

use serde::Serialize;
use tracing::{info, warn};

use super::check_health;
use crate::error::{Error, Result};
use crate::ports::AlarmSource;
use crate::registry::control::{
    answer, AlarmSeen, Answer, Command, Delivery, LeaseKey, RolloutControl, Signal, TaskCallback,
    WaitKind, Waiting, ABORTED, ALARM_FIRED,
};
use crate::registry::{Lease, RolloutJournal};
use crate::request::InsufficientData;
use crate::rollout::Rollout;

/// What [`wait`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum WaitOutcome {
    /// Registered; nothing to act on yet.
    Listening,
    /// Something had already happened: the token was answered at once.
    Answered(String),
}

/// Whether an alarm in `state` fails a rollout with this policy (as `health::judge` rules).
pub fn alarm_fails(state: &str, policy: InsufficientData) -> bool {
    match state {
        "ALARM" => true,
        "INSUFFICIENT_DATA" => policy == InsufficientData::Unhealthy,
        _ => false,
    }
}

fn alarm_cause(seen: &AlarmSeen) -> String {
    format!("alarm {} went to {}", seen.name, seen.state)
}

/// Registers a wait of `kind` on `token` for `rollout`, then answers the token at once when an alarm event
/// arrived, an alarm fired since the last check, or an operator's command is pending.
pub async fn wait<P>(
    ports: &P,
    rollout: &Rollout,
    kind: WaitKind,
    token: &str,
    now_ms: u64,
) -> Result<WaitOutcome>
where
    P: RolloutControl + TaskCallback + AlarmSource,
{
    let waiting = Waiting {
        kind,
        token: token.to_string(),
        since_ms: now_ms,
    };
    let answered = |ans: Answer, why: String| async move {
        let delivery = ports.answer(token, &ans).await?;
        info!(rollout_id = %rollout.rollout_id, ?kind, why, ?delivery, "answered the wait at once");
        Ok::<_, Error>(WaitOutcome::Answered(why))
    };
    let Some(lease) = ports.wait_for(&LeaseKey::of(rollout), &waiting).await? else {
        let why = "the rollout no longer holds the alias's lease".to_string();
        let ans = Answer::Fail {
            error: ABORTED,
            cause: why.clone(),
        };
        return answered(ans, why).await;
    };
    if let Some(seen) = pending_alarm(&lease, rollout) {
        let cause = alarm_cause(seen);
        let ans = Answer::Fail {
            error: ALARM_FIRED,
            cause: cause.clone(),
        };
        return answered(ans, cause).await;
    }
    // An alarm may have fired between the last check and this registration, before the watcher could find
    // a token to fail: read the alarms once more now that the token is where the watcher looks.
    let verdict = check_health(ports, rollout, now_ms).await?;
    if !verdict.healthy {
        let cause = verdict.reason();
        let ans = Answer::Fail {
            error: ALARM_FIRED,
            cause: cause.clone(),
        };
        return answered(ans, cause).await;
    }
    if let Some(ans) = lease.command.as_ref().and_then(|c| answer(kind, c)) {
        let why = format!(
            "{} command",
            lease.command.as_ref().map_or("", Command::name)
        );
        return answered(ans, why).await;
    }
    info!(rollout_id = %rollout.rollout_id, ?kind, "listening");
    Ok(WaitOutcome::Listening)
}

/// An alarm event recorded on the lease that this rollout has not acted on yet: one from after the last
/// check, in a state that fails the rollout.
fn pending_alarm<'a>(lease: &'a Lease, rollout: &Rollout) -> Option<&'a AlarmSeen> {
    lease.alarm.as_ref().filter(|seen| {
        seen.at_ms >= rollout.checked_ms
            && rollout.alarms.contains(&seen.name)
            && alarm_fails(&seen.state, rollout.insufficient_data)
    })
}

/// What the watcher did for one rollout.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmDelivery {
    pub rollout_id: String,
    /// `None`: the rollout was mid-Task; the alarm waits on its lease for the next wait (or check).
    pub delivery: Option<Delivery>,
}

/// The alarm watcher: fails the wait of every running rollout that watches `seen.name`, or leaves the alarm
/// on its lease when it is mid-Task. One query when no rollout watches the alarm. A rollout that started after
/// the state change, or whose policy does not count this state, is left alone.
pub async fn alarm_changed<P>(ports: &P, seen: &AlarmSeen) -> Result<Vec<AlarmDelivery>>
where
    P: RolloutJournal + RolloutControl + TaskCallback,
{
    let mut out = Vec::new();
    let mut failed = None;
    for record in ports.running().await? {
        if !record.alarms.contains(&seen.name) || seen.at_ms < record.started_ms {
            continue;
        }
        let policy = record
            .rollout()
            .map(|r| r.insufficient_data)
            .unwrap_or_default();
        if !alarm_fails(&seen.state, policy) {
            continue;
        }
        let key = LeaseKey {
            function: record.function_name.clone(),
            alias: record.alias.clone(),
            rollout_id: record.rollout_id.clone(),
        };
        match deliver_alarm(ports, &key, seen).await {
            Ok(delivery) => out.push(AlarmDelivery {
                rollout_id: record.rollout_id.clone(),
                delivery,
            }),
            // One rollout's failure must not starve the others; the event is retried as a whole (idempotent).
            Err(error) => {
                warn!(rollout_id = %record.rollout_id, alarm = %seen.name, %error, "could not signal the rollout");
                failed = Some(error);
            }
        }
    }
    match failed {
        Some(error) => Err(error),
        None => Ok(out),
    }
}

async fn deliver_alarm<P>(ports: &P, key: &LeaseKey, seen: &AlarmSeen) -> Result<Option<Delivery>>
where
    P: RolloutControl + TaskCallback,
{
    let Some(lease) = ports.post(key, &Signal::Alarm(seen.clone())).await? else {
        return Ok(None);
    };
    let Some(waiting) = lease.answerable_wait() else {
        return Ok(None);
    };
    let ans = Answer::Fail {
        error: ALARM_FIRED,
        cause: alarm_cause(seen),
    };
    let delivery = ports.answer(&waiting.token, &ans).await?;
    info!(rollout_id = %key.rollout_id, alarm = %seen.name, ?delivery, "alarm delivered");
    Ok(Some(delivery))
}

/// What an operator's command did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandOutcome {
    pub rollout_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    /// `Delivered`: the waiting rollout got it now. `None` or `AlreadyFinished`: it is on the lease, and the
    /// rollout acts on it when its current Task ends (a local rollout: at its next check).
    pub delivery: Option<Delivery>,
    /// The wait the lease had registered when the command was posted (it may have ended since: a bake's token
    /// times out, an answered one stays registered until the next wait).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<WaitKind>,
}

/// Posts an operator's command to the rollout running on `function:alias`, and answers its wait if it has
/// one the command applies to. Never writes the alias: the rollout does, as its only writer.
pub async fn command<P>(
    ports: &P,
    function: &str,
    alias: &str,
    command: &Command,
    now_ms: u64,
) -> Result<CommandOutcome>
where
    P: RolloutControl + TaskCallback,
{
    let lease = ports
        .lease_of(function, alias)
        .await?
        .ok_or_else(|| not_running(function, alias))?;
    let key = LeaseKey {
        function: function.to_string(),
        alias: alias.to_string(),
        rollout_id: lease.rollout_id,
    };
    command_to(ports, &key, command, now_ms).await
}

/// [`command`] to one rollout: posted only while `key.rollout_id` holds the alias's lease (an operator who
/// named an execution reaches that execution's rollout, never a later one on the same alias).
pub async fn command_to<P>(
    ports: &P,
    key: &LeaseKey,
    command: &Command,
    now_ms: u64,
) -> Result<CommandOutcome>
where
    P: RolloutControl + TaskCallback,
{
    let lease = ports
        .post(key, &Signal::Command(command.clone(), now_ms))
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "target",
                format!(
                    "rollout {} is no longer running on {}:{} (`shifter history {}:{}` shows how it ended)",
                    key.rollout_id, key.function, key.alias, key.function, key.alias
                ),
            )
        })?;
    let delivery = match lease
        .answerable_wait()
        .and_then(|w| answer(w.kind, command).map(|a| (w, a)))
    {
        Some((waiting, ans)) => Some(ports.answer(&waiting.token, &ans).await?),
        None => None,
    };
    info!(rollout_id = %key.rollout_id, command = command.name(), ?delivery, "command posted");
    Ok(CommandOutcome {
        rollout_id: lease.rollout_id,
        execution_arn: lease.execution_arn,
        delivery,
        waiting: lease.waiting.map(|w| w.kind),
    })
}

fn not_running(function: &str, alias: &str) -> Error {
    Error::invalid(
        "target",
        format!(
            "no rollout is running on {function}:{alias} (`shifter list` shows the running ones)"
        ),
    )
}
