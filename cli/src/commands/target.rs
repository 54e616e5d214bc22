//! What a command names (an execution ARN or `function:alias`), and the running rollout that is.

use std::io::Write;

use serde_json::Value;
use shifter::registry::control::{LeaseKey, RolloutControl};
use shifter::registry::{RolloutJournal, RolloutRecord};
use shifter::Error;

use crate::deploy::EXIT_INVALID;
use crate::registry;
use crate::status::StatusTarget;
use crate::stepfunctions::{ApiError, ExecutionApi};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Execution(String),
    Alias { function: String, alias: String },
}

impl Target {
    /// An execution ARN, or `function:alias` (a function ARN counts as its name).
    pub fn parse(text: &str) -> Result<Target, String> {
        Ok(match StatusTarget::parse(text)? {
            StatusTarget::Execution(arn) => Target::Execution(arn),
            StatusTarget::Alias { function, alias } => Target::Alias {
                function: function_name(&function),
                alias,
            },
        })
    }
}

/// A function ARN's name (`arn:aws:lambda:…:function:orders` → `orders`); anything else as it is. The
/// registry keys rollouts by the name Prepare resolved.
pub fn function_name(function: &str) -> String {
    match function.split_once(":function:") {
        Some((_, name)) if function.starts_with("arn:") => {
            name.split(':').next().unwrap_or(name).to_string()
        }
        _ => function.to_string(),
    }
}

/// Where a target leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The rollout running on the alias (it holds the alias's lease).
    Running(LeaseKey),
    /// No rollout runs there: why, as a sentence.
    NotRunning(String),
}

/// Looking failed: the registry (exit 1) or Step Functions (exit 2 when the execution does not exist).
#[derive(Debug)]
pub enum LookupError {
    Registry(Error),
    Api(ApiError),
}

impl LookupError {
    /// Reports the failure; returns its exit code.
    pub fn report(&self, err: &mut dyn Write) -> i32 {
        match self {
            LookupError::Registry(error) => registry::failed(error, err),
            LookupError::Api(e) => {
                let _ = writeln!(err, "error: {e}");
                if e.is_not_found() {
                    EXIT_INVALID
                } else {
                    1
                }
            }
        }
    }
}

fn key_of(r: &RolloutRecord) -> LeaseKey {
    LeaseKey {
        function: r.function_name.clone(),
        alias: r.alias.clone(),
        rollout_id: r.rollout_id.clone(),
    }
}

/// The running rollout `target` names. `function:alias`: the rollout holding the alias's lease. An execution
/// ARN: the running rollout whose record names that execution; failing that (the registry's `running` index
/// lags its writes a little), the alias in the execution's input, if its lease names the execution.
pub async fn find<P, A>(ports: &P, api: &A, target: &Target) -> Result<Found, LookupError>
where
    P: RolloutJournal + RolloutControl,
    A: ExecutionApi,
{
    match target {
        Target::Alias { function, alias } => {
            let lease = ports
                .lease_of(function, alias)
                .await
                .map_err(LookupError::Registry)?;
            Ok(match lease {
                Some(lease) => Found::Running(LeaseKey {
                    function: function.clone(),
                    alias: alias.clone(),
                    rollout_id: lease.rollout_id,
                }),
                None => Found::NotRunning(format!("no rollout is running on {function}:{alias}")),
            })
        }
        Target::Execution(arn) => {
            let running = ports.running().await.map_err(LookupError::Registry)?;
            if let Some(r) = running
                .iter()
                .find(|r| r.execution_arn.as_deref() == Some(arn.as_str()))
            {
                return Ok(Found::Running(key_of(r)));
            }
            let not_running = || {
                Found::NotRunning(format!(
                    "no running rollout in the registry has execution {arn}"
                ))
            };
            let info = api.describe(arn).await.map_err(LookupError::Api)?;
            if !info.is_running() {
                return Ok(Found::NotRunning(format!(
                    "execution {arn} is not running: it ended {}",
                    info.status
                )));
            }
            let Some((function, alias)) = info.input.as_deref().and_then(requested_alias) else {
                return Ok(not_running());
            };
            let lease = ports
                .lease_of(&function, &alias)
                .await
                .map_err(LookupError::Registry)?;
            Ok(match lease {
                Some(l) if l.execution_arn.as_deref() == Some(arn.as_str()) => {
                    Found::Running(LeaseKey {
                        function,
                        alias,
                        rollout_id: l.rollout_id,
                    })
                }
                _ => not_running(),
            })
        }
    }
}

/// The function (by name) and alias a rollout request names; the request may come as an EventBridge event
/// whose `detail` it is.
fn requested_alias(input: &str) -> Option<(String, String)> {
    let value: Value = serde_json::from_str(input).ok()?;
    let request = match value.get("detail") {
        Some(detail) if value.get("detail-type").is_some() => detail,
        _ => &value,
    };
    let function = request.get("functionName")?.as_str()?;
    let alias = request.get("alias")?.as_str()?;
    Some((function_name(function), alias.to_string()))
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
