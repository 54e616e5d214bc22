//! Running the state machine's ASL over the real handlers and the fake, shared by the execution tests.
#![allow(dead_code)] // each test binary uses a part of it

use std::sync::{Arc, Mutex};

use serde_json::Value;
use shifter::fake::FakeAws;
use shifter::notification::EventType;
use shifter::registry::control::Answer;
use shifter::Error;
use shifter_contract_tests::{asl, execute, Execution, TaskError};

/// Called before each Task with its resource and how many times that resource was called before: lets a
/// scenario change the world mid-execution (an alarm fires during a bake, someone edits the alias). A wait
/// (`${WaitFunctionArn}`) is called a second time as `${WaitFunctionArn}:waiting` once its token is
/// registered: what happens then happens while the rollout waits (an alarm event, an operator's command).
pub type Script = Box<dyn FnMut(&str, usize, &FakeAws) + Send>;

/// A wait as Step Functions runs it: the Wait function registers the token, then the token's answer (or the
/// Task's timeout, when nothing answered) is the Task's result.
pub async fn wait(
    aws: &FakeAws,
    input: Value,
    during: impl FnOnce(&FakeAws),
) -> Result<Value, TaskError> {
    let token = input["token"].as_str().expect("a token").to_string();
    aws.open_token(&token);
    call(aws, "${WaitFunctionArn}", input).await?;
    during(aws);
    let answer = aws.token_answer(&token);
    aws.time_out_token(&token);
    match answer {
        Some(Answer::Succeed(output)) => Ok(output),
        Some(Answer::Fail { error, cause }) => Err(TaskError {
            error: error.to_string(),
            cause,
        }),
        None => Err(TaskError {
            error: "States.Timeout".into(),
            cause: "the task timed out".into(),
        }),
    }
}

pub async fn call(aws: &FakeAws, resource: &str, input: Value) -> Result<Value, TaskError> {
    async fn typed<I, O, Fut>(
        input: Value,
        handler: impl FnOnce(I) -> Fut,
    ) -> shifter::Result<Value>
    where
        I: serde::de::DeserializeOwned,
        O: serde::Serialize,
        Fut: std::future::Future<Output = shifter::Result<O>>,
    {
        let parsed = shifter_lambda::parse(input)?;
        let out = handler(parsed).await?;
        Ok(serde_json::to_value(out).expect("outputs serialize"))
    }
    // The template's defaults: no default topic, hooks anywhere in this account and region.
    let prepare_settings = shifter_prepare::Settings::default();
    let result = match resource {
        "${PrepareFunctionArn}" => {
            typed(input, |i| {
                shifter_prepare::handle(aws, i, &prepare_settings)
            })
            .await
        }
        "${RunHookFunctionArn}" => typed(input, |i| shifter_run_hook::handle(aws, i)).await,
        "${AdvanceFunctionArn}" => typed(input, |i| shifter_advance::handle(aws, i)).await,
        "${FinalizeFunctionArn}" => typed(input, |i| shifter_finalize::handle(aws, i)).await,
        "${RollbackFunctionArn}" => typed(input, |i| shifter_rollback::handle(aws, i)).await,
        "${NotifyFunctionArn}" => typed(input, |i| shifter_notify::handle(aws, i)).await,
        "${WaitFunctionArn}" => typed(input, |i| shifter_wait::handle(aws, i)).await,
        other => panic!("no function for {other}"),
    };
    result.map_err(|e: Error| TaskError::lambda(e.error_type(), &e.to_string()))
}

pub async fn run_with(aws: &FakeAws, input: Value, script: Script) -> Execution {
    let definition = asl();
    let calls = Arc::new(Mutex::new((
        script,
        std::collections::BTreeMap::<String, usize>::new(),
    )));
    execute(&definition, input, "r-1", |resource, input| {
        let aws = aws.clone();
        let calls = calls.clone();
        async move {
            let n = {
                let mut guard = calls.lock().unwrap();
                let (script, counts) = &mut *guard;
                let n = counts.entry(resource.clone()).or_default();
                script(&resource, *n, &aws);
                *n += 1;
                *n - 1
            };
            if resource == "${WaitFunctionArn}" {
                let during = |aws: &FakeAws| {
                    let mut guard = calls.lock().unwrap();
                    (guard.0)(&format!("{resource}:waiting"), n, aws);
                };
                return wait(&aws, input, during).await;
            }
            call(&aws, &resource, input).await
        }
    })
    .await
}

pub async fn run(aws: &FakeAws, input: Value) -> Execution {
    run_with(aws, input, Box::new(|_, _, _| {})).await
}

pub fn events(aws: &FakeAws) -> Vec<(EventType, f64)> {
    aws.notifications()
        .into_iter()
        .map(|(_, n)| (n.event_type, n.weight_percent))
        .collect()
}

pub fn tail(run: &Execution, n: usize) -> Vec<&str> {
    run.path[run.path.len() - n..]
        .iter()
        .map(String::as_str)
        .collect()
}

/// Keeps a generated table in docs/reliability.md between `<!-- NAME:begin -->` and `<!-- NAME:end -->`:
/// fails when the doc's copy differs from `table` (a test's run), or rewrites it when
/// `SHIFTER_WRITE_RELIABILITY` is set. `test` names the test binary, for the message.
pub fn reliability_doc_section(name: &str, table: &str, test: &str) {
    let (begin, end) = (
        format!("<!-- {name}:begin -->"),
        format!("<!-- {name}:end -->"),
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/reliability.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = format!("{begin}\n{table}\n{end}");
    let current = doc
        .find(&begin)
        .zip(doc.find(&end))
        .map(|(b, e)| &doc[b..e + end.len()]);
    if std::env::var_os("SHIFTER_WRITE_RELIABILITY").is_some() {
        let updated = match current {
            Some(old) => doc.replace(old, &generated),
            None => format!("{doc}{generated}\n"),
        };
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        current,
        Some(generated.as_str()),
        "docs/reliability.md's {name} table is out of date: run \
         `SHIFTER_WRITE_RELIABILITY=1 cargo test -p shifter-contract-tests --test {test}`"
    );
}
