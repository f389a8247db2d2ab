//! The text form of every value: what SQLite stores for types it lacks, and what
//! a string is parsed as when it is assigned to a typed column.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use ipnet::IpNet;

use super::{Array, EnumValue, Interval, MacAddr, Numeric, SqlType, Temporal, Value};
use crate::error::{Error, Result};

const TS_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";

fn float_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "Infinity".into()
    } else if v == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        v.to_string()
    }
}

fn temporal_text<T>(t: &Temporal<T>, f: impl Fn(&T) -> String) -> String {
    match t {
        Temporal::NegInfinity => "-infinity".into(),
        Temporal::Infinity => "infinity".into(),
        Temporal::Finite(v) => f(v),
    }
}

fn inet_text(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

/// Writes `n` as `width` zero-padded digits (`n` has at most `width` digits).
fn push_digits(out: &mut String, n: u32, width: u32) {
    for k in (0..width).rev() {
        let d = (n / 10u32.pow(k)) % 10;
        // A digit 0-9 is always a char.
        out.push(char::from_digit(d, 10).unwrap_or('0'));
    }
}

/// A date as `YYYY-MM-DD` (chrono's `%Y-%m-%d`), written by hand: a result
/// with a timestamp column formats one per row, and chrono's formatter parses
/// its format string every time. Years outside 0-9999 go through chrono.
fn push_date(out: &mut String, d: &NaiveDate) {
    use chrono::Datelike;
    match u32::try_from(d.year()) {
        Ok(y) if y <= 9999 => {
            push_digits(out, y, 4);
            out.push('-');
            push_digits(out, d.month(), 2);
            out.push('-');
            push_digits(out, d.day(), 2);
        }
        _ => out.push_str(&d.format("%Y-%m-%d").to_string()),
    }
}

/// A time as `HH:MM:SS` plus chrono's `%.f` fraction (none, or 3, 6 or 9
/// digits as needed); a leap second goes through chrono.
fn push_time(out: &mut String, t: &NaiveTime) {
    use chrono::Timelike;
    let nanos = t.nanosecond();
    if nanos >= 1_000_000_000 {
        out.push_str(&t.format("%H:%M:%S%.f").to_string());
        return;
    }
    push_digits(out, t.hour(), 2);
    out.push(':');
    push_digits(out, t.minute(), 2);
    out.push(':');
    push_digits(out, t.second(), 2);
    if nanos == 0 {
        return;
    }
    out.push('.');
    if nanos.is_multiple_of(1_000_000) {
        push_digits(out, nanos / 1_000_000, 3);
    } else if nanos.is_multiple_of(1_000) {
        push_digits(out, nanos / 1_000, 6);
    } else {
        push_digits(out, nanos, 9);
    }
}

fn datetime_text(dt: &NaiveDateTime, suffix: &str) -> String {
    let mut out = String::with_capacity(32);
    push_date(&mut out, &dt.date());
    out.push(' ');
    push_time(&mut out, &dt.time());
    out.push_str(suffix);
    out
}

/// The canonical text of a non-NULL value.
pub(crate) fn to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int2(i) => i.to_string(),
        Value::Int4(i) => i.to_string(),
        Value::Int8(i) => i.to_string(),
        Value::Float4(f) => float_text(f64::from(*f)),
        Value::Float8(f) => float_text(*f),
        Value::Numeric(n) => n.to_string(),
        Value::Text(s) => s.clone(),
        Value::Bytes(b) => {
            let mut s = String::with_capacity(2 + b.len() * 2);
            s.push_str("\\x");
            for byte in b {
                s.push_str(&format!("{byte:02x}"));
            }
            s
        }
        Value::Uuid(u) => u.hyphenated().to_string(),
        Value::Json(j) | Value::Jsonb(j) => j.to_string(),
        Value::Date(d) => temporal_text(d, |d| {
            let mut out = String::with_capacity(10);
            push_date(&mut out, d);
            out
        }),
        Value::Time(t) => {
            let mut out = String::with_capacity(18);
            push_time(&mut out, t);
            out
        }
        Value::Timestamp(t) => temporal_text(t, |t| datetime_text(t, "")),
        Value::Timestamptz(t) => temporal_text(t, |t| datetime_text(&t.naive_utc(), "+00:00")),
        Value::Interval(i) => i.to_string(),
        Value::Inet(n) => inet_text(n),
        Value::Cidr(n) => n.to_string(),
        Value::MacAddr(m) => m.to_string(),
        Value::Enum(e) => e.label.clone(),
        Value::Array(a) => array_json(a).to_string(),
    }
}

/// An array as JSON: numbers and booleans as themselves, every other element
/// (numeric included, to stay exact) as its text.
pub(crate) fn array_json(a: &Array) -> serde_json::Value {
    let items = a
        .items
        .iter()
        .map(|v| match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int2(i) => (*i).into(),
            Value::Int4(i) => (*i).into(),
            Value::Int8(i) => (*i).into(),
            Value::Float4(f) if f.is_finite() => f64::from(*f).into(),
            Value::Float8(f) if f.is_finite() => (*f).into(),
            Value::Json(j) | Value::Jsonb(j) => j.clone(),
            other => to_text(other).into(),
        })
        .collect();
    serde_json::Value::Array(items)
}

fn bad(ty: &SqlType, reason: impl Into<String>) -> Error {
    Error::invalid_value(ty.to_string(), reason)
}

fn parse_temporal<T>(s: &str, f: impl Fn(&str) -> Option<T>) -> Option<Temporal<T>> {
    match s {
        "infinity" | "+infinity" => Some(Temporal::Infinity),
        "-infinity" => Some(Temporal::NegInfinity),
        _ => f(s).map(Temporal::Finite),
    }
}

fn parse_naive_ts(s: &str) -> Option<NaiveDateTime> {
    let s = s.replacen('T', " ", 1);
    NaiveDateTime::parse_from_str(&s, TS_FORMAT).ok()
}

fn parse_ts_tz(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let s = s.replacen('T', " ", 1);
    let s = s
        .strip_suffix('Z')
        .map_or(s.clone(), |p| format!("{p}+00:00"));
    DateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f%:z")
        .or_else(|_| DateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "1" | "yes" | "y" | "on" => Some(true),
        "f" | "false" | "0" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

fn parse_float(s: &str) -> Option<f64> {
    match s.trim() {
        "NaN" | "nan" => Some(f64::NAN),
        "Infinity" | "infinity" | "inf" => Some(f64::INFINITY),
        "-Infinity" | "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

pub(super) fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let hex = s.strip_prefix("\\x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

fn parse_inet(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Parses the text form of a value of type `ty`.
///
/// # Errors
/// [`Error::InvalidValue`] naming the type when the text is malformed (the text
/// itself is not quoted in the message).
pub(crate) fn parse_text(s: &str, ty: &SqlType) -> Result<Value> {
    let fail = || bad(ty, "malformed text");
    let v = match ty {
        SqlType::Bool => Value::Bool(parse_bool(s).ok_or_else(fail)?),
        SqlType::Int2 => Value::Int2(s.trim().parse().map_err(|_| fail())?),
        SqlType::Int4 => Value::Int4(s.trim().parse().map_err(|_| fail())?),
        SqlType::Int8 => Value::Int8(s.trim().parse().map_err(|_| fail())?),
        SqlType::Float4 => Value::Float4(parse_float(s).ok_or_else(fail)? as f32),
        SqlType::Float8 => Value::Float8(parse_float(s).ok_or_else(fail)?),
        SqlType::Numeric(_) => Value::Numeric(s.parse::<Numeric>()?),
        SqlType::Text | SqlType::Varchar(_) | SqlType::Char(_) => Value::Text(s.to_owned()),
        SqlType::Bytea => Value::Bytes(parse_hex(s).ok_or_else(fail)?),
        SqlType::Uuid => Value::Uuid(s.trim().parse().map_err(|_| fail())?),
        SqlType::Json => Value::Json(serde_json::from_str(s).map_err(|_| fail())?),
        SqlType::Jsonb => Value::Jsonb(serde_json::from_str(s).map_err(|_| fail())?),
        SqlType::Date => {
            Value::Date(parse_temporal(s.trim(), |d| d.parse::<NaiveDate>().ok()).ok_or_else(fail)?)
        }
        SqlType::Time => Value::Time(s.trim().parse::<NaiveTime>().map_err(|_| fail())?),
        SqlType::Timestamp => {
            Value::Timestamp(parse_temporal(s.trim(), parse_naive_ts).ok_or_else(fail)?)
        }
        SqlType::Timestamptz => {
            Value::Timestamptz(parse_temporal(s.trim(), parse_ts_tz).ok_or_else(fail)?)
        }
        SqlType::Interval => Value::Interval(s.parse::<Interval>()?),
        SqlType::Inet => Value::Inet(parse_inet(s.trim()).ok_or_else(fail)?),
        SqlType::Cidr => {
            let net = parse_inet(s.trim()).ok_or_else(fail)?;
            if net.trunc() != net {
                return Err(bad(ty, "has bits set to the right of the netmask"));
            }
            Value::Cidr(net)
        }
        SqlType::MacAddr => Value::MacAddr(s.parse::<MacAddr>()?),
        SqlType::Enum(e) => {
            if !e.labels.is_empty() && !e.labels.iter().any(|l| l == s) {
                return Err(bad(ty, "not one of the enum's labels"));
            }
            Value::Enum(EnumValue {
                type_name: Arc::from(e.name.as_str()),
                label: s.to_owned(),
            })
        }
        SqlType::Array(elem) => parse_array_json(s, elem, ty)?,
    };
    Ok(v)
}

fn parse_array_json(s: &str, elem: &SqlType, ty: &SqlType) -> Result<Value> {
    let json: serde_json::Value =
        serde_json::from_str(s).map_err(|_| bad(ty, "malformed array"))?;
    let serde_json::Value::Array(items) = json else {
        return Err(bad(ty, "not an array"));
    };
    let items = items
        .into_iter()
        .map(|j| match j {
            serde_json::Value::Null => Ok(Value::Null),
            serde_json::Value::String(s) => parse_text(&s, elem),
            other if matches!(elem, SqlType::Json | SqlType::Jsonb) => {
                parse_text(&other.to_string(), elem)
            }
            other => parse_text(&other.to_string(), elem),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Value::array(elem.clone(), items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporal_text_matches_chrono_formatting() {
        let dates = [
            (1, 1, 1),
            (2024, 2, 29),
            (9999, 12, 31),
            (0, 1, 1),
            (-44, 3, 15),
            (10000, 1, 1),
        ];
        let times = [
            (0, 0, 0, 0),
            (23, 59, 59, 1_000_000),
            (12, 34, 56, 120_000_000),
            (1, 2, 3, 4_000),
            (1, 2, 3, 123_456_000),
            (1, 2, 3, 5),
            (23, 59, 59, 999_999_999),
            (23, 59, 59, 1_500_000_000),
        ];
        for (y, mo, d) in dates {
            let date = NaiveDate::from_ymd_opt(y, mo, d).unwrap();
            assert_eq!(
                to_text(&Value::Date(Temporal::Finite(date))),
                date.to_string()
            );
            for (h, mi, s, ns) in times {
                let time = NaiveTime::from_hms_nano_opt(h, mi, s, ns).unwrap();
                let dt = date.and_time(time);
                assert_eq!(
                    to_text(&Value::Time(time)),
                    time.format("%H:%M:%S%.f").to_string()
                );
                assert_eq!(
                    to_text(&Value::Timestamp(Temporal::Finite(dt))),
                    dt.format(TS_FORMAT).to_string()
                );
                assert_eq!(
                    to_text(&Value::Timestamptz(Temporal::Finite(dt.and_utc()))),
                    format!("{}+00:00", dt.format(TS_FORMAT))
                );
            }
        }
    }

    fn round_trip(v: Value) {
        let ty = v.sql_type().unwrap();
        let text = to_text(&v);
        let back = parse_text(&text, &ty).unwrap();
        assert!(back.same_as(&v), "{v:?} -> {text:?} -> {back:?}");
    }

    #[test]
    fn every_type_round_trips_through_text() {
        let ts = NaiveDate::from_ymd_opt(1, 1, 1)
            .unwrap()
            .and_hms_micro_opt(0, 0, 0, 1)
            .unwrap();
        let far = NaiveDate::from_ymd_opt(200_000, 12, 31)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        for v in [
            Value::Bool(true),
            Value::Int2(i16::MIN),
            Value::Int8(i64::MAX),
            Value::Float4(1.5e-7),
            Value::Float8(f64::NAN),
            Value::Float8(f64::NEG_INFINITY),
            Value::Float8(0.1),
            Value::Numeric("123456789012345678901234567890.123".parse().unwrap()),
            Value::Bytes(vec![0, 255, 16]),
            Value::Uuid(uuid::Uuid::nil()),
            Value::Jsonb(serde_json::json!({"a": [1, "x", null]})),
            Value::Date(Temporal::Infinity),
            Value::Date(NaiveDate::from_ymd_opt(-4000, 2, 29).unwrap().into()),
            Value::Time(NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap()),
            Value::Timestamp(ts.into()),
            Value::Timestamp(far.into()),
            Value::Timestamptz(Temporal::Finite(far.and_utc())),
            Value::Interval(Interval {
                months: 1,
                days: 2,
                microseconds: 3,
            }),
            Value::Inet("10.1.2.3/8".parse().unwrap()),
            Value::Inet("::1/128".parse().unwrap()),
            Value::Cidr("10.0.0.0/8".parse().unwrap()),
            Value::MacAddr(MacAddr([1, 2, 3, 4, 5, 6])),
            Value::array(SqlType::Int4, vec![Value::Int4(1), Value::Null]),
            Value::array(
                SqlType::Numeric(None),
                vec![Value::Numeric("1.10".parse().unwrap())],
            ),
            Value::array(SqlType::Text, vec![]),
        ] {
            round_trip(v);
        }
    }

    #[test]
    fn cidr_with_host_bits_is_rejected() {
        assert!(parse_text("10.0.0.1/8", &SqlType::Cidr).is_err());
    }

    #[test]
    fn timestamptz_accepts_offsets() {
        let v = parse_text("2024-01-02T03:04:05+02:00", &SqlType::Timestamptz).unwrap();
        assert_eq!(to_text(&v), "2024-01-02 01:04:05+00:00");
    }
}
