//! The `Custom::ShifterAlias` provider. CloudFormation invokes it asynchronously with a custom-resource
//! request; it answers through the request's ResponseURL at once (Create, Delete, and Updates with nothing
//! to roll out) or starts the rollout state machine, which answers when the rollout ends
//! (`shifter::custom_resource`).
//!
//! Errors (`errorType`): only when CloudFormation could not be answered (`Transient`, `AwsRejected`: the
//! ledger or the PUT failed). Lambda then retries the event, and the retry sends the recorded answer. Every
//! other failure is an answer: FAILED, with the reason.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use serde::{Deserialize, Serialize};
use shifter::custom_resource::execution_name;
use shifter::custom_resource::provider::{self, Handled, ProviderPorts};

/// One custom-resource request, with the rollout id it would start (every log line carries it).
pub struct CustomResourceEvent {
    pub request: CloudFormationCustomResourceRequest,
    rollout_id: String,
}

impl<'de> Deserialize<'de> for CustomResourceEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let request = CloudFormationCustomResourceRequest::deserialize(d)?;
        let request_id = match &request {
            CloudFormationCustomResourceRequest::Create(e) => e.request_id.as_str(),
            CloudFormationCustomResourceRequest::Update(e) => e.request_id.as_str(),
            CloudFormationCustomResourceRequest::Delete(e) => e.request_id.as_str(),
            _ => "",
        };
        let rollout_id = execution_name(request_id);
        Ok(CustomResourceEvent {
            request,
            rollout_id,
        })
    }
}

impl shifter_lambda::Traced for CustomResourceEvent {
    fn rollout_id(&self) -> &str {
        &self.rollout_id
    }
}

/// What the invocation did (the function's result; CloudFormation reads only the ResponseURL).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProviderOutput {
    /// The answer sent now, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered: Option<serde_json::Value>,
    /// The rollout that will answer, if one runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_id: Option<String>,
}

pub async fn handle<P: ProviderPorts>(
    ports: &P,
    event: CustomResourceEvent,
) -> shifter::Result<ProviderOutput> {
    Ok(match provider::handle(ports, event.request).await? {
        Handled::Answered(a) => ProviderOutput {
            answered: serde_json::from_str(&a.body).ok(),
            rollout_id: None,
        },
        Handled::RolloutStarted { rollout_id } => ProviderOutput {
            answered: None,
            rollout_id: Some(rollout_id),
        },
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shifter_lambda::testing::world;

    use super::*;

    #[tokio::test]
    async fn a_cloudformation_event_as_lambda_receives_it_is_answered() {
        let aws = world();
        let event: CustomResourceEvent = serde_json::from_value(json!({
            "RequestType": "Create", "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:p",
            "ResponseURL": "http://127.0.0.1:1/r", "StackId": "s", "RequestId": "0f3c-41",
            "ResourceType": "Custom::ShifterAlias", "LogicalResourceId": "Live",
            "ResourceProperties": {"ServiceToken": "t", "FunctionName": "orders", "AliasName": "live",
                "Version": "1", "Strategy": "AllAtOnce"}}))
        .unwrap();
        assert_eq!(shifter_lambda::Traced::rollout_id(&event), "cfn-0f3c-41");
        let out = handle(&aws, event).await.unwrap();
        assert_eq!(out.answered.unwrap()["Status"], "SUCCESS");
        assert_eq!(aws.reply_puts().len(), 1);
    }
}
