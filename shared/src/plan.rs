//! Strategies to plans. A plan is a list of steps; each step sets the new version's share of the alias (in
//! integer basis points, 10,000 = 100%) and then bakes for a number of seconds. The last step is always 100%
//! with no bake: after it the alias is finalized and the post-traffic hook runs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::text::cap;

#[path = "plan_fields.rs"]
mod fields;
pub use fields::preset_named;
use fields::{closest_preset, custom_steps, factor, partial_percent, seconds};

pub const FULL_BPS: u32 = 10_000;
/// Keeps a rollout far below Step Functions' 25,000-event history cap (about 3 transitions per step).
pub const MAX_STEPS: usize = 100;
/// 30 days: CodeDeploy allows 48 hours; Step Functions Standard allows a year. A month is ample.
pub const MAX_TOTAL_SECONDS: u64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub weight_bps: u32,
    pub bake_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn total_seconds(&self) -> u64 {
        self.steps.iter().map(|s| u64::from(s.bake_seconds)).sum()
    }

    /// Checks the invariants every plan must hold; strategies call it, and so do drivers given a plan in state.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| {
            Err(Error::InvalidState {
                message: format!("plan: {m}"),
            })
        };
        match self.steps.last() {
            None => return bad("no steps".into()),
            Some(last) if last.weight_bps != FULL_BPS || last.bake_seconds != 0 => {
                return bad("the last step must be 100% with no bake".into())
            }
            _ => {}
        }
        if self.steps.len() > MAX_STEPS || self.total_seconds() > MAX_TOTAL_SECONDS {
            return bad(format!(
                "at most {MAX_STEPS} steps and {MAX_TOTAL_SECONDS} s of bakes"
            ));
        }
        let mut previous = 0;
        for s in &self.steps {
            if s.weight_bps <= previous || s.weight_bps > FULL_BPS {
                return bad(format!(
                    "weights must strictly increase within (0, 100%], got {}",
                    s.weight_bps
                ));
            }
            previous = s.weight_bps;
        }
        Ok(())
    }
}

/// A strategy as the user named it, normalised.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    AllAtOnce,
    Canary {
        percent_bps: u32,
        bake_seconds: u32,
    },
    Linear {
        percent_bps: u32,
        interval_seconds: u32,
    },
    Steps(Vec<Step>),
    Exponential {
        start_bps: u32,
        factor: f64,
        interval_seconds: u32,
    },
}

/// SAM `DeploymentPreference.Type` names of CodeDeploy's Lambda presets, with what they mean.
pub const PRESETS: [(&str, Strategy); 9] = [
    (
        "Canary10Percent5Minutes",
        Strategy::Canary {
            percent_bps: 1000,
            bake_seconds: 300,
        },
    ),
    (
        "Canary10Percent10Minutes",
        Strategy::Canary {
            percent_bps: 1000,
            bake_seconds: 600,
        },
    ),
    (
        "Canary10Percent15Minutes",
        Strategy::Canary {
            percent_bps: 1000,
            bake_seconds: 900,
        },
    ),
    (
        "Canary10Percent30Minutes",
        Strategy::Canary {
            percent_bps: 1000,
            bake_seconds: 1800,
        },
    ),
    (
        "Linear10PercentEvery1Minute",
        Strategy::Linear {
            percent_bps: 1000,
            interval_seconds: 60,
        },
    ),
    (
        "Linear10PercentEvery2Minutes",
        Strategy::Linear {
            percent_bps: 1000,
            interval_seconds: 120,
        },
    ),
    (
        "Linear10PercentEvery3Minutes",
        Strategy::Linear {
            percent_bps: 1000,
            interval_seconds: 180,
        },
    ),
    (
        "Linear10PercentEvery10Minutes",
        Strategy::Linear {
            percent_bps: 1000,
            interval_seconds: 600,
        },
    ),
    ("AllAtOnce", Strategy::AllAtOnce),
];

impl Strategy {
    /// Parses the request's `strategy` value: a preset name (SAM or `CodeDeployDefault.Lambda…` spelling) or an
    /// object with a `type`. Errors name the field (under `strategy`) and say what would be valid.
    pub fn from_json(value: &Value) -> Result<Strategy> {
        match value {
            Value::String(name) => Self::preset(name),
            Value::Object(map) => {
                let kind = map.get("type").and_then(Value::as_str).ok_or_else(|| {
                    Error::invalid(
                        "strategy.type",
                        "missing: use \"canary\", \"linear\", \"steps\" or \"exponential\"",
                    )
                })?;
                let allowed: &[&str] = match kind {
                    "canary" => &["type", "percent", "bakeSeconds"],
                    "linear" => &["type", "percent", "intervalSeconds"],
                    "steps" => &["type", "steps"],
                    "exponential" => &["type", "startPercent", "factor", "intervalSeconds"],
                    "allAtOnce" => &["type"],
                    other => {
                        return Err(Error::invalid(
                            "strategy.type",
                            format!(
                                "unknown type {other:?}: use \"canary\", \"linear\", \"steps\", \"exponential\" or \"allAtOnce\""
                            ),
                        ))
                    }
                };
                if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
                    return Err(Error::invalid(
                        format!("strategy.{extra}"),
                        format!("unknown field for type {kind:?}; allowed: {}", allowed.join(", ")),
                    ));
                }
                let strategy = match kind {
                    "canary" => Strategy::Canary {
                        percent_bps: partial_percent(map.get("percent"), "strategy.percent")?,
                        bake_seconds: seconds(map.get("bakeSeconds"), "strategy.bakeSeconds", 1)?,
                    },
                    "linear" => Strategy::Linear {
                        percent_bps: partial_percent(map.get("percent"), "strategy.percent")?,
                        interval_seconds: seconds(map.get("intervalSeconds"), "strategy.intervalSeconds", 1)?,
                    },
                    "exponential" => Strategy::Exponential {
                        start_bps: partial_percent(map.get("startPercent"), "strategy.startPercent")?,
                        factor: factor(map.get("factor"))?,
                        interval_seconds: seconds(map.get("intervalSeconds"), "strategy.intervalSeconds", 1)?,
                    },
                    "steps" => Strategy::Steps(custom_steps(map.get("steps"))?),
                    _ => Strategy::AllAtOnce,
                };
                Ok(strategy)
            }
            _ => Err(Error::invalid(
                "strategy",
                "must be a preset name such as \"Canary10Percent5Minutes\" or an object with a \"type\"",
            )),
        }
    }

    fn preset(name: &str) -> Result<Strategy> {
        preset_named(name).map(|(_, s)| s.clone()).ok_or_else(|| {
            let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            let shown = cap(name, 64);
            let message = match closest_preset(name) {
                Some(near) => format!(
                    "unknown preset {shown:?}: did you mean {near}? presets: {}",
                    names.join(", ")
                ),
                None => format!("unknown preset {shown:?}; presets: {}", names.join(", ")),
            };
            Error::invalid("strategy", message)
        })
    }

    /// The steps this strategy takes, checked against the plan limits.
    pub fn plan(&self) -> Result<Plan> {
        let mut steps: Vec<Step> = match self {
            Strategy::AllAtOnce => vec![],
            Strategy::Canary {
                percent_bps,
                bake_seconds,
            } => {
                vec![Step {
                    weight_bps: *percent_bps,
                    bake_seconds: *bake_seconds,
                }]
            }
            Strategy::Linear {
                percent_bps,
                interval_seconds,
            } => (1..)
                .map(|i| percent_bps.saturating_mul(i))
                .take_while(|w| *w < FULL_BPS)
                .map(|w| Step {
                    weight_bps: w,
                    bake_seconds: *interval_seconds,
                })
                .collect(),
            Strategy::Exponential {
                start_bps,
                factor,
                interval_seconds,
            } => {
                let mut out = Vec::new();
                let mut w = f64::from(*start_bps);
                let mut last = 0u32;
                // At most FULL_BPS iterations (each step is at least 1 bps higher): the whole list is built,
                // so a refusal can say how many steps the strategy really makes.
                while w < f64::from(FULL_BPS) {
                    // Round up and force progress so tiny factors still strictly increase.
                    // Ignore float noise (100 * 1.1 is 110.00000000000001) before rounding up.
                    let bps = ((w - 1e-6).ceil() as u32).max(last + 1);
                    if bps >= FULL_BPS {
                        break;
                    }
                    out.push(Step {
                        weight_bps: bps,
                        bake_seconds: *interval_seconds,
                    });
                    last = bps;
                    w *= factor;
                }
                out
            }
            Strategy::Steps(custom) => custom.clone(),
        };
        if steps.last().map(|s| s.weight_bps) == Some(FULL_BPS) {
            steps.pop(); // a custom list may spell out its final 100% step
        }
        steps.push(Step {
            weight_bps: FULL_BPS,
            bake_seconds: 0,
        });
        if steps.len() > MAX_STEPS {
            let advice = match self {
                Strategy::Exponential { .. } => "use a larger startPercent or factor",
                Strategy::Steps(_) => "list fewer steps",
                _ => "use a larger percent",
            };
            return Err(Error::invalid(
                "strategy",
                format!(
                    "makes {} steps; at most {MAX_STEPS} are allowed: {advice}",
                    steps.len()
                ),
            ));
        }
        let plan = Plan { steps };
        if plan.total_seconds() > MAX_TOTAL_SECONDS {
            return Err(Error::invalid(
                "strategy",
                format!(
                    "bakes for {} s in total; at most {MAX_TOTAL_SECONDS} s (30 days) is allowed",
                    plan.total_seconds()
                ),
            ));
        }
        plan.check()?;
        Ok(plan)
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "plan_message_tests.rs"]
mod message_tests;
