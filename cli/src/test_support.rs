//! Test doubles for the state-machine mode: a fake `ExecutionApi` over a scripted history, and builders for
//! history events carrying `RolloutState`s.

use std::sync::Mutex;

use serde_json::{json, Value};
use shifter::domain::Routing;
use shifter::driver::{Observer, Progress};
use shifter::fake::FakeAws;
use shifter::rollout::Rollout;
use shifter::state::RolloutState;

use crate::stepfunctions::{
    ApiError, Event, ExecutionApi, ExecutionInfo, HistoryPage, HistoryQuery,
};

pub const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:shifter:r-1";

/// A canary: 10% baking 300 s, then 100%. Versions 1 → 2 of `orders:live`.
pub fn rollout() -> Rollout {
    Rollout {
        revision_id: "rev".into(),
        ..shifter::fake::canary_rollout()
    }
}

/// A state after `steps_done` steps at `weight_bps`, with `extra` merged over its JSON.
pub fn state(steps_done: usize, weight_bps: u32, extra: Value) -> String {
    let mut r = rollout();
    r.steps_done = steps_done;
    r.weight_bps = weight_bps;
    let mut v = serde_json::to_value(RolloutState::new(r)).unwrap();
    if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in more {
            obj.insert(k.clone(), x.clone());
        }
    }
    v.to_string()
}

/// Builds a history, numbering events from 1, one second apart.
#[derive(Default)]
pub struct History(pub Vec<Event>);

impl History {
    pub fn new() -> Self {
        let mut h = History::default();
        h.push(
            "ExecutionStarted",
            None,
            Some(json!({"functionName": "orders"}).to_string()),
        );
        h
    }

    pub fn push(&mut self, kind: &str, name: Option<&str>, data: Option<String>) -> &mut Self {
        let id = self.0.len() as i64 + 1;
        self.0.push(Event {
            id,
            kind: kind.into(),
            timestamp_ms: 1_700_000_000_000 + id * 1000,
            state_name: name.map(str::to_string),
            data,
            ..Event::default()
        });
        self
    }

    pub fn entered(&mut self, kind: &str, name: &str, data: String) -> &mut Self {
        self.push(kind, Some(name), Some(data))
    }

    pub fn exited(&mut self, name: &str, data: String) -> &mut Self {
        self.push("TaskStateExited", Some(name), Some(data))
    }

    pub fn ended(&mut self, kind: &str, error: Option<&str>, cause: Option<&str>) -> &mut Self {
        self.push(kind, None, None);
        let last = self.0.last_mut().unwrap();
        last.error = error.map(str::to_string);
        last.cause = cause.map(str::to_string);
        self
    }

    pub fn succeeded(&mut self, data: String) -> &mut Self {
        self.push("ExecutionSucceeded", None, Some(data))
    }

    /// Prepare, then a pre-traffic hook step with no hook configured.
    pub fn prepared() -> Self {
        let mut h = History::new();
        h.push(
            "TaskStateEntered",
            Some("Prepare"),
            Some(json!({"functionName": "orders"}).to_string()),
        )
        .exited("Prepare", state(0, 0, json!({})))
        .entered("TaskStateEntered", "PreTrafficHook", state(0, 0, json!({})))
        .exited(
            "PreTrafficHook",
            state(
                0,
                0,
                json!({"hook": {"phase": "preTraffic", "succeeded": true}}),
            ),
        );
        h
    }
}

/// A fake Step Functions over one execution's history. Each history read without a token (a poll) reveals
/// `per_poll` more events; pages are at most `page_size` (and the query's `max_results`) events, newest first
/// when asked, unless `ignores_reverse` (as moto does: oldest first, `max_results` ignored). History calls
/// numbered in `fail_calls`, or among the first `fail_first`, fail with `failure` (throttling by default).
/// It counts how often each event was served.
pub struct FakeApi {
    pub events: Vec<Event>,
    pub status: String,
    pub page_size: usize,
    pub per_poll: usize,
    pub fail_first: usize,
    pub fail_calls: Vec<usize>,
    pub failure: ApiError,
    pub ignores_reverse: bool,
    pub start_error: Option<ApiError>,
    /// What DescribeExecution answers instead of an execution with `status`.
    pub describe_error: Option<ApiError>,
    /// The execution input DescribeExecution answers.
    pub input: Option<String>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    visible: usize,
    history_calls: usize,
    served: Vec<usize>,
    queries: Vec<HistoryQuery>,
    stops: Vec<(String, String)>,
    starts: Vec<(String, String, String)>,
    describes: Vec<String>,
}

impl FakeApi {
    pub fn new(events: Vec<Event>) -> Self {
        FakeApi {
            status: "RUNNING".into(),
            page_size: 1000,
            per_poll: usize::MAX,
            fail_first: 0,
            fail_calls: Vec::new(),
            failure: ApiError::new(Some("ThrottlingException"), "Rate exceeded"),
            ignores_reverse: false,
            start_error: None,
            describe_error: None,
            input: None,
            inner: Mutex::new(Inner {
                served: vec![0; events.len()],
                ..Inner::default()
            }),
            events,
        }
    }

    pub fn stops(&self) -> Vec<(String, String)> {
        self.inner.lock().unwrap().stops.clone()
    }

    pub fn starts(&self) -> Vec<(String, String, String)> {
        self.inner.lock().unwrap().starts.clone()
    }

    pub fn describes(&self) -> Vec<String> {
        self.inner.lock().unwrap().describes.clone()
    }

    pub fn history_calls(&self) -> usize {
        self.inner.lock().unwrap().history_calls
    }

    pub fn queries(&self) -> Vec<HistoryQuery> {
        self.inner.lock().unwrap().queries.clone()
    }

    /// How many times each event was served, by event index.
    pub fn served(&self) -> Vec<usize> {
        self.inner.lock().unwrap().served.clone()
    }
}

impl ExecutionApi for FakeApi {
    async fn start(&self, sm: &str, name: &str, input: &str) -> Result<String, ApiError> {
        if let Some(e) = &self.start_error {
            return Err(e.clone());
        }
        self.inner
            .lock()
            .unwrap()
            .starts
            .push((sm.into(), name.into(), input.into()));
        Ok(format!("{sm}:{name}").replace(":stateMachine:", ":execution:"))
    }

    async fn history(&self, _arn: &str, query: HistoryQuery) -> Result<HistoryPage, ApiError> {
        let mut inner = self.inner.lock().unwrap();
        inner.history_calls += 1;
        inner.queries.push(query.clone());
        let call = inner.history_calls;
        if call <= self.fail_first || self.fail_calls.contains(&call) {
            return Err(self.failure.clone());
        }
        let from: usize = match &query.next_token {
            Some(t) => t.parse().unwrap(),
            None => {
                inner.visible = inner
                    .visible
                    .saturating_add(self.per_poll)
                    .min(self.events.len());
                0
            }
        };
        let visible = inner.visible;
        let (reverse, size) = if self.ignores_reverse {
            (false, self.page_size)
        } else {
            let asked = query.max_results.clamp(1, 1000) as usize;
            (query.reverse, self.page_size.min(asked))
        };
        let to = (from + size).min(visible);
        let indices: Vec<usize> = if reverse {
            (visible - to..visible - from).rev().collect()
        } else {
            (from..to).collect()
        };
        for &i in &indices {
            inner.served[i] += 1;
        }
        Ok(HistoryPage {
            events: indices.iter().map(|&i| self.events[i].clone()).collect(),
            next_token: (to < visible).then(|| to.to_string()),
        })
    }

    async fn describe(&self, arn: &str) -> Result<ExecutionInfo, ApiError> {
        self.inner.lock().unwrap().describes.push(arn.into());
        if let Some(e) = &self.describe_error {
            return Err(e.clone());
        }
        Ok(ExecutionInfo {
            execution_arn: arn.into(),
            name: arn.rsplit(':').next().unwrap_or_default().into(),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:shifter".into(),
            status: self.status.clone(),
            input: self.input.clone(),
            ..ExecutionInfo::default()
        })
    }

    async fn stop(&self, arn: &str, cause: &str) -> Result<(), ApiError> {
        self.inner
            .lock()
            .unwrap()
            .stops
            .push((arn.into(), cause.into()));
        Ok(())
    }
}

/// Records what a follower reports, as short strings: `Lifecycle:<event>:<weight%>`, `Baking:<secs>`,
/// `Checked:<healthy>`, `Paused:<max secs>`, `Resumed`, `PromoteRequested`.
#[derive(Default)]
pub struct Recorder(pub Vec<String>);

impl Observer for Recorder {
    fn observe(&mut self, progress: Progress<'_>) {
        self.0.push(match progress {
            Progress::Lifecycle(n) => format!("{}:{}", n.event_type.as_str(), n.weight_percent),
            Progress::Baking {
                remaining, total, ..
            } => format!("Baking:{}/{}", remaining.as_secs(), total.as_secs()),
            Progress::Checked { verdict, .. } => format!("Checked:{}", verdict.healthy),
            Progress::NotifyFailed { event, .. } => format!("NotifyFailed:{}", event.as_str()),
            Progress::PromoteRequested { .. } => "PromoteRequested".to_string(),
            Progress::Paused { max, .. } => format!("Paused:{}", max.as_secs()),
            Progress::Resumed { .. } => "Resumed".to_string(),
        });
    }
}

/// Prepared, then 10% baking 300 s: a rollout that has weighted the alias.
pub fn weighted_history() -> History {
    let mut h = History::prepared();
    h.exited("Advance", state(1, 1000, json!({"waitSeconds": 300})))
        .entered(
            "TaskStateEntered",
            "Bake",
            state(1, 1000, json!({"waitSeconds": 300})),
        );
    h
}

/// `orders` with versions 1 and 2, and `orders:live` routing as given.
pub fn aws_with_alias(routing: Routing) -> FakeAws {
    let aws = FakeAws::new();
    aws.add_function("orders");
    aws.publish("orders", "code-1");
    aws.publish("orders", "code-2");
    aws.add_alias("orders", "live", routing);
    aws
}

/// A registry record of the canary (`orders:live`, 1 → 2) with rollout id `id`, started at `started_ms` and
/// recorded a minute later (so a finished one lasted a minute).
pub fn record(
    id: &str,
    status: shifter::registry::RolloutStatus,
    started_ms: u64,
) -> shifter::registry::RolloutRecord {
    let r = Rollout {
        rollout_id: id.into(),
        started_ms,
        ..rollout()
    };
    shifter::registry::RolloutRecord::of(&r, status, started_ms + 60_000)
}
