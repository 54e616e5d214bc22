//! `shifter abort TARGET`: post an abort on the running rollout's lease (the rollout rolls itself back, as
//! the alias's only writer), wait until its record in the registry says it ended, then report the alias. An
//! execution that no running rollout in the registry has goes to `stop` instead.

use std::io::Write;
use std::time::Duration;

use serde_json::{json, Value};
use shifter::aws::AwsPorts;
use shifter::domain::{percent, Routing};
use shifter::ports::{AliasRouter, Clock};
use shifter::registry::control::{Command, LeaseKey, RolloutControl, TaskCallback};
use shifter::registry::{RolloutRecord, RolloutStatus};
use shifter::time::SystemClock;
use shifter::usecase::lease::Registry;
use tracing::warn;

use super::send::{not_running, post, Posted};
use super::target::{find, Found, Target};
use super::{stop, NO_TABLE};
use crate::args::{AbortArgs, OutputFormat};
use crate::deploy::EXIT_INVALID;
use crate::fmt::duration;
use crate::registry;
use crate::stepfunctions::{ExecutionApi, SfnApi};

/// How often the registry is read while waiting for the rollout to end.
pub const POLL: Duration = Duration::from_secs(1);
/// How many of the alias's latest records are searched for the aborted rollout's.
const LOOKBACK: usize = 20;
/// The reason recorded when `--reason` is not given.
pub const NO_REASON: &str = "no reason given";

/// One `shifter abort`.
#[derive(Debug, Clone)]
pub struct Abort<'a> {
    pub target: &'a str,
    pub reason: String,
    pub timeout: Duration,
    pub poll: Duration,
    pub format: OutputFormat,
    /// A table was given: without one, only the StopExecution path is open.
    pub registry: bool,
}

/// `shifter abort`, over the AWS SDK.
pub async fn run(args: &AbortArgs) -> i32 {
    let table = registry::table(args.on.table.as_deref());
    let request = Abort {
        target: &args.on.target,
        reason: args.reason.clone().unwrap_or_else(|| NO_REASON.into()),
        timeout: Duration::from_secs(args.timeout),
        poll: POLL,
        format: args.on.output,
        registry: table.is_some(),
    };
    // Without a table, anything but an execution ARN is refused before any call (and so before this check).
    let target = args.on.target.trim();
    let calls_aws =
        table.is_some() || (target.starts_with("arn:") && target.contains(":execution:"));
    let config = match crate::aws_env::load().await {
        Ok(config) => config,
        Err(missing) if calls_aws => {
            eprintln!("{}", missing.message("nothing was changed"));
            return crate::aws_env::EXIT_NO_AWS;
        }
        Err(_) => {
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await
        }
    };
    let ports = AwsPorts::new(&config).with_table(table);
    let api = SfnApi::new(&config);
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    abort(&ports, &api, &SystemClock, &request, &mut out, &mut err).await
}

/// Aborts the rollout `request.target` names; returns the exit code.
pub async fn abort<P, A, C>(
    ports: &P,
    api: &A,
    clock: &C,
    request: &Abort<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32
where
    P: AliasRouter + Registry + RolloutControl + TaskCallback,
    A: ExecutionApi,
    C: Clock,
{
    let target = match Target::parse(request.target) {
        Ok(t) => t,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return EXIT_INVALID;
        }
    };
    let found = if request.registry {
        match find(ports, api, &target).await {
            Ok(found) => found,
            Err(failure) => return failure.report(err),
        }
    } else {
        Found::NotRunning("no rollout registry given (--table or SHIFTER_TABLE)".into())
    };
    let key = match (found, &target) {
        (Found::Running(key), _) => key,
        (Found::NotRunning(why), Target::Execution(arn)) => {
            if request.format == OutputFormat::Text {
                let _ = writeln!(out, "{why}: taking the StopExecution path (stop the execution if it runs, then roll the alias back from this process)");
            }
            return stop::abort_with(api, ports, arn, request.format, out, err).await;
        }
        (Found::NotRunning(_), Target::Alias { .. }) if !request.registry => {
            let _ = writeln!(err, "{NO_TABLE}");
            return EXIT_INVALID;
        }
        (Found::NotRunning(why), Target::Alias { .. }) => return not_running(&why, err),
    };
    let command = Command::Abort {
        reason: request.reason.clone(),
    };
    let posted = match post(ports, key, &command, clock.now_millis(), err).await {
        Ok(p) => p,
        Err(code) => return code,
    };
    if request.format == OutputFormat::Text {
        let _ = writeln!(out, "{}", posted.text(&command, request.target.trim()));
        let _ = out.flush();
    }
    let ended = match wait_for_end(ports, clock, &posted.key, request).await {
        Ok(ended) => ended,
        Err(error) => {
            let _ = writeln!(err, "{}", crate::render::error_line(&error));
            let _ = writeln!(err, "hint: the abort is on the rollout's lease, but its record could not be read; `shifter history {}:{}` shows how it ends", posted.key.function, posted.key.alias);
            return registry::EXIT_AWS;
        }
    };
    let routing = match &ended {
        Some(_) => match ports
            .read_alias(&posted.key.function, &posted.key.alias)
            .await
        {
            Ok(alias) => Some(alias.routing),
            Err(error) => {
                let _ = writeln!(err, "{}", crate::render::error_line(&error));
                let _ = writeln!(err, "hint: the rollout ended, but its alias could not be read: `shifter status {}:{}` shows it", posted.key.function, posted.key.alias);
                return 1;
            }
        },
        None => None,
    };
    let report = Report::of(&posted, ended.as_ref(), routing.as_ref(), request);
    match request.format {
        OutputFormat::Json => {
            let _ = writeln!(
                out,
                "{}",
                report.json(&posted, &command, ended.as_ref(), routing.as_ref())
            );
        }
        OutputFormat::Text => {
            if let Some(line) = &report.summary {
                let _ = writeln!(out, "{line}");
            }
            if let Some(error) = &report.error {
                let _ = writeln!(err, "error: {error}\nhint: {}", report.hint);
            }
        }
    }
    report.code
}

/// Reads the alias's records every `poll` until the rollout's says it ended: `None` after `timeout`. A
/// transient read error is waited out like a record that still says Running.
async fn wait_for_end<P: Registry, C: Clock>(
    ports: &P,
    clock: &C,
    key: &LeaseKey,
    request: &Abort<'_>,
) -> shifter::Result<Option<RolloutRecord>> {
    let deadline = clock.now_millis() + request.timeout.as_millis() as u64;
    loop {
        match ports.history(&key.function, &key.alias, LOOKBACK).await {
            Ok(records) => {
                if let Some(r) = records
                    .into_iter()
                    .find(|r| r.rollout_id == key.rollout_id && r.status != RolloutStatus::Running)
                {
                    return Ok(Some(r));
                }
            }
            Err(error) if error.is_transient() => {
                warn!(%error, "could not read the registry; trying again");
            }
            Err(error) => return Err(error),
        }
        let now = clock.now_millis();
        if now >= deadline {
            return Ok(None);
        }
        clock
            .sleep(request.poll.min(Duration::from_millis(deadline - now)))
            .await;
    }
}

/// `version 1 alone`, or `version 1 90% + version 2 10%`.
fn routing_text(routing: &Routing) -> String {
    match &routing.additional {
        None => format!("version {} alone", routing.function_version),
        Some(extra) => format!(
            "version {} {} + version {} {}",
            routing.function_version,
            percent(10_000 - extra.weight_bps),
            extra.version,
            percent(extra.weight_bps)
        ),
    }
}

/// What the abort came to: the exit code, a summary for stdout, an error and its hint for stderr.
struct Report {
    code: i32,
    summary: Option<String>,
    error: Option<String>,
    hint: String,
}

impl Report {
    fn of(
        posted: &Posted,
        ended: Option<&RolloutRecord>,
        routing: Option<&Routing>,
        request: &Abort<'_>,
    ) -> Report {
        let (id, f, a) = (
            &posted.outcome.rollout_id,
            &posted.key.function,
            &posted.key.alias,
        );
        let (Some(r), Some(routing)) = (ended, routing) else {
            let status = match &posted.outcome.execution_arn {
                Some(arn) => format!("`shifter status {arn}` shows where its execution is; "),
                None => String::new(),
            };
            return Report {
                code: 1,
                summary: None,
                error: Some(format!(
                    "rollout {id} is still running after {}: the abort stays on its lease, and the rollout rolls back when it acts on it",
                    duration(request.timeout)
                )),
                hint: format!("{status}`shifter history {f}:{a}` shows how it ends; `shifter abort {}` waits again", request.target.trim()),
            };
        };
        let status = r.status.as_str();
        let reason = r.reason.as_deref().map(registry::one_line);
        let because = reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let now = routing_text(routing);
        let summary = Some(format!(
            "rollout {id} ended {status}{because}: {f}:{a} serves {now}"
        ));
        let look = format!("`shifter status {f}:{a}` shows how it routes now");
        let (code, error, hint) = match r.status {
            RolloutStatus::RolledBack | RolloutStatus::Failed
                if *routing == Routing::single(&r.current_version) =>
            {
                (0, None, String::new())
            }
            RolloutStatus::RolledBack | RolloutStatus::Failed => (
                1,
                Some(format!("{f}:{a} serves {now}, not version {} alone as the rollout left it", r.current_version)),
                format!("someone else or another rollout changed it since; {look}"),
            ),
            RolloutStatus::LeftAlone => (
                3,
                Some(format!("{f}:{a} was changed outside rollout {id} during the rollout, and that change is left as it is")),
                look,
            ),
            RolloutStatus::RollbackFailed => (
                1,
                Some(format!("rollout {id} could not roll {f}:{a} back: it may still send traffic to version {}", r.target_version)),
                match &r.execution_arn {
                    Some(arn) => format!("`shifter abort {arn}` tries the rollback again from this process; or fix the alias by hand ({look})"),
                    None => format!("fix the alias by hand; {look}"),
                },
            ),
            RolloutStatus::Promoted => (
                1,
                Some(format!("rollout {id} promoted before the abort reached it")),
                "to go back, deploy the old version".to_string(),
            ),
            RolloutStatus::Abandoned | RolloutStatus::Running => (
                1,
                Some(format!("rollout {id} ended with no rollback of its own")),
                look,
            ),
        };
        Report {
            code,
            summary,
            error,
            hint,
        }
    }

    fn json(
        &self,
        posted: &Posted,
        command: &Command,
        ended: Option<&RolloutRecord>,
        routing: Option<&Routing>,
    ) -> Value {
        let mut v = posted.json(command);
        let fields = json!({
            "path": "registry",
            "ended": ended.is_some(),
            "status": ended.map(|r| r.status),
            "endReason": ended.and_then(|r| r.reason.as_deref()),
            "routing": routing.map(|x| json!({
                "functionVersion": x.function_version,
                "additionalVersion": x.additional.as_ref().map(|w| json!({
                    "version": w.version, "weightPercent": f64::from(w.weight_bps) / 100.0,
                })),
            })),
            "aliasRestored": self.code == 0,
            "aliasLeftAlone": self.code == 3,
            "error": self.error,
        });
        if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), fields) {
            obj.extend(more);
        }
        v
    }
}

#[cfg(test)]
#[path = "abort_tests.rs"]
mod tests;
