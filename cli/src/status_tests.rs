use shifter::domain::Routing;

use super::*;
use crate::render::Captured;
use crate::test_support::{aws_with_alias, weighted_history, FakeApi, ARN};

const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:shifter";

#[tokio::test]
async fn status_summarizes_a_running_execution() {
    let api = FakeApi::new(weighted_history().0);
    let (out, err) = (Captured::default(), Captured::default());
    let code = status_execution(
        &api,
        ARN,
        OutputFormat::Text,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 0);
    let text = out.text();
    assert!(text.contains("status RUNNING"), "{text}");
    assert!(
        text.contains("step 1/2: 10% of traffic on version 2"),
        "{text}"
    );
    assert!(text.contains("current state: Bake"), "{text}");
    let out = Captured::default();
    status_execution(
        &api,
        ARN,
        OutputFormat::Json,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    let doc: serde_json::Value = serde_json::from_str(out.text().trim()).unwrap();
    assert_eq!(doc["rollout"]["weightPercent"], 10.0);
    assert_eq!(doc["currentState"], "Bake");
    assert_eq!(doc["lastEvent"]["type"], "TaskStateEntered");
}

#[tokio::test]
async fn status_of_an_alias_says_whether_a_rollout_owns_it() {
    let aws = aws_with_alias(Routing::split("1", "2", 2500));
    let (out, err) = (Captured::default(), Captured::default());
    let code = status_alias(
        &aws,
        "orders",
        "live",
        OutputFormat::Text,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_eq!(code, 0);
    insta::assert_snapshot!("status_weighted_alias", out.text());
    let out = Captured::default();
    let code = status_alias(
        &aws,
        "orders",
        "nope",
        OutputFormat::Json,
        &mut out.sink(),
        &mut err.sink(),
    )
    .await;
    assert_ne!(code, 0);
}

#[test]
fn status_targets_parse() {
    assert_eq!(
        StatusTarget::parse(ARN),
        Ok(StatusTarget::Execution(ARN.into()))
    );
    assert_eq!(
        StatusTarget::parse("orders:live"),
        Ok(StatusTarget::Alias {
            function: "orders".into(),
            alias: "live".into()
        })
    );
    assert_eq!(
        StatusTarget::parse("arn:aws:lambda:us-east-1:123456789012:function:orders:live"),
        Ok(StatusTarget::Alias {
            function: "arn:aws:lambda:us-east-1:123456789012:function:orders".into(),
            alias: "live".into()
        })
    );
    assert!(StatusTarget::parse(SM).is_err());
    assert!(StatusTarget::parse("orders").is_err());
}

/// A missing alias or function is named, with how to look for it (not `error: : ResourceNotFoundException`).
#[tokio::test]
async fn status_of_a_missing_alias_or_function_names_it() {
    let aws = aws_with_alias(Routing::single("1"));
    let mut shown = Vec::new();
    for (function, alias) in [("orders", "nope"), ("billing", "live")] {
        let (out, err) = (Captured::default(), Captured::default());
        let code = status_alias(
            &aws,
            function,
            alias,
            OutputFormat::Text,
            &mut out.sink(),
            &mut err.sink(),
        )
        .await;
        assert_eq!((code, out.text()), (EXIT_INVALID, String::new()));
        shown.push(err.text());
    }
    insta::assert_snapshot!("status_missing_alias_or_function", shown.join("---\n"));
    insta::assert_snapshot!(
        "status_missing_unknown_wording",
        alias_not_found("orders", "live", "ResourceNotFoundException: gone")
    );
    insta::assert_snapshot!(
        "status_missing_alias_as_lambda_words_it",
        alias_not_found(
            "orders",
            "live",
            "ResourceNotFoundException: Cannot find alias arn: arn:aws:lambda:us-east-1:123456789012:function:orders:live"
        )
    );
}
