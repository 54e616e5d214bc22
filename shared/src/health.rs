//! Health verdicts: pure judgement over alarm states. An unhealthy verdict is data, not an error.

use serde::{Deserialize, Serialize};

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
}

impl Verdict {
    pub fn healthy() -> Self {
        Verdict {
            healthy: true,
            ..Verdict::default()
        }
    }

    pub fn reason(&self) -> String {
        let mut parts = Vec::new();
        if !self.failing.is_empty() {
            parts.push(format!("alarm(s) firing: {}", self.failing.join(", ")));
        }
        if !self.missing.is_empty() {
            parts.push(format!(
                "alarm(s) deleted during the rollout: {}",
                self.missing.join(", ")
            ));
        }
        if parts.is_empty() {
            "healthy".to_string()
        } else {
            parts.join("; ")
        }
    }
}

/// Judges the watched alarms. `observed` may come in any order and may omit deleted alarms.
pub fn judge(watched: &[String], observed: &[AlarmStatus], policy: InsufficientData) -> Verdict {
    let mut failing = Vec::new();
    let mut missing = Vec::new();
    for name in watched {
        match observed.iter().find(|s| &s.name == name).map(|s| s.state) {
            None => missing.push(name.clone()),
            Some(AlarmState::Alarm) => failing.push(name.clone()),
            Some(AlarmState::InsufficientData) if policy == InsufficientData::Unhealthy => {
                failing.push(name.clone())
            }
            Some(_) => {}
        }
    }
    Verdict {
        healthy: failing.is_empty() && missing.is_empty(),
        failing,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status(name: &str, state: AlarmState) -> AlarmStatus {
        AlarmStatus {
            name: name.into(),
            state,
        }
    }

    #[test]
    fn no_alarms_is_healthy() {
        assert_eq!(
            judge(&[], &[], InsufficientData::Healthy),
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
            let v = judge(&w, &observed, policy);
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
            InsufficientData::Healthy,
        );
        assert_eq!(
            v.reason(),
            "alarm(s) firing: x; alarm(s) deleted during the rollout: y"
        );
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
            let v = judge(&watched, &observed, policy);
            let acceptable = states.iter().all(|s| *s == AlarmState::Ok || (*s == AlarmState::InsufficientData && !strict));
            prop_assert_eq!(v.healthy, acceptable);
            prop_assert!(v.missing.is_empty());
        }
    }
}
