use std::path::PathBuf;

use clap::Parser;
use serde_json::json;
use shifter::request::Target;

use super::*;
use crate::args::{Cli, Command, DeployArgs};
use crate::deploy::{Deployment, Mode};

fn deploy_args(argv: &[&str]) -> DeployArgs {
    let mut full = vec!["shifter", "deploy"];
    full.extend_from_slice(argv);
    match Cli::try_parse_from(full).expect("parses").command {
        Command::Deploy(a) => *a,
        other => panic!("not deploy: {other:?}"),
    }
}

/// A request file in a directory of its own under the system temp dir, removed on drop.
struct TempFile(PathBuf);
impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("shifter-cli-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("request.json");
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}
impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn flags_become_the_request_json() {
    let args = deploy_args(&[
        "--local",
        "--function",
        "orders",
        "--alias",
        "live",
        "--version",
        "7",
        "--strategy",
        "Canary10Percent5Minutes",
        "--alarm",
        "orders-errors",
        "--alarm",
        "orders-latency",
        "--pre-traffic-hook",
        "orders-smoke",
        "--post-traffic-hook",
        "orders-check",
        "--topic",
        "arn:aws:sns:us-east-1:123456789012:rollouts",
        "--insufficient-data",
        "unhealthy",
    ]);
    assert_eq!(
        build_request(&args.request).unwrap(),
        json!({
            "functionName": "orders",
            "alias": "live",
            "targetVersion": "7",
            "strategy": "Canary10Percent5Minutes",
            "alarms": ["orders-errors", "orders-latency"],
            "hooks": {"preTraffic": "orders-smoke", "postTraffic": "orders-check"},
            "notificationTopicArn": "arn:aws:sns:us-east-1:123456789012:rollouts",
            "insufficientData": "unhealthy",
        })
    );
    assert_eq!(args.check_interval, None);
    assert_eq!(Mode::from_args(&args), Ok(Mode::Local));
    let deployment = Deployment::from_args(&args).unwrap();
    assert_eq!(
        deployment.check_interval,
        std::time::Duration::from_secs(10)
    );
}

#[test]
fn without_a_version_the_request_publishes_latest() {
    let args = deploy_args(&[
        "--function",
        "orders",
        "--alias",
        "live",
        "--strategy",
        r#" {"type":"linear","percent":20,"intervalSeconds":5} "#,
        "--code-sha256",
        "mGbSuZHkZq6tmwNQR1nXTqcNmpDzOfPdAGeYk4w+V5Q=",
    ]);
    let spec = spec_from_args(&args.request).unwrap();
    assert_eq!(
        spec.target,
        Target::PublishLatest {
            code_sha256: Some("mGbSuZHkZq6tmwNQR1nXTqcNmpDzOfPdAGeYk4w+V5Q=".into())
        }
    );
    assert_eq!(spec.plan.steps.len(), 5);
    assert_eq!(spec.strategy_name, "linear");
    assert!(
        Mode::from_args(&args).is_err(),
        "no --local and no state machine: no mode"
    );
}

#[test]
fn flags_override_the_request_file() {
    let file = TempFile::new(
        "override",
        r#"{"functionName":"orders","alias":"live","targetVersion":"6","strategy":"AllAtOnce",
            "alarms":["a"],"hooks":{"preTraffic":"smoke"},"insufficientData":"unhealthy"}"#,
    );
    let args = deploy_args(&[
        "--request",
        file.path(),
        "--version",
        "7",
        "--strategy",
        "Linear10PercentEvery1Minute",
        "--post-traffic-hook",
        "after",
        "--alarm",
        "b",
    ]);
    assert_eq!(
        build_request(&args.request).unwrap(),
        json!({
            "functionName": "orders",
            "alias": "live",
            "targetVersion": "7",
            "strategy": "Linear10PercentEvery1Minute",
            "alarms": ["b"],
            "hooks": {"preTraffic": "smoke", "postTraffic": "after"},
            "insufficientData": "unhealthy",
        })
    );
    let spec = spec_from_args(&args.request).unwrap();
    assert_eq!(spec.plan.steps.len(), 10);
}

#[test]
fn an_invalid_strategy_is_rejected_with_exit_code_2() {
    let args = deploy_args(&[
        "--local",
        "--function",
        "orders",
        "--alias",
        "live",
        "--strategy",
        "Canary10Percent7Minutes",
    ]);
    let error = Deployment::from_args(&args).unwrap_err();
    assert!(
        matches!(&error, Error::InvalidRequest { field, .. } if field == "strategy"),
        "{error:?}"
    );
    assert_eq!(shifter::driver::Outcome::Rejected { error }.exit_code(), 2);
}

#[test]
fn malformed_input_names_the_field() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["--alias", "live", "--strategy", "AllAtOnce"],
            "functionName",
        ),
        (
            &["--function", "orders", "--strategy", "AllAtOnce"],
            "alias",
        ),
        (&["--function", "orders", "--alias", "live"], "strategy"),
        (
            &[
                "--function",
                "orders",
                "--alias",
                "live",
                "--strategy",
                "{not json",
            ],
            "strategy",
        ),
        (
            &[
                "--function",
                "orders:live",
                "--alias",
                "live",
                "--strategy",
                "AllAtOnce",
            ],
            "functionName",
        ),
    ];
    for (argv, field) in cases {
        match spec_from_args(&deploy_args(argv).request) {
            Err(Error::InvalidRequest { field: f, .. }) => assert_eq!(f, field, "{argv:?}"),
            other => panic!("{argv:?}: {other:?}"),
        }
    }
}

#[test]
fn unreadable_or_non_object_request_files_are_rejected() {
    let missing = deploy_args(&["--request", "/nonexistent/shifter/request.json"]);
    assert!(matches!(
        build_request(&missing.request),
        Err(Error::InvalidRequest { field, .. }) if field == "request"
    ));
    let file = TempFile::new("array", "[1, 2]");
    let args = deploy_args(&["--request", file.path()]);
    match build_request(&args.request) {
        Err(Error::InvalidRequest { field, message }) => {
            assert_eq!(field, "request");
            assert!(message.contains("one JSON object"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rollout_ids_must_be_execution_names() {
    assert!(check_rollout_id("r-18c-abc_1").is_ok());
    for bad in ["", "has space", "slash/", &"x".repeat(81)] {
        assert!(check_rollout_id(bad).is_err(), "{bad:?}");
    }
    let args = deploy_args(&[
        "--function",
        "orders",
        "--alias",
        "live",
        "--strategy",
        "AllAtOnce",
        "--rollout-id",
        "no way",
    ]);
    assert!(matches!(
        Deployment::from_args(&args),
        Err(Error::InvalidRequest { field, .. }) if field == "rolloutId"
    ));
}

#[test]
fn a_key_given_twice_is_refused_from_every_source_of_text() {
    let file = TempFile::new(
        "duplicate",
        r#"{"functionName":"orders","alias":"live","targetVersion":"6","strategy":"AllAtOnce",
            "targetVersion":"7"}"#,
    );
    let nested = TempFile::new(
        "duplicate-nested",
        r#"{"functionName":"orders","alias":"live","targetVersion":"7",
            "strategy":{"type":"steps","steps":[{"percent":10,"bakeSeconds":60,"percent":20}]}}"#,
    );
    let strategy = r#"{"type":"canary","percent":10,"bakeSeconds":60,"percent":50}"#;
    let cases: [(Vec<&str>, &str); 4] = [
        (vec!["--local", "--request", file.path()], "targetVersion"),
        // A flag does not make the file right.
        (
            vec!["--local", "--request", file.path(), "--version", "7"],
            "targetVersion",
        ),
        (
            vec!["--local", "--request", nested.path()],
            "strategy.steps[0].percent",
        ),
        (
            vec![
                "--local",
                "--function",
                "orders",
                "--alias",
                "live",
                "--version",
                "7",
                "--strategy",
                strategy,
            ],
            "strategy.percent",
        ),
    ];
    for (argv, path) in cases {
        let args = deploy_args(&argv);
        for result in [
            build_request(&args.request).map(drop),
            spec_from_args(&args.request).map(drop),
        ] {
            match result {
                Err(Error::InvalidRequest { field, message }) => {
                    assert_eq!(field, path, "{argv:?}");
                    assert!(message.contains("is given twice"), "{message}");
                }
                other => panic!("{argv:?}: {other:?}"),
            }
        }
        let error = Deployment::from_args(&args).unwrap_err();
        assert_eq!(shifter::driver::Outcome::Rejected { error }.exit_code(), 2);
    }
}

#[test]
fn the_check_interval_goes_down_to_one_second_and_a_table_makes_a_local_rollout_listen() {
    let base = [
        "--local",
        "--function",
        "orders",
        "--alias",
        "live",
        "--version",
        "2",
        "--strategy",
        "Canary10Percent5Minutes",
    ];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra].concat()
    }
    let args = deploy_args(&with(
        &base,
        &["--check-interval", "1", "--table", "rollouts"],
    ));
    let deployment = Deployment::from_args(&args).unwrap();
    assert_eq!(deployment.check_interval, std::time::Duration::from_secs(1));
    assert_eq!(deployment.table.as_deref(), Some("rollouts"));
    let blank = deploy_args(&with(&base, &["--table", "  "]));
    assert_eq!(Deployment::from_args(&blank).unwrap().table, None);

    let mut argv = vec!["shifter", "deploy"];
    argv.extend(with(&base, &["--check-interval", "0"]));
    let error = Cli::try_parse_from(argv).unwrap_err().to_string();
    assert!(
        error.contains("invalid value '0' for '--check-interval <SECS>': 0 is not in 1..=3600"),
        "{error}"
    );
}

/// `KNOWN_FIELDS` is every field a request may have: a request with all of them set serializes to exactly those.
#[test]
fn known_fields_are_the_request_fields() {
    let full = json!({
        "functionName": "orders", "alias": "live", "targetVersion": "7", "codeSha256": "x", "strategy": "AllAtOnce",
        "hooks": {}, "alarms": [], "insufficientData": "healthy", "notificationTopicArn": "t", "analysis": "default"
    });
    let request = RolloutRequest::from_value(full).unwrap();
    let value = serde_json::to_value(request).unwrap();
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut known = KNOWN_FIELDS.to_vec();
    keys.sort_unstable();
    known.sort_unstable();
    assert_eq!(keys, known);
}

/// `FunctionName` for `functionName` is named as the unknown field it is (listing the right spelling), not
/// reported as a missing functionName.
#[test]
fn a_misspelt_field_is_named_rather_than_the_one_it_stands_for() {
    let file = TempFile::new(
        "misspelt",
        r#"{"FunctionName": "orders", "alias": "live", "targetVersion": "7", "strategy": "AllAtOnce"}"#,
    );
    let args = deploy_args(&["--local", "--request", file.0.to_str().unwrap()]);
    match spec_from_args(&args.request) {
        Err(Error::InvalidRequest { field, message }) => {
            assert_eq!(field, "FunctionName");
            assert!(message.contains("`functionName`"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let file = TempFile::new("missing", r#"{"alias": "live", "strategy": "AllAtOnce"}"#);
    let args = deploy_args(&["--local", "--request", file.0.to_str().unwrap()]);
    assert!(
        matches!(spec_from_args(&args.request), Err(Error::InvalidRequest { field, .. }) if field == "functionName")
    );
}
