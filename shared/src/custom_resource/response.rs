//! The answer's body, with `aws_lambda_events`' CloudFormation response type.

use std::collections::HashMap;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};

use super::StackReply;
use crate::text::cap;

/// CloudFormation refuses a response object over 4,096 bytes; the reason is cut well below that.
pub const MAX_REASON: usize = 1024;

/// What the answer reports besides its status: the response's `Data` (`!GetAtt Resource.Version`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyData {
    pub version: String,
    pub alias_arn: String,
    pub rollout_id: String,
}

/// One answer to CloudFormation.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub success: bool,
    pub reason: String,
    pub physical_resource_id: String,
    pub data: ReplyData,
}

impl Reply {
    pub fn success(
        physical_resource_id: &str,
        reason: impl Into<String>,
        data: ReplyData,
    ) -> Reply {
        Reply {
            success: true,
            reason: reason.into(),
            physical_resource_id: physical_resource_id.to_string(),
            data,
        }
    }

    pub fn failed(physical_resource_id: &str, reason: impl Into<String>, data: ReplyData) -> Reply {
        Reply {
            success: false,
            reason: reason.into(),
            physical_resource_id: physical_resource_id.to_string(),
            data,
        }
    }

    /// The JSON body for `request`. Deterministic: the same reply to the same request is the same text.
    pub fn body(&self, to: &StackReply) -> String {
        let mut response = CloudFormationCustomResourceResponse::default();
        response.status = if self.success {
            CloudFormationCustomResourceResponseStatus::Success
        } else {
            CloudFormationCustomResourceResponseStatus::Failed
        };
        response.reason = Some(cap(&self.reason, MAX_REASON));
        response.physical_resource_id = self.physical_resource_id.clone();
        response.stack_id = to.stack_id.clone();
        response.request_id = to.request_id.clone();
        response.logical_resource_id = to.logical_resource_id.clone();
        response.data = HashMap::from([
            ("Version".to_string(), self.data.version.clone()),
            ("AliasArn".to_string(), self.data.alias_arn.clone()),
            ("RolloutId".to_string(), self.data.rollout_id.clone()),
        ]);
        // A HashMap's order is not stable: go through Value, whose maps are sorted, for one text per reply.
        let value = serde_json::to_value(&response).expect("a response is plain data");
        value.to_string()
    }
}
