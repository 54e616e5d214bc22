//! The alias rules UpdateAlias enforces, and PublishVersion.

use super::*;
use crate::domain::WeightedVersion;
use crate::ports::{AliasRouter, FunctionRegistry};

pub(super) const F: &str = "app";
pub(super) const A: &str = "live";

/// `app` with versions 1, 2 and 3 (same role, no DLQ) and alias `live` on version 1.
pub(super) fn fake() -> FakeAws {
    let aws = FakeAws::new();
    aws.add_function(F);
    for code in ["c1", "c2", "c3"] {
        aws.publish(F, code);
    }
    aws.add_alias(F, A, Routing::single("1"));
    aws
}

pub(super) fn weighted(primary: &str, extra: &str, weight_bps: u32) -> Routing {
    Routing {
        function_version: primary.to_string(),
        additional: Some(WeightedVersion {
            version: extra.to_string(),
            weight_bps,
        }),
    }
}

/// Writes with the alias's current RevisionId.
pub(super) async fn write(aws: &FakeAws, routing: &Routing) -> Result<AliasState, Error> {
    let rev = aws.alias(F, A).revision_id;
    aws.write_alias(F, A, routing, &rev).await
}

fn assert_rejected(result: Result<AliasState, Error>, needle: &str) {
    match result {
        Err(Error::AwsRejected { operation, message }) => {
            assert_eq!(operation, "UpdateAlias");
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        other => panic!("expected AwsRejected, got {other:?}"),
    }
}

pub(super) fn assert_not_found<T: std::fmt::Debug>(result: Result<T, Error>, needle: &str) {
    match result {
        Err(Error::ResourceNotFound { field, message }) => {
            assert_eq!(field, "", "the caller fills the field in");
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        other => panic!("expected ResourceNotFound, got {other:?}"),
    }
}

/// A rejected write must leave the alias exactly as it was, RevisionId included.
async fn assert_refused_without_effect(aws: &FakeAws, routing: Routing) -> Error {
    let before = aws.alias(F, A);
    let err = write(aws, &routing).await.unwrap_err();
    assert_eq!(aws.alias(F, A), before, "a refused write changed the alias");
    assert_eq!(aws.history(F, A), vec![Routing::single("1")]);
    err
}

#[tokio::test]
async fn stale_revision_is_rejected_and_alias_unchanged() {
    let aws = fake();
    let stale = aws.alias(F, A).revision_id;
    write(&aws, &weighted("1", "2", 1000)).await.unwrap();
    let before = aws.alias(F, A);
    let err = aws
        .write_alias(F, A, &Routing::single("3"), &stale)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::AliasChanged { alias, .. } if alias == A),
        "{err:?}"
    );
    assert_eq!(aws.alias(F, A), before);
    let bogus = aws
        .write_alias(F, A, &Routing::single("3"), "not-a-revision")
        .await;
    assert!(matches!(bogus, Err(Error::AliasChanged { .. })));
    assert_eq!(aws.alias(F, A), before);
}

#[tokio::test]
async fn every_successful_write_gets_a_new_revision() {
    let aws = fake();
    let mut seen = vec![aws.alias(F, A).revision_id];
    // The same routing twice still changes the RevisionId, as UpdateAlias does.
    for routing in [
        weighted("1", "2", 500),
        weighted("1", "2", 500),
        Routing::single("2"),
    ] {
        let written = write(&aws, &routing).await.unwrap();
        assert_eq!(written, aws.read_alias(F, A).await.unwrap());
        assert_eq!(written.routing, routing);
        assert!(!seen.contains(&written.revision_id), "{seen:?} {written:?}");
        seen.push(written.revision_id);
    }
}

#[tokio::test]
async fn latest_is_rejected() {
    let aws = fake();
    let as_primary = assert_refused_without_effect(&aws, Routing::single("$LATEST")).await;
    assert!(
        matches!(as_primary, Error::AwsRejected { .. }),
        "{as_primary:?}"
    );
    let weighted_primary = assert_refused_without_effect(&aws, weighted("$LATEST", "1", 10)).await;
    assert!(matches!(weighted_primary, Error::AwsRejected { .. }));
    assert_rejected(write(&aws, &weighted("1", "$LATEST", 10)).await, "$LATEST");
}

#[tokio::test]
async fn unpublished_version_is_rejected() {
    let aws = fake();
    let err = assert_refused_without_effect(&aws, Routing::single("4")).await;
    assert_not_found(Err::<(), _>(err), "function:app:4");
    assert_not_found(
        write(&aws, &weighted("1", "9", 100)).await,
        "function:app:9",
    );
    assert_not_found(
        write(&aws, &weighted("0", "1", 100)).await,
        "function:app:0",
    );
    assert_not_found(write(&aws, &Routing::single("01")).await, "function:app:01");
    assert_eq!(aws.alias(F, A).routing, Routing::single("1"));
}

#[tokio::test]
async fn additional_equal_to_primary_is_rejected() {
    let aws = fake();
    let err = assert_refused_without_effect(&aws, weighted("2", "2", 100)).await;
    assert_rejected(Err(err), "must differ");
}

#[tokio::test]
async fn weight_above_full_is_rejected() {
    let aws = fake();
    let err = assert_refused_without_effect(&aws, weighted("1", "2", 10_001)).await;
    assert_rejected(Err(err), "0.0-1.0");
    // The ends of the range are valid.
    write(&aws, &weighted("1", "2", 10_000)).await.unwrap();
    write(&aws, &weighted("1", "2", 0)).await.unwrap();
}

#[tokio::test]
async fn role_mismatch_is_rejected() {
    let aws = fake();
    aws.set_version_config(F, "3", "arn:aws:iam::123456789012:role/other", None);
    let err = assert_refused_without_effect(&aws, weighted("1", "3", 100)).await;
    assert_rejected(Err(err), "same execution role");
    assert_rejected(
        write(&aws, &weighted("3", "2", 100)).await,
        "same execution role",
    );
    // A version alone may have any role.
    write(&aws, &Routing::single("3")).await.unwrap();
}

#[tokio::test]
async fn dlq_mismatch_is_rejected() {
    let aws = fake();
    let role = default_role(F);
    aws.set_version_config(
        F,
        "2",
        &role,
        Some("arn:aws:sqs:us-east-1:123456789012:dlq"),
    );
    let err = assert_refused_without_effect(&aws, weighted("1", "2", 100)).await;
    assert_rejected(Err(err), "dead letter");
    // The same DLQ on both is fine.
    aws.set_version_config(
        F,
        "1",
        &role,
        Some("arn:aws:sqs:us-east-1:123456789012:dlq"),
    );
    write(&aws, &weighted("1", "2", 100)).await.unwrap();
}

#[tokio::test]
async fn unknown_function_or_alias_is_not_found() {
    let aws = fake();
    let rev = aws.alias(F, A).revision_id;
    let one = Routing::single("1");
    assert_not_found(
        aws.write_alias("nope", A, &one, &rev).await,
        "function:nope",
    );
    assert_not_found(
        aws.write_alias(F, "nope", &one, &rev).await,
        "function:app:nope",
    );
    assert_not_found(aws.read_alias("nope", A).await, "function:nope");
    assert_not_found(aws.read_alias(F, "nope").await, "function:app:nope");
    assert_not_found(aws.describe_function("nope").await, "function:nope");
    assert_eq!(aws.version_info("nope", "1").await, Ok(None));
}

#[tokio::test]
async fn functions_resolve_by_name_or_arn() {
    let aws = fake();
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:app";
    let info = aws.describe_function(arn).await.unwrap();
    assert_eq!((info.name.as_str(), info.arn.as_str()), (F, arn));
    assert_eq!(aws.describe_function(F).await.unwrap(), info);
    assert_eq!(aws.read_alias(arn, A).await.unwrap(), aws.alias(F, A));
    assert_eq!(
        aws.version_info(F, "2")
            .await
            .unwrap()
            .map(|v| v.arn)
            .as_deref(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:app:2")
    );
    assert_eq!(aws.version_info(F, "4").await.unwrap(), None);
    assert_eq!(
        aws.version_info(F, "$LATEST")
            .await
            .unwrap()
            .map(|v| v.last_update_status)
            .as_deref(),
        Some("Successful")
    );
    // Another account's function of the same name is not this one (Lambda resolves the ARN as given).
    assert!(aws
        .describe_function("arn:aws:lambda:us-east-1:210987654321:function:app")
        .await
        .is_err());
}

#[tokio::test]
async fn publish_version_returns_existing_when_unchanged_and_new_when_changed() {
    let aws = FakeAws::new();
    aws.add_function(F);
    assert_eq!(aws.publish_version(F, None, "first").await.unwrap(), "1");
    assert_eq!(aws.publish_version(F, None, "again").await.unwrap(), "1");
    aws.set_latest_code(F, "new-code");
    assert_eq!(
        aws.publish_version(F, Some("new-code"), "second")
            .await
            .unwrap(),
        "2"
    );
    assert_eq!(
        aws.publish_version(F, Some("new-code"), "x").await.unwrap(),
        "2"
    );
    // A configuration change alone makes a new version too.
    aws.set_version_config(F, "$LATEST", "arn:aws:iam::123456789012:role/r2", None);
    assert_eq!(aws.publish_version(F, None, "third").await.unwrap(), "3");
    assert_eq!(aws.versions(F), ["1", "2", "3"]);
    assert_eq!(aws.version_description(F, "2"), "second");
    // The setup helper always publishes.
    assert_eq!(aws.publish(F, "new-code"), "4");
}

#[tokio::test]
async fn code_sha256_guard_mismatch_is_rejected() {
    let aws = FakeAws::new();
    aws.add_function(F);
    aws.set_latest_code(F, "built");
    match aws.publish_version(F, Some("other"), "d").await {
        Err(Error::AwsRejected { operation, message }) => {
            assert_eq!(operation, "PublishVersion");
            assert!(message.contains("CodeSHA256 (other)"), "{message}");
        }
        other => panic!("expected AwsRejected, got {other:?}"),
    }
    assert!(
        aws.versions(F).is_empty(),
        "a refused publish created a version"
    );
    assert_not_found(
        aws.publish_version("nope", None, "d").await,
        "function:nope",
    );
}

#[tokio::test]
async fn a_change_scheduled_after_a_read_lands_once_right_after_it() {
    let aws = fake();
    aws.force_alias_after_next_read(F, A, weighted("1", "2", 5000));
    let read = aws.read_alias(F, A).await.unwrap();
    assert_eq!(read.routing, Routing::single("1"), "the read answers first");
    let now = aws.alias(F, A);
    assert_eq!(now.routing, weighted("1", "2", 5000));
    assert_ne!(now.revision_id, read.revision_id);
    assert_eq!(
        aws.changes(F, A).pop().unwrap().source,
        ChangeSource::OutOfBand
    );
    // So a write fenced on that read is refused, and the next read changes nothing.
    let refused = aws
        .write_alias(F, A, &Routing::single("1"), &read.revision_id)
        .await;
    assert!(
        matches!(refused, Err(Error::AliasChanged { .. })),
        "{refused:?}"
    );
    aws.read_alias(F, A).await.unwrap();
    assert_eq!(aws.changes(F, A).len(), 2);
}
