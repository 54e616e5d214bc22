//! The provider's adapters against mocked SDK clients, and the answer's PUT against a loopback HTTP server.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_lambda::operation::create_alias::{CreateAliasError, CreateAliasOutput};
use aws_sdk_lambda::types::error::ResourceConflictException;
use aws_sdk_sfn::operation::start_execution::{StartExecutionError, StartExecutionOutput};
use aws_sdk_sfn::types::error::{ExecutionAlreadyExists, StateMachineDoesNotExist};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::custom_resource::ProviderAdapters;
use super::test_support::lambda_ports;
use super::AwsPorts;
use crate::custom_resource::ports::{
    AliasLifecycle, ReplyLedger, ReplySender, RolloutStarter, Started,
};
use crate::domain::Routing;
use crate::Error;

fn dynamo_ports(rules: &[&Rule]) -> AwsPorts {
    let mut ports = lambda_ports(&[]);
    ports.dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, rules);
    ports.with_table(Some("shifter-rollouts".into()))
}

fn provider(rules: &[&Rule]) -> ProviderAdapters {
    let mut aws = lambda_ports(&[]);
    aws.sfn = mock_client!(aws_sdk_sfn, RuleMode::Sequential, rules);
    ProviderAdapters {
        aws,
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:shifter-rollout"
            .into(),
    }
}

#[tokio::test]
async fn the_first_answer_is_recorded_conditionally_and_a_later_one_gets_it_back() {
    let recorded = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| {
            r.condition_expression() == Some("attribute_not_exists(pk)")
                && r.item().and_then(|i| i.get("pk"))
                    == Some(&AttributeValue::S("CFN#req-1".into()))
                && r.item().and_then(|i| i.get("body"))
                    == Some(&AttributeValue::S("SUCCESS body".into()))
                && r.item().is_some_and(|i| i.contains_key("expiresAt"))
        })
        .then_output(|| PutItemOutput::builder().build());
    let taken = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    });
    let read = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| r.consistent_read() == Some(true))
        .then_output(|| {
            GetItemOutput::builder()
                .set_item(Some(HashMap::from([(
                    "body".to_string(),
                    AttributeValue::S("SUCCESS body".into()),
                )])))
                .build()
        });
    let ports = dynamo_ports(&[&recorded, &taken, &read]);
    assert_eq!(
        ports.claim_reply("req-1", "SUCCESS body").await.unwrap(),
        "SUCCESS body"
    );
    assert_eq!(
        ports.claim_reply("req-1", "FAILED body").await.unwrap(),
        "SUCCESS body"
    );
}

#[tokio::test]
async fn start_execution_says_new_or_existing_and_other_errors_are_errors() {
    let started = mock!(aws_sdk_sfn::Client::start_execution)
        .match_requests(|r| {
            r.name() == Some("cfn-req-1")
                && r.state_machine_arn()
                    .is_some_and(|a| a.ends_with(":shifter-rollout"))
                && r.input() == Some(r#"{"alias":"live"}"#)
        })
        .then_output(|| {
            StartExecutionOutput::builder()
                .execution_arn(
                    "arn:aws:states:us-east-1:123456789012:execution:shifter-rollout:cfn-req-1",
                )
                .start_date(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap()
        });
    let exists = mock!(aws_sdk_sfn::Client::start_execution).then_error(|| {
        StartExecutionError::ExecutionAlreadyExists(ExecutionAlreadyExists::builder().build())
    });
    let missing = mock!(aws_sdk_sfn::Client::start_execution).then_error(|| {
        StartExecutionError::StateMachineDoesNotExist(StateMachineDoesNotExist::builder().build())
    });
    let p = provider(&[&started, &exists, &missing]);
    let input = json!({"alias": "live"});
    assert!(matches!(
        p.start_rollout("cfn-req-1", &input).await.unwrap(),
        Started::New { .. }
    ));
    assert_eq!(
        p.start_rollout("cfn-req-1", &input).await.unwrap(),
        Started::Existing
    );
    assert!(matches!(
        p.start_rollout("cfn-req-1", &input).await.unwrap_err(),
        Error::AwsRejected { .. }
    ));
}

#[tokio::test]
async fn create_alias_on_an_alias_someone_just_made_is_alias_busy_not_retried() {
    let made = mock!(aws_sdk_lambda::Client::create_alias)
        .match_requests(|r| r.function_version() == Some("3") && r.name() == Some("live"))
        .then_output(|| {
            CreateAliasOutput::builder()
                .function_version("3")
                .revision_id("rev-1")
                .build()
        });
    let conflict = mock!(aws_sdk_lambda::Client::create_alias).then_error(|| {
        CreateAliasError::ResourceConflictException(
            ResourceConflictException::builder()
                .message("Alias already exists: arn:aws:lambda:us-east-1:123456789012:function:orders:live")
                .build(),
        )
    });
    let ports = lambda_ports(&[&made, &conflict]);
    let state = ports.create_alias("orders", "live", "3").await.unwrap();
    assert_eq!(state.routing, Routing::single("3"));
    assert_eq!(state.revision_id, "rev-1");
    assert!(matches!(
        ports.create_alias("orders", "live", "3").await.unwrap_err(),
        Error::AliasBusy { .. }
    ));
}

/// A one-connection-per-request HTTP server on loopback that answers with `statuses` in turn and keeps each
/// request's head and body.
async fn server(statuses: Vec<u16>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/answer?X-Amz-Signature=abc",
        listener.local_addr().unwrap()
    );
    let handle = tokio::spawn(async move {
        let mut seen = Vec::new();
        for status in statuses {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = socket.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(str::to_string)
                        })
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length {
                        seen.push(text);
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let reply =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            socket.write_all(reply.as_bytes()).await.unwrap();
        }
        seen
    });
    (url, handle)
}

#[tokio::test]
async fn the_answer_is_a_put_with_an_empty_content_type_retried_after_a_5xx() {
    let (url, requests) = server(vec![503, 200]).await;
    let ports = lambda_ports(&[]);
    ports
        .put_reply(&url, r#"{"Status":"SUCCESS"}"#)
        .await
        .unwrap();
    let seen = requests.await.unwrap();
    assert_eq!(seen.len(), 2, "one retry after the 503");
    for request in &seen {
        let (head, body) = request.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("PUT /answer?X-Amz-Signature=abc HTTP/1.1"),
            "{head}"
        );
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains("\r\ncontent-type: \r\n"), "{head}");
        assert!(lower.contains("\r\ncontent-length: 20\r\n"), "{head}");
        assert_eq!(body, r#"{"Status":"SUCCESS"}"#);
    }
}

#[tokio::test]
async fn an_answer_s3_refuses_is_a_transient_error_naming_the_status() {
    let (url, requests) = server(vec![403, 403, 403]).await;
    let e = lambda_ports(&[]).put_reply(&url, "{}").await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(e.to_string().contains("HTTP 403"), "{e}");
    assert_eq!(requests.await.unwrap().len(), 3);
}
