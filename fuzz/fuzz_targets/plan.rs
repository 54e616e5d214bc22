//! The plan builder: `Strategy::from_json` on any JSON value, then `.plan()`. Rejections are
//! `InvalidRequest` under `strategy`; an accepted strategy's plan holds `Plan::check` (weights strictly
//! increasing to 100%, at most 100 steps and 30 days of bakes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shifter::plan::{Strategy, FULL_BPS, MAX_STEPS, MAX_TOTAL_SECONDS};

mod common;

fuzz_target!(|data: &[u8]| {
    let Some(value) = common::json(data) else {
        return;
    };
    // A request's `strategy`, or the value itself when the input is not a request-shaped object.
    let value = value.get("strategy").cloned().unwrap_or(value);
    let strategy = match Strategy::from_json(&value) {
        Ok(s) => s,
        Err(e) => return common::invalid_request(&e, "strategy"),
    };
    match strategy.plan() {
        Err(e) => common::invalid_request(&e, "strategy"),
        Ok(plan) => {
            plan.check()
                .expect("a built plan holds the plan invariants");
            assert!(plan.steps.len() <= MAX_STEPS);
            assert!(plan.total_seconds() <= MAX_TOTAL_SECONDS);
            assert_eq!(plan.steps.last().map(|s| s.weight_bps), Some(FULL_BPS));
        }
    }
});
