//! `shifter abort TARGET`: post an abort on the running rollout's lease (the rollout rolls itself back, as
//! the alias's only writer), wait until its record in the registry says it ended, then report the alias. An
//! execution that no running rollout in the registry has goes to `stop` instead.
//!
//! `FUNCTION:ALIAS` that no live rollout owns (no lease; a lease whose execution has ended or that has
//! expired; a local rollout that stops checking in on its lease once the abort is posted there) is restored
//! from this process instead (`unowned`): nobody else will write it.

use std::io::Write;
use std::time::Duration;

use serde_json::{json, Value};
use shifter::aws::AwsPorts;
use shifter::custom_resource::ports::{ReplyLedger, ReplySender};
use shifter::domain::{percent, AliasState, Routing};
use shifter::ports::{AliasRouter, Clock, Notifier};
use shifter::registry::control::{Command, LeaseKey, RolloutControl, TaskCallback};
use shifter::registry::{Lease, RolloutRecord, RolloutStatus};
use shifter::time::SystemClock;
use shifter::usecase::abort::GoneOwner;
use shifter::usecase::lease::{self, Registry};
use shifter::Error;
use tracing::warn;

use super::send::{not_running, post, Posted};
use super::target::{find, Found, Target};
use super::{stop, unowned};
use crate::args::{AbortArgs, OutputFormat};
use crate::deploy::EXIT_INVALID;
use crate::fmt::duration;
use crate::registry;
use crate::stepfunctions::{ExecutionApi, SfnApi};

/// Everything an abort may touch: the alias, the registry and its lease, a task token, the topic, and a
/// CloudFormation stack waiting on the rollout.
pub trait AbortPorts:
    AliasRouter + Registry + RolloutControl + TaskCallback + Notifier + ReplyLedger + ReplySender
{
}

impl<T> AbortPorts for T where
    T: AliasRouter
        + Registry
        + RolloutControl
        + TaskCallback
        + Notifier
        + ReplyLedger
        + ReplySender
{
}

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
    /// A table was given: without one, only the StopExecution path is open (and, with `unowned`, the
    /// restore of an alias).
    pub registry: bool,
    /// `--unowned`: with no registry to ask, the operator says that no rollout owns the alias.
    pub unowned: bool,
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
        unowned: args.unowned,
    };
    // Without a table, anything but an execution ARN (or an alias with --unowned) is refused before any call
    // (and so before this check).
    let target = args.on.target.trim();
    let calls_aws = table.is_some()
        || args.unowned
        || (target.starts_with("arn:") && target.contains(":execution:"));
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
    P: AbortPorts,
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
    if let Target::Alias { function, alias } = &target {
        return abort_alias(ports, clock, request, function, alias, out, err).await;
    }
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
        (Found::NotRunning(why), Target::Alias { .. }) => return not_running(&why, err),
    };
    through_the_owner(ports, clock, request, key, None, out, err).await
}

/// Who acts on an alias, as the registry (and Step Functions, for an execution) says.
enum Owner {
    /// A running execution, or a local rollout that may be alive: the abort goes through it.
    Live(Lease),
    /// Known to be gone without watching it: its execution no longer runs, or its local lease has expired.
    Gone(Lease, String),
    /// No lease.
    Nobody,
}

async fn owner_of<P: Registry + RolloutControl>(
    ports: &P,
    function: &str,
    alias: &str,
    now_ms: u64,
) -> shifter::Result<Owner> {
    let Some(lease) = ports.lease_of(function, alias).await? else {
        return Ok(Owner::Nobody);
    };
    let gone = match &lease.execution_arn {
        Some(arn) => match lease::is_dead(ports, &lease, now_ms).await {
            Ok(dead) => dead.then(|| "its execution no longer runs".to_string()),
            // Cannot tell: the abort goes through its lease, as for a running one.
            Err(error) => {
                warn!(%error, arn, "could not tell whether the lease's execution runs");
                None
            }
        },
        None => lease::is_dead(ports, &lease, now_ms)
            .await?
            .then(|| "its local lease has expired".to_string()),
    };
    Ok(match gone {
        Some(why) => Owner::Gone(lease, why),
        None => Owner::Live(lease),
    })
}

/// `shifter abort FUNCTION:ALIAS`.
async fn abort_alias<P, C>(
    ports: &P,
    clock: &C,
    request: &Abort<'_>,
    function: &str,
    alias: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32
where
    P: AbortPorts,
    C: Clock,
{
    if !request.registry && !request.unowned {
        let _ = writeln!(err, "{}", unowned::no_table(function, alias));
        return EXIT_INVALID;
    }
    // The alias first, then its owner: a restore fenced on this read cannot undo anything written since, and
    // while the alias is weighted no new rollout can start on it (Prepare refuses a weighted alias).
    let before = match read_alias(ports, function, alias, err).await {
        Ok(a) => a,
        Err(code) => return code,
    };
    let names = (function, alias);
    // Without a table nothing can say who owns the alias: only `--unowned` gets this far (checked above).
    let owner = if request.registry {
        match owner_of(ports, function, alias, clock.now_millis()).await {
            Ok(Owner::Live(lease)) => Ok(lease),
            Ok(Owner::Gone(lease, why)) => Err(Some(GoneOwner::of_lease(ports, &lease, why).await)),
            Ok(Owner::Nobody) => Err(None),
            Err(error) => return registry::failed(&error, err),
        }
    } else {
        Err(None)
    };
    let lease = match owner {
        Ok(lease) => lease,
        Err(gone) => {
            return unowned::take_over(
                ports,
                clock.now_millis(),
                request,
                names,
                before,
                gone,
                None,
                out,
                err,
            )
            .await
        }
    };
    let key = LeaseKey {
        function: function.to_string(),
        alias: alias.to_string(),
        rollout_id: lease.rollout_id.clone(),
    };
    // A local rollout is watched: if it does not check in on its lease, its process is gone.
    let watch = lease
        .execution_arn
        .is_none()
        .then(|| Watch::new(&lease, clock.now_millis()));
    through_the_owner(ports, clock, request, key, watch, out, err).await
}

/// Reads the alias; reports a failure and returns its exit code.
async fn read_alias<P: AliasRouter>(
    ports: &P,
    function: &str,
    alias: &str,
    err: &mut dyn Write,
) -> Result<AliasState, i32> {
    match ports.read_alias(function, alias).await {
        Ok(a) => Ok(a),
        Err(Error::ResourceNotFound { message, .. }) => {
            let _ = writeln!(
                err,
                "{}",
                crate::status::alias_not_found(function, alias, &message)
            );
            Err(EXIT_INVALID)
        }
        Err(e) => {
            let _ = writeln!(err, "{}", crate::render::error_line(&e));
            let _ = writeln!(err, "{}; nothing was changed", crate::render::hint(&e));
            Err(if e.is_invalid_input() {
                EXIT_INVALID
            } else {
                1
            })
        }
    }
}

/// Posts the abort on the lease of the rollout `key` names, waits for it to end and reports; a watched local
/// rollout that stops checking in is taken to be gone, and the alias is restored from here.
async fn through_the_owner<P, C>(
    ports: &P,
    clock: &C,
    request: &Abort<'_>,
    key: LeaseKey,
    watch: Option<Watch>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32
where
    P: AbortPorts,
    C: Clock,
{
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
    let ended = match wait_for_end(ports, clock, &posted.key, request, watch).await {
        Ok(Waited::Ended(record)) => Some(record),
        Ok(Waited::StillRunning) => None,
        Ok(Waited::Gone {
            before,
            lease,
            silent,
        }) => {
            let interval = lease
                .check_interval_ms
                .map(|ms| {
                    format!(
                        ", it checks in every {}",
                        duration(Duration::from_millis(ms))
                    )
                })
                .unwrap_or_default();
            let why = format!(
                "its process stopped checking in on the lease: none for {}{interval}",
                duration(silent)
            );
            let owner = GoneOwner::of_lease(ports, &lease, why).await;
            let names = (posted.key.function.as_str(), posted.key.alias.as_str());
            return unowned::take_over(
                ports,
                clock.now_millis(),
                request,
                names,
                before,
                Some(owner),
                Some((&posted, &command)),
                out,
                err,
            )
            .await;
        }
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

/// Watching a local rollout's check-ins on its lease (`Lease::checked_in_ms`): when the value last moved, by
/// this process's clock (the rollout's own clock is never compared with it).
#[derive(Debug, Clone)]
struct Watch {
    last: Option<u64>,
    since_ms: u64,
    grace: Duration,
}

impl Watch {
    fn new(lease: &Lease, now_ms: u64) -> Self {
        Watch {
            last: lease.checked_in_ms,
            since_ms: now_ms,
            grace: lease::check_in_grace(lease),
        }
    }
}

/// How waiting for the rollout's end came out.
enum Waited {
    Ended(RolloutRecord),
    /// Still running after the timeout.
    StillRunning,
    /// A watched local rollout did not check in for its grace: `before`, the alias read after its last silent
    /// lease (and confirmed by one more read of the lease); `silent`, how long it has been silent.
    Gone {
        before: AliasState,
        lease: Lease,
        silent: Duration,
    },
}

/// Reads the alias's records every `poll` until the rollout's says it ended, for `timeout`. A transient read
/// error is waited out like a record that still says Running.
///
/// With `watch` (a local rollout), it also reads the lease at each poll: a rollout that checks in is alive,
/// and acts on the abort at that check. One that has not checked in for its grace
/// (`lease::check_in_grace`) is gone: the alias is read, then the lease once more (still held, still silent),
/// so that the restore that follows, fenced on that read, cannot undo anything the rollout does if it was
/// only slow. A watched wait lasts at least the grace, whatever the timeout.
async fn wait_for_end<P: AliasRouter + Registry + RolloutControl, C: Clock>(
    ports: &P,
    clock: &C,
    key: &LeaseKey,
    request: &Abort<'_>,
    mut watch: Option<Watch>,
) -> shifter::Result<Waited> {
    let mut wait = request.timeout;
    if let Some(w) = &watch {
        wait = wait.max(w.grace + request.poll);
    }
    let deadline = clock.now_millis() + wait.as_millis() as u64;
    loop {
        match ports.history(&key.function, &key.alias, LOOKBACK).await {
            Ok(records) => {
                if let Some(r) = records
                    .into_iter()
                    .find(|r| r.rollout_id == key.rollout_id && r.status != RolloutStatus::Running)
                {
                    return Ok(Waited::Ended(r));
                }
            }
            Err(error) if error.is_transient() => {
                warn!(%error, "could not read the registry; trying again");
            }
            Err(error) => return Err(error),
        }
        if let Some(w) = &mut watch {
            if let Some((before, lease)) = gone(ports, clock, key, w).await? {
                let silent = Duration::from_millis(clock.now_millis().saturating_sub(w.since_ms));
                return Ok(Waited::Gone {
                    before,
                    lease,
                    silent,
                });
            }
        }
        let now = clock.now_millis();
        if now >= deadline {
            return Ok(Waited::StillRunning);
        }
        clock
            .sleep(request.poll.min(Duration::from_millis(deadline - now)))
            .await;
    }
}

/// One look at a watched rollout's lease: `Some` (the alias as read, and the lease) once it is gone.
async fn gone<P: AliasRouter + RolloutControl, C: Clock>(
    ports: &P,
    clock: &C,
    key: &LeaseKey,
    w: &mut Watch,
) -> shifter::Result<Option<(AliasState, Lease)>> {
    let held = |lease: Option<Lease>| lease.filter(|l| l.rollout_id == key.rollout_id);
    let lease = match ports.lease_of(&key.function, &key.alias).await {
        Ok(lease) => held(lease),
        Err(error) if error.is_transient() => {
            warn!(%error, "could not read the lease; trying again");
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    // Given back: its record says how it ended, soon.
    let Some(lease) = lease else { return Ok(None) };
    let now = clock.now_millis();
    if lease.checked_in_ms != w.last {
        w.last = lease.checked_in_ms;
        w.since_ms = now;
        return Ok(None);
    }
    if now.saturating_sub(w.since_ms) < w.grace.as_millis() as u64 {
        return Ok(None);
    }
    let before = ports.read_alias(&key.function, &key.alias).await?;
    match held(ports.lease_of(&key.function, &key.alias).await?) {
        Some(lease) if lease.checked_in_ms == w.last => Ok(Some((before, lease))),
        Some(lease) => {
            w.last = lease.checked_in_ms;
            w.since_ms = clock.now_millis();
            Ok(None)
        }
        None => Ok(None),
    }
}

/// `version 1 alone`, or `version 1 90% + version 2 10%`.
pub fn routing_text(routing: &Routing) -> String {
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

/// A routing as the JSON outputs show it: `functionVersion`, and `additionalVersion` (`version`,
/// `weightPercent`) or null.
pub fn routing_json(routing: &Routing) -> Value {
    json!({
        "functionVersion": routing.function_version,
        "additionalVersion": routing.additional.as_ref().map(|w| json!({
            "version": w.version, "weightPercent": f64::from(w.weight_bps) / 100.0,
        })),
    })
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
            "routing": routing.map(routing_json),
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
