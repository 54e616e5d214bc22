//! `shifter list`: the rollouts that are running, from the rollout registry (`--table`), oldest first.

use std::io::Write;

use shifter::domain::percent;
use shifter::registry::{RolloutJournal, RolloutRecord};
use shifter::time::unix_millis;

use crate::args::{ListArgs, OutputFormat};
use crate::deploy::EXIT_INVALID;
use crate::fmt;
use crate::registry::{self, columns, versions, NO_TABLE};

/// `shifter list`, over the AWS SDK. Without a table it calls nothing.
pub async fn run(args: &ListArgs) -> i32 {
    let ports = registry::ports(args.table.as_deref()).await;
    list(
        ports.as_ref(),
        unix_millis(),
        args.output,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
    .await
}

/// Prints the running rollouts (`journal` none: no table configured, exit 2) as of `now_ms`; returns the
/// exit code.
pub async fn list<J: RolloutJournal>(
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
    let text = match format {
        OutputFormat::Json => registry::json(&records),
        OutputFormat::Text => text(&records, now_ms),
    };
    let _ = writeln!(out, "{text}");
    0
}

/// One line per rollout under a header (`bake`: the time left in the current bake, `-` between bakes), or a
/// sentence when none runs.
pub fn text(records: &[RolloutRecord], now_ms: u64) -> String {
    if records.is_empty() {
        return "no rollout is running".to_string();
    }
    let rows: Vec<Vec<String>> = records.iter().map(|r| row(r, now_ms)).collect();
    columns(
        &[
            "alias", "versions", "weight", "step", "bake", "started", "by",
        ],
        &rows,
    )
}

fn row(r: &RolloutRecord, now_ms: u64) -> Vec<String> {
    let ago = now_ms.saturating_sub(r.started_ms) / 1000;
    let by = match &r.execution_arn {
        Some(arn) => format!("{} {arn}", r.started_by),
        None => r.started_by.clone(),
    };
    vec![
        format!("{}:{}", r.function_name, r.alias),
        versions(r),
        percent(r.weight_bps),
        format!("{}/{}", r.steps_done, r.step_count),
        match r.bake_ends_ms {
            Some(end) if end > now_ms => fmt::seconds((end - now_ms).div_ceil(1000)),
            _ => "-".to_string(),
        },
        format!("{} ago", fmt::seconds(ago)),
        by,
    ]
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
