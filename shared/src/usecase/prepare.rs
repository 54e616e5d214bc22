use tracing::info;

use crate::error::{Error, Result};
use crate::ports::{AlarmSource, AliasRouter, FunctionRegistry};
use crate::request::{RolloutSpec, Target};
use crate::rollout::{Rollout, SCHEMA_VERSION};

/// Validates the request against AWS, publishes $LATEST if asked, and takes the alias: records the RevisionId
/// every later write is fenced on. Writes nothing to the alias. The only write it can make is PublishVersion,
/// and only after every other check passed.
pub async fn prepare<P>(ports: &P, spec: &RolloutSpec, rollout_id: &str) -> Result<Rollout>
where
    P: FunctionRegistry + AliasRouter + AlarmSource,
{
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

    let (target_version, target_arn) = match &spec.target {
        Target::Version { version } => {
            let arn = ports
                .version_arn(&function.name, version)
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
            (version.clone(), arn)
        }
        Target::PublishLatest { code_sha256 } => {
            let description = format!("shifter rollout {rollout_id}");
            let version = ports
                .publish_version(&function.name, code_sha256.as_deref(), &description)
                .await?;
            let arn = ports
                .version_arn(&function.name, &version)
                .await?
                .ok_or_else(|| Error::InvalidState {
                    message: format!("version {version} was published but cannot be read back"),
                })?;
            (version, arn)
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

    info!(rollout_id, function = %function.name, alias = %spec.alias, current, target = %target_version, "prepared");
    Ok(Rollout {
        schema_version: SCHEMA_VERSION,
        rollout_id: rollout_id.to_string(),
        function_name: function.name,
        function_arn: function.arn,
        alias: spec.alias.clone(),
        current_version: current,
        target_version,
        target_version_arn: target_arn,
        strategy: spec.strategy_name.clone(),
        plan: spec.plan.clone(),
        steps_done: 0,
        weight_bps: 0,
        revision_id: alias.revision_id,
        hooks: spec.hooks.clone(),
        alarms: spec.alarms.clone(),
        insufficient_data: spec.insufficient_data,
        notification_topic_arn: spec.notification_topic_arn.clone(),
    })
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
