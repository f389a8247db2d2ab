//! [`Interval`]: PostgreSQL's three-part interval.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A span of time as PostgreSQL keeps it: months, days and microseconds, never
/// normalised into each other (a month is not 30 days, a day is not 24 hours).
///
/// Its text form is ISO 8601 with unnormalised parts (`P14M3DT3600.5S`), which is
/// also how it is stored on SQLite.
///
/// # Examples
///
/// ```
/// use dbridge_engine::Interval;
/// let i = Interval { months: 14, days: -3, microseconds: 3_600_500_000 };
/// assert_eq!(i.to_string(), "P14M-3DT3600.5S");
/// assert_eq!("P1Y2M3DT4H5M6S".parse::<Interval>().unwrap(),
///            Interval { months: 14, days: 3, microseconds: 14_706_000_000 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Whole months.
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// Microseconds.
    pub microseconds: i64,
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("P")?;
        if self.months != 0 {
            write!(f, "{}M", self.months)?;
        }
        if self.days != 0 {
            write!(f, "{}D", self.days)?;
        }
        if self.microseconds != 0 || (self.months == 0 && self.days == 0) {
            let sign = if self.microseconds < 0 { "-" } else { "" };
            let abs = self.microseconds.unsigned_abs();
            let (secs, micros) = (abs / 1_000_000, abs % 1_000_000);
            write!(f, "T{sign}{secs}")?;
            if micros != 0 {
                let frac = format!("{micros:06}");
                write!(f, ".{}", frac.trim_end_matches('0'))?;
            }
            f.write_str("S")?;
        }
        Ok(())
    }
}

fn bad(reason: &str) -> Error {
    Error::invalid_value("interval", reason)
}

/// Parses a signed decimal number of seconds (or any unit) into micro-units.
fn parse_micros(num: &str, unit_micros: i64) -> Result<i64> {
    let (neg, body) = match num.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, num),
    };
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 6 {
        return Err(bad("malformed number"));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad("malformed number"))?
    };
    let frac_micros: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}")
            .parse()
            .map_err(|_| bad("malformed number"))?
    };
    let v = whole
        .checked_mul(unit_micros)
        .and_then(|w| w.checked_add(frac_micros * unit_micros / 1_000_000))
        .ok_or_else(|| bad("out of range"))?;
    Ok(if neg { -v } else { v })
}

impl FromStr for Interval {
    type Err = Error;

    /// Parses ISO 8601 durations: `PnYnMnWnDTnHnMnS`, parts may be negative and
    /// seconds fractional; and PostgreSQL's own interval text, as the server
    /// accepts it (`1 day 02:00`, `3 mons`, `-1 year 2 mons ago`, see
    /// [`parse_postgres`]).
    fn from_str(s: &str) -> Result<Self> {
        let Some(body) = s.trim().strip_prefix('P') else {
            return parse_postgres(s);
        };
        let (date, time) = body.split_once('T').unwrap_or((body, ""));
        let mut out = Interval::default();
        let overflow = || bad("out of range");
        for (part, in_time) in [(date, false), (time, true)] {
            let mut num = String::new();
            for c in part.chars() {
                if c.is_ascii_digit() || c == '-' || c == '.' {
                    num.push(c);
                    continue;
                }
                if num.is_empty() {
                    return Err(bad("missing number"));
                }
                match (in_time, c) {
                    (false, 'Y') => {
                        out.months = out
                            .months
                            .checked_add(
                                num.parse::<i32>()
                                    .map_err(|_| overflow())?
                                    .checked_mul(12)
                                    .ok_or_else(overflow)?,
                            )
                            .ok_or_else(overflow)?
                    }
                    (false, 'M') => {
                        out.months = out
                            .months
                            .checked_add(num.parse().map_err(|_| overflow())?)
                            .ok_or_else(overflow)?
                    }
                    (false, 'W') => {
                        out.days = out
                            .days
                            .checked_add(
                                num.parse::<i32>()
                                    .map_err(|_| overflow())?
                                    .checked_mul(7)
                                    .ok_or_else(overflow)?,
                            )
                            .ok_or_else(overflow)?
                    }
                    (false, 'D') => {
                        out.days = out
                            .days
                            .checked_add(num.parse().map_err(|_| overflow())?)
                            .ok_or_else(overflow)?
                    }
                    (true, 'H') => {
                        out.microseconds = out
                            .microseconds
                            .checked_add(parse_micros(&num, 3_600_000_000)?)
                            .ok_or_else(overflow)?
                    }
                    (true, 'M') => {
                        out.microseconds = out
                            .microseconds
                            .checked_add(parse_micros(&num, 60_000_000)?)
                            .ok_or_else(overflow)?
                    }
                    (true, 'S') => {
                        out.microseconds = out
                            .microseconds
                            .checked_add(parse_micros(&num, 1_000_000)?)
                            .ok_or_else(overflow)?
                    }
                    _ => return Err(bad("unknown unit")),
                }
                num.clear();
            }
            if !num.is_empty() {
                return Err(bad("number without a unit"));
            }
        }
        Ok(out)
    }
}

/// PostgreSQL's interval input: `quantity unit` pairs (`1 year 2 mons 3
/// days`, `1.5 hours`, `-2 weeks`; units singular, plural or abbreviated as
/// the server takes them), a time of day `[-]hh:mm[:ss[.frac]]`, an optional
/// leading `@` and a trailing `ago` (which negates all). A fractional month
/// or year part is refused (the server turns it into days by its own rules).
fn parse_postgres(s: &str) -> Result<Interval> {
    let text = s.trim().trim_start_matches('@').trim();
    if text.is_empty() {
        return Err(bad(
            "expected an ISO 8601 duration (P...) or PostgreSQL interval text",
        ));
    }
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let ago = words.last().is_some_and(|w| w.eq_ignore_ascii_case("ago"));
    if ago {
        words.pop();
    }
    let mut out = Interval::default();
    let overflow = || bad("out of range");
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if w.contains(':') {
            let micros = clock_micros(w)?;
            out.microseconds = out.microseconds.checked_add(micros).ok_or_else(overflow)?;
            i += 1;
            continue;
        }
        // A number and its unit, apart (`3 days`) or together (`3days`).
        let split = w.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(w.len());
        let (num, unit) = if split < w.len() {
            (&w[..split], &w[split..])
        } else {
            i += 1;
            (
                w,
                *words.get(i).ok_or_else(|| bad("number without a unit"))?,
            )
        };
        let num = num.strip_prefix('+').unwrap_or(num);
        add_part(&mut out, num, &unit.to_ascii_lowercase())?;
        i += 1;
    }
    if ago {
        out.months = out.months.checked_neg().ok_or_else(overflow)?;
        out.days = out.days.checked_neg().ok_or_else(overflow)?;
        out.microseconds = out.microseconds.checked_neg().ok_or_else(overflow)?;
    }
    Ok(out)
}

/// `[-]hh:mm[:ss[.frac]]` in microseconds.
fn clock_micros(w: &str) -> Result<i64> {
    let (neg, body) = match w.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, w.strip_prefix('+').unwrap_or(w)),
    };
    let parts: Vec<&str> = body.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty() || p.starts_with('-')) {
        return Err(bad("malformed time (hh:mm[:ss])"));
    }
    let mut micros: i64 = 0;
    for (part, unit) in parts.iter().zip([3_600_000_000, 60_000_000, 1_000_000]) {
        micros = micros
            .checked_add(parse_micros(part, unit)?)
            .ok_or_else(|| bad("out of range"))?;
    }
    Ok(if neg { -micros } else { micros })
}

/// Adds `num unit` to `out`.
fn add_part(out: &mut Interval, num: &str, unit: &str) -> Result<()> {
    let overflow = || bad("out of range");
    let whole = |factor: i32| -> Result<i32> {
        num.parse::<i32>()
            .map_err(|_| bad("a month or year count must be a whole number"))?
            .checked_mul(factor)
            .ok_or_else(overflow)
    };
    let micros = |unit_micros: i64| parse_micros(num, unit_micros);
    match unit.trim_end_matches(',') {
        "millennium" | "millennia" | "millenniums" | "mil" | "mils" => {
            out.months = out
                .months
                .checked_add(whole(12_000)?)
                .ok_or_else(overflow)?;
        }
        "century" | "centuries" | "c" | "cent" => {
            out.months = out.months.checked_add(whole(1_200)?).ok_or_else(overflow)?;
        }
        "decade" | "decades" | "dec" | "decs" => {
            out.months = out.months.checked_add(whole(120)?).ok_or_else(overflow)?;
        }
        "year" | "years" | "y" | "yr" | "yrs" => {
            out.months = out.months.checked_add(whole(12)?).ok_or_else(overflow)?;
        }
        "month" | "months" | "mon" | "mons" => {
            out.months = out.months.checked_add(whole(1)?).ok_or_else(overflow)?;
        }
        "week" | "weeks" | "w" => add_days(out, num, 7)?,
        "day" | "days" | "d" => add_days(out, num, 1)?,
        other => {
            let unit_micros = match other {
                "hour" | "hours" | "h" | "hr" | "hrs" => 3_600_000_000,
                "minute" | "minutes" | "m" | "min" | "mins" => 60_000_000,
                "second" | "seconds" | "s" | "sec" | "secs" => 1_000_000,
                "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => 1_000,
                "microsecond" | "microseconds" | "us" | "usec" | "usecs" => 1,
                _ => return Err(bad("unknown unit")),
            };
            out.microseconds = out
                .microseconds
                .checked_add(micros(unit_micros)?)
                .ok_or_else(overflow)?;
        }
    }
    Ok(())
}

/// Adds `num` days times `factor`; a fraction of a day becomes microseconds
/// (`1.5 days` is 1 day 12:00, as the server has it).
fn add_days(out: &mut Interval, num: &str, factor: i64) -> Result<()> {
    let overflow = || bad("out of range");
    let total = parse_micros(num, 86_400_000_000)?
        .checked_mul(factor)
        .ok_or_else(overflow)?;
    let days = i32::try_from(total / 86_400_000_000).map_err(|_| overflow())?;
    out.days = out.days.checked_add(days).ok_or_else(overflow)?;
    out.microseconds = out
        .microseconds
        .checked_add(total % 86_400_000_000)
        .ok_or_else(overflow)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_interval_text_is_accepted() {
        let iv = |months, days, microseconds| Interval {
            months,
            days,
            microseconds,
        };
        let hour = 3_600_000_000_i64;
        for (text, want) in [
            ("1 day 02:00", iv(0, 1, 2 * hour)),
            ("3 mons", iv(3, 0, 0)),
            (
                "1 year 2 mons 3 days 04:05:06",
                iv(14, 3, 4 * hour + 306_000_000),
            ),
            ("-1 days +02:00:00", iv(0, -1, 2 * hour)),
            ("2 hours 30 minutes", iv(0, 0, 2 * hour + 1_800_000_000)),
            ("1.5 days", iv(0, 1, 12 * hour)),
            ("@ 1 year 2 mons ago", iv(-14, 0, 0)),
            ("2 weeks", iv(0, 14, 0)),
            ("00:00:00.25", iv(0, 0, 250_000)),
            ("-00:30", iv(0, 0, -1_800_000_000)),
            ("10 secs", iv(0, 0, 10_000_000)),
            ("3days", iv(0, 3, 0)),
        ] {
            assert_eq!(text.parse::<Interval>().unwrap(), want, "{text}");
        }
        for bad in ["", "1", "3 fortnights", "1.5 mons", "1:2:3:4", "day 1"] {
            assert!(bad.parse::<Interval>().is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn text_round_trips() {
        for i in [
            Interval::default(),
            Interval {
                months: -1,
                days: 0,
                microseconds: 0,
            },
            Interval {
                months: 0,
                days: 0,
                microseconds: -1,
            },
            Interval {
                months: i32::MAX,
                days: i32::MIN,
                microseconds: i64::MAX,
            },
            Interval {
                months: 0,
                days: 0,
                microseconds: i64::MIN + 1,
            },
        ] {
            assert_eq!(i.to_string().parse::<Interval>().unwrap(), i, "{i}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "1 dday", "P1", "P1X", "PT1.1234567S", "PT-S", "PM"] {
            assert!(s.parse::<Interval>().is_err(), "{s:?}");
        }
    }
}
