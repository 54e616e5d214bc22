//! The state machine definition against the SAM template, the workspace's functions and `shifter::Error`.

use std::collections::BTreeSet;

use serde_json::Value;
use shifter::Error;
use shifter_contract_tests::*;

use shifter::registry::control::SIGNAL_NAMES;
use shifter::retry::{LAMBDA_SERVICE_ERRORS, TASKS, TIMEOUT_ERRORS};

fn tasks(asl: &Value) -> Vec<(&String, &Value)> {
    states(asl)
        .iter()
        .filter(|(_, s)| s["Type"] == "Task")
        .collect()
}

/// The function a Task invokes: its Resource, or for a callback Task the `FunctionName` it passes.
fn function_of(task: &Value) -> &str {
    match task["Resource"].as_str().unwrap() {
        WAIT_FOR_TASK_TOKEN => task["Parameters"]["FunctionName"].as_str().unwrap(),
        other => other,
    }
}

fn is_callback(task: &Value) -> bool {
    task["Resource"] == WAIT_FOR_TASK_TOKEN
}

fn error_names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|rule| rule["ErrorEquals"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

#[test]
fn placeholders_sit_inside_json_strings() {
    let text = read(ASL_PATH);
    let asl = asl();
    let in_strings: BTreeSet<String> = strings(&asl).into_iter().flat_map(placeholders).collect();
    assert_eq!(placeholders(&text), in_strings);
    assert!(!in_strings.is_empty());
}

#[test]
fn placeholders_and_definition_substitutions_match_both_ways() {
    let template = read(TEMPLATE_PATH);
    let substitutions = yaml_block(&template, "DefinitionSubstitutions");
    let defined: BTreeSet<String> = substitutions.iter().map(|(k, _)| k.clone()).collect();
    let used = placeholders(&read(ASL_PATH));
    let missing: Vec<_> = used.difference(&defined).collect();
    let unused: Vec<_> = defined.difference(&used).collect();
    assert!(
        missing.is_empty(),
        "used in the ASL, not substituted in template.yaml: {missing:?}"
    );
    assert!(
        unused.is_empty(),
        "substituted in template.yaml, not used in the ASL: {unused:?}"
    );

    // Each is the ARN of a function the template defines.
    let resources = template_resources(&template);
    for (name, value) in &substitutions {
        let target = value
            .strip_prefix("!GetAtt ")
            .and_then(|v| v.strip_suffix(".Arn"))
            .unwrap_or_else(|| panic!("{name}: {value} is not `!GetAtt <Function>.Arn`"));
        assert_eq!(
            resources.get(target).map(String::as_str),
            Some("AWS::Serverless::Function"),
            "{name} names {target}, which is not a function of the template"
        );
    }
    assert_eq!(
        yaml_block(&template, "RolloutStateMachine")
            .iter()
            .find(|(k, _)| k == "Type")
            .map(|(_, v)| v.as_str()),
        Some("AWS::Serverless::StateMachine")
    );
    assert!(template.contains(&format!("DefinitionUri: {ASL_PATH}")));
}

#[test]
fn every_task_calls_a_substituted_function_arn() {
    let asl = asl();
    for (name, task) in tasks(&asl) {
        let resource = function_of(task);
        let inner = resource
            .strip_prefix("${")
            .and_then(|r| r.strip_suffix('}'))
            .unwrap_or_else(|| panic!("{name}: Resource {resource} is not a ${{...}} placeholder"));
        assert!(inner.ends_with("FunctionArn"), "{name}: {resource}");
    }
}

#[test]
fn function_binaries_match_the_workspace_and_the_build() {
    let template = read(TEMPLATE_PATH);
    let in_template: BTreeSet<String> = template_binaries(&template).into_values().collect();
    let expected: BTreeSet<String> = [
        "shifter-prepare",
        "shifter-run-hook",
        "shifter-advance",
        "shifter-finalize",
        "shifter-rollback",
        "shifter-notify",
        "shifter-wait",
        "shifter-alarm-watcher",
        "shifter-execution-cleanup",
        "shifter-alias-provider",
    ]
    .map(String::from)
    .into();
    assert_eq!(in_template, expected);

    for bin in &expected {
        let dir = bin.strip_prefix("shifter-").unwrap();
        let manifest = read(&format!("functions/{dir}/Cargo.toml"));
        assert!(
            manifest.contains(&format!("[[bin]]\nname = \"{bin}\"")),
            "functions/{dir}/Cargo.toml does not build the binary {bin}"
        );
    }
    let makefile = read("statemachine/sam.mk");
    let line = makefile
        .lines()
        .find(|l| l.starts_with("SAM_FUNCTIONS :="))
        .expect("SAM_FUNCTIONS in sam.mk");
    let built: BTreeSet<String> = line["SAM_FUNCTIONS :=".len()..]
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(built, expected, "statemachine/sam.mk builds other binaries");
}

#[test]
fn custom_error_names_are_shifter_error_names() {
    let asl = asl();
    let mut seen = BTreeSet::new();
    for (name, state) in states(&asl) {
        for error in error_names(state.get("Retry"))
            .into_iter()
            .chain(error_names(state.get("Catch")))
        {
            // Names Step Functions and Lambda report themselves (Sandbox.Timedout: a killed sandbox).
            if error.starts_with("States.")
                || error.starts_with("Lambda.")
                || error == "Sandbox.Timedout"
            {
                continue;
            }
            if SIGNAL_NAMES.contains(&error.as_str()) {
                seen.insert(error);
                continue;
            }
            assert!(
                Error::NAMES.contains(&error.as_str()),
                "{name} names {error:?}, which no shifter error reports (Error::NAMES: {:?})",
                Error::NAMES
            );
            seen.insert(error);
        }
    }
    assert!(
        seen.contains("Transient"),
        "Transient errors must be retried"
    );
    for signal in SIGNAL_NAMES {
        assert!(seen.contains(signal), "no Catch routes {signal}");
    }
}

#[test]
fn every_task_retries_lambda_service_errors_and_catches_everything() {
    let asl = asl();
    for (name, task) in tasks(&asl) {
        let retry = task["Retry"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no Retry"));
        let covered = retry.iter().any(|r| {
            let names = error_names(Some(&Value::Array(vec![r.clone()])));
            LAMBDA_SERVICE_ERRORS
                .iter()
                .chain(&["Transient"])
                .all(|e| names.iter().any(|n| n == e))
                && r["MaxAttempts"].as_u64().unwrap_or(3) >= 2
                && r["BackoffRate"].as_f64().unwrap_or(2.0) >= 1.5
        });
        assert!(
            covered,
            "{name}: no retry with backoff of the Lambda service errors and Transient"
        );
        let catches = task["Catch"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: no Catch"));
        let last = catches.last().unwrap();
        assert_eq!(
            last["ErrorEquals"],
            serde_json::json!(["States.ALL"]),
            "{name}"
        );
        assert!(last["ResultPath"].as_str().is_some_and(|p| p.starts_with("$.")),
            "{name}: the Catch must keep the state (ResultPath $.something), or Rollback loses the rollout");
        let timeout = match is_callback(task) {
            true => task["TimeoutSecondsPath"].as_str().is_some(),
            false => task["TimeoutSeconds"].as_u64().is_some(),
        };
        assert!(
            timeout,
            "{name}: no TimeoutSeconds (TimeoutSecondsPath for a callback Task)"
        );
    }
}

#[test]
fn retry_blocks_are_the_retry_table_both_drivers_use() {
    let asl = asl();
    let in_asl: BTreeSet<&str> = tasks(&asl).iter().map(|(n, _)| n.as_str()).collect();
    let in_table: BTreeSet<&str> = TASKS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        in_asl, in_table,
        "every Task has a row in shifter::retry::TASKS"
    );
    for (name, rule) in TASKS {
        let expected = rule.asl();
        let retry = &states(&asl)[name]["Retry"];
        // Compare numbers as numbers: the ASL writes 2, the table 2.0.
        let normalise = |v: &Value| {
            serde_json::from_str::<Value>(&v.to_string().replace(".0,", ",").replace(".0}", "}"))
                .unwrap()
        };
        assert_eq!(normalise(retry), normalise(&expected), "{name}");
    }
}

#[test]
fn idempotent_tasks_retry_function_and_client_timeouts() {
    // Step Functions reports a function timeout as Lambda.Unknown, Lambda names the killed sandbox
    // Sandbox.Timedout, and AWS's own retry list has Lambda.ClientExecutionTimeoutException.
    let asl = asl();
    for (name, task) in tasks(&asl) {
        let names = error_names(task.get("Retry"));
        assert!(
            names
                .iter()
                .any(|n| n == "Lambda.ClientExecutionTimeoutException"),
            "{name}"
        );
        let idempotent = !name.ends_with("Hook");
        for timeout in TIMEOUT_ERRORS {
            // A callback Task's own timeout is how its wait ends: it is caught, never retried.
            let expected = idempotent && !(is_callback(task) && timeout == "States.Timeout");
            assert_eq!(
                names.iter().any(|n| n == timeout),
                expected,
                "{name} and {timeout}: idempotent Tasks retry timeouts, hooks (user code) do not"
            );
        }
    }
}

#[test]
fn each_function_fails_with_transient_before_lambda_kills_it() {
    let asl = asl();
    let text = read(TEMPLATE_PATH);
    let timeouts = template_function_timeouts(&text);
    let reserve = shifter_lambda::DEADLINE_RESERVE.as_secs();
    let operation = shifter::aws::OPERATION_TIMEOUT.as_secs();
    for (name, task) in tasks(&asl) {
        let resource = function_of(task);
        let logical = resource
            .strip_prefix("${")
            .and_then(|r| r.strip_suffix("Arn}"))
            .unwrap_or_else(|| panic!("{name}: Resource {resource} is not ${{XFunctionArn}}"));
        let timeout = *timeouts
            .get(logical)
            .unwrap_or_else(|| panic!("{name}: no function {logical} in the template"));
        // One whole SDK call (all its attempts) fits in the step's budget, and the guard fires before Lambda.
        assert!(
            operation + reserve < timeout,
            "{name}: {logical} times out after {timeout} s; one AWS call may take {operation} s + {reserve} s reserve"
        );
        if is_callback(task) {
            continue; // the Task's timeout is the wait (a bake, a pause), not the function's run
        }
        let task_timeout = task["TimeoutSeconds"].as_u64().unwrap();
        assert!(
            task_timeout > timeout,
            "{name}: TimeoutSeconds {task_timeout} must exceed {logical}'s Timeout {timeout}, so the function's own guard reports first"
        );
    }
    // A hook gets RunHook's budget less one AWS call (the notification after it): a hook that uses Lambda's
    // longest timeout is cut first and reported as a failed hook, not as RunHook dying.
    let global = yaml_block(&text, "Function")
        .into_iter()
        .find(|(k, _)| k == "Timeout")
        .map(|(_, v)| v.parse::<u64>().unwrap());
    assert_eq!(
        global,
        Some(shifter_lambda::DEFAULT_TIMEOUT.as_secs()),
        "the fallback budget (no usable deadline) is the template's default timeout"
    );
    let run_hook = timeouts["RunHookFunction"];
    let hook_budget = run_hook - reserve - operation;
    assert!(hook_budget > 0 && hook_budget < shifter::aws::LAMBDA_MAX_TIMEOUT.as_secs());
}

#[test]
fn rollback_retries_hard() {
    let asl = asl();
    let rollback = &states(&asl)["Rollback"];
    let retry = &rollback["Retry"][1];
    assert!(retry["MaxAttempts"].as_u64().unwrap() >= 6);
    assert!(retry["BackoffRate"].as_f64().unwrap() >= 2.0);
    assert_eq!(rollback["Catch"][0]["Next"], "NotifyRollbackFailed");
    assert_eq!(states(&asl)["RolledBack"]["Type"], "Fail");
    assert_eq!(states(&asl)["RolledBack"]["ErrorPath"], "$.endError");
    assert_eq!(states(&asl)["RollbackFailed"]["Error"], "RollbackFailed");
}

#[test]
fn every_target_exists_and_every_state_is_reachable() {
    let asl = asl();
    let all = states(&asl);
    let start = asl["StartAt"].as_str().unwrap();
    assert!(all.contains_key(start));
    for (name, state) in all {
        for target in targets(state) {
            assert!(
                all.contains_key(&target),
                "{name} goes to {target:?}, which does not exist"
            );
        }
        let terminal = matches!(state["Type"].as_str(), Some("Succeed" | "Fail"));
        assert_eq!(
            targets(state).is_empty(),
            terminal,
            "{name}: only Succeed and Fail may end"
        );
    }
    let reached = reachable_from(&asl, start);
    let unreachable: Vec<_> = all.keys().filter(|k| !reached.contains(*k)).collect();
    assert!(unreachable.is_empty(), "unreachable: {unreachable:?}");
}

#[test]
fn a_rejected_request_never_reaches_rollback() {
    let asl = asl();
    let prepare = &states(&asl)["Prepare"];
    for catch in prepare["Catch"].as_array().unwrap() {
        let target = catch["Next"].as_str().unwrap();
        assert_eq!(
            states(&asl)[target]["Type"],
            "Fail",
            "Prepare's Catch must end the execution"
        );
        assert!(!reachable_from(&asl, target).contains("Rollback"));
    }
}

#[test]
fn failed_checks_and_hooks_route_to_rollback() {
    let asl = asl();
    for choice in ["PreTrafficChoice", "AdvanceChoice", "PostTrafficChoice"] {
        let state = &states(&asl)[choice];
        let first = &state["Choices"][0];
        assert_eq!(first["BooleanEquals"], false, "{choice}");
        assert_eq!(first["Next"], "Rollback", "{choice}");
    }
    let advance = &states(&asl)["AdvanceChoice"];
    assert_eq!(advance["Choices"][0]["Variable"], "$.verdict.healthy");
    assert_eq!(advance["Choices"][1]["Variable"], "$.done");
    assert_eq!(advance["Choices"][1]["Next"], "Finalize");
    let bake = &states(&asl)[advance["Default"].as_str().unwrap()];
    assert_eq!(bake["TimeoutSecondsPath"], "$.waitSeconds");
    // Step Functions refuses a timeout of 0: a step that bakes 0 s goes straight back to Advance.
    assert_eq!(advance["Choices"][2]["Variable"], "$.waitSeconds");
    assert_eq!(advance["Choices"][2]["NumericEquals"], 0);
    assert_eq!(advance["Choices"][2]["Next"], "Advance");
}

/// Where each way a wait can end goes: a bake's timeout is the bake done (Advance, keeping the state); a
/// signal rolls back as a verdict (`$.signal`), as does a pause past its maximum; anything else is an error.
#[test]
fn waits_route_timeouts_signals_and_commands() {
    let asl = asl();
    let all = states(&asl);
    let catch = |state: &str, error: &str| -> (String, String) {
        let c = all[state]["Catch"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["ErrorEquals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e == error)
            })
            .unwrap_or_else(|| panic!("{state} does not catch {error}"));
        (
            c["Next"].as_str().unwrap().into(),
            c["ResultPath"].as_str().unwrap().into(),
        )
    };
    for state in ["Bake", "Paused"] {
        assert!(is_callback(&all[state]), "{state}");
        assert_eq!(
            all[state]["Parameters"]["FunctionName"],
            "${WaitFunctionArn}"
        );
        assert_eq!(
            all[state]["Parameters"]["Payload"]["token.$"],
            "$$.Task.Token"
        );
        assert_eq!(all[state]["ResultPath"], "$.operator");
        for signal in SIGNAL_NAMES {
            assert_eq!(
                catch(state, signal),
                ("Rollback".into(), "$.signal".into()),
                "{state}"
            );
        }
        assert_eq!(
            catch(state, "States.ALL"),
            ("Rollback".into(), "$.error".into())
        );
    }
    assert_eq!(all["Bake"]["Parameters"]["Payload"]["kind"], "Bake");
    assert_eq!(all["Paused"]["Parameters"]["Payload"]["kind"], "Pause");
    for timeout in ["States.Timeout", "States.HeartbeatTimeout"] {
        assert_eq!(
            catch("Bake", timeout),
            ("Advance".into(), "$.operator".into())
        );
        assert_eq!(
            catch("Paused", timeout),
            ("Rollback".into(), "$.signal".into())
        );
    }
    assert_eq!(
        all["Paused"]["TimeoutSecondsPath"],
        "$.operator.pauseSeconds"
    );
    assert_eq!(all["Bake"]["Next"], "OperatorChoice");
    assert_eq!(all["OperatorChoice"]["Default"], "Advance");
    assert_eq!(all["OperatorChoice"]["Choices"][0]["Next"], "Paused");
    assert_eq!(all["Paused"]["Next"], "Advance");
}

/// By the graph alone: the loop Advance → AdvanceChoice → Bake is 3 states, and the shortest way from
/// StartAt to the Succeed state without baking or rolling back is 10 states, so a plan of N steps (the last
/// being the final 100% one) takes 3(N-1) + 10 = 3N + 7 transitions: 3 per step plus 7 fixed.
#[test]
fn transitions_by_static_walk_are_three_per_step_plus_seven() {
    let asl = asl();
    // A bake ends on its timeout, caught: that is the loop's way back to Advance.
    let bake_done = states(&asl)["Bake"]["Catch"][0]["Next"].as_str().unwrap();
    let loop_len = shortest_path(&asl, bake_done, "Bake", &["Rollback", "Finalize"]).unwrap();
    assert_eq!(loop_len, 3, "Advance, AdvanceChoice, Bake");
    let fixed = shortest_path(&asl, "Prepare", "Promoted", &["Bake", "Rollback"]).unwrap();
    assert_eq!(fixed, 10);
    let per_step = loop_len;
    let fixed_beyond_steps = fixed - per_step; // the final step's Advance, AdvanceChoice, Finalize
    assert!(
        per_step <= 3 && fixed_beyond_steps <= 8,
        "{per_step} per step + {fixed_beyond_steps}"
    );
    for n in 1..=shifter::plan::MAX_STEPS {
        assert_eq!(per_step * (n - 1) + fixed, 3 * n + 7);
    }
}
