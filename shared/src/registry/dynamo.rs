//! The registry over DynamoDB (`AwsPorts::table`), and execution status over Step Functions. Items are mapped
//! with `serde_dynamo`; keys and the sparse `running` index are added here.
//!
//! With no table configured every lease is granted and nothing is recorded: the alias itself is the lock.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde::de::DeserializeOwned;

use super::control::{Answer, Delivery, LeaseKey, RolloutControl, Signal, TaskCallback, Waiting};
use super::keys::{alias_pk, rollout_sk, LEASE_SK};
use super::{
    Acquired, ExecutionStatus, Lease, LeaseStore, RolloutJournal, RolloutRecord, RolloutStatus,
    HISTORY_DAYS,
};
use crate::aws::errors::{dynamodb_error, service_error};
use crate::aws::AwsPorts;
use crate::error::{Error, Result};

type Item = HashMap<String, AttributeValue>;

/// The sparse index that lists running rollouts: only running records carry its key.
pub const RUNNING_INDEX: &str = "running";
/// The local index over an alias's records by start time (only records carry `historyAt`).
pub const HISTORY_INDEX: &str = "history";

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn mapping(what: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidState {
        message: format!("registry {what}: {e}"),
    }
}

fn to_item<T: serde::Serialize>(value: &T) -> Result<Item> {
    serde_dynamo::to_item(value).map_err(|e| mapping("item", e))
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    serde_dynamo::from_item(item).map_err(|e| mapping("item", e))
}

fn lease_item(lease: &Lease) -> Result<Item> {
    let mut item = to_item(lease)?;
    item.insert("pk".into(), s(alias_pk(&lease.function_name, &lease.alias)));
    item.insert("sk".into(), s(LEASE_SK));
    Ok(item)
}

fn record_item(record: &RolloutRecord) -> Result<Item> {
    let mut item = to_item(record)?;
    item.insert(
        "pk".into(),
        s(alias_pk(&record.function_name, &record.alias)),
    );
    item.insert("sk".into(), s(rollout_sk(&record.rollout_id)));
    item.insert(
        "historyAt".into(),
        AttributeValue::N(record.started_ms.to_string()),
    );
    if record.status == RolloutStatus::Running {
        item.insert("runningPk".into(), s("RUNNING"));
        item.insert(
            "runningSk".into(),
            s(format!("{:013}#{}", record.started_ms, record.rollout_id)),
        );
    } else {
        // DynamoDB's TTL takes epoch seconds.
        let ended = record.ended_ms.unwrap_or(record.updated_ms) / 1000;
        let expires = ended + HISTORY_DAYS * 24 * 3600;
        item.insert("expiresAt".into(), AttributeValue::N(expires.to_string()));
    }
    Ok(item)
}

impl AwsPorts {
    async fn lease_now(&self, table: &str, function: &str, alias: &str) -> Result<Option<Lease>> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(table)
            .key("pk", s(alias_pk(function, alias)))
            .key("sk", s(LEASE_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamodb_error("GetItem", e))?;
        out.item.map(from_item).transpose()
    }
}

impl LeaseStore for AwsPorts {
    async fn acquire(&self, lease: &Lease, take_over: Option<&str>) -> Result<Acquired> {
        let Some(table) = &self.table else {
            return Ok(Acquired::Taken);
        };
        let mut condition = "attribute_not_exists(pk) OR rolloutId = :me".to_string();
        let mut request = self
            .dynamodb
            .put_item()
            .table_name(table)
            .set_item(Some(lease_item(lease)?))
            .expression_attribute_values(":me", s(&lease.rollout_id))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(stale) = take_over {
            condition.push_str(" OR rolloutId = :stale");
            request = request.expression_attribute_values(":stale", s(stale));
        }
        match request.condition_expression(condition).send().await {
            Ok(_) => Ok(Acquired::Taken),
            Err(e) => {
                use aws_sdk_dynamodb::operation::put_item::PutItemError;
                let held = match e.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(c)) => Some(c.item.clone()),
                    _ => None,
                };
                match held {
                    Some(Some(item)) => Ok(Acquired::HeldBy(Box::new(from_item(item)?))),
                    // Some emulators leave the old item out of the answer: read it.
                    Some(None) => match self
                        .lease_now(table, &lease.function_name, &lease.alias)
                        .await?
                    {
                        Some(holder) => Ok(Acquired::HeldBy(Box::new(holder))),
                        None => Err(Error::Transient {
                            operation: "PutItem".into(),
                            message: "the alias's lease was released while being taken; retry"
                                .into(),
                        }),
                    },
                    None => Err(dynamodb_error("PutItem", e)),
                }
            }
        }
    }

    async fn release(&self, function: &str, alias: &str, rollout_id: &str) -> Result<()> {
        let Some(table) = &self.table else {
            return Ok(());
        };
        let result = self
            .dynamodb
            .delete_item()
            .table_name(table)
            .key("pk", s(alias_pk(function, alias)))
            .key("sk", s(LEASE_SK))
            .condition_expression("rolloutId = :me")
            .expression_attribute_values(":me", s(rollout_id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Gone already, or another rollout's: nothing of ours to give back.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(dynamodb_error("DeleteItem", e)),
        }
    }
}

impl RolloutJournal for AwsPorts {
    async fn record(&self, record: &RolloutRecord) -> Result<()> {
        let Some(table) = &self.table else {
            return Ok(());
        };
        self.dynamodb
            .put_item()
            .table_name(table)
            .set_item(Some(record_item(record)?))
            .send()
            .await
            .map_err(|e| dynamodb_error("PutItem", e))?;
        Ok(())
    }

    async fn running(&self) -> Result<Vec<RolloutRecord>> {
        let Some(table) = &self.table else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .dynamodb
                .query()
                .table_name(table)
                .index_name(RUNNING_INDEX)
                .key_condition_expression("runningPk = :r")
                .expression_attribute_values(":r", s("RUNNING"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| dynamodb_error("Query", e))?;
            for item in page.items.unwrap_or_default() {
                out.push(from_item(item)?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(out),
            }
        }
    }

    async fn history(
        &self,
        function: &str,
        alias: &str,
        limit: usize,
    ) -> Result<Vec<RolloutRecord>> {
        let Some(table) = &self.table else {
            return Ok(Vec::new());
        };
        let page = self
            .dynamodb
            .query()
            .table_name(table)
            .index_name(HISTORY_INDEX)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(alias_pk(function, alias)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000))
            .send()
            .await
            .map_err(|e| dynamodb_error("Query", e))?;
        page.items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect()
    }
}

impl ExecutionStatus for AwsPorts {
    async fn is_running(&self, execution_arn: &str) -> Result<bool> {
        match self
            .sfn
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.status().as_str() == "RUNNING"),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_execution_does_not_exist()) =>
            {
                Ok(false)
            }
            Err(e) => Err(service_error("DescribeExecution", e)),
        }
    }
}

impl AwsPorts {
    /// One conditional update of the rollout's lease: `set` (an UpdateExpression's SET clause over the
    /// `values`), only while `key.rollout_id` holds it. Answers the lease as it now stands, or `None` when the
    /// rollout no longer holds it.
    async fn update_lease(
        &self,
        key: &LeaseKey,
        set: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Option<Lease>> {
        let Some(table) = &self.table else {
            return Ok(None);
        };
        let mut request = self
            .dynamodb
            .update_item()
            .table_name(table)
            .key("pk", s(alias_pk(&key.function, &key.alias)))
            .key("sk", s(LEASE_SK))
            .update_expression(set)
            .condition_expression("rolloutId = :me")
            .expression_attribute_values(":me", s(&key.rollout_id))
            .return_values(ReturnValue::AllNew);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(out) => out.attributes.map(from_item).transpose(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(dynamodb_error("UpdateItem", e)),
        }
    }
}

fn attribute<T: serde::Serialize>(value: &T) -> Result<AttributeValue> {
    serde_dynamo::to_attribute_value(value).map_err(|e| mapping("attribute", e))
}

impl RolloutControl for AwsPorts {
    async fn wait_for(&self, key: &LeaseKey, waiting: &Waiting) -> Result<Option<Lease>> {
        self.update_lease(key, "SET waiting = :w", vec![(":w", attribute(waiting)?)])
            .await
    }

    async fn post(&self, key: &LeaseKey, signal: &Signal) -> Result<Option<Lease>> {
        match signal {
            Signal::Command(command, at) => {
                self.update_lease(
                    key,
                    "SET command = :c, commandMs = :t",
                    vec![
                        (":c", attribute(command)?),
                        (":t", AttributeValue::N(at.to_string())),
                    ],
                )
                .await
            }
            Signal::Alarm(seen) => {
                self.update_lease(key, "SET alarm = :a", vec![(":a", attribute(seen)?)])
                    .await
            }
        }
    }

    async fn check_in(&self, key: &LeaseKey, at_ms: u64) -> Result<Option<Lease>> {
        self.update_lease(
            key,
            "SET checkedInMs = :t",
            vec![(":t", AttributeValue::N(at_ms.to_string()))],
        )
        .await
    }

    async fn lease_of(&self, function: &str, alias: &str) -> Result<Option<Lease>> {
        match &self.table {
            Some(table) => self.lease_now(table, function, alias).await,
            None => Ok(None),
        }
    }
}

/// Step Functions caps a failure's cause at 32,768 characters and its error name at 256.
const MAX_CAUSE: usize = 32_768;

impl TaskCallback for AwsPorts {
    async fn answer(&self, token: &str, answer: &Answer) -> Result<Delivery> {
        let (operation, result) = match answer {
            Answer::Succeed(output) => (
                "SendTaskSuccess",
                self.sfn
                    .send_task_success()
                    .task_token(token)
                    .output(output.to_string())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| finished_or(e, "SendTaskSuccess")),
            ),
            Answer::Fail { error, cause } => (
                "SendTaskFailure",
                self.sfn
                    .send_task_failure()
                    .task_token(token)
                    .error(*error)
                    .cause(crate::text::cap(cause, MAX_CAUSE))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| finished_or(e, "SendTaskFailure")),
            ),
        };
        match result {
            Ok(()) => Ok(Delivery::Delivered),
            Err(None) => Ok(Delivery::AlreadyFinished),
            Err(Some(error)) => {
                tracing::debug!(operation, %error, "task callback failed");
                Err(error)
            }
        }
    }
}

/// `None` when the token's task has already ended (answered, timed out, or its execution stopped): the
/// answer is moot, not an error. Otherwise the error.
fn finished_or<E>(e: aws_sdk_sfn::error::SdkError<E>, operation: &str) -> Option<Error>
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_sfn::error::ProvideErrorMetadata;
    match e.code() {
        Some("InvalidToken" | "TaskTimedOut" | "TaskDoesNotExist") => None,
        _ => Some(service_error(operation, e)),
    }
}
