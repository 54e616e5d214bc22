use serde_json::json;
use shifter::domain::Routing;
use shifter::fake::{FakeAws, FakeClock, Op};
use shifter::registry::control::WaitKind;

use super::*;
use crate::commands::fixture::{runner, running, Driver, NOW, SECOND};
use crate::render::Captured;
use crate::test_support::{weighted_history, FakeApi, ARN};

fn request(target: &str, format: OutputFormat) -> Abort<'_> {
    Abort {
        target,
        reason: "bad deploy".into(),
        timeout: Duration::from_secs(60),
        poll: SECOND,
        format,
        registry: true,
        unowned: false,
    }
}

/// Runs `abort`: (exit code, stdout, stderr).
async fn aborted(
    aws: &FakeAws,
    api: &FakeApi,
    clock: &FakeClock,
    request: &Abort<'_>,
) -> (i32, String, String) {
    let (out, err) = (Captured::default(), Captured::default());
    let code = abort(aws, api, clock, request, &mut out.sink(), &mut err.sink()).await;
    (code, out.text(), err.text())
}

#[tokio::test]
async fn abort_waits_until_the_state_machine_has_rolled_back_then_reports_the_alias() {
    let (aws, r) = running(Driver::Machine, Some((WaitKind::Bake, "t1"))).await;
    let state_machine = runner(&aws, &r, Some("t1"), RolloutStatus::RolledBack, 5);
    let clock = FakeClock::new(NOW);
    let api = FakeApi::new(vec![]);
    let (code, out, err) = aborted(
        &aws,
        &api,
        &clock,
        &request("orders:live", OutputFormat::Text),
    )
    .await;
    state_machine.await.unwrap();
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            format!("abort delivered to rollout r-1 (execution {ARN}): it rolls back now"),
            "rollout r-1 ended RolledBack (aborted by an operator: bad deploy): orders:live serves version 1 alone"
                .to_string(),
        ]
    );
    assert_eq!(aws.alias("orders", "live").routing, Routing::single("1"));
    // It waited for the rollout, polling once a second, and never wrote the alias itself.
    let sleeps = clock.sleeps();
    assert!(
        !sleeps.is_empty() && sleeps.iter().all(|s| *s == SECOND),
        "{sleeps:?}"
    );
    assert_eq!(aws.calls(Op::WriteAlias), 1, "the rollback's one write");
    assert!(
        api.stops().is_empty(),
        "no StopExecution on the registry path"
    );
}

#[tokio::test]
async fn an_abort_recorded_mid_step_is_waited_for_and_reported_as_json() {
    let (aws, r) = running(Driver::Machine, None).await;
    let state_machine = runner(&aws, &r, None, RolloutStatus::RolledBack, 3);
    let clock = FakeClock::new(NOW);
    let api = FakeApi::new(vec![]);
    let (code, out, err) = aborted(&aws, &api, &clock, &request(ARN, OutputFormat::Json)).await;
    state_machine.await.unwrap();
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out.lines().count(), 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc,
        json!({"command": "abort", "reason": "bad deploy", "rolloutId": "r-1", "functionName": "orders",
               "alias": "live", "executionArn": ARN, "delivery": "recorded", "waiting": null,
               "path": "registry", "ended": true, "status": "RolledBack",
               "endReason": "aborted by an operator: bad deploy",
               "routing": {"functionVersion": "1", "additionalVersion": null},
               "aliasRestored": true, "aliasLeftAlone": false, "error": null})
    );
}

#[tokio::test]
async fn a_local_rollout_is_aborted_through_its_lease_too() {
    let (aws, r) = running(Driver::Local, None).await;
    let local = runner(&aws, &r, None, RolloutStatus::RolledBack, 2);
    let clock = FakeClock::new(NOW);
    let (code, out, err) = aborted(
        &aws,
        &FakeApi::new(vec![]),
        &clock,
        &request("orders:live", OutputFormat::Text),
    )
    .await;
    local.await.unwrap();
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(
        out.starts_with("abort recorded for rollout r-1 (local): the local rollout reads it at its next check\n"),
        "{out}"
    );
    assert!(out.contains("orders:live serves version 1 alone"), "{out}");
}

#[tokio::test]
async fn a_rollout_that_does_not_end_in_time_exits_1_saying_it_still_runs() {
    let (aws, _) = running(Driver::Machine, Some((WaitKind::Bake, "t1"))).await;
    let clock = FakeClock::new(NOW);
    let mut req = request("orders:live", OutputFormat::Text);
    req.timeout = Duration::from_secs(5);
    let (code, out, err) = aborted(&aws, &FakeApi::new(vec![]), &clock, &req).await;
    assert_eq!(code, 1);
    assert_eq!(clock.total_slept(), Duration::from_secs(5));
    assert!(out.starts_with("abort delivered to rollout r-1"), "{out}");
    assert!(
        err.starts_with(
            "error: rollout r-1 is still running after 5s: the abort stays on its lease"
        ),
        "{err}"
    );
    assert!(err.contains(&format!("`shifter status {ARN}`")), "{err}");
    assert!(
        err.contains("`shifter abort orders:live` waits again"),
        "{err}"
    );
    assert_eq!(
        aws.alias("orders", "live").routing,
        Routing::split("1", "2", 1000)
    );
    let mut json_req = req.clone();
    json_req.format = OutputFormat::Json;
    let (code, out, _) = aborted(&aws, &FakeApi::new(vec![]), &clock, &json_req).await;
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, 1);
    assert_eq!(
        (doc["ended"].as_bool(), doc["status"].is_null()),
        (Some(false), true)
    );
    assert_eq!(doc["aliasRestored"], false);
}

#[tokio::test]
async fn how_the_rollout_ended_sets_the_exit_code() {
    for (status, code, says) in [
        (
            RolloutStatus::LeftAlone,
            3,
            "was changed outside rollout r-1",
        ),
        (
            RolloutStatus::RollbackFailed,
            1,
            "could not roll orders:live back",
        ),
        (
            RolloutStatus::Promoted,
            1,
            "promoted before the abort reached it",
        ),
        (RolloutStatus::RolledBack, 1, "not version 1 alone"),
    ] {
        let (aws, r) = running(Driver::Machine, Some((WaitKind::Bake, "t1"))).await;
        // The alias as someone else left it.
        aws.publish("orders", "code-3");
        aws.force_alias("orders", "live", Routing::split("1", "3", 5000));
        // RolledBack: the rollback finds the alias is not the rollout's, yet the record says RolledBack.
        let ends = runner(&aws, &r, Some("t1"), status, 1);
        let clock = FakeClock::new(NOW);
        let (got, out, err) = aborted(
            &aws,
            &FakeApi::new(vec![]),
            &clock,
            &request("orders:live", OutputFormat::Text),
        )
        .await;
        ends.await.unwrap();
        assert_eq!(got, code, "{status:?}: {out}{err}");
        assert!(err.contains(says), "{status:?}: {err}");
        assert!(
            out.contains(&format!("ended {}", status.as_str()))
                && out.contains("version 1 50% + version 3 50%"),
            "{status:?}: {out}"
        );
        if status == RolloutStatus::RollbackFailed {
            assert!(
                err.contains(&format!("`shifter abort {ARN}` tries the rollback again")),
                "{err}"
            );
        }
    }
}

#[tokio::test]
async fn an_alias_no_rollout_runs_on_that_is_not_weighted_or_no_table_exits_2_and_changes_nothing()
{
    let aws = crate::test_support::aws_with_alias(Routing::single("1"));
    let clock = FakeClock::new(NOW);
    let api = FakeApi::new(vec![]);
    let (code, out, err) = aborted(
        &aws,
        &api,
        &clock,
        &request("orders:live", OutputFormat::Text),
    )
    .await;
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with("error: orders:live is not weighted: it serves version 1 alone, and no rollout is running on it"),
        "{err}"
    );
    // Without a table, even a weighted alias: nobody can say who owns it.
    aws.force_alias("orders", "live", Routing::split("1", "2", 1000));
    let mut no_table = request("orders:live", OutputFormat::Text);
    no_table.registry = false;
    let (code, _, err) = aborted(&aws, &api, &clock, &no_table).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("--table") && err.contains("--unowned"),
        "{err}"
    );
    let (code, _, _) = aborted(&aws, &api, &clock, &request("orders", OutputFormat::Text)).await;
    assert_eq!(code, 2);
    // One read of the alias and one of the lease (the first call); nothing written, stopped or waited for.
    assert_eq!(
        (
            aws.calls(Op::ReadAlias),
            aws.calls(Op::Control),
            aws.calls(Op::WriteAlias)
        ),
        (1, 1, 0)
    );
    assert!(aws.lease("orders", "live").is_none());
    assert!(api.stops().is_empty() && clock.sleeps().is_empty());
}

#[tokio::test]
async fn an_execution_the_registry_does_not_know_takes_the_stop_execution_path() {
    for (registry, why) in [
        (
            true,
            format!("no running rollout in the registry has execution {ARN}"),
        ),
        (
            false,
            "no rollout registry given (--table or SHIFTER_TABLE)".to_string(),
        ),
    ] {
        let api = FakeApi::new(weighted_history().0);
        let aws = crate::test_support::aws_with_alias(Routing::split("1", "2", 1000));
        let clock = FakeClock::new(NOW);
        let mut req = request(ARN, OutputFormat::Text);
        req.registry = registry;
        let (code, out, err) = aborted(&aws, &api, &clock, &req).await;
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.starts_with(&format!("{why}: taking the StopExecution path")),
            "{out}"
        );
        assert!(
            out.contains("rolled back orders:live to version 1"),
            "{out}"
        );
        assert_eq!(api.stops().len(), 1);
        assert_eq!(aws.alias("orders", "live").routing, Routing::single("1"));
        req.format = OutputFormat::Json;
        let (_, out, _) = aborted(&aws, &api, &clock, &req).await;
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["path"], "stopExecution");
    }
}

#[tokio::test]
async fn registry_reads_while_waiting_retry_when_transient_and_exit_1_otherwise() {
    let throttled = shifter::Error::Transient {
        operation: "Query".into(),
        message: "ThrottlingException".into(),
    };
    let (aws, r) = running(Driver::Machine, Some((WaitKind::Bake, "t1"))).await;
    aws.fail_next(Op::Journal, throttled, 2);
    // The runner records the end a few turns later, after both failed reads.
    let state_machine = runner(&aws, &r, Some("t1"), RolloutStatus::RolledBack, 4);
    let clock = FakeClock::new(NOW);
    let req = request("orders:live", OutputFormat::Text);
    let (code, _, err) = aborted(&aws, &FakeApi::new(vec![]), &clock, &req).await;
    state_machine.await.unwrap();
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(clock.sleeps().len() >= 2, "{:?}", clock.sleeps());

    let (aws, _) = running(Driver::Machine, Some((WaitKind::Bake, "t1"))).await;
    let denied = shifter::Error::AwsRejected {
        operation: "Query".into(),
        message: "AccessDeniedException".into(),
    };
    aws.fail_next(Op::Journal, denied, 1);
    let (code, out, err) = aborted(&aws, &FakeApi::new(vec![]), &clock, &req).await;
    assert_eq!(code, 1);
    assert!(out.starts_with("abort delivered"), "{out}");
    assert!(err.starts_with("error: AWS rejected Query"), "{err}");
    assert!(err.contains("the abort is on the rollout's lease"), "{err}");
}
