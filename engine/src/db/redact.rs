//! Removing bound values from database messages.
//!
//! Servers echo their input in many messages whatever the error class:
//! `current_setting($1)` names the setting, `nextval($1)` the relation,
//! `pg_read_file($1)` the file, SQLite's `json_extract(x, $1)` the path,
//! an FTS5 `MATCH $1` a part of the query, a trigger's `RAISE(ABORT, NEW.x)`
//! the value itself. The rule applied to every message (docs/sql.md, "Errors"),
//! where a value's *texts* are its text form (trimmed too; for arrays and JSON
//! also each item, string and key; for bytes also their UTF-8 text), and
//! matching ignores ASCII case (PostgreSQL folds identifiers to lower case):
//!
//! 1. every occurrence of a text at least [`MIN_CHARS`] characters long is
//!    replaced by `…`;
//! 2. every quoted segment (`"..."` or `'...'`) is emptied to `"…"` when it
//!    [echoes](Texts::echoes) a value: it equals a text (of any length), or,
//!    being at least [`MIN_CHARS`] long, begins one (the server truncates long
//!    names) or lies inside one of at most [`PARTIAL_MAX`] characters;
//! 3. every word (a run of characters other than white space, quotes and
//!    `,:;()[]{}<>=`) at least [`MIN_CHARS`] long that echoes a value is
//!    replaced by `…`.
//!
//! Shorter values are removed only when quoted alone: a value such as `1` or
//! `no` would otherwise mangle every message (`$1`, `no such table`), and such
//! a value carries little. Parts of long values (a document, a blog post) are
//! not searched for, or every message word found in the text would go.

use std::borrow::Cow;

use crate::value::{Value, to_text};

/// Values at least this many characters long are removed wherever they appear.
pub(crate) const MIN_CHARS: usize = 3;

/// Parts of values at most this long are removed too (rules 2 and 3).
pub(crate) const PARTIAL_MAX: usize = 64;

/// What replaces a value.
const MASK: &str = "…";

/// The values a failing statement carried: its parameters, or a COPY's rows.
#[derive(Clone, Copy, Default)]
pub(crate) enum Bound<'a> {
    /// None known (connecting, acquiring).
    #[default]
    None,
    /// A statement's parameters.
    Params(&'a [Value]),
    /// The rows a COPY loads.
    Rows(&'a [Vec<Value>]),
}

impl<'a> Bound<'a> {
    fn values(self) -> impl Iterator<Item = &'a Value> {
        let (params, rows): (&[Value], &[Vec<Value>]) = match self {
            Self::None => (&[], &[]),
            Self::Params(p) => (p, &[]),
            Self::Rows(r) => (&[], r),
        };
        params.iter().chain(rows.iter().flatten())
    }

    /// Every text form of every value, non-empty.
    fn texts(self) -> Vec<String> {
        let mut out = Vec::new();
        for v in self.values() {
            texts_of(v, &mut out);
        }
        out.retain(|t| !t.is_empty());
        out
    }
}

/// The forms in which a server may echo `v`: its text, trimmed, and for
/// containers each item's.
fn texts_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Null => {}
        Value::Text(s) => {
            out.push(s.clone());
            if s.trim().len() != s.len() {
                out.push(s.trim().to_owned());
            }
        }
        Value::Bytes(b) => {
            out.push(to_text(v));
            if let Ok(s) = std::str::from_utf8(b) {
                texts_of(&Value::Text(s.to_owned()), out);
            }
        }
        Value::Json(j) | Value::Jsonb(j) => {
            out.push(j.to_string());
            json_strings(j, out);
        }
        Value::Array(a) => {
            out.push(to_text(v));
            for item in &a.items {
                texts_of(item, out);
            }
        }
        other => out.push(to_text(other)),
    }
}

/// Every string and object key inside a JSON document.
fn json_strings(j: &serde_json::Value, out: &mut Vec<String>) {
    match j {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| json_strings(i, out)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                json_strings(v, out);
            }
        }
        serde_json::Value::Null | serde_json::Value::Bool(_) => {}
    }
}

/// The texts of the bound values, longest first.
struct Texts(Vec<String>);

impl Texts {
    /// Whether `fragment` of a message comes from a bound value.
    fn echoes(&self, fragment: &str) -> bool {
        let long = fragment.chars().count() >= MIN_CHARS;
        self.0.iter().any(|t| {
            t.eq_ignore_ascii_case(fragment)
                || (long
                    && (t
                        .get(..fragment.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(fragment))
                        || (t.chars().count() <= PARTIAL_MAX
                            && contains_ignore_ascii_case(t, fragment))))
        })
    }
}

/// `message` with every bound value removed by the rule of this module.
pub(crate) fn redact_values(message: &str, bound: Bound<'_>) -> String {
    let mut texts = bound.texts();
    if texts.is_empty() {
        return message.to_owned();
    }
    // Longest first, so that a value inside another does not leave a tail.
    texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let mut out = Cow::Borrowed(message);
    for t in texts.iter().filter(|t| t.chars().count() >= MIN_CHARS) {
        if let Some(replaced) = replace_ignore_ascii_case(&out, t) {
            out = Cow::Owned(replaced);
        }
    }
    let texts = Texts(texts);
    let echoed = |segment: &str| texts.echoes(segment);
    let out = redact_segments(&out, '"', echoed);
    let out = redact_segments(&out, '\'', echoed);
    redact_words(&out, |w| w.chars().count() >= MIN_CHARS && texts.echoes(w))
}

/// Whether `c` ends a word of a message.
fn separates(c: char) -> bool {
    c.is_whitespace() || "\"',:;()[]{}<>=".contains(c)
}

/// `message` with each word for which `redact` holds replaced by `…`.
fn redact_words(message: &str, redact: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(message.len());
    let mut word_start = None;
    for (i, c) in message.char_indices().chain([(message.len(), ' ')]) {
        match (separates(c), word_start) {
            (true, Some(start)) => {
                let word = &message[start..i];
                out.push_str(if redact(word) { MASK } else { word });
                word_start = None;
            }
            (false, None) => word_start = Some(i),
            _ => {}
        }
        if separates(c) && i < message.len() {
            out.push(c);
        }
    }
    out
}

/// The byte offset of the first match of `needle` in `hay` at or after `from`,
/// ignoring ASCII case.
fn find_ignore_ascii_case(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() || n.len() > h.len() {
        return None;
    }
    (from..=h.len() - n.len())
        .find(|&i| hay.is_char_boundary(i) && h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    find_ignore_ascii_case(hay, needle, 0).is_some()
}

/// `hay` with every match of `needle` (ignoring ASCII case) masked, or `None`
/// when there is none. A match starts on a character boundary and, `needle`
/// being UTF-8 and only ASCII letters folding, ends on one.
fn replace_ignore_ascii_case(hay: &str, needle: &str) -> Option<String> {
    let mut at = find_ignore_ascii_case(hay, needle, 0)?;
    let mut out = String::with_capacity(hay.len());
    let mut last = 0;
    loop {
        out.push_str(&hay[last..at]);
        out.push_str(MASK);
        last = at + needle.len();
        match find_ignore_ascii_case(hay, needle, last) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.push_str(&hay[last..]);
    Some(out)
}

/// `message` with the content of each `quote`-delimited segment for which
/// `redact` holds replaced by `…`. An unterminated segment is left as it is.
pub(crate) fn redact_segments(message: &str, quote: char, redact: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(quote) {
        let (before, after) = rest.split_at(open + quote.len_utf8());
        out.push_str(before);
        let Some(close) = after.find(quote) else {
            rest = after;
            break;
        };
        let segment = &after[..close];
        out.push_str(if redact(segment) { MASK } else { segment });
        out.push(quote);
        rest = &after[close + quote.len_utf8()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: &[Value]) -> Bound<'_> {
        Bound::Params(v)
    }

    #[test]
    fn long_values_are_removed_anywhere_ignoring_case() {
        let v = [Value::from("S3ntinelVAL")];
        assert_eq!(
            redact_values("relation \"s3ntinelval\" does not exist", params(&v)),
            "relation \"…\" does not exist"
        );
        assert_eq!(
            redact_values("improper name: a.b.S3NTINELVAL, S3ntinelVAL", params(&v)),
            "improper name: a.b.…, …"
        );
    }

    #[test]
    fn short_values_are_removed_only_when_quoted_alone() {
        let v = [Value::from("ab"), Value::Int4(1), Value::from("no")];
        assert_eq!(
            redact_values(
                "parameter \"ab\" near $1 in 'ab' of \"tab\": no ab",
                params(&v)
            ),
            "parameter \"…\" near $1 in '…' of \"tab\": no ab"
        );
    }

    #[test]
    fn truncated_echoes_in_quotes_are_removed() {
        let long = "x".repeat(100);
        let v = [Value::from(long.as_str())];
        let msg = format!("relation \"{}\" does not exist", &long[..63]);
        assert_eq!(
            redact_values(&msg, params(&v)),
            "relation \"…\" does not exist"
        );
    }

    #[test]
    fn parts_of_short_values_are_removed_as_words() {
        let v = [Value::from("S3ntinelVAL:x")];
        assert_eq!(
            redact_values("no such column: s3ntinelval", params(&v)),
            "no such column: …"
        );
        let prose = [Value::from(format!(
            "{} no such column",
            "x".repeat(PARTIAL_MAX)
        ))];
        assert_eq!(
            redact_values("no such column: y", params(&prose)),
            "no such column: y"
        );
    }

    #[test]
    fn containers_and_rows_are_searched() {
        let rows = vec![vec![
            Value::Int8(7),
            Value::array(
                crate::value::SqlType::Text,
                vec![Value::from("inner-secret")],
            ),
            Value::Jsonb(serde_json::json!({"key": ["json-secret"]})),
            Value::Bytes(b"bytes-secret".to_vec()),
        ]];
        let msg = "inner-secret json-secret bytes-secret 7";
        assert_eq!(redact_values(msg, Bound::Rows(&rows)), "… … … 7");
    }

    #[test]
    fn non_ascii_messages_stay_whole() {
        let v = [Value::from("ÉtéSecret")];
        assert_eq!(
            redact_values("«éTéSecret» ÉtéSecret é", params(&v)),
            "«éTéSecret» … é"
        );
    }

    #[test]
    fn unterminated_quotes_are_kept() {
        assert_eq!(
            redact_segments("can't \"x\"", '\'', |_| true),
            "can't \"x\""
        );
        assert_eq!(redact_segments("a \"x\" b", '"', |_| true), "a \"…\" b");
    }
}
