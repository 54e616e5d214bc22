//! What a rollout does with an analysis verdict: pure. The verdict says how the new version compares; the
//! decision adds where in the bake the check falls, the rollout's `whenInconclusive` and how much of its
//! extension is left. Both drivers call [`decide`] through `usecase::check`, so they extend, pass and fail
//! alike.

use serde::{Deserialize, Serialize};

use super::judge::{AnalysisVerdict, Outcome};
use super::settings::{AnalysisSettings, WhenInconclusive};
use crate::text::cap;

/// How much evidence a report keeps: it travels in the state machine's state and in notifications.
pub const MAX_EVIDENCE: usize = 2048;
/// An extension is waited in chunks of `intervalSeconds`, or of this, so a verdict comes as soon as enough
/// invocations did.
pub const DEFAULT_EXTENSION_CHUNK_SECONDS: u32 = 60;

/// Where in a step's bake a check falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckPoint {
    /// The bake is over (or an operator resumed): the check decides whether the rollout goes on.
    pub end_of_bake: bool,
    /// An operator asked to promote: an inconclusive analysis no longer holds the rollout back (a failed one
    /// still rolls it back, as an alarm does).
    pub promote: bool,
    /// `analysis.intervalSeconds` have passed since the last analysis: one runs during the bake.
    pub interval_over: bool,
}

/// What the rollout does after one analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Decision {
    /// Go on to the next step.
    Pass,
    /// Roll back.
    Fail,
    /// Bake this many seconds more, then analyse again.
    Extend { seconds: u32 },
    /// A check during a bake with nothing wrong: bake on.
    Wait,
}

/// One analysis as the rollout records it: the verdict, the decision it led to, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisReport {
    pub outcome: Outcome,
    pub decision: Decision,
    pub new_version: String,
    pub old_version: String,
    pub new_invocations: u64,
    pub old_invocations: u64,
    /// The window the metrics cover, in seconds.
    pub window_seconds: u64,
    /// One line per check, failures first (capped at [`MAX_EVIDENCE`] bytes).
    pub evidence: String,
}

impl AnalysisReport {
    pub fn new(
        verdict: &AnalysisVerdict,
        decision: Decision,
        versions: (&str, &str),
        invocations: (u64, u64),
        window_seconds: u64,
    ) -> Self {
        AnalysisReport {
            outcome: verdict.outcome,
            decision,
            new_version: versions.0.to_string(),
            old_version: versions.1.to_string(),
            new_invocations: invocations.0,
            old_invocations: invocations.1,
            window_seconds,
            evidence: cap(&printable(&verdict.evidence()), MAX_EVIDENCE),
        }
    }

    /// The metrics could not be read: an `Error` verdict, which counts as inconclusive.
    pub fn unreadable(
        settings: &AnalysisSettings,
        point: CheckPoint,
        extended_seconds: u32,
        versions: (&str, &str),
        window_seconds: u64,
        error: &str,
    ) -> Self {
        let verdict = AnalysisVerdict {
            outcome: Outcome::Error,
            checks: vec![super::judge::CheckResult {
                check: "metrics".into(),
                outcome: Outcome::Error,
                evidence: format!(
                    "metrics could not be read: {error} → Error (counts as Inconclusive)"
                ),
            }],
        };
        let decision = decide(settings, Outcome::Error, point, extended_seconds);
        AnalysisReport::new(&verdict, decision, versions, (0, 0), window_seconds)
    }

    /// `Failed (v7 vs v6, 407 and 3702 invocations)`: the outcome, the versions and their invocations.
    pub fn headline(&self) -> String {
        format!(
            "{:?} (v{} vs v{}, {} and {} invocations)",
            self.outcome,
            self.new_version,
            self.old_version,
            self.new_invocations,
            self.old_invocations
        )
    }

    /// Why the rollout rolls back, when it does.
    pub fn failure_reason(&self) -> Option<String> {
        (self.decision == Decision::Fail).then(|| {
            let why = match self.outcome {
                Outcome::Failed => "canary analysis failed".to_string(),
                _ => "canary analysis inconclusive (whenInconclusive: fail)".to_string(),
            };
            // The checks that decided it; the report keeps every check's line.
            let deciding = match self.outcome {
                Outcome::Failed => &["→ Failed"][..],
                _ => &["→ Inconclusive", "→ Error"][..],
            };
            let lines: Vec<&str> = self
                .evidence
                .lines()
                .filter(|l| deciding.iter().any(|d| l.contains(d)))
                .collect();
            let evidence = if lines.is_empty() {
                self.evidence.replace('\n', "; ")
            } else {
                lines.join("; ")
            };
            format!(
                "{why} (v{} vs v{} over {} s): {evidence}",
                self.new_version, self.old_version, self.window_seconds,
            )
        })
    }

    /// The seconds to bake on before the next analysis, when the analysis asks for more time.
    pub fn extend_seconds(&self) -> Option<u32> {
        match self.decision {
            Decision::Extend { seconds } => Some(seconds),
            _ => None,
        }
    }
}

/// The evidence keeps its line breaks, and no other control character: an AWS error's text can hold any, and
/// each would take six bytes once JSON-escaped.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect()
}

/// What the rollout does with `outcome`, at `point`, having extended this step by `extended_seconds` already.
///
/// - Failed rolls back wherever it falls.
/// - Passed goes on at the end of a bake; during one, the bake goes on.
/// - Inconclusive (and Error: the metrics could not be read) at the end of a bake follows `whenInconclusive`:
///   `extend` bakes on in chunks until `maxExtensionSeconds` are used, then passes; during a bake, or once an
///   operator asked to promote, it waits or passes.
pub fn decide(
    settings: &AnalysisSettings,
    outcome: Outcome,
    point: CheckPoint,
    extended_seconds: u32,
) -> Decision {
    match outcome {
        Outcome::Failed => Decision::Fail,
        Outcome::Passed if point.end_of_bake || point.promote => Decision::Pass,
        Outcome::Passed => Decision::Wait,
        Outcome::Inconclusive | Outcome::Error => {
            if point.promote {
                return Decision::Pass;
            }
            if !point.end_of_bake {
                return Decision::Wait;
            }
            match settings.when_inconclusive {
                WhenInconclusive::Pass => Decision::Pass,
                WhenInconclusive::Fail => Decision::Fail,
                WhenInconclusive::Extend => {
                    let left = settings
                        .max_extension_seconds
                        .saturating_sub(extended_seconds);
                    let chunk = settings
                        .interval_seconds
                        .unwrap_or(DEFAULT_EXTENSION_CHUNK_SECONDS);
                    if left == 0 {
                        Decision::Pass
                    } else {
                        Decision::Extend {
                            seconds: chunk.min(left),
                        }
                    }
                }
            }
        }
    }
}
