//! Lambda alias adapter tests (weights, fencing, error mapping, SDK retry) against mocked SDK clients.

use std::collections::HashMap;

use aws_sdk_lambda::operation::get_alias::{GetAliasError, GetAliasOutput};
use aws_sdk_lambda::operation::update_alias::{
    UpdateAliasError, UpdateAliasInput, UpdateAliasOutput,
};
use aws_sdk_lambda::types::error::{
    PreconditionFailedException, ResourceConflictException, ResourceNotFoundException,
    TooManyRequestsException,
};
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use aws_sdk_lambda::Client;
use aws_smithy_mocks::mock;

use super::lambda::{bps_to_weight, weight_to_bps};
use super::test_support::{lambda_ports, meta};
use crate::domain::{AliasState, Routing};
use crate::error::Error;
use crate::ports::AliasRouter;

fn weights(version: &str, weight: f64) -> AliasRoutingConfiguration {
    AliasRoutingConfiguration::builder()
        .additional_version_weights(version, weight)
        .build()
}

fn sent_weights(r: &UpdateAliasInput) -> Option<HashMap<String, f64>> {
    r.routing_config()
        .and_then(|c| c.additional_version_weights())
        .cloned()
}

#[test]
fn weights_round_trip_for_every_basis_point() {
    for bps in 0..=10_000 {
        assert_eq!(weight_to_bps(bps_to_weight(bps)), bps, "bps {bps}");
    }
    assert_eq!(bps_to_weight(1000), 0.1);
    assert_eq!(
        weight_to_bps(0.33335),
        3334,
        "half-way (3333.5) rounds away from zero"
    );
    assert_eq!(weight_to_bps(0.33334), 3333);
    assert_eq!(weight_to_bps(0.33336), 3334);
    assert_eq!(weight_to_bps(0.000_04), 0);
    assert_eq!(weight_to_bps(0.000_06), 1);
    assert_eq!(
        weight_to_bps(1.5),
        10_000,
        "a lax emulator's out-of-range weight is clamped"
    );
    assert_eq!(weight_to_bps(-0.1), 0);
    assert_eq!(weight_to_bps(f64::NAN), 0);
}

#[tokio::test]
async fn write_alias_sends_version_weights_and_revision_id() {
    let rule = mock!(Client::update_alias)
        .match_requests(|r| {
            r.function_name() == Some("orders")
                && r.name() == Some("live")
                && r.function_version() == Some("1")
                && r.revision_id() == Some("rev-1")
                && sent_weights(r) == Some(HashMap::from([("2".to_string(), 0.1)]))
        })
        .then_output(|| {
            UpdateAliasOutput::builder()
                .function_version("1")
                .routing_config(weights("2", 0.1))
                .revision_id("rev-2")
                .build()
        });
    let ports = lambda_ports(&[&rule]);

    let state = ports
        .write_alias("orders", "live", &Routing::split("1", "2", 1000), "rev-1")
        .await
        .unwrap();

    assert_eq!(
        state,
        AliasState {
            routing: Routing::split("1", "2", 1000),
            revision_id: "rev-2".into()
        }
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn write_alias_to_a_single_version_sends_an_empty_weight_map() {
    let rule = mock!(Client::update_alias)
        .match_requests(|r| {
            r.function_version() == Some("2") && sent_weights(r) == Some(HashMap::new())
        })
        // moto answers without RoutingConfig and sometimes without RevisionId.
        .then_output(|| UpdateAliasOutput::builder().function_version("2").build());
    let ports = lambda_ports(&[&rule]);

    let state = ports
        .write_alias("orders", "live", &Routing::single("2"), "rev-5")
        .await
        .unwrap();

    assert_eq!(state.routing, Routing::single("2"));
    assert_eq!(state.revision_id, "", "a missing RevisionId reads as empty");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn read_alias_converts_weights_to_basis_points() {
    let tenth = mock!(Client::get_alias)
        .match_requests(|r| r.function_name() == Some("orders") && r.name() == Some("live"))
        .then_output(|| {
            GetAliasOutput::builder()
                .function_version("1")
                .routing_config(weights("2", 0.1))
                .revision_id("rev-1")
                .build()
        });
    let odd = mock!(Client::get_alias).then_output(|| {
        GetAliasOutput::builder()
            .function_version("4")
            .routing_config(weights("5", 0.33335))
            .revision_id("rev-9")
            .build()
    });
    let ports = lambda_ports(&[&tenth, &odd]);

    let first = ports.read_alias("orders", "live").await.unwrap();
    assert_eq!(first.routing, Routing::split("1", "2", 1000));
    assert_eq!(first.revision_id, "rev-1");

    let second = ports.read_alias("orders", "live").await.unwrap();
    assert_eq!(second.routing, Routing::split("4", "5", 3334));
    assert_eq!(second.routing.weight_of("4"), 6666);
}

#[tokio::test]
async fn stale_revision_id_is_alias_changed() {
    let rule = mock!(Client::update_alias).then_error(|| {
        UpdateAliasError::PreconditionFailedException(
            PreconditionFailedException::builder()
                .meta(meta(
                    "PreconditionFailedException",
                    "The Revision Id provided does not match the latest Revision Id.",
                ))
                .build(),
        )
    });
    let ports = lambda_ports(&[&rule]);

    let err = ports
        .write_alias("orders", "live", &Routing::single("2"), "stale")
        .await
        .unwrap_err();

    match err {
        Error::AliasChanged { alias, message } => {
            assert_eq!(alias, "live");
            assert!(
                message.starts_with("PreconditionFailedException: The Revision Id"),
                "{message}"
            );
        }
        other => panic!("expected AliasChanged, got {other:?}"),
    }
    assert_eq!(rule.num_calls(), 1, "not retried");
}

#[tokio::test]
async fn missing_alias_is_resource_not_found_with_the_field_left_to_the_caller() {
    let rule = mock!(Client::get_alias).then_error(|| {
        GetAliasError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .meta(meta("ResourceNotFoundException", "Alias not found: live"))
                .build(),
        )
    });
    let ports = lambda_ports(&[&rule]);

    let err = ports.read_alias("orders", "live").await.unwrap_err();

    assert_eq!(
        err,
        Error::ResourceNotFound {
            field: String::new(),
            message: "ResourceNotFoundException: Alias not found: live".into()
        }
    );
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_succeeds() {
    let rule = mock!(Client::get_alias)
        .sequence()
        .error(|| {
            GetAliasError::TooManyRequestsException(
                TooManyRequestsException::builder()
                    .meta(meta("TooManyRequestsException", "Rate exceeded"))
                    .build(),
            )
        })
        .output(|| {
            GetAliasOutput::builder()
                .function_version("3")
                .revision_id("rev-3")
                .build()
        })
        .build();
    let ports = lambda_ports(&[&rule]);

    let state = ports.read_alias("orders", "live").await.unwrap();

    assert_eq!(state.routing, Routing::single("3"));
    assert_eq!(rule.num_calls(), 2, "one throttled attempt, one retry");
}

#[tokio::test]
async fn persistent_throttling_is_throttled_after_the_sdk_gives_up() {
    let rule = mock!(Client::update_alias)
        .sequence()
        .error(|| {
            UpdateAliasError::TooManyRequestsException(
                TooManyRequestsException::builder()
                    .meta(meta("TooManyRequestsException", "Rate exceeded"))
                    .build(),
            )
        })
        .repeatedly()
        .build();
    let ports = lambda_ports(&[&rule]);

    let err = ports
        .write_alias("orders", "live", &Routing::single("2"), "rev-1")
        .await
        .unwrap_err();

    assert_eq!(
        err,
        Error::Throttled {
            operation: "UpdateAlias".into(),
            message: "TooManyRequestsException: Rate exceeded".into()
        }
    );
    assert_eq!(
        rule.num_calls(),
        3,
        "the SDK's standard mode makes 3 attempts"
    );
}

#[tokio::test]
async fn persistent_500_is_transient() {
    let rule = mock!(Client::get_alias)
        .sequence()
        .http_status(
            500,
            Some(r#"{"__type":"ServiceException","message":"Internal failure"}"#.into()),
        )
        .repeatedly()
        .build();
    let ports = lambda_ports(&[&rule]);

    let err = ports.read_alias("orders", "live").await.unwrap_err();

    match err {
        Error::Transient { operation, message } => {
            assert_eq!(operation, "GetAlias");
            assert!(message.starts_with("ServiceException"), "{message}");
        }
        other => panic!("expected Transient, got {other:?}"),
    }
    assert_eq!(rule.num_calls(), 3, "retried by the SDK before giving up");
}

#[tokio::test]
async fn access_denied_is_aws_rejected() {
    let rule = mock!(Client::update_alias).then_error(|| {
        UpdateAliasError::generic(meta(
            "AccessDeniedException",
            "User is not authorized to perform: lambda:UpdateAlias",
        ))
    });
    let ports = lambda_ports(&[&rule]);

    let err = ports
        .write_alias("orders", "live", &Routing::single("2"), "rev-1")
        .await
        .unwrap_err();

    assert_eq!(
        err,
        Error::AwsRejected {
            operation: "UpdateAlias".into(),
            message: "AccessDeniedException: User is not authorized to perform: lambda:UpdateAlias"
                .into()
        }
    );
    assert_eq!(rule.num_calls(), 1, "not retried");
}

#[tokio::test]
async fn resource_conflict_is_transient() {
    let rule = mock!(Client::update_alias).then_error(|| {
        UpdateAliasError::ResourceConflictException(
            ResourceConflictException::builder()
                .meta(meta(
                    "ResourceConflictException",
                    "An update is in progress for resource",
                ))
                .build(),
        )
    });
    let ports = lambda_ports(&[&rule]);

    let err = ports
        .write_alias("orders", "live", &Routing::single("2"), "rev-1")
        .await
        .unwrap_err();

    assert!(err.is_transient(), "{err:?}");
}
