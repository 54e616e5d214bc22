use tracing::{info, warn};

use crate::error::Result;
use crate::notification::Notification;
use crate::ports::Notifier;
use crate::rollout::Rollout;

/// Logs a lifecycle event and publishes it to the rollout's topic, if it names one. A notification that cannot
/// be published must never stop a rollout: the error is logged and returned for the caller to show, not to
/// act on.
pub async fn notify(
    notifier: &impl Notifier,
    rollout: &Rollout,
    notification: &Notification,
) -> Result<()> {
    let event = notification.event_type.as_str();
    info!(rollout_id = %rollout.rollout_id, event, weight_percent = notification.weight_percent, "lifecycle event");
    let Some(topic) = &rollout.notification_topic_arn else {
        return Ok(());
    };
    notifier
        .publish(topic, notification)
        .await
        .inspect_err(|error| {
            warn!(rollout_id = %rollout.rollout_id, event, %error, "notification not published");
        })
}
