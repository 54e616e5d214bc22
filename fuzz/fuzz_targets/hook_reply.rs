//! The hook's reply (`interpret_hook_reply`): any payload, with or without a FunctionError. It never fails;
//! it passes only `{"status":"Succeeded"}` without a FunctionError, and a failure's reason is at most
//! MAX_OUTSIDE_TEXT bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shifter::domain::HookReply;
use shifter::text::MAX_OUTSIDE_TEXT;
use shifter::usecase::interpret_hook_reply;

fuzz_target!(|data: &[u8]| {
    // First byte: no FunctionError, `Unhandled`, or one taken from the next bytes (Lambda's header is text).
    let (function_error, payload) = match data.split_first() {
        None => (None, data),
        Some((0, rest)) | Some((1..=127, rest)) => (None, rest),
        Some((128..=191, rest)) => (Some("Unhandled".to_string()), rest),
        Some((_, rest)) => {
            let n = rest
                .first()
                .map_or(0, |n| usize::from(*n % 32))
                .min(rest.len());
            let (kind, rest) = rest.split_at(n);
            (Some(String::from_utf8_lossy(kind).into_owned()), rest)
        }
    };
    let reply = HookReply {
        function_error: function_error.clone(),
        payload: payload.to_vec(),
    };
    let verdict = interpret_hook_reply(&reply);
    if verdict.succeeded {
        assert!(function_error.is_none(), "a FunctionError passed");
        assert!(verdict.reason.is_none());
        let body: serde_json::Value =
            serde_json::from_slice(payload).expect("a passing reply is JSON");
        assert_eq!(body["status"], "Succeeded");
    } else {
        let reason = verdict.reason.expect("a failure says why");
        assert!(!reason.is_empty());
        assert!(
            reason.len() <= MAX_OUTSIDE_TEXT,
            "reason of {} bytes",
            reason.len()
        );
    }
});
