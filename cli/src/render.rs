//! Rendering a rollout: driver progress in, text or JSON lines out, then a summary of the outcome.
//! Every deploy mode feeds the same `Renderer` (it is the driver's `Observer`).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use shifter::domain::percent;
use shifter::driver::{Observer, Outcome, Progress};
use shifter::plan::Plan;
use shifter::rollout::Rollout;
use shifter::Error;

use crate::args::OutputFormat;
use crate::fmt;
use crate::text::TextRender;

/// Where rendered text goes: stdout and stderr in the binary, buffers in tests.
pub type Sink = Box<dyn Write + Send>;

pub enum Renderer {
    Text(TextRender),
    Json(JsonRender),
}

impl Renderer {
    /// `tty` turns on the live progress bar (text only).
    pub fn new(format: OutputFormat, out: Sink, err: Sink, tty: bool) -> Self {
        match format {
            OutputFormat::Text => Renderer::Text(TextRender::new(out, err, tty)),
            OutputFormat::Json => Renderer::Json(JsonRender { out, err }),
        }
    }

    /// Renders to this process's stdout and stderr; a progress bar when stdout is a terminal.
    pub fn for_terminal(format: OutputFormat) -> Self {
        let tty = std::io::stdout().is_terminal();
        Renderer::new(
            format,
            Box::new(std::io::stdout()),
            Box::new(std::io::stderr()),
            tty,
        )
    }

    /// The plan about to run, for the header.
    pub fn plan(&mut self, plan: &Plan) {
        if let Renderer::Text(t) = self {
            t.plan(plan);
        }
    }

    /// The last word on a rollout: a summary line, or the error and a hint.
    pub fn finish(&mut self, outcome: &Outcome, elapsed: Duration) {
        match self {
            Renderer::Text(t) => t.finish(outcome, elapsed),
            Renderer::Json(j) => j.finish(outcome, elapsed),
        }
    }
}

impl Observer for Renderer {
    fn observe(&mut self, progress: Progress<'_>) {
        match self {
            Renderer::Text(t) => t.observe(progress),
            Renderer::Json(j) => j.observe(progress),
        }
    }
}

/// `--output json`: stdout carries exactly one JSON object per line: each lifecycle event, each operator's
/// command the rollout acted on ([`operator_json`]), or the one `RequestRejected` object. The human summary
/// goes to stderr.
pub struct JsonRender {
    out: Sink,
    err: Sink,
}

impl JsonRender {
    fn line(&mut self, value: &str) {
        let _ = writeln!(self.out, "{value}");
        let _ = self.out.flush();
    }

    fn finish(&mut self, outcome: &Outcome, elapsed: Duration) {
        if let Outcome::Rejected { error } = outcome {
            self.line(&rejected_json(error).to_string());
        }
        for line in summary(outcome, elapsed).lines() {
            let _ = writeln!(self.err, "{line}");
        }
        let _ = self.err.flush();
    }
}

impl Observer for JsonRender {
    fn observe(&mut self, progress: Progress<'_>) {
        match progress {
            Progress::Lifecycle(n) => self.line(&n.to_json()),
            Progress::NotifyFailed { event, error } => {
                let _ = writeln!(
                    self.err,
                    "warning: {} notification not published: {error}",
                    event.as_str()
                );
            }
            Progress::PromoteRequested { rollout } => {
                self.line(&operator_json("PromoteRequested", rollout, None).to_string())
            }
            Progress::Paused { rollout, max } => {
                self.line(&operator_json("Paused", rollout, Some(max)).to_string())
            }
            Progress::Resumed { rollout } => {
                self.line(&operator_json("Resumed", rollout, None).to_string())
            }
            Progress::Baking { .. } | Progress::Checked { .. } => {}
        }
    }
}

/// The object `--output json` prints when the rollout acts on an operator's command: `eventType`
/// `PromoteRequested`, `Paused` (with `maxPauseSeconds`) or `Resumed`, and where the rollout stands. Not a
/// lifecycle notification: nothing is published for it.
pub fn operator_json(event: &str, r: &Rollout, max_pause: Option<Duration>) -> Value {
    let mut v = json!({
        "eventType": event,
        "rolloutId": r.rollout_id,
        "functionName": r.function_name,
        "alias": r.alias,
        "currentVersion": r.current_version,
        "targetVersion": r.target_version,
        "weightPercent": f64::from(r.weight_bps) / 100.0,
        "stepsDone": r.steps_done,
        "stepCount": r.plan.steps.len(),
    });
    if let Some(max) = max_pause {
        v["maxPauseSeconds"] = json!(max.as_secs());
    }
    v
}

/// The object `--output json` prints for a request refused before anything changed.
pub fn rejected_json(error: &Error) -> Value {
    let (field, message) = field_and_message(error);
    json!({
        "eventType": "RequestRejected",
        "errorType": error.error_type(),
        "field": field,
        "message": message,
    })
}

fn field_and_message(error: &Error) -> (Option<&str>, String) {
    match error {
        Error::InvalidRequest { field, message } | Error::ResourceNotFound { field, message } => {
            (Some(field), message.clone())
        }
        other => (None, other.to_string()),
    }
}

/// `error: <field>: <message>` for request errors, `error: <error>` for the rest.
pub fn error_line(error: &Error) -> String {
    match field_and_message(error) {
        (Some(field), message) => format!("error: {field}: {message}"),
        (None, message) => format!("error: {message}"),
    }
}

pub fn hint(error: &Error) -> &'static str {
    match error {
        Error::InvalidRequest { .. } => "hint: nothing was changed; `shifter deploy --help` lists the flags and `shifter plan --strategy S` checks a strategy",
        Error::ResourceNotFound { .. } => "hint: nothing was changed; check the name, and the account and region in use (AWS_PROFILE, AWS_REGION)",
        Error::AliasBusy { .. } => "hint: nothing was changed; let the other rollout finish, or point the alias at a single version, then retry",
        Error::AliasChanged { .. } => "hint: someone else changed the alias; check its routing before retrying",
        Error::Transient { .. } => "hint: AWS failed or could not be reached; check the network (and AWS_ENDPOINT_URL, if set), then retry",
        Error::Throttled { .. } => "hint: AWS throttled the calls (Lambda's control plane allows 15 requests a second for the whole account): retry later, or start fewer rollouts at once",
        Error::AwsRejected { .. } => "hint: check the credentials in use and their IAM permissions",
        Error::InvalidState { .. } => "hint: this is a bug in shifter; please report it with the log (SHIFTER_LOG=debug)",
    }
}

/// True when the summary reports a failure (it then goes to stderr).
pub fn is_failure(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Failed { .. } | Outcome::Rejected { .. } | Outcome::LeftAlone { .. }
    )
}

/// One line for an ended rollout; two (error and hint) for a rejected request.
pub fn summary(outcome: &Outcome, elapsed: Duration) -> String {
    match outcome {
        Outcome::Promoted { rollout: r } => format!(
            "promoted {}:{} to version {} in {}",
            r.function_name,
            r.alias,
            r.target_version,
            fmt::duration(elapsed)
        ),
        Outcome::RolledBack { rollout: r, reason } => format!(
            "rolled back {}:{} to version {}: {reason}",
            r.function_name, r.alias, r.current_version
        ),
        Outcome::Failed {
            rollout: r,
            error,
            alias_restored: true,
        } => format!(
            "error: {error}; {}:{} is back on version {}",
            r.function_name, r.alias, r.current_version
        ),
        Outcome::Failed { rollout: r, error, .. } => format!(
            "error: {error}; no rollback restored the alias: {}:{} may still route {} to version {}: fix the alias by hand",
            r.function_name,
            r.alias,
            percent(r.weight_bps),
            r.target_version
        ),
        Outcome::LeftAlone {
            rollout: r,
            reason,
            found,
        } => format!(
            "stopped: {reason}; someone else changed {}:{} meanwhile: it routes {found}, which this rollout did not set, so shifter left it alone\nhint: nothing failed; the alias is as that change left it",
            r.function_name, r.alias
        ),
        Outcome::Rejected { error } => format!("{}\n{}", error_line(error), hint(error)),
    }
}

/// A sink that keeps what is written, for tests and for callers that render into memory. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn sink(&self) -> Sink {
        Box::new(self.clone())
    }

    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
