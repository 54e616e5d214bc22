use std::time::Duration;

use tracing::info;

use crate::domain::VersionInfo;
use crate::error::{Error, Result};
use crate::ports::{AlarmSource, AliasRouter, CallerIdentity, Clock, FunctionRegistry};
use crate::request::{RolloutSpec, Target};
use crate::rollout::{Rollout, SCHEMA_VERSION};

/// How long Prepare waits for Lambda to finish an update ($LATEST's LastUpdateStatus) or to make a version
/// Active, polling every [`READY_POLL`]. Past it the wait is a `Transient` error, which both drivers retry
/// (Prepare's retry rule), so the whole wait stays well inside Prepare's function timeout.
pub const READY_WAIT: Duration = Duration::from_secs(12);
pub const READY_POLL: Duration = Duration::from_secs(1);

const LATEST: &str = "$LATEST";

/// Validates the request against AWS, publishes $LATEST if asked, and takes the alias: records the RevisionId
/// every later write is fenced on. Writes nothing to the alias. The only write it can make is PublishVersion,
/// and only after every other check passed.
///
/// It checks what Lambda would otherwise refuse later, after the pre-traffic hook: that both versions share
/// the execution role and dead-letter config (Lambda's rule for a weighted alias), that the alias does not
/// serve $LATEST, and that the new version is Active before a hook or traffic reaches it.
pub async fn prepare<P, C>(
    ports: &P,
    clock: &C,
    spec: &RolloutSpec,
    rollout_id: &str,
) -> Result<Rollout>
where
    P: FunctionRegistry + AliasRouter + AlarmSource + CallerIdentity,
    C: Clock,
{
    if let Some(arn) = FunctionArn::parse(&spec.function_name) {
        let caller = ports.caller().await?;
        if arn.region != caller.region || arn.account != caller.account {
            return Err(Error::invalid(
                "functionName",
                format!(
                    "{} is in region {}, account {}, but shifter runs in region {}, account {}: run it with \
                     credentials for the function's account and region (AWS_PROFILE, AWS_REGION), or give \
                     the bare function name",
                    spec.function_name, arn.region, arn.account, caller.region, caller.account
                ),
            ));
        }
    }
    let function = ports
        .describe_function(&spec.function_name)
        .await
        .map_err(|e| in_field(e, "functionName"))?;
    let alias = ports
        .read_alias(&function.name, &spec.alias)
        .await
        .map_err(|e| in_field(e, "alias"))?;
    if let Some(extra) = &alias.routing.additional {
        return Err(Error::AliasBusy {
            alias: spec.alias.clone(),
            message: format!(
                "it routes {} to version {}: another rollout owns it; let that one finish or abort it first",
                crate::domain::percent(extra.weight_bps),
                extra.version
            ),
        });
    }
    let current = alias.routing.function_version.clone();
    if current == LATEST {
        return Err(Error::invalid(
            "alias",
            format!(
                "alias {} serves $LATEST, and Lambda cannot split traffic away from $LATEST: point it at a \
                 published version first",
                spec.alias
            ),
        ));
    }
    let current_info = ports
        .version_info(&function.name, &current)
        .await?
        .ok_or_else(|| Error::InvalidState {
            message: format!(
                "alias {} serves version {current}, which cannot be read",
                spec.alias
            ),
        })?;

    for (field, hook) in [
        ("hooks.preTraffic", &spec.hooks.pre_traffic),
        ("hooks.postTraffic", &spec.hooks.post_traffic),
    ] {
        if let Some(hook) = hook {
            ports
                .describe_function(hook)
                .await
                .map_err(|e| in_field(e, field))?;
        }
    }
    if !spec.alarms.is_empty() {
        let found = ports.alarm_states(&spec.alarms).await?;
        if let Some((i, name)) = spec
            .alarms
            .iter()
            .enumerate()
            .find(|(_, n)| !found.iter().any(|s| &s.name == *n))
        {
            return Err(Error::not_found(
                format!("alarms[{i}]"),
                format!("no CloudWatch alarm is named {name:?}"),
            ));
        }
    }

    let (target_version, target) = match &spec.target {
        Target::Version { version } => {
            let info = ports
                .version_info(&function.name, version)
                .await?
                .ok_or_else(|| {
                    Error::not_found(
                        "targetVersion",
                        format!(
                            "function {} has no published version {version}",
                            function.name
                        ),
                    )
                })?;
            (version.clone(), info)
        }
        Target::PublishLatest { code_sha256 } => {
            // PublishVersion copies $LATEST: check it now, so a mismatch is refused before the publish.
            let latest = wait_until(ports, clock, &function.name, LATEST, updated).await?;
            same_routing_config(&current, &current_info, LATEST, &latest, "codeSha256")?;
            let description = format!("shifter rollout {rollout_id}");
            let version = ports
                .publish_version(&function.name, code_sha256.as_deref(), &description)
                .await?;
            let info = ports
                .version_info(&function.name, &version)
                .await?
                .ok_or_else(|| Error::InvalidState {
                    message: format!("version {version} was published but cannot be read back"),
                })?;
            (version, info)
        }
    };
    if target_version == current {
        return Err(Error::invalid(
            "targetVersion",
            format!(
                "alias {} already serves version {current}: nothing to roll out (publish new code, or name another version)",
                spec.alias
            ),
        ));
    }
    same_routing_config(
        &current,
        &current_info,
        &target_version,
        &target,
        "targetVersion",
    )?;
    let target = match ready(&target) {
        Readiness::Ready => target,
        _ => wait_until(ports, clock, &function.name, &target_version, ready).await?,
    };

    let checked_ms = clock.now_millis();
    info!(rollout_id, function = %function.name, alias = %spec.alias, current, target = %target_version, "prepared");
    Ok(Rollout {
        schema_version: SCHEMA_VERSION,
        rollout_id: rollout_id.to_string(),
        function_name: function.name,
        function_arn: function.arn,
        alias: spec.alias.clone(),
        current_version: current,
        target_version,
        target_version_arn: target.arn,
        strategy: spec.strategy_name.clone(),
        plan: spec.plan.clone(),
        steps_done: 0,
        weight_bps: 0,
        revision_id: alias.revision_id,
        checked_ms,
        started_ms: checked_ms,
        execution_arn: None,
        started_by: None,
        cloud_formation: None,
        hooks: spec.hooks.clone(),
        alarms: spec.alarms.clone(),
        insufficient_data: spec.insufficient_data,
        notification_topic_arn: spec.notification_topic_arn.clone(),
        analysis: spec.analysis.clone(),
        step_started_ms: 0,
        bake_left_seconds: 0,
        extended_seconds: 0,
        analysed_ms: 0,
        last_analysis: None,
    })
}

/// The parts of a function ARN Prepare compares with the caller's.
struct FunctionArn<'a> {
    region: &'a str,
    account: &'a str,
}

impl<'a> FunctionArn<'a> {
    /// `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME` (request validation already checked the shape).
    fn parse(value: &'a str) -> Option<Self> {
        let parts: Vec<&str> = value.split(':').collect();
        match parts.as_slice() {
            ["arn", _, "lambda", region, account, "function", ..] => {
                Some(FunctionArn { region, account })
            }
            _ => None,
        }
    }
}

/// Lambda refuses to weight two versions whose execution role or dead-letter config differ: say so now,
/// naming both, instead of failing at the first UpdateAlias after the pre-traffic hook.
fn same_routing_config(
    current: &str,
    current_info: &VersionInfo,
    target: &str,
    target_info: &VersionInfo,
    field: &str,
) -> Result<()> {
    let name = |v: &str| {
        if v == LATEST {
            "$LATEST (what PublishVersion would publish)".to_string()
        } else {
            format!("version {v}")
        }
    };
    if current_info.role != target_info.role {
        return Err(Error::invalid(
            field,
            format!(
                "{} runs as {} but version {current}, which the alias serves, runs as {}: Lambda cannot split \
                 traffic between versions with different execution roles; give both the same role",
                name(target),
                target_info.role,
                current_info.role
            ),
        ));
    }
    if current_info.dead_letter_arn != target_info.dead_letter_arn {
        let dlq = |d: &Option<String>| d.clone().unwrap_or_else(|| "none".to_string());
        return Err(Error::invalid(
            field,
            format!(
                "{} has dead-letter target {} but version {current}, which the alias serves, has {}: Lambda \
                 cannot split traffic between versions with different dead-letter configs; give both the same",
                name(target),
                dlq(&target_info.dead_letter_arn),
                dlq(&current_info.dead_letter_arn)
            ),
        ));
    }
    Ok(())
}

enum Readiness {
    Ready,
    Waiting(String),
    Failed(String),
}

/// $LATEST may be published once its last update finished.
fn updated(info: &VersionInfo) -> Readiness {
    match info.last_update_status.as_str() {
        "InProgress" => Readiness::Waiting("its last update is still in progress".into()),
        "Failed" => Readiness::Failed(format!(
            "its last update failed ({}): fix the function's code or configuration, then retry",
            reason(info)
        )),
        _ => Readiness::Ready,
    }
}

/// A version may take hooks and traffic once Active. (An emulator may not report a State at all.)
fn ready(info: &VersionInfo) -> Readiness {
    match info.state.as_str() {
        "Active" | "" => Readiness::Ready,
        "Pending" => Readiness::Waiting("it is still Pending".into()),
        "Inactive" => Readiness::Failed(
            "it is Inactive (idle for weeks): invoke it once so Lambda reactivates it, then retry"
                .into(),
        ),
        other => Readiness::Failed(format!("it is {other} ({})", reason(info))),
    }
}

fn reason(info: &VersionInfo) -> &str {
    info.reason.as_deref().unwrap_or("no reason given")
}

/// Polls the version until `check` says ready, for at most [`READY_WAIT`]. A failure is an invalid request
/// (exit 2: nothing changed); still waiting at the end is `Transient`, for the caller's retry.
async fn wait_until<P: FunctionRegistry, C: Clock>(
    ports: &P,
    clock: &C,
    function: &str,
    version: &str,
    check: fn(&VersionInfo) -> Readiness,
) -> Result<VersionInfo> {
    let field = if version == LATEST {
        "functionName"
    } else {
        "targetVersion"
    };
    let what = if version == LATEST {
        format!("function {function} ($LATEST)")
    } else {
        format!("version {version} of {function}")
    };
    let deadline = clock.now_millis() + READY_WAIT.as_millis() as u64;
    loop {
        let info = ports
            .version_info(function, version)
            .await?
            .ok_or_else(|| Error::not_found(field, format!("{what} does not exist")))?;
        match check(&info) {
            Readiness::Ready => return Ok(info),
            Readiness::Failed(why) => return Err(Error::invalid(field, format!("{what}: {why}"))),
            Readiness::Waiting(why) if clock.now_millis() >= deadline => {
                return Err(Error::Transient {
                    operation: "GetFunctionConfiguration".into(),
                    message: format!(
                        "{what}: {why} after {} s; nothing was changed",
                        READY_WAIT.as_secs()
                    ),
                })
            }
            Readiness::Waiting(_) => clock.sleep(READY_POLL).await,
        }
    }
}

/// Adapters cannot know which request field named the missing resource; the use case does.
fn in_field(error: Error, field: &str) -> Error {
    match error {
        Error::ResourceNotFound { message, .. } => Error::ResourceNotFound {
            field: field.to_string(),
            message,
        },
        other => other,
    }
}
