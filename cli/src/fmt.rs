//! Short human formats for durations: `45s`, `5m02s`, `1h00m05s`; and the durations flags take (`90s`, `30m`,
//! `24h`, `7d`, `1h30m`).

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

/// Whole seconds from `90s`, `30m`, `24h`, `7d` or a sum such as `1h30m`; from 1 s up to `max_seconds`.
/// The error says what is wrong (clap prefixes it with the flag and the value).
pub fn parse_seconds(text: &str, max_seconds: u64) -> Result<u64, String> {
    let text = text.trim();
    let shape = "use a number and a unit: s, m, h or d (90s, 30m, 24h, 1h30m)";
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(shape.to_string()),
        };
        let n: u64 = digits.parse().map_err(|_| shape.to_string())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .unwrap_or(u64::MAX);
        digits.clear();
    }
    if text.is_empty() || !digits.is_empty() {
        return Err(shape.to_string());
    }
    if total == 0 {
        return Err("must be at least 1s".to_string());
    }
    if total > max_seconds {
        return Err(format!("at most {}", whole_unit(max_seconds)));
    }
    Ok(total)
}

/// Seconds in the largest unit that divides them: `7d`, `24h`, `90m`, `45s` (as [`parse_seconds`] reads).
pub fn whole_unit(total: u64) -> String {
    match total {
        0 => "0s".to_string(),
        t if t % 86_400 == 0 => format!("{}d", t / 86_400),
        t if t % 3600 == 0 => format!("{}h", t / 3600),
        t if t % 60 == 0 => format!("{}m", t / 60),
        t => format!("{t}s"),
    }
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

    #[test]
    fn parses_durations_with_units_and_limits() {
        let day = 86_400;
        assert_eq!(parse_seconds("90s", day), Ok(90));
        assert_eq!(parse_seconds("30m", day), Ok(1800));
        assert_eq!(parse_seconds(" 24h ", day), Ok(day));
        assert_eq!(parse_seconds("1h30m", day), Ok(5400));
        assert_eq!(parse_seconds("7d", 7 * day), Ok(7 * day));
        for bad in ["", "90", "m", "1.5h", "10 m", "-5s", "1w", "h1"] {
            let e = parse_seconds(bad, day).unwrap_err();
            assert!(e.contains("a number and a unit"), "{bad:?}: {e}");
        }
        assert_eq!(parse_seconds("0s", day).unwrap_err(), "must be at least 1s");
        assert_eq!(parse_seconds("25h", day).unwrap_err(), "at most 1d");
        assert!(parse_seconds("99999999999999999999d", day).is_err());
        assert_eq!(
            [
                whole_unit(604_800),
                whole_unit(7200),
                whole_unit(5400),
                whole_unit(61)
            ],
            ["7d", "2h", "90m", "61s"]
        );
    }
}
