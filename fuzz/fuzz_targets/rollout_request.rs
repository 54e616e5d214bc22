//! The rollout request as text (`shifter deploy --request`, the execution input): `from_json_str`, then
//! `validate`. Every rejection is `InvalidRequest` naming a field; an accepted request has a plan that holds
//! the plan invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shifter::plan::FULL_BPS;
use shifter::request::RolloutRequest;

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let request = match RolloutRequest::from_json_str(text) {
        Ok(r) => r,
        Err(e) => return common::invalid_request(&e, ""),
    };
    match request.validate() {
        Err(e) => common::invalid_request(&e, ""),
        Ok(spec) => {
            spec.plan.check().expect("an accepted request's plan holds");
            assert_eq!(spec.plan.steps.last().map(|s| s.weight_bps), Some(FULL_BPS));
            assert!(!spec.function_name.is_empty() && !spec.alias.is_empty());
        }
    }
});
