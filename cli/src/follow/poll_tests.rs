use std::time::Duration;

use serde_json::json;
use shifter::fake::FakeClock;
use tracing_subscriber::EnvFilter;

use super::*;
use crate::follow::tests::promoted_history;
use crate::render::Captured;
use crate::stepfunctions::ApiError;
use crate::test_support::{state, FakeApi, History, Recorder, ARN};

/// Prepare, then `bakes` × (Advance exited, Bake entered) at 10%, then Finalize and success.
fn long_history(bakes: usize) -> History {
    let mut h = History::prepared();
    let baking =
        json!({"waitSeconds": 60, "verdict": {"healthy": true, "failing": [], "missing": []}});
    for _ in 0..bakes {
        h.exited("Advance", state(1, 1000, baking.clone())).entered(
            "TaskStateEntered",
            "Bake",
            state(1, 1000, baking.clone()),
        );
    }
    let done = json!({"done": true});
    h.exited("Finalize", state(2, 10_000, done.clone()))
        .succeeded(state(2, 10_000, done));
    h
}

async fn follow_fake(api: &FakeApi, clock: &FakeClock) -> Result<Ended, ApiError> {
    follow(
        api,
        ARN,
        &mut Recorder::default(),
        Polling::default(),
        clock,
    )
    .await
}

fn secs(sleeps: &[Duration]) -> Vec<u64> {
    sleeps.iter().map(Duration::as_secs).collect()
}

#[tokio::test]
async fn a_long_execution_is_read_once_not_once_per_poll() {
    // A few events per poll: each poll reads one page of `page` (20) newest events, so an event is served by
    // the poll that finds it and by the polls whose page still reaches back to it: 20 / 5 = 4 polls, plus one.
    let history = long_history(100);
    let n = history.0.len();
    let mut api = FakeApi::new(history.0);
    api.per_poll = 5;
    let ended = follow_fake(&api, &FakeClock::default()).await.unwrap();
    assert_eq!(ended.exit_code, 0);
    let served = api.served();
    assert!(
        served.iter().all(|&s| s >= 1),
        "every event read: {served:?}"
    );
    let most = *served.iter().max().unwrap();
    assert!(
        most <= 5,
        "an event was served {most} times over {n} events"
    );
    assert!(served.iter().sum::<usize>() <= 5 * n);
    let polls = n.div_ceil(5);
    assert!(
        api.history_calls() <= polls + 1,
        "{} calls",
        api.history_calls()
    );
    let queries = api.queries();
    assert!(queries.iter().all(|q| q.reverse), "newest first");
    assert_eq!(queries[0].max_results, 1000, "nothing seen: one big page");
    assert!(queries[1..].iter().all(|q| q.max_results == 20));

    // More new events than a page: paging goes on until it reaches what was seen, and no further.
    let mut api = FakeApi::new(long_history(100).0);
    api.per_poll = 50;
    follow_fake(&api, &FakeClock::default()).await.unwrap();
    let most = *api.served().iter().max().unwrap();
    assert!(most <= 2, "an event was served {most} times");
}

#[tokio::test]
async fn throttling_and_other_read_errors_never_end_the_follow() {
    for failure in [
        ApiError::new(Some("ThrottlingException"), "Rate exceeded"),
        ApiError::new(None, "dispatch failure: connection reset"),
        ApiError::new(Some("AccessDeniedException"), "not authorized"),
    ] {
        let mut api = FakeApi::new(promoted_history().0);
        api.fail_first = 25;
        api.failure = failure.clone();
        let logs = Captured::default();
        let sink = logs.clone();
        let subscriber =
            crate::logging::subscriber(EnvFilter::new("warn"), move || sink.clone(), false);
        let guard = tracing::subscriber::set_default(subscriber);
        let clock = FakeClock::default();
        let ended = follow_fake(&api, &clock).await;
        drop(guard);
        let ended = ended.unwrap_or_else(|e| panic!("{failure}: gave up: {e}"));
        assert_eq!(ended.exit_code, 0, "{failure}");
        assert_eq!(api.history_calls(), 26, "{failure}");
        assert_eq!(clock.sleeps().len(), 25);
        assert!(clock.sleeps().iter().all(|&s| s <= Duration::from_secs(30)));
        let text = logs.text();
        assert_eq!(
            text.matches("cannot read the execution history").count(),
            25,
            "{text}"
        );
        assert!(text.contains("keeps following"), "{text}");
    }
}

#[tokio::test]
async fn the_back_off_doubles_to_its_cap_and_resets_after_a_read() {
    let mut api = FakeApi::new(promoted_history().0);
    api.per_poll = 1;
    api.fail_calls = vec![2, 3, 4, 5, 6, 7, 8, 10, 11];
    let clock = FakeClock::default();
    let ended = follow_fake(&api, &clock).await.unwrap();
    assert_eq!(ended.exit_code, 0);
    assert_eq!(
        secs(&clock.sleeps())[..13],
        [2, 4, 8, 16, 30, 30, 30, 30, 2, 4, 8, 2, 2]
    );
}

#[test]
fn the_back_off_never_exceeds_its_cap() {
    let mut b = Backoff::new(Polling::default());
    assert_eq!(b.delay(), Duration::from_secs(2));
    for _ in 0..100 {
        b.failed();
    }
    assert_eq!(b.delay(), Duration::from_secs(30));
    b.succeeded();
    assert_eq!(b.delay(), Duration::from_secs(2));
}

#[tokio::test]
async fn an_execution_that_does_not_exist_ends_the_follow() {
    let mut api = FakeApi::new(promoted_history().0);
    api.fail_first = 1;
    api.failure = ApiError::new(Some("ExecutionDoesNotExist"), "Execution Does Not Exist");
    let err = follow_fake(&api, &FakeClock::default()).await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(api.history_calls(), 1);
}

#[tokio::test]
async fn the_history_is_read_in_pages_across_polls_and_throttling_is_waited_out() {
    let mut api = FakeApi::new(promoted_history().0);
    api.page_size = 2;
    api.per_poll = 3;
    api.fail_first = 2;
    let mut rec = Recorder::default();
    let clock = FakeClock::default();
    let ended = follow(&api, ARN, &mut rec, Polling::default(), &clock)
        .await
        .unwrap();
    assert_eq!(ended.exit_code, 0);
    let count = |prefix: &str| rec.0.iter().filter(|s| s.starts_with(prefix)).count();
    assert_eq!(
        (count("RolloutStarted"), count("TrafficShifted")),
        (1, 2),
        "each event once: {:?}",
        rec.0
    );
    assert!(api.history_calls() > 5);
}

#[tokio::test]
async fn an_emulator_that_ignores_reverse_order_is_followed_in_order() {
    // moto answers the whole history oldest first in one page, whatever reverseOrder and maxResults say;
    // another emulator might page it oldest first.
    for page_size in [1000, 2] {
        let mut api = FakeApi::new(promoted_history().0);
        api.ignores_reverse = true;
        api.page_size = page_size;
        api.per_poll = 3;
        let mut rec = Recorder::default();
        let clock = FakeClock::default();
        let followed = follow(&api, ARN, &mut rec, Polling::default(), &clock);
        let ended = tokio::time::timeout(Duration::from_secs(10), followed)
            .await
            .unwrap_or_else(|_| panic!("page size {page_size}: never saw the end"))
            .unwrap();
        assert_eq!(ended.exit_code, 0);
        let lifecycle: Vec<&str> = rec
            .0
            .iter()
            .filter(|s| !s.starts_with("Baking") && !s.starts_with("Checked"))
            .map(String::as_str)
            .collect();
        assert_eq!(
            lifecycle,
            [
                "RolloutStarted:0",
                "TrafficShifted:10",
                "TrafficShifted:100",
                "RolloutSucceeded:100"
            ],
            "page size {page_size}"
        );
    }
}
