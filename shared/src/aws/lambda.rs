//! Lambda: aliases (GetAlias/UpdateAlias), functions and versions (GetFunction, GetFunctionConfiguration,
//! PublishVersion) and hook invocations (Invoke).
//!
//! Weights are integer basis points in the domain and doubles (0.0-1.0) in Lambda; they are converted here and
//! nowhere else.

use std::collections::HashMap;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{AliasRoutingConfiguration, InvocationType};

use super::errors::lambda_error;
use super::AwsPorts;
use crate::domain::{AliasState, FunctionInfo, HookReply, Routing, VersionInfo, WeightedVersion};
use crate::error::{Error, Result};
use crate::plan::FULL_BPS;
use crate::ports::{AliasRouter, FunctionRegistry, HookInvoker};

/// Basis points -> Lambda's weight: 1000 -> 0.1 (IEEE division is correctly rounded, so this is exactly the
/// double nearest to the decimal value, the same one a JSON literal `0.1` parses to).
pub(crate) fn bps_to_weight(bps: u32) -> f64 {
    f64::from(bps) / f64::from(FULL_BPS)
}

/// Lambda's weight -> basis points, rounded to the nearest with half-way cases away from zero (0.1 -> 1000,
/// 0.33335 -> 3334: the product lands on 3333.5), clamped to 0..=10000. NaN becomes 0. Weights shifter wrote
/// always have at most four decimals and round-trip exactly; finer ones come from other tools.
pub(crate) fn weight_to_bps(weight: f64) -> u32 {
    let bps = (weight * f64::from(FULL_BPS))
        .round()
        .clamp(0.0, f64::from(FULL_BPS));
    // In range after the clamp; a NaN casts to 0.
    bps as u32
}

/// The RoutingConfig to send for `routing`. A single-version route sends an EMPTY AdditionalVersionWeights map:
/// that is what clears an existing split (omitting RoutingConfig would leave the old weights in place).
pub(crate) fn routing_config(routing: &Routing) -> AliasRoutingConfiguration {
    let mut weights = HashMap::new();
    if let Some(additional) = &routing.additional {
        weights.insert(
            additional.version.clone(),
            bps_to_weight(additional.weight_bps),
        );
    }
    AliasRoutingConfiguration::builder()
        .set_additional_version_weights(Some(weights))
        .build()
}

/// The domain routing of an alias as Lambda describes it.
pub(crate) fn routing_from(
    function_version: &str,
    config: Option<&AliasRoutingConfiguration>,
) -> Routing {
    let mut entries: Vec<(&String, &f64)> = config
        .and_then(AliasRoutingConfiguration::additional_version_weights)
        .map(|weights| weights.iter().collect())
        .unwrap_or_default();
    // Lambda allows one additional version; should a lax emulator hold more, pick one deterministically.
    entries.sort_by(|a, b| a.0.cmp(b.0));
    if entries.len() > 1 {
        tracing::warn!(
            count = entries.len(),
            "alias has more than one additional version; using the first"
        );
    }
    Routing {
        function_version: function_version.to_string(),
        additional: entries.first().map(|(version, weight)| WeightedVersion {
            version: (*version).clone(),
            weight_bps: weight_to_bps(**weight),
        }),
    }
}

fn missing(operation: &str, what: &str) -> Error {
    Error::AwsRejected {
        operation: operation.to_string(),
        message: format!("the response has no {what}"),
    }
}

impl AliasRouter for AwsPorts {
    async fn read_alias(&self, function: &str, alias: &str) -> Result<AliasState> {
        let out = self
            .lambda
            .get_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await
            .map_err(|e| lambda_error("GetAlias", alias, e))?;
        let version = out
            .function_version()
            .ok_or_else(|| missing("GetAlias", "FunctionVersion"))?;
        Ok(AliasState {
            routing: routing_from(version, out.routing_config()),
            revision_id: out.revision_id().unwrap_or_default().to_string(),
        })
    }

    /// The returned state is what UpdateAlias answered, with the alias's new RevisionId. When the response has
    /// no RevisionId (AWS always sends one) the state carries "" and the next fenced write will need a
    /// fresh `read_alias`. Should the response lack FunctionVersion, the requested primary version is used.
    async fn write_alias(
        &self,
        function: &str,
        alias: &str,
        routing: &Routing,
        revision_id: &str,
    ) -> Result<AliasState> {
        let out = self
            .lambda
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(&routing.function_version)
            .routing_config(routing_config(routing))
            .revision_id(revision_id)
            .send()
            .await
            .map_err(|e| lambda_error("UpdateAlias", alias, e))?;
        let version = out
            .function_version()
            .unwrap_or(routing.function_version.as_str());
        Ok(AliasState {
            routing: routing_from(version, out.routing_config()),
            revision_id: out.revision_id().unwrap_or_default().to_string(),
        })
    }
}

impl FunctionRegistry for AwsPorts {
    async fn describe_function(&self, function: &str) -> Result<FunctionInfo> {
        let out = self
            .lambda
            .get_function()
            .function_name(function)
            .send()
            .await
            .map_err(|e| lambda_error("GetFunction", function, e))?;
        let config = out
            .configuration()
            .ok_or_else(|| missing("GetFunction", "Configuration"))?;
        // FunctionName in the answer is the bare name even when the caller passed an ARN.
        let name = config
            .function_name()
            .ok_or_else(|| missing("GetFunction", "Configuration.FunctionName"))?;
        let arn = config
            .function_arn()
            .ok_or_else(|| missing("GetFunction", "Configuration.FunctionArn"))?;
        Ok(FunctionInfo {
            name: name.to_string(),
            arn: arn.to_string(),
        })
    }

    /// None on ResourceNotFoundException, which Lambda answers both for a version never published and for a
    /// function that does not exist: callers check the function first with `describe_function`.
    async fn version_info(&self, function: &str, version: &str) -> Result<Option<VersionInfo>> {
        let result = self
            .lambda
            .get_function_configuration()
            .function_name(function)
            .qualifier(version)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                return match lambda_error("GetFunctionConfiguration", function, e) {
                    Error::ResourceNotFound { .. } => Ok(None),
                    other => Err(other),
                }
            }
        };
        let arn = out
            .function_arn()
            .ok_or_else(|| missing("GetFunctionConfiguration", "FunctionArn"))?;
        Ok(Some(VersionInfo {
            arn: arn.to_string(),
            role: out.role().unwrap_or_default().to_string(),
            dead_letter_arn: out
                .dead_letter_config()
                .and_then(|d| d.target_arn())
                .filter(|a| !a.is_empty())
                .map(str::to_string),
            state: out
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            last_update_status: out
                .last_update_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            reason: out
                .state_reason()
                .or(out.last_update_status_reason())
                .map(str::to_string),
        }))
    }

    async fn publish_version(
        &self,
        function: &str,
        code_sha256: Option<&str>,
        description: &str,
    ) -> Result<String> {
        let out = self
            .lambda
            .publish_version()
            .function_name(function)
            .set_code_sha256(code_sha256.map(str::to_string))
            .description(description)
            .send()
            .await
            .map_err(|e| lambda_error("PublishVersion", function, e))?;
        out.version()
            .map(str::to_string)
            .ok_or_else(|| missing("PublishVersion", "Version"))
    }
}

impl HookInvoker for AwsPorts {
    /// A synchronous invocation. The SDK's retry covers Lambda's own throttling and 5xx (the hook did not run
    /// then); a hook that ran and failed comes back as `function_error`, not as an error. So does a hook that
    /// did not answer within `hook_timeout`: it is a failed hook (HookFailed), never a retry, since it may
    /// have acted.
    async fn invoke(&self, function: &str, payload: &[u8]) -> Result<HookReply> {
        let budget = TimeoutConfig::builder()
            .operation_attempt_timeout(self.hook_timeout)
            .operation_timeout(self.hook_timeout)
            .build();
        let result = self
            .lambda
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload))
            .customize()
            .config_override(aws_sdk_lambda::config::Builder::default().timeout_config(budget))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(SdkError::TimeoutError(_)) => {
                let message = format!(
                    "the hook did not answer within {:.1} s (shifter's budget for a hook in this step)",
                    self.hook_timeout.as_secs_f64()
                );
                return Ok(HookReply {
                    function_error: Some("Timeout".to_string()),
                    payload: serde_json::json!({"errorType": "Timeout", "errorMessage": message})
                        .to_string()
                        .into_bytes(),
                });
            }
            Err(e) => return Err(lambda_error("Invoke", function, e)),
        };
        Ok(HookReply {
            function_error: out.function_error,
            payload: out.payload.map(Blob::into_inner).unwrap_or_default(),
        })
    }
}
