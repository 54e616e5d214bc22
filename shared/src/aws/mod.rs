//! AWS adapters: the ports of `crate::ports` (all but `Clock`) over the AWS SDK for Rust.
//!
//! - [`AliasRouter`](crate::ports::AliasRouter), [`FunctionRegistry`](crate::ports::FunctionRegistry) and
//!   [`HookInvoker`](crate::ports::HookInvoker): Lambda (`lambda.rs`).
//! - [`AlarmSource`](crate::ports::AlarmSource): CloudWatch DescribeAlarms (`cloudwatch.rs`).
//! - [`Notifier`](crate::ports::Notifier): SNS Publish (`sns.rs`).
//! - SDK errors become `crate::Error` in `errors.rs`.
//!
//! Retries: the clients keep the SDK's own retry (standard mode, 3 attempts, exponential backoff with jitter;
//! `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` can change it), which already retries throttling, 5xx, timeouts and
//! dropped connections. Errors that survive it come back as `Error::Transient` for the caller's own,
//! slower retry.
//!
//! Rate limits: GetAlias, UpdateAlias and PublishVersion share ONE control-plane bucket of 15 requests per
//! second per account and region (not per API, not per function, and it cannot be raised). Every rollout in
//! the account and region, and every other tool calling these APIs, draws from it: keep alias reads and writes
//! to a few per step rather than polling them. GetFunction/GetFunctionConfiguration have 100/s.

mod cloudwatch;
mod errors;
mod lambda;
mod sns;

#[cfg(test)]
#[path = "test_support.rs"]
mod test_support;

#[cfg(test)]
#[path = "lambda_tests.rs"]
mod lambda_tests;

#[cfg(test)]
#[path = "lambda_function_tests.rs"]
mod lambda_function_tests;

#[cfg(test)]
#[path = "errors_tests.rs"]
mod errors_tests;

#[cfg(test)]
#[path = "cloudwatch_sns_tests.rs"]
mod cloudwatch_sns_tests;

use aws_config::{BehaviorVersion, SdkConfig};

/// The AWS implementation of the ports. Cheap to clone (the SDK clients are reference-counted).
#[derive(Debug, Clone)]
pub struct AwsPorts {
    pub lambda: aws_sdk_lambda::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
}

impl AwsPorts {
    /// Clients for one shared configuration (region, credentials, endpoint, retry).
    pub fn new(config: &SdkConfig) -> Self {
        AwsPorts {
            lambda: aws_sdk_lambda::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
        }
    }

    /// Configuration from the environment: the default credential and region chains, so `AWS_PROFILE`,
    /// `AWS_REGION` and `AWS_ENDPOINT_URL` (for a local emulator) are honoured.
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::new(&config)
    }

    /// Clients built elsewhere (tests use mocked clients).
    pub fn from_clients(
        lambda: aws_sdk_lambda::Client,
        cloudwatch: aws_sdk_cloudwatch::Client,
        sns: aws_sdk_sns::Client,
    ) -> Self {
        AwsPorts {
            lambda,
            cloudwatch,
            sns,
        }
    }
}
