//! Wait: the function a `lambda:invoke.waitForTaskToken` Task (Bake, Paused) invokes with its task token.
//! It registers the token on the rollout's lease, where the alarm watcher and operators' commands find it,
//! then acts at once on anything that happened before it listened (`usecase::listen::wait`): an alarm event
//! recorded on the lease, an alarm that fired since Advance's check, or a pending command.
//!
//! Its own output is ignored: the Task ends when the token is answered (`SendTaskSuccess` with an operator's
//! command, `SendTaskFailure` with `AlarmFired` or `Aborted`) or when the Task times out (the bake is over,
//! or the pause outlived its maximum).
//!
//! Errors (`errorType`): `Transient`, `AwsRejected`, `InvalidState`. The state machine retries them (a new
//! token each time); it never retries `States.Timeout` here, which is how a bake ends.

use serde::Serialize;
use shifter::ports::AlarmSource;
use shifter::registry::control::{RolloutControl, TaskCallback};
use shifter::state::WaitInput;
use shifter::usecase::listen::{self, WaitOutcome};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitOutput {
    pub outcome: WaitOutcome,
}

pub async fn handle<P>(ports: &P, input: WaitInput) -> shifter::Result<WaitOutput>
where
    P: RolloutControl + TaskCallback + AlarmSource,
{
    input.check_schema()?;
    let now = shifter::time::unix_millis();
    let outcome = listen::wait(ports, &input.state.rollout, input.kind, &input.token, now).await?;
    Ok(WaitOutput { outcome })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shifter::domain::AlarmState;
    use shifter::registry::control::{Answer, WaitKind, ALARM_FIRED};
    use shifter::state::STATE_SCHEMA_VERSION;
    use shifter::usecase::lease;
    use shifter_lambda::testing::{prepared, request, world, ALARM};

    use super::*;

    fn input(state: shifter::state::RolloutState, token: &str) -> WaitInput {
        shifter_lambda::parse(json!({
            "schemaVersion": STATE_SCHEMA_VERSION, "kind": "Bake", "token": token,
            "state": serde_json::to_value(state).unwrap()
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn registers_the_token_and_fails_it_when_an_alarm_already_fired() {
        let aws = world();
        let state = prepared(&aws, request(json!("Canary10Percent5Minutes"), json!({}))).await;
        lease::take(&aws, &shifter::time::SystemClock, &state.rollout)
            .await
            .unwrap();
        aws.open_token("t1").open_token("t2");
        let out = handle(&aws, input(state.clone(), "t1")).await.unwrap();
        assert!(matches!(out.outcome, WaitOutcome::Listening));
        let lease = aws
            .lease(&state.rollout.function_name, &state.rollout.alias)
            .unwrap();
        let waiting = lease.waiting.unwrap();
        assert_eq!(
            (waiting.kind, waiting.token.as_str()),
            (WaitKind::Bake, "t1")
        );
        aws.set_alarm(ALARM, AlarmState::Alarm);
        handle(&aws, input(state, "t2")).await.unwrap();
        assert!(matches!(
            aws.token_answer("t2"),
            Some(Answer::Fail {
                error: ALARM_FIRED,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn a_wrong_schema_is_invalid_state() {
        let aws = world();
        let state = prepared(&aws, request(json!("AllAtOnce"), json!({}))).await;
        let mut bad = input(state, "t");
        bad.schema_version = 9;
        assert_eq!(
            handle(&aws, bad).await.unwrap_err().error_type(),
            "InvalidState"
        );
    }
}
