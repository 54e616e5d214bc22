//! What the real `shifter` binary says to a new user's mistakes, pinned as snapshots (`snapshots/`): exit
//! code, stdout and stderr. None of these reach AWS: `plan` makes no calls, the deploys stop at validation or
//! at the missing credentials, and any stray call goes to a closed local port.

use std::process::Command;

/// `exit N`, then stdout and stderr, for a snapshot.
fn run(args: &[&str], envs: &[(&str, &str)], clear_aws: bool) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shifter"));
    cmd.args(args)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env_remove("SHIFTER_LOG")
        .env_remove("SHIFTER_STATE_MACHINE_ARN")
        .env_remove("SHIFTER_TABLE")
        .env("COLUMNS", "100");
    if clear_aws {
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_ARN",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_DEFAULT_REGION",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    } else {
        cmd.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
    }
    // An empty value removes the variable.
    for (k, v) in envs {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let out = cmd.output().expect("the shifter binary runs");
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn plan(strategy: &str) -> String {
    run(&["plan", "--strategy", strategy], &[], false)
}

#[test]
fn bake_seconds_present_but_wrong() {
    insta::assert_snapshot!(
        "plan_bake_seconds_negative",
        plan(r#"{"type":"canary","percent":10,"bakeSeconds":-1}"#)
    );
    insta::assert_snapshot!(
        "plan_bake_seconds_huge",
        plan(r#"{"type":"canary","percent":10,"bakeSeconds":99999999999999999999}"#)
    );
}

#[test]
fn too_many_steps_says_how_many() {
    insta::assert_snapshot!(
        "plan_linear_half_percent",
        plan(r#"{"type":"linear","percent":0.5,"intervalSeconds":60}"#)
    );
    insta::assert_snapshot!(
        "plan_linear_hundredth_percent",
        plan(r#"{"type":"linear","percent":0.01,"intervalSeconds":60}"#)
    );
}

#[test]
fn percent_ranges_agree() {
    insta::assert_snapshot!(
        "plan_canary_percent_negative",
        plan(r#"{"type":"canary","percent":-5,"bakeSeconds":60}"#)
    );
    insta::assert_snapshot!(
        "plan_canary_percent_100",
        plan(r#"{"type":"canary","percent":100,"bakeSeconds":60}"#)
    );
}

#[test]
fn the_preset_list_appears_only_for_an_unknown_preset_and_once() {
    let steps = plan(
        r#"{"type":"steps","steps":[{"percent":20,"bakeSeconds":60},{"percent":10,"bakeSeconds":60}]}"#,
    );
    assert!(!steps.contains("Linear10PercentEvery1Minute"), "{steps}");
    insta::assert_snapshot!("plan_steps_not_increasing", steps);
    let unknown = plan("Canary99");
    assert_eq!(unknown.matches("Linear10PercentEvery1Minute").count(), 1);
    insta::assert_snapshot!("plan_unknown_preset", unknown);
}

#[test]
fn huge_numbers_are_echoed_short() {
    insta::assert_snapshot!(
        "plan_factor_1e308",
        plan(r#"{"type":"exponential","startPercent":1,"factor":1e308,"intervalSeconds":60}"#)
    );
}

#[test]
fn preset_names_ignore_case_and_typos_get_a_suggestion() {
    insta::assert_snapshot!("plan_preset_lowercase", plan("canary10percent5minutes"));
    insta::assert_snapshot!("plan_preset_typo", plan("Canary10Percent5Minute"));
}

/// The `--output` paragraph of a command's `--help`.
fn output_help(command: &str) -> String {
    let help = run(&[command, "--help"], &[], false);
    let lines: Vec<&str> = help.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with("--output"))
        .expect("--output is documented");
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('-'))
        .map_or(lines.len(), |i| start + 1 + i);
    lines[start..end].join("\n")
}

#[test]
fn each_command_describes_its_own_json() {
    for command in [
        "deploy", "plan", "status", "promote", "pause", "resume", "abort", "list", "history",
    ] {
        let help = output_help(command);
        if command != "deploy" {
            assert!(!help.contains("lifecycle event"), "{command}: {help}");
        }
        insta::assert_snapshot!(format!("output_help_{command}"), help);
    }
}

const DEPLOY: &[&str] = &[
    "deploy",
    "--local",
    "--function",
    "orders",
    "--alias",
    "live",
    "--strategy",
    "AllAtOnce",
];

#[test]
fn no_credentials_names_what_is_missing() {
    let mut args = DEPLOY.to_vec();
    args.extend(["--version", "7"]);
    insta::assert_snapshot!("deploy_local_no_credentials", run(&args, &[], true));
    insta::assert_snapshot!(
        "deploy_local_no_region",
        run(
            &args,
            &[
                ("AWS_REGION", ""),
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing")
            ],
            true
        )
    );
    insta::assert_snapshot!(
        "status_no_credentials",
        run(&["status", "orders:live"], &[], true)
    );
}

#[test]
fn a_negative_version_reaches_validation() {
    let mut args = DEPLOY.to_vec();
    args.extend(["--version", "-1"]);
    insta::assert_snapshot!("deploy_version_negative", run(&args, &[], false));
}

#[test]
fn check_interval_needs_local() {
    insta::assert_snapshot!(
        "deploy_check_interval_without_local",
        run(
            &[
                "deploy",
                "--state-machine-arn",
                "arn:aws:states:us-east-1:123456789012:stateMachine:shifter",
                "--function",
                "orders",
                "--alias",
                "live",
                "--version",
                "7",
                "--strategy",
                "AllAtOnce",
                "--check-interval",
                "5",
            ],
            &[],
            false
        )
    );
}

#[test]
fn abort_of_an_alias_without_a_registry_says_how_to_restore_it() {
    // Refused before any AWS call: without a registry, nobody can say who owns the alias.
    insta::assert_snapshot!(
        "abort_alias_no_table",
        run(&["abort", "orders:live"], &[], false)
    );
}
