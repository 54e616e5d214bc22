use proptest::prelude::*;
use serde_json::json;

use super::decide::{decide, AnalysisReport, CheckPoint, Decision};
use super::judge::{AnalysisVerdict, CheckResult, Outcome};
use super::settings::AnalysisSettings;

fn settings(v: serde_json::Value) -> AnalysisSettings {
    AnalysisSettings::from_value(&v).unwrap()
}

const END: CheckPoint = CheckPoint {
    end_of_bake: true,
    promote: false,
    interval_over: false,
};
const DURING: CheckPoint = CheckPoint {
    end_of_bake: false,
    promote: false,
    interval_over: true,
};
const PROMOTE: CheckPoint = CheckPoint {
    end_of_bake: false,
    promote: true,
    interval_over: false,
};

#[test]
fn every_outcome_at_every_point() {
    let s = settings(json!("default"));
    use Outcome::*;
    let table = [
        (Passed, END, Decision::Pass),
        (Passed, DURING, Decision::Wait),
        (Passed, PROMOTE, Decision::Pass),
        (Failed, END, Decision::Fail),
        (Failed, DURING, Decision::Fail),
        (Failed, PROMOTE, Decision::Fail),
        (Inconclusive, END, Decision::Extend { seconds: 60 }),
        (Inconclusive, DURING, Decision::Wait),
        (Inconclusive, PROMOTE, Decision::Pass),
        (Error, END, Decision::Extend { seconds: 60 }),
        (Error, DURING, Decision::Wait),
        (Error, PROMOTE, Decision::Pass),
    ];
    for (outcome, point, want) in table {
        assert_eq!(decide(&s, outcome, point, 0), want, "{outcome:?} {point:?}");
    }
}

#[test]
fn when_inconclusive_pass_and_fail_decide_at_the_end_of_a_bake_only() {
    for (when, want) in [("pass", Decision::Pass), ("fail", Decision::Fail)] {
        let s = settings(json!({ "whenInconclusive": when }));
        assert_eq!(decide(&s, Outcome::Inconclusive, END, 0), want);
        assert_eq!(decide(&s, Outcome::Error, END, 0), want);
        assert_eq!(decide(&s, Outcome::Inconclusive, DURING, 0), Decision::Wait);
    }
}

#[test]
fn an_extension_comes_in_chunks_of_the_interval_and_stops_at_the_maximum() {
    let s = settings(json!({"maxExtensionSeconds": 150, "intervalSeconds": 120}));
    let mut extended = 0;
    let mut chunks = vec![];
    while let Decision::Extend { seconds } = decide(&s, Outcome::Inconclusive, END, extended) {
        chunks.push(seconds);
        extended += seconds;
    }
    assert_eq!(chunks, [120, 30]);
    assert_eq!(
        decide(&s, Outcome::Inconclusive, END, extended),
        Decision::Pass
    );
}

proptest! {
    /// Whatever the settings, an extension never takes the step past `maxExtensionSeconds`, and a Failed
    /// verdict always rolls back.
    #[test]
    fn extensions_are_bounded_and_failures_always_fail(
        max in 0u32..5000, interval in prop::option::of(60u32..3600), already in 0u32..6000,
    ) {
        let s = AnalysisSettings { max_extension_seconds: max, interval_seconds: interval, ..Default::default() };
        match decide(&s, Outcome::Inconclusive, END, already) {
            Decision::Extend { seconds } => {
                prop_assert!(seconds > 0 && already + seconds <= max);
            }
            Decision::Pass => prop_assert!(already >= max),
            other => prop_assert!(false, "{other:?}"),
        }
        for point in [END, DURING, PROMOTE] {
            prop_assert_eq!(decide(&s, Outcome::Failed, point, already), Decision::Fail);
        }
    }
}

fn report(outcome: Outcome, decision: Decision, lines: &[(&str, Outcome)]) -> AnalysisReport {
    let verdict = AnalysisVerdict {
        outcome,
        checks: lines
            .iter()
            .map(|(e, o)| CheckResult {
                check: "c".into(),
                outcome: *o,
                evidence: e.to_string(),
            })
            .collect(),
    };
    AnalysisReport::new(&verdict, decision, ("7", "6"), (407, 3702), 300)
}

#[test]
fn the_failure_reason_names_the_deciding_checks_only() {
    let failed = report(
        Outcome::Failed,
        Decision::Fail,
        &[
            ("throttles: v7 0 ≤ 0 allowed → Passed", Outcome::Passed),
            ("errors: v7 8.1% (33/407) … → Failed", Outcome::Failed),
        ],
    );
    assert_eq!(
        failed.failure_reason().unwrap(),
        "canary analysis failed (v7 vs v6 over 300 s): errors: v7 8.1% (33/407) … → Failed"
    );
    assert_eq!(failed.extend_seconds(), None);
    let quiet = report(
        Outcome::Inconclusive,
        Decision::Fail,
        &[(
            "errors: fewer than 100 … → Inconclusive",
            Outcome::Inconclusive,
        )],
    );
    assert!(quiet
        .failure_reason()
        .unwrap()
        .starts_with("canary analysis inconclusive (whenInconclusive: fail)"));
    let extended = report(Outcome::Inconclusive, Decision::Extend { seconds: 60 }, &[]);
    assert_eq!(extended.failure_reason(), None);
    assert_eq!(extended.extend_seconds(), Some(60));
}

#[test]
fn evidence_keeps_its_lines_and_loses_other_control_characters_and_is_capped() {
    let r = report(
        Outcome::Failed,
        Decision::Fail,
        &[
            ("a\u{1}b\tc", Outcome::Failed),
            (&"x".repeat(5000), Outcome::Passed),
        ],
    );
    assert!(
        r.evidence.starts_with("a b c\nxxx"),
        "{}",
        &r.evidence[..20]
    );
    assert!(r.evidence.len() <= super::decide::MAX_EVIDENCE);
}
