//! `Custom::ShifterAlias`: a CloudFormation custom resource whose Update rolls a new version out
//! progressively, so a `sam deploy` gets canaries without CodeDeploy (`functions/alias-provider`).
//!
//! - **Create** points the alias at `Version` (creating it when missing) and answers at once.
//! - **Update** to a new `Version` starts the rollout state machine with the request and a [`StackReply`];
//!   the state machine answers when the rollout ends: SUCCESS when promoted, FAILED when it rolled back, and
//!   CloudFormation then rolls the stack back. An Update whose `Version` the alias already serves alone (the
//!   stack rollback's own Update, or a change of strategy, alarms or hooks) answers SUCCESS with no writes.
//! - **Delete** removes the alias, unless `RetainOnDelete`.
//!
//! The answer is a PUT of a JSON body to the event's pre-signed `ResponseURL`. CloudFormation acts on the
//! first one; [`ports::ReplyLedger`] makes sure there is only ever one body per request, whatever retries
//! or redeliveries happen (`answer.rs`).

pub mod answer;
pub mod ports;
pub mod properties;
pub mod provider;
pub mod response;

#[cfg(test)]
mod properties_tests;
#[cfg(test)]
mod provider_tests;

use serde::{Deserialize, Serialize};

/// Where and how to answer CloudFormation for one custom-resource request: carried by the rollout (the
/// execution input's `cloudFormation`, then `Rollout::cloud_formation`) until it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StackReply {
    /// The pre-signed S3 URL the answer is PUT to.
    #[serde(rename = "responseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    /// The alias ARN: the resource's PhysicalResourceId.
    pub physical_resource_id: String,
}

/// The longest ResponseURL kept (S3 pre-signed URLs with a session token are about 1.5 KB): a rollout's state
/// carries it to the end, and a Step Functions state holds at most 256 KB.
pub const MAX_RESPONSE_URL: usize = 4096;
/// The longest of the other reply fields (a stack ARN, a logical id, a request id, an alias ARN).
pub const MAX_REPLY_FIELD: usize = 512;

/// The execution input's field that carries the [`StackReply`] next to the rollout request.
pub const INPUT_FIELD: &str = "cloudFormation";

/// Splits a `cloudFormation` reply off an execution input, leaving the rollout request. An input without one
/// is returned as it was.
pub fn split_input(
    mut input: serde_json::Value,
) -> crate::Result<(serde_json::Value, Option<StackReply>)> {
    let malformed = |why: String| {
        crate::Error::invalid(
            INPUT_FIELD,
            format!(
                "is set by the Custom::ShifterAlias provider, and this one is malformed: {}",
                crate::text::cap(&why, 256)
            ),
        )
    };
    let reply: Option<StackReply> = match input.as_object_mut().and_then(|m| m.remove(INPUT_FIELD))
    {
        None => None,
        Some(v) => Some(serde_json::from_value(v).map_err(|e| malformed(e.to_string()))?),
    };
    if let Some(r) = &reply {
        if r.response_url.len() > MAX_RESPONSE_URL {
            return Err(malformed(format!(
                "responseURL is longer than {MAX_RESPONSE_URL} bytes"
            )));
        }
        let others = [
            &r.stack_id,
            &r.request_id,
            &r.logical_resource_id,
            &r.physical_resource_id,
        ];
        if others.iter().any(|f| f.len() > MAX_REPLY_FIELD) {
            return Err(malformed(format!(
                "stackId, requestId, logicalResourceId and physicalResourceId are at most {MAX_REPLY_FIELD} bytes"
            )));
        }
    }
    Ok((input, reply))
}

/// An execution name for a custom-resource request: the same for every delivery of the same request, so a
/// redelivered Update finds the rollout it already started (Step Functions keeps names for 90 days).
pub fn execution_name(request_id: &str) -> String {
    let clean: String = request_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(70)
        .collect();
    format!("cfn-{clean}")
}
