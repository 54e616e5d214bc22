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

/// Where a `Custom::ShifterAlias` Update asks to be answered (for rollouts CloudFormation started).
pub fn stack_reply() -> shifter::custom_resource::StackReply {
    shifter::custom_resource::StackReply {
        response_url: "https://cfn-response.s3.amazonaws.com/signed?X-Amz-Signature=s".into(),
        stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/orders/guid".into(),
        request_id: "req-7".into(),
        logical_resource_id: "OrdersLive".into(),
        physical_resource_id: "arn:aws:lambda:us-east-1:123456789012:function:orders:live".into(),
    }
}

/// The answers CloudFormation received so far, as JSON.
pub fn answers(aws: &FakeAws) -> Vec<Value> {
    aws.reply_puts()
        .into_iter()
        .map(|(_, body)| serde_json::from_str(&body).expect("an answer is JSON"))
        .collect()
}
