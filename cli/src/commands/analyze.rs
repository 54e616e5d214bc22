//! `shifter analyze FUNCTION:ALIAS --versions OLD,NEW --since 15m`: the canary analysis a rollout runs, ad hoc
//! and without a rollout. One read of both versions' metrics over the window (`MetricsSource`: one
//! GetMetricData call on AWS), then `judge`: one line of evidence per check and the verdict, whose outcome is
//! the exit code. Reads only.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{json, Value};
use shifter::analysis::judge::{judge, AnalysisVerdict, Outcome, VersionMetrics};
use shifter::analysis::metrics::{MetricsQuery, MetricsSource};
use shifter::analysis::settings::AnalysisSettings;
use shifter::aws::AwsPorts;
use shifter::time::{rfc3339, unix_millis};
use shifter::Error;

use crate::args::{AnalyzeArgs, OutputFormat};
use crate::commands::target::function_name;
use crate::deploy::EXIT_INVALID;
use crate::render::error_line;
use crate::status::StatusTarget;

/// Exit codes: the verdict's outcome (2, an invalid argument, is `EXIT_INVALID`).
pub const EXIT_PASSED: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_INCONCLUSIVE: i32 = 3;
/// The metrics could not be read (an AWS error, or no AWS region or credentials): the verdict `Error`. Not
/// 1, the other commands' code for an AWS error, which here means Failed: a gate that rolls back on 1 must not
/// roll back because CloudWatch throttled a read.
pub const EXIT_ERROR: i32 = 4;

/// `--since` bounds. Lambda's metrics have a one-minute resolution; a day is far past any bake, and a longer
/// window weighs the baseline's traffic from before the two versions ran side by side.
pub const MIN_SINCE_SECONDS: u64 = 60;
pub const MAX_SINCE_SECONDS: u64 = 24 * 3600;

const MINUTE_MS: u64 = 60_000;

const SETTINGS_HINT: &str = "hint: nothing was read; --analysis takes \"default\", a JSON object of settings (errorRate, latency, throttles, minInvocations, confidence, whenInconclusive, maxExtensionSeconds, intervalSeconds, metrics), or @FILE with either";

/// `--versions OLD,NEW`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    /// The baseline.
    pub old: String,
    /// The version being judged.
    pub new: String,
}

/// `OLD,NEW`: two different published version numbers, the baseline first.
pub fn versions(text: &str) -> Result<Versions, String> {
    let shape = "give the baseline version, then the version to judge: 6,7";
    let (old, new) = text.split_once(',').ok_or_else(|| shape.to_string())?;
    let number = |v: &str| -> Result<String, String> {
        let v = v.trim();
        match v.parse::<u64>() {
            Ok(n) if n >= 1 && v.bytes().all(|b| b.is_ascii_digit()) => Ok(n.to_string()),
            _ => Err(format!(
                "{v:?} is not a published version number (1, 2, …); {shape}"
            )),
        }
    };
    let (old, new) = (number(old)?, number(new)?);
    if old == new {
        return Err(format!("both are version {old}; {shape}"));
    }
    Ok(Versions { old, new })
}

/// `--since`: whole minutes from 1m to 24h (`15m`, `2h`, `300s`), in seconds.
pub fn since(text: &str) -> Result<u64, String> {
    let seconds = crate::fmt::parse_seconds(text, MAX_SINCE_SECONDS)?;
    if seconds < MIN_SINCE_SECONDS {
        return Err("must be at least 1m: Lambda's metrics have a one-minute resolution".into());
    }
    if seconds % 60 != 0 {
        return Err(format!(
            "must be whole minutes, as Lambda's metrics have a one-minute resolution: {} or {}",
            crate::fmt::whole_unit(seconds / 60 * 60),
            crate::fmt::whole_unit(seconds.div_ceil(60) * 60)
        ));
    }
    Ok(seconds)
}

/// `function:alias` (a function ARN with the alias as its qualifier counts as its name): Lambda's metrics
/// name the function by name. An execution ARN, an unqualified function ARN and a version are refused.
pub fn target(text: &str) -> Result<(String, String), String> {
    match StatusTarget::parse(text)? {
        StatusTarget::Execution(arn) => Err(format!(
            "{arn} is an execution: analyze takes function:alias"
        )),
        StatusTarget::Alias { function, alias } => {
            let name = function_name(&function);
            if name.starts_with("arn:") {
                return Err(format!(
                    "{} is a function ARN without an alias: give the alias as its qualifier \
                     (…:function:NAME:ALIAS), or NAME:ALIAS",
                    text.trim()
                ));
            }
            if alias.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "{name}:{alias} names a version, not an alias: Lambda publishes per-version metrics \
                     (ExecutedVersion) for an alias; give function:alias"
                ));
            }
            Ok((name, alias))
        }
    }
}

/// `--analysis`: `default`, a JSON object, or `@FILE` holding either; checked as a rollout request's
/// `analysis` field, so errors name the field (`analysis.confidence`).
pub fn settings(text: &str) -> Result<AnalysisSettings, Error> {
    AnalysisSettings::from_value(&settings_value(text)?)
}

/// `--analysis` as the request's raw `analysis` value (`shifter deploy` and `plan` put it in the request).
pub fn settings_value(text: &str) -> Result<Value, Error> {
    let text = text.trim();
    let body = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Error::invalid("analysis", format!("cannot read {path}: {e}")))?,
        None => text.to_string(),
    };
    let body = body.trim();
    if body == "default" {
        return Ok(Value::String(body.to_string()));
    }
    serde_json::from_str(body)
        .map_err(|e| Error::invalid("analysis", format!("not \"default\" and not JSON ({e})")))
}

/// What to analyse, checked.
#[derive(Debug, Clone)]
pub struct Analyze {
    pub function: String,
    pub alias: String,
    pub versions: Versions,
    pub since_seconds: u64,
    pub settings: AnalysisSettings,
    pub format: OutputFormat,
}

impl Analyze {
    /// The read: both versions, baseline first, over the `since_seconds` that end at the first whole minute
    /// at or after `now_ms` (so the window holds whole one-minute data points, the latest included).
    pub fn query(&self, now_ms: u64) -> MetricsQuery {
        let end_ms = now_ms.div_ceil(MINUTE_MS) * MINUTE_MS;
        MetricsQuery {
            function_name: self.function.clone(),
            alias: self.alias.clone(),
            versions: vec![self.versions.old.clone(), self.versions.new.clone()],
            start_ms: end_ms.saturating_sub(self.since_seconds * 1000),
            end_ms,
            latency_stat: self.settings.latency.as_ref().map(|l| l.stat.clone()),
            custom: self.settings.metrics.clone(),
        }
    }
}

/// `shifter analyze`, over the AWS SDK. An invalid argument reads nothing.
pub async fn run(args: &AnalyzeArgs) -> i32 {
    let mut err = std::io::stderr();
    let (function, alias) = match target(&args.target) {
        Ok(target) => target,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return EXIT_INVALID;
        }
    };
    let settings = match settings(&args.analysis) {
        Ok(settings) => settings,
        Err(e) => {
            let _ = writeln!(err, "{}", error_line(&e));
            let _ = writeln!(err, "{SETTINGS_HINT}");
            return EXIT_INVALID;
        }
    };
    let config = match crate::aws_env::load().await {
        Ok(config) => config,
        Err(missing) => {
            let _ = writeln!(err, "{}", missing.message("nothing was read"));
            return EXIT_ERROR;
        }
    };
    let request = Analyze {
        function,
        alias,
        versions: args.versions.clone(),
        since_seconds: args.since,
        settings,
        format: args.output,
    };
    analyze(
        &AwsPorts::new(&config),
        &request,
        unix_millis(),
        &mut std::io::stdout(),
        &mut err,
    )
    .await
}

/// Reads the metrics once, judges the new version against the old one, prints the evidence and the
/// verdict; returns the exit code.
pub async fn analyze<M: MetricsSource>(
    metrics: &M,
    a: &Analyze,
    now_ms: u64,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let q = a.query(now_ms);
    let read = match metrics.version_metrics(&q).await {
        Ok(read) => read,
        Err(e) => {
            if a.format == OutputFormat::Json {
                let mut v = header(a, &q);
                v["versions"] = Value::Null;
                v["outcome"] = json!(Outcome::Error);
                v["checks"] = json!([]);
                v["error"] = json!(e.to_string());
                let _ = writeln!(out, "{}", sorted(v));
            }
            let _ = writeln!(err, "{}", read_error(&e));
            let _ = writeln!(err, "{}", read_hint(&e));
            return EXIT_ERROR;
        }
    };
    let of = |v: &str| read.get(v).cloned().unwrap_or_default();
    let (old, new) = (of(&a.versions.old), of(&a.versions.new));
    let verdict = judge(&a.settings, &a.versions.new, &new, &a.versions.old, &old);
    let text = match a.format {
        OutputFormat::Text => text(a, &q, &verdict, &old, &new),
        OutputFormat::Json => {
            let mut v = header(a, &q);
            v["versions"] = json!({
                a.versions.old.clone(): counts(&old),
                a.versions.new.clone(): counts(&new),
            });
            v["outcome"] = json!(verdict.outcome);
            v["checks"] = json!(verdict.checks);
            v["error"] = Value::Null;
            sorted(v).to_string()
        }
    };
    let _ = writeln!(out, "{text}");
    let min = a.settings.min_invocations.max(1);
    if verdict.outcome == Outcome::Inconclusive && (old.invocations < min || new.invocations < min)
    {
        let _ = writeln!(
            err,
            "hint: each version needs at least {min} invocations in the window (minInvocations) for a \
             judgement: widen --since, or wait for more traffic on version {}",
            if new.invocations < min {
                &a.versions.new
            } else {
                &a.versions.old
            }
        );
    }
    exit_code(verdict.outcome)
}

pub fn exit_code(outcome: Outcome) -> i32 {
    match outcome {
        Outcome::Passed => EXIT_PASSED,
        Outcome::Failed => EXIT_FAILED,
        Outcome::Inconclusive => EXIT_INCONCLUSIVE,
        Outcome::Error => EXIT_ERROR,
    }
}

/// The evidence, one line per check (failures first, as a rollout reports them), then the verdict with each
/// version's invocations and the window.
pub fn text(
    a: &Analyze,
    q: &MetricsQuery,
    verdict: &AnalysisVerdict,
    old: &VersionMetrics,
    new: &VersionMetrics,
) -> String {
    let (o, n) = (&a.versions.old, &a.versions.new);
    format!(
        "{}\n{:?}: version {n} against version {o} of {}:{}: {} invocations of v{n}, {} of v{o}, from {} to {} ({})",
        verdict.evidence(),
        verdict.outcome,
        a.function,
        a.alias,
        new.invocations,
        old.invocations,
        rfc3339(q.start_ms),
        rfc3339(q.end_ms),
        crate::fmt::whole_unit(a.since_seconds),
    )
}

/// The keys in one order, whichever serde_json features the build unifies (`preserve_order` keeps insertion
/// order; without it, maps are sorted): the output must not depend on what else was compiled alongside.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// What the JSON says before the verdict: the alias, the versions and the window.
fn header(a: &Analyze, q: &MetricsQuery) -> Value {
    json!({
        "functionName": a.function,
        "alias": a.alias,
        "baselineVersion": a.versions.old,
        "newVersion": a.versions.new,
        "window": {
            "start": rfc3339(q.start_ms),
            "end": rfc3339(q.end_ms),
            "seconds": a.since_seconds,
        },
    })
}

fn counts(m: &VersionMetrics) -> Value {
    let custom: BTreeMap<&str, Option<f64>> =
        m.custom.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    json!({
        "invocations": m.invocations,
        "errors": m.errors,
        "throttles": m.throttles,
        "latencyMs": m.latency_ms,
        "custom": custom,
    })
}

/// `error: cannot read the metrics: …`, whatever the error (a missing resource carries no request field here).
fn read_error(e: &Error) -> String {
    match e {
        Error::ResourceNotFound { message, .. } => {
            format!("error: cannot read the metrics: not found: {message}")
        }
        other => format!("error: cannot read the metrics: {other}"),
    }
}

fn read_hint(e: &Error) -> &'static str {
    match e {
        Error::Transient { .. } | Error::Throttled { .. } => "hint: nothing was judged; AWS failed or could not be reached: check the network (and AWS_ENDPOINT_URL, if set), then retry",
        Error::AwsRejected { .. } => "hint: nothing was judged; check the credentials in use (they need cloudwatch:GetMetricData), the account and region (AWS_PROFILE, AWS_REGION), and any custom metric's namespace, dimensions and stat in --analysis",
        _ => "hint: nothing was judged; SHIFTER_LOG=debug shows AWS's answer",
    }
}

#[cfg(test)]
#[path = "analyze_tests.rs"]
mod tests;
