//! `shifter deploy --local`: this process drives the rollout with the `LocalDriver`, over the AWS APIs with
//! this shell's credentials (or, in tests, over any ports and clock).

use std::time::Duration;

use shifter::aws::AwsPorts;
use shifter::driver::{LocalDriver, LocalPorts, Outcome};
use shifter::ports::Clock;
use shifter::time::SystemClock;
use tracing::info;

use crate::deploy::Deployment;
use crate::render::Renderer;

/// Loads the AWS configuration (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL) and runs the rollout, with the
/// rollout registry in the deployment's table (`--table`/`SHIFTER_TABLE`) when given: the lease and the
/// records go there, and operators' commands come from there.
pub async fn run(deployment: &Deployment, render: &mut Renderer) -> i32 {
    let config = match crate::aws_env::load().await {
        Ok(config) => config,
        Err(missing) => {
            eprintln!("{}", missing.message("nothing was changed"));
            return crate::aws_env::EXIT_NO_AWS;
        }
    };
    let ports = AwsPorts::new(&config).with_table(deployment.table.clone());
    drive(&ports, &SystemClock, deployment, render)
        .await
        .exit_code()
}

/// Runs the rollout to its end, rendering progress and the outcome. With a table, the driver reads operators'
/// commands from the alias's lease at every check (`ports` must then be the registry in that table).
pub async fn drive<P: LocalPorts, C: Clock>(
    ports: &P,
    clock: &C,
    deployment: &Deployment,
    render: &mut Renderer,
) -> Outcome {
    let started = clock.now_millis();
    let driver = LocalDriver {
        check_interval: deployment.check_interval,
        listen: deployment.table.is_some(),
        ..LocalDriver::new(ports, clock)
    };
    info!(function = %deployment.spec.function_name, alias = %deployment.spec.alias, "deploying locally");
    let outcome = driver
        .run_until(
            &deployment.spec,
            &deployment.rollout_id,
            render,
            interrupted(),
        )
        .await;
    let elapsed = Duration::from_millis(clock.now_millis().saturating_sub(started));
    render.finish(&outcome, elapsed);
    outcome
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM (a cancelled CI job), naming it: the rollout then rolls
/// back. From then on the process keeps its handlers (tokio never gives a signal back to its default action),
/// so a second SIGINT or SIGTERM does not stop the rollback: only SIGKILL does (a CI runner's last step), and
/// then `shifter abort FUNCTION:ALIAS` restores the alias (measured in tests/e2e/test_abort_unowned.py).
async fn interrupted() -> String {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        let name = tokio::select! {
            _ = int.recv() => "interrupted (SIGINT)",
            _ = term.recv() => "terminated (SIGTERM)",
        };
        tracing::warn!(signal = name, "stopping the rollout and rolling back");
        name.to_string()
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted (Ctrl-C)".to_string()
    }
}
