//! `shifter analyze` over the fake's scripted per-version metrics: each verdict (Passed, Failed with the issue's
//! numbers, Inconclusive on a quiet version) and a failed read, as text and JSON (`snapshots/`); the window it
//! reads, and the arguments it refuses.

use std::collections::BTreeMap;

use clap::Parser;
use serde_json::{json, Value};
use shifter::analysis::judge::VersionMetrics;
use shifter::analysis::settings::AnalysisSettings;
use shifter::fake::{FakeAws, Op};
use shifter::Error;

use super::*;
use crate::args::{Cli, Command};
use crate::render::Captured;

/// 2025-11-30T22:00:35.500Z: not on a minute, so the window's end is rounded.
const NOW: u64 = 1_764_540_000_000 + 35_500;

fn metrics(invocations: u64, errors: u64, latency_ms: f64) -> VersionMetrics {
    VersionMetrics {
        invocations,
        errors,
        throttles: 0,
        latency_ms: Some(latency_ms),
        custom: BTreeMap::new(),
    }
}

fn request(format: OutputFormat) -> Analyze {
    Analyze {
        function: "orders".into(),
        alias: "live".into(),
        versions: Versions {
            old: "6".into(),
            new: "7".into(),
        },
        since_seconds: 15 * 60,
        settings: AnalysisSettings::default(),
        format,
    }
}

/// The fake with v6 and v7 of orders:live scripted.
fn aws(old: VersionMetrics, new: VersionMetrics) -> FakeAws {
    let aws = FakeAws::new();
    aws.set_version_metrics("orders", "live", "6", old);
    aws.set_version_metrics("orders", "live", "7", new);
    aws
}

/// Runs `analyze`: (exit code, stdout, stderr).
async fn analyzed(aws: &FakeAws, a: &Analyze) -> (i32, String, String) {
    let (out, err) = (Captured::default(), Captured::default());
    let code = analyze(aws, a, NOW, &mut out.sink(), &mut err.sink()).await;
    (code, out.text(), err.text())
}

/// `exit N`, stdout and stderr, for a snapshot.
fn shown((code, out, err): &(i32, String, String)) -> String {
    format!("exit {code}\n--- stdout\n{out}--- stderr\n{err}")
}

fn parsed_json(out: &str) -> Value {
    serde_json::from_str(out.trim_end()).expect("one JSON object")
}

#[tokio::test]
async fn a_healthy_version_passes_with_one_read() {
    let aws = aws(metrics(3702, 15, 118.0), metrics(1010, 5, 121.0));
    let got = analyzed(&aws, &request(OutputFormat::Text)).await;
    insta::assert_snapshot!("analyze_passed_text", shown(&got));
    assert_eq!(got.0, EXIT_PASSED);
    assert_eq!(aws.calls(Op::GetMetricData), 1);

    let got = analyzed(&aws, &request(OutputFormat::Json)).await;
    insta::assert_snapshot!("analyze_passed_json", shown(&got));
    assert_eq!(got.0, EXIT_PASSED);
    let v = parsed_json(&got.1);
    assert_eq!(v["outcome"], "Passed");
    assert_eq!(v["versions"]["6"]["invocations"], 3702);
    assert_eq!(v["versions"]["7"]["invocations"], 1010);
}

#[tokio::test]
async fn the_issues_bad_canary_fails_and_names_the_numbers() {
    // The issue's example: v7 33 errors in 407 invocations against v6 15 in 3702.
    let aws = aws(metrics(3702, 15, 118.0), metrics(407, 33, 122.0));
    let got = analyzed(&aws, &request(OutputFormat::Text)).await;
    insta::assert_snapshot!("analyze_failed_text", shown(&got));
    assert_eq!(got.0, EXIT_FAILED);
    assert!(
        got.1
            .starts_with("errors: v7 8.1% (33/407) vs v6 0.4% (15/3702), increase 7.7 pts >"),
        "{}",
        got.1
    );

    let got = analyzed(&aws, &request(OutputFormat::Json)).await;
    insta::assert_snapshot!("analyze_failed_json", shown(&got));
    assert_eq!(got.0, EXIT_FAILED);
    let v = parsed_json(&got.1);
    assert_eq!(v["outcome"], "Failed");
    assert_eq!(v["checks"][0]["check"], "errorRate");
    assert_eq!(v["checks"][0]["outcome"], "Failed");
    assert_eq!(
        (
            v["versions"]["7"]["errors"].clone(),
            v["versions"]["6"]["errors"].clone()
        ),
        (json!(33), json!(15))
    );
}

#[tokio::test]
async fn a_quiet_version_is_inconclusive_and_says_what_it_lacks() {
    let aws = aws(metrics(3702, 15, 118.0), metrics(12, 0, 119.0));
    let got = analyzed(&aws, &request(OutputFormat::Text)).await;
    insta::assert_snapshot!("analyze_inconclusive_text", shown(&got));
    assert_eq!(got.0, EXIT_INCONCLUSIVE);
    assert!(got.2.contains("more traffic on version 7"), "{}", got.2);

    let got = analyzed(&aws, &request(OutputFormat::Json)).await;
    insta::assert_snapshot!("analyze_inconclusive_json", shown(&got));
    assert_eq!(got.0, EXIT_INCONCLUSIVE);
    assert_eq!(parsed_json(&got.1)["outcome"], "Inconclusive");
}

#[tokio::test]
async fn a_version_with_no_data_at_all_is_inconclusive_never_passed() {
    let aws = FakeAws::new();
    aws.set_version_metrics("orders", "live", "6", metrics(3702, 15, 118.0));
    let got = analyzed(&aws, &request(OutputFormat::Text)).await;
    assert_eq!(got.0, EXIT_INCONCLUSIVE, "{}", shown(&got));
    assert!(
        got.1.contains("0 invocations of v7, 3702 of v6"),
        "{}",
        got.1
    );
}

#[tokio::test]
async fn a_custom_metric_in_the_settings_is_read_per_version_and_judged() {
    let with = |value: f64| {
        let mut m = metrics(1010, 5, 120.0);
        m.custom.insert("checkout-failures".into(), Some(value));
        m
    };
    let aws = aws(with(2.0), with(9.0));
    let mut a = request(OutputFormat::Json);
    a.settings = settings(
        r#"{"metrics": [{"name": "checkout-failures", "namespace": "Orders", "metricName": "CheckoutFailed",
            "dimensions": {"Version": "${version}"}, "stat": "Sum", "compare": "threshold", "max": 5}]}"#,
    )
    .unwrap();
    assert_eq!(a.query(NOW).custom.len(), 1);
    let got = analyzed(&aws, &a).await;
    assert_eq!(got.0, EXIT_FAILED, "{}", shown(&got));
    let v = parsed_json(&got.1);
    assert_eq!(v["versions"]["7"]["custom"]["checkout-failures"], 9.0);
    assert_eq!(v["checks"][3]["check"], "checkout-failures");
    assert_eq!(v["checks"][3]["outcome"], "Failed");
}

#[tokio::test]
async fn a_failed_read_is_an_error_with_its_own_exit_code() {
    let aws = aws(metrics(3702, 15, 118.0), metrics(407, 33, 122.0));
    let throttled = || Error::Transient {
        operation: "GetMetricData".into(),
        message: "Throttling: Rate exceeded".into(),
    };
    aws.fail_next(Op::GetMetricData, throttled(), 1);
    let got = analyzed(&aws, &request(OutputFormat::Text)).await;
    insta::assert_snapshot!("analyze_read_error_text", shown(&got));
    assert_eq!(got.0, EXIT_ERROR);
    assert!(got.1.is_empty(), "no verdict on stdout: {}", got.1);

    aws.fail_next(Op::GetMetricData, throttled(), 1);
    let got = analyzed(&aws, &request(OutputFormat::Json)).await;
    insta::assert_snapshot!("analyze_read_error_json", shown(&got));
    assert_eq!(got.0, EXIT_ERROR);
    let v = parsed_json(&got.1);
    assert_eq!(v["outcome"], "Error");
    assert_eq!(v["versions"], Value::Null);
    assert_eq!(
        aws.calls(Op::GetMetricData),
        2,
        "one read per run, no retry"
    );

    aws.fail_next(
        Op::GetMetricData,
        Error::AwsRejected {
            operation: "GetMetricData".into(),
            message: "AccessDenied: not authorized to perform cloudwatch:GetMetricData".into(),
        },
        1,
    );
    let got = analyzed(&aws, &request(OutputFormat::Text)).await;
    assert_eq!(got.0, EXIT_ERROR);
    assert!(got.2.contains("need cloudwatch:GetMetricData"), "{}", got.2);
}

#[test]
fn the_window_ends_at_the_next_whole_minute_and_reads_both_versions() {
    let q = request(OutputFormat::Text).query(NOW);
    assert_eq!(q.end_ms, 1_764_540_060_000);
    assert_eq!(q.start_ms, 1_764_540_060_000 - 900_000);
    assert_eq!(q.period_seconds(), 900);
    assert_eq!(q.versions, vec!["6".to_string(), "7".to_string()]);
    assert_eq!(q.latency_stat.as_deref(), Some("p99"));
    assert!(q.custom.is_empty());
    // On a whole minute, the window ends there.
    assert_eq!(
        request(OutputFormat::Text).query(1_764_540_000_000).end_ms,
        1_764_540_000_000
    );
}

#[test]
fn the_settings_choose_the_latency_statistic_or_none() {
    let mut a = request(OutputFormat::Text);
    a.settings = settings(r#"{"latency": {"stat": "Average", "maxRatio": 1.5}}"#).unwrap();
    assert_eq!(a.query(NOW).latency_stat.as_deref(), Some("Average"));
    a.settings = settings(r#"{"latency": null}"#).unwrap();
    assert_eq!(a.query(NOW).latency_stat, None);
}

#[test]
fn analysis_settings_take_default_an_object_or_a_file_and_errors_name_the_field() {
    assert_eq!(settings("default").unwrap(), AnalysisSettings::default());
    assert_eq!(
        settings("\"default\"").unwrap(),
        AnalysisSettings::default()
    );
    let tuned = settings(r#"{"minInvocations": 50, "confidence": 0.99}"#).unwrap();
    assert_eq!((tuned.min_invocations, tuned.confidence), (50, 0.99));

    let field = |text: &str| match settings(text) {
        Err(Error::InvalidRequest { field, .. }) => field,
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(field(r#"{"confidence": 2}"#), "analysis.confidence");
    assert_eq!(
        field(r#"{"latency": {"stat": "p100"}}"#),
        "analysis.latency.stat"
    );
    assert_eq!(
        field(r#"{"errorRate": {"maxIncrease": 1}}"#),
        "analysis.errorRate.maxIncrease"
    );
    assert_eq!(field("strict"), "analysis");
    assert_eq!(field("[1]"), "analysis");
    assert_eq!(field("@/nonexistent/analysis.json"), "analysis");

    let dir = std::env::temp_dir().join(format!("shifter-analyze-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("analysis.json");
    std::fs::write(&file, r#"{"throttles": {"max": 3}}"#).unwrap();
    let from_file = settings(&format!("@{}", file.display())).unwrap();
    assert_eq!(from_file.throttles.max, 3);
    std::fs::write(&file, r#"{"confidence": 0.2}"#).unwrap();
    assert_eq!(
        field(&format!("@{}", file.display())),
        "analysis.confidence"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn versions_are_two_different_published_numbers_baseline_first() {
    assert_eq!(
        versions("6,7").unwrap(),
        Versions {
            old: "6".into(),
            new: "7".into()
        }
    );
    assert_eq!(versions(" 12 , 3 ").unwrap().new, "3");
    for bad in [
        "7",
        "6,6",
        "6,$LATEST",
        "0,1",
        "6,7,8",
        ",7",
        "-1,2",
        "+6,7",
    ] {
        assert!(versions(bad).is_err(), "{bad}");
    }
}

#[test]
fn since_is_whole_minutes_from_one_minute_to_a_day() {
    assert_eq!(since("15m"), Ok(900));
    assert_eq!(since("300s"), Ok(300));
    assert_eq!(since("1h30m"), Ok(5400));
    assert_eq!(since("24h"), Ok(86_400));
    assert_eq!(since("1m"), Ok(60));
    assert!(since("30s").unwrap_err().contains("at least 1m"));
    assert_eq!(
        since("90s").unwrap_err(),
        "must be whole minutes, as Lambda's metrics have a one-minute resolution: 1m or 2m"
    );
    assert_eq!(since("25h").unwrap_err(), "at most 1d");
    assert!(since("15").is_err());
}

#[test]
fn the_target_is_an_alias_by_name_or_function_arn() {
    assert_eq!(target("orders:live"), Ok(("orders".into(), "live".into())));
    assert_eq!(
        target("arn:aws:lambda:us-east-1:123456789012:function:orders:live"),
        Ok(("orders".into(), "live".into()))
    );
    let refused = |text: &str| target(text).unwrap_err();
    assert!(refused("orders").contains("neither"));
    assert!(
        refused("arn:aws:lambda:us-east-1:123456789012:function:orders")
            .contains("without an alias")
    );
    assert!(refused("orders:7").contains("names a version"));
    assert!(
        refused("arn:aws:states:us-east-1:123456789012:execution:shifter:r-1")
            .contains("is an execution")
    );
}

#[test]
fn the_command_line_defaults_to_fifteen_minutes_and_the_default_settings() {
    let parse = |argv: &[&str]| Cli::try_parse_from(argv).map(|c| c.command);
    match parse(&["shifter", "analyze", "orders:live", "--versions", "6,7"]).unwrap() {
        Command::Analyze(a) => {
            assert_eq!(a.target, "orders:live");
            assert_eq!(a.versions.new, "7");
            assert_eq!((a.since, a.analysis.as_str()), (900, "default"));
            assert_eq!(a.output, OutputFormat::Text);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        parse(&["shifter", "analyze", "orders:live"]).is_err(),
        "--versions is required"
    );
    let e = parse(&[
        "shifter",
        "analyze",
        "orders:live",
        "--versions",
        "6,7",
        "--since",
        "90s",
    ])
    .unwrap_err();
    assert_eq!(e.exit_code(), EXIT_INVALID);
}
