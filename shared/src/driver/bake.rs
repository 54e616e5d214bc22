//! The local driver's waits: a step's bake and an operator's pause. Both read the alarms every
//! `check_interval`; when the driver listens (a registry is configured) they also read the operator's command
//! from the alias's lease at every check, and act on it by the state machine's rules for its Bake and Paused
//! waits (`registry::control::answer`): a bake acts on `promote`, `pause` and `abort`, a pause on `resume`,
//! `promote` and `abort`.
//!
//! `resume` does as the state machine's does (its next Advance): one more alarm check, then the next step. The
//! rest of the bake the pause interrupted is skipped.

use std::time::Duration;

use tracing::{info, warn};

use super::{LocalDriver, LocalPorts, Observer, Progress};
use crate::analysis::decide::{AnalysisReport, CheckPoint};
use crate::error::Result;
use crate::notification::Notification;
use crate::ports::Clock;
use crate::registry::control::{answer, Command, LeaseKey, WaitKind, Waiting};
use crate::retry::Retrier;
use crate::rollout::Rollout;
use crate::usecase::{self, lease};

/// How a bake (or a pause within it) ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum BakeEnd {
    /// Its time is over, or an operator resumed a pause: on to the next step.
    Next,
    /// An operator's `promote`, and the alarm check that followed it was healthy: skip the remaining steps
    /// and bakes.
    Promote,
    /// Roll back, for this reason (an alarm, an operator's abort, a pause past its maximum).
    Stop(String),
}

/// What one check of a wait decided.
enum Tick {
    /// Healthy, and no command to act on: wait on.
    Wait,
    End(BakeEnd),
    /// An operator's `pause` (in a bake), with its maximum in seconds.
    Pause(u32),
    /// The analysis had too little data at the end of the bake: bake this many seconds more.
    Extend(u32),
}

/// Where a wait's check falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// In a bake; `over` once its time (and any extension) is up.
    Bake { over: bool },
    /// In an operator's pause.
    Pause,
}

/// What one check of the alarms (and the analysis, when due) found.
pub(super) enum Checked {
    Healthy,
    /// The analysis asks for this many seconds more before it judges.
    Extend(u32),
    /// Roll back, for this reason.
    Unhealthy(String),
}

impl<P: LocalPorts, C: Clock> LocalDriver<'_, P, C> {
    /// Waits out a bake, reading the alarms every `check_interval` and once at its end (at least once, even for
    /// a bake of zero), and, when listening, the operator's command before each of those reads.
    pub(super) async fn bake(
        &self,
        rollout: &mut Rollout,
        seconds: u32,
        obs: &mut impl Observer,
    ) -> Result<BakeEnd> {
        let mut total = Duration::from_secs(u64::from(seconds));
        let mut deadline = self.clock.now_millis() + total.as_millis() as u64;
        loop {
            let remaining = Duration::from_millis(deadline.saturating_sub(self.clock.now_millis()));
            if !remaining.is_zero() {
                obs.observe(Progress::Baking {
                    rollout: &*rollout,
                    remaining,
                    total,
                });
                self.clock.sleep(remaining.min(self.check_interval)).await;
            }
            let command = self.command(rollout, WaitKind::Bake).await;
            let end_of_bake = self.clock.now_millis() >= deadline;
            let at = At::Bake { over: end_of_bake };
            let tick = match self.act(rollout, command, at, obs).await? {
                Tick::Pause(max_seconds) => self.pause(rollout, max_seconds, obs).await?,
                tick => tick,
            };
            match tick {
                Tick::Wait if end_of_bake => return Ok(BakeEnd::Next),
                Tick::Wait | Tick::Pause(_) => {}
                Tick::End(end) => return Ok(end),
                Tick::Extend(more) => {
                    let more = Duration::from_secs(u64::from(more));
                    info!(rollout_id = %rollout.rollout_id, seconds = more.as_secs(), "bake extended for the analysis");
                    total += more;
                    let now = self.clock.now_millis();
                    deadline = now + more.as_millis() as u64;
                    lease::progress(self.ports, rollout, now, Some(more)).await;
                }
            }
        }
    }

    /// Holds the current weight until `resume`, `promote` or `abort`, reading the alarms (and the command) every
    /// `check_interval`; rolls back once `max_seconds` are over. Ends with `Tick::End`, or `Tick::Extend` when
    /// the analysis after a resume asks for more time.
    async fn pause(
        &self,
        rollout: &mut Rollout,
        max_seconds: u32,
        obs: &mut impl Observer,
    ) -> Result<Tick> {
        let max = Duration::from_secs(u64::from(max_seconds));
        let deadline = self.clock.now_millis() + max.as_millis() as u64;
        info!(rollout_id = %rollout.rollout_id, max_seconds, "paused by an operator");
        obs.observe(Progress::Paused {
            rollout: &*rollout,
            max,
        });
        // No bake ends while paused: the record stops showing one, and the lease shows the pause.
        lease::progress(self.ports, rollout, self.clock.now_millis(), None).await;
        self.show_wait(rollout, WaitKind::Pause).await;
        loop {
            let left = Duration::from_millis(deadline.saturating_sub(self.clock.now_millis()));
            if !left.is_zero() {
                self.clock.sleep(left.min(self.check_interval)).await;
            }
            // `command` never answers a pause while paused (`control::answer`).
            let command = self.command(rollout, WaitKind::Pause).await;
            if let tick @ (Tick::End(_) | Tick::Extend(_)) =
                self.act(rollout, command, At::Pause, obs).await?
            {
                return Ok(tick);
            }
            if self.clock.now_millis() >= deadline {
                return Ok(Tick::End(BakeEnd::Stop(format!(
                    "the rollout stayed paused past its maximum pause ({max_seconds} s)"
                ))));
            }
        }
    }

    /// One check of a wait: an `abort` rolls back at once; otherwise the alarms are read, and the analysis when
    /// due (an unhealthy verdict rolls back, whatever the command), then `promote`, `resume` or `pause` is acted
    /// on. A resume ends the bake, as the state machine's Advance does: its analysis may extend it.
    async fn act(
        &self,
        rollout: &mut Rollout,
        command: Option<Command>,
        at: At,
        obs: &mut impl Observer,
    ) -> Result<Tick> {
        if let Some(Command::Abort { reason }) = &command {
            return Ok(Tick::End(BakeEnd::Stop(format!(
                "aborted by an operator: {reason}"
            ))));
        }
        // While paused, the analysis waits for the resume, as in the state machine (whose Paused wait runs no
        // Advance); the alarms are still read.
        let point = CheckPoint {
            end_of_bake: at == (At::Bake { over: true })
                || matches!(command, Some(Command::Resume)),
            promote: matches!(command, Some(Command::Promote)),
            interval_over: at != At::Pause && rollout.interval_over(self.clock.now_millis()),
        };
        match self.check(rollout, point, obs).await? {
            Checked::Unhealthy(reason) => return Ok(Tick::End(BakeEnd::Stop(reason))),
            Checked::Extend(seconds) => {
                if matches!(command, Some(Command::Resume)) {
                    self.show_wait(rollout, WaitKind::Bake).await;
                }
                return Ok(Tick::Extend(seconds));
            }
            Checked::Healthy => {}
        }
        Ok(match command {
            Some(Command::Promote) => {
                info!(rollout_id = %rollout.rollout_id, "promote requested: skipping the remaining steps");
                obs.observe(Progress::PromoteRequested { rollout: &*rollout });
                Tick::End(BakeEnd::Promote)
            }
            Some(Command::Resume) => {
                info!(rollout_id = %rollout.rollout_id, "resumed by an operator");
                obs.observe(Progress::Resumed { rollout: &*rollout });
                self.show_wait(rollout, WaitKind::Bake).await;
                Tick::End(BakeEnd::Next)
            }
            Some(Command::Pause { max_seconds }) => Tick::Pause(max_seconds),
            Some(Command::Abort { .. }) | None => Tick::Wait,
        })
    }

    /// Shows the wait on the lease (`shifter list`: paused), with no task token: a local rollout reads its
    /// commands itself, nobody answers it. A failed write is logged: the registry never fails a rollout.
    async fn show_wait(&self, rollout: &Rollout, kind: WaitKind) {
        if !self.listen {
            return;
        }
        let waiting = Waiting {
            kind,
            token: String::new(),
            since_ms: self.clock.now_millis(),
        };
        if let Err(error) = self.ports.wait_for(&LeaseKey::of(rollout), &waiting).await {
            warn!(rollout_id = %rollout.rollout_id, %error, "could not show the wait on the lease");
        }
    }

    /// The operator's command on the alias's lease that a wait of `kind` acts on, when the driver listens: one
    /// check-in on the lease, which reads it too (`shifter abort` watches the check-ins to tell a live process
    /// from one that is gone). A command given before the rollout started, or one this wait does not act on
    /// (`control::answer`: a `pause` while paused, a `resume` while baking) is none, as is anything once the
    /// rollout no longer holds the lease. A failed check-in is logged and counts as none: the registry never
    /// fails a rollout.
    async fn command(&self, rollout: &Rollout, kind: WaitKind) -> Option<Command> {
        if !self.listen {
            return None;
        }
        match self
            .ports
            .check_in(&LeaseKey::of(rollout), self.clock.now_millis())
            .await
        {
            Ok(Some(lease)) if lease.rollout_id == rollout.rollout_id => {
                let given_ms = lease.command_ms?;
                lease.command.filter(|command| {
                    given_ms >= rollout.started_ms && answer(kind, command).is_some()
                })
            }
            Ok(_) => None,
            Err(error) => {
                warn!(rollout_id = %rollout.rollout_id, %error, "could not read the operator's commands; going on");
                None
            }
        }
    }

    /// Reads the alarms, and runs the analysis when due (`usecase::check`, with the same retry as the state
    /// machine's Advance), records it, and publishes the analysis's event as Advance does.
    pub(super) async fn check(
        &self,
        rollout: &mut Rollout,
        point: CheckPoint,
        obs: &mut impl Observer,
    ) -> Result<Checked> {
        let retry = Retrier { clock: self.clock };
        let now = self.clock.now_millis();
        let verdict = retry
            .run("Advance", || {
                usecase::check(self.ports, rollout, now, point)
            })
            .await?;
        rollout.checked(now, &verdict);
        obs.observe(Progress::Checked {
            rollout: &*rollout,
            verdict: &verdict,
        });
        let report = verdict.analysis.as_ref();
        if let Some(event) = report.and_then(|r| Notification::of_analysis(rollout, r)) {
            self.emit(obs, rollout, event).await;
        }
        if !verdict.healthy {
            return Ok(Checked::Unhealthy(verdict.reason()));
        }
        Ok(match report.and_then(AnalysisReport::extend_seconds) {
            Some(seconds) => Checked::Extend(seconds),
            None => Checked::Healthy,
        })
    }
}
