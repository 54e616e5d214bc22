//! Text progress. On a terminal: a progress bar (the new version's weight, and a countdown while baking)
//! with one line above it per lifecycle event. Elsewhere (CI logs): plain lines, one per lifecycle event and
//! one per alarm check during a bake.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use shifter::analysis::decide::Decision;
use shifter::analysis::judge::Outcome as Judged;
use shifter::domain::percent;
use shifter::driver::{Observer, Outcome, Progress};
use shifter::health::Verdict;
use shifter::notification::{EventType, Notification};
use shifter::plan::Plan;
use shifter::rollout::Rollout;

use crate::fmt;
use crate::render::{is_failure, summary, Sink};

pub struct TextRender {
    out: Sink,
    err: Sink,
    tty: bool,
    total_seconds: u64,
    alarms: String,
    bar: Option<Bar>,
}

struct Bar {
    bar: ProgressBar,
    /// When the current bake ends, for the countdown the bar redraws every tick.
    deadline: Arc<Mutex<Option<Instant>>>,
}

impl TextRender {
    pub fn new(out: Sink, err: Sink, tty: bool) -> Self {
        TextRender {
            out,
            err,
            tty,
            total_seconds: 0,
            alarms: "alarms not read yet".into(),
            bar: None,
        }
    }

    pub fn plan(&mut self, plan: &Plan) {
        self.total_seconds = plan.total_seconds();
    }

    pub fn finish(&mut self, outcome: &Outcome, elapsed: Duration) {
        self.clear_bar();
        let text = summary(outcome, elapsed);
        let sink = if is_failure(outcome) {
            &mut self.err
        } else {
            &mut self.out
        };
        let _ = writeln!(sink, "{text}");
        let _ = sink.flush();
    }

    /// A line above the bar (or a plain line without one).
    fn line(&mut self, text: &str) {
        let out = &mut self.out;
        let mut write = || {
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        };
        match &self.bar {
            Some(b) => b.bar.suspend(write),
            None => write(),
        }
    }

    fn warn(&mut self, text: &str) {
        let err = &mut self.err;
        let mut write = || {
            let _ = writeln!(err, "{text}");
        };
        match &self.bar {
            Some(b) => b.bar.suspend(write),
            None => write(),
        }
    }

    fn start_bar(&mut self) {
        if !self.tty || self.bar.is_some() {
            return;
        }
        let deadline = Arc::new(Mutex::new(None::<Instant>));
        let d = Arc::clone(&deadline);
        let countdown = move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
            let end = *d.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(left) = end.map(|t| t.saturating_duration_since(Instant::now())) {
                if !left.is_zero() {
                    let _ = write!(w, "baking: {} left, ", fmt::duration(left));
                }
            }
        };
        let style = ProgressStyle::with_template(
            "{spinner:.green} {prefix:>6} [{bar:30.cyan/blue}] {countdown}{msg}",
        )
        .expect("a valid template")
        .with_key("countdown", countdown)
        .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(10_000), ProgressDrawTarget::stdout())
            .with_style(style)
            .with_prefix("0%");
        bar.enable_steady_tick(Duration::from_millis(250));
        self.bar = Some(Bar { bar, deadline });
    }

    fn set_deadline(&self, deadline: Option<Instant>) {
        if let Some(b) = &self.bar {
            *b.deadline.lock().unwrap_or_else(|e| e.into_inner()) = deadline;
        }
    }

    fn clear_bar(&mut self) {
        if let Some(b) = self.bar.take() {
            b.bar.finish_and_clear();
        }
    }

    fn lifecycle(&mut self, n: &Notification) {
        if n.event_type == EventType::RolloutStarted {
            let header = header(n, self.total_seconds);
            self.line(&header);
            self.start_bar();
        } else {
            self.line(&event_line(n));
        }
        let bps = weight_bps(n);
        self.set_deadline(None);
        if let Some(b) = &self.bar {
            b.bar.set_prefix(percent(bps));
            b.bar.set_position(u64::from(bps));
            b.bar.set_message(self.alarms.clone());
        }
        if matches!(
            n.event_type,
            EventType::RolloutSucceeded
                | EventType::RolledBack
                | EventType::RolloutFailed
                | EventType::RollbackFailed
        ) {
            self.clear_bar();
        }
    }
}

impl Observer for TextRender {
    fn observe(&mut self, progress: Progress<'_>) {
        match progress {
            Progress::Lifecycle(n) => self.lifecycle(n),
            Progress::Baking {
                rollout, remaining, ..
            } => {
                if self.bar.is_some() {
                    self.set_deadline(Some(Instant::now() + remaining));
                } else {
                    let line = format!(
                        "  baking {}: {} left, {}",
                        percent(rollout.weight_bps),
                        fmt::duration(remaining),
                        self.alarms
                    );
                    self.line(&line);
                }
            }
            Progress::Checked { rollout, verdict } => {
                self.alarms = alarm_status(rollout, verdict);
                if let Some(b) = &self.bar {
                    b.bar.set_message(self.alarms.clone());
                }
                // An unhealthy analysis shows as its own event (`analysis_line`).
                if !verdict.alarms_healthy() {
                    let line = format!("  alarms: {}", verdict.alarm_reason());
                    self.line(&line);
                }
            }
            Progress::NotifyFailed { event, error } => self.warn(&format!(
                "warning: {} notification not published: {error}",
                event.as_str()
            )),
            Progress::PromoteRequested { .. } => {
                self.line("  promote requested: skipping the remaining steps")
            }
            Progress::Paused { rollout, max } => {
                self.set_deadline(None);
                let line = format!(
                    "  paused at {}: holding until `shifter resume`, `shifter promote` or `shifter abort`; rolls back if still paused after {}",
                    percent(rollout.weight_bps),
                    fmt::duration(max)
                );
                self.line(&line);
            }
            Progress::Resumed { .. } => self.line("  resumed: on to the next step"),
        }
    }
}

fn alarm_status(rollout: &Rollout, verdict: &Verdict) -> String {
    if rollout.alarms.is_empty() {
        "no alarms".into()
    } else if verdict.alarms_healthy() {
        "alarms OK".into()
    } else {
        verdict.alarm_reason()
    }
}

/// `deploying orders:live: version 6 → 7 (rollout r-…)` and the strategy with its length.
pub fn header(n: &Notification, total_seconds: u64) -> String {
    format!(
        "deploying {}:{}: version {} → {} (rollout {})\n  strategy {}: {} step{}, {} in total",
        n.function_name,
        n.alias,
        n.current_version,
        n.target_version,
        n.rollout_id,
        n.strategy,
        n.step_count,
        if n.step_count == 1 { "" } else { "s" },
        fmt::seconds(total_seconds)
    )
}

pub fn event_line(n: &Notification) -> String {
    let phase = n.phase.map_or("hook", |p| p.as_str());
    let reason = n.reason.as_deref().unwrap_or("no reason given");
    match n.event_type {
        EventType::RolloutStarted => "  rollout started".to_string(),
        EventType::TrafficShifted if n.weight_percent >= 100.0 => format!(
            "  step {}/{}: all traffic on version {}",
            n.steps_done, n.step_count, n.target_version
        ),
        EventType::TrafficShifted => format!(
            "  step {}/{}: {} of traffic on version {}",
            n.steps_done,
            n.step_count,
            percent(weight_bps(n)),
            n.target_version
        ),
        EventType::HookSucceeded => format!("  {phase} hook passed"),
        EventType::HookFailed => format!("  {phase} hook failed: {reason}"),
        EventType::RolloutSucceeded => "  rollout succeeded".to_string(),
        EventType::RolledBack => format!(
            "  rolled back: version {} serves all traffic",
            n.current_version
        ),
        EventType::RolloutFailed => format!("  rollout failed: {reason}"),
        EventType::RollbackFailed => format!("  ROLLBACK FAILED: {reason}"),
        EventType::AnalysisPassed | EventType::AnalysisFailed | EventType::AnalysisInconclusive => {
            analysis_line(n)
        }
    }
}

/// `  analysis passed: v7 vs v6 over 300 s (412 and 3702 invocations)` and the evidence, one check per line.
fn analysis_line(n: &Notification) -> String {
    let Some(a) = &n.analysis else {
        return format!(
            "  analysis: {}",
            n.reason.as_deref().unwrap_or("no evidence")
        );
    };
    let what = match (a.outcome, a.decision) {
        (Judged::Passed, _) => "analysis passed".to_string(),
        (Judged::Failed, _) => "analysis FAILED".to_string(),
        (_, Decision::Extend { seconds }) => {
            format!(
                "analysis inconclusive: baking {} more",
                fmt::seconds(u64::from(seconds))
            )
        }
        (_, Decision::Fail) => {
            "analysis inconclusive: failing (whenInconclusive: fail)".to_string()
        }
        (_, _) => "analysis inconclusive: going on".to_string(),
    };
    let mut out = format!(
        "  {what}: v{} vs v{} over {} ({} and {} invocations)",
        a.new_version,
        a.old_version,
        fmt::seconds(a.window_seconds),
        a.new_invocations,
        a.old_invocations
    );
    for line in a.evidence.lines() {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out
}

fn weight_bps(n: &Notification) -> u32 {
    (n.weight_percent * 100.0).round() as u32
}
