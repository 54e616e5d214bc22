//! The DynamoDB registry against mocked SDK clients: the conditional writes, the item shapes, and the
//! answers when the condition fails.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client as Dynamo;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

use super::{Acquired, Lease, LeaseStore, RolloutJournal, RolloutRecord, RolloutStatus};
use crate::aws::AwsPorts;

fn ports(rules: &[&Rule]) -> AwsPorts {
    let mut ports = crate::aws::AwsPorts::from_clients(
        mock_client!(aws_sdk_lambda, RuleMode::Sequential, &[]),
        mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, &[]),
        mock_client!(aws_sdk_sns, RuleMode::Sequential, &[]),
        mock_client!(aws_sdk_sts, RuleMode::Sequential, &[]),
    );
    ports.dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, rules);
    ports.with_table(Some("shifter-rollouts".into()))
}

fn lease(id: &str) -> Lease {
    Lease {
        function_name: "orders".into(),
        alias: "live".into(),
        rollout_id: id.into(),
        execution_arn: Some(format!(
            "arn:aws:states:us-east-1:123456789012:execution:m:{id}"
        )),
        started_ms: 1_700_000_000_000,
        lease_until_ms: 1_700_000_900_000,
        ..Default::default()
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn record(status: RolloutStatus) -> RolloutRecord {
    RolloutRecord {
        rollout_id: "r-1".into(),
        function_name: "orders".into(),
        alias: "live".into(),
        current_version: "6".into(),
        target_version: "7".into(),
        strategy: "Canary10Percent5Minutes".into(),
        execution_arn: None,
        started_by: "local".into(),
        status,
        steps_done: 1,
        step_count: 2,
        weight_bps: 1000,
        started_ms: 1_700_000_000_000,
        updated_ms: 1_700_000_060_000,
        ended_ms: (status != RolloutStatus::Running).then_some(1_700_000_360_000),
        bake_ends_ms: None,
        reason: None,
        analysis: None,
        alarms: vec![],
        snapshot: None,
    }
}

#[tokio::test]
async fn the_lease_is_a_conditional_put_and_a_held_lease_names_its_holder() {
    let taken = mock!(Dynamo::put_item)
        .match_requests(|r| {
            r.table_name() == Some("shifter-rollouts")
                && r.condition_expression() == Some("attribute_not_exists(pk) OR rolloutId = :me")
                && r.item().is_some_and(|i| {
                    i.get("pk") == Some(&s("ALIAS#orders:live"))
                        && i.get("sk") == Some(&s("LEASE"))
                        && i.get("rolloutId") == Some(&s("r-1"))
                })
        })
        .then_output(|| PutItemOutput::builder().build());
    let held = mock!(Dynamo::put_item)
        .match_requests(|r| {
            r.condition_expression()
                .is_some_and(|c| c.ends_with("OR rolloutId = :stale"))
        })
        .then_error(|| {
            let mut old: HashMap<String, AttributeValue> =
                serde_dynamo::to_item(lease("r-0")).unwrap();
            old.insert("pk".into(), s("ALIAS#orders:live"));
            old.insert("sk".into(), s("LEASE"));
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .message("The conditional request failed")
                    .set_item(Some(old))
                    .build(),
            )
        });
    let ports = ports(&[&taken, &held]);
    assert_eq!(
        ports.acquire(&lease("r-1"), None).await.unwrap(),
        Acquired::Taken
    );
    assert_eq!(
        ports.acquire(&lease("r-2"), Some("r-9")).await.unwrap(),
        Acquired::HeldBy(Box::new(lease("r-0")))
    );
}

#[tokio::test]
async fn release_deletes_only_its_own_lease_and_a_missing_one_is_fine() {
    let mine = mock!(Dynamo::delete_item)
        .match_requests(|r| {
            r.condition_expression() == Some("rolloutId = :me")
                && r.expression_attribute_values().and_then(|v| v.get(":me")) == Some(&s("r-1"))
        })
        .then_output(|| DeleteItemOutput::builder().build());
    let not_mine = mock!(Dynamo::delete_item).then_error(|| {
        DeleteItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    });
    let ports = ports(&[&mine, &not_mine]);
    ports.release("orders", "live", "r-1").await.unwrap();
    ports.release("orders", "live", "r-1").await.unwrap();
}

#[tokio::test]
async fn running_records_carry_the_running_index_and_finished_ones_a_ttl() {
    let running = mock!(Dynamo::put_item)
        .match_requests(|r| {
            r.item().is_some_and(|i| {
                i.get("sk") == Some(&s("ROLLOUT#r-1"))
                    && i.get("runningPk") == Some(&s("RUNNING"))
                    && i.get("historyAt") == Some(&AttributeValue::N("1700000000000".into()))
                    && !i.contains_key("expiresAt")
            })
        })
        .then_output(|| PutItemOutput::builder().build());
    let finished = mock!(Dynamo::put_item)
        .match_requests(|r| {
            r.item().is_some_and(|i| {
                // Ended at 1_700_000_360 s; kept 90 days.
                i.get("expiresAt")
                    == Some(&AttributeValue::N(
                        (1_700_000_360 + 90 * 86_400).to_string(),
                    ))
                    && !i.contains_key("runningPk")
                    && i.get("status") == Some(&s("RolledBack"))
            })
        })
        .then_output(|| PutItemOutput::builder().build());
    let ports = ports(&[&running, &finished]);
    ports.record(&record(RolloutStatus::Running)).await.unwrap();
    ports
        .record(&record(RolloutStatus::RolledBack))
        .await
        .unwrap();
}

#[tokio::test]
async fn running_and_history_read_their_indexes() {
    let running = mock!(Dynamo::query)
        .match_requests(|r| r.index_name() == Some("running"))
        .then_output(|| {
            let item = serde_dynamo::to_item(record(RolloutStatus::Running)).unwrap();
            QueryOutput::builder().items(item).build()
        });
    let history = mock!(Dynamo::query)
        .match_requests(|r| {
            r.index_name() == Some("history")
                && r.scan_index_forward() == Some(false)
                && r.limit() == Some(5)
        })
        .then_output(|| QueryOutput::builder().build());
    let ports = ports(&[&running, &history]);
    assert_eq!(
        ports.running().await.unwrap(),
        vec![record(RolloutStatus::Running)]
    );
    assert!(ports.history("orders", "live", 5).await.unwrap().is_empty());
}

#[tokio::test]
async fn without_a_table_the_registry_is_off() {
    let mut ports = ports(&[]);
    ports.table = None;
    assert_eq!(
        ports.acquire(&lease("r-1"), None).await.unwrap(),
        Acquired::Taken
    );
    ports.record(&record(RolloutStatus::Running)).await.unwrap();
    assert!(ports.running().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_check_in_is_one_conditional_update_that_answers_the_lease() {
    use super::control::{LeaseKey, RolloutControl};
    use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
    let checked = mock!(Dynamo::update_item)
        .match_requests(|r| {
            let values = r.expression_attribute_values();
            r.update_expression() == Some("SET checkedInMs = :t")
                && r.condition_expression() == Some("rolloutId = :me")
                && r.key().and_then(|k| k.get("sk")) == Some(&s("LEASE"))
                && values.and_then(|v| v.get(":me")) == Some(&s("r-1"))
                && values.and_then(|v| v.get(":t")) == Some(&AttributeValue::N("42".into()))
        })
        .then_output(|| {
            let mut now = lease("r-1");
            now.execution_arn = None;
            now.check_interval_ms = Some(10_000);
            now.checked_in_ms = Some(42);
            UpdateItemOutput::builder()
                .set_attributes(Some(serde_dynamo::to_item(now).unwrap()))
                .build()
        });
    let not_held = mock!(Dynamo::update_item).then_error(|| {
        UpdateItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    });
    let ports = ports(&[&checked, &not_held]);
    let key = LeaseKey {
        function: "orders".into(),
        alias: "live".into(),
        rollout_id: "r-1".into(),
    };
    let lease = ports.check_in(&key, 42).await.unwrap().unwrap();
    assert_eq!(
        (lease.check_interval_ms, lease.checked_in_ms),
        (Some(10_000), Some(42))
    );
    assert_eq!(ports.check_in(&key, 43).await.unwrap(), None);
}
