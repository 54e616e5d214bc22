//! The glue every shifter state-machine function shares, so each function's handler is only its use case:
//!
//! - [`serve`]: logging (`init_default_subscriber`: JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`), the AWS ports
//!   (built once per sandbox), input parsing, a `tracing` span carrying `rollout_id`, and the runtime loop.
//! - [`FnError`]: reports a [`shifter::Error`] with its stable name as the Lambda `errorType`, which is what
//!   the state machine's Retry and Catch blocks match on.
//! - [`publish`]: lifecycle notifications that never fail a step (as in the local driver).

use std::future::Future;
use std::time::Duration;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use shifter::aws::AwsPorts;
use shifter::notification::Notification;
use shifter::ports::Notifier;
use shifter::rollout::Rollout;
use shifter::state::{HookInput, NotifyInput, PrepareInput, RolloutState, WaitInput};
use shifter::Error;
use tracing::{info_span, warn, Instrument};

/// The runtime's error type, for the functions' `main`.
pub use lambda_runtime::Error as RuntimeError;

/// A handler error. Lambda reports it as `{"errorType": <stable name>, "errorMessage": <Display>}`; the stable
/// names are [`Error::NAMES`].
#[derive(Debug)]
pub struct FnError(pub Error);

impl From<Error> for FnError {
    fn from(error: Error) -> Self {
        FnError(error)
    }
}

impl From<FnError> for Diagnostic {
    fn from(error: FnError) -> Diagnostic {
        Diagnostic {
            error_type: error.0.error_type().to_string(),
            error_message: error.0.to_string(),
        }
    }
}

/// Inputs that name the rollout they belong to, for the tracing span.
pub trait Traced {
    fn rollout_id(&self) -> &str;
    /// The span every log line of the invocation carries. Events that concern several rollouts (an alarm)
    /// name what they are about instead; each rollout's own lines carry its `rollout_id`.
    fn span(&self, step: &'static str) -> tracing::Span {
        info_span!("step", step, rollout_id = %self.rollout_id())
    }
}

impl Traced for PrepareInput {
    fn rollout_id(&self) -> &str {
        &self.rollout_id
    }
}

impl Traced for RolloutState {
    fn rollout_id(&self) -> &str {
        &self.rollout.rollout_id
    }
}

impl Traced for HookInput {
    fn rollout_id(&self) -> &str {
        &self.state.rollout.rollout_id
    }
}

impl Traced for WaitInput {
    fn rollout_id(&self) -> &str {
        &self.state.rollout.rollout_id
    }
}

impl Traced for NotifyInput {
    fn rollout_id(&self) -> &str {
        &self.state.rollout.rollout_id
    }
}

/// Parses a function's input. The state machine builds every input, so a malformed one is `InvalidState`
/// (the message names the JSON path), never a deserializer type name.
pub fn parse<T: DeserializeOwned>(input: Value) -> shifter::Result<T> {
    serde_path_to_error::deserialize(input).map_err(|e| Error::InvalidState {
        message: format!("input at {}: {}", e.path(), e.inner()),
    })
}

/// Time kept back from Lambda's deadline: enough to report an error before the sandbox is killed.
pub const DEADLINE_RESERVE: Duration = Duration::from_secs(3);

/// The functions' timeout in `template.yaml` (Globals), for when the runtime sends no usable deadline.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What an invocation may spend: the time to Lambda's `deadline_ms` (the runtime's `Context::deadline`),
/// less [`DEADLINE_RESERVE`].
///
/// Lambda never starts an invocation past its deadline, so a deadline already passed is not Lambda's:
/// `cargo lambda watch` sends the constant 600000 (ten minutes after the epoch). Then the template's
/// default timeout stands in for it.
pub fn budget(deadline_ms: u64, now_ms: u64) -> Duration {
    let left = if deadline_ms > now_ms {
        Duration::from_millis(deadline_ms - now_ms)
    } else {
        DEFAULT_TIMEOUT
    };
    left.saturating_sub(DEADLINE_RESERVE)
}

/// Runs `work` for at most `budget`. Past it the step fails with `Transient`, which the state machine retries
/// (Lambda killing the function instead would surface as `Lambda.Unknown`, with no message). Stopping a step
/// mid-call is safe: every alias write is absolute and fenced on its RevisionId, so a retry converges.
pub async fn within_budget<O>(
    step: &str,
    budget: Duration,
    work: impl Future<Output = shifter::Result<O>>,
) -> shifter::Result<O> {
    match tokio::time::timeout(budget, work).await {
        Ok(result) => result,
        Err(_) => Err(Error::Transient {
            operation: step.to_string(),
            message: format!(
                "the step ran out of time after {} s ({} s before Lambda's timeout); a retry resumes it",
                budget.as_secs(),
                DEADLINE_RESERVE.as_secs()
            ),
        }),
    }
}

/// Runs one state-machine function: `step` names it in the logs, `handler` is called once per invocation
/// with the AWS ports (bounded by the invocation's deadline: see [`within_budget`]) and the parsed input.
pub async fn serve<I, O, F, Fut>(
    step: &'static str,
    handler: F,
) -> Result<(), lambda_runtime::Error>
where
    I: DeserializeOwned + Traced,
    O: Serialize,
    F: Fn(AwsPorts, I) -> Fut,
    Fut: Future<Output = shifter::Result<O>>,
{
    lambda_runtime::tracing::init_default_subscriber();
    let ports = AwsPorts::from_env().await;
    let handler = &handler;
    let ports = &ports;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input: I = parse(event.payload)?;
        let span = input.span(step);
        let budget = budget(event.context.deadline, shifter::time::unix_millis());
        // Boxed: the SDK futures nest deep enough to hit the compiler's layout depth limit in `main`.
        let work = Box::pin(handler(ports.with_budget(budget), input).instrument(span.clone()));
        let result = within_budget(step, budget, work).await;
        if let Err(error) = &result {
            span.in_scope(|| warn!(error_type = error.error_type(), %error, "step failed"));
        }
        result.map_err(FnError)
    }))
    .await
}

/// Publishes a lifecycle event to the rollout's topic, if it has one. A failed publish is logged and
/// ignored: a lost notification must not stop, or roll back, a rollout.
pub async fn publish(notifier: &impl Notifier, rollout: &Rollout, notification: Notification) {
    // Logged inside; a step never fails because its notification could not be published.
    let _ = shifter::usecase::notify(notifier, rollout, &notification).await;
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shifter::fake::{FakeAws, Op};
    use shifter::notification::EventType;

    use super::*;

    #[test]
    fn errors_surface_with_their_stable_names() {
        for error in [
            Error::invalid("alias", "bad"),
            Error::AliasBusy {
                alias: "live".into(),
                message: "m".into(),
            },
            Error::Transient {
                operation: "UpdateAlias".into(),
                message: "throttled".into(),
            },
        ] {
            let d: Diagnostic = FnError(error.clone()).into();
            assert_eq!(d.error_type, error.error_type());
            assert!(Error::NAMES.contains(&d.error_type.as_str()));
            assert_eq!(d.error_message, error.to_string());
        }
    }

    #[test]
    fn malformed_input_is_invalid_state_naming_the_path() {
        let e =
            parse::<PrepareInput>(json!({"schemaVersion": "one", "rolloutId": "r", "request": {}}))
                .unwrap_err();
        assert_eq!(e.error_type(), "InvalidState");
        assert!(e.to_string().contains("schemaVersion"), "{e}");
        let e = parse::<RolloutState>(json!({"schemaVersion": 1})).unwrap_err();
        assert!(e.to_string().contains("rollout"), "{e}");
    }

    #[test]
    fn the_budget_keeps_a_reserve_before_the_deadline() {
        assert_eq!(budget(40_000, 10_000), Duration::from_secs(27));
        assert_eq!(
            budget(11_000, 10_000),
            Duration::ZERO,
            "less left than the reserve"
        );
        // cargo lambda watch's constant deadline: the template's default timeout stands in.
        assert_eq!(
            budget(600_000, 1_764_500_000_000),
            DEFAULT_TIMEOUT - DEADLINE_RESERVE
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_that_outruns_its_budget_fails_as_transient() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        };
        let e = within_budget("advance", Duration::from_secs(27), slow)
            .await
            .unwrap_err();
        assert_eq!(e.error_type(), "Transient");
        assert!(e.to_string().contains("27 s"), "{e}");
        let quick = async { Ok(7) };
        assert_eq!(
            within_budget("advance", Duration::from_secs(1), quick).await,
            Ok(7)
        );
    }

    #[tokio::test]
    async fn publish_failures_are_swallowed() {
        let aws = FakeAws::new();
        let input: PrepareInput =
            parse(json!({"schemaVersion": 1, "rolloutId": "r", "request": {}})).unwrap();
        assert_eq!(input.rollout_id(), "r");
        let state: RolloutState = parse(json!({"schemaVersion": 1, "rollout": {
            "schemaVersion": 1, "rolloutId": "r-1", "functionName": "f", "functionArn": "arn", "alias": "live",
            "currentVersion": "1", "targetVersion": "2", "targetVersionArn": "arn:2", "strategy": "AllAtOnce",
            "plan": {"steps": [{"weightBps": 10000, "bakeSeconds": 0}]}, "stepsDone": 0, "weightBps": 0,
            "revisionId": "rev", "notificationTopicArn": "arn:aws:sns:us-east-1:123456789012:missing"}}))
        .unwrap();
        // The topic does not exist in the fake: the publish fails and is only logged.
        publish(
            &aws,
            &state.rollout,
            Notification::new(EventType::RolloutStarted, &state.rollout),
        )
        .await;
        assert_eq!(aws.calls(Op::Publish), 1);
        assert!(aws.notifications().is_empty());
    }
}

#[cfg(feature = "testing")]
pub mod testing;
