use tracing::{info, warn};

use crate::analysis::decide::{decide, AnalysisReport, CheckPoint};
use crate::analysis::judge::judge;
use crate::analysis::metrics::{MetricsQuery, MetricsSource};
use crate::error::Result;
use crate::health::{changed_since, judge as judge_alarms, Verdict};
use crate::ports::AlarmSource;
use crate::rollout::Rollout;

/// How many times one check reads the metrics before it calls them unreadable (the SDK retries each call
/// with backoff too). An unreadable analysis is an `Error` verdict, which counts as inconclusive: the
/// metrics being late must not roll back a healthy version, nor let a rollout fail on a throttle.
pub const METRICS_ATTEMPTS: usize = 2;

/// One check of a rollout, for both drivers: the watched alarms, then, when one is due
/// ([`Rollout::analysis_due`]), the canary analysis; combined into one verdict. An alarm in ALARM or an
/// analysis whose decision is `fail` makes it unhealthy; an analysis that asks for more time leaves it
/// healthy, with `analysis.decision` `extend`. The caller records it with [`Rollout::checked`].
pub async fn check(
    ports: &(impl AlarmSource + MetricsSource),
    rollout: &Rollout,
    now_ms: u64,
    point: CheckPoint,
) -> Result<Verdict> {
    let verdict = check_health(ports, rollout, now_ms).await?;
    if !rollout.analysis_due(point) {
        return Ok(verdict);
    }
    let report = analyse(ports, rollout, now_ms, point).await;
    info!(
        rollout_id = %rollout.rollout_id,
        outcome = ?report.outcome,
        decision = ?report.decision,
        new_invocations = report.new_invocations,
        old_invocations = report.old_invocations,
        evidence = %report.evidence,
        "canary analysed"
    );
    Ok(verdict.with_analysis(report))
}

/// Judges the new version against the old one over the current step's window (since its weight was applied).
/// Never fails: metrics that cannot be read give an `Error` report.
pub async fn analyse(
    metrics: &impl MetricsSource,
    rollout: &Rollout,
    now_ms: u64,
    point: CheckPoint,
) -> AnalysisReport {
    let settings = rollout.analysis.clone().unwrap_or_default();
    let (new, old) = (
        rollout.target_version.as_str(),
        rollout.current_version.as_str(),
    );
    let start_ms = rollout.step_started_ms.min(now_ms);
    let window_seconds = (now_ms - start_ms) / 1000;
    let query = MetricsQuery {
        function_name: rollout.function_name.clone(),
        alias: rollout.alias.clone(),
        versions: vec![old.to_string(), new.to_string()],
        start_ms,
        end_ms: now_ms,
        latency_stat: settings.latency.as_ref().map(|l| l.stat.clone()),
        custom: settings.metrics.clone(),
    };
    let mut error = String::new();
    for attempt in 1..=METRICS_ATTEMPTS {
        match metrics.version_metrics(&query).await {
            Ok(read) => {
                let none = Default::default();
                let new_m = read.get(new).unwrap_or(&none);
                let old_m = read.get(old).unwrap_or(&none);
                let verdict = judge(&settings, new, new_m, old, old_m);
                let decision = decide(&settings, verdict.outcome, point, rollout.extended_seconds);
                return AnalysisReport::new(
                    &verdict,
                    decision,
                    (new, old),
                    (new_m.invocations, old_m.invocations),
                    window_seconds,
                );
            }
            Err(e) => {
                warn!(rollout_id = %rollout.rollout_id, attempt, error = %e, "could not read the metrics");
                error = e.to_string();
            }
        }
    }
    AnalysisReport::unreadable(
        &settings,
        point,
        rollout.extended_seconds,
        (new, old),
        window_seconds,
        &crate::text::cap(&error, 300),
    )
}

/// Reads every watched alarm in one batched call and judges them. An unhealthy verdict is an answer, not an
/// error. `now_ms` is when this check began; the caller stores it as the rollout's `checked_ms` once the
/// verdict is in hand.
///
/// An alarm's current state is not enough: one that went to ALARM and back to OK between two checks would
/// let the rollout promote. So every watched alarm whose state changed since the previous check (and is not
/// in ALARM now) has its history read too. That is rare: most checks make one call.
pub async fn check_health(
    alarms: &impl AlarmSource,
    rollout: &Rollout,
    now_ms: u64,
) -> Result<Verdict> {
    if rollout.alarms.is_empty() {
        return Ok(Verdict::healthy());
    }
    let observed = alarms.alarm_states(&rollout.alarms).await?;
    let mut fired = Vec::new();
    if rollout.checked_ms > 0 {
        for name in changed_since(&rollout.alarms, &observed, rollout.checked_ms) {
            if alarms.fired_since(&name, rollout.checked_ms).await? {
                fired.push(name);
            }
        }
    }
    let verdict = judge_alarms(
        &rollout.alarms,
        &observed,
        &fired,
        rollout.insufficient_data,
    );
    info!(rollout_id = %rollout.rollout_id, healthy = verdict.healthy, reason = %verdict.reason(), now_ms, "health checked");
    Ok(verdict)
}
