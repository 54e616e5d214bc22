//! The custom-resource provider's ports over AWS: Lambda CreateAlias/DeleteAlias, Step Functions
//! StartExecution, the answer ledger in the registry table, and the answer's PUT to its pre-signed URL.

use aws_sdk_dynamodb::types::AttributeValue;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::errors::{dynamodb_error, lambda_error, service_error};
use super::lambda::routing_from;
use super::{AwsPorts, OPERATION_TIMEOUT};
use crate::custom_resource::ports::{
    AliasLifecycle, ReplyLedger, ReplySender, RolloutStarter, Started,
};
use crate::domain::{AliasState, FunctionInfo, Routing, VersionInfo};
use crate::error::{Error, Result};
use crate::ports::{AliasRouter, FunctionRegistry};
use crate::text::{cap, MAX_OUTSIDE_TEXT};

/// How long an answer stays in the ledger (DynamoDB TTL): far longer than CloudFormation waits for one.
pub const REPLY_DAYS: u64 = 7;

impl AliasLifecycle for AwsPorts {
    async fn create_alias(&self, function: &str, alias: &str, version: &str) -> Result<AliasState> {
        let out = self
            .lambda
            .create_alias()
            .function_name(function)
            .name(alias)
            .function_version(version)
            .description("managed by shifter (Custom::ShifterAlias)")
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_lambda::operation::create_alias::CreateAliasError;
                // ResourceConflictException: the alias exists, made by someone since our GetAlias. Not
                // retried: the next delivery of the request reads it again.
                if matches!(
                    e.as_service_error(),
                    Some(CreateAliasError::ResourceConflictException(_))
                ) {
                    Error::AliasBusy {
                        alias: format!("{function}:{alias}"),
                        message:
                            "it was created by someone else meanwhile (ResourceConflictException)"
                                .into(),
                    }
                } else {
                    lambda_error("CreateAlias", alias, e)
                }
            })?;
        Ok(AliasState {
            routing: routing_from(
                out.function_version().unwrap_or(version),
                out.routing_config(),
            ),
            revision_id: out.revision_id().unwrap_or_default().to_string(),
        })
    }

    async fn delete_alias(&self, function: &str, alias: &str) -> Result<bool> {
        // DeleteAlias answers 204 whether or not the alias existed: ask first, to say which.
        match AliasRouter::read_alias(self, function, alias).await {
            Err(Error::ResourceNotFound { .. }) => return Ok(false),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        self.lambda
            .delete_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await
            .map_err(|e| lambda_error("DeleteAlias", alias, e))?;
        Ok(true)
    }
}

impl ReplyLedger for AwsPorts {
    async fn claim_reply(&self, request_id: &str, body: &str) -> Result<String> {
        let Some(table) = &self.table else {
            return Ok(body.to_string());
        };
        let pk = AttributeValue::S(format!("CFN#{request_id}"));
        let sk = AttributeValue::S("ANSWER".into());
        let now_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let put = self
            .dynamodb
            .put_item()
            .table_name(table)
            .item("pk", pk.clone())
            .item("sk", sk.clone())
            .item("body", AttributeValue::S(body.to_string()))
            .item(
                "expiresAt",
                AttributeValue::N((now_s + REPLY_DAYS * 24 * 3600).to_string()),
            )
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(body.to_string()),
            Err(e) => {
                use aws_sdk_dynamodb::operation::put_item::PutItemError;
                if !matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) {
                    return Err(dynamodb_error("PutItem", e));
                }
                let out = self
                    .dynamodb
                    .get_item()
                    .table_name(table)
                    .key("pk", pk)
                    .key("sk", sk)
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| dynamodb_error("GetItem", e))?;
                match out.item.as_ref().and_then(|i| i.get("body")) {
                    Some(AttributeValue::S(recorded)) => Ok(recorded.clone()),
                    _ => Err(Error::Transient {
                        operation: "GetItem".into(),
                        message: format!(
                            "the recorded answer to {request_id} was not readable; retry"
                        ),
                    }),
                }
            }
        }
    }
}

impl ReplySender for AwsPorts {
    /// Three attempts, 1 s then 2 s apart: a lost answer leaves CloudFormation waiting for the whole
    /// ServiceTimeout, then failing the stack.
    async fn put_reply(&self, url: &str, body: &str) -> Result<()> {
        let mut attempt = 1;
        loop {
            match put_once(url, body).await {
                Err(e) if e.is_transient() && attempt < 3 => {
                    tracing::warn!(attempt, error = %e, "the answer's PUT failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// The pre-signed URL was signed with no Content-Type: sending one (even `application/json`) makes S3
/// answer 403 SignatureDoesNotMatch, so the header is sent empty.
async fn put_once(url: &str, body: &str) -> Result<()> {
    let failed = |message: String| Error::Transient {
        operation: "PUT ResponseURL".into(),
        message: cap(&message, MAX_OUTSIDE_TEXT),
    };
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| failed(format!("no TLS roots: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let request = http::Request::put(url)
        .header("content-type", "")
        .header("content-length", body.len())
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| failed(format!("not a URL: {e}")))?;
    let response = tokio::time::timeout(OPERATION_TIMEOUT, client.request(request))
        .await
        .map_err(|_| failed(format!("no answer within {OPERATION_TIMEOUT:?}")))?
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    Err(failed(format!("HTTP {status}: {text}")))
}

/// The provider's ports: the AWS adapters, and the state machine that runs its rollouts.
#[derive(Debug, Clone)]
pub struct ProviderAdapters {
    pub aws: AwsPorts,
    /// `SHIFTER_STATE_MACHINE_ARN`.
    pub state_machine_arn: String,
}

impl RolloutStarter for ProviderAdapters {
    async fn start_rollout(&self, name: &str, input: &Value) -> Result<Started> {
        let out = self
            .aws
            .sfn
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match out {
            Ok(out) => Ok(Started::New {
                execution_arn: out.execution_arn().to_string(),
            }),
            Err(e) => {
                use aws_sdk_sfn::operation::start_execution::StartExecutionError;
                // The name is the request's: an execution with it is this request's rollout (AWS answers so
                // for an ended one, or a running one with another input).
                if matches!(
                    e.as_service_error(),
                    Some(StartExecutionError::ExecutionAlreadyExists(_))
                ) {
                    Ok(Started::Existing)
                } else {
                    Err(service_error("StartExecution", e))
                }
            }
        }
    }
}

impl AliasRouter for ProviderAdapters {
    async fn read_alias(&self, function: &str, alias: &str) -> Result<AliasState> {
        self.aws.read_alias(function, alias).await
    }
    async fn write_alias(
        &self,
        function: &str,
        alias: &str,
        routing: &Routing,
        revision_id: &str,
    ) -> Result<AliasState> {
        self.aws
            .write_alias(function, alias, routing, revision_id)
            .await
    }
}

impl FunctionRegistry for ProviderAdapters {
    async fn describe_function(&self, function: &str) -> Result<FunctionInfo> {
        self.aws.describe_function(function).await
    }
    async fn version_info(&self, function: &str, version: &str) -> Result<Option<VersionInfo>> {
        self.aws.version_info(function, version).await
    }
    async fn publish_version(
        &self,
        function: &str,
        code_sha256: Option<&str>,
        description: &str,
    ) -> Result<String> {
        self.aws
            .publish_version(function, code_sha256, description)
            .await
    }
}

impl AliasLifecycle for ProviderAdapters {
    async fn create_alias(&self, function: &str, alias: &str, version: &str) -> Result<AliasState> {
        self.aws.create_alias(function, alias, version).await
    }
    async fn delete_alias(&self, function: &str, alias: &str) -> Result<bool> {
        self.aws.delete_alias(function, alias).await
    }
}

impl ReplyLedger for ProviderAdapters {
    async fn claim_reply(&self, request_id: &str, body: &str) -> Result<String> {
        self.aws.claim_reply(request_id, body).await
    }
}

impl ReplySender for ProviderAdapters {
    async fn put_reply(&self, url: &str, body: &str) -> Result<()> {
        self.aws.put_reply(url, body).await
    }
}
