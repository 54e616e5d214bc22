//! The tracker: history events, in order, become progress and, at the end, an [`Ended`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shifter::driver::{Observer, Outcome, Progress};
use shifter::notification::{EventType, HookPhase, Notification};
use shifter::state::{RolloutState, StateError};
use shifter::Error;

use super::{
    cause_message, error_from, exit_code_for_error, rollout_state, Ended, ADVANCE, BAKE, FINALIZE,
    NOTIFY_ROLLBACK_FAILED, PAUSED, POST_TRAFFIC_HOOK, PREPARE, PRE_TRAFFIC_HOOK, ROLLBACK,
};
use crate::stepfunctions::Event;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Turns history events, in order, into progress and, at the end, an [`Ended`].
#[derive(Debug, Default)]
pub struct Tracker {
    last: Option<RolloutState>,
    steps_shown: usize,
    started_ms: Option<i64>,
    /// The current time, for bake countdowns (`None`: the system clock).
    pub now_ms: Option<i64>,
}

impl Tracker {
    pub fn new() -> Self {
        Tracker::default()
    }

    /// The latest rollout state seen.
    pub fn state(&self) -> Option<&RolloutState> {
        self.last.as_ref()
    }

    fn lifecycle(obs: &mut impl Observer, n: Notification) {
        obs.observe(Progress::Lifecycle(&n));
    }

    /// Feeds one event; `Some` when the execution has ended.
    pub fn on_event(&mut self, e: &Event, obs: &mut impl Observer) -> Option<Ended> {
        if e.kind == "ExecutionStarted" {
            self.started_ms = Some(e.timestamp_ms);
            return None;
        }
        let name = e.state_name.as_deref().unwrap_or_default();
        if e.is_state_entered() || e.is_state_exited() {
            if let Some(state) = rollout_state(e.data.as_deref()) {
                self.on_state(e, name, &state, obs);
                self.last = Some(state);
            }
            return None;
        }
        let elapsed = Duration::from_millis(
            e.timestamp_ms
                .saturating_sub(self.started_ms.unwrap_or(e.timestamp_ms))
                .max(0) as u64,
        );
        match e.kind.as_str() {
            "ExecutionSucceeded" => {
                let state = rollout_state(e.data.as_deref()).or_else(|| self.last.clone());
                let Some(state) = state else {
                    return Some(self.ended_without_rollout(
                        "SUCCEEDED",
                        0,
                        Error::InvalidState {
                            message: "the execution succeeded without a rollout state".into(),
                        },
                        elapsed,
                    ));
                };
                Self::lifecycle(
                    obs,
                    Notification::new(EventType::RolloutSucceeded, &state.rollout),
                );
                Some(Ended {
                    outcome: Outcome::Promoted {
                        rollout: state.rollout,
                    },
                    exit_code: 0,
                    elapsed,
                    status: "SUCCEEDED",
                })
            }
            "ExecutionFailed" => Some(self.failed(e, elapsed)),
            "ExecutionAborted" | "ExecutionTimedOut" => {
                let status = if e.kind == "ExecutionAborted" {
                    "ABORTED"
                } else {
                    "TIMED_OUT"
                };
                let why = e.cause.clone().or_else(|| e.error.clone());
                let message = format!(
                    "the execution was {}{}; the state machine did not roll back: run `shifter abort` on it or check the alias",
                    status.to_lowercase().replace('_', " "),
                    why.map(|w| format!(" ({w})")).unwrap_or_default()
                );
                let error = Error::AwsRejected {
                    operation: "the rollout execution".into(),
                    message,
                };
                Some(match self.last.clone() {
                    Some(state) => Ended {
                        outcome: Outcome::Failed {
                            rollout: state.rollout,
                            error,
                            alias_restored: false,
                        },
                        exit_code: 1,
                        elapsed,
                        status,
                    },
                    None => self.ended_without_rollout(status, 1, error, elapsed),
                })
            }
            _ => None,
        }
    }

    fn ended_without_rollout(
        &self,
        status: &'static str,
        exit_code: i32,
        error: Error,
        elapsed: Duration,
    ) -> Ended {
        Ended {
            outcome: Outcome::Rejected { error },
            exit_code,
            elapsed,
            status,
        }
    }

    fn failed(&self, e: &Event, elapsed: Duration) -> Ended {
        let name = e.error.as_deref().unwrap_or("States.Unknown");
        let exit_code = exit_code_for_error(name);
        let message = cause_message(name, e.cause.as_deref());
        let outcome = match (name, self.last.clone()) {
            // The RolledBack Fail state ends with the error Rollback chose ($.endError): RolledBack, or
            // AliasChanged when someone else changed the alias (restored if it was a write of this rollout's,
            // left alone otherwise).
            (_, Some(state))
                if name == "RolledBack" || state.end_error.as_deref() == Some(name) =>
            {
                match (&state.left_alone, &state.error) {
                    (Some(found), _) => Outcome::LeftAlone {
                        reason: state.reason.clone().unwrap_or(message),
                        found: found.clone(),
                        rollout: state.rollout,
                    },
                    (None, Some(caught)) => Outcome::Failed {
                        error: error_from(&caught.error, &caught.message()),
                        rollout: state.rollout,
                        alias_restored: true,
                    },
                    (None, None) => Outcome::RolledBack {
                        reason: state.reason.clone().unwrap_or(message),
                        rollout: state.rollout,
                    },
                }
            }
            ("RollbackFailed", Some(state)) => {
                let error = match state.rollback_error.as_ref().or(state.error.as_ref()) {
                    Some(err) => error_from(&err.error, &err.message()),
                    None => error_from(name, &message),
                };
                Outcome::Failed {
                    rollout: state.rollout,
                    error,
                    alias_restored: false,
                }
            }
            ("InvalidRequest" | "ResourceNotFound" | "AliasBusy", _) | (_, None) => {
                Outcome::Rejected {
                    error: error_from(name, &message),
                }
            }
            (_, Some(state)) => Outcome::Failed {
                rollout: state.rollout,
                error: error_from(name, &message),
                alias_restored: false,
            },
        };
        Ended {
            outcome,
            exit_code,
            elapsed,
            status: "FAILED",
        }
    }

    fn on_state(&mut self, e: &Event, name: &str, state: &RolloutState, obs: &mut impl Observer) {
        let rollout = &state.rollout;
        match (e.kind.as_str(), name) {
            ("TaskStateExited", PREPARE) => {
                self.steps_shown = rollout.steps_done;
                Self::lifecycle(obs, Notification::new(EventType::RolloutStarted, rollout));
            }
            ("TaskStateExited", PRE_TRAFFIC_HOOK | POST_TRAFFIC_HOOK) => {
                let phase = if name == PRE_TRAFFIC_HOOK {
                    HookPhase::PreTraffic
                } else {
                    HookPhase::PostTraffic
                };
                let configured = match phase {
                    HookPhase::PreTraffic => rollout.hooks.pre_traffic.is_some(),
                    HookPhase::PostTraffic => rollout.hooks.post_traffic.is_some(),
                };
                let Some(hook) = state.hook.as_ref().filter(|h| h.phase == phase) else {
                    return;
                };
                if !configured {
                    return;
                }
                let n = if hook.succeeded {
                    Notification::new(EventType::HookSucceeded, rollout).with_phase(phase)
                } else {
                    let n = Notification::new(EventType::HookFailed, rollout).with_phase(phase);
                    match hook.reason.as_deref() {
                        Some(reason) => n.with_reason(reason),
                        None => n,
                    }
                };
                Self::lifecycle(obs, n);
            }
            ("TaskStateExited", ADVANCE) => {
                if let Some(verdict) = &state.verdict {
                    obs.observe(Progress::Checked { rollout, verdict });
                    // The analysis's event, as Advance published it (and as the local driver shows it).
                    if let Some(n) = verdict
                        .analysis
                        .as_ref()
                        .and_then(|report| Notification::of_analysis(rollout, report))
                    {
                        Self::lifecycle(obs, n);
                    }
                }
                if rollout.steps_done > self.steps_shown {
                    self.steps_shown = rollout.steps_done;
                    Self::lifecycle(obs, Notification::new(EventType::TrafficShifted, rollout));
                }
            }
            ("TaskStateExited", FINALIZE) => {
                self.steps_shown = rollout.steps_done;
                Self::lifecycle(obs, Notification::new(EventType::TrafficShifted, rollout));
            }
            ("TaskStateEntered", BAKE) => {
                let total = Duration::from_secs(u64::from(state.wait_seconds));
                let now = self.now_ms.unwrap_or_else(now_ms);
                let waited =
                    Duration::from_millis(now.saturating_sub(e.timestamp_ms).max(0) as u64);
                obs.observe(Progress::Baking {
                    rollout,
                    remaining: total.saturating_sub(waited),
                    total,
                });
            }
            ("TaskStateEntered", PAUSED) => {
                let max = state
                    .operator
                    .as_ref()
                    .and_then(|o| o.get("pauseSeconds"))
                    .and_then(serde_json::Value::as_u64)
                    .map_or(Duration::ZERO, Duration::from_secs);
                obs.observe(Progress::Paused { rollout, max });
            }
            // A wait answered by an operator (a bake or pause that timed out or was failed has no command).
            ("TaskStateExited", BAKE | PAUSED) => match state.operator_command() {
                Some("promote") => obs.observe(Progress::PromoteRequested { rollout }),
                Some("resume") => obs.observe(Progress::Resumed { rollout }),
                _ => {}
            },
            ("TaskStateExited", ROLLBACK) => {
                let reason = state
                    .reason
                    .clone()
                    .unwrap_or_else(|| "rollback requested".into());
                let n = match &state.error {
                    // The reason already says what was found and left alone.
                    _ if state.left_alone.is_some() => {
                        Notification::new(EventType::RolloutFailed, rollout)
                            .with_reason(reason)
                            .with_error_type("AliasChanged")
                    }
                    None => Notification::new(EventType::RolledBack, rollout).with_reason(reason),
                    Some(error) => Notification::new(EventType::RolloutFailed, rollout)
                        .with_reason(format!(
                            "{reason}; alias restored to version {}",
                            rollout.current_version
                        ))
                        .with_error_type(&error.error),
                };
                Self::lifecycle(obs, n);
            }
            ("TaskStateEntered", NOTIFY_ROLLBACK_FAILED) => {
                let reason = state
                    .rollback_error
                    .as_ref()
                    .map(StateError::message)
                    .unwrap_or_else(|| "the rollback failed".into());
                let mut n =
                    Notification::new(EventType::RollbackFailed, rollout).with_reason(reason);
                if let Some(err) = &state.rollback_error {
                    n = n.with_error_type(&err.error);
                }
                Self::lifecycle(obs, n);
            }
            _ => {}
        }
    }
}
