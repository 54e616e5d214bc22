//! SDK errors -> `crate::Error`, one function per service.
//!
//! The SDK has already retried what it considers retryable (standard mode, 3 attempts, exponential backoff with
//! jitter) before an error reaches these functions, so a `Transient` here means "retried and still failing":
//! the caller (Step Functions Retry, or the CLI driver) may retry again later with a longer backoff.
//!
//! Classification order: the service's error code (from the modeled error's metadata) first, then the HTTP
//! status (5xx and 429 are transient), then the kind of SDK failure (timeouts, dispatch and response errors are
//! transient). Everything else is `AwsRejected`: retrying will not fix it. Messages always start with the AWS
//! error code (or `HTTP <status>` when the service sent none).

use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::error::Error;
use crate::text::{cap, MAX_OUTSIDE_TEXT};

/// Throttling codes, across services and protocols (the SDK's own list, plus SNS's `Throttled` and
/// `KMSThrottling`). `LimitExceededException` is deliberately absent: CloudWatch uses it for quotas.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "Throttled",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "KMSThrottling",
    "KMSThrottlingException",
];

/// Server-side and timeout codes that usually come with a 5xx, listed for when the status is not available.
const TRANSIENT: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalError",
    "InternalFailure",
    "InternalServiceError",
    "InternalServiceFault",
    "InternalServerError",
];

/// What went wrong, before it is given a service-specific meaning.
pub(crate) struct Failure {
    /// The AWS error code, for service errors that carry one.
    pub code: Option<String>,
    /// `<code>: <message>` for service errors, the error chain otherwise; at most [`MAX_OUTSIDE_TEXT`] bytes,
    /// because it ends up in the Step Functions state (a Catch's Cause) and in notifications.
    pub message: String,
    /// Throttling, 5xx, timeouts, dropped connections, unreadable responses.
    pub transient: bool,
    /// Throttling (a throttling code, or HTTP 429): the API's budget is spent.
    pub throttled: bool,
}

impl Failure {
    pub(crate) fn of<E>(err: &SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match err {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = err.code().map(str::to_string);
                let detail = err
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| DisplayErrorContext(service.err()).to_string());
                let label = code.clone().unwrap_or_else(|| format!("HTTP {status}"));
                let throttled =
                    code.as_deref().is_some_and(|c| THROTTLING.contains(&c)) || status == 429;
                let transient = throttled
                    || code.as_deref().is_some_and(|c| TRANSIENT.contains(&c))
                    || status >= 500;
                Failure {
                    code,
                    message: cap(&format!("{label}: {detail}"), MAX_OUTSIDE_TEXT),
                    transient,
                    throttled,
                }
            }
            SdkError::TimeoutError(_) | SdkError::ResponseError(_) => Failure::other(err, true),
            // A "user" dispatch failure is a request the HTTP client refused to send (a malformed endpoint):
            // sending it again changes nothing.
            SdkError::DispatchFailure(dispatch) => Failure::other(err, !dispatch.is_user()),
            // ConstructionFailure (a request that could not be built) and future variants.
            _ => Failure::other(err, false),
        }
    }

    fn other<E>(err: &SdkError<E>, transient: bool) -> Self
    where
        E: std::error::Error + 'static,
    {
        Failure {
            code: None,
            message: cap(&DisplayErrorContext(err).to_string(), MAX_OUTSIDE_TEXT),
            transient,
            throttled: false,
        }
    }

    /// The service-independent meaning: `Throttled`, `Transient` or `AwsRejected`.
    fn into_error(self, operation: &str) -> Error {
        if self.transient {
            return self.transient(operation);
        }
        Error::AwsRejected {
            operation: operation.to_string(),
            message: self.message,
        }
    }

    fn not_found(self) -> Error {
        // The use case knows which request field named the missing resource and fills it in.
        Error::ResourceNotFound {
            field: String::new(),
            message: self.message,
        }
    }

    /// `Throttled` for a throttle, `Transient` otherwise.
    fn transient(self, operation: &str) -> Error {
        if self.throttled {
            return Error::Throttled {
                operation: operation.to_string(),
                message: self.message,
            };
        }
        Error::Transient {
            operation: operation.to_string(),
            message: self.message,
        }
    }
}

/// Lambda errors. `alias` names the alias for GetAlias/UpdateAlias (it becomes `AliasChanged.alias`); the
/// other operations pass the function name.
pub(crate) fn lambda_error<E>(operation: &str, alias: &str, err: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let failure = Failure::of(&err);
    match failure.code.as_deref() {
        // UpdateAlias with a RevisionId that is no longer current: someone else changed the alias.
        Some("PreconditionFailedException") => Error::AliasChanged {
            alias: alias.to_string(),
            message: failure.message,
        },
        Some("ResourceNotFoundException") => failure.not_found(),
        // "The resource already exists, or another operation is in progress": AWS says retry.
        Some("ResourceConflictException") => failure.transient(operation),
        _ => failure.into_error(operation),
    }
}

/// CloudWatch errors. DescribeAlarms leaves unknown alarm names out of its answer instead of failing, so a
/// not-found code is unusual here; it is mapped for completeness.
pub(crate) fn cloudwatch_error<E>(operation: &str, err: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let failure = Failure::of(&err);
    match failure.code.as_deref() {
        Some("ResourceNotFound" | "ResourceNotFoundException") => failure.not_found(),
        _ => failure.into_error(operation),
    }
}

/// SNS errors. A missing topic answers `NotFound` (SNS's Query-protocol code for NotFoundException).
pub(crate) fn sns_error<E>(operation: &str, err: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let failure = Failure::of(&err);
    match failure.code.as_deref() {
        Some("NotFound" | "NotFoundException" | "ResourceNotFoundException") => failure.not_found(),
        _ => failure.into_error(operation),
    }
}

/// Errors of a service none of whose codes has a shifter-specific meaning (STS, Step Functions): only
/// `Transient` or `AwsRejected`.
pub(crate) fn service_error<E>(operation: &str, err: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    Failure::of(&err).into_error(operation)
}

/// DynamoDB errors. A missing table is a configuration problem (the stack's table, or `--table`), not a
/// missing request resource.
pub(crate) fn dynamodb_error<E>(operation: &str, err: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let failure = Failure::of(&err);
    match failure.code.as_deref() {
        Some("ProvisionedThroughputExceededException" | "RequestLimitExceeded") => {
            failure.transient(operation)
        }
        Some("ResourceNotFoundException") => Error::AwsRejected {
            operation: operation.to_string(),
            message: format!(
                "{}: the rollout registry table does not exist (check SHIFTER_TABLE / --table)",
                failure.message
            ),
        },
        _ => failure.into_error(operation),
    }
}
