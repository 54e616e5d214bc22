use serde_json::json;
use shifter::domain::Routing;

use super::*;
use crate::render::Captured;
use crate::test_support::{aws_with_alias, weighted_history, FakeApi, History, ARN};

#[tokio::test]
async fn abort_stops_the_execution_then_rolls_the_alias_back() {
    let api = FakeApi::new(weighted_history().0);
    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    let (out, err) = (Captured::default(), Captured::default());
    let code = abort_with(
        &api,
        &aws,
        ARN,
        OutputFormat::Text,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 0, "{}", err.text());
    assert_eq!(api.stops(), [(ARN.to_string(), ABORT_CAUSE.to_string())]);
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("1"));
    assert!(
        out.text().contains("rolled back orders:live to version 1"),
        "{}",
        out.text()
    );
}

#[tokio::test]
async fn abort_leaves_an_alias_someone_else_changed_and_exits_1() {
    let api = FakeApi::new(weighted_history().0);
    let aws = aws_with_alias(Routing::single("1"));
    aws.publish("orders", "code-3");
    aws.force_alias("orders", "live", Routing::split("1", "3", 5000));
    let (out, err) = (Captured::default(), Captured::default());
    let code = abort_with(
        &api,
        &aws,
        ARN,
        OutputFormat::Json,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(out.text().trim()).unwrap();
    assert_eq!(doc["aliasRestored"], false);
    assert_eq!(
        aws.alias("orders", "live").routing,
        Routing::split("1", "3", 5000)
    );
}

#[tokio::test]
async fn abort_refuses_an_execution_that_already_ended() {
    let mut api = FakeApi::new(weighted_history().0);
    api.status = "SUCCEEDED".into();
    let aws = aws_with_alias(Routing::single("2"));
    let (out, err) = (Captured::default(), Captured::default());
    let code = abort_with(
        &api,
        &aws,
        ARN,
        OutputFormat::Text,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 1);
    assert!(api.stops().is_empty());
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("2"));
    assert!(err.text().contains("nothing to abort"));
}

#[tokio::test]
async fn abort_before_prepare_finished_only_stops() {
    let mut h = History::new();
    h.push(
        "TaskStateEntered",
        Some("Prepare"),
        Some(json!({"functionName": "orders"}).to_string()),
    );
    let api = FakeApi::new(h.0);
    let aws = aws_with_alias(Routing::single("1"));
    let (out, err) = (Captured::default(), Captured::default());
    let code = abort_with(
        &api,
        &aws,
        ARN,
        OutputFormat::Text,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(api.stops().len(), 1);
    assert!(out.text().contains("nothing to roll back"));
}
