//! The state machine's state, as the handlers read it (`shifter_lambda::parse`, then `check_schema`): every
//! Task input type. Rejections are `InvalidState` naming the JSON path or the schema version. An accepted
//! `RolloutState` survives a round trip through JSON (Step Functions hands it from Task to Task), and its
//! failure reason is capped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shifter::state::{HookInput, NotifyInput, PrepareInput, RolloutState, WaitInput};
use shifter::text::MAX_OUTSIDE_TEXT;

mod common;

fn read<T: DeserializeOwned>(
    value: &Value,
    check: impl Fn(&T) -> shifter::Result<()>,
) -> Option<T> {
    match shifter_lambda::parse::<T>(value.clone()) {
        Err(e) => {
            common::parse_rejection(&e);
            None
        }
        Ok(t) => match check(&t) {
            Err(e) => {
                common::invalid_state(&e);
                None
            }
            Ok(()) => Some(t),
        },
    }
}

fn rollout_state(state: &RolloutState) {
    let _ = state.operator_command();
    if let Some(reason) = state.failure_reason() {
        // The reason's outside part is capped; the fixed words around it are short.
        assert!(
            reason.len() <= MAX_OUTSIDE_TEXT + 256,
            "reason of {} bytes",
            reason.len()
        );
    }
    let text = serde_json::to_string(state).expect("a parsed state serializes");
    let again: RolloutState = serde_json::from_str(&text).expect("a serialized state parses");
    assert_eq!(
        &again, state,
        "the state changed on a round trip through JSON"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some(value) = common::json(data) else {
        return;
    };
    read::<PrepareInput>(&value, PrepareInput::check_schema);
    if let Some(s) = read::<RolloutState>(&value, RolloutState::check_schema) {
        rollout_state(&s);
    }
    if let Some(h) = read::<HookInput>(&value, HookInput::check_schema) {
        rollout_state(&h.state);
    }
    if let Some(w) = read::<WaitInput>(&value, WaitInput::check_schema) {
        rollout_state(&w.state);
    }
    if let Some(n) = read::<NotifyInput>(&value, NotifyInput::check_schema) {
        rollout_state(&n.state);
    }
});
