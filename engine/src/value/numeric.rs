//! [`Numeric`]: an exact decimal that never passes through a float.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// An exact decimal number of any size (`numeric` on PostgreSQL), or NaN / ±Infinity.
///
/// The value is kept as its canonical decimal text: the digits are exactly those
/// given, trailing zeros of the fraction included (`"1.50"` stays `"1.50"`, as
/// PostgreSQL keeps the display scale). Leading zeros and a `+` sign are dropped and
/// exponents are expanded.
///
/// # Examples
///
/// ```
/// use dbridge_engine::Numeric;
/// let n: Numeric = "-000123456789012345678901234567890.1250".parse().unwrap();
/// assert_eq!(n.to_string(), "-123456789012345678901234567890.1250");
/// assert_eq!("1.5e3".parse::<Numeric>().unwrap().to_string(), "1500");
/// assert!("1.2.3".parse::<Numeric>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Numeric(String);

/// The parts of a finite [`Numeric`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts<'a> {
    pub negative: bool,
    /// Integer digits without leading zeros ("0" for zero).
    pub int: &'a str,
    /// Fraction digits, possibly empty.
    pub frac: &'a str,
}

/// What a [`Numeric`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind<'a> {
    NaN,
    Infinity,
    NegInfinity,
    Finite(Parts<'a>),
}

impl Numeric {
    /// Not-a-number (PostgreSQL's `'NaN'::numeric`).
    pub fn nan() -> Self {
        Self("NaN".into())
    }

    /// Positive infinity (PostgreSQL 14+).
    pub fn infinity() -> Self {
        Self("Infinity".into())
    }

    /// Negative infinity (PostgreSQL 14+).
    pub fn neg_infinity() -> Self {
        Self("-Infinity".into())
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is finite (not NaN or an infinity).
    pub fn is_finite(&self) -> bool {
        matches!(self.kind(), Kind::Finite(_))
    }

    /// The nearest `f64` (lossy by nature).
    pub fn to_f64(&self) -> f64 {
        match self.kind() {
            Kind::NaN => f64::NAN,
            Kind::Infinity => f64::INFINITY,
            Kind::NegInfinity => f64::NEG_INFINITY,
            // The canonical text is always valid float syntax.
            Kind::Finite(_) => self.0.parse().unwrap_or(f64::NAN),
        }
    }

    /// The value as an `i64`, if it is integral and in range.
    pub fn to_i64(&self) -> Option<i64> {
        match self.kind() {
            Kind::Finite(p) if p.frac.bytes().all(|b| b == b'0') => {
                let v: i64 = p.int.parse().ok()?;
                Some(if p.negative { -v } else { v })
            }
            _ => None,
        }
    }

    /// Builds a numeric from a float's shortest exact representation.
    ///
    /// # Errors
    /// Never for finite floats; NaN and infinities map to their numeric twins.
    pub fn from_f64(v: f64) -> Self {
        if v.is_nan() {
            Self::nan()
        } else if v == f64::INFINITY {
            Self::infinity()
        } else if v == f64::NEG_INFINITY {
            Self::neg_infinity()
        } else {
            // Display for f64 never uses an exponent, so this always parses.
            Self::from_str(&v.to_string()).unwrap_or_else(|_| Self::nan())
        }
    }

    pub(crate) fn kind(&self) -> Kind<'_> {
        match self.0.as_str() {
            "NaN" => Kind::NaN,
            "Infinity" => Kind::Infinity,
            "-Infinity" => Kind::NegInfinity,
            s => {
                let (negative, body) = match s.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, s),
                };
                let (int, frac) = body.split_once('.').unwrap_or((body, ""));
                Kind::Finite(Parts {
                    negative,
                    int,
                    frac,
                })
            }
        }
    }

    /// Builds from parts that are already canonical digit strings.
    pub(crate) fn from_parts(negative: bool, int: &str, frac: &str) -> Self {
        let int = int.trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        let is_zero = int == "0" && frac.bytes().all(|b| b == b'0');
        let mut s = String::with_capacity(int.len() + frac.len() + 2);
        if negative && !is_zero {
            s.push('-');
        }
        s.push_str(int);
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
        Self(s)
    }
}

fn invalid(reason: &str) -> Error {
    Error::invalid_value("numeric", reason)
}

impl FromStr for Numeric {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "nan" => return Ok(Self::nan()),
            "infinity" | "+infinity" | "inf" | "+inf" => return Ok(Self::infinity()),
            "-infinity" | "-inf" => return Ok(Self::neg_infinity()),
            _ => {}
        }
        let (negative, body) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (mantissa, exp) = match body.find(['e', 'E']) {
            Some(i) => {
                let e: i64 = body[i + 1..]
                    .parse()
                    .map_err(|_| invalid("malformed exponent"))?;
                (&body[..i], e)
            }
            None => (body, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
            return Err(invalid("not a decimal number"));
        }
        if exp.unsigned_abs() > 100_000 {
            return Err(invalid("exponent out of range"));
        }
        if exp == 0 {
            return Ok(Self::from_parts(negative, int, frac));
        }
        // Shift the decimal point by `exp` places.
        let all: String = [int, frac].concat();
        let point = int.len() as i64 + exp;
        let (int, frac) = if point <= 0 {
            (String::from("0"), "0".repeat((-point) as usize) + &all)
        } else if point as usize >= all.len() {
            (
                all.clone() + &"0".repeat(point as usize - all.len()),
                String::new(),
            )
        } else {
            (
                all[..point as usize].to_string(),
                all[point as usize..].to_string(),
            )
        };
        Ok(Self::from_parts(negative, &int, &frac))
    }
}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<i64> for Numeric {
    fn from(v: i64) -> Self {
        Self(v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        s.parse::<Numeric>().unwrap().to_string()
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(n("0"), "0");
        assert_eq!(n("-0.00"), "0.00");
        assert_eq!(n("+007.10"), "7.10");
        assert_eq!(n(".5"), "0.5");
        assert_eq!(n("5."), "5");
        assert_eq!(n("1.25e-3"), "0.00125");
        assert_eq!(n("-12.5E2"), "-1250");
        assert_eq!(n("nan"), "NaN");
        assert_eq!(n("-inf"), "-Infinity");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "", "-", ".", "1.2.3", "12a", "1e", "1e999999", "0x10", " - 1",
        ] {
            assert!(bad.parse::<Numeric>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn float_and_int_conversions() {
        assert_eq!(Numeric::from_f64(0.1).to_string(), "0.1");
        assert_eq!(Numeric::from_f64(-2.5).to_f64(), -2.5);
        assert_eq!(n("42.000").parse::<Numeric>().unwrap().to_i64(), Some(42));
        assert_eq!("42.5".parse::<Numeric>().unwrap().to_i64(), None);
        assert!(Numeric::from_f64(f64::NAN).to_f64().is_nan());
    }
}
