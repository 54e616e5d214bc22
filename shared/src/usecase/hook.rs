use serde::{Deserialize, Serialize};
use tracing::info;

use crate::domain::HookReply;
use crate::error::{Error, Result};
use crate::notification::HookPhase;
use crate::ports::HookInvoker;
use crate::rollout::Rollout;
use crate::text::{cap, MAX_OUTSIDE_TEXT};

/// What a hook function receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookEvent {
    pub rollout_id: String,
    pub phase: HookPhase,
    pub function_name: String,
    pub alias: String,
    pub current_version: String,
    pub target_version: String,
    pub target_version_arn: String,
    pub weight_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookVerdict {
    pub succeeded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub fn hook_event(rollout: &Rollout, phase: HookPhase) -> HookEvent {
    HookEvent {
        rollout_id: rollout.rollout_id.clone(),
        phase,
        function_name: rollout.function_name.clone(),
        alias: rollout.alias.clone(),
        current_version: rollout.current_version.clone(),
        target_version: rollout.target_version.clone(),
        target_version_arn: rollout.target_version_arn.clone(),
        weight_percent: f64::from(rollout.weight_bps) / 100.0,
    }
}

/// Invokes the phase's hook synchronously. No hook configured for the phase is a success.
pub async fn run_hook(
    invoker: &impl HookInvoker,
    rollout: &Rollout,
    phase: HookPhase,
) -> Result<HookVerdict> {
    let hook = match phase {
        HookPhase::PreTraffic => &rollout.hooks.pre_traffic,
        HookPhase::PostTraffic => &rollout.hooks.post_traffic,
    };
    let Some(hook) = hook else {
        return Ok(HookVerdict {
            succeeded: true,
            reason: None,
        });
    };
    let payload =
        serde_json::to_vec(&hook_event(rollout, phase)).map_err(|e| Error::InvalidState {
            message: format!("hook event: {e}"),
        })?;
    let reply = invoker.invoke(hook, &payload).await?;
    let verdict = interpret_hook_reply(&reply);
    info!(rollout_id = %rollout.rollout_id, phase = phase.as_str(), hook, succeeded = verdict.succeeded, reason = verdict.reason.as_deref().unwrap_or(""), "hook ran");
    Ok(verdict)
}

/// `{"status":"Succeeded"}` passes. `{"status":"Failed","reason":…}`, a FunctionError (including a timeout)
/// and any other reply fail. The reason is at most [`MAX_OUTSIDE_TEXT`] bytes: a reply may be 6 MB, but the
/// reason goes into the Step Functions state (256 KB at most) and into SNS messages (256 KB at most).
pub fn interpret_hook_reply(reply: &HookReply) -> HookVerdict {
    let failed = |reason: String| HookVerdict {
        succeeded: false,
        reason: Some(cap(&reason, MAX_OUTSIDE_TEXT)),
    };
    let body: Option<serde_json::Value> = serde_json::from_slice(&reply.payload).ok();
    if let Some(kind) = &reply.function_error {
        let message = body
            .as_ref()
            .and_then(|b| b.get("errorMessage"))
            .and_then(|m| m.as_str())
            .unwrap_or("no error message");
        return failed(format!("hook function error ({kind}): {message}"));
    }
    match body
        .as_ref()
        .and_then(|b| b.get("status"))
        .and_then(|s| s.as_str())
    {
        Some("Succeeded") => HookVerdict {
            succeeded: true,
            reason: None,
        },
        Some("Failed") => {
            let reason = body
                .as_ref()
                .and_then(|b| b.get("reason"))
                .and_then(|r| r.as_str())
                .unwrap_or("no reason given");
            failed(format!("hook reported failure: {reason}"))
        }
        _ => {
            let shown = cap(&String::from_utf8_lossy(&reply.payload), 200);
            failed(format!("hook replied {shown:?}; expected {{\"status\":\"Succeeded\"}} or {{\"status\":\"Failed\",\"reason\":\"...\"}}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::MAX_OUTSIDE_TEXT;

    /// Lambda's limit for a synchronous response.
    const SIX_MB: usize = 6 * 1024 * 1024;

    fn reply(function_error: Option<&str>, body: &[u8]) -> HookReply {
        HookReply {
            function_error: function_error.map(String::from),
            payload: body.to_vec(),
        }
    }

    #[test]
    fn six_megabyte_replies_leave_a_reason_of_at_most_max_outside_text() {
        for unit in ["x", "é", "🦀"] {
            let long = unit.repeat(SIX_MB / unit.len());
            let failed = serde_json::json!({"status": "Failed", "reason": long}).to_string();
            let crashed = serde_json::json!({"errorType": "E", "errorMessage": long}).to_string();
            let cases = [
                (reply(None, failed.as_bytes()), "hook reported failure: "),
                (
                    reply(Some("Unhandled"), crashed.as_bytes()),
                    "hook function error (Unhandled): ",
                ),
                (reply(None, long.as_bytes()), "hook replied \""),
                (reply(Some(&long), b""), "hook function error ("),
            ];
            for (r, prefix) in cases {
                let v = interpret_hook_reply(&r);
                assert!(!v.succeeded);
                let reason = v.reason.unwrap();
                assert!(
                    reason.len() <= MAX_OUTSIDE_TEXT,
                    "{prefix}: {} bytes",
                    reason.len()
                );
                assert!(reason.starts_with(prefix), "{reason}");
                assert!(reason.contains(" bytes cut)"), "says it was cut: {reason}");
            }
        }
    }
}
