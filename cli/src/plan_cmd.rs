//! `shifter plan`: validates a strategy (or a whole request) and shows its steps, and the canary analysis's
//! checks when the request has one. No AWS calls at all.

use std::io::Write;

use shifter::domain::percent;
use shifter::request::RolloutSpec;
use shifter::Error;

use crate::args::{OutputFormat, PlanArgs, RequestArgs};
use crate::fmt;
use crate::plan_analysis;
use crate::render::{self, error_line, rejected_json};
use crate::request::{spec_from_args, PLACEHOLDER_ALIAS, PLACEHOLDER_FUNCTION};

/// Prints the plan (or the error) and returns the exit code: 0, or 2 when invalid.
pub fn run(args: &PlanArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match plan_spec(args) {
        Ok(spec) => {
            let text = match args.output {
                OutputFormat::Text => match &spec.analysis {
                    Some(settings) => format!(
                        "{}\n{}",
                        table(&spec),
                        plan_analysis::describe(settings, &spec.plan, args.traffic)
                    ),
                    None => table(&spec),
                },
                OutputFormat::Json => {
                    serde_json::to_string(&spec.plan).expect("a plan always serializes")
                }
            };
            let _ = writeln!(out, "{text}");
            if args.traffic.is_some() && spec.analysis.is_none() {
                let _ = writeln!(
                    err,
                    "note: --traffic only matters to a canary analysis (--analysis, or the request's \"analysis\"), and this plan has none"
                );
            }
            0
        }
        Err(error) => {
            if args.output == OutputFormat::Json {
                let _ = writeln!(out, "{}", rejected_json(&error));
            }
            let _ = writeln!(err, "{}", error_line(&error));
            let _ = writeln!(err, "{}", hint(&error));
            2
        }
    }
}

/// With only `--strategy`, the function and alias are stand-ins: only strategy errors can come back.
pub fn plan_spec(args: &PlanArgs) -> Result<RolloutSpec, Error> {
    let mut request = RequestArgs {
        request: args.request.clone(),
        strategy: args.strategy.clone(),
        analysis: args.analysis.clone(),
        ..RequestArgs::default()
    };
    if args.request.is_none() {
        request.function = Some(PLACEHOLDER_FUNCTION.into());
        request.alias = Some(PLACEHOLDER_ALIAS.into());
    }
    spec_from_args(&request)
}

/// The line under the error. The preset list is in the message of an unknown preset name, and only there:
/// every other strategy error says what is wrong with its own field.
fn hint(error: &Error) -> String {
    match error {
        Error::InvalidRequest { field, message }
            if field == "strategy" && message.starts_with("unknown preset") =>
        {
            "hint: or give a JSON object with a \"type\": canary, linear, steps, exponential or allAtOnce (`shifter deploy --help` shows one)".to_string()
        }
        Error::InvalidRequest { field, message }
            if field == "strategy.type" || message.starts_with("must be a preset name") =>
        {
            "hint: a strategy is a preset name such as Canary10Percent5Minutes, or a JSON object with a \"type\": canary, linear, steps, exponential or allAtOnce".to_string()
        }
        Error::InvalidRequest { field, .. } if field.starts_with("strategy") => {
            "hint: change it and run `shifter plan --strategy ...` again: it calls no AWS".to_string()
        }
        other => render::hint(other).to_string(),
    }
}

/// The steps as a table: number, weight, bake, and when each starts relative to the first shift.
pub fn table(spec: &RolloutSpec) -> String {
    let steps = &spec.plan.steps;
    let mut lines = vec![
        format!("strategy {}", spec.strategy_name),
        format!(
            "{:>4}  {:>7}  {:<9}  {}",
            "step", "weight", "bake", "starts at"
        ),
    ];
    let mut offset = 0u64;
    for (i, step) in steps.iter().enumerate() {
        let bake = if i + 1 == steps.len() && step.bake_seconds == 0 {
            "-".to_string()
        } else {
            fmt::seconds(u64::from(step.bake_seconds))
        };
        lines.push(format!(
            "{:>4}  {:>7}  {:<9}  +{}",
            i + 1,
            percent(step.weight_bps),
            bake,
            fmt::seconds(offset)
        ));
        offset += u64::from(step.bake_seconds);
    }
    lines.push(format!(
        "{} step{}, {} in total",
        steps.len(),
        if steps.len() == 1 { "" } else { "s" },
        fmt::seconds(spec.plan.total_seconds())
    ));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn plan_args(argv: &[&str]) -> PlanArgs {
        let mut full = vec!["shifter", "plan"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).expect("parses").command {
            Command::Plan(a) => a,
            other => panic!("not plan: {other:?}"),
        }
    }

    fn run_plan(argv: &[&str]) -> (i32, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&plan_args(argv), &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn canary_table_lists_both_steps_with_offsets() {
        let (code, out, err) = run_plan(&["--strategy", "Canary10Percent5Minutes"]);
        assert_eq!((code, err.as_str()), (0, ""));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "strategy Canary10Percent5Minutes",
                "step   weight  bake       starts at",
                "   1      10%  5m00s      +0s",
                "   2     100%  -          +5m00s",
                "2 steps, 5m00s in total",
            ]
        );
    }

    #[test]
    fn analysis_settings_add_the_checks_and_traffic_the_time_each_step_needs() {
        let (code, out, err) = run_plan(&[
            "--strategy",
            "Canary10Percent5Minutes",
            "--analysis",
            "default",
            "--traffic",
            "100/min",
        ]);
        assert_eq!((code, err.as_str()), (0, ""));
        assert!(
            out.contains("canary analysis: the new version against the old one"),
            "{out}"
        );
        assert!(
            out.contains("10m00s     5m00s      after 5m00s of extension"),
            "{out}"
        );
        let (code, _, err) = run_plan(&[
            "--strategy",
            "Canary10Percent5Minutes",
            "--traffic",
            "100/min",
        ]);
        assert_eq!(code, 0);
        assert!(
            err.starts_with("note: --traffic only matters to a canary analysis"),
            "{err}"
        );
        let (code, _, err) = run_plan(&["--strategy", "AllAtOnce", "--analysis", "default"]);
        assert_eq!(code, 2);
        assert!(err.starts_with("error: analysis: "), "{err}");
    }

    #[test]
    fn json_output_is_the_plan() {
        let (code, out, _) = run_plan(&[
            "--strategy",
            r#"{"type":"linear","percent":20,"intervalSeconds":5}"#,
            "--output",
            "json",
        ]);
        assert_eq!(code, 0);
        let plan: shifter::plan::Plan = serde_json::from_str(out.trim()).unwrap();
        let weights: Vec<u32> = plan.steps.iter().map(|s| s.weight_bps).collect();
        assert_eq!(weights, [2000, 4000, 6000, 8000, 10_000]);
        assert_eq!(plan.total_seconds(), 20);
    }

    #[test]
    fn an_invalid_strategy_exits_2_naming_the_field() {
        let (code, out, err) = run_plan(&["--strategy", r#"{"type":"canary","percent":0}"#]);
        assert_eq!(code, 2);
        assert_eq!(out, "");
        assert!(
            err.starts_with("error: strategy.percent: "),
            "stderr was: {err}"
        );
        assert!(err.contains("hint: "));
    }

    #[test]
    fn an_invalid_strategy_in_json_mode_prints_one_rejection_object() {
        let (code, out, _) = run_plan(&["--strategy", "Canary99", "--output", "json"]);
        assert_eq!(code, 2);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["eventType"], "RequestRejected");
        assert_eq!(v["errorType"], "InvalidRequest");
        assert_eq!(v["field"], "strategy");
    }
}
