//! Flags and an optional request file to a rollout request (JSON), then to a validated spec.

use std::path::Path;

use serde_json::{Map, Value};
use shifter::request::{
    check_request_text, explain_json_error, refuse_duplicate_keys, RolloutRequest, RolloutSpec,
};
use shifter::Error;

use crate::args::RequestArgs;

/// Stand-ins used when only a strategy is at hand (`shifter plan --strategy`).
pub const PLACEHOLDER_FUNCTION: &str = "placeholder-function";
pub const PLACEHOLDER_ALIAS: &str = "placeholder-alias";

/// The request's fields (`RolloutRequest`'s, in camelCase).
const KNOWN_FIELDS: &[&str] = &[
    "functionName",
    "alias",
    "targetVersion",
    "codeSha256",
    "strategy",
    "hooks",
    "alarms",
    "insufficientData",
    "notificationTopicArn",
    "analysis",
];

/// The request as JSON: the `--request` file's object (if any), with every given flag written over it.
pub fn build_request(args: &RequestArgs) -> Result<Value, Error> {
    let mut request = match &args.request {
        Some(path) => read_request_file(path)?,
        None => Map::new(),
    };
    let mut set = |key: &str, value: &Option<String>| {
        if let Some(v) = value {
            request.insert(key.to_string(), Value::String(v.clone()));
        }
    };
    set("functionName", &args.function);
    set("alias", &args.alias);
    set("targetVersion", &args.version);
    set("codeSha256", &args.code_sha256);
    set("notificationTopicArn", &args.topic);
    if let Some(strategy) = &args.strategy {
        request.insert("strategy".into(), parse_strategy(strategy)?);
    }
    if !args.alarms.is_empty() {
        request.insert("alarms".into(), args.alarms.clone().into());
    }
    if let Some(analysis) = &args.analysis {
        request.insert(
            "analysis".into(),
            crate::commands::analyze::settings_value(analysis)?,
        );
    }
    if let Some(policy) = args.insufficient_data {
        request.insert("insufficientData".into(), policy.as_str().into());
    }
    for (key, hook) in [
        ("preTraffic", &args.pre_traffic_hook),
        ("postTraffic", &args.post_traffic_hook),
    ] {
        if let Some(hook) = hook {
            let hooks = request
                .entry("hooks")
                .or_insert_with(|| Value::Object(Map::new()));
            let Some(hooks) = hooks.as_object_mut() else {
                return Err(Error::invalid("hooks", "must be an object"));
            };
            hooks.insert(key.into(), hook.clone().into());
        }
    }
    // A misspelt field (`FunctionName`) is reported as unknown, naming the right spelling, not as a missing one.
    let misspelt = request.keys().any(|k| !KNOWN_FIELDS.contains(&k.as_str()));
    for (key, flag) in [
        ("functionName", "--function NAME"),
        ("alias", "--alias ALIAS"),
        ("strategy", "--strategy STRATEGY"),
    ] {
        if !request.contains_key(key) && !misspelt {
            return Err(Error::invalid(
                key,
                format!("required: give {flag}, or a --request file that sets it"),
            ));
        }
    }
    Ok(Value::Object(request))
}

/// Builds, parses and validates the request: every check that needs no AWS.
pub fn spec_from_args(args: &RequestArgs) -> Result<RolloutSpec, Error> {
    RolloutRequest::from_value(build_request(args)?)?.validate()
}

/// A strategy flag is a preset name, or a JSON object when it starts with `{`.
pub fn parse_strategy(text: &str) -> Result<Value, Error> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        refuse_duplicate_keys(trimmed, "strategy")?;
        serde_json::from_str(trimmed).map_err(|e| {
            Error::invalid(
                "strategy",
                format!("--strategy is not a valid JSON object: {e}"),
            )
        })
    } else {
        Ok(Value::String(trimmed.to_string()))
    }
}

fn read_request_file(path: &Path) -> Result<Map<String, Value>, Error> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid("request", format!("cannot read {shown}: {e}")))?;
    check_request_text(&text).map_err(|e| in_file(e, &shown.to_string()))?;
    // Checked on the text: once it is a `Value`, only the last of duplicate keys is left.
    refuse_duplicate_keys(&text, "")?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::invalid(
            "request",
            format!("{shown} must hold one JSON object"),
        )),
        Err(e) => {
            // The typed parse names the field the bad text sits in (`strategy` for a NaN in the strategy).
            let field = match RolloutRequest::from_json_str(&text) {
                Err(Error::InvalidRequest { field, .. }) => field,
                _ => "request".to_string(),
            };
            Err(Error::invalid(
                field,
                format!(
                    "{shown} is not valid JSON at line {}, column {}: {}",
                    e.line(),
                    e.column(),
                    explain_json_error(&text, &e)
                ),
            ))
        }
    }
}

/// The file's name in a refusal of its text as a whole (`request: canary.json is empty: ...`).
fn in_file(error: Error, shown: &str) -> Error {
    match error {
        Error::InvalidRequest { field, message } => Error::InvalidRequest {
            field,
            message: format!("{shown} {message}"),
        },
        other => other,
    }
}

/// `--rollout-id` must be usable as a Step Functions execution name, like generated ids are.
pub fn check_rollout_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= 80
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "rolloutId",
            format!("{id:?} is not a rollout id: use 1-80 letters, digits, '-' or '_'"),
        ))
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
