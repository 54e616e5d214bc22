//! The error-rate test: is the new version's error rate higher than the old one's by more than the allowed
//! margin? A one-sided test of two proportions, not a raw ratio, so that a handful of invocations cannot fail a
//! rollout (1 error in 3) while a real regression does (40 in 400 against 15 in 3,702).
//!
//! H0: p_new − p_old ≤ margin; H1: p_new − p_old > margin. With the margin not zero the two rates are not
//! pooled: z = (p̂_new − p̂_old − margin) / √(p̂_new(1 − p̂_new)/n_new + p̂_old(1 − p̂_old)/n_old), and the
//! p-value is P(Z ≥ z) under the standard normal (statrs). The new version fails when p < 1 − confidence.
//! When both observed rates are 0 or 1 the standard error is 0: the difference is then known exactly, and it
//! fails exactly when it exceeds the margin.

use statrs::distribution::{ContinuousCDF, Normal};

/// Invocations and errors of one version over the analysis window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub invocations: u64,
    pub errors: u64,
}

impl Counts {
    pub fn new(invocations: u64, errors: u64) -> Counts {
        Counts {
            invocations,
            errors: errors.min(invocations),
        }
    }

    /// The observed error rate, 0 with no invocations.
    pub fn rate(&self) -> f64 {
        if self.invocations == 0 {
            0.0
        } else {
            self.errors as f64 / self.invocations as f64
        }
    }
}

/// What the error-rate test found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ErrorRateVerdict {
    /// Fewer than `min_invocations` on either version: no judgement.
    Inconclusive,
    Passed,
    Failed,
}

/// The test's numbers: the evidence every verdict carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorRateTest {
    pub new: Counts,
    pub old: Counts,
    /// The allowed increase, in percentage points.
    pub max_increase_points: f64,
    pub confidence: f64,
    /// Invocations each version needs before a judgement.
    pub min_invocations: u64,
    /// p̂_new − p̂_old, in percentage points.
    pub increase_points: f64,
    pub z: f64,
    /// P(an increase this large or larger | the true increase is at most the margin).
    pub p_value: f64,
    pub verdict: ErrorRateVerdict,
}

/// The one-sided test of `new` against `old`. `max_increase_points` ≥ 0 and `confidence` in (0, 1) are the
/// caller's to validate (the request's analysis settings are checked before a rollout starts).
pub fn error_rate_test(
    new: Counts,
    old: Counts,
    max_increase_points: f64,
    confidence: f64,
    min_invocations: u64,
) -> ErrorRateTest {
    let margin = max_increase_points / 100.0;
    let (p_new, p_old) = (new.rate(), old.rate());
    let difference = p_new - p_old;
    let (z, p_value) = z_and_p(new, old, difference - margin);
    let verdict =
        if new.invocations < min_invocations.max(1) || old.invocations < min_invocations.max(1) {
            ErrorRateVerdict::Inconclusive
        } else if p_value < 1.0 - confidence {
            ErrorRateVerdict::Failed
        } else {
            ErrorRateVerdict::Passed
        };
    ErrorRateTest {
        new,
        old,
        max_increase_points,
        confidence,
        min_invocations: min_invocations.max(1),
        increase_points: difference * 100.0,
        z,
        p_value,
        verdict,
    }
}

fn z_and_p(new: Counts, old: Counts, excess: f64) -> (f64, f64) {
    let variance = |c: Counts| {
        if c.invocations == 0 {
            0.0
        } else {
            let p = c.rate();
            p * (1.0 - p) / c.invocations as f64
        }
    };
    let se = (variance(new) + variance(old)).sqrt();
    if se == 0.0 {
        // Both rates are exactly 0 or 1: the difference is known, not estimated.
        return if excess > 0.0 {
            (f64::INFINITY, 0.0)
        } else {
            (f64::NEG_INFINITY, 1.0)
        };
    }
    let z = excess / se;
    let standard = Normal::standard();
    (z, standard.sf(z))
}

impl ErrorRateTest {
    /// One line of evidence, e.g. `errors: v7 8.1% (33/407) vs v6 0.4% (15/3702), increase 7.7 pts > 1.0
    /// allowed at 95% (p<0.001) → Failed`.
    pub fn evidence(&self, new_version: &str, old_version: &str) -> String {
        let rate = |c: Counts| format!("{:.1}% ({}/{})", c.rate() * 100.0, c.errors, c.invocations);
        let p = if self.p_value < 0.001 {
            "p<0.001".to_string()
        } else {
            format!("p={:.3}", self.p_value)
        };
        let (compare, verdict) = match self.verdict {
            ErrorRateVerdict::Inconclusive => (
                "vs",
                format!(
                    "Inconclusive: fewer than {} invocations per version",
                    self.min_invocations
                ),
            ),
            ErrorRateVerdict::Passed => ("not significantly >", "Passed".to_string()),
            ErrorRateVerdict::Failed => (">", "Failed".to_string()),
        };
        format!(
            "errors: v{new_version} {} vs v{old_version} {}, increase {:.1} pts {compare} {:.1} allowed at {}% ({p}) → {verdict}",
            rate(self.new),
            rate(self.old),
            self.increase_points,
            self.max_increase_points,
            (self.confidence * 100.0).round(),
        )
    }
}
