//! The Step Functions calls the state-machine mode makes, behind a small seam ([`ExecutionApi`]) so that
//! `follow`, `status` and `abort` run in tests over a fake execution history. [`SfnApi`] is the AWS SDK one.
//!
//! Only what the CLI reads is kept of each history event ([`Event`]): its id, type, time, state name, the
//! state's input or output (a `RolloutState` after Prepare), and an error and cause.

use std::future::Future;

use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sfn::types::HistoryEvent;

/// A Step Functions call that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The AWS error code (`ThrottlingException`, `ExecutionDoesNotExist`, …), when AWS answered.
    pub code: Option<String>,
    pub message: String,
}

impl ApiError {
    pub fn new(code: Option<&str>, message: impl Into<String>) -> Self {
        ApiError {
            code: code.map(str::to_string),
            message: message.into(),
        }
    }

    /// Throttling and service-side trouble: worth waiting and retrying.
    pub fn is_retryable(&self) -> bool {
        match self.code.as_deref() {
            None => true, // no answer: a dropped connection or a timeout
            Some(code) => {
                code.contains("Throttl")
                    || code.contains("TooManyRequests")
                    || code.contains("RequestLimitExceeded")
                    || code.contains("ServiceUnavailable")
                    || code.contains("InternalServerError")
            }
        }
    }

    /// The call named a state machine or an execution that does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code.as_deref().is_some_and(|c| {
            c.contains("DoesNotExist") || c.contains("NotFound") || c == "InvalidArn"
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) if !self.message.contains(code.as_str()) => {
                write!(f, "{code}: {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

/// One execution history event, reduced to what the CLI reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    /// The event type as Step Functions names it: `TaskStateExited`, `WaitStateEntered`, `ExecutionFailed`, …
    pub kind: String,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// The state entered or exited.
    pub state_name: Option<String>,
    /// A state's input (`…StateEntered`), a state's or the execution's output (`…StateExited`,
    /// `ExecutionSucceeded`), or the execution's input (`ExecutionStarted`).
    pub data: Option<String>,
    /// `ExecutionFailed`/`ExecutionAborted`/`ExecutionTimedOut` (and failed tasks): the error name and cause.
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl Event {
    pub fn is_state_entered(&self) -> bool {
        self.kind.ends_with("StateEntered")
    }

    pub fn is_state_exited(&self) -> bool {
        self.kind.ends_with("StateExited")
    }
}

/// What one GetExecutionHistory call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Newest first (`reverseOrder`).
    pub reverse: bool,
    /// `maxResults`, 1 to 1000. AWS wants it (and `reverse`) unchanged across the pages of one read.
    pub max_results: u32,
    pub next_token: Option<String>,
}

/// The most events one GetExecutionHistory page may carry.
pub const MAX_PAGE: u32 = 1000;

/// One page of an execution history, in the order asked for.
#[derive(Debug, Clone, Default)]
pub struct HistoryPage {
    pub events: Vec<Event>,
    pub next_token: Option<String>,
}

/// What DescribeExecution says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionInfo {
    pub execution_arn: String,
    pub name: String,
    pub state_machine_arn: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED (or PENDING_REDRIVE).
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub start_ms: Option<i64>,
    pub stop_ms: Option<i64>,
    /// The execution's input (a rollout request), when DescribeExecution returns it.
    pub input: Option<String>,
}

impl ExecutionInfo {
    pub fn is_running(&self) -> bool {
        self.status == "RUNNING"
    }
}

/// The Step Functions calls shifter makes.
pub trait ExecutionApi: Send + Sync {
    /// StartExecution; returns the execution ARN.
    fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> impl Future<Output = Result<String, ApiError>> + Send;
    /// One page of GetExecutionHistory.
    fn history(
        &self,
        execution_arn: &str,
        query: HistoryQuery,
    ) -> impl Future<Output = Result<HistoryPage, ApiError>> + Send;
    fn describe(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<ExecutionInfo, ApiError>> + Send;
    fn stop(
        &self,
        execution_arn: &str,
        cause: &str,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// The events after `after_id` (every page of them), oldest first: the whole history when `after_id` is 0,
/// as `status` and `abort` read it once. A follower polls with [`events_since`] instead.
pub async fn events_after<A: ExecutionApi>(
    api: &A,
    execution_arn: &str,
    after_id: i64,
) -> Result<Vec<Event>, ApiError> {
    let mut out = Vec::new();
    let mut next_token = None;
    loop {
        let query = HistoryQuery {
            reverse: false,
            max_results: MAX_PAGE,
            next_token,
        };
        let page = api.history(execution_arn, query).await?;
        out.extend(page.events.into_iter().filter(|e| e.id > after_id));
        match page.next_token {
            Some(t) if !t.is_empty() => next_token = Some(t),
            _ => return Ok(sorted(out)),
        }
    }
}

/// The events after `last_id`, oldest first, read newest first (`reverseOrder`) in pages of `max_results`,
/// paging only until a page reaches `last_id`: a poll transfers what is new plus at most one page already
/// seen, where reading oldest first would transfer the whole history on every poll.
pub async fn events_since<A: ExecutionApi>(
    api: &A,
    execution_arn: &str,
    last_id: i64,
    max_results: u32,
) -> Result<Vec<Event>, ApiError> {
    let mut out = Vec::new();
    let mut next_token = None;
    loop {
        let query = HistoryQuery {
            reverse: true,
            max_results,
            next_token,
        };
        let page = api.history(execution_arn, query).await?;
        // Emulators may ignore reverseOrder (moto's plain backend answers the whole history oldest first, in
        // one page): a page in ascending order is read to the end like any oldest-first history, and only a
        // newest-first page that reaches a seen id ends the read early.
        let ascending = page
            .events
            .first()
            .zip(page.events.last())
            .is_some_and(|(first, last)| first.id < last.id);
        let reached = !ascending && page.events.iter().any(|e| e.id <= last_id);
        out.extend(page.events.into_iter().filter(|e| e.id > last_id));
        match page.next_token {
            Some(t) if !reached && !t.is_empty() => next_token = Some(t),
            _ => return Ok(sorted(out)),
        }
    }
}

/// Oldest first, each event once (event ids number an execution's events from 1, in order).
fn sorted(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|e| e.id);
    events.dedup_by_key(|e| e.id);
    events
}

/// Step Functions over the AWS SDK.
#[derive(Debug, Clone)]
pub struct SfnApi {
    pub client: aws_sdk_sfn::Client,
}

impl SfnApi {
    /// Configuration from the environment (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL), as `--local` uses.
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        Self::new(&config)
    }

    /// Over a configuration already loaded (and checked: `aws_env::load`).
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        SfnApi {
            client: aws_sdk_sfn::Client::new(config),
        }
    }
}

fn sdk_error<E>(operation: &str, error: aws_sdk_sfn::error::SdkError<E>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = error.code().map(str::to_string);
    let message = match error.message() {
        Some(m) => format!("{operation}: {m}"),
        None => format!("{operation}: {}", DisplayErrorContext(&error)),
    };
    ApiError { code, message }
}

fn millis(t: &aws_sdk_sfn::primitives::DateTime) -> i64 {
    t.to_millis().unwrap_or_default()
}

fn event_from_sdk(e: &HistoryEvent) -> Event {
    let mut out = Event {
        id: e.id(),
        kind: e.r#type().as_str().to_string(),
        timestamp_ms: millis(e.timestamp()),
        ..Event::default()
    };
    let own = |s: Option<&str>| s.map(str::to_string);
    if let Some(d) = e.state_entered_event_details() {
        out.state_name = Some(d.name().to_string());
        out.data = own(d.input());
    } else if let Some(d) = e.state_exited_event_details() {
        out.state_name = Some(d.name().to_string());
        out.data = own(d.output());
    } else if let Some(d) = e.execution_started_event_details() {
        out.data = own(d.input());
    } else if let Some(d) = e.execution_succeeded_event_details() {
        out.data = own(d.output());
    } else if let Some(d) = e.execution_failed_event_details() {
        out.error = own(d.error());
        out.cause = own(d.cause());
    } else if let Some(d) = e.execution_aborted_event_details() {
        out.error = own(d.error());
        out.cause = own(d.cause());
    } else if let Some(d) = e.execution_timed_out_event_details() {
        out.error = own(d.error());
        out.cause = own(d.cause());
    } else if let Some(d) = e.lambda_function_failed_event_details() {
        out.error = own(d.error());
        out.cause = own(d.cause());
    }
    out
}

impl ExecutionApi for SfnApi {
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<String, ApiError> {
        let out = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
            .map_err(|e| sdk_error("StartExecution", e))?;
        Ok(out.execution_arn().to_string())
    }

    async fn history(
        &self,
        execution_arn: &str,
        query: HistoryQuery,
    ) -> Result<HistoryPage, ApiError> {
        let max_results = query.max_results.clamp(1, MAX_PAGE) as i32;
        let out = self
            .client
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(max_results)
            .reverse_order(query.reverse)
            .include_execution_data(true)
            .set_next_token(query.next_token)
            .send()
            .await
            .map_err(|e| sdk_error("GetExecutionHistory", e))?;
        Ok(HistoryPage {
            events: out.events().iter().map(event_from_sdk).collect(),
            next_token: out.next_token().map(str::to_string),
        })
    }

    async fn describe(&self, execution_arn: &str) -> Result<ExecutionInfo, ApiError> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeExecution", e))?;
        Ok(ExecutionInfo {
            execution_arn: out.execution_arn().to_string(),
            name: out.name().unwrap_or_default().to_string(),
            state_machine_arn: out.state_machine_arn().to_string(),
            status: out.status().as_str().to_string(),
            error: out.error().map(str::to_string),
            cause: out.cause().map(str::to_string),
            start_ms: Some(millis(out.start_date())),
            stop_ms: out.stop_date().map(millis),
            input: out.input().map(str::to_string),
        })
    }

    async fn stop(&self, execution_arn: &str, cause: &str) -> Result<(), ApiError> {
        self.client
            .stop_execution()
            .execution_arn(execution_arn)
            .cause(cause)
            .send()
            .await
            .map_err(|e| sdk_error("StopExecution", e))?;
        Ok(())
    }
}
