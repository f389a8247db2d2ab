//! Errors that say how to fix them: the statement with a caret under the
//! spot the server named, SQL typed at a script prompt, and the names that
//! a mistyped global, method, table or column was meant to be.
//!
//! Pure functions of the error's text; [`crate::repl`] gathers the
//! candidates (from the interpreter and the catalog) and [`crate::suggest`]
//! picks the nearest.

use dbridge_engine::DatabaseError;

/// `LINE n: <line>` and a caret under the character the server named (as
/// psql prints them); on SQLite, which names no position, under the table,
/// column or token its message names. Empty when nothing can be placed.
pub fn caret(d: &DatabaseError) -> Vec<String> {
    let Some(sql) = d.sql.as_deref() else {
        return Vec::new();
    };
    let at = d
        .position
        .map(|p| p.saturating_sub(1))
        .or_else(|| named_object(&d.message).and_then(|name| find_word(sql, name)));
    match at {
        Some(at) => caret_lines(sql, at),
        None => Vec::new(),
    }
}

/// The two lines of a caret under character `at` (0-based) of `sql`.
pub fn caret_lines(sql: &str, at: usize) -> Vec<String> {
    let mut start = 0;
    for (n, line) in sql.split('\n').enumerate() {
        let len = line.chars().count();
        if at <= start + len {
            let head = format!("LINE {}: ", n + 1);
            let col = at - start;
            let pad = head.len() + line.chars().take(col).count();
            return vec![format!("{head}{line}"), format!("{}^", " ".repeat(pad))];
        }
        start += len + 1;
    }
    Vec::new()
}

/// The object a database message names: `relation "trak" does not exist`,
/// `column "nme" does not exist`, `no such table: trak`, `no such column:
/// nme`, `table t has no column named nme`, `near "FRM": syntax error`.
pub fn named_object(message: &str) -> Option<&str> {
    let quoted = |m: &str, before: &str, after: &str| -> Option<usize> {
        let i = m.find(before)? + before.len();
        m[i..].find(after).map(|_| i)
    };
    for (before, after) in [
        ("relation \"", "\" does not exist"),
        ("column \"", "\" does not exist"),
        ("near \"", "\": syntax error"),
    ] {
        if let Some(i) = quoted(message, before, after) {
            let rest = &message[i..];
            return rest.split('"').next();
        }
    }
    for prefix in [
        "no such table: ",
        "no such column: ",
        "has no column named ",
    ] {
        if let Some(i) = message.find(prefix) {
            let name = message[i + prefix.len()..].split_whitespace().next()?;
            // `main.trak`, `t.nme`: the last part is what was mistyped.
            return name.rsplit('.').next();
        }
    }
    // PostgreSQL: `column t.nme does not exist`.
    let rest = message.split("column ").nth(1)?;
    let name = rest.strip_suffix(" does not exist")?;
    name.rsplit('.').next()
}

/// The character position of `word` in `sql` as a whole word (outside
/// nothing in particular: the first match), case-insensitively.
fn find_word(sql: &str, word: &str) -> Option<usize> {
    if word.is_empty() {
        return None;
    }
    let lower = sql.to_lowercase();
    let target = word.to_lowercase();
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut from = 0;
    while let Some(i) = lower[from..].find(&target) {
        let i = from + i;
        let before = lower[..i].chars().next_back();
        let after = lower[i + target.len()..].chars().next();
        if !is_word(before) && !is_word(after) {
            return Some(lower[..i].chars().count());
        }
        from = i + target.len();
    }
    None
}

/// Words that start an SQL statement and no Lua or Rhai statement.
const SQL_STARTS: &[&str] = &[
    "select", "insert", "update", "delete", "create", "drop", "alter", "with", "explain", "pragma",
    "vacuum", "truncate", "grant", "revoke", "analyze", "show", "values", "merge", "copy",
    "reindex", "comment",
];

/// Whether `input` reads as SQL: its first word is one that starts an SQL
/// statement (any case), followed by a space, `*` or `(`. Only asked about
/// input that failed to compile as a script.
pub fn looks_like_sql(input: &str) -> bool {
    let t = input.trim_start();
    let word: String = t.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let next = t[word.len()..].chars().next();
    SQL_STARTS.contains(&word.to_ascii_lowercase().as_str())
        && matches!(next, Some(c) if c.is_whitespace() || c == '*' || c == '(')
}

/// The `.sql` line that runs `input` (its lines joined, unless a `--`
/// comment needs them).
pub fn sql_command(input: &str) -> String {
    let body = input.trim().trim_end_matches(';').trim();
    if body.contains("--") {
        return format!(".sql {body}");
    }
    let joined: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    format!(".sql {}", joined.join(" "))
}

/// What a script error says was missing, for a "did you mean".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// A global (Lua) or variable (Rhai) that is not defined.
    Global(String),
    /// A method or field `name` looked up with `sep` (`:` or `.`): the
    /// receiver is the expression before `sep name` in the input.
    Member {
        /// `:` for a Lua method, `.` for a field or a Rhai method.
        sep: char,
        /// The name that was looked up.
        name: String,
    },
    /// A model (`.describe trak`).
    Model(String),
    /// A table the database does not have.
    Table(String),
    /// A column the database does not have.
    Column(String),
    /// A model or column of a model (`no column `nme` on model `track``).
    ModelColumn {
        /// The model's name.
        model: String,
        /// The column asked for.
        column: String,
    },
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let i = text.find(open)? + open.len();
    let j = text[i..].find(close)?;
    Some(&text[i..i + j])
}

/// What is missing according to an error of `kind` with `message`.
pub fn missing(kind: &str, message: &str) -> Option<Missing> {
    match kind {
        "undefined_table" => return named_object(message).map(|n| Missing::Table(n.into())),
        "undefined_column" => return named_object(message).map(|n| Missing::Column(n.into())),
        _ => {}
    }
    if let Some(name) = between(message, "(global '", "')") {
        return Some(Missing::Global(name.into()));
    }
    if let Some(name) = between(message, "(method '", "')") {
        return Some(Missing::Member {
            sep: ':',
            name: name.into(),
        });
    }
    if let Some(name) = between(message, "(field '", "')") {
        return Some(Missing::Member {
            sep: '.',
            name: name.into(),
        });
    }
    // Rhai.
    if let Some(rest) = message.split("Variable not found: ").nth(1) {
        let name = rest.split_whitespace().next()?;
        return Some(Missing::Global(name.into()));
    }
    if let Some(rest) = message.split("Function not found: ").nth(1) {
        let name = rest.split(['(', ' ']).next()?;
        return Some(Missing::Member {
            sep: '.',
            name: name.into(),
        });
    }
    if let Some(name) = between(message, "`", "` is not a model") {
        return Some(Missing::Model(name.into()));
    }
    // "no column `x` on model `M`", "no column, relationship or method `x` ...".
    let column = message
        .split_once("no column")
        .and_then(|(_, rest)| between(rest, "`", "`"));
    if let (Some(column), Some(model)) = (column, between(message, "on model `", "`")) {
        return Some(Missing::ModelColumn {
            model: model.into(),
            column: column.into(),
        });
    }
    None
}

/// A method named without a call at the end of `input` (`db:fetchall`,
/// which Lua reads as an incomplete call: "function arguments expected").
pub fn uncalled_method(kind: &str, message: &str, input: &str) -> Option<Missing> {
    if kind != "syntax" || !message.contains("function arguments expected") {
        return None;
    }
    let t = crate::complete::target(input.trim_end());
    match t.sep {
        Some(':') if !t.receiver.is_empty() && !t.prefix.is_empty() => Some(Missing::Member {
            sep: ':',
            name: t.prefix.to_owned(),
        }),
        _ => None,
    }
}

/// The receiver of `sep name` in `input`: the expression just before its
/// last occurrence (`db` in `db:fetchall("...")`), for completing its
/// members.
pub fn receiver<'a>(input: &'a str, sep: char, name: &str) -> Option<&'a str> {
    let needle = format!("{sep}{name}");
    let at = input.rfind(&needle)?;
    let head = &input[..at];
    let start = crate::complete::chain_start(head);
    let r = head[start..].trim();
    (!r.is_empty()).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carets_point_at_the_character() {
        assert_eq!(
            caret_lines("SELECT * FROM trak", 14),
            ["LINE 1: SELECT * FROM trak", "                      ^"]
        );
        assert_eq!(
            caret_lines("SELECT *\nFROM trak", 14),
            ["LINE 2: FROM trak", "             ^"]
        );
    }

    #[test]
    fn finds_the_named_object() {
        assert_eq!(
            named_object("postgresql error 42P01: relation \"trak\" does not exist"),
            Some("trak")
        );
        assert_eq!(
            named_object("sqlite error 1: no such table: main.trak"),
            Some("trak")
        );
        assert_eq!(named_object("no such column: nme"), Some("nme"));
        assert_eq!(named_object("column t.nme does not exist"), Some("nme"));
        assert_eq!(named_object("near \"FRM\": syntax error"), Some("FRM"));
        assert_eq!(find_word("SELECT * FROM trak", "trak"), Some(14));
        assert_eq!(find_word("SELECT trakx, trak FROM t", "trak"), Some(14));
    }

    #[test]
    fn tells_sql_from_script() {
        assert!(looks_like_sql("SELECT * FROM track"));
        assert!(looks_like_sql("select count(*) from t"));
        assert!(looks_like_sql("delete from t"));
        assert!(!looks_like_sql("selection = 1"));
        assert!(!looks_like_sql("update_all()"));
        assert_eq!(
            sql_command("SELECT *\n  FROM track;"),
            ".sql SELECT * FROM track"
        );
    }

    #[test]
    fn reads_what_is_missing() {
        assert_eq!(
            missing(
                "runtime",
                "stdin:1: attempt to index a nil value (global 'trak')"
            ),
            Some(Missing::Global("trak".into()))
        );
        assert_eq!(
            missing(
                "runtime",
                "stdin:1: attempt to call a nil value (method 'fetchall')"
            ),
            Some(Missing::Member {
                sep: ':',
                name: "fetchall".into()
            })
        );
        assert_eq!(
            missing("runtime", "Variable not found: trak (line 1, position 1)"),
            Some(Missing::Global("trak".into()))
        );
        assert_eq!(
            missing("undefined_table", "relation \"trak\" does not exist"),
            Some(Missing::Table("trak".into()))
        );
        assert_eq!(
            missing(
                "schema",
                "no column, relationship or method `nme` on model `track`"
            ),
            Some(Missing::ModelColumn {
                model: "track".into(),
                column: "nme".into()
            })
        );
        assert_eq!(
            receiver("x = db:fetchall('a')", ':', "fetchall"),
            Some("db")
        );
        assert_eq!(
            receiver("db:query(track):wher(1)", ':', "wher"),
            Some("db:query(track)")
        );
    }
}
