//! Support for the contract tests between `statemachine/rollout.asl.json`, `template.yaml`, the functions and
//! `events/`: the repository's files, a light scan of the SAM template (no YAML dependency: SAM's `!GetAtt` /
//! `!Ref` tags trip strict YAML parsers, and the few facts needed sit on predictable lines), the ASL's graph,
//! and a small interpreter of the ASL subset the state machine uses, so whole executions can run against the
//! real handlers over `shifter::fake::FakeAws`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

use serde_json::{Map, Value};

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

mod interpreter;
pub use interpreter::*;

#[cfg(test)]
mod tests {
    use serde_json::json;

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
