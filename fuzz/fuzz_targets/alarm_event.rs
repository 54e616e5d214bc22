//! The "CloudWatch Alarm State Change" event, as the alarm watcher reads it (`shifter_lambda::parse` into
//! `AlarmStateChange`, then `seen`). Rejections are `InvalidState` (path, or not an alarm state change);
//! an accepted event names its alarm and state as the event gave them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shifter_alarm_watcher::{seen, AlarmStateChange, DETAIL_TYPE};

mod common;

fuzz_target!(|data: &[u8]| {
    let Some(value) = common::json(data) else {
        return;
    };
    let event: AlarmStateChange = match shifter_lambda::parse(value) {
        Ok(e) => e,
        Err(e) => return common::parse_rejection(&e),
    };
    match seen(&event) {
        Err(e) => common::invalid_state(&e),
        Ok(seen) => {
            assert_eq!(event.0.source, "aws.cloudwatch");
            assert_eq!(event.0.detail_type, DETAIL_TYPE);
            assert_eq!(seen.name, event.0.detail.alarm_name);
        }
    }
});
