//! Whole executions of `statemachine/rollout.asl.json`, interpreted, with every Task calling the real
//! function handler over the fake AWS: the state machine must make the same alias writes and send the same
//! notifications as the local driver, roll back on every failure but a rejected request, and stay within
//! 3 transitions per step plus 7.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use shifter::domain::{AlarmState, Routing};
use shifter::driver::{LocalDriver, Outcome, Silent};
use shifter::fake::{FakeAws, FakeClock, HookBehaviour, Op};
use shifter::notification::EventType;
use shifter::request::RolloutRequest;
use shifter::Error;
use shifter_contract_tests::{asl, execute, Status, TaskError};
use shifter_lambda::testing::{request, world, ALARM, ALIAS, FUNCTION, POST_HOOK, PRE_HOOK, TOPIC};

mod common;
use common::*;

fn step_count(req: &Value) -> usize {
    RolloutRequest::from_value(req.clone())
        .and_then(|r| r.validate())
        .unwrap()
        .plan
        .steps
        .len()
}

/// The non-final steps that bake 0 s.
fn unbaked_steps(req: &Value) -> usize {
    let plan = RolloutRequest::from_value(req.clone())
        .and_then(|r| r.validate())
        .unwrap()
        .plan;
    let steps = &plan.steps[..plan.steps.len() - 1];
    steps.iter().filter(|s| s.bake_seconds == 0).count()
}

#[tokio::test]
async fn promotions_match_the_local_driver_write_for_write() {
    let hooks = json!({"hooks": {"preTraffic": PRE_HOOK, "postTraffic": POST_HOOK}});
    let strategies = [
        json!("Canary10Percent5Minutes"),
        json!("Linear10PercentEvery1Minute"),
        json!("AllAtOnce"),
        json!({"type": "steps", "steps": [{"percent": 1, "bakeSeconds": 30}, {"percent": 50, "bakeSeconds": 0}]}),
        json!({"type": "exponential", "startPercent": 1, "factor": 3, "intervalSeconds": 20}),
    ];
    for strategy in strategies {
        for extra in [json!({}), hooks.clone()] {
            let req = request(strategy.clone(), extra);
            let n = step_count(&req);

            let machine = world();
            let execution = run(&machine, req.clone()).await;
            assert!(
                matches!(execution.status, Status::Succeeded(_)),
                "{strategy}: {:?} via {:?}",
                execution.status,
                execution.path
            );
            // A step that bakes 0 s skips the Bake Task: 2 transitions instead of 3.
            let unbaked = unbaked_steps(&req);
            assert_eq!(
                execution.transitions,
                3 * n + 7 - unbaked,
                "{strategy}: {:?}",
                execution.path
            );
            assert_eq!(tail(&execution, 2), ["NotifySucceeded", "Promoted"]);

            let local = world();
            let spec = RolloutRequest::from_value(req.clone())
                .unwrap()
                .validate()
                .unwrap();
            let clock = FakeClock::default();
            let outcome = LocalDriver::new(&local, &clock)
                .run(&spec, "r-1", &mut Silent)
                .await;
            assert!(matches!(outcome, Outcome::Promoted { .. }), "{outcome:?}");

            assert_eq!(
                machine.history(FUNCTION, ALIAS),
                local.history(FUNCTION, ALIAS),
                "{strategy}"
            );
            assert_eq!(events(&machine), events(&local), "{strategy}");
            assert_eq!(machine.hook_calls(), local.hook_calls(), "{strategy}");
            assert_eq!(execution.waited_seconds, spec.plan.total_seconds());
            assert_eq!(machine.alias(FUNCTION, ALIAS).routing, Routing::single("2"));
        }
    }
}

#[tokio::test]
async fn an_alarm_during_a_bake_rolls_back() {
    let aws = world();
    let req = request(
        json!({"type": "linear", "percent": 25, "intervalSeconds": 60}),
        json!({}),
    );
    // The alarm fires during the second step's bake: the third Advance sees it.
    let script: Script = Box::new(|resource, n, aws| {
        if resource == "${AdvanceFunctionArn}" && n == 2 {
            aws.set_alarm(ALARM, AlarmState::Alarm);
        }
    });
    let execution = run_with(&aws, req, script).await;
    assert_eq!(
        execution.status,
        Status::Failed {
            error: "RolledBack".into(),
            cause: format!("alarm(s) firing: {ALARM}"),
        }
    );
    assert_eq!(
        tail(&execution, 4),
        ["Advance", "AdvanceChoice", "Rollback", "RolledBack"]
    );
    // Two steps baked: 3 per step, then Advance, AdvanceChoice, Rollback, RolledBack, plus the 3 at the start.
    assert_eq!(execution.transitions, 3 * 2 + 7);
    assert_eq!(
        aws.history(FUNCTION, ALIAS),
        [
            Routing::single("1"),
            Routing::split("1", "2", 2500),
            Routing::split("1", "2", 5000),
            Routing::single("1"),
        ]
    );
    assert_eq!(
        events(&aws),
        [
            (EventType::RolloutStarted, 0.0),
            (EventType::TrafficShifted, 25.0),
            (EventType::TrafficShifted, 50.0),
            (EventType::RolledBack, 0.0),
        ]
    );
}

#[tokio::test]
async fn a_failed_pre_traffic_hook_rolls_back_without_touching_the_alias() {
    let aws = world();
    aws.set_hook(PRE_HOOK, HookBehaviour::FunctionError("boom".into()));
    let req = request(
        json!("Canary10Percent5Minutes"),
        json!({"hooks": {"preTraffic": PRE_HOOK}}),
    );
    let execution = run(&aws, req).await;
    assert_eq!(
        execution.path,
        [
            "Prepare",
            "PreTrafficHook",
            "PreTrafficChoice",
            "Rollback",
            "RolledBack"
        ]
    );
    let Status::Failed { error, cause } = &execution.status else {
        panic!("{:?}", execution.status)
    };
    assert_eq!(error, "RolledBack");
    assert!(
        cause.starts_with("preTraffic hook failed: hook function error"),
        "{cause}"
    );
    assert_eq!(aws.calls(Op::WriteAlias), 0);
    let kinds: Vec<_> = events(&aws).into_iter().map(|e| e.0).collect();
    assert_eq!(
        kinds,
        [
            EventType::RolloutStarted,
            EventType::HookFailed,
            EventType::RolledBack
        ]
    );
}

#[tokio::test]
async fn a_failed_post_traffic_hook_rolls_back_from_full_traffic() {
    let aws = world();
    aws.set_hook(POST_HOOK, HookBehaviour::Fail("smoke test failed".into()));
    let req = request(
        json!("AllAtOnce"),
        json!({"hooks": {"postTraffic": POST_HOOK}}),
    );
    let execution = run(&aws, req).await;
    assert_eq!(
        tail(&execution, 4),
        [
            "PostTrafficHook",
            "PostTrafficChoice",
            "Rollback",
            "RolledBack"
        ]
    );
    assert_eq!(
        aws.history(FUNCTION, ALIAS),
        [
            Routing::single("1"),
            Routing::single("2"),
            Routing::single("1")
        ]
    );
    let kinds: Vec<_> = events(&aws).into_iter().map(|e| e.0).collect();
    assert_eq!(
        kinds,
        [
            EventType::RolloutStarted,
            EventType::TrafficShifted,
            EventType::HookFailed,
            EventType::RolledBack
        ]
    );
}

#[tokio::test]
async fn rejected_requests_end_at_once_and_never_roll_back() {
    type Case = (&'static str, Value, fn(&FakeAws));
    let cases: [Case; 5] = [
        ("InvalidRequest", json!({"alias": "7"}), |_| {}),
        ("InvalidRequest", json!({"surprise": true}), |_| {}),
        // Outside the default HookFunctionArnPattern (this account and region): refused before any write.
        (
            "InvalidRequest",
            json!({"hooks": {"preTraffic": "arn:aws:lambda:us-east-1:210987654321:function:pre-hook"}}),
            |_| {},
        ),
        ("ResourceNotFound", json!({"functionName": "nope"}), |_| {}),
        ("AliasBusy", json!({}), |aws| {
            aws.force_alias(FUNCTION, ALIAS, Routing::split("1", "2", 500));
        }),
    ];
    for (expected, extra, setup) in cases {
        let aws = world();
        setup(&aws);
        let before = aws.history(FUNCTION, ALIAS);
        let execution = run(&aws, request(json!("Canary10Percent5Minutes"), extra)).await;
        assert_eq!(execution.path, ["Prepare", "RequestRejected"], "{expected}");
        let Status::Failed { error, cause } = &execution.status else {
            panic!("{:?}", execution.status)
        };
        assert_eq!(error, expected);
        assert!(cause.contains("errorMessage"), "{cause}");
        assert_eq!(
            aws.history(FUNCTION, ALIAS),
            before,
            "{expected}: the alias was touched"
        );
        assert!(aws.notifications().is_empty());
    }
}

#[tokio::test]
async fn transient_errors_are_retried_in_place() {
    let aws = world();
    aws.fail_next(
        Op::WriteAlias,
        Error::Transient {
            operation: "UpdateAlias".into(),
            message: "Rate exceeded".into(),
        },
        2,
    );
    let req = request(json!("Canary10Percent5Minutes"), json!({}));
    let n = step_count(&req);
    let execution = run(&aws, req).await;
    assert!(
        matches!(execution.status, Status::Succeeded(_)),
        "{:?}",
        execution.status
    );
    assert_eq!(execution.retries, 2);
    assert_eq!(execution.transitions, 3 * n + 7 + 2);
    assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("2"));
}

#[tokio::test]
async fn an_error_mid_rollout_rolls_back_and_reports_rollout_failed() {
    let aws = world();
    let script: Script = Box::new(|resource, n, aws| {
        if resource == "${AdvanceFunctionArn}" && n == 1 {
            aws.fail_next(
                Op::WriteAlias,
                Error::AwsRejected {
                    operation: "UpdateAlias".into(),
                    message: "AccessDeniedException".into(),
                },
                1,
            );
        }
    });
    let req = request(
        json!({"type": "linear", "percent": 30, "intervalSeconds": 10}),
        json!({}),
    );
    let execution = run_with(&aws, req, script).await;
    assert_eq!(tail(&execution, 3), ["Advance", "Rollback", "RolledBack"]);
    assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("1"));
    let last = aws.notifications().pop().unwrap().1;
    assert_eq!(last.event_type, EventType::RolloutFailed);
    assert_eq!(last.error_type.as_deref(), Some("AwsRejected"));
    assert!(last
        .reason
        .unwrap()
        .ends_with("alias restored to version 1"));
}

#[tokio::test]
async fn a_conflict_caught_mid_rollout_ends_the_execution_as_alias_changed() {
    let aws = world();
    // The second Advance's write finds a RevisionId someone else moved (PreconditionFailed); the alias still
    // routes only to this rollout's versions, so Rollback restores it, and the execution ends as the conflict.
    let script: Script = Box::new(|resource, n, aws| {
        if resource == "${AdvanceFunctionArn}" && n == 1 {
            aws.fail_next(
                Op::WriteAlias,
                Error::AliasChanged {
                    alias: ALIAS.into(),
                    message: "PreconditionFailedException".into(),
                },
                1,
            );
        }
    });
    let req = request(
        json!({"type": "linear", "percent": 30, "intervalSeconds": 10}),
        json!({}),
    );
    let execution = run_with(&aws, req, script).await;
    assert_eq!(tail(&execution, 3), ["Advance", "Rollback", "RolledBack"]);
    let Status::Failed { error, .. } = &execution.status else {
        panic!("{:?}", execution.status);
    };
    assert_eq!(error, "AliasChanged");
    assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("1"));
}

#[tokio::test]
async fn a_foreign_change_is_left_alone_and_ends_alias_changed_not_rollback_failed() {
    let aws = world();
    aws.publish(FUNCTION, "code-3");
    let script: Script = Box::new(|resource, n, aws| {
        if resource == "${AdvanceFunctionArn}" && n == 1 {
            aws.force_alias(FUNCTION, ALIAS, Routing::single("3"));
        }
    });
    let req = request(
        json!({"type": "linear", "percent": 25, "intervalSeconds": 60}),
        json!({}),
    );
    let execution = run_with(&aws, req, script).await;
    // Nothing failed: nobody is paged for someone else's change.
    assert_eq!(tail(&execution, 3), ["Advance", "Rollback", "RolledBack"]);
    assert_eq!(execution.retries, 0, "AliasChanged is not retried");
    let Status::Failed { error, .. } = &execution.status else {
        panic!("{:?}", execution.status)
    };
    assert_eq!(error, "AliasChanged");
    assert_eq!(
        aws.alias(FUNCTION, ALIAS).routing,
        Routing::single("3"),
        "someone else's alias"
    );
    let last = aws.notifications().pop().unwrap().1;
    assert_eq!(last.event_type, EventType::RolloutFailed);
    assert_eq!(last.error_type.as_deref(), Some("AliasChanged"));
    assert!(
        last.reason.as_deref().unwrap().contains("left alone"),
        "{last:?}"
    );
}

#[tokio::test]
async fn rollback_retries_through_throttling() {
    let aws = world();
    let script: Script = Box::new(|resource, n, aws| {
        if resource == "${AdvanceFunctionArn}" && n == 1 {
            aws.set_alarm(ALARM, AlarmState::Alarm);
        }
        if resource == "${RollbackFunctionArn}" && n == 0 {
            let throttled = Error::Transient {
                operation: "UpdateAlias".into(),
                message: "Rate exceeded".into(),
            };
            aws.fail_next(Op::WriteAlias, throttled, 5);
        }
    });
    let req = request(json!("Canary10Percent5Minutes"), json!({}));
    let execution = run_with(&aws, req, script).await;
    assert_eq!(execution.retries, 5);
    assert_eq!(tail(&execution, 2), ["Rollback", "RolledBack"]);
    assert_eq!(aws.alias(FUNCTION, ALIAS).routing, Routing::single("1"));
}

#[tokio::test]
async fn the_default_topic_and_the_execution_name_reach_the_rollout() {
    let aws = world();
    let req = request(json!("AllAtOnce"), json!({"notificationTopicArn": null}));
    let definition = asl();
    let execution = execute(&definition, req, "deploy-42", |resource, input| {
        let aws = aws.clone();
        async move {
            if resource == "${PrepareFunctionArn}" {
                let input = shifter_lambda::parse(input).unwrap();
                let settings = shifter_prepare::Settings {
                    default_topic: Some(TOPIC.to_string()),
                    ..Default::default()
                };
                let out = shifter_prepare::handle(&aws, input, &settings)
                    .await
                    .unwrap();
                Ok(serde_json::to_value(out).unwrap())
            } else {
                call(&aws, &resource, input).await
            }
        }
    })
    .await;
    let Status::Succeeded(output) = execution.status else {
        panic!("{:?}", execution.status)
    };
    assert_eq!(output["rollout"]["rolloutId"], "deploy-42");
    assert_eq!(output["rollout"]["notificationTopicArn"], TOPIC);
    assert_eq!(
        aws.notifications().len(),
        3,
        "RolloutStarted, TrafficShifted, RolloutSucceeded"
    );
}

/// The same walk with scripted Tasks (no shifter code): the transition count for every plan size allowed.
#[tokio::test]
async fn transitions_are_three_per_step_plus_seven_for_every_plan_size() {
    let definition = asl();
    for n in 1..=shifter::plan::MAX_STEPS {
        let advanced = Arc::new(Mutex::new(0usize));
        let execution = execute(&definition, json!({}), "r", |resource, input| {
            let advanced = advanced.clone();
            async move {
                if resource == "${WaitFunctionArn}" {
                    // Nothing answers the token: the bake ends on its timeout.
                    return Err(TaskError {
                        error: "States.Timeout".into(),
                        cause: String::new(),
                    });
                }
                let mut state = match resource.as_str() {
                    "${PrepareFunctionArn}" => json!({}),
                    "${RunHookFunctionArn}" => {
                        let mut s = input["state"].clone();
                        s["hook"] = json!({"phase": input["phase"], "succeeded": true});
                        s
                    }
                    "${NotifyFunctionArn}" => input["state"].clone(),
                    _ => input,
                };
                if resource == "${AdvanceFunctionArn}" {
                    let mut k = advanced.lock().unwrap();
                    state["verdict"] = json!({"healthy": true});
                    state["done"] = json!(*k + 1 == n);
                    state["waitSeconds"] = json!(if *k + 1 == n { 0 } else { 60 });
                    *k += 1;
                }
                Ok(state)
            }
        })
        .await;
        assert!(
            matches!(execution.status, Status::Succeeded(_)),
            "{n}: {:?}",
            execution.status
        );
        assert_eq!(execution.transitions, 3 * n + 7, "{n} steps");
        assert_eq!(execution.waited_seconds, 60 * (n as u64 - 1));
    }
}
