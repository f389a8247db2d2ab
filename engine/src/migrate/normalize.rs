//! Comparison of SQL expression text (defaults, CHECK conditions, partial-index
//! conditions, generation expressions) between a model and a live database.
//!
//! The database rewrites what it is given: PostgreSQL adds parentheses and
//! casts (`'a'::text`, `(karma >= 0)`), lower-cases keywords and drops quotes
//! around simple names. Two texts are taken as equal when they match after
//! removing what such rewriting changes: whitespace, parentheses, quotes
//! around identifiers, `::type` casts, the case of words outside string
//! literals, and quotes around a number that is cast (`'-5'::integer` is `-5`).
//! This is a heuristic: a rewrite it does not know (`IN (..)` read back as
//! `= ANY (ARRAY[..])`) shows as a change, never the reverse in practice.

/// The comparable form of an SQL expression.
pub(crate) fn normalize(sql: &str) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == '(' || c == ')' {
            i += 1;
            continue;
        }
        if c == '\'' || ((c == 'E' || c == 'e') && chars.get(i + 1) == Some(&'\'')) {
            let start = if c == '\'' { i } else { i + 1 };
            let mut j = start + 1;
            let mut text = String::new();
            while j < chars.len() {
                if chars[j] == '\'' {
                    if chars.get(j + 1) == Some(&'\'') {
                        text.push('\'');
                        j += 2;
                        continue;
                    }
                    break;
                }
                text.push(chars[j]);
                j += 1;
            }
            i = j + 1;
            let cast_follows = next_non_space(&chars, i).is_some_and(|k| is_cast(&chars, k));
            if cast_follows && is_number(&text) {
                out.push(text);
            } else {
                out.push(format!("'{}'", text.replace('\'', "''")));
            }
            continue;
        }
        if c == '"' {
            let mut j = i + 1;
            let mut text = String::new();
            while j < chars.len() {
                if chars[j] == '"' {
                    if chars.get(j + 1) == Some(&'"') {
                        text.push('"');
                        j += 2;
                        continue;
                    }
                    break;
                }
                text.push(chars[j]);
                j += 1;
            }
            out.push(text.to_lowercase());
            i = j + 1;
            continue;
        }
        if is_cast(&chars, i) {
            i = skip_cast(&chars, i + 2);
            continue;
        }
        if c.is_alphanumeric() || c == '_' || c == '.' {
            let mut j = i;
            while j < chars.len() && (chars[j].is_alphanumeric() || "_.$".contains(chars[j])) {
                j += 1;
            }
            out.push(chars[i..j].iter().collect::<String>().to_lowercase());
            i = j;
            continue;
        }
        // A negative number where an operand is expected.
        let operand_expected = out
            .last()
            .is_none_or(|t| !t.starts_with(|x: char| x.is_alphanumeric() || x == '\'' || x == '_'));
        if c == '-' && operand_expected && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            out.push(chars[i..j].iter().collect());
            i = j;
            continue;
        }
        // Operators: a run of symbol characters.
        let mut j = i;
        while j < chars.len()
            && !chars[j].is_alphanumeric()
            && !chars[j].is_whitespace()
            && !"()'\"_".contains(chars[j])
            && !is_cast(&chars, j)
        {
            j += 1;
        }
        if j == i {
            j += 1;
        }
        out.push(chars[i..j].iter().collect());
        i = j;
    }
    out.join(" ")
}

fn next_non_space(chars: &[char], mut i: usize) -> Option<usize> {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    (i < chars.len()).then_some(i)
}

fn is_cast(chars: &[char], i: usize) -> bool {
    chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':')
}

fn is_number(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    !t.is_empty()
        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        && t.chars().any(|c| c.is_ascii_digit())
}

/// Skips a type name after `::`: words (several for `double precision`,
/// `timestamp with time zone`), a quoted name, a `(n, m)` modifier and `[]`.
fn skip_cast(chars: &[char], mut i: usize) -> usize {
    const CONTINUATIONS: [&str; 6] = ["with", "without", "time", "zone", "varying", "precision"];
    let mut first = true;
    loop {
        let Some(k) = next_non_space(chars, i) else {
            return chars.len();
        };
        if chars[k] == '"' {
            let mut j = k + 1;
            while j < chars.len() && chars[j] != '"' {
                j += 1;
            }
            i = j + 1;
            first = false;
            continue;
        }
        if chars[k].is_alphanumeric() || chars[k] == '_' {
            let mut j = k;
            while j < chars.len() && (chars[j].is_alphanumeric() || "_.".contains(chars[j])) {
                j += 1;
            }
            let word: String = chars[k..j].iter().collect::<String>().to_lowercase();
            if first || CONTINUATIONS.contains(&word.as_str()) {
                i = j;
                first = false;
                continue;
            }
            return i;
        }
        if chars[k] == '(' && !first {
            let mut j = k;
            while j < chars.len() && chars[j] != ')' {
                j += 1;
            }
            i = j + 1;
            continue;
        }
        if chars[k] == '[' && chars.get(k + 1) == Some(&']') {
            i = k + 2;
            continue;
        }
        return i;
    }
}

/// Whether two optional expressions are the same after [`normalize`].
pub(crate) fn same(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || normalize(a) == normalize(b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(a: &str, b: &str) {
        assert_eq!(normalize(a), normalize(b), "{a} vs {b}");
    }

    #[test]
    fn database_rewrites_compare_equal() {
        eq("'abc'::text", "'abc'");
        eq("(karma >= 0)", "\"karma\" >= 0");
        eq("((a > 0) AND (b < 5))", "\"a\" > 0 AND \"b\" < 5");
        eq("'-5'::integer", "-5");
        eq("now()", "(now())");
        eq("'2024-02-29'::date", "'2024-02-29'");
        eq("'x'::character varying", "'x'");
        eq("'{}'::integer[]", "'{}'");
        eq("12.50::numeric(12,2)", "12.50");
        eq(
            "'2024-01-01 00:00:00+00'::timestamp with time zone",
            "'2024-01-01 00:00:00+00'",
        );
        eq("true", "TRUE");
        eq("lower((name)::text)", "lower(\"name\")");
    }

    #[test]
    fn real_changes_differ() {
        assert_ne!(normalize("karma >= 0"), normalize("karma > 0"));
        assert_ne!(normalize("'a'"), normalize("'b'"));
        assert_ne!(normalize("'It''s'"), normalize("'its'"));
        assert_ne!(normalize("'ABC'"), normalize("'abc'"));
        assert_ne!(normalize("1"), normalize("'1'"));
        assert!(!same(Some("0"), None));
    }
}
