//! The "Rollout Requested" EventBridge event (or a bare request), as Prepare reads its execution input:
//! `unwrap_event`, `custom_resource::split_input`, `RolloutRequest::from_value`, `validate`. Every rejection
//! is `InvalidRequest` naming a field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shifter::custom_resource::split_input;
use shifter::request::RolloutRequest;
use shifter_prepare::unwrap_event;

mod common;

fuzz_target!(|data: &[u8]| {
    let Some(value) = common::json(data) else {
        return;
    };
    let was_event = value.get("detail-type").and_then(|v| v.as_str()) == Some("Rollout Requested")
        && value.get("source").and_then(|v| v.as_str()) == Some("shifter")
        && value.get("detail").is_some_and(|d| d.is_object());
    let (request, started_by) = unwrap_event(value);
    assert_eq!(started_by.is_some(), was_event);
    let (request, _reply) = match split_input(request) {
        Ok(split) => split,
        Err(e) => return common::invalid_request(&e, "cloudFormation"),
    };
    let request = match RolloutRequest::from_value(request) {
        Ok(r) => r,
        Err(e) => return common::invalid_request(&e, ""),
    };
    if let Err(e) = request.validate() {
        common::invalid_request(&e, "");
    }
});
