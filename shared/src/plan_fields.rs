//! The fields of a strategy object, each read and checked with a message that says what is wrong with the
//! value given and what range is valid; and preset names (any case, with a suggestion for a typo).

use serde_json::Value;

use super::{Step, Strategy, FULL_BPS, MAX_TOTAL_SECONDS, PRESETS};
use crate::error::{Error, Result};
use crate::text::cap;

/// A share of traffic before the last step (canary, linear, exponential's start): in (0, 100), with at most
/// two decimals (whole basis points).
pub(super) fn partial_percent(v: Option<&Value>, field: &str) -> Result<u32> {
    percent_bps(v, field, false)
}

/// A JSON number of percent with at most two decimals: above 0 and below 100, or up to 100 inclusive
/// where 100 may be given (a custom step list's last step). Every message names the same range.
fn percent_bps(v: Option<&Value>, field: &str, full_ok: bool) -> Result<u32> {
    let range = if full_ok {
        "above 0 and at most 100"
    } else {
        "above 0 and below 100"
    };
    let p = match v {
        None => {
            return Err(Error::invalid(
                field,
                format!("required: a number of percent {range}, such as 10 or 0.5"),
            ))
        }
        Some(v) => v.as_f64().ok_or_else(|| {
            Error::invalid(
                field,
                format!(
                    "{} is not a number: use a number of percent {range}, such as 10 or 0.5",
                    echo(v)
                ),
            )
        })?,
    };
    let bps = p * 100.0;
    if p == 100.0 && !full_ok {
        return Err(Error::invalid(
            field,
            format!("100 is out of range: use a percent {range} (use AllAtOnce to shift everything at once)"),
        ));
    }
    if !(p > 0.0 && p <= 100.0) {
        return Err(Error::invalid(
            field,
            format!("{} is out of range: use a percent {range}", number(p)),
        ));
    }
    if (bps - bps.round()).abs() > 1e-6 || bps.round() < 1.0 {
        return Err(Error::invalid(
            field,
            format!(
                "{} has too many decimals: at most 2 (0.01% steps)",
                number(p)
            ),
        ));
    }
    Ok(bps.round() as u32)
}

/// A whole number of seconds from `min` to [`MAX_TOTAL_SECONDS`]. A value that is there but not such a
/// number (negative, fractional, too large, a string) is refused as what it is, not as missing.
pub(super) fn seconds(v: Option<&Value>, field: &str, min: u64) -> Result<u32> {
    let range = format!("a whole number of seconds from {min} to {MAX_TOTAL_SECONDS} (30 days)");
    let Some(v) = v else {
        return Err(Error::invalid(field, format!("required: {range}")));
    };
    let s = match (v.as_u64(), v.as_f64()) {
        (Some(s), _) => s,
        (None, Some(f)) if f.fract() != 0.0 && f.abs() < 1e15 => {
            return Err(Error::invalid(
                field,
                format!("{} is not a whole number: use {range}", echo(v)),
            ))
        }
        (None, Some(_)) => {
            return Err(Error::invalid(
                field,
                format!("{} is out of range: use {range}", echo(v)),
            ))
        }
        (None, None) => {
            return Err(Error::invalid(
                field,
                format!("{} is not a number: use {range}", echo(v)),
            ))
        }
    };
    if s < min || s > MAX_TOTAL_SECONDS {
        return Err(Error::invalid(
            field,
            format!("{s} is out of range: use {range}"),
        ));
    }
    Ok(s as u32)
}

pub(super) fn factor(v: Option<&Value>) -> Result<f64> {
    const RANGE: &str = "a number above 1 and at most 100, such as 2";
    let Some(v) = v else {
        return Err(Error::invalid(
            "strategy.factor",
            format!("required: {RANGE}"),
        ));
    };
    let f = v.as_f64().ok_or_else(|| {
        Error::invalid(
            "strategy.factor",
            format!("{} is not a number: use {RANGE}", echo(v)),
        )
    })?;
    if !(f > 1.0 && f <= 100.0) {
        return Err(Error::invalid(
            "strategy.factor",
            format!("{} is out of range: use {RANGE}", number(f)),
        ));
    }
    Ok(f)
}

/// The most of a rejected value a message quotes.
const MAX_ECHO: usize = 24;

/// A number as a message echoes it: shortest round-trip form, in exponent notation when long (1e308, not
/// 309 digits), and capped.
fn number(f: f64) -> String {
    let text = if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        match serde_json::Number::from_f64(f) {
            Some(n) => n.to_string().replace("e+", "e"),
            None => f.to_string(),
        }
    };
    cap(&text, MAX_ECHO)
}

/// A rejected JSON value as a message quotes it: numbers as [`number`] does, the rest as JSON, capped.
fn echo(v: &Value) -> String {
    match v {
        Value::Number(n) if n.as_u64().is_none() && n.as_i64().is_none() => n
            .as_f64()
            .map_or_else(|| cap(&n.to_string(), MAX_ECHO), number),
        other => cap(&other.to_string(), MAX_ECHO),
    }
}

/// The preset `name` names: SAM's or CodeDeploy's spelling (`CodeDeployDefault.Lambda…`), in any case.
pub fn preset_named(name: &str) -> Option<&'static (&'static str, Strategy)> {
    const PREFIX: &str = "CodeDeployDefault.Lambda";
    let bare = match name.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => &name[PREFIX.len()..],
        _ => name,
    };
    PRESETS.iter().find(|(n, _)| n.eq_ignore_ascii_case(bare))
}

/// The preset nearest to a misspelt name, when one is near enough to be a likely typo.
pub(super) fn closest_preset(name: &str) -> Option<&'static str> {
    let lower = name.trim().to_ascii_lowercase();
    let lower = lower
        .strip_prefix("codedeploydefault.lambda")
        .unwrap_or(&lower);
    if lower.is_empty() || lower.len() > 64 {
        return None;
    }
    PRESETS
        .iter()
        .map(|(n, _)| (edit_distance(lower, &n.to_ascii_lowercase()), *n))
        .filter(|(d, n)| *d <= 3.max(n.len() / 5))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != *cb)).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

pub(super) fn custom_steps(v: Option<&Value>) -> Result<Vec<Step>> {
    let list = v.and_then(Value::as_array).ok_or_else(|| {
        Error::invalid(
            "strategy.steps",
            "required: a list such as [{\"percent\":1,\"bakeSeconds\":60}]",
        )
    })?;
    if list.is_empty() {
        return Err(Error::invalid(
            "strategy.steps",
            "must list at least one step",
        ));
    }
    let mut steps = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let at = |f: &str| format!("strategy.steps[{i}].{f}");
        let obj = item.as_object().ok_or_else(|| {
            Error::invalid(
                format!("strategy.steps[{i}]"),
                "must be an object with percent and bakeSeconds",
            )
        })?;
        if let Some(extra) = obj.keys().find(|k| *k != "percent" && *k != "bakeSeconds") {
            return Err(Error::invalid(
                at(extra),
                "unknown field; allowed: percent, bakeSeconds",
            ));
        }
        let weight_bps = percent_bps(obj.get("percent"), &at("percent"), true)?;
        let is_last = i + 1 == list.len();
        let bake_seconds = match obj.get("bakeSeconds") {
            None if weight_bps == FULL_BPS && is_last => 0,
            other => seconds(other, &at("bakeSeconds"), 0)?,
        };
        if weight_bps == FULL_BPS && !(is_last && bake_seconds == 0) {
            return Err(Error::invalid(
                at("percent"),
                "100 may only be the last step, with no bake (the post-traffic hook runs after it)",
            ));
        }
        if let Some(prev) = steps.last().map(|s: &Step| s.weight_bps) {
            if weight_bps <= prev {
                return Err(Error::invalid(
                    at("percent"),
                    "percents must strictly increase from step to step",
                ));
            }
        }
        steps.push(Step {
            weight_bps,
            bake_seconds,
        });
    }
    Ok(steps)
}
