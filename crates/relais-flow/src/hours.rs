//! Business hours of a team.
//!
//! [`Hours`] holds a team's weekly opening intervals, written as local
//! wall-clock times in an IANA time zone, plus holidays that close a whole
//! local day; [`Hours::parse`] builds it from the `hours:`/`holidays:` entries
//! of `teams.yaml` and refuses a bad spec with an [`Error`].
//!
//! An interval `[start, end)` of a local day is turned into a pair of UTC
//! instants, and an instant is open when a non-holiday local day has an
//! interval containing it. Daylight saving time: a wall-clock time that falls
//! in a gap (spring forward) resolves to the first instant after the gap, so
//! `02:00-03:00` on 2026-03-29 in Europe/Paris is empty and `02:30-04:00` opens
//! at 03:00. A time that occurs twice (fall back) resolves to its earlier
//! occurrence. [`Hours::is_open`] and [`Hours::next_open`] use the same rule.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// Short day names, Monday first, as written in day keys.
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Minutes in a day; also the value of the end time "24:00".
const MINUTES_PER_DAY: u16 = 24 * 60;
/// How far ahead [`Hours::next_open`] looks, in days.
const HORIZON_DAYS: i64 = 370;
const MS_PER_DAY: i64 = 86_400_000;

/// Why an hours spec is refused; each message is a plain sentence quoting the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The time zone is not a known IANA name.
    #[error("time zone {0:?} is not a known IANA time zone name")]
    UnknownTimeZone(String),
    /// A day key is not a day, a day range or a comma list of those.
    #[error(
        "day key {0:?} is not a day (mon tue wed thu fri sat sun), a range like \"mon-fri\" or a list like \"sat,sun\""
    )]
    BadDayKey(String),
    /// The hours given for a day key cannot be used.
    #[error("hours {value:?} for {key:?} are invalid: {why}")]
    BadInterval {
        key: String,
        value: String,
        why: String,
    },
    /// The same day is given by two keys, or twice in one key.
    #[error("day {day:?} is given more than once (again in key {key:?})")]
    DuplicateDay { day: String, key: String },
    /// A holiday is not a valid `YYYY-MM-DD` date.
    #[error("holiday {0:?} is not a valid YYYY-MM-DD date")]
    BadHoliday(String),
}

/// One opening interval `[start, end)` in minutes since local midnight.
type Interval = (u16, u16);

/// A team's weekly opening intervals in its time zone, with holidays.
#[derive(Debug, Clone)]
pub struct Hours {
    tz: TimeZone,
    name: String,
    /// Intervals per weekday, Monday first; sorted and non-overlapping.
    week: [Vec<Interval>; 7],
    holidays: BTreeSet<Date>,
    always: bool,
}

impl Hours {
    /// `tz`: IANA name. `days`: (key, value) pairs as written, e.g. ("mon-fri", "09:00-18:00"), ("sat", "10:00-13:00, 14:00-17:00").
    /// Keys: a day (mon tue wed thu fri sat sun), a range "mon-fri" (wrapping like "fri-mon" allowed), or a comma list "sat,sun".
    /// Values: one or more "HH:MM-HH:MM" separated by commas; "24:00" is allowed as an end; start < end required; "closed" means no interval.
    /// A day given twice (e.g. "mon-fri" and "mon") is an error naming the day. `holidays`: "YYYY-MM-DD" local dates.
    ///
    /// Keys and "closed" are case-insensitive and spaces around items are
    /// ignored; a list may mix days and ranges ("mon-wed,fri"). Intervals of
    /// one day must not overlap (touching, like "09:00-12:00, 12:00-14:00", is
    /// fine).
    pub fn parse(tz: &str, days: &[(String, String)], holidays: &[String]) -> Result<Hours, Error> {
        let zone = TimeZone::get(tz.trim()).map_err(|_| Error::UnknownTimeZone(tz.to_string()))?;
        let name = zone.iana_name().unwrap_or(tz.trim()).to_string();

        let mut week: [Option<Vec<Interval>>; 7] = Default::default();
        for (key, value) in days {
            let intervals = parse_intervals(key, value)?;
            for day in parse_day_key(key)? {
                match week.get_mut(day) {
                    Some(slot @ None) => *slot = Some(intervals.clone()),
                    _ => return Err(duplicate(day, key)),
                }
            }
        }
        let week = week.map(Option::unwrap_or_default);

        let holidays = holidays
            .iter()
            .map(|h| parse_date(h).ok_or_else(|| Error::BadHoliday(h.clone())))
            .collect::<Result<BTreeSet<Date>, Error>>()?;

        Ok(Hours {
            tz: zone,
            name,
            week,
            holidays,
            always: false,
        })
    }

    /// The hours as teams.yaml writes them (`{"tz": …, "mon": "09:00-18:00", …}`, one
    /// key per open day) and the holidays (`YYYY-MM-DD`); `None` when always open.
    /// [`Hours::parse`] of what this gives is the same hours (`relais admin
    /// export-workspace` writes it).
    pub fn written(&self) -> Option<(serde_json::Map<String, serde_json::Value>, Vec<String>)> {
        if self.always {
            return None;
        }
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let mut map = serde_json::Map::new();
        map.insert("tz".into(), self.name.clone().into());
        for (day, intervals) in DAYS.iter().zip(&self.week) {
            if intervals.is_empty() {
                continue;
            }
            let text: Vec<String> = intervals
                .iter()
                .map(|(a, b)| format!("{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60))
                .collect();
            map.insert((*day).into(), text.join(", ").into());
        }
        let holidays = self.holidays.iter().map(ToString::to_string).collect();
        Some((map, holidays))
    }

    /// Always open (no hours configured).
    pub fn always() -> Hours {
        Hours {
            tz: TimeZone::UTC,
            name: "UTC".to_string(),
            week: Default::default(),
            holidays: BTreeSet::new(),
            always: true,
        }
    }

    /// True when `at_ms` (Unix milliseconds, UTC instant) falls inside an opening interval [start, end) of its local day and that day is not a holiday.
    ///
    /// An instant outside the range jiff can represent is closed (except for
    /// [`Hours::always`]).
    pub fn is_open(&self, at_ms: i64) -> bool {
        if self.always {
            return true;
        }
        let Ok(at) = Timestamp::from_millisecond(at_ms) else {
            return false;
        };
        let date = self.tz.to_datetime(at).date();
        self.windows(date)
            .any(|(start, end)| start <= at && at < end)
    }

    /// The next instant (Unix ms) at or after `at_ms` when the team is open (== at_ms if open now); None if never open within the next 370 days.
    pub fn next_open(&self, at_ms: i64) -> Option<i64> {
        if self.is_open(at_ms) {
            return Some(at_ms);
        }
        let at = Timestamp::from_millisecond(at_ms).ok()?;
        let limit = at_ms.saturating_add(HORIZON_DAYS * MS_PER_DAY);
        let mut date = self.tz.to_datetime(at).date();
        // 370 days after `at` end at most 371 local dates later; one more
        // covers any time zone offset change on the way.
        for _ in 0..=HORIZON_DAYS + 2 {
            for (start, end) in self.windows(date) {
                if end <= at {
                    continue;
                }
                let candidate = start.max(at).as_millisecond();
                if candidate > limit {
                    return None;
                }
                if self.is_open(candidate) {
                    return Some(candidate);
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// Human text for an instant in the team's zone, e.g. "2026-11-23 09:00 (Europe/Paris)"; used as `team.opens_at`.
    ///
    /// An instant outside the range jiff can represent is shown as its raw
    /// milliseconds, e.g. "9223372036854775807 ms since 1970-01-01 UTC (Europe/Paris)".
    pub fn local_text(&self, at_ms: i64) -> String {
        match Timestamp::from_millisecond(at_ms) {
            Ok(at) => {
                let dt = self.tz.to_datetime(at);
                let (date, hour, minute) = (dt.date(), dt.hour(), dt.minute());
                format!("{date} {hour:02}:{minute:02} ({})", self.name)
            }
            Err(_) => format!("{at_ms} ms since 1970-01-01 UTC ({})", self.name),
        }
    }

    /// The IANA name of the team's time zone ("UTC" for [`Hours::always`]).
    pub fn time_zone_name(&self) -> &str {
        &self.name
    }

    /// The opening intervals of a local date as UTC instants `[start, end)`;
    /// none on a holiday. Intervals that DST makes empty are skipped.
    fn windows(&self, date: Date) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        let day = usize::try_from(date.weekday().to_monday_zero_offset()).ok();
        let intervals = match day.and_then(|d| self.week.get(d)) {
            Some(list) if !self.holidays.contains(&date) => list.as_slice(),
            _ => &[],
        };
        intervals.iter().filter_map(move |&(start, end)| {
            let (start, end) = (self.instant(date, start)?, self.instant(date, end)?);
            (start < end).then_some((start, end))
        })
    }

    /// The instant of a local wall-clock time `minute` (0..=1440) on `date`:
    /// in a DST gap, the first instant after the gap; in a fold, the earlier
    /// occurrence. None when out of jiff's range.
    fn instant(&self, date: Date, minute: u16) -> Option<Timestamp> {
        let dt = if minute >= MINUTES_PER_DAY {
            DateTime::from_parts(date.tomorrow().ok()?, Time::midnight())
        } else {
            let hour = i8::try_from(minute / 60).ok()?;
            let min = i8::try_from(minute % 60).ok()?;
            DateTime::from_parts(date, Time::new(hour, min, 0, 0).ok()?)
        };
        let ambiguous = self.tz.to_ambiguous_timestamp(dt);
        match ambiguous.offset() {
            AmbiguousOffset::Gap { .. } => {
                let before_gap = ambiguous.earlier().ok()?;
                let gap_end = self.tz.following(before_gap).next().map(|t| t.timestamp());
                gap_end.or_else(|| ambiguous.compatible().ok())
            }
            AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Fold { .. } => {
                ambiguous.earlier().ok()
            }
        }
    }
}

fn duplicate(day: usize, key: &str) -> Error {
    Error::DuplicateDay {
        day: DAY_NAMES.get(day).copied().unwrap_or("?").to_string(),
        key: key.to_string(),
    }
}

fn day_number(name: &str) -> Option<usize> {
    DAY_NAMES
        .iter()
        .position(|d| d.eq_ignore_ascii_case(name.trim()))
}

/// The days (Monday = 0) named by a key, in the order written.
fn parse_day_key(key: &str) -> Result<Vec<usize>, Error> {
    let bad = || Error::BadDayKey(key.to_string());
    let mut days = Vec::new();
    for item in key.split(',') {
        let (a, b) = item.split_once('-').unwrap_or((item, item));
        let (first, last) = (
            day_number(a).ok_or_else(bad)?,
            day_number(b).ok_or_else(bad)?,
        );
        for day in (first..=first + (last + 7 - first) % 7).map(|d| d % 7) {
            if days.contains(&day) {
                return Err(duplicate(day, key));
            }
            days.push(day);
        }
    }
    Ok(days)
}

/// The intervals of a value: "closed" or "HH:MM-HH:MM[, HH:MM-HH:MM...]".
fn parse_intervals(key: &str, value: &str) -> Result<Vec<Interval>, Error> {
    let bad = |why: String| Error::BadInterval {
        key: key.to_string(),
        value: value.to_string(),
        why,
    };
    if value.trim().eq_ignore_ascii_case("closed") {
        return Ok(Vec::new());
    }
    let mut intervals = Vec::new();
    for item in value.split(',').map(str::trim) {
        let parsed = item
            .split_once('-')
            .and_then(|(a, b)| Some((parse_clock(a.trim(), false)?, parse_clock(b.trim(), true)?)));
        let Some((start, end)) = parsed else {
            let why = format!("{item:?} is not HH:MM-HH:MM with times from 00:00 to 24:00");
            return Err(bad(why));
        };
        if start >= end {
            return Err(bad(format!("in {item:?} the start is not before the end")));
        }
        intervals.push((start, end));
    }
    intervals.sort_unstable();
    if intervals
        .windows(2)
        .any(|p| matches!(p, [a, b] if a.1 > b.0))
    {
        return Err(bad("two of its intervals overlap".to_string()));
    }
    Ok(intervals)
}

/// "HH:MM" as minutes since midnight; "24:00" only when `end` is true.
fn parse_clock(s: &str, end: bool) -> Option<u16> {
    let two_digits = |x: &str| {
        let digits = x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| x.parse::<u16>().ok())?
    };
    let (h, m) = s.split_once(':')?;
    match (two_digits(h)?, two_digits(m)?) {
        (h @ 0..=23, m @ 0..=59) => Some(h * 60 + m),
        (24, 0) if end => Some(MINUTES_PER_DAY),
        _ => None,
    }
}

/// A strict "YYYY-MM-DD" date.
fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim();
    let shape = |ib: (usize, u8)| matches!(ib, (4 | 7, b'-') | (0..4 | 5 | 6 | 8 | 9, b'0'..=b'9'));
    (s.len() == 10 && s.bytes().enumerate().all(shape)).then(|| s.parse().ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_written_out_read_back_the_same() {
        let days = vec![
            ("mon-fri".to_owned(), "09:00-12:30, 14:00-18:00".to_owned()),
            ("sat".to_owned(), "10:00-13:00".to_owned()),
        ];
        let h = Hours::parse("Europe/Paris", &days, &["2026-12-25".to_owned()]).unwrap();
        let (map, holidays) = h.written().unwrap();
        assert_eq!(map["tz"], "Europe/Paris");
        assert_eq!(map["wed"], "09:00-12:30, 14:00-18:00");
        assert_eq!(map["sat"], "10:00-13:00");
        assert!(!map.contains_key("sun"));
        assert_eq!(holidays, ["2026-12-25"]);
        let again: Vec<(String, String)> = map
            .iter()
            .filter(|(k, _)| *k != "tz")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let back = Hours::parse("Europe/Paris", &again, &holidays).unwrap();
        assert_eq!(back.week, h.week);
        assert_eq!(back.holidays, h.holidays);
        assert!(Hours::always().written().is_none());
    }

    /// Unix ms of an RFC 3339 instant; Paris is +01:00 in winter, +02:00 in summer.
    fn ms(rfc3339: &str) -> i64 {
        let at: Timestamp = rfc3339.parse().expect("valid instant");
        at.as_millisecond()
    }

    /// Parses "TZ; KEY=VALUE; ...; HOLIDAY; ..." (fields in any order after TZ).
    fn hours(spec: &str) -> Result<Hours, Error> {
        let mut fields = spec.split(';').map(str::trim);
        let tz = fields.next().unwrap_or("");
        let (mut days, mut holidays) = (Vec::new(), Vec::new());
        for field in fields {
            match field.split_once('=') {
                Some((k, v)) => days.push((k.to_string(), v.to_string())),
                None => holidays.push(field.to_string()),
            }
        }
        Hours::parse(tz, &days, &holidays)
    }

    const TEAM: &str = "Europe/Paris; mon-fri=09:00-18:00; sat=10:00-13:00; 2026-12-25";

    /// Checks a table, one case a line: "hours SPEC" (the hours to check from there on),
    /// "AT open", "AT closed", "AT -> NEXT_OPEN" (RFC 3339 instants) or "AT shows TEXT"
    /// (`local_text`); "#" starts a comment.
    fn check(table: &str) {
        let mut h = Hours::always();
        for line in table
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
        {
            if let Some(spec) = line.strip_prefix("hours ") {
                h = hours(spec).expect(spec);
                continue;
            }
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                [] => {}
                [at, "open"] => assert!(h.is_open(ms(at)), "{at} should be open"),
                [at, "closed"] => assert!(!h.is_open(ms(at)), "{at} should be closed"),
                [at, "->", want] => assert_eq!(h.next_open(ms(at)), Some(ms(want)), "from {at}"),
                [at, "shows", ref text @ ..] => assert_eq!(h.local_text(ms(at)), text.join(" ")),
                _ => panic!("bad test line {line:?}"),
            }
        }
    }

    const TEAM_CASES: &str = "
        hours Europe/Paris; mon-fri=09:00-18:00; sat=10:00-13:00; 2026-12-25
        2026-11-23T10:00+01:00 open    # Monday
        2026-11-23T09:00+01:00 open    # start is inclusive
        2026-11-23T08:59+01:00 closed
        2026-11-23T18:00+01:00 closed  # end is exclusive
        2026-11-23T17:59:59+01:00 open
        2026-11-23T17:59:59.999+01:00 open
        2026-11-28T12:00+01:00 open    # Saturday
        2026-11-28T13:00+01:00 closed
        2026-11-29T12:00+01:00 closed  # Sunday
        2026-12-24T10:00+01:00 open
        2026-12-25T10:00+01:00 closed  # holiday
        2026-07-06T08:30Z open         # summer Monday, 10:30 in Paris
        2026-07-06T16:30Z closed       # 18:30 in Paris
        2026-07-06T06:30Z closed       # 08:30 in Paris
        2026-07-06T15:30Z open         # 17:30 in Paris
        2026-12-24T19:00+01:00 -> 2026-12-26T10:00+01:00  # over the holiday
        2026-11-27T18:30+01:00 -> 2026-11-28T10:00+01:00  # Friday evening
        2026-11-28T13:30+01:00 -> 2026-11-30T09:00+01:00  # Saturday afternoon
        2026-11-23T05:00+01:00 -> 2026-11-23T09:00+01:00
        2026-11-23T10:00:00.123+01:00 -> 2026-11-23T10:00:00.123+01:00  # open now
        2026-10-24T13:30+02:00 -> 2026-10-26T09:00+01:00  # over fall-back
        2026-03-29T12:00+02:00 -> 2026-03-30T09:00+02:00  # after spring-forward
        2026-11-23T08:00Z shows 2026-11-23 09:00 (Europe/Paris)
        2026-07-06T08:30Z shows 2026-07-06 10:30 (Europe/Paris)
        2026-10-25T00:30Z shows 2026-10-25 02:30 (Europe/Paris)
        2026-10-25T01:30Z shows 2026-10-25 02:30 (Europe/Paris)
    ";

    #[test]
    fn team_is_open_and_next_open() {
        check(TEAM_CASES);
    }

    const KEY_CASES: &str = "
        hours Europe/Paris; fri-mon=08:00-12:00, 14:00-24:00; tue, Wed=CLOSED; thu=00:00-24:00
        2026-11-27T08:00+01:00 open    # Friday
        2026-11-28T12:00+01:00 closed  # Saturday, between intervals
        2026-11-28T14:00+01:00 open
        2026-11-29T23:59+01:00 open    # Sunday, up to 24:00
        2026-11-30T00:00+01:00 closed  # Monday
        2026-11-30T11:59+01:00 open
        2026-12-01T10:00+01:00 closed  # Tuesday
        2026-12-02T10:00+01:00 closed  # Wednesday
        2026-12-03T00:00+01:00 open    # Thursday
        2026-12-03T23:59+01:00 open
        2026-11-28T12:30+01:00 -> 2026-11-28T14:00+01:00
        2026-12-01T10:00+01:00 -> 2026-12-03T00:00+01:00
        hours UTC; sun-sat=00:00-24:00
        2026-11-23T00:00Z open
        2026-11-29T23:59:59.999Z open
    ";

    #[test]
    fn keys_ranges_lists_and_values() {
        check(KEY_CASES);
    }

    /// One refused spec a line: "SPEC => start of the message".
    const REFUSED: &str = r#"
        Mars/Olympus; mon=closed            => time zone "Mars/Olympus" is not
        ; mon=closed                        => time zone "" is not
        Europe/Paris; funday=09:00-18:00    => day key "funday" is not
        Europe/Paris; mon-funday=closed     => day key "mon-funday" is not
        Europe/Paris; sat,=closed           => day key "sat," is not
        Europe/Paris; mon=18:00-09:00       => hours "18:00-09:00" for "mon" are invalid
        Europe/Paris; mon=9h-18h            => hours "9h-18h" for "mon" are invalid
        Europe/Paris; mon=24:00-24:00       => hours "24:00-24:00" for "mon" are invalid
        Europe/Paris; mon=09:00-18:60       => hours "09:00-18:60" for "mon" are invalid
        Europe/Paris; mon=9:00-18:00        => hours "9:00-18:00" for "mon" are invalid
        Europe/Paris; mon=09:00-12:00,11:00-13:00 => hours "09:00-12:00,11:00-13:00" for "mon" are
        Europe/Paris; mon=                  => hours "" for "mon" are invalid
        Europe/Paris; mon-fri=09:00-18:00; mon=closed => day "mon" is given more than once (again
        Europe/Paris; sat,sat=closed        => day "sat" is given more than once (again in key "sat,
        Europe/Paris; fri-mon,mon=closed    => day "mon" is given more than once
        Europe/Paris; 2026-12-25; 2026-13-01 => holiday "2026-13-01" is not a valid YYYY-MM-DD date
        Europe/Paris; 26-12-25              => holiday "26-12-25" is not
        Europe/Paris; 20261225              => holiday "20261225" is not
        Europe/Paris; 2026-12-25T10:00      => holiday "2026-12-25T10:00" is not
    "#;

    #[test]
    fn refused_specs_quote_the_offending_value() {
        for line in REFUSED.lines().filter(|l| !l.trim().is_empty()) {
            let (spec, want) = line.split_once(" => ").expect("a => in each line");
            let got = hours(spec).expect_err(line).to_string();
            assert!(got.starts_with(want), "{got:?} should start with {want:?}");
        }
        let twice = hours("UTC; mon-fri=closed; mon=closed").expect_err("twice");
        let dup = Error::DuplicateDay {
            day: "mon".into(),
            key: "mon".into(),
        };
        assert_eq!(twice, dup);
        let mars = Error::UnknownTimeZone("Mars/Olympus".into());
        assert_eq!(hours("Mars/Olympus").expect_err("mars"), mars);
        let holiday = Error::BadHoliday("2026-13-01".into());
        assert_eq!(hours("UTC; 2026-13-01").expect_err("holiday"), holiday);
    }

    #[test]
    fn local_text_and_zone_name() {
        let team = hours(TEAM).expect("team");
        assert_eq!(ms("2026-11-23T08:00Z"), 1_795_420_800_000);
        assert_eq!(
            team.local_text(1_795_420_800_000),
            "2026-11-23 09:00 (Europe/Paris)"
        );
        assert_eq!(team.time_zone_name(), "Europe/Paris");
        assert_eq!(Hours::always().local_text(0), "1970-01-01 00:00 (UTC)");
        let far = "9223372036854775807 ms since 1970-01-01 UTC (Europe/Paris)";
        assert_eq!(team.local_text(i64::MAX), far);
    }

    #[test]
    fn always_is_open_and_extremes_never_panic() {
        let min = Timestamp::MIN.as_millisecond();
        let max = Timestamp::MAX.as_millisecond();
        let extremes = [i64::MIN, i64::MIN + 1, min, -1, 0, max, i64::MAX];
        let always = Hours::always();
        assert!(
            extremes
                .iter()
                .all(|&at| always.is_open(at) && always.next_open(at) == Some(at))
        );
        let specs = [
            "Europe/Paris",
            TEAM,
            "Europe/Paris; mon-sun=00:00-24:00",
            "Pacific/Kiritimati; sun=23:59-24:00",
            "America/Anchorage; mon=00:00-00:01",
        ];
        for h in specs.map(|spec| hours(spec).expect(spec)) {
            for at in extremes {
                let _ = h.local_text(at);
                if let Some(next) = h.next_open(at) {
                    let ok = next >= at && next - at <= 370 * MS_PER_DAY && h.is_open(next);
                    assert!(ok, "next_open({at}) = {next}");
                }
            }
        }
        assert_eq!(hours("Europe/Paris").expect("never").next_open(0), None);
        let all = hours("Europe/Paris; mon-sun=00:00-24:00").expect("all");
        assert_eq!(all.next_open(i64::MAX), None);
    }

    #[test]
    fn next_open_looks_370_days_ahead() {
        let first = Date::new(2026, 1, 1).expect("date");
        let dates = std::iter::successors(Some(first), |d| d.tomorrow().ok());
        let at = ms("2026-01-01T00:00Z");
        for (n, want) in [(370, Some(at + 370 * MS_PER_DAY)), (371, None)] {
            let holidays: Vec<String> = dates.clone().take(n).map(|d| d.to_string()).collect();
            let spec = format!("UTC; mon-sun=00:00-24:00; {}", holidays.join("; "));
            assert_eq!(
                hours(&spec).expect("spec").next_open(at),
                want,
                "{n} holidays"
            );
        }
    }

    /// 2026-03-29 02:00 CET jumps to 03:00 CEST; 2026-10-25 03:00 CEST falls back to 02:00 CET.
    const DST_CASES: &str = "
        hours Europe/Paris; sun=02:00-03:00
        2026-03-29T01:59+01:00 closed
        2026-03-29T03:00+02:00 closed
        2026-03-28T12:00+01:00 -> 2026-04-05T02:00+02:00  # empty on 03-29
        2026-10-25T01:59+02:00 closed
        2026-10-25T02:00+02:00 open
        2026-10-25T02:00+01:00 open    # the repeated hour is inside too
        2026-10-25T03:00+01:00 closed
        2026-10-24T12:00+02:00 -> 2026-10-25T02:00+02:00
        hours Europe/Paris; sun=02:30-04:00
        2026-03-29T03:00+02:00 open    # opens when the gap ends
        2026-03-29T04:00+02:00 closed
        2026-03-28T12:00+01:00 -> 2026-03-29T03:00+02:00
        hours Europe/Paris; sun=01:00-02:30
        2026-03-29T01:59+01:00 open
        2026-03-29T03:00+02:00 closed  # closes when the gap begins
        2026-03-28T12:00+01:00 -> 2026-03-29T01:00+01:00
        2026-10-25T02:29+02:00 open
        2026-10-25T02:30+02:00 closed  # the end maps to its earlier instant
        2026-10-25T02:15+01:00 closed
    ";

    #[test]
    fn daylight_saving_days() {
        check(DST_CASES);
        // next_open agrees with is_open, minute by minute, across both DST weekends.
        let specs = DST_CASES
            .lines()
            .filter_map(|l| l.trim().strip_prefix("hours "));
        for spec in specs.chain([TEAM]) {
            let h = hours(spec).expect(spec);
            for first in [ms("2026-03-27T00:00Z"), ms("2026-10-23T00:00Z")] {
                let mut next_open_sample = None;
                for at in (0..10 * 24 * 60).rev().map(|i| first + i * 60_000) {
                    if h.is_open(at) {
                        next_open_sample = Some(at);
                    }
                    if let Some(bound) = next_open_sample {
                        let next = h.next_open(at).expect("open within the sampled days");
                        let ok = at <= next && next <= bound && h.is_open(next);
                        assert!(ok, "next_open at {}", h.local_text(at));
                    }
                }
            }
        }
    }
}
