//! The command line (clap derive). Parsing only: `request` turns these flags into a rollout request.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "shifter",
    version,
    about = "Progressive delivery for AWS Lambda aliases: shift traffic step by step, roll back on alarms."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Roll a version out to an alias step by step; roll back when an alarm fires or a hook fails.
    ///
    /// The rollout runs in the rollout state machine (--state-machine-arn) and this command follows its
    /// execution (or returns at once with --no-wait); with --local it runs in this process instead.
    ///
    /// Exit codes: 0 promoted, 1 rolled back or failed, 2 invalid request (nothing changed),
    /// 3 conflict (another rollout owns the alias, or it changed under this one).
    #[command(after_help = DEPLOY_EXAMPLES)]
    Deploy(Box<DeployArgs>),
    /// Show the steps a strategy takes and how long it bakes. Calls no AWS API.
    Plan(PlanArgs),
    /// Show a rollout execution (by its ARN) or an alias (function:alias) and how it routes traffic.
    ///
    /// Exit codes: 0 shown, 1 AWS failed, 2 invalid argument.
    #[command(after_help = STATUS_EXAMPLES)]
    Status(StatusArgs),
    /// Skip a running rollout's remaining steps and bakes: it checks its alarms once more, then finalizes
    /// (the post-traffic hook still runs).
    ///
    /// The command goes to the rollout's lease in the rollout registry (--table). A rollout waiting in a bake
    /// or a pause gets it at once; one in the middle of a step acts on it when the step ends; a local rollout
    /// at its next check. This command never writes the alias: the rollout does.
    /// Exit codes: 0 delivered or recorded, 1 AWS failed, 2 invalid target, no rollout running on it, or no
    /// table (nothing was changed).
    #[command(after_help = PROMOTE_EXAMPLES, mut_arg("output", |a| a.help(SENT_JSON)))]
    Promote(TargetArgs),
    /// Hold a running rollout at its current weight until `shifter resume`; it rolls back if not resumed
    /// within --max-pause. Alarms still roll it back while it is paused.
    ///
    /// Delivered like `shifter promote`: at once to a rollout that is baking, otherwise when its current step
    /// ends (a local rollout: at its next check).
    /// Exit codes: 0 delivered or recorded, 1 AWS failed, 2 invalid target or --max-pause, no rollout running
    /// on it, or no table (nothing was changed).
    #[command(after_help = PAUSE_EXAMPLES, mut_arg("output", |a| a.help(SENT_JSON)))]
    Pause(PauseArgs),
    /// End a paused rollout's pause: it goes on with its steps.
    ///
    /// Delivered like `shifter promote`; a resume sent before the pause takes effect cancels it.
    /// Exit codes: 0 delivered or recorded, 1 AWS failed, 2 invalid target, no rollout running on it, or no
    /// table (nothing was changed).
    #[command(after_help = RESUME_EXAMPLES, mut_arg("output", |a| a.help(SENT_JSON)))]
    Resume(TargetArgs),
    /// Roll a running rollout back, then wait (up to --timeout) until it has ended and report the alias.
    ///
    /// The abort goes to the rollout's lease in the rollout registry (--table), like `shifter promote`, and
    /// the rollout rolls itself back: at once when it is baking or paused, when its current step ends
    /// otherwise. FUNCTION:ALIAS that no live rollout owns (no lease; a lease whose execution has ended, or
    /// that has expired; a local rollout that does not check in on its lease within two of its check
    /// intervals plus 60 s after the abort is posted there: its process is gone) is restored from this
    /// process instead: its routing config is removed, fenced on the RevisionId read before ownership was
    /// judged, and the gone rollout's record ends RolledBack (notified as RolledBack). An execution ARN that
    /// no running rollout in the registry has (or any execution ARN without --table: stacks without a
    /// registry) is stopped with StopExecution and rolled back from this process instead, as long as the
    /// alias routes to that rollout's versions alone; an execution that already ended FAILED, ABORTED or
    /// TIMED_OUT is rolled back the same way, and a SUCCEEDED one is refused.
    /// Exit codes: 0 the alias serves the old version alone, 1 error (the rollback failed, the rollout
    /// promoted or is still running after --timeout, AWS failed), 2 invalid target, no rollout running on it
    /// and the alias not weighted, or no table (nothing was changed), 3 the alias was changed by someone else
    /// and is left alone.
    #[command(after_help = ABORT_EXAMPLES, mut_arg("output", |a| a.help(ABORT_JSON)))]
    Abort(AbortArgs),
    /// List the rollouts that are running, from the rollout registry (--table): one line each.
    ///
    /// Exit codes: 0 listed (none running is fine), 1 AWS failed, 2 invalid argument or no table
    /// (nothing was read).
    #[command(after_help = LIST_EXAMPLES)]
    List(ListArgs),
    /// Show an alias's last rollouts, newest first, from the rollout registry (--table).
    ///
    /// Exit codes: 0 shown (none recorded is fine), 1 AWS failed, 2 invalid argument or no table
    /// (nothing was read).
    #[command(after_help = HISTORY_EXAMPLES)]
    History(HistoryArgs),
    /// Judge one version of an alias against another from Lambda's per-version metrics, as a rollout's canary
    /// analysis does, without a rollout: one GetMetricData call over the last --since, then one line of
    /// evidence per check and the verdict.
    ///
    /// The versions are the ones the alias routed to (Lambda publishes Invocations, Errors, Throttles and
    /// Duration per ExecutedVersion for a weighted alias only). Reads only.
    /// Exit codes: 0 Passed, 1 Failed, 2 invalid argument (nothing was read), 3 Inconclusive (too few
    /// invocations, or no data), 4 Error: the metrics could not be read (an AWS error, or no AWS region or
    /// credentials).
    #[command(after_help = ANALYZE_EXAMPLES)]
    Analyze(AnalyzeArgs),
}

/// `--output` of promote, pause and resume.
const SENT_JSON: &str = "text for people, or json: one object on stdout: the command sent (command, and maxSeconds or \
reason), the rollout it went to (rolloutId, functionName, alias, executionArn), delivery (delivered or recorded) and \
waiting (bake, pause or null)";

/// `--output` of abort.
const ABORT_JSON: &str = "text for people, or json: one object on stdout when the rollout has ended or the wait \
timed out: what promote prints, plus ended, status, endReason, the alias's routing, aliasRestored, aliasLeftAlone \
and error; when the alias is restored from here (no live rollout owns it): path unowned, functionName, alias, \
reason, owner (rolloutId, executionArn, why; or null), weighted, routingBefore, routing, aliasRestored, \
aliasChanged, aliasLeftAlone, status (the gone rollout's record) and error";

const PROMOTE_EXAMPLES: &str = "Examples:
  export SHIFTER_TABLE=rollouts
  shifter promote orders:live
  shifter promote arn:aws:states:us-east-1:123456789012:execution:shifter-rollout:cli-r-18f-abc --output json";

const PAUSE_EXAMPLES: &str = "Examples:
  shifter pause orders:live --table rollouts
  shifter pause orders:live --max-pause 2h";

const RESUME_EXAMPLES: &str = "Examples:
  shifter resume orders:live --table rollouts";

const ABORT_EXAMPLES: &str = "Examples:
  shifter abort orders:live --table rollouts --reason 'p99 latency doubled'
  shifter abort arn:aws:states:us-east-1:123456789012:execution:shifter-rollout:cli-r-18f-abc --timeout 10m
  shifter abort orders:live --unowned     # no registry: a killed `deploy --local` left it weighted";

const LIST_EXAMPLES: &str = "Examples:
  export SHIFTER_TABLE=rollouts
  shifter list
  shifter list --table rollouts --output json";

const HISTORY_EXAMPLES: &str = "Examples:
  shifter history orders:live --table rollouts
  shifter history orders:live --limit 3 --output json";

const ANALYZE_EXAMPLES: &str = "Examples:
  shifter analyze orders:live --versions 6,7 --since 15m
  shifter analyze orders:live --versions 6,7 --since 1h --analysis '{\"errorRate\":{\"maxIncreasePoints\":0.5}}'
  shifter analyze arn:aws:lambda:us-east-1:123456789012:function:orders:live --versions 6,7 \\
      --analysis @analysis.json --output json";

const STATUS_EXAMPLES: &str = "Examples:
  shifter status arn:aws:states:us-east-1:123456789012:execution:shifter-rollout:r-20240101-abcd
  shifter status orders:live --output json";

const DEPLOY_EXAMPLES: &str = "Examples:
  export SHIFTER_STATE_MACHINE_ARN=arn:aws:states:us-east-1:123456789012:stateMachine:shifter-rollout
  shifter deploy --function orders --alias live --version 7 --strategy Canary10Percent5Minutes \\
      --alarm orders-errors
  shifter deploy --request events/requests/canary.json --no-wait
  shifter deploy --local --function orders --alias live --version 7 \\
      --strategy Canary10Percent5Minutes --alarm orders-errors --pre-traffic-hook orders-smoke
  shifter deploy --local --request events/requests/canary.json --output json";

/// The flags that make up a rollout request. Given with `--request`, they override the file's fields.
#[derive(Debug, Clone, Default, Args)]
pub struct RequestArgs {
    /// A rollout request as a JSON file (as in events/requests/); flags override its fields.
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,
    /// The function to roll out: a name or a function ARN, without a qualifier.
    #[arg(long, value_name = "NAME")]
    pub function: Option<String>,
    /// The alias whose traffic shifts.
    #[arg(long, value_name = "ALIAS")]
    pub alias: Option<String>,
    /// The published version to roll out. Without it, $LATEST is published and rolled out.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub version: Option<String>,
    /// When publishing $LATEST: the base64 SHA-256 its code must have.
    #[arg(long, value_name = "SHA256")]
    pub code_sha256: Option<String>,
    /// A preset (Canary10Percent5Minutes, Linear10PercentEvery1Minute, AllAtOnce, ...) or a JSON object
    /// such as '{"type":"linear","percent":20,"intervalSeconds":5}'.
    #[arg(long, value_name = "STRATEGY")]
    pub strategy: Option<String>,
    /// A CloudWatch alarm that rolls the rollout back when it fires. Repeatable.
    #[arg(long = "alarm", value_name = "NAME")]
    pub alarms: Vec<String>,
    /// A function invoked before any traffic shifts; its failure stops the rollout.
    #[arg(long, value_name = "FUNCTION")]
    pub pre_traffic_hook: Option<String>,
    /// A function invoked once the alias serves the new version alone; its failure rolls back.
    #[arg(long, value_name = "FUNCTION")]
    pub post_traffic_hook: Option<String>,
    /// An SNS topic ARN that receives one message per lifecycle event.
    #[arg(long, value_name = "ARN")]
    pub topic: Option<String>,
    /// How an alarm in INSUFFICIENT_DATA counts [default: healthy].
    #[arg(long, value_enum, value_name = "POLICY")]
    pub insufficient_data: Option<Policy>,
    /// Canary analysis: judge the new version against the old one from Lambda's per-version metrics at the
    /// end of each bake. `default`, a JSON object of settings, or @FILE (see README "Canary analysis").
    #[arg(long, value_name = "SETTINGS")]
    pub analysis: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Policy {
    Healthy,
    Unhealthy,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Healthy => "healthy",
            Policy::Unhealthy => "unhealthy",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    // What each is, per command, is in that command's `--output` help (the values carry no doc comment, so
    // that `--help` does not describe one command's JSON under another's).
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// With --local only: seconds between alarm reads during a bake (and, with --table, reads of operators'
    /// commands) [default: 10]. The state machine instead reacts to an alarm's state-change event within
    /// seconds, so without --local this flag is refused.
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub check_interval: Option<u64>,
    /// The rollout's id (1-80 letters, digits, '-' or '_') [default: generated]. Without --local it names the
    /// execution, prefixed with cli- unless it starts with cli- (then at most 76 characters), so that
    /// `shifter list` shows the CLI started it.
    #[arg(long, value_name = "ID")]
    pub rollout_id: Option<String>,
    /// text: progress and a summary for people; json: one JSON object per line on stdout for each lifecycle
    /// event (and each operator command the rollout acts on), or one RequestRejected object, and the summary
    /// on stderr.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Drive the rollout from this process, with the AWS credentials of this shell (AWS_PROFILE,
    /// AWS_REGION, AWS_ENDPOINT_URL). Without it, the rollout runs in the state machine (--state-machine-arn)
    /// and this command follows its execution.
    #[arg(long)]
    pub local: bool,
    /// The rollout state machine (the stack's StateMachineArn output). Required unless --local.
    #[arg(long, value_name = "ARN", env = "SHIFTER_STATE_MACHINE_ARN")]
    pub state_machine_arn: Option<String>,
    /// Start the state machine's execution, print its ARN and exit 0 without following it.
    #[arg(long)]
    pub no_wait: bool,
    /// The rollout registry's DynamoDB table, for --local: the rollout takes the alias's lease there and
    /// records its progress (`shifter list`, `shifter history`). Without it, --local records nothing and
    /// only a weighted alias keeps a second rollout out. Not used without --local: the state machine's
    /// functions get the table from the stack.
    #[arg(long, value_name = "NAME", env = "SHIFTER_TABLE")]
    pub table: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// An execution ARN (arn:aws:states:…:execution:…) or function:alias.
    #[arg(value_name = "EXECUTION_ARN|FUNCTION:ALIAS")]
    pub target: String,
    /// text for people, or json: one object on stdout: for an execution, its status, current state, last
    /// event and rollout (step, weight, versions); for an alias, its functionVersion, additionalVersion and
    /// weight, weighted and revisionId.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Which running rollout a command goes to, and where to find it.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// The rollout: its execution ARN (arn:aws:states:…:execution:…), or the alias it runs on as
    /// function:alias.
    #[arg(value_name = "EXECUTION_ARN|FUNCTION:ALIAS")]
    pub target: String,
    /// The rollout registry's DynamoDB table (the one the shifter stack records rollouts in): commands reach
    /// a running rollout through its lease there.
    #[arg(long, value_name = "NAME", env = "SHIFTER_TABLE")]
    pub table: Option<String>,
    /// Text for people, or one JSON object.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct PauseArgs {
    #[command(flatten)]
    pub on: TargetArgs,
    /// How long the pause may last before the rollout rolls back (90s, 30m, 24h, ...; at most 7d).
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = max_pause)]
    pub max_pause: u32,
}

#[derive(Debug, Clone, Args)]
pub struct AbortArgs {
    #[command(flatten)]
    pub on: TargetArgs,
    /// Why: the rollout's record and its notification say so (at most 500 characters).
    #[arg(long, value_name = "TEXT", value_parser = reason)]
    pub reason: Option<String>,
    /// How long to wait for the rollout to end (90s, 5m, 1h, ...; at most 1d). For a local rollout, at
    /// least the time it is given to check in on its lease (two of its check intervals plus 60 s) before
    /// abort takes its process to be gone.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = abort_timeout)]
    pub timeout: u64,
    /// FUNCTION:ALIAS without a registry (no --table): you say that no rollout owns the alias (the
    /// `shifter deploy --local` that weighted it ran without --table and is gone), and abort removes its
    /// routing from here, fenced on the RevisionId it reads. With a table, the registry tells, and a rollout
    /// that owns the alias is always aborted through itself.
    #[arg(long)]
    pub unowned: bool,
}

fn max_pause(text: &str) -> Result<u32, String> {
    let max = u64::from(shifter::registry::control::MAX_PAUSE_SECONDS);
    crate::fmt::parse_seconds(text, max).map(|s| u32::try_from(s).unwrap_or(u32::MAX))
}

fn abort_timeout(text: &str) -> Result<u64, String> {
    crate::fmt::parse_seconds(text, 24 * 3600)
}

/// The longest `--reason`.
pub const MAX_REASON_CHARS: usize = 500;

fn reason(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("must not be empty".to_string());
    }
    if text.chars().count() > MAX_REASON_CHARS {
        return Err(format!("at most {MAX_REASON_CHARS} characters"));
    }
    Ok(text.to_string())
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// A preset name or a JSON strategy object (see `shifter deploy --help`).
    #[arg(long, value_name = "STRATEGY", required_unless_present = "request")]
    pub strategy: Option<String>,
    /// A rollout request file: the whole request is validated and its strategy planned.
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,
    /// text: a table for people; json: the plan on stdout as one object, steps with weightBps (basis points:
    /// 10000 is 100%) and bakeSeconds, or one RequestRejected object.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Canary analysis settings to plan with (as `shifter deploy --analysis`): `default`, JSON or @FILE.
    #[arg(long, value_name = "SETTINGS")]
    pub analysis: Option<String>,
    /// The alias's traffic, as `600/min` or `10/s`: the plan then shows how long each step needs for the
    /// analysis to reach `minInvocations` on both versions.
    #[arg(long, value_name = "RATE", value_parser = crate::plan_analysis::parse_rate)]
    pub traffic: Option<f64>,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// The rollout registry's DynamoDB table (the one the shifter stack records rollouts in).
    #[arg(long, value_name = "NAME", env = "SHIFTER_TABLE")]
    pub table: Option<String>,
    /// A table for people, or the records as a JSON array.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// The alias whose rollouts to show, as function:alias (the function by name or ARN).
    #[arg(value_name = "FUNCTION:ALIAS")]
    pub target: String,
    /// How many rollouts to show, newest first.
    #[arg(long, value_name = "N", default_value_t = 10, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub limit: u64,
    /// The rollout registry's DynamoDB table (the one the shifter stack records rollouts in).
    #[arg(long, value_name = "NAME", env = "SHIFTER_TABLE")]
    pub table: Option<String>,
    /// A table for people, or the records as a JSON array.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    /// The alias, as function:alias (the function by name, or a function ARN with the alias as its
    /// qualifier).
    #[arg(value_name = "FUNCTION:ALIAS")]
    pub target: String,
    /// OLD,NEW: the baseline version first, then the version being judged (published version numbers):
    /// --versions 6,7 judges version 7 against version 6.
    #[arg(long, value_name = "OLD,NEW", value_parser = crate::commands::analyze::versions)]
    pub versions: crate::commands::analyze::Versions,
    /// The window: the last this much time, in whole minutes (15m, 90m, 2h, 300s), from 1m up to 24h. It ends
    /// at the next whole minute.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = crate::commands::analyze::since)]
    pub since: u64,
    /// The analysis settings, as a rollout request's `analysis` field: "default", a JSON object (omitted
    /// fields take the defaults), or @FILE with either. Checked before anything is read; errors name the
    /// field (analysis.confidence).
    #[arg(long, value_name = "SETTINGS", default_value = "default")]
    pub analysis: String,
    /// text: one line of evidence per check, then the verdict with each version's invocations; json: one
    /// object on stdout: functionName, alias, baselineVersion, newVersion, window (start, end, seconds),
    /// versions (each one's invocations, errors, throttles, latencyMs, custom), outcome (Passed, Failed,
    /// Inconclusive or Error), checks (check, outcome, evidence) and error.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}
