//! The provider's ports, beyond the alias and function ports every use case shares.

use std::future::Future;

use serde_json::Value;

use crate::domain::AliasState;
use crate::error::Result;

/// Creates and deletes aliases (CreateAlias, DeleteAlias).
pub trait AliasLifecycle: Send + Sync {
    /// A new alias serving `version` alone. `Error::AliasBusy` when the alias already exists.
    fn create_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> impl Future<Output = Result<AliasState>> + Send;
    /// Deletes the alias: `false` when there was none.
    fn delete_alias(
        &self,
        function: &str,
        alias: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// What `RolloutStarter::start_rollout` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new execution runs the rollout.
    New { execution_arn: String },
    /// An execution with this name exists already (a redelivered request): it owns the answer.
    Existing,
}

/// Starts the rollout state machine (StartExecution).
pub trait RolloutStarter: Send + Sync {
    fn start_rollout(
        &self,
        name: &str,
        input: &Value,
    ) -> impl Future<Output = Result<Started>> + Send;
}

/// One answer per custom-resource request: the first body recorded wins (a conditional write).
pub trait ReplyLedger: Send + Sync {
    /// Records `body` as the answer to `request_id` unless one is recorded already, and returns the answer
    /// that is recorded now (`body`, or the earlier one).
    fn claim_reply(
        &self,
        request_id: &str,
        body: &str,
    ) -> impl Future<Output = Result<String>> + Send;
}

/// Sends an answer to CloudFormation: an HTTP PUT of `body` to the pre-signed `url`.
pub trait ReplySender: Send + Sync {
    fn put_reply(&self, url: &str, body: &str) -> impl Future<Output = Result<()>> + Send;
}
