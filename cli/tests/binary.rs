//! The real `shifter` binary. None of these reach AWS: `plan` makes no calls, and the deploys, lists and
//! histories here stop before any client is built (the environment points any stray call at a closed local
//! port regardless).

use std::process::{Command, Output};

fn shifter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shifter"))
        .args(args)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env_remove("SHIFTER_LOG")
        .env_remove("SHIFTER_STATE_MACHINE_ARN")
        .env_remove("SHIFTER_TABLE")
        .output()
        .expect("the shifter binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

#[test]
fn plan_prints_the_canary_table() {
    let out = shifter(&["plan", "--strategy", "Canary10Percent5Minutes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["strategy", "Canary10Percent5Minutes"]);
    assert_eq!(lines[1], ["step", "weight", "bake", "starts", "at"]);
    assert_eq!(lines[2], ["1", "10%", "5m00s", "+0s"]);
    assert_eq!(lines[3], ["2", "100%", "-", "+5m00s"]);
    assert_eq!(lines[4], ["2", "steps,", "5m00s", "in", "total"]);
    assert_eq!(lines.len(), 5);
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn plan_json_is_the_plan() {
    let out = shifter(&["plan", "--strategy", "AllAtOnce", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "{\"steps\":[{\"weightBps\":10000,\"bakeSeconds\":0}]}\n"
    );
}

#[test]
fn plan_with_an_invalid_strategy_exits_2_naming_the_field() {
    let out = shifter(&[
        "plan",
        "--strategy",
        r#"{"type":"linear","percent":20,"intervalSeconds":0}"#,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: strategy.intervalSeconds: "),
        "{stderr}"
    );
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn deploy_without_local_or_a_state_machine_exits_2_naming_both() {
    let out = shifter(&[
        "deploy",
        "--function",
        "orders",
        "--alias",
        "live",
        "--version",
        "7",
        "--strategy",
        "Canary10Percent5Minutes",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--state-machine-arn"), "{stderr}");
    assert!(stderr.contains("SHIFTER_STATE_MACHINE_ARN"), "{stderr}");
    assert!(stderr.contains("--local"), "{stderr}");
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn deploy_with_an_invalid_request_exits_2_before_any_aws_call() {
    let out = shifter(&[
        "deploy",
        "--local",
        "--function",
        "orders",
        "--alias",
        "live",
        "--version",
        "$LATEST",
        "--strategy",
        "AllAtOnce",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["eventType"], "RequestRejected");
    assert_eq!(v["field"], "targetVersion");
    assert!(text(&out.stderr).starts_with("error: targetVersion: "));
}

#[test]
fn deploy_help_lists_the_flags() {
    let out = shifter(&["deploy", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for flag in [
        "--function",
        "--alias",
        "--version",
        "--code-sha256",
        "--strategy",
        "--alarm",
        "--pre-traffic-hook",
        "--post-traffic-hook",
        "--topic",
        "--insufficient-data",
        "--request",
        "--check-interval",
        "--rollout-id",
        "--output",
        "--local",
        "--state-machine-arn",
        "SHIFTER_STATE_MACHINE_ARN",
        "--no-wait",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(!help.contains("not in this build"), "{help}");
}

#[test]
fn status_and_abort_refuse_what_they_cannot_name() {
    let out = shifter(&["status", "no-colon-here"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("function:alias"));
    let out = shifter(&[
        "abort",
        "arn:aws:states:us-east-1:123456789012:stateMachine:shifter",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not an execution ARN"));
}

/// The repository's example requests: the valid ones plan; each invalid one exits 2 naming the field its file
/// name starts with (`<field>--<what>.json`).
#[test]
fn plan_checks_the_example_requests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/requests");
    let mut planned = 0;
    for entry in std::fs::read_dir(&dir).expect("events/requests exists") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let out = shifter(&["plan", "--request", path.to_str().unwrap()]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{path:?}: {}",
                text(&out.stderr)
            );
            assert!(text(&out.stdout).contains(" in total\n"));
            planned += 1;
        }
    }
    assert!(planned >= 3, "only {planned} example requests");
    let mut rejected = 0;
    for entry in std::fs::read_dir(dir.join("invalid")).expect("events/requests/invalid exists") {
        let path = entry.unwrap().path();
        // JSON ones: the rest of the catalogue (README, not-JSON text, aws/) is tests/bad_input.rs's.
        if !path.is_file() || path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let field = name.split("--").next().unwrap();
        let out = shifter(&["plan", "--request", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with(&format!("error: {field}")),
            "{name}: {stderr}"
        );
        rejected += 1;
    }
    assert!(rejected >= 3, "only {rejected} invalid example requests");
}

#[test]
fn list_and_history_help_name_the_table_and_the_exit_codes() {
    for (command, flags) in [
        (
            vec!["list", "--help"],
            vec!["--table", "SHIFTER_TABLE", "--output"],
        ),
        (
            vec!["history", "--help"],
            vec![
                "FUNCTION:ALIAS",
                "--limit",
                "[default: 10]",
                "--table",
                "SHIFTER_TABLE",
                "--output",
            ],
        ),
    ] {
        let out = shifter(&command);
        assert_eq!(out.status.code(), Some(0), "{command:?}");
        let help = text(&out.stdout);
        for flag in flags
            .iter()
            .chain(&["Exit codes: 0", "2 invalid argument or no table"])
        {
            assert!(help.contains(flag), "{flag} missing from:\n{help}");
        }
    }
    let help = text(&shifter(&["deploy", "--help"]).stdout);
    assert!(
        help.contains("--table") && help.contains("SHIFTER_TABLE"),
        "{help}"
    );
    let help = text(&shifter(&["--help"]).stdout);
    assert!(help.contains("list") && help.contains("history"), "{help}");
}

/// No table: exit 2 at once, naming the flag and the variable. Any AWS call would go to a closed port and
/// fail with exit 1 (after retries), so exit 2 and this message prove none was made.
#[test]
fn list_and_history_without_a_table_exit_2_and_call_nothing() {
    for args in [
        vec!["list"],
        vec!["list", "--output", "json"],
        vec!["list", "--table", " "],
        vec!["history", "orders:live"],
        vec!["history", "orders:live", "--limit", "3", "--output", "json"],
    ] {
        let out = shifter(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "", "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("error: no rollout registry to read"),
            "{stderr}"
        );
        assert!(stderr.contains("--table"), "{stderr}");
        assert!(stderr.contains("SHIFTER_TABLE"), "{stderr}");
        assert!(stderr.contains("nothing was read"), "{stderr}");
    }
}

#[test]
fn history_refuses_what_is_not_an_alias_and_a_limit_out_of_range() {
    let out = shifter(&["history", "orders", "--table", "rollouts"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("function:alias"),
        "{}",
        text(&out.stderr)
    );
    let out = shifter(&[
        "history",
        "arn:aws:states:us-east-1:123456789012:execution:shifter:r-1",
        "--table",
        "rollouts",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("history takes function:alias"));
    let out = shifter(&[
        "history",
        "orders:live",
        "--limit",
        "0",
        "--table",
        "rollouts",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--limit"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn the_rollout_commands_document_their_flags_and_exit_codes() {
    for (command, flags) in [
        ("promote", vec![]),
        ("pause", vec!["--max-pause", "[default: 24h]", "at most 7d"]),
        ("resume", vec![]),
        (
            "abort",
            vec![
                "--reason",
                "--timeout",
                "[default: 5m]",
                "StopExecution",
                "3 the alias",
            ],
        ),
    ] {
        let out = shifter(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command}");
        let help = text(&out.stdout);
        let common = [
            "EXECUTION_ARN|FUNCTION:ALIAS",
            "--table",
            "SHIFTER_TABLE",
            "--output",
            "Exit codes: 0",
            "1 ",
            "2 invalid target",
            "no table",
        ];
        for flag in common.iter().chain(&flags) {
            assert!(
                help.contains(flag),
                "{command}: {flag} missing from:\n{help}"
            );
        }
    }
    // Nothing to reach a rollout through: exit 2 before any AWS call.
    let out = shifter(&["promote", "orders:live"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--table"),
        "{}",
        text(&out.stderr)
    );
}
