//! An interpreter for the ASL subset the state machine uses, so whole executions run against the real
//! handlers over `shifter::fake::FakeAws`.

use std::collections::BTreeMap;
use std::future::Future;

use serde_json::{json, Map, Value};

use crate::states;

/// A Task's failure as Step Functions sees it: `Error` (the Lambda `errorType`) and `Cause`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

impl TaskError {
    /// How a Lambda function's error reaches Step Functions: the errorType, and the error payload as Cause.
    pub fn lambda(error_type: &str, message: &str) -> Self {
        TaskError {
            error: error_type.to_string(),
            cause: json!({"errorType": error_type, "errorMessage": message}).to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Succeeded(Value),
    Failed { error: String, cause: String },
}

/// One execution.
#[derive(Debug, Clone)]
pub struct Execution {
    /// Every state entered, in order.
    pub path: Vec<String>,
    /// States entered plus retries: what Step Functions bills as state transitions.
    pub transitions: usize,
    pub retries: usize,
    /// Seconds spent in Wait states.
    pub waited_seconds: u64,
    /// Seconds spent between a failed Task and its retry, as Step Functions waits them: `IntervalSeconds`
    /// (default 1) × `BackoffRate` (default 2) to the power of the retries before, capped at
    /// `MaxDelaySeconds`. Simulated: nothing sleeps.
    pub retry_seconds: f64,
    pub status: Status,
}

/// How the interpreter spends the time an execution waits (Wait states, bakes that time out, retries).
#[derive(Debug, Clone, Copy, Default)]
pub struct Timing {
    /// Sleep each wait on tokio's clock (under `start_paused`, simulated time that other executions share),
    /// instead of only counting it.
    pub sleep: bool,
    /// Mixed with the execution's name to seed `JitterStrategy: FULL`, so runs repeat.
    pub seed: u64,
}

/// A deterministic source for `JitterStrategy: FULL` (splitmix64, `shifter::retry::fraction`).
struct Jitter(u64);

impl Jitter {
    fn new(name: &str, seed: u64) -> Self {
        // FNV-1a of the name, so each execution draws its own sequence.
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Jitter(hash ^ seed)
    }

    fn fraction(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(shifter::retry::SPLITMIX_GAMMA);
        shifter::retry::fraction(self.0)
    }
}

/// How long Step Functions waits before retry number `before + 1` of a Retrier, before any jitter: the
/// most a retrier with `JitterStrategy: FULL` waits (it waits a random part of this).
pub fn retry_delay(retrier: &Value, before: u64) -> f64 {
    let interval = retrier
        .get("IntervalSeconds")
        .and_then(Value::as_f64)
        .unwrap_or(1.0);
    let rate = retrier
        .get("BackoffRate")
        .and_then(Value::as_f64)
        .unwrap_or(2.0);
    let delay = interval * rate.powi(i32::try_from(before).unwrap_or(i32::MAX));
    match retrier.get("MaxDelaySeconds").and_then(Value::as_f64) {
        Some(cap) => delay.min(cap),
        None => delay,
    }
}

/// The one service integration simulated: a Lambda invoke that waits for its task token.
pub const WAIT_FOR_TASK_TOKEN: &str = "arn:aws:states:::lambda:invoke.waitForTaskToken";

/// Fields this interpreter does not implement; a state using one would be simulated wrongly, so it panics.
const UNSUPPORTED: [&str; 6] = [
    "InputPath",
    "OutputPath",
    "ResultSelector",
    "Arguments",
    "Output",
    "Assign",
];

/// Runs `asl` on `input` as execution `name`, calling `task(resource, effective_input)` for every Task. A
/// callback Task (`lambda:invoke.waitForTaskToken`) calls `task(FunctionName, Payload)` with `$$.Task.Token`
/// set; its result stands for the token's answer (`Ok`: SendTaskSuccess's output; `Err`: SendTaskFailure, or
/// `States.Timeout` when nothing answered it, which counts its timeout as waited).
/// Implements Task (Parameters with `.$` paths and `$$.Execution.Name`/`Id`, ResultPath, Retry, Catch), Choice
/// (BooleanEquals, StringEquals, NumericEquals, IsPresent, And, Or, Not), Wait (Seconds, SecondsPath; no
/// sleeping), Succeed and Fail (Error/ErrorPath, Cause/CausePath). A path a Choice, Wait or Fail needs but
/// the state lacks fails the execution with `States.Runtime`, as in AWS.
pub async fn execute<F, Fut>(asl: &Value, input: Value, name: &str, task: F) -> Execution
where
    F: FnMut(String, Value) -> Fut,
    Fut: Future<Output = Result<Value, TaskError>>,
{
    execute_timed(asl, input, name, Timing::default(), task).await
}

/// [`execute`], spending waits as `timing` says.
pub async fn execute_timed<F, Fut>(
    asl: &Value,
    input: Value,
    name: &str,
    timing: Timing,
    mut task: F,
) -> Execution
where
    F: FnMut(String, Value) -> Fut,
    Fut: Future<Output = Result<Value, TaskError>>,
{
    let mut jitter = Jitter::new(name, timing.seed);
    let spend = |seconds: f64| async move {
        if timing.sleep && seconds > 0.0 {
            tokio::time::sleep(std::time::Duration::from_secs_f64(seconds)).await;
        }
    };
    let all = states(asl);
    let context = json!({"Execution": {
        "Name": name,
        "Id": format!("arn:aws:states:us-east-1:123456789012:execution:shifter-rollout:{name}"),
    }});
    let mut current = asl["StartAt"].as_str().expect("StartAt").to_string();
    let mut data = input;
    let mut run = Execution {
        path: vec![],
        transitions: 0,
        retries: 0,
        waited_seconds: 0,
        retry_seconds: 0.0,
        status: Status::Failed {
            error: "unfinished".into(),
            cause: String::new(),
        },
    };
    let runtime = |cause: String| Status::Failed {
        error: "States.Runtime".into(),
        cause,
    };
    loop {
        assert!(
            run.transitions < 100_000,
            "runaway execution: {:?}",
            &run.path[..20]
        );
        let state = all
            .get(&current)
            .unwrap_or_else(|| panic!("no state {current:?}"));
        for field in UNSUPPORTED {
            assert!(
                state.get(field).is_none(),
                "{current}: {field} is not simulated"
            );
        }
        run.path.push(current.clone());
        run.transitions += 1;
        let next = |s: &Value| s["Next"].as_str().map(str::to_string);
        match state["Type"].as_str().expect("Type") {
            "Task" => {
                let mut resource = state["Resource"].as_str().expect("Resource").to_string();
                let callback = resource == WAIT_FOR_TASK_TOKEN;
                let mut context = context.clone();
                if callback {
                    context["Task"] = json!({"Token": format!("{name}-token-{}", run.transitions)});
                } else {
                    assert!(
                        !resource.starts_with("arn:aws:states:::"),
                        "{current}: only {WAIT_FOR_TASK_TOKEN} of the service integrations is simulated"
                    );
                }
                let mut effective = match state.get("Parameters") {
                    Some(p) => match parameters(p, &data, &context) {
                        Ok(v) => v,
                        Err(e) => {
                            run.status = runtime(e);
                            return run;
                        }
                    },
                    None => data.clone(),
                };
                // A callback Task: the function named in Parameters gets the Payload; the Task's result is
                // how the token was answered, or States.Timeout when its timeout passed first.
                let timeout = match (state.get("TimeoutSeconds"), state.get("TimeoutSecondsPath")) {
                    (Some(s), _) => s.as_u64(),
                    (None, Some(p)) => {
                        get_path(&data, &context, p.as_str().unwrap_or("")).and_then(|v| v.as_u64())
                    }
                    _ => None,
                };
                if callback {
                    resource = effective["FunctionName"]
                        .as_str()
                        .expect("FunctionName")
                        .to_string();
                    effective = effective["Payload"].clone();
                    if timeout.is_none_or(|t| t == 0) {
                        run.status = runtime(format!(
                            "{current}: the timeout is not a positive whole number"
                        ));
                        return run;
                    }
                }
                let mut attempts: BTreeMap<usize, u64> = BTreeMap::new();
                let outcome = loop {
                    match task(resource.clone(), effective.clone()).await {
                        Ok(result) => break Ok(result),
                        Err(error) => {
                            if callback && error.error == "States.Timeout" {
                                run.waited_seconds += timeout.unwrap_or(0);
                                spend(timeout.unwrap_or(0) as f64).await;
                            }
                            let retrier = state
                                .get("Retry")
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                                .enumerate()
                                .find(|(_, r)| matches_error(r, &error.error));
                            if let Some((i, r)) = retrier {
                                let max = r.get("MaxAttempts").and_then(Value::as_u64).unwrap_or(3);
                                let n = attempts.entry(i).or_default();
                                if *n < max {
                                    let mut delay = retry_delay(r, *n);
                                    match r.get("JitterStrategy").and_then(Value::as_str) {
                                        None | Some("NONE") => {}
                                        Some("FULL") => delay *= jitter.fraction(),
                                        Some(other) => {
                                            panic!("JitterStrategy {other} is not simulated")
                                        }
                                    }
                                    run.retry_seconds += delay;
                                    spend(delay).await;
                                    *n += 1;
                                    run.retries += 1;
                                    run.transitions += 1;
                                    continue;
                                }
                            }
                            break Err(error);
                        }
                    }
                };
                match outcome {
                    Ok(result) => {
                        data = set_path(data, result_path(state), result);
                        current = next(state).expect("a Task needs Next (End is not used)");
                    }
                    Err(error) => {
                        let catcher = state
                            .get("Catch")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .find(|c| matches_error(c, &error.error));
                        match catcher {
                            Some(c) => {
                                let value = json!({"Error": error.error, "Cause": error.cause});
                                data = set_path(data, result_path(c), value);
                                current = next(c).expect("a Catch needs Next");
                            }
                            None => {
                                run.status = Status::Failed {
                                    error: error.error,
                                    cause: error.cause,
                                };
                                return run;
                            }
                        }
                    }
                }
            }
            "Choice" => {
                let mut chosen = None;
                for rule in state["Choices"].as_array().expect("Choices") {
                    match rule_matches(rule, &data) {
                        Ok(true) => {
                            chosen = next(rule);
                            break;
                        }
                        Ok(false) => {}
                        Err(e) => {
                            run.status = runtime(format!("{current}: {e}"));
                            return run;
                        }
                    }
                }
                match chosen.or_else(|| state["Default"].as_str().map(str::to_string)) {
                    Some(n) => current = n,
                    None => {
                        run.status = Status::Failed {
                            error: "States.NoChoiceMatched".into(),
                            cause: current.clone(),
                        };
                        return run;
                    }
                }
            }
            "Wait" => {
                let seconds = match (state.get("Seconds"), state.get("SecondsPath")) {
                    (Some(s), _) => s.as_u64(),
                    (None, Some(p)) => {
                        get_path(&data, &context, p.as_str().unwrap_or("")).and_then(|v| v.as_u64())
                    }
                    _ => None,
                };
                match seconds {
                    Some(s) => {
                        run.waited_seconds += s;
                        spend(s as f64).await;
                    }
                    None => {
                        run.status = runtime(format!("{current}: no whole number of seconds"));
                        return run;
                    }
                }
                current = next(state).expect("a Wait needs Next");
            }
            "Pass" => {
                current = next(state).expect("a Pass needs Next");
            }
            "Succeed" => {
                run.status = Status::Succeeded(data);
                return run;
            }
            "Fail" => {
                let pick = |fixed: &str, path: &str| -> Result<String, String> {
                    if let Some(v) = state.get(fixed).and_then(Value::as_str) {
                        return Ok(v.to_string());
                    }
                    match state.get(path).and_then(Value::as_str) {
                        Some(p) => match get_path(&data, &context, p) {
                            Some(Value::String(s)) => Ok(s),
                            other => Err(format!("{current}: {path} {p} is {other:?}")),
                        },
                        None => Ok(String::new()),
                    }
                };
                run.status = match (pick("Error", "ErrorPath"), pick("Cause", "CausePath")) {
                    (Ok(error), Ok(cause)) => Status::Failed { error, cause },
                    (Err(e), _) | (_, Err(e)) => runtime(e),
                };
                return run;
            }
            other => panic!("{current}: state type {other} is not simulated"),
        }
    }
}

fn result_path(state: &Value) -> &str {
    state
        .get("ResultPath")
        .and_then(Value::as_str)
        .unwrap_or("$")
}

fn matches_error(rule: &Value, error: &str) -> bool {
    rule["ErrorEquals"]
        .as_array()
        .expect("ErrorEquals")
        .iter()
        .filter_map(Value::as_str)
        .any(|e| e == "States.ALL" || e == error)
}

/// `$`, `$.a.b` on the state, `$$.a.b` on the context object.
pub fn get_path(data: &Value, context: &Value, path: &str) -> Option<Value> {
    let (root, rest) = if let Some(rest) = path.strip_prefix("$$") {
        (context, rest)
    } else {
        (data, path.strip_prefix('$')?)
    };
    let mut v = root;
    for key in rest.split('.').filter(|k| !k.is_empty()) {
        v = v.get(key)?;
    }
    Some(v.clone())
}

/// Sets `path` (`$` or `$.a.b`) in `data` to `value`, creating objects on the way.
pub fn set_path(data: Value, path: &str, value: Value) -> Value {
    let keys: Vec<&str> = path
        .strip_prefix('$')
        .expect("a path starts with $")
        .split('.')
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return value;
    }
    let mut data = data;
    let mut v = &mut data;
    for key in &keys[..keys.len() - 1] {
        if !v.get(*key).is_some_and(Value::is_object) {
            v[*key] = json!({});
        }
        v = &mut v[*key];
    }
    v[keys[keys.len() - 1]] = value;
    data
}

fn parameters(template: &Value, data: &Value, context: &Value) -> Result<Value, String> {
    match template {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if let Some(key) = k.strip_suffix(".$") {
                    let path = v.as_str().ok_or(format!("{k} is not a path"))?;
                    let value = get_path(data, context, path)
                        .ok_or(format!("Parameters: {path} is not in the input"))?;
                    out.insert(key.to_string(), value);
                } else {
                    out.insert(k.clone(), parameters(v, data, context)?);
                }
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

fn rule_matches(rule: &Value, data: &Value) -> Result<bool, String> {
    if let Some(all) = rule.get("And").and_then(Value::as_array) {
        for r in all {
            if !rule_matches(r, data)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(any) = rule.get("Or").and_then(Value::as_array) {
        for r in any {
            if rule_matches(r, data)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(not) = rule.get("Not") {
        return Ok(!rule_matches(not, data)?);
    }
    let variable = rule["Variable"].as_str().ok_or("a rule without Variable")?;
    let value = get_path(data, &Value::Null, variable);
    if let Some(present) = rule.get("IsPresent").and_then(Value::as_bool) {
        return Ok(value.is_some() == present);
    }
    let value = value.ok_or(format!("Invalid path {variable}: not in the state"))?;
    for op in ["BooleanEquals", "StringEquals", "NumericEquals"] {
        if let Some(expected) = rule.get(op) {
            let same_kind = matches!(
                (op, &value),
                ("BooleanEquals", Value::Bool(_))
                    | ("StringEquals", Value::String(_))
                    | ("NumericEquals", Value::Number(_))
            );
            if !same_kind {
                return Err(format!("{variable} is {value}, not a {op} operand"));
            }
            return Ok(&value == expected);
        }
    }
    Err(format!("unsupported rule {rule}"))
}
