//! A `Custom::ShifterAlias`'s `ResourceProperties`, read into a rollout request.
//!
//! CloudFormation quirks handled here:
//! - Every scalar property arrives as a **string**: `BakeSeconds: 300` in the template is `"300"` in the
//!   event, `RetainOnDelete: true` is `"true"`. Numbers inside `Strategy` and the booleans are read back.
//! - `ServiceToken` (and `ServiceTimeout`, a property of the resource itself) are sent along with the rest.
//!
//! Every rollout-request field is accepted in PascalCase (CloudFormation's style) or camelCase (the request's
//! own), and errors name the property as the template spells it: `Properties.Strategy.percent`.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::request::{RolloutRequest, RolloutSpec};

/// The longest a custom resource may take to answer (its `ServiceTimeout`, and the default when none is set).
pub const MAX_SERVICE_TIMEOUT_SECONDS: u64 = 3600;

/// The properties the provider understands, in the template's spelling. (`Alias` and `TargetVersion` are
/// accepted as the request's own names for `AliasName` and `Version`.)
pub const PROPERTY_NAMES: [&str; 12] = [
    "FunctionName",
    "AliasName",
    "Version",
    "Strategy",
    "Alarms",
    "Hooks",
    "InsufficientData",
    "NotificationTopicArn",
    "Analysis",
    "RetainOnDelete",
    "ServiceTimeout",
    "ServiceToken",
];

/// A `Custom::ShifterAlias`, read and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasProperties {
    /// The rollout request these properties make (its `targetVersion` is `Version`).
    pub request: RolloutRequest,
    pub spec: RolloutSpec,
    pub version: String,
    pub retain_on_delete: bool,
    /// How long CloudFormation waits for the answer: the resource's `ServiceTimeout`, or the 3,600 s limit.
    pub service_timeout_seconds: u64,
}

impl AliasProperties {
    /// Reads `ResourceProperties`. Errors are `InvalidRequest`, naming the property.
    pub fn from_value(properties: &Value) -> Result<AliasProperties> {
        let Some(map) = properties.as_object() else {
            return Err(Error::invalid(
                "Properties",
                "must be an object with FunctionName, AliasName and Version",
            ));
        };
        let mut request = Map::new();
        let mut retain_on_delete = false;
        let mut service_timeout_seconds = MAX_SERVICE_TIMEOUT_SECONDS;
        for (key, value) in map {
            let field = request_field(key).ok_or_else(|| unknown_property(key))?;
            match field {
                "serviceToken" => {}
                "retainOnDelete" => retain_on_delete = boolean(value, key)?,
                "serviceTimeout" => service_timeout_seconds = service_timeout(value, key)?,
                "codeSha256" => {
                    return Err(Error::invalid(
                        format!("Properties.{key}"),
                        "is not a property of Custom::ShifterAlias: it rolls out `Version`, the version \
                         CloudFormation published (for example `!Ref MyFunction.Version`)",
                    ))
                }
                _ => {
                    let value = match field {
                        "strategy" => from_cloudformation(value),
                        "hooks" => camel_keys(value),
                        "insufficientData" => lower_first_of_string(value),
                        "analysis" => analysis_from_cloudformation(value, ""),
                        _ => value.clone(),
                    };
                    if request.insert(field.to_string(), value).is_some() {
                        return Err(Error::invalid(
                            format!("Properties.{key}"),
                            "is given twice (once in PascalCase, once in camelCase): keep one",
                        ));
                    }
                }
            }
        }
        for (field, property) in [
            ("functionName", "FunctionName"),
            ("alias", "AliasName"),
            ("targetVersion", "Version"),
        ] {
            if !request.contains_key(field) {
                return Err(Error::invalid(
                    format!("Properties.{property}"),
                    match property {
                        "Version" => "is required: the version to serve, for example `!Ref MyFunction.Version` \
                                      (SAM's AutoPublishAlias publishes one on each code change)",
                        _ => "is required",
                    },
                ));
            }
        }
        version_from_arn(&mut request)?;
        if request.get("targetVersion").and_then(Value::as_str) == Some("$LATEST") {
            return Err(Error::invalid(
                "Properties.Version",
                "must be a published version, not $LATEST: for example `!Ref MyFunction.Version` \
                 (SAM's AutoPublishAlias publishes one on each code change)",
            ));
        }
        let request = RolloutRequest::from_value(Value::Object(request)).map_err(in_properties)?;
        let spec = request.validate().map_err(in_properties)?;
        let version = request.target_version.clone().unwrap_or_default();
        Ok(AliasProperties {
            request,
            spec,
            version,
            retain_on_delete,
            service_timeout_seconds,
        })
    }

    pub fn function_name(&self) -> &str {
        &self.request.function_name
    }

    pub fn alias(&self) -> &str {
        &self.request.alias
    }
}

/// `!Ref MyFunction.Version` (SAM, and AWS::Lambda::Version) is the version's ARN,
/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME:7`: the request takes the version, `7`, once the ARN is
/// checked to name the same function as `FunctionName`.
fn version_from_arn(request: &mut Map<String, Value>) -> Result<()> {
    let Some(arn) = request.get("targetVersion").and_then(Value::as_str) else {
        return Ok(());
    };
    if !arn.starts_with("arn:") {
        return Ok(());
    }
    let parts: Vec<&str> = arn.split(':').collect();
    let function = request
        .get("functionName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let function_name = function.rsplit(':').next().unwrap_or(function);
    let named = function.starts_with("arn:")
        && function.split(':').count() == 7
        && !arn.starts_with(&format!("{function}:"));
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name, version]
            if *name == function_name && !named && !version.is_empty() =>
        {
            let version = version.to_string();
            request.insert("targetVersion".into(), Value::String(version));
            Ok(())
        }
        ["arn", _, "lambda", _, _, "function", _, _] => Err(Error::invalid(
            "Properties.Version",
            format!(
                "{} is a version of another function than FunctionName {}",
                crate::text::cap(arn, 200),
                crate::text::cap(function, 200)
            ),
        )),
        _ => Err(Error::invalid(
            "Properties.Version",
            "must be a version number (`7`) or a version's ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME:7`)",
        )),
    }
}

/// The request field a property names, or `None` when it is unknown.
fn request_field(key: &str) -> Option<&'static str> {
    Some(match key {
        "ServiceToken" => "serviceToken",
        "ServiceTimeout" => "serviceTimeout",
        "RetainOnDelete" | "retainOnDelete" => "retainOnDelete",
        "FunctionName" | "functionName" => "functionName",
        "AliasName" | "aliasName" | "Alias" | "alias" => "alias",
        "Version" | "version" | "TargetVersion" | "targetVersion" => "targetVersion",
        "CodeSha256" | "codeSha256" => "codeSha256",
        "Strategy" | "strategy" => "strategy",
        "Hooks" | "hooks" => "hooks",
        "Alarms" | "alarms" => "alarms",
        "InsufficientData" | "insufficientData" => "insufficientData",
        "NotificationTopicArn" | "notificationTopicArn" => "notificationTopicArn",
        "Analysis" | "analysis" => "analysis",
        _ => return None,
    })
}

fn unknown_property(key: &str) -> Error {
    Error::invalid(
        format!("Properties.{}", crate::text::cap(key, 64)),
        format!(
            "is not a property of Custom::ShifterAlias; the properties are {}",
            PROPERTY_NAMES.join(", ")
        ),
    )
}

/// A request error, renamed to the property the template spells: `strategy.percent` is
/// `Properties.Strategy.percent`, `targetVersion` is `Properties.Version`.
fn in_properties(e: Error) -> Error {
    match e {
        Error::InvalidRequest { field, message } => {
            let (head, rest) = field.split_once('.').unwrap_or((field.as_str(), ""));
            let property = match head {
                "alias" => "AliasName".to_string(),
                "targetVersion" => "Version".to_string(),
                "request" => "Properties".to_string(),
                other => upper_first(other),
            };
            let path = if property == "Properties" {
                property
            } else if rest.is_empty() {
                format!("Properties.{property}")
            } else {
                format!("Properties.{property}.{rest}")
            };
            Error::invalid(path, message)
        }
        other => other,
    }
}

fn boolean(value: &Value, key: &str) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Error::invalid(
            format!("Properties.{key}"),
            "must be true or false",
        )),
    }
}

fn service_timeout(value: &Value, key: &str) -> Result<u64> {
    let seconds = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if (1..=MAX_SERVICE_TIMEOUT_SECONDS).contains(&s) => Ok(s),
        _ => Err(Error::invalid(
            format!("Properties.{key}"),
            format!("must be a whole number of seconds from 1 to {MAX_SERVICE_TIMEOUT_SECONDS}"),
        )),
    }
}

/// A strategy as CloudFormation sends it: keys camelCased, numeric strings read back as numbers. A preset
/// name (a string) is kept as it is.
fn from_cloudformation(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (lower_first(k), numbers_from_strings(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The analysis fields that are numbers: CloudFormation sends every scalar of a custom resource as a string.
const ANALYSIS_NUMBERS: [&str; 7] = [
    "maxIncreasePoints",
    "maxRatio",
    "max",
    "minInvocations",
    "confidence",
    "maxExtensionSeconds",
    "intervalSeconds",
];

/// `Analysis` as CloudFormation sends it: keys camelCased (except a custom metric's dimension names, which are
/// the team's own), numeric strings of number fields read back as numbers, every other string kept (a
/// dimension value of `7` stays `"7"`).
fn analysis_from_cloudformation(value: &Value, key: &str) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let k = if key == "dimensions" {
                        k.clone()
                    } else {
                        lower_first(k)
                    };
                    let v = if key == "dimensions" {
                        v.clone()
                    } else {
                        analysis_from_cloudformation(v, &k)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| analysis_from_cloudformation(v, key))
                .collect(),
        ),
        Value::String(_) if ANALYSIS_NUMBERS.contains(&key) => numbers_from_strings(value),
        other => other.clone(),
    }
}

fn numbers_from_strings(value: &Value) -> Value {
    match value {
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(|_| serde_json::from_str::<serde_json::Number>(s.trim()).ok())
            .map(Value::Number)
            .unwrap_or_else(|| value.clone()),
        Value::Array(items) => Value::Array(items.iter().map(numbers_from_strings).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (lower_first(k), numbers_from_strings(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn camel_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (lower_first(k), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn lower_first_of_string(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(lower_first(s)),
        other => other.clone(),
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
