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
    /// seconds fractional.
    fn from_str(s: &str) -> Result<Self> {
        let body = s
            .trim()
            .strip_prefix('P')
            .ok_or_else(|| bad("expected an ISO 8601 duration (P...)"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
        for s in ["", "1 day", "P1", "P1X", "PT1.1234567S", "PT-S", "PM"] {
            assert!(s.parse::<Interval>().is_err(), "{s:?}");
        }
    }
}
