//! Every file under `events/` parses into the type it stands for:
//!
//! - `events/requests/*.json`: valid rollout requests; `events/requests/invalid/<field>--<why>.json`: requests
//!   rejected with `InvalidRequest` naming `<field>`.
//! - `events/states/<function>*.json`: inputs of the state-machine functions, by file-name prefix
//!   (`prepare` → PrepareInput, `run-hook` → HookInput, `notify` → NotifyInput, `wait` → WaitInput, `advance` / `finalize` /
//!   `rollback` → RolloutState). Regenerate them from a real run over the fake AWS with
//!   `SHIFTER_WRITE_SAMPLES=1 cargo test -p shifter-contract-tests --test events -- --ignored`.
//! - `events/eventbridge/*.json`: EventBridge events a rule of the template matches: "Rollout Requested" (its
//!   `detail` is a request), "CloudWatch Alarm State Change" (the alarm watcher's input) and "Step Functions
//!   Execution Status Change" (the execution cleanup's input), exactly as AWS sends them.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use shifter::domain::AlarmState;
use shifter::notification::{EventType, HookPhase};
use shifter::request::RolloutRequest;
use shifter::state::{HookInput, NotifyInput, PrepareInput, RolloutState, StateError};
use shifter_contract_tests::{read, root, TEMPLATE_PATH};
use shifter_lambda::testing::{request, world, ALARM, POST_HOOK, PRE_HOOK};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn json_of(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

/// `text` is the request as JSON text: read from the file itself, so a key given twice is still there.
fn check_request(path: &Path, text: &str) {
    let shown = path.display();
    let result = RolloutRequest::from_json_str(text).and_then(|r| r.validate());
    let invalid_dir = path.parent().and_then(Path::file_name) == Some("invalid".as_ref());
    if invalid_dir {
        let name = path.file_stem().unwrap().to_string_lossy();
        let field = name.split("--").next().unwrap();
        match result {
            Err(shifter::Error::InvalidRequest { field: f, .. }) => {
                assert_eq!(f, field, "{shown}: rejected for another field")
            }
            other => panic!("{shown}: expected InvalidRequest on {field}, got {other:?}"),
        }
    } else if let Err(e) = result {
        panic!("{shown}: {e}");
    }
}

fn check_state(path: &Path, value: Value) {
    let shown = path.display();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let parsed = if name.starts_with("prepare") {
        shifter_lambda::parse::<PrepareInput>(value).and_then(|i| {
            i.check_schema()?;
            RolloutRequest::from_value(i.request)?.validate().map(drop)
        })
    } else if name.starts_with("run-hook") {
        shifter_lambda::parse::<HookInput>(value).and_then(|i| i.check_schema())
    } else if name.starts_with("notify") {
        shifter_lambda::parse::<NotifyInput>(value).and_then(|i| i.check_schema())
    } else if name.starts_with("wait") {
        shifter_lambda::parse::<shifter::state::WaitInput>(value).and_then(|i| i.check_schema())
    } else if ["advance", "finalize", "rollback"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        shifter_lambda::parse::<RolloutState>(value).and_then(|s| s.check_schema())
    } else {
        panic!("{shown}: no function input is named like this: start the name with the function's");
    };
    if let Err(e) = parsed {
        panic!("{shown}: {e}");
    }
}

fn check_eventbridge(path: &Path, value: Value) {
    let shown = path.display();
    let template = read(TEMPLATE_PATH);
    // Each event is one a rule of the template matches (by source and detail-type; the harness checks whole
    // patterns through the emulator's EventBridge).
    for key in ["source", "detail-type"] {
        let v = value[key].as_str().unwrap_or("");
        assert!(
            template.contains(&format!("{key}: [\"{v}\"]")),
            "{shown}: no rule of template.yaml matches {key} {v:?}"
        );
    }
    match value["detail-type"].as_str().unwrap_or("") {
        "Rollout Requested" => {
            // The rule passes the whole event; Prepare takes the request from its detail.
            let (request, by) = shifter_prepare::unwrap_event(value);
            assert_eq!(by, Some("eventbridge"), "{shown}");
            check_request(path, &request.to_string());
        }
        shifter_alarm_watcher::DETAIL_TYPE => {
            let event: shifter_alarm_watcher::AlarmStateChange =
                shifter_lambda::parse(value).unwrap_or_else(|e| panic!("{shown}: {e}"));
            shifter_alarm_watcher::seen(&event).unwrap_or_else(|e| panic!("{shown}: {e}"));
        }
        shifter_execution_cleanup::DETAIL_TYPE => {
            shifter_lambda::parse::<shifter_execution_cleanup::ExecutionEvent>(value)
                .unwrap_or_else(|e| panic!("{shown}: {e}"));
        }
        other => panic!("{shown}: no function handles detail-type {other:?}"),
    }
}

/// A CloudFormation custom-resource event for `Custom::ShifterAlias`, as the alias provider reads it: its
/// properties must make a valid rollout.
fn check_custom_resource(path: &Path, value: Value) {
    use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as Request;
    let shown = path.display();
    let event: shifter_alias_provider::CustomResourceEvent =
        shifter_lambda::parse(value).unwrap_or_else(|e| panic!("{shown}: {e}"));
    let properties = match &event.request {
        Request::Create(e) => &e.resource_properties,
        Request::Update(e) => &e.resource_properties,
        other => panic!("{shown}: a sample should be a Create or an Update, not {other:?}"),
    };
    shifter::custom_resource::properties::AliasProperties::from_value(properties)
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
}

#[test]
fn every_file_under_events_parses_into_its_type() {
    let events = root().join("events");
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for path in files(&events) {
        let rel = path
            .strip_prefix(&events)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if path.extension().is_none_or(|e| e != "json") {
            continue; // READMEs and the like
        }
        let value = json_of(&path);
        let kind = rel.split('/').next().unwrap();
        match kind {
            "requests" => check_request(&path, &std::fs::read_to_string(&path).unwrap()),
            "states" => check_state(&path, value),
            "eventbridge" => check_eventbridge(&path, value),
            "cloudformation" => check_custom_resource(&path, value),
            _ => panic!("events/{rel}: unknown kind of event: teach tests/contract/tests/events.rs about it"),
        }
        *kinds
            .entry(match kind {
                "requests" => "requests",
                "states" => "states",
                "cloudformation" => "cloudformation",
                _ => "eventbridge",
            })
            .or_default() += 1;
    }
    assert!(kinds.get("states").copied().unwrap_or(0) >= 6, "{kinds:?}");
    assert!(
        kinds.get("eventbridge").copied().unwrap_or(0) >= 1,
        "{kinds:?}"
    );
}

#[test]
fn every_function_has_a_sample_input() {
    let names: Vec<String> = files(&root().join("events/states"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    for function in [
        "prepare", "run-hook", "advance", "finalize", "rollback", "notify", "wait",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(function)),
            "no events/states/{function}*.json"
        );
    }
}

/// Writes `events/states/*.json` from a real run of the handlers over the fake AWS.
#[tokio::test]
#[ignore = "writes files: run with SHIFTER_WRITE_SAMPLES=1 to regenerate events/states"]
async fn write_state_samples() {
    if std::env::var("SHIFTER_WRITE_SAMPLES").is_err() {
        return;
    }
    let dir = root().join("events/states");
    std::fs::create_dir_all(&dir).unwrap();
    // Serialized from the types (not via Value) so the fields keep their declaration order.
    let write = |name: &str, value: &dyn erased::Json| {
        std::fs::write(dir.join(name), value.pretty() + "\n").unwrap();
    };

    let aws = world();
    let req = request(
        json!("Canary10Percent5Minutes"),
        json!({"hooks": {"preTraffic": PRE_HOOK, "postTraffic": POST_HOOK}}),
    );
    let prepare = PrepareInput {
        schema_version: 1,
        rollout_id: "r-1".into(),
        request: req,
        execution_arn: None,
    };
    write("prepare.json", &prepare);
    let state = shifter_prepare::handle(&aws, prepare, &Default::default())
        .await
        .unwrap();
    let hook = |phase, state: &RolloutState| HookInput {
        schema_version: 1,
        phase,
        state: state.clone(),
    };
    write(
        "run-hook-pre-traffic.json",
        &hook(HookPhase::PreTraffic, &state),
    );
    let state = shifter_run_hook::handle(&aws, hook(HookPhase::PreTraffic, &state))
        .await
        .unwrap();
    write("advance-first.json", &state);
    let state = shifter_advance::handle(&aws, state).await.unwrap();
    write("advance-after-bake.json", &state);

    aws.set_alarm(ALARM, AlarmState::Alarm);
    let unhealthy = shifter_advance::handle(&aws, state.clone()).await.unwrap();
    write("rollback-alarm.json", &unhealthy);
    aws.set_alarm(ALARM, AlarmState::Ok);

    let mut failed = state.clone();
    failed.error = Some(StateError {
        error: "AliasChanged".into(),
        cause: Some(
            json!({"errorType": "AliasChanged", "errorMessage":
                "alias live changed outside this rollout: expected v1 100%, found v3 100%: someone else changed it, so the rollout stops"})
            .to_string(),
        ),
    });
    write("rollback-error.json", &failed);
    let mut rollback_failed = failed;
    rollback_failed.rollback_error = Some(StateError {
        error: "AliasChanged".into(),
        cause: Some(
            json!({"errorType": "AliasChanged", "errorMessage":
                "alias live changed outside this rollout: it now routes v3 100%, which this rollout did not set; left as it is"})
            .to_string(),
        ),
    });
    write(
        "notify-rollback-failed.json",
        &NotifyInput {
            schema_version: 1,
            event: EventType::RollbackFailed,
            state: rollback_failed,
        },
    );

    let state = shifter_advance::handle(&aws, state).await.unwrap();
    assert!(state.done);
    write("finalize.json", &state);
    let state = shifter_finalize::handle(&aws, state).await.unwrap();
    write(
        "run-hook-post-traffic.json",
        &hook(HookPhase::PostTraffic, &state),
    );
    let state = shifter_run_hook::handle(&aws, hook(HookPhase::PostTraffic, &state))
        .await
        .unwrap();
    write(
        "notify-rollout-succeeded.json",
        &NotifyInput {
            schema_version: 1,
            event: EventType::RolloutSucceeded,
            state,
        },
    );
}

mod erased {
    /// Pretty JSON of any serializable value, behind `dyn`.
    pub trait Json {
        fn pretty(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn pretty(&self) -> String {
            serde_json::to_string_pretty(self).expect("samples serialize")
        }
    }
}
