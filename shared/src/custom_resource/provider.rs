//! The provider's use case: one CloudFormation custom-resource request in, either an answer sent at once or
//! a rollout started whose state machine answers when it ends.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Event;
use serde_json::Value;
use tracing::{info, warn};

use super::answer::{answer, Answered};
use super::ports::{AliasLifecycle, ReplyLedger, ReplySender, RolloutStarter, Started};
use super::properties::AliasProperties;
use super::response::{Reply, ReplyData};
use super::{execution_name, StackReply, INPUT_FIELD};
use crate::domain::Routing;
use crate::error::{Error, Result};
use crate::ports::{AliasRouter, FunctionRegistry};

/// Everything the provider needs.
pub trait ProviderPorts:
    AliasRouter + FunctionRegistry + AliasLifecycle + RolloutStarter + ReplyLedger + ReplySender
{
}

impl<T> ProviderPorts for T where
    T: AliasRouter + FunctionRegistry + AliasLifecycle + RolloutStarter + ReplyLedger + ReplySender
{
}

/// What the provider did with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// CloudFormation was answered now.
    Answered(Answered),
    /// A rollout runs (started now, or by an earlier delivery of the same request): its state machine answers.
    RolloutStarted { rollout_id: String },
}

/// The PhysicalResourceId of a Create that made nothing: a later Delete of it changes nothing.
pub fn not_created_id(request_id: &str) -> String {
    format!("shifter-alias-not-created-{request_id}")
}

/// Handles one request. Errors only when CloudFormation could not be answered (the ledger or the PUT
/// failed): Lambda then retries the event, and the retry re-sends the recorded answer.
pub async fn handle<P: ProviderPorts>(ports: &P, event: Event) -> Result<Handled> {
    let (to, kind) = reply_address(&event);
    let outcome = match &event {
        Event::Create(e) => create(ports, &e.resource_properties).await,
        Event::Update(e) => update(ports, &to, &e.resource_properties).await,
        Event::Delete(e) => delete(ports, &to, &e.resource_properties).await,
        _ => Err(Error::invalid(
            "RequestType",
            "must be Create, Update or Delete",
        )),
    };
    let reply = match outcome {
        Ok(Outcome::Reply(reply)) => reply,
        Ok(Outcome::Started(rollout_id)) => {
            info!(kind, %rollout_id, "rollout started; the state machine answers CloudFormation");
            return Ok(Handled::RolloutStarted { rollout_id });
        }
        Err(e) => {
            warn!(kind, error_type = e.error_type(), error = %e, "custom resource request failed");
            Reply::failed(
                &to.physical_resource_id,
                format!("{}: {e}", e.error_type()),
                ReplyData::default(),
            )
        }
    };
    answer(ports, &to, &reply).await.map(Handled::Answered)
}

enum Outcome {
    Reply(Reply),
    Started(String),
}

/// Where the answer goes. A Create has no PhysicalResourceId yet: until it has made an alias, the answer
/// names one that no Delete can mistake for an alias.
fn reply_address(event: &Event) -> (StackReply, &'static str) {
    let (kind, request_id, url, stack, logical, physical) = match event {
        Event::Create(e) => (
            "Create",
            &e.request_id,
            &e.response_url,
            &e.stack_id,
            &e.logical_resource_id,
            not_created_id(&e.request_id),
        ),
        Event::Update(e) => (
            "Update",
            &e.request_id,
            &e.response_url,
            &e.stack_id,
            &e.logical_resource_id,
            e.physical_resource_id.clone(),
        ),
        Event::Delete(e) => (
            "Delete",
            &e.request_id,
            &e.response_url,
            &e.stack_id,
            &e.logical_resource_id,
            e.physical_resource_id.clone(),
        ),
        _ => (
            "Unknown",
            &String::new(),
            &String::new(),
            &String::new(),
            &String::new(),
            String::new(),
        ),
    };
    (
        StackReply {
            response_url: url.clone(),
            stack_id: stack.clone(),
            request_id: request_id.clone(),
            logical_resource_id: logical.clone(),
            physical_resource_id: physical,
        },
        kind,
    )
}

async fn alias_arn<P: ProviderPorts>(ports: &P, props: &AliasProperties) -> Result<String> {
    let function = ports
        .describe_function(props.function_name())
        .await
        .map_err(|e| in_field(e, "Properties.FunctionName"))?;
    Ok(format!("{}:{}", function.arn, props.alias()))
}

fn in_field(e: Error, field: &str) -> Error {
    match e {
        Error::ResourceNotFound { message, .. } => Error::not_found(field, message),
        other => other,
    }
}

/// Create: the alias serves `Version` alone. An existing alias is taken over when it serves one version;
/// a weighted one belongs to a rollout and is refused, untouched.
async fn create<P: ProviderPorts>(ports: &P, properties: &Value) -> Result<Outcome> {
    let props = AliasProperties::from_value(properties)?;
    let arn = alias_arn(ports, &props).await?;
    let reason = point_alias(ports, &props).await?;
    Ok(Outcome::Reply(served(&arn, &props.version, reason)))
}

/// Points the alias at the version (creating it if missing), or finds it there. Says what it did.
async fn point_alias<P: ProviderPorts>(ports: &P, props: &AliasProperties) -> Result<String> {
    let (function, alias, version) = (props.function_name(), props.alias(), &props.version);
    ensure_version(ports, props).await?;
    match ports.read_alias(function, alias).await {
        Err(Error::ResourceNotFound { .. }) => {
            ports.create_alias(function, alias, version).await?;
            Ok(format!(
                "created {function}:{alias} serving version {version}"
            ))
        }
        Err(e) => Err(e),
        Ok(state) if state.routing == Routing::single(version) => Ok(format!(
            "{function}:{alias} already serves version {version} alone: nothing to change"
        )),
        Ok(state) if state.routing.is_weighted() => Err(Error::AliasBusy {
            alias: format!("{function}:{alias}"),
            message: format!(
                "it is weighted ({}): a rollout owns it. Nothing was changed; finish or abort that \
                 rollout (`shifter abort {function}:{alias}`), then retry",
                state.routing
            ),
        }),
        Ok(state) => {
            ports
                .write_alias(
                    function,
                    alias,
                    &Routing::single(version),
                    &state.revision_id,
                )
                .await?;
            Ok(format!(
                "{function}:{alias} pointed at version {version} (it served {})",
                state.routing.function_version
            ))
        }
    }
}

async fn ensure_version<P: ProviderPorts>(ports: &P, props: &AliasProperties) -> Result<()> {
    match ports
        .version_info(props.function_name(), &props.version)
        .await
        .map_err(|e| in_field(e, "Properties.FunctionName"))?
    {
        Some(_) => Ok(()),
        None => Err(Error::not_found(
            "Properties.Version",
            format!(
                "{} has no published version {}",
                props.function_name(),
                props.version
            ),
        )),
    }
}

fn served(arn: &str, version: &str, reason: String) -> Reply {
    Reply::success(
        arn,
        reason,
        ReplyData {
            version: version.to_string(),
            alias_arn: arn.to_string(),
            rollout_id: String::new(),
        },
    )
}

/// Update: nothing to do when the alias already serves `Version` alone; a renamed alias is a new resource
/// (CloudFormation deletes the old one afterwards); otherwise a rollout, if its plan fits the ServiceTimeout.
async fn update<P: ProviderPorts>(
    ports: &P,
    to: &StackReply,
    properties: &Value,
) -> Result<Outcome> {
    let props = AliasProperties::from_value(properties)?;
    let arn = alias_arn(ports, &props).await?;
    if arn != to.physical_resource_id {
        let reason = point_alias(ports, &props).await?;
        return Ok(Outcome::Reply(served(&arn, &props.version, reason)));
    }
    let (function, alias, version) = (props.function_name(), props.alias(), &props.version);
    let current = match ports.read_alias(function, alias).await {
        Err(Error::ResourceNotFound { .. }) => {
            let reason = point_alias(ports, &props).await?;
            return Ok(Outcome::Reply(served(&arn, version, reason)));
        }
        other => other?,
    };
    if current.routing == Routing::single(version) {
        return Ok(Outcome::Reply(served(
            &arn,
            version,
            format!(
                "{function}:{alias} already serves version {version} alone: nothing to roll out"
            ),
        )));
    }
    ensure_version(ports, &props).await?;
    let plan_seconds = props.spec.plan.total_seconds();
    if plan_seconds > props.service_timeout_seconds {
        return Err(Error::invalid(
            "Properties.Strategy",
            format!(
                "the plan takes {} ({plan_seconds} s), longer than CloudFormation waits for this resource: \
                 {} (ServiceTimeout: {} s; 3600 s at most, and by default). Use a shorter strategy, or run \
                 this rollout from a pipeline (`shifter deploy`). Nothing was changed.",
                fmt_duration(plan_seconds),
                fmt_duration(props.service_timeout_seconds),
                props.service_timeout_seconds
            ),
        ));
    }
    let extension = props
        .spec
        .analysis
        .as_ref()
        .map_or(0, |a| a.longest_extension_seconds(&props.spec.plan));
    if plan_seconds + extension > props.service_timeout_seconds {
        return Err(Error::invalid(
            "Properties.Analysis.maxExtensionSeconds",
            format!(
                "the plan takes {} and the canary analysis may extend its bakes by up to {} in all \
                 (maxExtensionSeconds per weighted step, when inconclusive): {} ({} s), longer than \
                 CloudFormation waits for this resource: {} (ServiceTimeout: {} s). Lower \
                 maxExtensionSeconds, set whenInconclusive to pass or fail, or use a shorter strategy. \
                 Nothing was changed.",
                fmt_duration(plan_seconds),
                fmt_duration(extension),
                fmt_duration(plan_seconds + extension),
                plan_seconds + extension,
                fmt_duration(props.service_timeout_seconds),
                props.service_timeout_seconds
            ),
        ));
    }
    let mut input = serde_json::to_value(&props.request).expect("a request serializes");
    let reply = StackReply {
        physical_resource_id: arn,
        ..to.clone()
    };
    input[INPUT_FIELD] = serde_json::to_value(&reply).expect("a reply address serializes");
    let name = execution_name(&to.request_id);
    match ports.start_rollout(&name, &input).await? {
        Started::New { execution_arn } => info!(%execution_arn, "started the rollout"),
        Started::Existing => info!(
            execution = %name,
            "this request's rollout was started by an earlier delivery"
        ),
    }
    Ok(Outcome::Started(name))
}

/// Delete: removes the alias this resource made, unless `RetainOnDelete`. A Create that failed made
/// nothing, and its Delete changes nothing.
async fn delete<P: ProviderPorts>(
    ports: &P,
    to: &StackReply,
    properties: &Value,
) -> Result<Outcome> {
    let physical = &to.physical_resource_id;
    let done = |reason: String| {
        Ok(Outcome::Reply(Reply::success(
            physical,
            reason,
            ReplyData {
                alias_arn: physical.clone(),
                ..ReplyData::default()
            },
        )))
    };
    let Some((function, alias)) = split_alias_arn(physical) else {
        return done(format!(
            "{physical} is not an alias this resource made: nothing to delete"
        ));
    };
    let retain = properties
        .get("RetainOnDelete")
        .or_else(|| properties.get("retainOnDelete"))
        .is_some_and(|v| {
            v == &Value::Bool(true) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
        });
    if retain {
        return done(format!("{physical} retained (RetainOnDelete)"));
    }
    if ports.delete_alias(function, alias).await? {
        done(format!("deleted {physical}"))
    } else {
        done(format!("{physical} was already gone"))
    }
}

/// `90 s`, `5 min`, `1 h 5 min` (whole minutes and hours as such).
fn fmt_duration(seconds: u64) -> String {
    match (seconds / 3600, seconds % 3600 / 60, seconds % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, 0) => format!("{h} h"),
        (h, m, 0) => format!("{h} h {m} min"),
        (h, m, s) => format!("{h} h {m} min {s} s"),
    }
}

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME:ALIAS` into (the function's ARN, the alias).
pub fn split_alias_arn(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" {
        return None;
    }
    let (function, alias) = arn.rsplit_once(':')?;
    (!alias.is_empty()).then_some((function, alias))
}
