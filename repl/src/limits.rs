//! `--budget`, `--memory-limit` and `--timeout`: bounds on each top-level
//! call of a session (an input at the prompt, a `run` script, a `-e`
//! snippet). None is set by default: the REPL and `run` are for trusted code.

use std::time::Duration;

/// The bounds of each top-level call (all `None` by default).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// Lua instructions, or Rhai operations, one call may run.
    pub budget: Option<u64>,
    /// Lua: the most memory the whole Lua state may use. Rhai (which has no
    /// allocator limit): the most string bytes in one value, and arrays and
    /// maps sized to match (see [`Limits::rhai_sizes`]).
    pub memory: Option<usize>,
    /// The longest one call may take, waits included.
    pub timeout: Option<Duration>,
}

impl Limits {
    /// `(max string bytes, max array items, max map entries)` for Rhai under
    /// `--memory-limit` (a Rhai value takes 16 bytes, a map entry about 64),
    /// or `None` when it is not set.
    pub fn rhai_sizes(&self) -> Option<(usize, usize, usize)> {
        self.memory.map(|m| (m, (m / 16).max(1), (m / 64).max(1)))
    }
}

/// Parses `--budget`: a whole number of instructions (Lua) or operations
/// (Rhai), at least 1. Underscores may group digits (`10_000_000`).
///
/// # Errors
/// A message for anything else.
pub fn parse_budget(s: &str) -> Result<u64, String> {
    let n: u64 = s.replace('_', "").parse().map_err(|_| {
        format!("`{s}` is not a number of instructions (a whole number such as 10000000)")
    })?;
    if n == 0 {
        return Err("the budget must be at least 1".into());
    }
    Ok(n)
}

/// Parses `--memory-limit`: bytes, or a number with a `K`, `M` or `G` suffix
/// (binary multiples: `64M` is 64 MiB), at least 1 byte.
///
/// # Errors
/// A message for anything else (a fraction, another suffix, an overflow).
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    let bad = || format!("`{s}` is not a size: use bytes or a K, M or G suffix (512K, 64M, 1G)");
    let (digits, shift) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 10),
        Some((i, 'm' | 'M')) => (&s[..i], 20),
        Some((i, 'g' | 'G')) => (&s[..i], 30),
        _ => (s, 0),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let n: usize = digits.parse().map_err(|_| bad())?;
    let bytes = n.checked_mul(1usize << shift).ok_or_else(bad)?;
    if bytes == 0 {
        return Err("the memory limit must be at least 1 byte".into());
    }
    Ok(bytes)
}

/// Parses `--timeout`: seconds, decimals allowed (`2`, `0.5`), more than 0.
///
/// # Errors
/// A message for anything else.
pub fn parse_secs(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a number of seconds (such as 5 or 0.5)");
    let secs: f64 = s.parse().map_err(|_| bad())?;
    if !secs.is_finite() || secs <= 0.0 {
        return Err("the timeout must be a positive number of seconds".into());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_k_m_g_suffixes() {
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert_eq!(parse_bytes("512K"), Ok(512 << 10));
        assert_eq!(parse_bytes("64M"), Ok(64 << 20));
        assert_eq!(parse_bytes("64m"), Ok(64 << 20));
        assert_eq!(parse_bytes("1G"), Ok(1 << 30));
        for bad in [
            "",
            "M",
            "1.5M",
            "64MB",
            "-1",
            "64 M",
            "0",
            "0K",
            "x",
            "99999999999999999999G",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn timeouts_take_decimals() {
        assert_eq!(parse_secs("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_secs("0.5"), Ok(Duration::from_millis(500)));
        for bad in ["", "0", "-1", "abc", "inf", "NaN", "1e400", "5s"] {
            assert!(parse_secs(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn budgets_are_whole_positive_numbers() {
        assert_eq!(parse_budget("1000"), Ok(1000));
        assert_eq!(parse_budget("10_000_000"), Ok(10_000_000));
        for bad in ["", "0", "-5", "1.5", "1e6", "ten"] {
            assert!(parse_budget(bad).is_err(), "{bad:?}");
        }
    }
}
