//! The fault matrix (issue "Proven under faults"): a clean rollout's port calls are recorded in order, then the
//! rollout is run again once per (call position × fault × single or persistent), through both drivers: the
//! local driver, and the ASL interpreter over the real handlers (with the ASL's Retry and Catch). Whatever
//! happens, the alias must end on one version with no routing config and the lease released, unless the
//! outcome says loudly that the alias may still be weighted (RollbackFailed; the local driver's
//! `Failed { alias_restored: false }`).
//!
//! The table this produces is in docs/reliability.md; `SHIFTER_WRITE_RELIABILITY=1` rewrites it.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use shifter::domain::{AlarmState, Routing};
use shifter::driver::{LocalDriver, Outcome, Silent};
use shifter::fake::{FakeAws, FakeClock, Op, PositionFault};
use shifter::request::RolloutRequest;
use shifter::Error;
use shifter_contract_tests::Status;
use shifter_lambda::testing::{world, ALARM, ALIAS, FUNCTION, POST_HOOK, PRE_HOOK, TOPIC};

mod common;
use common::*;

const SECOND_ALARM: &str = "orders-latency";

/// A canary with both hooks, two alarms, a topic; the registry is the fake's.
fn request() -> Value {
    json!({"functionName": FUNCTION, "alias": ALIAS, "targetVersion": "2", "strategy": "Canary10Percent5Minutes",
        "alarms": [ALARM, SECOND_ALARM], "notificationTopicArn": TOPIC,
        "hooks": {"preTraffic": PRE_HOOK, "postTraffic": POST_HOOK}})
}

fn fresh() -> FakeAws {
    let aws = world();
    // The alarms last changed long before any rollout: the handlers read the system clock, so an alarm stamped
    // in the same millisecond as a check would sometimes have its history read, sometimes not, and the calls'
    // positions would move from run to run.
    aws.use_clock(&FakeClock::new(1_000_000_000_000));
    for alarm in [ALARM, SECOND_ALARM] {
        aws.set_alarm(alarm, AlarmState::InsufficientData);
        aws.set_alarm(alarm, AlarmState::Ok);
    }
    aws
}

/// The faults, by name: the error, and whether the call's effect lands before its answer is lost.
fn faults() -> Vec<(&'static str, Error, bool)> {
    let transient = |m: &str| Error::Transient {
        operation: "call".into(),
        message: m.into(),
    };
    vec![
        (
            "throttle",
            Error::Throttled {
                operation: "call".into(),
                message: "TooManyRequestsException: Rate exceeded".into(),
            },
            false,
        ),
        (
            "5xx",
            transient("ServiceException: 503 Service Unavailable"),
            false,
        ),
        (
            "timeout after the write",
            transient("dispatch failure: timeout"),
            true,
        ),
        (
            "AccessDenied",
            Error::AwsRejected {
                operation: "call".into(),
                message: "AccessDeniedException: not authorized".into(),
            },
            false,
        ),
        (
            "PreconditionFailed",
            Error::AliasChanged {
                alias: ALIAS.into(),
                message: "PreconditionFailedException: the RevisionId does not match".into(),
            },
            false,
        ),
        (
            "ResourceNotFound",
            Error::ResourceNotFound {
                field: String::new(),
                message: "ResourceNotFoundException: not found".into(),
            },
            false,
        ),
    ]
}

/// How a run ended, as the matrix counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ending {
    Promoted,
    RolledBack,
    /// Refused before the alias was touched (a fault in Prepare's reads).
    Refused,
    /// Failed, with the alias restored (or never moved).
    FailedRestored,
    /// The outcome says the alias may still be weighted: RollbackFailed.
    Announced,
    /// The registry failed from the fault on to the end (a persistent fault at or before the lease's
    /// release): the alias is on one version, but the lease could not be given back. It is taken over once
    /// the rollout has ended (its execution no longer runs, or its local lease expired).
    LeaseLeftRegistryDown,
    /// The invariant broke: the alias weighted with nobody saying so, or the lease left behind.
    Broken,
}

struct Run {
    ending: Ending,
    detail: String,
    /// Simulated seconds the state machine waited between failed Tasks and their retries.
    retry_seconds: f64,
}

/// The invariant over what the fake holds after a run.
fn judge(aws: &FakeAws, fault: Option<&PositionFault>, ending: Ending, detail: String) -> Run {
    let routing = aws.alias(FUNCTION, ALIAS).routing;
    let lease = aws.lease(FUNCTION, ALIAS);
    // Every registry call from the fault on failed, the release included.
    let registry_down = fault.is_some_and(|f| {
        f.persistent
            && aws
                .call_log()
                .get(f.at - 1..)
                .is_some_and(|later| later.contains(&Op::Lease))
    });
    let broken = match ending {
        Ending::Announced => None,
        Ending::Promoted if routing != Routing::single("2") => {
            Some(format!("promoted but {routing}"))
        }
        _ if routing.is_weighted() => Some(format!("ended weighted: {routing}")),
        _ if lease.is_some() && registry_down => {
            return Run {
                ending: Ending::LeaseLeftRegistryDown,
                detail,
                retry_seconds: 0.0,
            }
        }
        _ if lease.is_some() => Some(format!("lease left: {lease:?}")),
        _ => None,
    };
    match broken {
        Some(why) => Run {
            ending: Ending::Broken,
            detail: format!("{why} ({detail})"),
            retry_seconds: 0.0,
        },
        None => Run {
            ending,
            detail,
            retry_seconds: 0.0,
        },
    }
}

async fn local_run(fault: Option<PositionFault>) -> (FakeAws, Run) {
    let aws = fresh();
    let spec = RolloutRequest::from_value(request())
        .unwrap()
        .validate()
        .unwrap();
    if let Some(f) = fault.clone() {
        aws.fail_at(f);
    }
    let clock = FakeClock::default();
    let driver = LocalDriver {
        listen: true,
        ..LocalDriver::new(&aws, &clock)
    };
    let outcome = driver.run(&spec, "r-matrix", &mut Silent).await;
    let ending = match &outcome {
        Outcome::Promoted { .. } => Ending::Promoted,
        Outcome::RolledBack { .. } | Outcome::LeftAlone { .. } => Ending::RolledBack,
        Outcome::Rejected { .. } => Ending::Refused,
        Outcome::Failed {
            alias_restored: true,
            ..
        } => Ending::FailedRestored,
        Outcome::Failed {
            alias_restored: false,
            ..
        } => Ending::Announced,
    };
    let detail = format!("{outcome:?}").chars().take(300).collect();
    let run = judge(&aws, fault.as_ref(), ending, detail);
    (aws, run)
}

async fn machine_run(fault: Option<PositionFault>) -> (FakeAws, Run) {
    let aws = fresh();
    if let Some(f) = fault.clone() {
        aws.fail_at(f);
    }
    let execution = run(&aws, request()).await;
    let ending = match &execution.status {
        Status::Succeeded(_) => Ending::Promoted,
        Status::Failed { error, .. } if error == "RollbackFailed" => Ending::Announced,
        Status::Failed { error, .. }
            if error == "RequestRejected" || error.starts_with("Invalid") =>
        {
            Ending::Refused
        }
        Status::Failed { error, .. } if error == "RolledBack" => Ending::RolledBack,
        Status::Failed { .. } => Ending::FailedRestored,
    };
    let last = &execution.path[execution.path.len().saturating_sub(3)..];
    let detail = format!("{:?} via {last:?}", execution.status)
        .chars()
        .take(300)
        .collect();
    let mut run = judge(&aws, fault.as_ref(), ending, detail);
    run.retry_seconds = execution.retry_seconds;
    (aws, run)
}

/// Counts per driver: endings by kind, and the broken runs' details.
#[derive(Default)]
struct Tally {
    calls: usize,
    runs: usize,
    endings: BTreeMap<Ending, usize>,
    broken: Vec<String>,
    longest_retry_seconds: f64,
}

async fn matrix<F, Fut>(drive: F) -> Tally
where
    F: Fn(Option<PositionFault>) -> Fut,
    Fut: std::future::Future<Output = (FakeAws, Run)>,
{
    let (clean, run) = drive(None).await;
    assert_eq!(
        run.ending,
        Ending::Promoted,
        "the clean run: {}",
        run.detail
    );
    let calls = clean.call_log().len();
    let mut tally = Tally {
        calls,
        ..Tally::default()
    };
    for at in 1..=calls {
        for (name, error, lost_answer) in faults() {
            for persistent in [false, true] {
                let fault = PositionFault {
                    at,
                    error: error.clone(),
                    persistent,
                    lost_answer,
                };
                let (_, run) = drive(Some(fault)).await;
                if let Some(path) = std::env::var_os("SHIFTER_MATRIX_TRACE") {
                    use std::io::Write;
                    let mut f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .unwrap();
                    writeln!(f, "{at} {name} {persistent} {:?}", run.ending).unwrap();
                }
                tally.runs += 1;
                tally.longest_retry_seconds = tally.longest_retry_seconds.max(run.retry_seconds);
                *tally.endings.entry(run.ending).or_default() += 1;
                if run.ending == Ending::Broken {
                    tally.broken.push(format!(
                        "call {at} ({:?}), {name}{}: {}",
                        clean.call_log()[at - 1],
                        if persistent { ", persistent" } else { "" },
                        run.detail
                    ));
                }
            }
        }
    }
    tally
}

fn row(driver: &str, t: &Tally) -> String {
    let n = |e: Ending| t.endings.get(&e).copied().unwrap_or(0);
    format!(
        "| {driver} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        t.calls,
        t.runs,
        n(Ending::Promoted),
        n(Ending::RolledBack),
        n(Ending::Refused),
        n(Ending::FailedRestored),
        n(Ending::Announced),
        n(Ending::LeaseLeftRegistryDown),
        n(Ending::Broken),
        if t.broken.is_empty() {
            "0"
        } else {
            "**see below**"
        }
    )
}

#[tokio::test]
async fn every_fault_at_every_call_leaves_the_alias_on_one_version_in_both_drivers() {
    let local = matrix(local_run).await;
    let machine = matrix(machine_run).await;
    let retries = format!(
        "Longest simulated wait for the state machine's retries in one run (its Retry blocks' IntervalSeconds, \
         BackoffRate and MaxDelaySeconds): {:.0} s.",
        machine.longest_retry_seconds
    );
    let table = [
        "| driver | calls in a clean run | runs | promoted | rolled back | refused untouched | failed, alias restored | RollbackFailed (announced) | lease left: registry down to the end | invariant broken | breaks |".to_string(),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".to_string(),
        row("local (`deploy --local`)", &local),
        row("state machine (ASL interpreter, real handlers)", &machine),
    ]
    .join("\n");
    let table = format!("{table}\n\n{retries}");
    println!("{table}");
    let mut broken: Vec<String> = local.broken.iter().map(|b| format!("local: {b}")).collect();
    broken.extend(machine.broken.iter().map(|b| format!("machine: {b}")));
    assert!(
        broken.is_empty(),
        "{} invariant breaks:\n{}",
        broken.len(),
        broken.join("\n")
    );

    // docs/reliability.md carries the same table.
    reliability_doc_section("fault-matrix", &table, "fault_matrix");
}

#[test]
fn retry_waits_grow_by_the_backoff_rate_up_to_the_cap() {
    let retrier = json!({"IntervalSeconds": 2, "BackoffRate": 2, "MaxDelaySeconds": 5});
    let waits: Vec<f64> = (0..4)
        .map(|n| shifter_contract_tests::retry_delay(&retrier, n))
        .collect();
    assert_eq!(waits, [2.0, 4.0, 5.0, 5.0]);
    assert_eq!(shifter_contract_tests::retry_delay(&json!({}), 1), 2.0);
}
