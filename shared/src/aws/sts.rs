//! Who the clients act as: the region they are configured for and the account STS names.

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
        Ok(Caller {
            region,
            account: account.to_string(),
        })
    }
}
