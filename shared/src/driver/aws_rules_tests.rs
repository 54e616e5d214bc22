//! The local driver under AWS behaviours found in review: an alarm that fires and clears during a bake, and
//! an operator's own change to the alias during a rollout.

use serde_json::json;

use super::*;
use crate::domain::{AlarmState, Routing};
use crate::fake::sample::{ALARM, ALIAS as A, FUNCTION as F, TOPIC};
use crate::fake::{FakeAws, FakeClock};
use crate::request::RolloutRequest;

fn spec(extra: serde_json::Value) -> RolloutSpec {
    let mut req = json!({"functionName": F, "alias": A, "targetVersion": "2", "strategy": "Canary10Percent5Minutes",
        "alarms": [ALARM]});
    req.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    RolloutRequest::from_value(req).unwrap().validate().unwrap()
}

#[tokio::test]
async fn an_alarm_that_fires_and_clears_mid_bake_rolls_back() {
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    aws.use_clock(&clock);
    // Checks: before the shift (1), then every 10 s of the 300 s bake. Between the 2nd and 3rd reads the alarm
    // goes to ALARM and back to OK: no read ever sees ALARM.
    aws.schedule_alarm(3, ALARM, AlarmState::Alarm);
    aws.schedule_alarm(3, ALARM, AlarmState::Ok);
    let outcome = LocalDriver::new(&aws, &clock)
        .run(&spec(json!({})), "r-flicker", &mut Silent)
        .await;
    match &outcome {
        Outcome::RolledBack { reason, .. } => {
            assert!(
                reason.contains("fired and cleared") && reason.contains(ALARM),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(aws.alias(F, A).routing, Routing::single("1"));
}

#[tokio::test]
async fn an_operators_promote_during_a_failed_hook_is_left_alone_exit_3() {
    // The pre-traffic hook failed (no write in flight) and meanwhile an operator promoted version 2 by hand:
    // the same two versions, but not a routing this rollout set.
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    let with_topic = spec(json!({"notificationTopicArn": TOPIC}));
    let r = crate::usecase::prepare(&aws, &clock, &with_topic, "r-op")
        .await
        .unwrap();
    aws.force_alias(F, A, Routing::single("2"));
    let stop = Stop {
        reason: "preTraffic hook failed: smoke test failed".into(),
        error: None,
        write_may_be_in_flight: false,
    };
    let outcome = LocalDriver::new(&aws, &clock)
        .roll_back(r, stop, &mut Silent)
        .await;
    assert_eq!(outcome.exit_code(), 3, "{outcome:?}");
    let Outcome::LeftAlone { found, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(found, &Routing::single("2"));
    assert_eq!(
        aws.alias(F, A).routing,
        Routing::single("2"),
        "the operator's promote stays"
    );
    let (_, last) = aws.notifications().pop().unwrap();
    assert_eq!(last.event_type, EventType::RolloutFailed, "nobody is paged");
    assert_eq!(last.error_type.as_deref(), Some("AliasChanged"));
}

#[tokio::test]
async fn with_a_registry_a_second_rollout_on_the_alias_is_busy_and_every_end_releases_the_lease() {
    use crate::registry::{Lease, RolloutStatus};
    let aws = FakeAws::sample();
    let clock = FakeClock::default();
    // Another local rollout holds the alias (its process still within its lease).
    aws.put_lease(Lease {
        function_name: F.into(),
        alias: A.into(),
        rollout_id: "r-other".into(),
        execution_arn: None,
        started_ms: 0,
        lease_until_ms: u64::MAX,
        ..Default::default()
    });
    let outcome = LocalDriver::new(&aws, &clock)
        .run(&spec(json!({})), "r-second", &mut Silent)
        .await;
    assert_eq!(outcome.exit_code(), 3, "{outcome:?}");
    assert_eq!(
        aws.calls(crate::fake::Op::WriteAlias),
        0,
        "refused before any write"
    );
    assert_eq!(aws.lease(F, A).unwrap().rollout_id, "r-other");

    // Promoted, rolled back: each end records the outcome and frees the alias.
    for (alarm, status) in [
        (AlarmState::Ok, RolloutStatus::Promoted),
        (AlarmState::Alarm, RolloutStatus::RolledBack),
    ] {
        let aws = FakeAws::sample();
        aws.schedule_alarm(2, ALARM, alarm);
        let id = format!("r-{}", status.as_str());
        LocalDriver::new(&aws, &clock)
            .run(&spec(json!({})), &id, &mut Silent)
            .await;
        assert!(aws.lease(F, A).is_none(), "{status:?}");
        let record = aws.record_of(&id).unwrap();
        assert_eq!(record.status, status);
        assert_eq!(record.started_by, "local");
    }
}
