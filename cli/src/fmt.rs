//! Short human formats for durations: `45s`, `5m02s`, `1h00m05s`.

use std::time::Duration;

/// Whole seconds as `45s`, `5m02s` or `2h03m04s` (hours keep counting past a day).
pub fn seconds(total: u64) -> String {
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// A duration rounded to the nearest second (a countdown shows `1s` rather than `0s` until it is over).
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_millis() >= 500);
    seconds(if secs == 0 && !d.is_zero() { 1 } else { secs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_seconds_minutes_and_hours() {
        assert_eq!(seconds(0), "0s");
        assert_eq!(seconds(45), "45s");
        assert_eq!(seconds(60), "1m00s");
        assert_eq!(seconds(302), "5m02s");
        assert_eq!(seconds(3600), "1h00m00s");
        assert_eq!(seconds(3 * 86_400 + 65), "72h01m05s");
    }

    #[test]
    fn rounds_durations_to_the_second() {
        assert_eq!(duration(Duration::from_millis(302_400)), "5m02s");
        assert_eq!(duration(Duration::from_millis(302_600)), "5m03s");
        assert_eq!(duration(Duration::from_millis(120)), "1s");
        assert_eq!(duration(Duration::ZERO), "0s");
    }
}
