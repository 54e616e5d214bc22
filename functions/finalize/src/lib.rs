//! Finalize: points the alias at the new version alone (`usecase::finalize`) and publishes TrafficShifted at
//! 100%. The post-traffic hook runs next.
//!
//! Errors (`errorType`): `AliasChanged`, `Transient`, `AwsRejected`, `InvalidState`.

use shifter::notification::{EventType, Notification};
use shifter::ports::{AliasRouter, Notifier};
use shifter::registry::RolloutJournal;
use shifter::state::RolloutState;
use shifter::usecase;

pub async fn handle<P>(ports: &P, state: RolloutState) -> shifter::Result<RolloutState>
where
    P: AliasRouter + Notifier + RolloutJournal,
{
    state.check_schema()?;
    let rollout = usecase::finalize(ports, &state.rollout).await?;
    usecase::lease::progress(ports, &rollout, shifter::time::unix_millis(), None).await;
    shifter_lambda::publish(
        ports,
        &rollout,
        Notification::new(EventType::TrafficShifted, &rollout),
    )
    .await;
    Ok(RolloutState {
        rollout,
        wait_seconds: 0,
        done: true,
        ..state
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shifter::domain::Routing;
    use shifter_lambda::testing::{prepared, request, world, ALIAS, FUNCTION};

    use super::*;

    #[tokio::test]
    async fn serves_the_new_version_alone() {
        let aws = world();
        let state = prepared(&aws, request(json!("AllAtOnce"), json!({}))).await;
        let out = handle(&aws, state).await.unwrap();
        assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("2"));
        assert_eq!(out.rollout.weight_bps, 10_000);
        assert!(out.rollout.is_complete() && out.done);
        let sent = aws.notifications();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].1.weight_percent, 100.0);
    }
}
