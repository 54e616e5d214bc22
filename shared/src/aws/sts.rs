//! Who the clients act as: the region they are configured for, and the account and partition STS names.

use super::errors::service_error;
use super::AwsPorts;
use crate::domain::Caller;
use crate::error::{Error, Result};
use crate::ports::CallerIdentity;

impl CallerIdentity for AwsPorts {
    /// GetCallerIdentity needs no IAM permission: any credentials may ask who they are.
    async fn caller(&self) -> Result<Caller> {
        let region = self
            .lambda
            .config()
            .region()
            .map(ToString::to_string)
            .ok_or_else(|| Error::AwsRejected {
                operation: "configuration".into(),
                message: "no AWS region is configured: set AWS_REGION (or a profile's region)"
                    .into(),
            })?;
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| service_error("GetCallerIdentity", e))?;
        let account = out.account().ok_or_else(|| Error::AwsRejected {
            operation: "GetCallerIdentity".into(),
            message: "the response has no Account".into(),
        })?;
        // The caller's own ARN (arn:PARTITION:sts::ACCOUNT:... or arn:PARTITION:iam::...) names the partition:
        // a bare function name resolves to an ARN in it.
        let partition = out
            .arn()
            .and_then(|arn| arn.strip_prefix("arn:"))
            .and_then(|rest| rest.split(':').next())
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::AwsRejected {
                operation: "GetCallerIdentity".into(),
                message: format!(
                    "the response's Arn ({}) names no partition",
                    out.arn().unwrap_or("none")
                ),
            })?;
        Ok(Caller {
            partition: partition.to_string(),
            region,
            account: account.to_string(),
        })
    }
}
