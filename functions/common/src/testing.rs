//! Fixtures for the functions' tests: a fake AWS account with a function to roll out, hooks, an alarm and a
//! topic, and the state right after Prepare.

use serde_json::{json, Value};
use shifter::domain::{AlarmState, Routing};
use shifter::fake::FakeAws;
use shifter::request::RolloutRequest;
use shifter::state::RolloutState;
use shifter::usecase;

pub const FUNCTION: &str = "orders";
pub const ALIAS: &str = "live";
pub const PRE_HOOK: &str = "pre-hook";
pub const POST_HOOK: &str = "post-hook";
pub const ALARM: &str = "orders-errors";
pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:rollouts";

/// `orders` with versions 1 and 2, alias `live` on version 1, hook functions, alarm `orders-errors` in OK,
/// and the topic.
pub fn world() -> FakeAws {
    let aws = FakeAws::new();
    aws.add_function(FUNCTION);
    aws.publish(FUNCTION, "code-1");
    aws.publish(FUNCTION, "code-2");
    aws.add_alias(FUNCTION, ALIAS, Routing::single("1"));
    aws.add_function(PRE_HOOK).add_function(POST_HOOK);
    aws.set_alarm(ALARM, AlarmState::Ok);
    aws.add_topic(TOPIC);
    aws
}

/// A request rolling version 2 out to `live` with `strategy`, watching the alarm and naming the topic;
/// `extra` fields are merged in (a `null` removes a field).
pub fn request(strategy: Value, extra: Value) -> Value {
    let mut req = json!({"functionName": FUNCTION, "alias": ALIAS, "targetVersion": "2", "strategy": strategy,
        "alarms": [ALARM], "notificationTopicArn": TOPIC});
    let map = req.as_object_mut().expect("an object");
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            map.remove(&k);
        } else {
            map.insert(k, v);
        }
    }
    req
}

/// The state Prepare hands on for `request` (made by the use case directly, with no notification).
pub async fn prepared(aws: &FakeAws, request: Value) -> RolloutState {
    let spec = RolloutRequest::from_value(request)
        .and_then(|r| r.validate())
        .expect("a valid request");
    let rollout = usecase::prepare(aws, &spec, "r-1")
        .await
        .expect("prepare succeeds");
    RolloutState::new(rollout)
}
