//! Lambda adapter tests for functions, versions and hook invocations, against mocked SDK clients.

use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::operation::get_function_configuration::{
    GetFunctionConfigurationError, GetFunctionConfigurationOutput,
};
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::operation::publish_version::PublishVersionOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::error::ResourceNotFoundException;
use aws_sdk_lambda::types::{
    DeadLetterConfig, FunctionConfiguration, InvocationType, LastUpdateStatus, State,
};
use aws_sdk_lambda::Client;
use aws_smithy_mocks::mock;

use super::test_support::{lambda_ports, meta};
use crate::domain::{FunctionInfo, HookReply, VersionInfo};
use crate::ports::{FunctionRegistry, HookInvoker};

#[tokio::test]
async fn describe_function_and_version_lookups() {
    let describe = mock!(Client::get_function)
        .match_requests(|r| {
            r.function_name() == Some("arn:aws:lambda:eu-west-1:123456789012:function:orders")
        })
        .then_output(|| {
            GetFunctionOutput::builder()
                .configuration(
                    FunctionConfiguration::builder()
                        .function_name("orders")
                        .function_arn("arn:aws:lambda:eu-west-1:123456789012:function:orders")
                        .build(),
                )
                .build()
        });
    let published = mock!(Client::get_function_configuration)
        .match_requests(|r| r.function_name() == Some("orders") && r.qualifier() == Some("7"))
        .then_output(|| {
            GetFunctionConfigurationOutput::builder()
                .function_arn("arn:aws:lambda:eu-west-1:123456789012:function:orders:7")
                .role("arn:aws:iam::123456789012:role/orders")
                .dead_letter_config(
                    DeadLetterConfig::builder()
                        .target_arn("arn:aws:sqs:eu-west-1:123456789012:dlq")
                        .build(),
                )
                .state(State::Pending)
                .state_reason("The function is being created.")
                .last_update_status(LastUpdateStatus::Successful)
                .build()
        });
    let never_published = mock!(Client::get_function_configuration)
        .match_requests(|r| r.qualifier() == Some("99"))
        .then_error(|| {
            GetFunctionConfigurationError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .meta(meta("ResourceNotFoundException", "Function not found"))
                    .build(),
            )
        });
    let publish = mock!(Client::publish_version)
        .match_requests(|r| {
            r.function_name() == Some("orders")
                && r.code_sha256() == Some("abc=")
                && r.description() == Some("shifter build 42")
        })
        .then_output(|| PublishVersionOutput::builder().version("8").build());
    let ports = lambda_ports(&[&describe, &published, &never_published, &publish]);

    let info = ports
        .describe_function("arn:aws:lambda:eu-west-1:123456789012:function:orders")
        .await
        .unwrap();
    assert_eq!(
        info,
        FunctionInfo {
            name: "orders".into(),
            arn: "arn:aws:lambda:eu-west-1:123456789012:function:orders".into()
        }
    );
    assert_eq!(
        ports.version_info("orders", "7").await.unwrap(),
        Some(VersionInfo {
            arn: "arn:aws:lambda:eu-west-1:123456789012:function:orders:7".into(),
            role: "arn:aws:iam::123456789012:role/orders".into(),
            dead_letter_arn: Some("arn:aws:sqs:eu-west-1:123456789012:dlq".into()),
            state: "Pending".into(),
            last_update_status: "Successful".into(),
            reason: Some("The function is being created.".into()),
        })
    );
    assert_eq!(ports.version_info("orders", "99").await.unwrap(), None);
    assert_eq!(
        ports
            .publish_version("orders", Some("abc="), "shifter build 42")
            .await
            .unwrap(),
        "8"
    );
}

#[tokio::test]
async fn invoke_is_synchronous_and_returns_the_function_error() {
    let rule = mock!(Client::invoke)
        .match_requests(|r| {
            r.function_name() == Some("orders-smoke")
                && r.invocation_type() == Some(&InvocationType::RequestResponse)
                && r.payload().map(|p| p.as_ref()) == Some(br#"{"version":"2"}"#.as_slice())
        })
        .then_output(|| {
            InvokeOutput::builder()
                .status_code(200)
                .function_error("Unhandled")
                .payload(Blob::new(r#"{"errorType":"Boom"}"#))
                .build()
        });
    let ports = lambda_ports(&[&rule]);

    let reply = ports
        .invoke("orders-smoke", br#"{"version":"2"}"#)
        .await
        .unwrap();

    assert_eq!(
        reply,
        HookReply {
            function_error: Some("Unhandled".into()),
            payload: br#"{"errorType":"Boom"}"#.to_vec()
        }
    );
}

#[tokio::test]
async fn a_hook_that_outlives_its_budget_is_a_failed_hook_not_an_error() {
    // A loopback server that accepts the Invoke and never answers, like a hook still running.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let hold = std::thread::spawn(move || {
        let (_conn, _) = listener.accept().unwrap();
        std::thread::sleep(std::time::Duration::from_secs(3));
    });
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .build();
    let mut ports = lambda_ports(&[]);
    ports.lambda = Client::from_conf(config);
    ports.hook_timeout = std::time::Duration::from_millis(300);

    let reply = ports.invoke("orders-smoke", b"{}").await.unwrap();

    assert_eq!(reply.function_error.as_deref(), Some("Timeout"));
    let verdict = crate::usecase::interpret_hook_reply(&reply);
    assert!(!verdict.succeeded);
    assert!(
        verdict
            .reason
            .as_deref()
            .unwrap()
            .contains("did not answer within 0.3 s"),
        "{verdict:?}"
    );
    drop(hold);
}
