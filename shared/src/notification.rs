//! The notification schema: one JSON message per lifecycle event, published to SNS with a Subject and the
//! MessageAttributes `eventType`, `functionName` and `alias`, so subscribers can filter.

use serde::{Deserialize, Serialize};

use crate::analysis::decide::{AnalysisReport, Decision};
use crate::analysis::judge::Outcome;
use crate::rollout::Rollout;
use crate::text::{cap, MAX_OUTSIDE_TEXT};
use crate::time::rfc3339_now;

pub const NOTIFICATION_SCHEMA_VERSION: u32 = 1;
/// How long a notification's `reason` may be, in bytes. A reason joins a few capped parts (why the rollout
/// stopped, why the rollback failed); capping the whole again keeps every message far below SNS's 256 KB.
pub const MAX_REASON: usize = 4 * MAX_OUTSIDE_TEXT;
/// SNS subjects must be fewer than 100 characters.
pub const MAX_SUBJECT: usize = 99;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    RolloutStarted,
    TrafficShifted,
    HookSucceeded,
    HookFailed,
    RolloutSucceeded,
    RolledBack,
    RolloutFailed,
    /// The rollback itself failed: the alias may still be weighted. Someone must look now.
    RollbackFailed,
    /// A canary analysis passed (at the end of a bake).
    AnalysisPassed,
    /// A canary analysis failed: a rollback follows.
    AnalysisFailed,
    /// A canary analysis had too little data (or could not read it): the bake is extended, or the rollout
    /// passes or fails, as `whenInconclusive` says (`analysis.decision`).
    AnalysisInconclusive,
}

impl EventType {
    /// Every event type, in lifecycle order.
    pub const ALL: [EventType; 11] = [
        EventType::RolloutStarted,
        EventType::TrafficShifted,
        EventType::HookSucceeded,
        EventType::HookFailed,
        EventType::RolloutSucceeded,
        EventType::RolledBack,
        EventType::RolloutFailed,
        EventType::RollbackFailed,
        EventType::AnalysisPassed,
        EventType::AnalysisFailed,
        EventType::AnalysisInconclusive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::RolloutStarted => "RolloutStarted",
            EventType::TrafficShifted => "TrafficShifted",
            EventType::HookSucceeded => "HookSucceeded",
            EventType::HookFailed => "HookFailed",
            EventType::RolloutSucceeded => "RolloutSucceeded",
            EventType::RolledBack => "RolledBack",
            EventType::RolloutFailed => "RolloutFailed",
            EventType::RollbackFailed => "RollbackFailed",
            EventType::AnalysisPassed => "AnalysisPassed",
            EventType::AnalysisFailed => "AnalysisFailed",
            EventType::AnalysisInconclusive => "AnalysisInconclusive",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HookPhase {
    PreTraffic,
    PostTraffic,
}

impl HookPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            HookPhase::PreTraffic => "preTraffic",
            HookPhase::PostTraffic => "postTraffic",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub schema_version: u32,
    pub event_type: EventType,
    pub rollout_id: String,
    pub function_name: String,
    pub alias: String,
    pub current_version: String,
    pub target_version: String,
    pub strategy: String,
    /// The target version's share of the alias after this event, in percent (0-100).
    pub weight_percent: f64,
    pub steps_done: usize,
    pub step_count: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<HookPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The analysis an `Analysis*` event reports: its outcome, decision, invocations and evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisReport>,
    /// RFC 3339, UTC.
    pub time: String,
}

impl Notification {
    pub fn new(event_type: EventType, rollout: &Rollout) -> Self {
        Notification {
            schema_version: NOTIFICATION_SCHEMA_VERSION,
            event_type,
            rollout_id: rollout.rollout_id.clone(),
            function_name: rollout.function_name.clone(),
            alias: rollout.alias.clone(),
            current_version: rollout.current_version.clone(),
            target_version: rollout.target_version.clone(),
            strategy: rollout.strategy.clone(),
            weight_percent: f64::from(rollout.weight_bps) / 100.0,
            steps_done: rollout.steps_done,
            step_count: rollout.plan.steps.len(),
            phase: None,
            reason: None,
            error_type: None,
            analysis: None,
            time: rfc3339_now(),
        }
    }

    /// The event an analysis gives, if any: Passed, Failed or Inconclusive with its evidence as the reason.
    /// A check during a bake that found nothing wrong (decision `wait`) is not an event.
    pub fn of_analysis(rollout: &Rollout, report: &AnalysisReport) -> Option<Self> {
        if report.decision == Decision::Wait {
            return None;
        }
        let event = match report.outcome {
            Outcome::Passed => EventType::AnalysisPassed,
            Outcome::Failed => EventType::AnalysisFailed,
            Outcome::Inconclusive | Outcome::Error => EventType::AnalysisInconclusive,
        };
        let mut n = Notification::new(event, rollout).with_reason(&report.evidence);
        n.analysis = Some(report.clone());
        Some(n)
    }

    pub fn with_phase(mut self, phase: HookPhase) -> Self {
        self.phase = Some(phase);
        self
    }

    /// Sets the reason, cut to [`MAX_REASON`] bytes.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(cap(&reason.into(), MAX_REASON));
        self
    }

    pub fn with_error_type(mut self, error_type: &str) -> Self {
        self.error_type = Some(error_type.to_string());
        self
    }

    /// SNS requires a subject of printable ASCII "less than 100 characters long" and refuses the whole Publish
    /// otherwise, so the subject keeps the printable ASCII characters and is cut to 99. ASCII only: each
    /// character is one byte, so the cut can never fall inside one.
    pub fn subject(&self) -> String {
        let s = format!(
            "shifter {} {}:{} v{} -> v{}",
            self.event_type.as_str(),
            self.function_name,
            self.alias,
            self.current_version,
            self.target_version
        );
        s.chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .take(MAX_SUBJECT)
            .collect()
    }

    /// The MessageAttributes subscribers filter on.
    pub fn attributes(&self) -> [(&'static str, String); 3] {
        [
            ("eventType", self.event_type.as_str().to_string()),
            ("functionName", self.function_name.clone()),
            ("alias", self.alias.clone()),
        ]
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a notification always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::MAX_OUTSIDE_TEXT;

    const ALL: [EventType; 11] = EventType::ALL;

    #[test]
    fn subjects_are_shorter_than_sns_allows_for_the_longest_names() {
        let arn = format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            "f".repeat(64)
        );
        for function_name in ["f".repeat(64), arn, "orders".into()] {
            let rollout = Rollout {
                function_name,
                alias: "a".repeat(128),
                current_version: "9999999998".into(),
                target_version: "9999999999".into(),
                ..crate::fake::canary_rollout()
            };
            for event in ALL {
                let subject = Notification::new(event, &rollout).subject();
                assert!(
                    subject.len() <= 99,
                    "{event:?}: {} characters",
                    subject.len()
                );
                assert!(subject.starts_with("shifter "), "{subject}");
                assert!(
                    subject.bytes().all(|b| (0x20..0x7f).contains(&b)),
                    "{subject}"
                );
            }
        }
        let short = Rollout {
            alias: "live\u{7}ü".into(),
            ..crate::fake::canary_rollout()
        };
        let subject = Notification::new(EventType::RollbackFailed, &short).subject();
        assert_eq!(subject, "shifter RollbackFailed orders:live v1 -> v2");
    }

    #[test]
    fn a_reason_is_capped_when_set() {
        let rollout = crate::fake::canary_rollout();
        let long = "é".repeat(3 * 1024 * 1024);
        let n = Notification::new(EventType::RollbackFailed, &rollout).with_reason(&long);
        let reason = n.reason.as_deref().unwrap();
        assert!(reason.len() <= MAX_REASON, "{} bytes", reason.len());
        assert!(reason.len() > MAX_REASON - 64, "keeps what fits");
        assert!(reason.starts_with("éé") && reason.ends_with(" bytes cut)"));
        assert!(n.to_json().len() < MAX_REASON + MAX_OUTSIDE_TEXT);
        let short =
            Notification::new(EventType::RolledBack, &rollout).with_reason("alarm(s) firing: x");
        assert_eq!(short.reason.as_deref(), Some("alarm(s) firing: x"));
    }
}
