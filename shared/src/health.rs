//! Health verdicts: pure judgement over alarm states. An unhealthy verdict is data, not an error.

use serde::{Deserialize, Serialize};

use crate::analysis::decide::AnalysisReport;
use crate::domain::{AlarmState, AlarmStatus};
use crate::request::InsufficientData;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub healthy: bool,
    /// Alarms in ALARM (and, under the strict policy, in INSUFFICIENT_DATA).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<String>,
    /// Alarms the rollout watched that no longer exist. Losing a safety signal counts as unhealthy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Alarms that went to ALARM and cleared again since the previous check. A firing that nobody read is
    /// still a firing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleared: Vec<String>,
    /// The canary analysis, when this check ran one. Its decision `fail` makes the verdict unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<AnalysisReport>,
}

impl Verdict {
    pub fn healthy() -> Self {
        Verdict {
            healthy: true,
            ..Verdict::default()
        }
    }

    /// Adds the analysis this check ran: a `fail` decision makes the verdict unhealthy.
    pub fn with_analysis(mut self, report: AnalysisReport) -> Self {
        if report.failure_reason().is_some() {
            self.healthy = false;
        }
        self.analysis = Some(report);
        self
    }

    /// Whether the alarms alone are healthy (the analysis aside).
    pub fn alarms_healthy(&self) -> bool {
        self.failing.is_empty() && self.missing.is_empty() && self.cleared.is_empty()
    }

    /// What the alarms said, the analysis aside.
    pub fn alarm_reason(&self) -> String {
        Verdict {
            analysis: None,
            ..self.clone()
        }
        .reason()
    }

    pub fn reason(&self) -> String {
        let mut parts = Vec::new();
        if !self.failing.is_empty() {
            parts.push(format!("alarm(s) firing: {}", self.failing.join(", ")));
        }
        if !self.cleared.is_empty() {
            parts.push(format!(
                "alarm(s) fired and cleared since the last check: {}",
                self.cleared.join(", ")
            ));
        }
        if !self.missing.is_empty() {
            parts.push(format!(
                "alarm(s) deleted during the rollout: {}",
                self.missing.join(", ")
            ));
        }
        if let Some(reason) = self
            .analysis
            .as_ref()
            .and_then(AnalysisReport::failure_reason)
        {
            parts.push(reason);
        }
        if parts.is_empty() {
            "healthy".to_string()
        } else {
            parts.join("; ")
        }
    }
}

/// Judges the watched alarms. `observed` may come in any order and may omit deleted alarms. `fired_since` names
/// the alarms whose history shows an ALARM since the previous check; one that is not failing now counts as
/// fired and cleared.
pub fn judge(
    watched: &[String],
    observed: &[AlarmStatus],
    fired_since: &[String],
    policy: InsufficientData,
) -> Verdict {
    let mut failing = Vec::new();
    let mut missing = Vec::new();
    let mut cleared = Vec::new();
    for name in watched {
        match observed.iter().find(|s| &s.name == name).map(|s| s.state) {
            None => missing.push(name.clone()),
            Some(AlarmState::Alarm) => failing.push(name.clone()),
            Some(AlarmState::InsufficientData) if policy == InsufficientData::Unhealthy => {
                failing.push(name.clone())
            }
            Some(_) if fired_since.contains(name) => cleared.push(name.clone()),
            Some(_) => {}
        }
    }
    Verdict {
        healthy: failing.is_empty() && missing.is_empty() && cleared.is_empty(),
        failing,
        missing,
        cleared,
        analysis: None,
    }
}

/// The watched alarms worth a look at their history: not failing now, and their state changed at or after
/// `since_ms` (so they may have gone through ALARM in between). A state with no transition time is looked at.
pub fn changed_since(watched: &[String], observed: &[AlarmStatus], since_ms: u64) -> Vec<String> {
    observed
        .iter()
        .filter(|s| watched.contains(&s.name) && s.state != AlarmState::Alarm)
        .filter(|s| s.transitioned_ms.is_none_or(|t| t >= since_ms))
        .map(|s| s.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status(name: &str, state: AlarmState) -> AlarmStatus {
        AlarmStatus {
            name: name.into(),
            state,
            transitioned_ms: None,
        }
    }

    #[test]
    fn no_alarms_is_healthy() {
        assert_eq!(
            judge(&[], &[], &[], InsufficientData::Healthy),
            Verdict::healthy()
        );
    }

    #[test]
    fn table() {
        use AlarmState::{Alarm, Ok};
        const INSUFFICIENT: AlarmState = AlarmState::InsufficientData;
        let w = vec!["a".to_string(), "b".to_string()];
        let cases = [
            (
                vec![status("a", Ok), status("b", Ok)],
                InsufficientData::Healthy,
                true,
                vec![],
                vec![],
            ),
            (
                vec![status("b", Alarm), status("a", Ok)],
                InsufficientData::Healthy,
                false,
                vec!["b"],
                vec![],
            ),
            (
                vec![status("a", INSUFFICIENT), status("b", Ok)],
                InsufficientData::Healthy,
                true,
                vec![],
                vec![],
            ),
            (
                vec![status("a", INSUFFICIENT), status("b", Ok)],
                InsufficientData::Unhealthy,
                false,
                vec!["a"],
                vec![],
            ),
            (
                vec![status("a", Ok)],
                InsufficientData::Healthy,
                false,
                vec![],
                vec!["b"],
            ),
            (
                vec![status("a", Alarm), status("b", Alarm)],
                InsufficientData::Healthy,
                false,
                vec!["a", "b"],
                vec![],
            ),
        ];
        for (observed, policy, healthy, failing, missing) in cases {
            let v = judge(&w, &observed, &[], policy);
            let (failing, missing): (Vec<&str>, Vec<&str>) = (failing, missing);
            assert_eq!(v.healthy, healthy, "{observed:?} {policy:?}");
            assert_eq!(v.failing, failing);
            assert_eq!(v.missing, missing);
        }
    }

    #[test]
    fn reason_names_the_alarms() {
        let v = judge(
            &["x".into(), "y".into()],
            &[status("x", AlarmState::Alarm)],
            &[],
            InsufficientData::Healthy,
        );
        assert_eq!(
            v.reason(),
            "alarm(s) firing: x; alarm(s) deleted during the rollout: y"
        );
    }

    #[test]
    fn an_alarm_that_fired_and_cleared_is_unhealthy() {
        use AlarmState::{Alarm, Ok};
        let w = vec!["a".to_string(), "b".to_string()];
        let observed = [status("a", Ok), status("b", Alarm)];
        let v = judge(
            &w,
            &observed,
            &["a".into(), "b".into()],
            InsufficientData::Healthy,
        );
        assert!(!v.healthy);
        assert_eq!(
            (v.failing, v.cleared),
            (vec!["b".to_string()], vec!["a".to_string()])
        );
        let v = judge(
            &w,
            &[status("a", Ok), status("b", Ok)],
            &["a".into()],
            InsufficientData::Healthy,
        );
        assert_eq!(
            v.reason(),
            "alarm(s) fired and cleared since the last check: a"
        );
        // A history entry for an alarm the rollout does not watch changes nothing.
        assert!(
            judge(
                &w,
                &[status("a", Ok), status("b", Ok)],
                &["z".into()],
                InsufficientData::Healthy
            )
            .healthy
        );
    }

    #[test]
    fn only_alarms_that_changed_since_the_last_check_need_their_history() {
        let at = |name: &str, state, t| AlarmStatus {
            name: name.into(),
            state,
            transitioned_ms: t,
        };
        let w: Vec<String> = ["old", "new", "firing", "unknown"]
            .map(String::from)
            .to_vec();
        let observed = [
            at("old", AlarmState::Ok, Some(999)),
            at("new", AlarmState::Ok, Some(1000)),
            at("firing", AlarmState::Alarm, Some(2000)),
            at("unknown", AlarmState::InsufficientData, None),
            at("unwatched", AlarmState::Ok, Some(5000)),
        ];
        assert_eq!(changed_since(&w, &observed, 1000), ["new", "unknown"]);
    }

    fn state() -> impl Strategy<Value = AlarmState> {
        prop_oneof![
            Just(AlarmState::Ok),
            Just(AlarmState::Alarm),
            Just(AlarmState::InsufficientData)
        ]
    }

    proptest! {
        #[test]
        fn healthy_iff_every_watched_alarm_is_acceptable(states in proptest::collection::vec(state(), 0..8), strict: bool) {
            let watched: Vec<String> = (0..states.len()).map(|i| format!("alarm-{i}")).collect();
            let observed: Vec<AlarmStatus> = watched.iter().zip(&states).map(|(n, s)| status(n, *s)).collect();
            let policy = if strict { InsufficientData::Unhealthy } else { InsufficientData::Healthy };
            let v = judge(&watched, &observed, &[], policy);
            let acceptable = states.iter().all(|s| *s == AlarmState::Ok || (*s == AlarmState::InsufficientData && !strict));
            prop_assert_eq!(v.healthy, acceptable);
            prop_assert!(v.missing.is_empty());
        }
    }
}
