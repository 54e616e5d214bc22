//! The rollout request (the public contract, camelCase JSON) and its validation. Validation here is pure:
//! it needs no AWS. `usecase::prepare` then checks that what the request names exists.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::analysis::settings::AnalysisSettings;
use crate::error::{Error, Result};
use crate::plan::{Plan, Strategy, FULL_BPS};
use crate::text::{cap, find_duplicate_key, MAX_OUTSIDE_TEXT};

pub const MAX_ALARMS: usize = 100;
/// The longest `functionName` (name or ARN) Lambda's GetAlias, UpdateAlias and PublishVersion accept.
pub const MAX_FUNCTION_REF: usize = 140;
/// The longest hook reference (name or ARN, with a qualifier) Lambda's Invoke accepts.
pub const MAX_HOOK_REF: usize = 170;
/// SNS topic names are 1-256 characters.
pub const MAX_TOPIC_NAME: usize = 256;
/// A topic name and room for any partition, region and account (today's longest prefix,
/// `arn:aws-iso-f:sns:us-isof-south-1:123456789012:`, is 47 characters).
pub const MAX_TOPIC_ARN: usize = MAX_TOPIC_NAME + 64;
/// Step Functions takes at most 256 KB (262,144 bytes of UTF-8) of input per execution and per state: a longer
/// request could never run on the state machine, so it is refused before anything is read from it.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RolloutRequest {
    pub function_name: String,
    pub alias: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_sha256: Option<String>,
    pub strategy: Value,
    #[serde(default)]
    pub hooks: Hooks,
    #[serde(default)]
    pub alarms: Vec<String>,
    #[serde(default)]
    pub insufficient_data: InsufficientData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_topic_arn: Option<String>,
    /// Canary analysis: `"default"` or an object of settings (`analysis::settings`). Kept as raw JSON so a
    /// bad setting fails naming `analysis.<field>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hooks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_traffic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_traffic: Option<String>,
}

/// How an alarm with too little data to judge counts. CloudWatch alarms sit in INSUFFICIENT_DATA on a new
/// version that has not been invoked yet, so the default treats it as healthy, like CodeDeploy does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InsufficientData {
    #[default]
    Healthy,
    Unhealthy,
}

/// What the request asks to roll out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Target {
    Version { version: String },
    PublishLatest { code_sha256: Option<String> },
}

/// A request that passed validation: the plan is built and every field is well-formed.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutSpec {
    pub function_name: String,
    pub alias: String,
    pub target: Target,
    pub strategy_name: String,
    pub plan: Plan,
    pub hooks: Hooks,
    pub alarms: Vec<String>,
    pub insufficient_data: InsufficientData,
    pub notification_topic_arn: Option<String>,
    pub analysis: Option<AnalysisSettings>,
}

impl RolloutRequest {
    /// Parses JSON text; errors name the field (`hooks.preTraffic`, `unknownField`) and what is valid. A key
    /// given twice is refused (see [`refuse_duplicate_keys`]).
    pub fn from_json_str(text: &str) -> Result<RolloutRequest> {
        check_request_text(text)?;
        refuse_duplicate_keys(text, "")?;
        let de = &mut serde_json::Deserializer::from_str(text);
        let request: RolloutRequest = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
            // The path already ends with an unknown field's own name. Where serde could not tell the field
            // (a syntax error between keys), the path holds "?" segments: name the nearest known parent. A
            // key that is blank (`{" ": 1}`, found by fuzzing) would name no visible field: its parent too
            // (the message quotes the key).
            let path = e.path().to_string();
            let known: Vec<&str> = path
                .split('.')
                .take_while(|seg| *seg != "?" && (seg.is_empty() || !seg.trim().is_empty()))
                .filter(|seg| !seg.is_empty())
                .collect();
            let field = if known.is_empty() {
                "request".to_string()
            } else {
                known.join(".")
            };
            let error = e.into_inner();
            // Past the recursion limit the path is a hundred `[0]`s: name where the nesting starts.
            let field = if error.to_string().starts_with("recursion limit exceeded") {
                field
                    .split(['[', '.'])
                    .next()
                    .unwrap_or("request")
                    .to_string()
            } else {
                field
            };
            capped(Error::invalid(field, explain_json_error(text, &error)))
        })?;
        de.end().map_err(|e| {
            Error::invalid(
                "request",
                format!(
                    "unexpected text after the request: {}",
                    strip_position(&e.to_string())
                ),
            )
        })?;
        Ok(request)
    }

    pub fn from_value(value: Value) -> Result<RolloutRequest> {
        Self::from_json_str(&value.to_string())
    }

    /// Every check that needs no AWS. Fails on the first problem, naming its field.
    pub fn validate(&self) -> Result<RolloutSpec> {
        self.check().map_err(capped)
    }

    fn check(&self) -> Result<RolloutSpec> {
        check_function_ref(&self.function_name, "functionName", false)?;
        check_alias(&self.alias)?;
        let target = match (&self.target_version, &self.code_sha256) {
            (Some(v), None) => {
                check_version(v)?;
                Target::Version { version: v.clone() }
            }
            (Some(_), Some(_)) => return Err(Error::invalid(
                "codeSha256",
                "only applies when publishing: drop it, or drop targetVersion to publish $LATEST",
            )),
            (None, sha) => {
                if let Some(sha) = sha {
                    check_sha256(sha)?;
                }
                Target::PublishLatest {
                    code_sha256: sha.clone(),
                }
            }
        };
        let strategy = Strategy::from_json(&self.strategy)?;
        let plan = strategy.plan()?;
        if let Some(h) = &self.hooks.pre_traffic {
            check_function_ref(h, "hooks.preTraffic", true)?;
        }
        if let Some(h) = &self.hooks.post_traffic {
            check_function_ref(h, "hooks.postTraffic", true)?;
        }
        check_alarms(&self.alarms)?;
        if let Some(arn) = &self.notification_topic_arn {
            check_topic_arn(arn)?;
        }
        let analysis = match &self.analysis {
            None | Some(Value::Null) => None,
            Some(value) => Some(AnalysisSettings::from_value(value)?),
        };
        if analysis.is_some() && !plan.steps.iter().any(|s| s.weight_bps < FULL_BPS) {
            return Err(Error::invalid(
                "analysis",
                "needs a step where both versions take traffic, and this strategy moves all of it at once: \
                 choose a canary or linear strategy, or drop analysis",
            ));
        }
        Ok(RolloutSpec {
            function_name: self.function_name.clone(),
            alias: self.alias.clone(),
            target,
            strategy_name: strategy_name(&self.strategy),
            plan,
            hooks: self.hooks.clone(),
            alarms: self.alarms.clone(),
            insufficient_data: self.insufficient_data,
            notification_topic_arn: self.notification_topic_arn.clone(),
            analysis,
        })
    }
}

/// Refuses JSON text that gives a key twice in one object, naming the key's path. serde_json, and so
/// `Value`, silently keeps the last of duplicate keys: a request giving `targetVersion` twice would roll out
/// whichever came last. Call it on any request text before it becomes a `Value`. `at` is where the text
/// sits in a request: `""` for a whole request, `"strategy"` for a strategy given on its own.
pub fn refuse_duplicate_keys(text: &str, at: &str) -> Result<()> {
    let Some(dup) = find_duplicate_key(text) else {
        return Ok(());
    };
    // A blank key (`{"": 1, "": 2}`, found by fuzzing) names no visible field: name its parent instead.
    let path = match dup.path.rfind('.') {
        Some(i) if dup.path[i + 1..].trim().is_empty() => dup.path[..i].to_string(),
        None if dup.path.trim().is_empty() => String::new(),
        _ => dup.path,
    };
    let field = if path.is_empty() {
        if at.is_empty() {
            "request".to_string()
        } else {
            at.to_string()
        }
    } else if at.is_empty() {
        path
    } else if path.starts_with('[') {
        format!("{at}{path}")
    } else {
        format!("{at}.{path}")
    };
    Err(capped(Error::invalid(
        field,
        format!("{:?} is given twice: keep one", dup.key),
    )))
}

/// Refuses request text before it is parsed: past Step Functions' 256 KB (with its size), a UTF-8 byte-order
/// mark, nothing at all, a list, or text that is not JSON (YAML, most often).
pub fn check_request_text(text: &str) -> Result<()> {
    if text.len() > MAX_REQUEST_BYTES {
        return Err(Error::invalid(
            "request",
            format!(
                "is {} bytes ({} KB); Step Functions takes at most {MAX_REQUEST_BYTES} bytes (256 KB) of input: \
                 shorten it (fewer or shorter alarm names, no padding)",
                text.len(),
                text.len().div_ceil(1024)
            ),
        ));
    }
    if text.starts_with('\u{feff}') {
        return Err(Error::invalid(
            "request",
            "starts with a UTF-8 byte-order mark (BOM): save it as UTF-8 without a BOM",
        ));
    }
    match text.trim_start().chars().next() {
        None => Err(Error::invalid(
            "request",
            "is empty: give one JSON object with functionName, alias and strategy",
        )),
        Some('[') => Err(Error::invalid(
            "request",
            "is a JSON list: give one JSON object, one request per file",
        )),
        Some('{' | '"' | '-' | '0'..='9') => Ok(()),
        // `true`, `false` or `null`: JSON, if not an object; the parser says so, naming what it expected.
        Some(_) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => Ok(()),
        Some(c) => Err(Error::invalid(
            "request",
            format!(
                "is not JSON: it starts with {c:?}, where a JSON object starts with '{{'; YAML is not read: \
                 convert it to JSON (e.g. `yq -o=json`)"
            ),
        )),
    }
}

/// What is wrong with JSON text serde_json refused, without its position (the text may have been rebuilt from a
/// `Value`), and what to do about it.
pub fn explain_json_error(text: &str, error: &serde_json::Error) -> String {
    let message = strip_position(&error.to_string());
    if message.starts_with("recursion limit exceeded") {
        return "nests arrays or objects more than 128 levels deep: a request is a few levels deep; check the \
                brackets"
            .into();
    }
    if error.is_syntax() {
        let at = text
            .lines()
            .nth(error.line().saturating_sub(1))
            .and_then(|line| line.get(error.column().saturating_sub(1)..))
            .unwrap_or("");
        let at = at.strip_prefix('-').unwrap_or(at);
        if at.starts_with("NaN") || at.starts_with("Infinity") {
            return format!(
                "{message}: NaN and Infinity are not JSON numbers: give a finite number"
            );
        }
        return format!(
            "{message}: JSON has no comments, trailing commas, single quotes or unquoted keys; check it with `jq .`"
        );
    }
    message
}

/// Messages quote what they reject, which may be as long as the request itself (Step Functions takes up to
/// 256 KB of input). Prepare's error lands in the state its Catch builds, next to the request: capped, so
/// that state still fits and the execution ends as RequestRejected naming the field.
fn capped(error: Error) -> Error {
    match error {
        Error::InvalidRequest { field, message } => Error::InvalidRequest {
            field: cap(&field, MAX_OUTSIDE_TEXT),
            message: cap(&message, MAX_OUTSIDE_TEXT),
        },
        other => other,
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn strategy_name(v: &Value) -> String {
    match v {
        // Validated by now: a preset's own spelling, however the request cased it.
        Value::String(s) => crate::plan::preset_named(s)
            .map(|(name, _)| (*name).to_string())
            .unwrap_or_else(|| s.clone()),
        other => other
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("custom")
            .to_string(),
    }
}

fn is_account(id: &str) -> bool {
    id.len() == 12 && id.chars().all(|c| c.is_ascii_digit())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// A function name (1-64 of `[A-Za-z0-9_-]`) or a function ARN. Hooks may carry a qualifier; the rolled-out
/// function may not, because the alias is the qualifier.
fn check_function_ref(value: &str, field: &str, qualifier_ok: bool) -> Result<()> {
    let max = if qualifier_ok {
        MAX_HOOK_REF
    } else {
        MAX_FUNCTION_REF
    };
    if value.len() > max {
        return Err(Error::invalid(
            field,
            format!("is longer than Lambda accepts: at most {max} characters"),
        ));
    }
    let parts: Vec<&str> = value.split(':').collect();
    let (name, qualifier) = match parts.as_slice() {
        [name] => (*name, None),
        [name, q] => (*name, Some(*q)),
        ["arn", partition, "lambda", region, account, "function", name, rest @ ..]
            if partition.starts_with("aws") && !region.is_empty() && is_account(account) && rest.len() <= 1 =>
        {
            (*name, rest.first().copied())
        }
        _ => {
            return Err(Error::invalid(
                field,
                format!("{value:?} is not a function name or ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)"),
            ))
        }
    };
    if name.is_empty() || name.len() > 64 || !name.chars().all(is_name_char) {
        return Err(Error::invalid(
            field,
            format!("{name:?} is not a valid function name: use 1-64 letters, digits, '-' or '_'"),
        ));
    }
    match qualifier {
        Some(_) if !qualifier_ok => Err(Error::invalid(
            field,
            "must not carry a version or alias qualifier: name the alias in \"alias\" instead",
        )),
        Some(q) if q != "$LATEST" && (q.is_empty() || q.len() > 128 || !q.chars().all(is_name_char)) => Err(Error::invalid(
            field,
            format!("{q:?} is not a version or alias qualifier: use a version number or an alias name"),
        )),
        _ => Ok(()),
    }
}

fn check_alias(alias: &str) -> Result<()> {
    if alias.is_empty() || alias.len() > 128 || !alias.chars().all(is_name_char) {
        return Err(Error::invalid(
            "alias",
            format!("{alias:?} is not an alias name: use 1-128 letters, digits, '-' or '_'"),
        ));
    }
    if alias.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid(
            "alias",
            format!("{alias:?} is a version number, not an alias name"),
        ));
    }
    Ok(())
}

fn check_version(v: &str) -> Result<()> {
    if v == "$LATEST" {
        return Err(Error::invalid(
            "targetVersion",
            "aliases cannot route to $LATEST: give a published version number, or omit targetVersion to publish $LATEST",
        ));
    }
    if v.is_empty() || v.len() > 10 || !v.chars().all(|c| c.is_ascii_digit()) || v.starts_with('0')
    {
        return Err(Error::invalid(
            "targetVersion",
            format!("{v:?} is not a published version number such as \"7\""),
        ));
    }
    Ok(())
}

fn check_sha256(sha: &str) -> Result<()> {
    let ok = sha.len() == 44
        && sha.ends_with('=')
        && sha[..43]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("codeSha256", "must be the base64 SHA-256 of the deployment package (44 characters), as GetFunction reports it"))
    }
}

fn check_alarms(alarms: &[String]) -> Result<()> {
    if alarms.len() > MAX_ALARMS {
        return Err(Error::invalid(
            "alarms",
            format!(
                "lists {} alarms; at most {MAX_ALARMS} (one DescribeAlarms call)",
                alarms.len()
            ),
        ));
    }
    for (i, a) in alarms.iter().enumerate() {
        if a.is_empty() || a.len() > 255 || a.chars().any(char::is_control) {
            return Err(Error::invalid(
                format!("alarms[{i}]"),
                "must be an alarm name of 1-255 printable characters",
            ));
        }
        if a.starts_with("arn:") {
            return Err(Error::invalid(
                format!("alarms[{i}]"),
                "is an ARN: give the alarm's name; alarms are read by name, in the region shifter runs in",
            ));
        }
        if alarms[..i].contains(a) {
            return Err(Error::invalid(
                format!("alarms[{i}]"),
                format!("{a:?} is listed twice"),
            ));
        }
    }
    Ok(())
}

fn check_topic_arn(arn: &str) -> Result<()> {
    let name_len = arn.rsplit(':').next().map_or(0, str::len);
    if arn.len() > MAX_TOPIC_ARN || name_len > MAX_TOPIC_NAME {
        return Err(Error::invalid(
            "notificationTopicArn",
            format!(
                "is longer than SNS accepts: a topic name is at most {MAX_TOPIC_NAME} characters, and the \
                 ARN at most {MAX_TOPIC_ARN}"
            ),
        ));
    }
    let parts: Vec<&str> = arn.split(':').collect();
    let ok = matches!(parts.as_slice(),
        ["arn", p, "sns", r, a, name] if p.starts_with("aws") && !r.is_empty() && is_account(a) && !name.is_empty());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "notificationTopicArn",
            format!("{arn:?} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"),
        ))
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "request_text_tests.rs"]
mod text_tests;
