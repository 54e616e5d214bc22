//! What every target asserts about a rejection.

#![allow(dead_code)]

use shifter::Error;

/// A refused request: `InvalidRequest`, naming a field (under `prefix`, when given), with a message.
pub fn invalid_request(error: &Error, prefix: &str) {
    match error {
        Error::InvalidRequest { field, message } => {
            assert!(!field.trim().is_empty(), "no field named: {error:?}");
            assert!(
                field.starts_with(prefix),
                "field {field:?} is not under {prefix:?}: {error:?}"
            );
            assert!(!message.trim().is_empty(), "no message: {error:?}");
        }
        other => panic!("expected InvalidRequest naming a field, got {other:?}"),
    }
}

/// A state-machine input the handlers cannot read: `InvalidState` whose message names the JSON path
/// (`shifter_lambda::parse`) or the schema version.
pub fn invalid_state(error: &Error) {
    match error {
        Error::InvalidState { message } => {
            assert!(!message.trim().is_empty(), "no message: {error:?}");
        }
        other => panic!("expected InvalidState, got {other:?}"),
    }
}

/// `shifter_lambda::parse`'s rejection: `InvalidState`, `input at <path>: …`.
pub fn parse_rejection(error: &Error) {
    invalid_state(error);
    let Error::InvalidState { message } = error else {
        unreachable!()
    };
    assert!(
        message.starts_with("input at "),
        "the message names no JSON path: {message:?}"
    );
}

/// The JSON Lambda hands a function: the runtime parses the payload into a `Value` first.
pub fn json(data: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice(data).ok()
}
