//! Mocked SDK clients for the adapter tests (aws-smithy-mocks: rules answer instead of the network).

use std::time::Duration;

use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::error::ErrorMetadata;
use aws_smithy_mocks::{mock_client, Rule, RuleMode};

use super::AwsPorts;

/// The SDK's standard retry (3 attempts), with millisecond backoff so retry tests run fast.
pub(super) fn fast_retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

/// Error metadata as the SDK's deserializers fill it in from a real response.
pub(super) fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn lambda(rules: &[&Rule]) -> aws_sdk_lambda::Client {
    mock_client!(aws_sdk_lambda, RuleMode::Sequential, rules, |c| c
        .retry_config(fast_retry()))
}

fn cloudwatch(rules: &[&Rule]) -> aws_sdk_cloudwatch::Client {
    mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, rules, |c| c
        .retry_config(fast_retry()))
}

fn sns(rules: &[&Rule]) -> aws_sdk_sns::Client {
    mock_client!(aws_sdk_sns, RuleMode::Sequential, rules, |c| c
        .retry_config(fast_retry()))
}

fn sts(rules: &[&Rule]) -> aws_sdk_sts::Client {
    mock_client!(aws_sdk_sts, RuleMode::Sequential, rules, |c| c
        .retry_config(fast_retry()))
}

/// Ports whose STS client answers from `rules` and whose clients are configured for `region`.
pub(super) fn sts_ports(rules: &[&Rule], region: &'static str) -> AwsPorts {
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::Sequential, &[], |c| c
        .region(aws_sdk_lambda::config::Region::new(region)));
    AwsPorts::from_clients(lambda, cloudwatch(&[]), sns(&[]), sts(rules))
}

/// Ports whose Lambda client answers from `rules`, in order; the other clients panic if called.
pub(super) fn lambda_ports(rules: &[&Rule]) -> AwsPorts {
    AwsPorts::from_clients(lambda(rules), cloudwatch(&[]), sns(&[]), sts(&[]))
}

/// Ports whose CloudWatch client answers from `rules`, in order.
pub(super) fn cloudwatch_ports(rules: &[&Rule]) -> AwsPorts {
    AwsPorts::from_clients(lambda(&[]), cloudwatch(rules), sns(&[]), sts(&[]))
}

/// Ports whose SNS client answers from `rules`, in order.
pub(super) fn sns_ports(rules: &[&Rule]) -> AwsPorts {
    AwsPorts::from_clients(lambda(&[]), cloudwatch(&[]), sns(rules), sts(&[]))
}
