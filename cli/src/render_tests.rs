use std::time::Duration;

use shifter::health::Verdict;
use shifter::notification::{EventType, HookPhase, Notification};
use shifter::rollout::Rollout;

use super::*;

fn rollout(weight_bps: u32, steps_done: usize) -> Rollout {
    Rollout {
        current_version: "6".into(),
        target_version: "7".into(),
        target_version_arn: "arn:aws:lambda:us-east-1:123456789012:function:orders:7".into(),
        steps_done,
        weight_bps,
        revision_id: "rev".into(),
        ..shifter::fake::canary_rollout()
    }
}

/// Feeds a promotion's worth of progress: 5 lifecycle events, with bakes and checks in between.
fn feed_promotion(r: &mut impl Observer) {
    let (r0, r1, r2) = (rollout(0, 0), rollout(1000, 1), rollout(10_000, 2));
    let ok = Verdict::healthy();
    r.observe(Progress::Lifecycle(&Notification::new(
        EventType::RolloutStarted,
        &r0,
    )));
    r.observe(Progress::Lifecycle(
        &Notification::new(EventType::HookSucceeded, &r0).with_phase(HookPhase::PreTraffic),
    ));
    r.observe(Progress::Checked {
        rollout: &r0,
        verdict: &ok,
    });
    r.observe(Progress::Lifecycle(&Notification::new(
        EventType::TrafficShifted,
        &r1,
    )));
    for left in [300, 290] {
        r.observe(Progress::Baking {
            rollout: &r1,
            remaining: Duration::from_secs(left),
            total: Duration::from_secs(300),
        });
        r.observe(Progress::Checked {
            rollout: &r1,
            verdict: &ok,
        });
    }
    r.observe(Progress::Lifecycle(&Notification::new(
        EventType::TrafficShifted,
        &r2,
    )));
    r.observe(Progress::Lifecycle(&Notification::new(
        EventType::RolloutSucceeded,
        &r2,
    )));
}

fn renderer(format: OutputFormat) -> (Renderer, Captured, Captured) {
    let (out, err) = (Captured::default(), Captured::default());
    (
        Renderer::new(format, out.sink(), err.sink(), false),
        out,
        err,
    )
}

#[test]
fn json_prints_exactly_one_line_per_lifecycle_event() {
    let (mut r, out, err) = renderer(OutputFormat::Json);
    feed_promotion(&mut r);
    let outcome = Outcome::Promoted {
        rollout: rollout(10_000, 2),
    };
    r.finish(&outcome, Duration::from_secs(302));
    let text = out.text();
    let events: Vec<Notification> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one notification"))
        .collect();
    let types: Vec<EventType> = events.iter().map(|n| n.event_type).collect();
    assert_eq!(
        types,
        [
            EventType::RolloutStarted,
            EventType::HookSucceeded,
            EventType::TrafficShifted,
            EventType::TrafficShifted,
            EventType::RolloutSucceeded,
        ]
    );
    assert_eq!(events[2].weight_percent, 10.0);
    assert!(text.ends_with('\n'));
    assert_eq!(err.text(), "promoted orders:live to version 7 in 5m02s\n");
}

#[test]
fn json_rejection_is_one_object_on_stdout() {
    let (mut r, out, err) = renderer(OutputFormat::Json);
    let error = Error::invalid("strategy.percent", "must be below 100");
    r.finish(&Outcome::Rejected { error }, Duration::ZERO);
    let v: Value = serde_json::from_str(out.text().trim_end()).unwrap();
    assert_eq!(out.text().lines().count(), 1);
    assert_eq!(
        v,
        json!({"eventType": "RequestRejected", "errorType": "InvalidRequest",
               "field": "strategy.percent", "message": "must be below 100"})
    );
    assert!(err
        .text()
        .starts_with("error: strategy.percent: must be below 100\nhint: "));
}

#[test]
fn plain_text_has_a_header_a_line_per_event_and_bake_lines() {
    let (mut r, out, err) = renderer(OutputFormat::Text);
    r.plan(&rollout(0, 0).plan);
    feed_promotion(&mut r);
    let outcome = Outcome::Promoted {
        rollout: rollout(10_000, 2),
    };
    r.finish(&outcome, Duration::from_millis(302_100));
    assert_eq!(
        out.text(),
        "deploying orders:live: version 6 → 7 (rollout r-1)\n  \
         strategy Canary10Percent5Minutes: 2 steps, 5m00s in total\n  \
         preTraffic hook passed\n  \
         step 1/2: 10% of traffic on version 7\n  \
         baking 10%: 5m00s left, alarms OK\n  \
         baking 10%: 4m50s left, alarms OK\n  \
         step 2/2: all traffic on version 7\n  \
         rollout succeeded\n\
         promoted orders:live to version 7 in 5m02s\n"
    );
    assert_eq!(err.text(), "");
}

#[test]
fn plain_text_reports_a_firing_alarm_and_the_rollback() {
    let (mut r, out, _) = renderer(OutputFormat::Text);
    let r1 = rollout(1000, 1);
    let firing = Verdict {
        healthy: false,
        failing: vec!["orders-errors".into()],
        ..Verdict::default()
    };
    r.observe(Progress::Checked {
        rollout: &r1,
        verdict: &firing,
    });
    let back = rollout(0, 1);
    let reason = firing.reason();
    r.observe(Progress::Lifecycle(
        &Notification::new(EventType::RolledBack, &back).with_reason(&reason),
    ));
    r.finish(
        &Outcome::RolledBack {
            rollout: back,
            reason,
        },
        Duration::from_secs(40),
    );
    assert_eq!(
        out.text(),
        "  alarms: alarm(s) firing: orders-errors\n  \
         rolled back: version 6 serves all traffic\n\
         rolled back orders:live to version 6: alarm(s) firing: orders-errors\n"
    );
}

#[test]
fn failures_and_rejections_go_to_stderr_with_a_hint() {
    let (mut r, out, err) = renderer(OutputFormat::Text);
    let busy = Error::AliasBusy {
        alias: "live".into(),
        message: "it routes 10% to version 5".into(),
    };
    r.finish(&Outcome::Rejected { error: busy }, Duration::ZERO);
    assert_eq!(out.text(), "");
    let text = err.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[0],
        "error: alias live is busy: it routes 10% to version 5"
    );
    assert!(lines[1].starts_with("hint: "));

    let failed = Outcome::Failed {
        rollout: rollout(1000, 1),
        error: Error::Transient {
            operation: "UpdateAlias".into(),
            message: "throttled".into(),
        },
        alias_restored: false,
    };
    assert_eq!(
        summary(&failed, Duration::ZERO),
        "error: transient failure in UpdateAlias: throttled; no rollback restored the alias: orders:live may still \
         route 10% to version 7: fix the alias by hand"
    );
}

#[test]
fn on_a_terminal_the_bar_shows_the_bake_instead_of_lines() {
    let (out, err) = (Captured::default(), Captured::default());
    let mut r = Renderer::new(OutputFormat::Text, out.sink(), err.sink(), true);
    r.plan(&rollout(0, 0).plan);
    feed_promotion(&mut r);
    r.finish(
        &Outcome::Promoted {
            rollout: rollout(10_000, 2),
        },
        Duration::from_secs(300),
    );
    let text = out.text();
    assert!(!text.contains("baking"), "{text}");
    assert!(text.contains("  step 1/2: 10% of traffic on version 7\n"));
    assert!(text.ends_with("  rollout succeeded\npromoted orders:live to version 7 in 5m00s\n"));
}

/// An operator paused the canary at 10%, resumed it, then (in a later bake) promoted it.
fn feed_operator_commands(r: &mut impl Observer) {
    let r1 = rollout(1000, 1);
    r.observe(Progress::Paused {
        rollout: &r1,
        max: Duration::from_secs(3600),
    });
    r.observe(Progress::Resumed { rollout: &r1 });
    r.observe(Progress::PromoteRequested { rollout: &r1 });
}

#[test]
fn text_says_what_an_operators_command_did() {
    let (mut r, out, err) = renderer(OutputFormat::Text);
    feed_operator_commands(&mut r);
    assert_eq!(
        out.text(),
        "  paused at 10%: holding until `shifter resume`, `shifter promote` or `shifter abort`; rolls back if still paused after 1h00m00s\n  \
         resumed: on to the next step\n  \
         promote requested: skipping the remaining steps\n"
    );
    assert_eq!(err.text(), "");
}

#[test]
fn json_prints_one_object_per_operators_command() {
    let (mut r, out, _) = renderer(OutputFormat::Json);
    feed_operator_commands(&mut r);
    let lines: Vec<Value> = out
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let common = json!({"rolloutId": "r-1", "functionName": "orders", "alias": "live",
        "currentVersion": "6", "targetVersion": "7", "weightPercent": 10.0, "stepsDone": 1, "stepCount": 2});
    let with = |event: &str, extra: Value| {
        let mut v = common.clone();
        v["eventType"] = json!(event);
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    assert_eq!(
        lines,
        [
            with("Paused", json!({"maxPauseSeconds": 3600})),
            with("Resumed", json!({})),
            with("PromoteRequested", json!({})),
        ]
    );
}
