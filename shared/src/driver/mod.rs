//! The local driver: runs a rollout in-process (`shifter deploy --local`), over the same use cases and plan
//! as the state machine. It owns only sequencing and time: shift, bake with periodic checks, finalize, hooks,
//! and rollback on an unhealthy verdict or an error. With a registry it also listens: operators' commands
//! (`shifter promote | pause | resume | abort`) reach it through the alias's lease (`bake.rs`).

mod bake;
mod outcome;
mod progress;

use std::time::Duration;

use tracing::info;

pub use outcome::Outcome;
pub use progress::{Observer, Progress, Silent};

use crate::analysis::decide::CheckPoint;
use crate::analysis::metrics::MetricsSource;
use crate::error::{Error, Result};
use crate::notification::{EventType, HookPhase, Notification};
use crate::plan::FULL_BPS;
use crate::ports::{
    AlarmSource, AliasRouter, CallerIdentity, Clock, FunctionRegistry, HookInvoker, Notifier,
};
use crate::registry::control::RolloutControl;
use crate::request::RolloutSpec;
use crate::retry::Retrier;
use crate::rollout::Rollout;
use crate::usecase::{self, lease, RollbackAction, RollbackEnd};
use bake::{BakeEnd, Checked};
use lease::Registry;

/// Everything the local driver needs from AWS.
pub trait LocalPorts:
    AliasRouter
    + FunctionRegistry
    + AlarmSource
    + MetricsSource
    + HookInvoker
    + Notifier
    + CallerIdentity
    + Registry
    + RolloutControl
{
}
impl<T> LocalPorts for T where
    T: AliasRouter
        + FunctionRegistry
        + AlarmSource
        + MetricsSource
        + HookInvoker
        + Notifier
        + CallerIdentity
        + Registry
        + RolloutControl
{
}

enum Flow {
    Promoted,
    Unhealthy(String),
}

/// Why the rollout stops, and whether an alias write may have landed unseen (an error or an abort mid-call).
struct Stop {
    reason: String,
    error: Option<Error>,
    write_may_be_in_flight: bool,
}

pub struct LocalDriver<'a, P, C> {
    pub ports: &'a P,
    pub clock: &'a C,
    /// How often alarms are read during a bake (and a pause).
    pub check_interval: Duration,
    /// Whether operators' commands are read from the alias's lease at every check (one read each). Only with a
    /// registry: without one there is no lease to read. Off by default.
    pub listen: bool,
}

impl<'a, P: LocalPorts, C: Clock> LocalDriver<'a, P, C> {
    pub fn new(ports: &'a P, clock: &'a C) -> Self {
        LocalDriver {
            ports,
            clock,
            check_interval: lease::DEFAULT_CHECK_INTERVAL,
            listen: false,
        }
    }

    pub async fn run(
        &self,
        spec: &RolloutSpec,
        rollout_id: &str,
        obs: &mut impl Observer,
    ) -> Outcome {
        self.run_until(spec, rollout_id, obs, std::future::pending())
            .await
    }

    /// Like `run`, but when `abort` completes (an operator's Ctrl-C, a CI runner's SIGTERM) the rollout stops
    /// where it is and rolls back: a weighted alias must never outlive the process that owns it.
    pub async fn run_until(
        &self,
        spec: &RolloutSpec,
        rollout_id: &str,
        obs: &mut impl Observer,
        abort: impl std::future::Future<Output = String>,
    ) -> Outcome {
        let retry = Retrier { clock: self.clock };
        // Prepare's checks, then the alias's lease (when a registry is configured), before any alias write.
        let prepared = retry
            .run("Prepare", || async {
                let rollout = usecase::prepare(self.ports, self.clock, spec, rollout_id).await?;
                let checks_in = self.listen.then_some(self.check_interval);
                lease::take_checking_in(self.ports, self.clock, &rollout, checks_in).await?;
                Ok(rollout)
            })
            .await;
        let prepared = match prepared {
            Ok(r) => r,
            Err(error) => return Outcome::Rejected { error },
        };
        let outcome = self.run_prepared(prepared, obs, abort).await;
        if let Some((rollout, status, reason)) = outcome.registry_end() {
            let now = self.clock.now_millis();
            lease::finish(self.ports, rollout, status, reason.as_deref(), now).await;
        }
        outcome
    }

    async fn run_prepared(
        &self,
        prepared: Rollout,
        obs: &mut impl Observer,
        abort: impl std::future::Future<Output = String>,
    ) -> Outcome {
        self.emit(
            obs,
            &prepared,
            Notification::new(EventType::RolloutStarted, &prepared),
        )
        .await;
        let mut rollout = prepared;
        // Dropping `drive` mid-call is safe: every write is absolute and fenced, and rollback reads the alias
        // afresh before it writes. A write dropped mid-call may have landed, so the rollback counts it as ours.
        let flow = tokio::select! {
            flow = self.drive(&mut rollout, obs) => flow,
            reason = abort => Ok((Flow::Unhealthy(format!("aborted: {reason}")), true)),
        };
        let stop = match flow {
            Ok((Flow::Promoted, _)) => {
                self.emit(
                    obs,
                    &rollout,
                    Notification::new(EventType::RolloutSucceeded, &rollout),
                )
                .await;
                return Outcome::Promoted { rollout };
            }
            Ok((Flow::Unhealthy(reason), aborted)) => Stop {
                reason,
                error: None,
                write_may_be_in_flight: aborted,
            },
            Err(error) => Stop {
                reason: error.to_string(),
                error: Some(error),
                write_may_be_in_flight: true,
            },
        };
        self.roll_back(rollout, stop, obs).await
    }

    async fn roll_back(&self, rollout: Rollout, stop: Stop, obs: &mut impl Observer) -> Outcome {
        let Stop {
            reason,
            error,
            write_may_be_in_flight,
        } = stop;
        info!(rollout_id = %rollout.rollout_id, reason, "rolling back");
        let retry = Retrier { clock: self.clock };
        let done = retry
            .run("Rollback", || {
                usecase::rollback(self.ports, &rollout, write_may_be_in_flight)
            })
            .await;
        let end = RollbackEnd::of(
            &rollout,
            &reason,
            error.as_ref().map(Error::error_type),
            done.as_ref(),
        );
        self.emit(obs, &end.rollout, end.notification).await;
        let rollout = end.rollout;
        match done {
            Ok(done) if done.action == RollbackAction::LeftAlone => Outcome::LeftAlone {
                rollout,
                reason,
                found: done.routing,
            },
            Ok(_) => match error {
                None => Outcome::RolledBack { rollout, reason },
                Some(error) => Outcome::Failed {
                    rollout,
                    error,
                    alias_restored: true,
                },
            },
            Err(rollback_error) => Outcome::Failed {
                rollout,
                error: error.unwrap_or(rollback_error),
                alias_restored: false,
            },
        }
    }

    /// The flow, and false: nothing was aborted mid-call.
    async fn drive(&self, rollout: &mut Rollout, obs: &mut impl Observer) -> Result<(Flow, bool)> {
        self.steps(rollout, obs).await.map(|flow| (flow, false))
    }

    async fn steps(&self, rollout: &mut Rollout, obs: &mut impl Observer) -> Result<Flow> {
        let retry = Retrier { clock: self.clock };
        if let Some(reason) = self.hook(rollout, HookPhase::PreTraffic, obs).await? {
            return Ok(Flow::Unhealthy(reason));
        }
        if let Checked::Unhealthy(reason) = self.check(rollout, CheckPoint::default(), obs).await? {
            return Ok(Flow::Unhealthy(reason));
        }
        while let Some(step) = rollout.next_step().filter(|s| s.weight_bps < FULL_BPS) {
            let current = rollout.clone();
            *rollout = retry
                .run("Advance", || usecase::shift_traffic(self.ports, &current))
                .await?;
            let bake = Duration::from_secs(u64::from(step.bake_seconds));
            let shifted = self.clock.now_millis();
            // The local driver times the bake itself, checking every `check_interval`: the chunks the state
            // machine waits are not needed here, only the analysis window's start.
            rollout.begin_step(shifted);
            lease::progress(self.ports, rollout, shifted, Some(bake)).await;
            self.emit(
                obs,
                rollout,
                Notification::new(EventType::TrafficShifted, rollout),
            )
            .await;
            match self.bake(rollout, step.bake_seconds, obs).await? {
                BakeEnd::Next => {}
                BakeEnd::Promote => break,
                BakeEnd::Stop(reason) => return Ok(Flow::Unhealthy(reason)),
            }
        }
        let current = rollout.clone();
        *rollout = retry
            .run("Finalize", || usecase::finalize(self.ports, &current))
            .await?;
        lease::progress(self.ports, rollout, self.clock.now_millis(), None).await;
        self.emit(
            obs,
            rollout,
            Notification::new(EventType::TrafficShifted, rollout),
        )
        .await;
        if let Some(reason) = self.hook(rollout, HookPhase::PostTraffic, obs).await? {
            return Ok(Flow::Unhealthy(reason));
        }
        Ok(Flow::Promoted)
    }

    async fn hook(
        &self,
        rollout: &Rollout,
        phase: HookPhase,
        obs: &mut impl Observer,
    ) -> Result<Option<String>> {
        let configured = match phase {
            HookPhase::PreTraffic => rollout.hooks.pre_traffic.is_some(),
            HookPhase::PostTraffic => rollout.hooks.post_traffic.is_some(),
        };
        if !configured {
            return Ok(None);
        }
        let task = match phase {
            HookPhase::PreTraffic => "PreTrafficHook",
            HookPhase::PostTraffic => "PostTrafficHook",
        };
        let verdict = Retrier { clock: self.clock }
            .run(task, || usecase::run_hook(self.ports, rollout, phase))
            .await?;
        let n = Notification::new(
            if verdict.succeeded {
                EventType::HookSucceeded
            } else {
                EventType::HookFailed
            },
            rollout,
        )
        .with_phase(phase);
        match verdict.reason {
            Some(reason) if !verdict.succeeded => {
                self.emit(obs, rollout, n.with_reason(&reason)).await;
                Ok(Some(format!("{} hook failed: {reason}", phase.as_str())))
            }
            _ => {
                self.emit(obs, rollout, n).await;
                Ok(None)
            }
        }
    }

    async fn emit(&self, obs: &mut impl Observer, rollout: &Rollout, n: Notification) {
        obs.observe(Progress::Lifecycle(&n));
        if let Err(error) = usecase::notify(self.ports, rollout, &n).await {
            obs.observe(Progress::NotifyFailed {
                event: n.event_type,
                error: &error,
            });
        }
    }
}

#[cfg(test)]
mod analysis_tests;
#[cfg(test)]
mod aws_rules_tests;
#[cfg(test)]
mod listen_tests;
#[cfg(test)]
mod tests;
