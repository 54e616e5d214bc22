//! `shifter abort FUNCTION:ALIAS` when no live rollout owns the alias (`usecase::abort`): no lease, a lease
//! whose execution has ended or expired, or a local rollout whose process stopped checking in. The alias is
//! restored from this process, fenced on the read made before ownership was judged, and the gone rollout's
//! record, lease and notification are settled as every other rollback path settles them.

use std::io::Write;

use serde_json::{json, Value};
use shifter::custom_resource::ports::{ReplyLedger, ReplySender};
use shifter::domain::{AliasState, Routing};
use shifter::ports::{AliasRouter, Notifier};
use shifter::registry::control::Command;
use shifter::usecase::abort::{abort_unowned, GoneOwner, Unowned};
use shifter::usecase::lease::Registry;
use shifter::usecase::RollbackAction;
use shifter::Error;

use super::abort::{routing_json, routing_text, Abort};
use super::send::Posted;
use crate::args::OutputFormat;
use crate::deploy::EXIT_INVALID;

/// What `shifter abort FUNCTION:ALIAS` says without a registry, unless told `--unowned`.
pub fn no_table(function: &str, alias: &str) -> String {
    format!(
        "error: no rollout registry given (--table NAME or SHIFTER_TABLE): shifter cannot tell whether a rollout still owns {function}:{alias}; nothing was changed\n\
         hint: give the table, and abort goes through the rollout that owns the alias, or restores it if none does; \
         if no rollout runs on it (the `shifter deploy --local` without --table that weighted it is gone), \
         `shifter abort {function}:{alias} --unowned` restores its main version from here"
    )
}

/// Who `owner` is, for people: `rollout R (execution E)` or `rollout R (local)`.
fn who(owner: &GoneOwner) -> String {
    match &owner.execution_arn {
        Some(arn) => format!("rollout {} (execution {arn})", owner.rollout_id),
        None => format!("rollout {} (local)", owner.rollout_id),
    }
}

/// Restores `function:alias` from this process (`before`: the alias as read before ownership was judged),
/// ends `owner`'s rollout if there is one, and reports; returns the exit code. `posted`: the abort this
/// command posted on the owner's lease first, if it did.
#[allow(clippy::too_many_arguments)]
pub async fn take_over<P>(
    ports: &P,
    now_ms: u64,
    request: &Abort<'_>,
    (function, alias): (&str, &str),
    before: AliasState,
    owner: Option<GoneOwner>,
    posted: Option<(&Posted, &Command)>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32
where
    P: AliasRouter + Registry + Notifier + ReplyLedger + ReplySender,
{
    let text = request.format == OutputFormat::Text;
    if let (true, true, Some(owner)) = (text, before.routing.is_weighted(), &owner) {
        let _ = writeln!(
            out,
            "{}: {}; restoring {function}:{alias} from here",
            who(owner),
            owner.why
        );
    }
    let result = abort_unowned(
        ports,
        function,
        alias,
        before.clone(),
        owner.as_ref(),
        &request.reason,
        now_ms,
    )
    .await;
    let report = Report::of(function, alias, &before, owner.as_ref(), &result);
    match request.format {
        OutputFormat::Json => {
            let mut v = posted.map_or_else(|| json!({}), |(p, c)| p.json(c));
            if let (Some(obj), Value::Object(more)) = (
                v.as_object_mut(),
                report.json(function, alias, &before, owner.as_ref(), &result, request),
            ) {
                obj.extend(more);
            }
            let _ = writeln!(out, "{v}");
        }
        OutputFormat::Text => {
            for line in &report.lines {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    if let Some(error) = &report.error {
        if text {
            let _ = writeln!(err, "{error}");
        }
    }
    if let Ok(Unowned {
        notify_error: Some(e),
        recorded: Some(status),
        ..
    }) = &result
    {
        let _ = writeln!(
            err,
            "warning: the notification of rollout {}'s end ({}) was not published: {e}",
            owner.as_ref().map_or("", |o| o.rollout_id.as_str()),
            status.as_str()
        );
    }
    report.code
}

/// What the takeover came to: the exit code, lines for stdout, an error (and its hint) for stderr.
struct Report {
    code: i32,
    lines: Vec<String>,
    error: Option<String>,
}

impl Report {
    fn of(
        f: &str,
        a: &str,
        before: &AliasState,
        owner: Option<&GoneOwner>,
        result: &Result<Unowned, Error>,
    ) -> Report {
        let done = match result {
            Ok(done) => done,
            Err(error) => {
                return Report {
                    code: if error.is_invalid_input() { EXIT_INVALID } else { 1 },
                    lines: Vec::new(),
                    error: Some(format!(
                        "{}\nhint: {f}:{a} may still be weighted, and nothing was recorded; `shifter abort {f}:{a}` tries again",
                        crate::render::error_line(error)
                    )),
                };
            }
        };
        let was = routing_text(&before.routing);
        let now = routing_text(&done.restored.outcome.routing);
        let ended = match (owner, done.recorded) {
            (Some(o), Some(status)) => Some(format!(
                "rollout {} ended {}",
                o.rollout_id,
                status.as_str()
            )),
            _ => None,
        };
        if !done.was_weighted() {
            let (whose, hint) = match owner {
                Some(o) => (
                    format!("{} still holds its lease", who(o)),
                    "if it runs after all (a long hook), it rolls back when it reads the abort on its lease; `shifter list` shows it".to_string(),
                ),
                None => (
                    "no rollout is running on it".to_string(),
                    format!("`shifter history {f}:{a}` shows how its last rollout ended"),
                ),
            };
            return Report {
                code: EXIT_INVALID,
                lines: Vec::new(),
                error: Some(format!(
                    "error: {f}:{a} is not weighted: it serves {now}, and {whose}; nothing to restore, the alias was not changed\nhint: {hint}"
                )),
            };
        }
        match done.action() {
            RollbackAction::Restored => {
                let line = match ended {
                    Some(ended) => format!("{ended}: restored {f}:{a} to {now} (it routed {was})"),
                    None => format!("restored {f}:{a} to {now} (it routed {was}, and no live rollout owned it)"),
                };
                Report {
                    code: 0,
                    lines: vec![line],
                    error: None,
                }
            }
            RollbackAction::AlreadyRestored => {
                let mut lines = vec![format!(
                    "{f}:{a} serves {now}: someone else removed its routing after abort read it ({was}); abort wrote nothing"
                )];
                lines.extend(ended);
                Report {
                    code: 0,
                    lines,
                    error: None,
                }
            }
            RollbackAction::LeftAlone => Report {
                code: 3,
                lines: ended.into_iter().collect(),
                error: Some(format!(
                    "error: {f}:{a} changed after abort read it ({was}): it routes {now}, which abort did not write, so it is left alone\nhint: `shifter status {f}:{a}` shows how it routes now; `shifter abort {f}:{a}` again restores its main version if no rollout owns it"
                )),
            },
        }
    }

    fn json(
        &self,
        f: &str,
        a: &str,
        before: &AliasState,
        owner: Option<&GoneOwner>,
        result: &Result<Unowned, Error>,
        request: &Abort<'_>,
    ) -> Value {
        let done = result.as_ref().ok();
        let routing: Option<&Routing> = done.map(|d| &d.restored.outcome.routing);
        json!({
            "path": "unowned",
            "functionName": f,
            "alias": a,
            "reason": request.reason,
            "owner": owner.map(|o| json!({
                "rolloutId": o.rollout_id,
                "executionArn": o.execution_arn,
                "why": o.why,
            })),
            "weighted": before.routing.is_weighted(),
            "routingBefore": routing_json(&before.routing),
            "routing": routing.map(routing_json),
            "aliasRestored": self.code == 0,
            "aliasChanged": done.is_some_and(|d| d.action() == RollbackAction::Restored),
            "aliasLeftAlone": self.code == 3,
            "status": done.and_then(|d| d.recorded),
            "error": self.error.as_deref().map(|e| e.lines().next().unwrap_or(e).trim_start_matches("error: ")),
        })
    }
}

#[cfg(test)]
#[path = "unowned_tests.rs"]
mod tests;
