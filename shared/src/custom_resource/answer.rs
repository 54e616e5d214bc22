//! Answering CloudFormation: one body per request, sent as often as it takes.
//!
//! Every place that answers (the provider at once, the state machine's last Task, Prepare on a rejected
//! request, the execution cleanup) computes its body, claims it in the ledger, and PUTs whatever body the
//! ledger holds. So the first answer wins and every retry or redelivery re-sends that same text: a PUT of the
//! same object is harmless, and a second, different answer (SUCCESS after FAILED) can never be sent.

use tracing::{info, warn};

use super::ports::{ReplyLedger, ReplySender};
use super::response::{Reply, ReplyData};
use super::StackReply;
use crate::error::Result;
use crate::rollout::Rollout;

/// What `answer` sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The body PUT to the ResponseURL.
    pub body: String,
    /// False when an earlier answer was recorded, and `body` is that one.
    pub first: bool,
}

/// Claims `reply` as the answer to `to`, then sends the recorded answer.
pub async fn answer<P: ReplyLedger + ReplySender>(
    ports: &P,
    to: &StackReply,
    reply: &Reply,
) -> Result<Answered> {
    let body = reply.body(to);
    let recorded = ports.claim_reply(&to.request_id, &body).await?;
    ports.put_reply(&to.response_url, &recorded).await?;
    let first = recorded == body;
    info!(
        request_id = %to.request_id,
        success = reply.success,
        first,
        "answered CloudFormation"
    );
    Ok(Answered {
        body: recorded,
        first,
    })
}

/// Answers CloudFormation for a rollout that a `Custom::ShifterAlias` started; nothing for any other. A
/// failure is logged and swallowed: answering must never fail, or roll back, the step that ends a rollout.
/// (The PUT is retried inside the adapter; the ledger keeps the answer for any later re-send.)
pub async fn for_rollout<P: ReplyLedger + ReplySender>(
    ports: &P,
    rollout: &Rollout,
    reply: impl FnOnce(&Rollout, &StackReply) -> Reply,
) -> Option<Answered> {
    let to = rollout.cloud_formation.as_ref()?;
    match answer(ports, to, &reply(rollout, to)).await {
        Ok(a) => Some(a),
        Err(e) => {
            warn!(
                rollout_id = %rollout.rollout_id,
                request_id = %to.request_id,
                error_type = e.error_type(),
                error = %e,
                "could not answer CloudFormation"
            );
            None
        }
    }
}

/// The answer for a rollout that promoted its target version.
pub fn promoted(rollout: &Rollout, to: &StackReply) -> Reply {
    Reply::success(
        &to.physical_resource_id,
        format!(
            "Promoted: {}:{} serves version {}",
            rollout.function_name, rollout.alias, rollout.target_version
        ),
        data(rollout, &rollout.target_version, to),
    )
}

/// The answer for a rollout that ended without promoting: `error` is the execution's error name (`RolledBack`,
/// `AliasChanged`, `RollbackFailed`, ...), `reason` what happened. CloudFormation then rolls the stack back.
pub fn not_promoted(rollout: &Rollout, to: &StackReply, error: &str, reason: &str) -> Reply {
    Reply::failed(
        &to.physical_resource_id,
        format!("{error}: {reason}"),
        data(rollout, &rollout.current_version, to),
    )
}

/// The answer for a rollout request the state machine refused before it took the alias.
pub fn rejected(to: &StackReply, error: &str, reason: &str) -> Reply {
    let stop = if reason.trim_end().ends_with('.') {
        ""
    } else {
        "."
    };
    Reply::failed(
        &to.physical_resource_id,
        format!("{error}: {}{stop} Nothing was changed.", reason.trim_end()),
        ReplyData {
            alias_arn: to.physical_resource_id.clone(),
            ..ReplyData::default()
        },
    )
}

fn data(rollout: &Rollout, version: &str, to: &StackReply) -> ReplyData {
    ReplyData {
        version: version.to_string(),
        alias_arn: to.physical_resource_id.clone(),
        rollout_id: rollout.rollout_id.clone(),
    }
}
