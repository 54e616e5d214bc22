//! `shifter list`: the rollouts that are running, from the rollout registry (`--table`), oldest first, with
//! how each was started and what it waits on (its lease).

use std::io::Write;

use serde_json::{json, Value};
use shifter::domain::percent;
use shifter::registry::control::{RolloutControl, WaitKind};
use shifter::registry::{started_by, Lease, RolloutJournal, RolloutRecord};
use shifter::time::unix_millis;

use crate::args::{ListArgs, OutputFormat};
use crate::commands::send::wait_name;
use crate::deploy::EXIT_INVALID;
use crate::fmt;
use crate::registry::{self, columns, versions, NO_TABLE};

/// `shifter list`, over the AWS SDK. Without a table it calls nothing.
pub async fn run(args: &ListArgs) -> i32 {
    let ports = match registry::ports(args.table.as_deref(), "nothing was read").await {
        Ok(ports) => ports,
        Err(code) => return code,
    };
    list(
        ports.as_ref(),
        unix_millis(),
        args.output,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
    .await
}

/// A running rollout and its lease (none when another rollout holds it, or none does).
pub type Running = (RolloutRecord, Option<Lease>);

/// Prints the running rollouts (`journal` none: no table configured, exit 2) as of `now_ms`; returns the
/// exit code. Reads the registry's `running` index, then each rollout's lease.
pub async fn list<J: RolloutJournal + RolloutControl>(
    journal: Option<&J>,
    now_ms: u64,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(journal) = journal else {
        let _ = writeln!(err, "{NO_TABLE}");
        return EXIT_INVALID;
    };
    let records = match journal.running().await {
        Ok(records) => records,
        Err(error) => return registry::failed(&error, err),
    };
    let mut rollouts: Vec<Running> = Vec::with_capacity(records.len());
    for record in records {
        let lease = match journal.lease_of(&record.function_name, &record.alias).await {
            Ok(lease) => lease.filter(|l| l.rollout_id == record.rollout_id),
            Err(error) => return registry::failed(&error, err),
        };
        rollouts.push((record, lease));
    }
    let text = match format {
        OutputFormat::Json => json(&rollouts).to_string(),
        OutputFormat::Text => text(&rollouts, now_ms),
    };
    let _ = writeln!(out, "{text}");
    0
}

/// How a record's `started_by` reads: `CLI`, `StartExecution`, `EventBridge`, `CloudFormation`, `local` (older records'
/// `state-machine` as it is).
pub fn started_by_label(value: &str) -> &str {
    match value {
        started_by::CLI => "CLI",
        started_by::START_EXECUTION => "StartExecution",
        started_by::EVENTBRIDGE => "EventBridge",
        started_by::CLOUDFORMATION => "CloudFormation",
        other => other,
    }
}

/// The records as one JSON array, each with its wait (`{"kind": "bake"|"pause", "sinceMs"}` or null) and the
/// last command posted to it (`{"command", …, "postedMs"}` or null). Task tokens are never shown.
pub fn json(rollouts: &[Running]) -> Value {
    let items = rollouts.iter().map(|(record, lease)| {
        let mut v = serde_json::to_value(record).expect("rollout records always serialize");
        let wait = lease
            .as_ref()
            .and_then(|l| l.waiting.as_ref())
            .map(|w| json!({"kind": wait_name(w.kind), "sinceMs": w.since_ms}));
        let command = lease.as_ref().and_then(|l| {
            let mut c = serde_json::to_value(l.command.as_ref()?).ok()?;
            c["postedMs"] = json!(l.command_ms);
            Some(c)
        });
        v["wait"] = wait.unwrap_or(Value::Null);
        v["lastCommand"] = command.unwrap_or(Value::Null);
        v
    });
    Value::Array(items.collect())
}

/// One line per rollout under a header, or a sentence when none runs.
pub fn text(rollouts: &[Running], now_ms: u64) -> String {
    if rollouts.is_empty() {
        return "no rollout is running".to_string();
    }
    let rows: Vec<Vec<String>> = rollouts.iter().map(|r| row(r, now_ms)).collect();
    columns(
        &[
            "alias", "versions", "weight", "step", "wait", "command", "started", "by",
        ],
        &rows,
    )
}

fn ago(now_ms: u64, then_ms: u64) -> String {
    fmt::seconds(now_ms.saturating_sub(then_ms) / 1000)
}

/// `paused 5m00s` (how long so far), `baking 1m31s left` (`baking` when the record has no end for the bake),
/// or `-` (between steps, or in a Task).
fn wait(r: &RolloutRecord, lease: Option<&Lease>, now_ms: u64) -> String {
    let waiting = lease.and_then(|l| l.waiting.as_ref());
    if let Some(w) = waiting.filter(|w| w.kind == WaitKind::Pause) {
        return format!("paused {}", ago(now_ms, w.since_ms));
    }
    match r.bake_ends_ms {
        Some(end) if end > now_ms => {
            format!(
                "baking {} left",
                fmt::seconds((end - now_ms).div_ceil(1000))
            )
        }
        None if waiting.is_some_and(|w| w.kind == WaitKind::Bake) => "baking".to_string(),
        _ => "-".to_string(),
    }
}

/// The last command posted to the rollout and how long ago, or `-`.
fn command(lease: Option<&Lease>, now_ms: u64) -> String {
    match lease.and_then(|l| Some((l.command.as_ref()?, l.command_ms))) {
        Some((c, Some(at))) => format!("{} {} ago", c.name(), ago(now_ms, at)),
        Some((c, None)) => c.name().to_string(),
        None => "-".to_string(),
    }
}

fn row((r, lease): &Running, now_ms: u64) -> Vec<String> {
    let label = started_by_label(&r.started_by);
    let by = match &r.execution_arn {
        Some(arn) => format!("{label} {arn}"),
        None => label.to_string(),
    };
    vec![
        format!("{}:{}", r.function_name, r.alias),
        versions(r),
        percent(r.weight_bps),
        format!("{}/{}", r.steps_done, r.step_count),
        wait(r, lease.as_ref(), now_ms),
        command(lease.as_ref(), now_ms),
        format!("{} ago", ago(now_ms, r.started_ms)),
        by,
    ]
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
