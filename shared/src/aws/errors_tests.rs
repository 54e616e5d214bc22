//! The error mapping, over every kind of SDK failure (the mocked-client tests cover the service errors end to end).

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsError;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ConnectorError, SdkError};
use aws_sdk_lambda::operation::get_alias::GetAliasError;
use aws_sdk_sns::operation::publish::PublishError;
use aws_smithy_types::body::SdkBody;

use super::errors::{cloudwatch_error, lambda_error, sns_error};
use super::test_support::meta;
use crate::error::Error;

fn raw(status: u16) -> HttpResponse {
    HttpResponse::new(status.try_into().unwrap(), SdkBody::empty())
}

fn lambda(code: &str, status: u16) -> Error {
    let err = GetAliasError::generic(meta(code, "details"));
    lambda_error(
        "GetAlias",
        "live",
        SdkError::service_error(err, raw(status)),
    )
}

fn cloudwatch(code: &str, status: u16) -> Error {
    let err = DescribeAlarmsError::generic(meta(code, "details"));
    cloudwatch_error("DescribeAlarms", SdkError::service_error(err, raw(status)))
}

fn sns(code: &str, status: u16) -> Error {
    let err = PublishError::generic(meta(code, "details"));
    sns_error("Publish", SdkError::service_error(err, raw(status)))
}

fn kind(err: &Error) -> &'static str {
    err.error_type()
}

#[test]
fn lambda_codes() {
    assert_eq!(
        kind(&lambda("PreconditionFailedException", 412)),
        "AliasChanged"
    );
    assert_eq!(
        kind(&lambda("ResourceNotFoundException", 404)),
        "ResourceNotFound"
    );
    assert_eq!(kind(&lambda("ResourceConflictException", 409)), "Transient");
    assert_eq!(kind(&lambda("TooManyRequestsException", 429)), "Throttled");
    assert_eq!(kind(&lambda("ServiceException", 500)), "Transient");
    assert_eq!(kind(&lambda("EC2ThrottledException", 502)), "Throttled");
    assert_eq!(
        kind(&lambda("InvalidParameterValueException", 400)),
        "AwsRejected"
    );
    assert_eq!(kind(&lambda("AccessDeniedException", 403)), "AwsRejected");
    assert_eq!(
        lambda("InvalidParameterValueException", 400),
        Error::AwsRejected {
            operation: "GetAlias".into(),
            message: "InvalidParameterValueException: details".into()
        }
    );
}

#[test]
fn cloudwatch_and_sns_codes() {
    assert_eq!(kind(&cloudwatch("Throttling", 400)), "Throttled");
    assert_eq!(kind(&cloudwatch("InternalServiceFault", 500)), "Transient");
    assert_eq!(kind(&cloudwatch("InvalidNextToken", 400)), "AwsRejected");
    assert_eq!(
        kind(&cloudwatch("LimitExceededException", 400)),
        "AwsRejected"
    );
    assert_eq!(kind(&sns("NotFound", 404)), "ResourceNotFound");
    assert_eq!(kind(&sns("Throttled", 429)), "Throttled");
    assert_eq!(kind(&sns("KMSThrottling", 400)), "Throttled");
    assert_eq!(kind(&sns("InternalError", 500)), "Transient");
    assert_eq!(kind(&sns("AuthorizationError", 403)), "AwsRejected");
    assert_eq!(kind(&sns("InvalidParameter", 400)), "AwsRejected");
}

#[test]
fn a_5xx_or_429_without_a_code_is_transient() {
    let err = GetAliasError::unhandled("no body");
    let mapped = lambda_error("GetAlias", "live", SdkError::service_error(err, raw(503)));
    match mapped {
        Error::Transient { message, .. } => assert!(message.starts_with("HTTP 503: "), "{message}"),
        other => panic!("expected Transient, got {other:?}"),
    }
    let err = GetAliasError::unhandled("slow down");
    let mapped = lambda_error("GetAlias", "live", SdkError::service_error(err, raw(429)));
    assert!(mapped.is_transient());
    assert_eq!(kind(&mapped), "Throttled", "a 429 is a throttle");
    let err = GetAliasError::unhandled("teapot");
    let mapped = lambda_error("GetAlias", "live", SdkError::service_error(err, raw(418)));
    assert_eq!(kind(&mapped), "AwsRejected");
}

#[test]
fn timeouts_dropped_connections_and_bad_responses_are_transient() {
    let timeout: SdkError<GetAliasError> = SdkError::timeout_error("operation timed out");
    let io: SdkError<GetAliasError> =
        SdkError::dispatch_failure(ConnectorError::io("connection reset".into()));
    let connect_timeout: SdkError<GetAliasError> =
        SdkError::dispatch_failure(ConnectorError::timeout("connect timed out".into()));
    let garbled: SdkError<GetAliasError> = SdkError::response_error("invalid JSON", raw(200));
    for err in [timeout, io, connect_timeout, garbled] {
        let mapped = lambda_error("GetAlias", "live", err);
        match mapped {
            Error::Transient { operation, message } => {
                assert_eq!(operation, "GetAlias");
                assert!(!message.is_empty());
            }
            other => panic!("expected Transient, got {other:?}"),
        }
    }
}

#[test]
fn requests_that_cannot_be_built_or_sent_are_rejected() {
    let user: SdkError<GetAliasError> =
        SdkError::dispatch_failure(ConnectorError::user("invalid endpoint URI".into()));
    let construction: SdkError<GetAliasError> =
        SdkError::construction_failure("missing FunctionName");
    for err in [user, construction] {
        let mapped = lambda_error("GetAlias", "live", err);
        assert_eq!(kind(&mapped), "AwsRejected", "{mapped:?}");
    }
}

#[test]
fn long_aws_messages_are_capped_and_keep_their_code() {
    use crate::text::MAX_OUTSIDE_TEXT;
    let long = "é".repeat(3 * 1024 * 1024);
    let service = lambda_error(
        "UpdateAlias",
        "live",
        SdkError::service_error(
            GetAliasError::generic(meta("InvalidParameterValueException", &long)),
            raw(400),
        ),
    );
    let unhandled = lambda_error(
        "GetAlias",
        "live",
        SdkError::service_error(GetAliasError::unhandled(long.clone()), raw(503)),
    );
    let construction: SdkError<GetAliasError> = SdkError::construction_failure(long.clone());
    let construction = lambda_error("GetAlias", "live", construction);
    let published = sns_error(
        "Publish",
        SdkError::service_error(
            PublishError::generic(meta("InvalidParameter", &long)),
            raw(400),
        ),
    );
    for (mapped, starts) in [
        (service, "InvalidParameterValueException: éé"),
        (unhandled, "HTTP 503: "),
        (construction, ""),
        (published, "InvalidParameter: éé"),
    ] {
        let message = match &mapped {
            Error::AwsRejected { message, .. } | Error::Transient { message, .. } => message,
            other => panic!("{other:?}"),
        };
        assert!(message.len() <= MAX_OUTSIDE_TEXT, "{} bytes", message.len());
        assert!(message.starts_with(starts), "{message}");
        assert!(message.ends_with(" bytes cut)"), "{message}");
    }
}
