//! Fixtures for the functions' tests: a fake AWS account with a function to roll out, hooks, an alarm and a
//! topic, and the state right after Prepare.

use serde_json::{json, Value};

use shifter::fake::FakeAws;
use shifter::request::RolloutRequest;
use shifter::state::RolloutState;
use shifter::usecase;

pub use shifter::fake::sample::{ALARM, ALIAS, FUNCTION, POST_HOOK, PRE_HOOK, TOPIC};

/// `orders` with versions 1 and 2, alias `live` on version 1, hook functions, alarm `orders-errors` in OK,
/// and the topic.
pub fn world() -> FakeAws {
    FakeAws::sample()
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
    let rollout = usecase::prepare(aws, &shifter::time::SystemClock, &spec, "r-1")
        .await
        .expect("prepare succeeds");
    RolloutState::new(rollout)
}
