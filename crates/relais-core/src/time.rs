//! Instants and durations as plain values: `Timestamp` is Unix milliseconds (UTC),
//! `Duration` is milliseconds and parses the `90s`, `1h30m` syntax of SPEC §3.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An instant, in milliseconds since the Unix epoch (UTC). The same in both databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.0))
    }

    pub fn millis_until(self, later: Timestamp) -> i64 {
        later.0.saturating_sub(self.0)
    }
}

/// A span of time in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub i64);

/// Why a duration text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad duration {text:?}: {why} (write one or more <integer><s|m|h|d>, such as 90s or 1h30m)"
)]
pub struct DurationError {
    pub text: String,
    pub why: &'static str,
}

impl Duration {
    pub const fn seconds(s: i64) -> Self {
        Duration(s * 1000)
    }
    pub const fn minutes(m: i64) -> Self {
        Duration(m * 60_000)
    }
    pub const fn hours(h: i64) -> Self {
        Duration(h * 3_600_000)
    }
    pub const fn days(d: i64) -> Self {
        Duration(d * 86_400_000)
    }
    pub const fn millis(ms: i64) -> Self {
        Duration(ms)
    }

    /// Parses `90s`, `10m`, `1h30m`, `2d`. Spaces, signs and empty text are refused.
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let err = |why| DurationError {
            text: text.to_owned(),
            why,
        };
        if text.is_empty() {
            return Err(err("it is empty"));
        }
        let mut total: i64 = 0;
        let mut number: Option<i64> = None;
        for c in text.chars() {
            if let Some(d) = c.to_digit(10) {
                let n = number.unwrap_or(0);
                number = Some(
                    n.checked_mul(10)
                        .and_then(|n| n.checked_add(i64::from(d)))
                        .ok_or_else(|| err("it is too large"))?,
                );
                continue;
            }
            let unit = match c {
                's' => 1_000,
                'm' => 60_000,
                'h' => 3_600_000,
                'd' => 86_400_000,
                _ => return Err(err("it has a character other than digits and s, m, h, d")),
            };
            let n = number
                .take()
                .ok_or_else(|| err("a unit has no number before it"))?;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| err("it is too large"))?;
        }
        if number.is_some() {
            return Err(err("the last number has no unit"));
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        if ms > 0 {
            write!(f, "{ms}ms")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spec_examples() {
        assert_eq!(Duration::parse("90s"), Ok(Duration::seconds(90)));
        assert_eq!(Duration::parse("10m"), Ok(Duration::minutes(10)));
        assert_eq!(Duration::parse("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(Duration::parse("2d"), Ok(Duration(2 * 86_400_000)));
    }

    #[test]
    fn refuses_bad_text_with_a_reason() {
        for bad in ["", "10", "m", "1x", "-5m", "1 h", "99999999999999999999d"] {
            let e = Duration::parse(bad).unwrap_err();
            assert_eq!(e.text, bad);
        }
        assert!(
            Duration::parse("10")
                .unwrap_err()
                .to_string()
                .contains("no unit")
        );
    }

    #[test]
    fn displays_round_trip() {
        for t in ["90s", "1h30m", "2d", "1d1h1m1s"] {
            let d = Duration::parse(t).unwrap();
            assert_eq!(Duration::parse(&d.to_string()).unwrap(), d);
        }
    }
}
