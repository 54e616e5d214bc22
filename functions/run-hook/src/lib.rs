//! RunHook: invokes the rollout's pre- or post-traffic hook (`usecase::run_hook`) and records its verdict in
//! `hook`; publishes HookSucceeded or HookFailed when a hook is configured. A hook that fails (or crashes, or
//! times out) is a verdict, not an error: the Choice after this step routes it to Rollback.
//!
//! Errors (`errorType`): `ResourceNotFound` (the hook function is gone), `Transient`, `AwsRejected`,
//! `InvalidState`.

use shifter::notification::{EventType, HookPhase, Notification};
use shifter::ports::{HookInvoker, Notifier};
use shifter::state::{HookInput, HookOutcome, RolloutState};
use shifter::usecase;

pub async fn handle<P>(ports: &P, input: HookInput) -> shifter::Result<RolloutState>
where
    P: HookInvoker + Notifier,
{
    input.check_schema()?;
    let HookInput {
        phase, mut state, ..
    } = input;
    let configured = match phase {
        HookPhase::PreTraffic => state.rollout.hooks.pre_traffic.is_some(),
        HookPhase::PostTraffic => state.rollout.hooks.post_traffic.is_some(),
    };
    let verdict = usecase::run_hook(ports, &state.rollout, phase).await?;
    if configured {
        let event = if verdict.succeeded {
            EventType::HookSucceeded
        } else {
            EventType::HookFailed
        };
        let mut n = Notification::new(event, &state.rollout).with_phase(phase);
        if let Some(reason) = verdict.reason.as_deref().filter(|_| !verdict.succeeded) {
            n = n.with_reason(reason);
        }
        shifter_lambda::publish(ports, &state.rollout, n).await;
    }
    state.hook = Some(HookOutcome::new(phase, verdict));
    Ok(state)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shifter::fake::{HookBehaviour, Op};
    use shifter_lambda::testing::{prepared, request, world, POST_HOOK, PRE_HOOK};

    use super::*;

    fn input(phase: HookPhase, state: RolloutState) -> HookInput {
        HookInput {
            schema_version: 1,
            phase,
            state,
        }
    }

    #[tokio::test]
    async fn no_hook_is_a_silent_success() {
        let aws = world();
        let state = prepared(&aws, request(json!("AllAtOnce"), json!({}))).await;
        let out = handle(&aws, input(HookPhase::PreTraffic, state))
            .await
            .unwrap();
        let hook = out.hook.unwrap();
        assert!(hook.succeeded && hook.phase == HookPhase::PreTraffic);
        assert_eq!(aws.calls(Op::Invoke), 0);
        assert!(aws.notifications().is_empty());
    }

    #[tokio::test]
    async fn a_failing_hook_is_data_and_announced() {
        let aws = world();
        aws.set_hook(POST_HOOK, HookBehaviour::Fail("smoke test failed".into()));
        let hooks = json!({"hooks": {"preTraffic": PRE_HOOK, "postTraffic": POST_HOOK}});
        let state = prepared(&aws, request(json!("AllAtOnce"), hooks)).await;

        let pre = handle(&aws, input(HookPhase::PreTraffic, state.clone()))
            .await
            .unwrap();
        assert!(pre.hook.as_ref().unwrap().succeeded);
        let post = handle(&aws, input(HookPhase::PostTraffic, state))
            .await
            .unwrap();
        let hook = post.hook.clone().unwrap();
        assert!(!hook.succeeded && hook.phase == HookPhase::PostTraffic);
        assert_eq!(
            post.failure_reason().unwrap(),
            "postTraffic hook failed: hook reported failure: smoke test failed"
        );
        let events: Vec<_> = aws
            .notifications()
            .into_iter()
            .map(|(_, n)| n.event_type)
            .collect();
        assert_eq!(events, [EventType::HookSucceeded, EventType::HookFailed]);
    }
}
