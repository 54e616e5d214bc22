//! SNS: lifecycle notifications.

use aws_sdk_sns::types::MessageAttributeValue;

use super::errors::sns_error;
use super::AwsPorts;
use crate::error::{Error, Result};
use crate::notification::Notification;
use crate::ports::Notifier;

impl Notifier for AwsPorts {
    /// Publish with Subject, the JSON message, and the String MessageAttributes `eventType`, `functionName` and
    /// `alias` that subscription filter policies match on. An empty value is left out: SNS rejects the whole
    /// Publish when an attribute value is empty.
    async fn publish(&self, topic_arn: &str, notification: &Notification) -> Result<()> {
        let mut request = self
            .sns
            .publish()
            .topic_arn(topic_arn)
            .subject(notification.subject())
            .message(notification.to_json());
        for (name, value) in notification.attributes() {
            if value.is_empty() {
                continue;
            }
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| Error::AwsRejected {
                    operation: "Publish".to_string(),
                    message: format!("message attribute {name}: {e}"),
                })?;
            request = request.message_attributes(name, attribute);
        }
        request.send().await.map_err(|e| sns_error("Publish", e))?;
        Ok(())
    }
}
