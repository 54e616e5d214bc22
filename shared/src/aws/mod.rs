//! AWS adapters: the ports of `crate::ports` (all but `Clock`) over the AWS SDK for Rust.
//!
//! - [`AliasRouter`](crate::ports::AliasRouter), [`FunctionRegistry`](crate::ports::FunctionRegistry) and
//!   [`HookInvoker`](crate::ports::HookInvoker): Lambda (`lambda.rs`).
//! - [`AlarmSource`](crate::ports::AlarmSource): CloudWatch DescribeAlarms (`cloudwatch.rs`).
//! - [`Notifier`](crate::ports::Notifier): SNS Publish (`sns.rs`).
//! - SDK errors become `crate::Error` in `errors.rs`.
//!
//! - [`CallerIdentity`](crate::ports::CallerIdentity): the clients' region and STS GetCallerIdentity
//!   (`sts.rs`).
//!
//! Retries: the clients keep the SDK's own retry (standard mode, 3 attempts, exponential backoff with jitter;
//! `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` can change it), which already retries throttling, 5xx, timeouts and
//! dropped connections. Errors that survive it come back as `Error::Transient` for the caller's own,
//! slower retry (`crate::retry`).
//!
//! Timeouts: every call has an attempt and an operation timeout ([`ATTEMPT_TIMEOUT`], [`OPERATION_TIMEOUT`]),
//! so a hung call fails as `Transient` while the function still has time to say so, instead of Lambda
//! killing it (which the state machine would only see as `Lambda.Unknown`). A hook invocation is the
//! exception: it may run as long as the hook does, up to [`AwsPorts::hook_timeout`].
//!
//! Rate limits: GetAlias, UpdateAlias, PublishVersion and GetFunctionConfiguration all draw from ONE
//! control-plane bucket of 15 requests per second per account and region (not per API, not per function,
//! and it cannot be raised). Every rollout in the account and region, and every other tool calling these
//! APIs, draws from it: keep alias reads and writes to a few per step rather than polling them.

mod cloudwatch;
pub mod custom_resource;
pub(crate) mod errors;
mod lambda;
mod metrics;
mod sns;
mod sts;

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

#[cfg(test)]
#[path = "alarm_history_tests.rs"]
mod alarm_history_tests;

#[cfg(test)]
#[path = "custom_resource_tests.rs"]
mod custom_resource_tests;

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod metrics_tests;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// One attempt of one AWS call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// One AWS call, all attempts and their backoff included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);
/// Lambda's longest function timeout: a hook cannot run longer, so neither does its invocation by default.
pub const LAMBDA_MAX_TIMEOUT: Duration = Duration::from_secs(900);

/// The AWS implementation of the ports. Cheap to clone (the SDK clients are reference-counted).
#[derive(Debug, Clone)]
pub struct AwsPorts {
    pub lambda: aws_sdk_lambda::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub sts: aws_sdk_sts::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// The rollout registry's DynamoDB table (`SHIFTER_TABLE`); none: the registry is off.
    pub table: Option<String>,
    /// How long a hook invocation may take before it counts as a failed hook. A state-machine function sets
    /// it from its own deadline ([`AwsPorts::with_budget`]), so that it outlives the hook and reports a hook
    /// that timed out as a hook failure rather than being killed with it.
    pub hook_timeout: Duration,
}

/// The SDK's retries, pinned rather than left to the environment: standard mode (exponential backoff with full
/// jitter), 3 attempts, at most 1 s then 2 s apart. They absorb a brief throttle inside one Task. Longer waits
/// belong to the state machine's Retry (`JitterStrategy: FULL`): a Lambda sleeping in the SDK is billed for
/// it and runs into `OPERATION_TIMEOUT`, while a Step Functions retry waits for free. Not adaptive mode: its
/// client-side rate limiter knows only its own client, and each concurrent Lambda environment has its own, so it
/// learns nothing about the account-wide 15/s it would be pacing for (docs/reliability.md, "Scale").
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_secs(1))
        .with_max_backoff(Duration::from_secs(5))
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

impl AwsPorts {
    /// Clients for one shared configuration (region, credentials, endpoint, retry), with shifter's timeouts.
    pub fn new(config: &SdkConfig) -> Self {
        let config = config
            .to_builder()
            .timeout_config(timeouts())
            .retry_config(retry_config())
            .build();
        AwsPorts {
            lambda: aws_sdk_lambda::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            table: std::env::var("SHIFTER_TABLE")
                .ok()
                .filter(|t| !t.is_empty()),
            hook_timeout: LAMBDA_MAX_TIMEOUT + Duration::from_secs(30),
        }
    }

    /// Configuration from the environment: the default credential and region chains, so `AWS_PROFILE`,
    /// `AWS_REGION` and `AWS_ENDPOINT_URL` (for a local emulator) are honoured.
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::new(&config)
    }

    /// The same clients for one invocation that must end within `budget`: a hook gets what is left after
    /// one more AWS call (the notification that follows it).
    pub fn with_budget(&self, budget: Duration) -> Self {
        AwsPorts {
            hook_timeout: budget
                .saturating_sub(OPERATION_TIMEOUT)
                .min(self.hook_timeout),
            ..self.clone()
        }
    }

    /// The same clients with the registry in `table` (`--table`), or off.
    pub fn with_table(mut self, table: Option<String>) -> Self {
        self.table = table.filter(|t| !t.is_empty());
        self
    }

    /// Clients built elsewhere (tests use mocked clients). The registry is off; the DynamoDB and Step
    /// Functions clients are unconfigured (set them when a test needs them).
    pub fn from_clients(
        lambda: aws_sdk_lambda::Client,
        cloudwatch: aws_sdk_cloudwatch::Client,
        sns: aws_sdk_sns::Client,
        sts: aws_sdk_sts::Client,
    ) -> Self {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        let sfn_config = aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .build();
        AwsPorts {
            lambda,
            cloudwatch,
            sns,
            sts,
            dynamodb: aws_sdk_dynamodb::Client::from_conf(config),
            sfn: aws_sdk_sfn::Client::from_conf(sfn_config),
            table: None,
            hook_timeout: LAMBDA_MAX_TIMEOUT,
        }
    }
}
