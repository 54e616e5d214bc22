//! `shifter history function:alias`: the alias's last rollouts from the rollout registry (`--table`), newest
//! first.

use std::io::Write;
use std::time::Duration;

use shifter::registry::{RolloutJournal, RolloutRecord, RolloutStatus, HISTORY_DAYS};
use shifter::time::rfc3339;

use crate::args::{HistoryArgs, OutputFormat};
use crate::commands::target::function_name;
use crate::deploy::EXIT_INVALID;
use crate::fmt;
use crate::registry::{self, columns, one_line, versions, NO_TABLE};
use crate::status::StatusTarget;

/// `shifter history`, over the AWS SDK. A bad target or no table calls nothing.
pub async fn run(args: &HistoryArgs) -> i32 {
    let mut err = std::io::stderr();
    let (function, alias) = match target(&args.target) {
        Ok(target) => target,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return EXIT_INVALID;
        }
    };
    let ports = match registry::ports(args.table.as_deref(), "nothing was read").await {
        Ok(ports) => ports,
        Err(code) => return code,
    };
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    history(
        ports.as_ref(),
        &function,
        &alias,
        limit,
        args.output,
        &mut std::io::stdout(),
        &mut err,
    )
    .await
}

/// `function:alias`; an execution ARN is refused. A function ARN counts as its name: the registry keys
/// rollouts by the name Prepare resolved.
pub fn target(text: &str) -> Result<(String, String), String> {
    match StatusTarget::parse(text)? {
        StatusTarget::Alias { function, alias } => Ok((function_name(&function), alias)),
        StatusTarget::Execution(arn) => Err(format!(
            "{arn} is an execution: history takes function:alias (`shifter status {arn}` shows the execution)"
        )),
    }
}

/// Prints the alias's last `limit` rollouts (`journal` none: no table configured, exit 2); returns the exit
/// code.
pub async fn history<J: RolloutJournal>(
    journal: Option<&J>,
    function: &str,
    alias: &str,
    limit: usize,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(journal) = journal else {
        let _ = writeln!(err, "{NO_TABLE}");
        return EXIT_INVALID;
    };
    let records = match journal.history(function, alias, limit).await {
        Ok(records) => records,
        Err(error) => return registry::failed(&error, err),
    };
    let text = match format {
        OutputFormat::Json => registry::json(&records),
        OutputFormat::Text => text(function, alias, &records),
    };
    let _ = writeln!(out, "{text}");
    0
}

/// A title, then one line per rollout under a header; or a sentence when none is recorded.
pub fn text(function: &str, alias: &str, records: &[RolloutRecord]) -> String {
    if records.is_empty() {
        return format!(
            "no rollouts recorded for {function}:{alias} (finished ones are kept {HISTORY_DAYS} days)"
        );
    }
    let rows: Vec<Vec<String>> = records.iter().map(row).collect();
    let table = columns(
        &["started", "outcome", "versions", "duration", "reason"],
        &rows,
    );
    format!("{function}:{alias}, newest first\n{table}")
}

fn row(r: &RolloutRecord) -> Vec<String> {
    vec![
        rfc3339(r.started_ms),
        r.status.as_str().to_string(),
        versions(r),
        duration(r),
        r.reason
            .as_deref()
            .or(r.analysis.as_deref())
            .map(one_line)
            .unwrap_or_default(),
    ]
}

/// Started → ended, or `running`.
fn duration(r: &RolloutRecord) -> String {
    if r.status == RolloutStatus::Running {
        return "running".to_string();
    }
    let ended = r.ended_ms.unwrap_or(r.updated_ms);
    fmt::duration(Duration::from_millis(ended.saturating_sub(r.started_ms)))
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
