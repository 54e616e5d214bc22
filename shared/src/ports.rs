//! The ports the use cases need: small, domain-shaped traits. `aws` implements them over the SDKs, `fake`
//! implements them in memory with AWS's rules.

use std::future::Future;
use std::time::Duration;

use crate::domain::{
    AlarmStatus, AliasState, Caller, FunctionInfo, HookReply, Routing, VersionInfo,
};
use crate::error::Result;
use crate::notification::Notification;

/// Reads and writes a Lambda alias. Writes are fenced: `revision_id` must be the alias's current RevisionId,
/// or the write fails with `Error::AliasChanged` and nothing changes.
pub trait AliasRouter: Send + Sync {
    fn read_alias(
        &self,
        function: &str,
        alias: &str,
    ) -> impl Future<Output = Result<AliasState>> + Send;
    fn write_alias(
        &self,
        function: &str,
        alias: &str,
        routing: &Routing,
        revision_id: &str,
    ) -> impl Future<Output = Result<AliasState>> + Send;
}

/// Functions and their published versions.
pub trait FunctionRegistry: Send + Sync {
    /// `Error::ResourceNotFound` when the function does not exist (the field is filled in by the caller).
    fn describe_function(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<FunctionInfo>> + Send;
    /// A version's configuration (`$LATEST` included), or None when that version was never published.
    fn version_info(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<Option<VersionInfo>>> + Send;
    /// Publishes $LATEST (AWS returns the existing version when nothing changed). `code_sha256` guards against
    /// publishing code other than what the pipeline built.
    fn publish_version(
        &self,
        function: &str,
        code_sha256: Option<&str>,
        description: &str,
    ) -> impl Future<Output = Result<String>> + Send;
}

/// CloudWatch alarms.
pub trait AlarmSource: Send + Sync {
    /// The alarms' states, read in one batched call. Alarms that do not exist are absent from the answer.
    fn alarm_states(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<AlarmStatus>>> + Send;
    /// True when the alarm entered ALARM at or after `since_ms` (its state history), even if it has cleared
    /// since: an alarm that fires and clears between two reads of its state must still count.
    fn fired_since(&self, name: &str, since_ms: u64) -> impl Future<Output = Result<bool>> + Send;
}

/// Who the AWS calls run as: the region and account an ARN in a request must belong to.
pub trait CallerIdentity: Send + Sync {
    fn caller(&self) -> impl Future<Output = Result<Caller>> + Send;
}

/// Synchronous invocation of a hook function.
pub trait HookInvoker: Send + Sync {
    fn invoke(
        &self,
        function: &str,
        payload: &[u8],
    ) -> impl Future<Output = Result<HookReply>> + Send;
}

/// Lifecycle notifications (SNS).
pub trait Notifier: Send + Sync {
    fn publish(
        &self,
        topic_arn: &str,
        notification: &Notification,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Time, for the local driver's bakes: real in the CLI, instant in tests.
pub trait Clock: Send + Sync {
    fn now_millis(&self) -> u64;
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}
