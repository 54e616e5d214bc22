//! Support for the contract tests between `statemachine/rollout.asl.json`, `template.yaml`, the functions and
//! `events/`: the repository's files, a light scan of the SAM template (no YAML dependency: SAM's `!GetAtt` /
//! `!Ref` tags trip strict YAML parsers, and the few facts needed sit on predictable lines), the ASL's graph,
//! and a small interpreter of the ASL subset the state machine uses, so whole executions can run against the
//! real handlers over `shifter::fake::FakeAws`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::path::PathBuf;

use serde_json::{json, Map, Value};

// ---- files -----------------------------------------------------------------------------------------------

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub const ASL_PATH: &str = "statemachine/rollout.asl.json";
pub const TEMPLATE_PATH: &str = "template.yaml";

/// The state machine definition, parsed (placeholders still in place).
pub fn asl() -> Value {
    serde_json::from_str(&read(ASL_PATH)).expect("the ASL is JSON before substitution")
}

/// Every `${Name}` in `text`.
pub fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').expect("an unterminated ${");
        out.insert(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

/// Every string value (not key) in `value`, recursively.
pub fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => vec![],
    }
}

// ---- the SAM template, by lines ----------------------------------------------------------------------------

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// The `key: value` lines directly under the first line that is exactly `header:` (at any indent).
pub fn yaml_block(text: &str, header: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == format!("{header}:"))
        .unwrap_or_else(|| panic!("no `{header}:` block"));
    let base = indent(lines[start]);
    let mut out = Vec::new();
    let mut child = None;
    for line in &lines[start + 1..] {
        if !is_content(line) {
            continue;
        }
        let i = indent(line);
        if i <= base {
            break;
        }
        let child_indent = *child.get_or_insert(i);
        if i != child_indent {
            continue;
        }
        if let Some((k, v)) = line.trim().split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// The template's resources: logical id -> `Type`.
pub fn template_resources(text: &str) -> BTreeMap<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end() == "Resources:")
        .expect("a Resources section");
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in &lines[start + 1..] {
        if !is_content(line) {
            continue;
        }
        match indent(line) {
            0 => break,
            2 => current = line.trim().strip_suffix(':').map(str::to_string),
            4 => {
                if let (Some(name), Some(t)) = (&current, line.trim().strip_prefix("Type:")) {
                    out.insert(name.clone(), t.trim().to_string());
                }
            }
            _ => {}
        }
    }
    out
}

/// Each `AWS::Serverless::Function`'s timeout in seconds: its own `Timeout:`, else the `Globals` one.
pub fn template_function_timeouts(text: &str) -> BTreeMap<String, u64> {
    let global: u64 = yaml_block(text, "Function")
        .into_iter()
        .find(|(k, _)| k == "Timeout")
        .and_then(|(_, v)| v.parse().ok())
        .expect("Globals.Function.Timeout");
    let functions: Vec<String> = template_resources(text)
        .into_iter()
        .filter(|(_, t)| t == "AWS::Serverless::Function")
        .map(|(name, _)| name)
        .collect();
    let mut out: BTreeMap<String, u64> = functions.iter().map(|f| (f.clone(), global)).collect();
    let mut current = None;
    for line in text.lines().filter(|l| is_content(l)) {
        if indent(line) == 2 {
            current = line.trim().strip_suffix(':').map(str::to_string);
        } else if indent(line) == 6 {
            if let (Some(name), Some(t)) = (&current, line.trim().strip_prefix("Timeout:")) {
                if let Some(slot) = out.get_mut(name) {
                    *slot = t.trim().parse().expect("Timeout is a number");
                }
            }
        }
    }
    out
}

/// The `Binary:` of each function's cargo-lambda build: logical id -> binary name.
pub fn template_binaries(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current = None;
    for line in text.lines().filter(|l| is_content(l)) {
        if indent(line) == 2 {
            current = line.trim().strip_suffix(':').map(str::to_string);
        } else if let (Some(name), Some(bin)) = (&current, line.trim().strip_prefix("Binary:")) {
            out.insert(name.clone(), bin.trim().to_string());
        }
    }
    out
}

// ---- the ASL's graph ---------------------------------------------------------------------------------------

pub fn states(asl: &Value) -> &Map<String, Value> {
    asl["States"].as_object().expect("States is an object")
}

/// Where a state can go: `Next`, `Default`, every Choice rule's `Next`, every Catch's `Next`.
pub fn targets(state: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["Next", "Default"] {
        if let Some(t) = state.get(key).and_then(Value::as_str) {
            out.push(t.to_string());
        }
    }
    for list in ["Choices", "Catch"] {
        for item in state
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = item.get("Next").and_then(Value::as_str) {
                out.push(t.to_string());
            }
        }
    }
    out
}

/// The states reachable from `from` (included), following every target.
pub fn reachable_from(asl: &Value, from: &str) -> BTreeSet<String> {
    let all = states(asl);
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([from.to_string()]);
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(state) = all.get(&name) {
            queue.extend(targets(state));
        }
    }
    seen
}

/// The fewest states entered from `from` to `to` (both counted), never entering a state in `avoid`.
pub fn shortest_path(asl: &Value, from: &str, to: &str, avoid: &[&str]) -> Option<usize> {
    let all = states(asl);
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([(from.to_string(), 1)]);
    while let Some((name, n)) = queue.pop_front() {
        if name == to {
            return Some(n);
        }
        if avoid.contains(&name.as_str()) || !seen.insert(name.clone()) {
            continue;
        }
        for t in all.get(&name).map(targets).unwrap_or_default() {
            queue.push_back((t, n + 1));
        }
    }
    None
}

// ---- an interpreter for the ASL subset the state machine uses -----------------------------------------------

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
    pub status: Status,
}

/// Fields this interpreter does not implement; a state using one would be simulated wrongly, so it panics.
const UNSUPPORTED: [&str; 6] = [
    "InputPath",
    "OutputPath",
    "ResultSelector",
    "Arguments",
    "Output",
    "Assign",
];

/// Runs `asl` on `input` as execution `name`, calling `task(resource, effective_input)` for every Task.
/// Implements Task (Parameters with `.$` paths and `$$.Execution.Name`/`Id`, ResultPath, Retry, Catch), Choice
/// (BooleanEquals, StringEquals, NumericEquals, IsPresent, And, Or, Not), Wait (Seconds, SecondsPath; no
/// sleeping), Succeed and Fail (Error/ErrorPath, Cause/CausePath). A path a Choice, Wait or Fail needs but
/// the state lacks fails the execution with `States.Runtime`, as in AWS.
pub async fn execute<F, Fut>(asl: &Value, input: Value, name: &str, mut task: F) -> Execution
where
    F: FnMut(String, Value) -> Fut,
    Fut: Future<Output = Result<Value, TaskError>>,
{
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
                let resource = state["Resource"].as_str().expect("Resource").to_string();
                let effective = match state.get("Parameters") {
                    Some(p) => match parameters(p, &data, &context) {
                        Ok(v) => v,
                        Err(e) => {
                            run.status = runtime(e);
                            return run;
                        }
                    },
                    None => data.clone(),
                };
                let mut attempts: BTreeMap<usize, u64> = BTreeMap::new();
                let outcome = loop {
                    match task(resource.clone(), effective.clone()).await {
                        Ok(result) => break Ok(result),
                        Err(error) => {
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
                    Some(s) => run.waited_seconds += s,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_and_write() {
        let data = json!({"a": {"b": 1}});
        let ctx = json!({"Execution": {"Name": "r-1"}});
        assert_eq!(get_path(&data, &ctx, "$.a.b"), Some(json!(1)));
        assert_eq!(
            get_path(&data, &ctx, "$$.Execution.Name"),
            Some(json!("r-1"))
        );
        assert_eq!(get_path(&data, &ctx, "$.x"), None);
        assert_eq!(set_path(data.clone(), "$.c.d", json!(2))["c"]["d"], 2);
        assert_eq!(set_path(data, "$", json!(3)), json!(3));
    }

    #[test]
    fn yaml_scan_finds_blocks_resources_and_binaries() {
        let text = "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildProperties:\n        Binary: b\n  Sm:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      DefinitionSubstitutions:\n        A: !GetAtt Fn.Arn\n        # note\n        B: x\n      Policies: []\nOutputs: {}\n";
        assert_eq!(
            yaml_block(text, "DefinitionSubstitutions"),
            [
                ("A".to_string(), "!GetAtt Fn.Arn".to_string()),
                ("B".to_string(), "x".to_string())
            ]
        );
        assert_eq!(template_resources(text).len(), 2);
        assert_eq!(template_binaries(text)["Fn"], "b");
        assert_eq!(
            placeholders("x ${A} y ${B}"),
            BTreeSet::from(["A".to_string(), "B".to_string()])
        );
    }
}
