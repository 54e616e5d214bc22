//! Prepare: validates the rollout request, checks that its hooks are within the stack's `HookFunctionArnPattern`
//! (`hook_scope`), checks what it names in AWS and takes the alias (`usecase::prepare`), then publishes
//! RolloutStarted. Changes no alias.
//!
//! Errors (`errorType`): `InvalidRequest`, `ResourceNotFound`, `AliasBusy`, `Transient`, `AwsRejected`,
//! `InvalidState`. The state machine sends every one of them to the RequestRejected Fail state: nothing was
//! shifted yet, and an `AliasBusy` alias belongs to another rollout, so there is nothing to roll back.

use shifter::custom_resource::ports::{ReplyLedger, ReplySender};
use shifter::custom_resource::{self, answer, StackReply};
use shifter::hook_scope::HookScope;
use shifter::notification::{EventType, Notification};
use shifter::ports::{AlarmSource, AliasRouter, CallerIdentity, FunctionRegistry, Notifier};
use shifter::request::RolloutRequest;
use shifter::state::{PrepareInput, RolloutState};
use shifter::time::SystemClock;
use shifter::usecase;
use shifter::usecase::lease::{self, Registry};

/// The stack's EventBridge rule passes the whole "Rollout Requested" event (so the rollout knows EventBridge
/// started it); its `detail` is the request. Any other input is the request itself.
pub fn unwrap_event(input: serde_json::Value) -> (serde_json::Value, Option<&'static str>) {
    let is_event = input.get("source").and_then(|v| v.as_str()) == Some("shifter")
        && input.get("detail-type").and_then(|v| v.as_str()) == Some("Rollout Requested")
        && input.get("detail").is_some_and(|d| d.is_object());
    match input {
        serde_json::Value::Object(mut event) if is_event => (
            event.remove("detail").unwrap_or_default(),
            Some(shifter::registry::started_by::EVENTBRIDGE),
        ),
        other => (other, None),
    }
}

/// What Prepare takes from its environment (template.yaml's PrepareFunction sets it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `SHIFTER_DEFAULT_TOPIC_ARN`, the stack's topic: requests that name no `notificationTopicArn` notify it.
    /// Empty or unset: no notifications by default.
    pub default_topic: Option<String>,
    /// `SHIFTER_HOOK_FUNCTION_ARN_PATTERN`, the stack's `HookFunctionArnPattern`: the functions a request may name
    /// as hooks. Empty or unset: every function of this account and region (the template's default).
    pub hook_scope: HookScope,
}

impl Settings {
    /// From the environment `var` reads (`std::env::var(..).ok()` in the function).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        Settings {
            default_topic: var("SHIFTER_DEFAULT_TOPIC_ARN").filter(|t| !t.is_empty()),
            hook_scope: HookScope::from_setting(
                &var(shifter::hook_scope::PATTERN_ENV).unwrap_or_default(),
            ),
        }
    }
}

/// A rollout a `Custom::ShifterAlias` started carries where to answer CloudFormation (`cloudFormation` in
/// the input). When Prepare refuses it, nothing else will run to answer, so Prepare answers FAILED itself;
/// a `Transient` error is left to the state machine's retries.
pub async fn handle<P>(
    ports: &P,
    input: PrepareInput,
    settings: &Settings,
) -> shifter::Result<RolloutState>
where
    P: FunctionRegistry
        + AliasRouter
        + AlarmSource
        + CallerIdentity
        + Notifier
        + Registry
        + ReplyLedger
        + ReplySender,
{
    input.check_schema()?;
    let (request, started_by) = unwrap_event(input.request.clone());
    let (request, stack_reply) = custom_resource::split_input(request)?;
    let result = prepare(
        ports,
        &input,
        request,
        started_by,
        stack_reply.clone(),
        settings,
    )
    .await;
    if let (Err(e), Some(to)) = (&result, &stack_reply) {
        if !e.is_transient() {
            let reply = answer::rejected(to, e.error_type(), &e.to_string());
            if let Err(not_sent) = answer::answer(ports, to, &reply).await {
                tracing::warn!(error = %not_sent, "could not answer CloudFormation");
            }
        }
    }
    result
}

async fn prepare<P>(
    ports: &P,
    input: &PrepareInput,
    request: serde_json::Value,
    started_by: Option<&'static str>,
    stack_reply: Option<StackReply>,
    settings: &Settings,
) -> shifter::Result<RolloutState>
where
    P: FunctionRegistry + AliasRouter + AlarmSource + CallerIdentity + Notifier + Registry,
{
    let started_by = match &stack_reply {
        Some(_) => Some(shifter::registry::started_by::CLOUDFORMATION),
        None => started_by,
    };
    let mut request = RolloutRequest::from_value(request)?;
    if request.notification_topic_arn.is_none() {
        request.notification_topic_arn = settings.default_topic.clone();
    }
    let spec = request.validate()?;
    // First of all the checks against AWS: a hook outside the pattern is refused before anything is read (IAM
    // would answer Prepare's GetFunction of it with AccessDenied) or written (the lease, PublishVersion).
    if spec.hooks.pre_traffic.is_some() || spec.hooks.post_traffic.is_some() {
        let home = ports.caller().await?;
        settings.hook_scope.check(&spec.hooks, &home)?;
    }
    let mut rollout = usecase::prepare(ports, &SystemClock, &spec, &input.rollout_id).await?;
    rollout.execution_arn = input.execution_arn.clone();
    rollout.started_by = started_by.map(str::to_string);
    rollout.cloud_formation = stack_reply;
    // The alias's lease: a second execution on the same alias stops here with AliasBusy, before any write.
    lease::take(ports, &SystemClock, &rollout).await?;
    shifter_lambda::publish(
        ports,
        &rollout,
        Notification::new(EventType::RolloutStarted, &rollout),
    )
    .await;
    Ok(RolloutState::new(rollout))
}

#[cfg(test)]
mod tests;
