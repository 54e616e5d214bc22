//! Test fixtures for the commands: a rollout running on `orders:live` (its record and lease in the fake
//! registry, the alias at its weight), and a stand-in for the state machine that acts on an abort.

use std::time::Duration;

use shifter::domain::Routing;
use shifter::fake::FakeAws;
use shifter::registry::control::{Answer, Command, WaitKind, Waiting, ABORTED};
use shifter::registry::{Lease, RolloutJournal, RolloutRecord, RolloutStatus};
use shifter::rollout::Rollout;
use shifter::usecase::lease;
use tokio::task::JoinHandle;

use crate::test_support::{aws_with_alias, rollout, ARN};

pub const NOW: u64 = 1_700_000_000_000;

/// How a fixture rollout is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// The state machine (execution `ARN`).
    Machine,
    /// `shifter deploy --local`: no execution, no task tokens.
    Local,
}

/// The canary at 10% on `orders:live` (versions 1 → 2), recorded Running and holding the alias's lease;
/// `waiting`: the wait registered on the lease, with its token open.
pub async fn running(driver: Driver, waiting: Option<(WaitKind, &str)>) -> (FakeAws, Rollout) {
    let aws = aws_with_alias(Routing::split("1", "2", 1000));
    let mut r = rollout();
    r.rollout_id = "r-1".into();
    r.steps_done = 1;
    r.weight_bps = 1000;
    r.started_ms = NOW - 60_000;
    r.execution_arn = (driver == Driver::Machine).then(|| ARN.to_string());
    aws.record(&RolloutRecord::of(&r, RolloutStatus::Running, NOW))
        .await
        .unwrap();
    if let Some(arn) = &r.execution_arn {
        aws.set_execution(arn, true);
    }
    if let Some((_, token)) = waiting {
        aws.open_token(token);
    }
    aws.put_lease(Lease {
        function_name: r.function_name.clone(),
        alias: r.alias.clone(),
        rollout_id: r.rollout_id.clone(),
        execution_arn: r.execution_arn.clone(),
        started_ms: r.started_ms,
        lease_until_ms: NOW + 3_600_000,
        waiting: waiting.map(|(kind, token)| Waiting {
            kind,
            token: token.into(),
            since_ms: NOW - 1000,
        }),
        ..Lease::default()
    });
    (aws, r)
}

/// Whether the rollout has its abort: its token failed with `Aborted`, or (no token) the abort on its lease.
fn has_abort(aws: &FakeAws, r: &Rollout, token: Option<&str>) -> bool {
    match token {
        Some(t) => {
            matches!(aws.token_answer(t), Some(Answer::Fail { error, .. }) if error == ABORTED)
        }
        None => aws
            .lease(&r.function_name, &r.alias)
            .and_then(|l| l.command)
            .is_some_and(|c| matches!(c, Command::Abort { .. })),
    }
}

/// Plays the rollout's driver: once it has the abort (and `turns` scheduler turns later, so the command polls a
/// while), it ends as `status`: RolledBack runs the real rollback first; the others only record the end.
pub fn runner(
    aws: &FakeAws,
    r: &Rollout,
    token: Option<&str>,
    status: RolloutStatus,
    turns: usize,
) -> JoinHandle<()> {
    let (aws, r, token) = (aws.clone(), r.clone(), token.map(str::to_string));
    tokio::spawn(async move {
        while !has_abort(&aws, &r, token.as_deref()) {
            tokio::task::yield_now().await;
        }
        for _ in 0..turns {
            tokio::task::yield_now().await;
        }
        if status == RolloutStatus::RolledBack {
            // An alias that is no longer the rollout's is left alone (the tests read the alias afterwards).
            let _ = shifter::usecase::rollback(&aws, &r, false).await;
        }
        let reason = "aborted by an operator: bad deploy";
        lease::finish(&aws, &r, status, Some(reason), NOW + 5000).await;
    })
}

pub const SECOND: Duration = Duration::from_secs(1);
