//! SQL text: where one statement ends, and what a statement's leading keywords
//! make it. The one lexer of the engine: the one-statement rule of every call,
//! [`Database::execute_script`](super::Database::execute_script), the split of
//! `.sql` migrations and the refusal of transaction control inside a
//! transaction all read SQL through it.
//!
//! It knows each backend's lexical rules, because a statement that one backend
//! reads as one and the other as two is exactly what an attacker would write:
//! single-quoted strings (`''` escapes; on PostgreSQL also `E'...'` with
//! backslash escapes), double-quoted names, `--` and `/* */` comments (nested
//! on PostgreSQL only), PostgreSQL's dollar quotes (`$$...$$`, `$tag$...$tag$`),
//! SQLite's `[bracket]` and `` `backtick` `` names, SQLite's
//! `CREATE TRIGGER ... BEGIN ...; ...; END` bodies (which end, as in SQLite's
//! grammar, at the first `END` that starts a body command) and PostgreSQL's
//! `CREATE FUNCTION ... BEGIN ATOMIC ... END` bodies.
//!
//! One pass over the bytes, no allocation; a text without `;` is one statement
//! without being lexed at all.

use crate::error::{Backend, Error, Result};

/// The statements of `sql` (trimmed; empty ones and lone comments left out).
pub(crate) fn split(sql: &str, backend: Backend) -> Statements<'_> {
    Statements {
        sql,
        pos: 0,
        backend,
    }
}

/// The statements of a text, in order.
pub(crate) struct Statements<'a> {
    sql: &'a str,
    pos: usize,
    backend: Backend,
}

impl<'a> Iterator for Statements<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.sql.as_bytes();
        while self.pos < b.len() {
            let start = self.pos;
            let end = statement_end(b, start, self.backend);
            self.pos = end + 1;
            let text = self.sql.get(start..end).unwrap_or_default();
            if has_code(text.as_bytes(), self.backend) {
                return Some(text.trim());
            }
        }
        None
    }
}

/// The one statement of `sql` (which may end with `;`, whitespace and
/// comments). An empty text passes as is.
///
/// # Errors
/// [`Error::InvalidValue`] when `sql` holds more than one statement.
pub(crate) fn single(sql: &str, backend: Backend) -> Result<&str> {
    if memchr::memchr(b';', sql.as_bytes()).is_none() {
        return Ok(sql);
    }
    let mut it = split(sql, backend);
    let first = it.next().unwrap_or(sql);
    if it.next().is_some() {
        return Err(Error::invalid_value(
            "statement",
            "the SQL text holds more than one statement; run one statement per call, \
             or several with execute_script",
        ));
    }
    Ok(first)
}

/// Refuses a statement that would end, open or leave the transaction it runs
/// in (`COMMIT`, `ROLLBACK`, `SAVEPOINT`, `ATTACH`, a `PRAGMA` that changes
/// transactional behaviour...), naming `owner` (what owns the transaction).
/// Looks at the first statement of `sql` only: the one-statement rule
/// refuses any other.
///
/// # Errors
/// [`Error::InvalidState`] for such a statement.
pub(crate) fn refuse_transaction_control(sql: &str, backend: Backend, owner: &str) -> Result<()> {
    match transaction_control(sql, backend) {
        None => Ok(()),
        Some(what) => Err(Error::InvalidState(format!(
            "`{what}` is refused inside {owner}: it would end or escape the transaction, \
             which only its owner may end (use the transaction and savepoint functions)"
        ))),
    }
}

/// What in `sql` (PostgreSQL) needs a session of its own, which PgBouncer's
/// transaction pooling does not keep: `LISTEN`, session `SET`/`RESET`,
/// `PREPARE`, `DISCARD`, temporary tables, session advisory locks.
pub(crate) fn session_state(sql: &str) -> Option<&'static str> {
    let backend = Backend::Postgres;
    let b = sql.as_bytes();
    let (s, e) = bare_word(b, skip_trivia(b, 0, backend, true))?;
    let first = &b[s..e];
    let second = || bare_word(b, skip_trivia(b, e, backend, false)).map(|(s2, e2)| &b[s2..e2]);
    let is = |w: &[u8], k: &str| w.eq_ignore_ascii_case(k.as_bytes());
    let statement = match () {
        _ if is(first, "LISTEN") || is(first, "UNLISTEN") => Some("LISTEN"),
        _ if is(first, "SET") => match second() {
            Some(w) if is(w, "LOCAL") || is(w, "TRANSACTION") || is(w, "CONSTRAINTS") => None,
            _ => Some("a session SET (use SET LOCAL)"),
        },
        _ if is(first, "RESET") || is(first, "DISCARD") => Some("RESET/DISCARD"),
        _ if is(first, "PREPARE") || is(first, "DEALLOCATE") => Some("PREPARE"),
        _ if is(first, "CREATE")
            && second().is_some_and(|w| is(w, "TEMP") || is(w, "TEMPORARY")) =>
        {
            Some("a temporary table")
        }
        _ => None,
    };
    statement.or_else(|| session_advisory_lock(sql))
}

/// A session-level advisory lock function named anywhere in `sql`'s code
/// (not in its literals or comments).
fn session_advisory_lock(sql: &str) -> Option<&'static str> {
    const SESSION_LOCKS: [&str; 7] = [
        "pg_advisory_lock",
        "pg_advisory_lock_shared",
        "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared",
        "pg_advisory_unlock",
        "pg_advisory_unlock_shared",
        "pg_advisory_unlock_all",
    ];
    words(sql.as_bytes(), Backend::Postgres)
        .any(|w| {
            SESSION_LOCKS
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k.as_bytes()))
        })
        .then_some("a session advisory lock (use pg_advisory_xact_lock)")
}

/// Whether PostgreSQL text only reads: it starts with `SELECT`, `VALUES`,
/// `TABLE` or `SHOW` (and has no `INTO`: `SELECT ... INTO t` creates a
/// table), or with `WITH` and has no data-modifying keyword in its code.
/// Conservative: what it cannot tell from a write counts as a write.
pub(crate) fn is_read_only(sql: &str) -> bool {
    let mut words = words(sql.as_bytes(), Backend::Postgres);
    let Some(first) = words.next() else {
        return false;
    };
    let is = |w: &[u8], k: &str| w.eq_ignore_ascii_case(k.as_bytes());
    let writes: &[&str] = if ["SELECT", "VALUES", "TABLE", "SHOW"]
        .iter()
        .any(|k| is(first, k))
    {
        &["INTO"]
    } else if is(first, "WITH") {
        &["INSERT", "UPDATE", "DELETE", "MERGE", "INTO"]
    } else {
        return false;
    };
    !words.any(|w| writes.iter().any(|k| is(w, k)))
}

/// The words of `b`'s code, and the names it double-quotes, in order:
/// string literals (dollar-quoted and `E'...'` ones too) and comments skipped.
fn words(b: &[u8], backend: Backend) -> impl Iterator<Item = &[u8]> {
    let pg = backend == Backend::Postgres;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            let c = b[i];
            match c {
                b'-' if b.get(i + 1) == Some(&b'-') => i = skip_line_comment(b, i),
                b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block_comment(b, i, backend),
                c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                    let e = word_end(b, i, backend);
                    let w = &b[i..e];
                    i = if pg && b.get(e) == Some(&b'\'') && w.eq_ignore_ascii_case(b"E") {
                        skip_escape_string(b, e)
                    } else {
                        e
                    };
                    return Some(w);
                }
                b'"' => {
                    let e = skip_quoted(b, i, c);
                    let name = &b[i + 1..e.saturating_sub(1).max(i + 1)];
                    i = e;
                    return Some(name);
                }
                b'\'' | b'`' => i = skip_quoted(b, i, c),
                b'[' if !pg => i = skip_bracket(b, i),
                b'$' if pg => i = skip_dollar(b, i),
                _ => i += 1,
            }
        }
        None
    })
}

/// The transaction-control statement `sql` starts with, if it is one.
pub(crate) fn transaction_control(sql: &str, backend: Backend) -> Option<String> {
    let b = sql.as_bytes();
    let (s, e) = bare_word(b, skip_trivia(b, 0, backend, true))?;
    let first = &b[s..e];
    const ALWAYS: [&str; 10] = [
        "BEGIN",
        "COMMIT",
        "END",
        "ROLLBACK",
        "ABORT",
        "SAVEPOINT",
        "RELEASE",
        "VACUUM",
        "ATTACH",
        "DETACH",
    ];
    if let Some(k) = ALWAYS
        .iter()
        .find(|k| first.eq_ignore_ascii_case(k.as_bytes()))
    {
        return Some((*k).to_owned());
    }
    let second = || bare_word(b, skip_trivia(b, e, backend, false)).map(|(s2, e2)| &b[s2..e2]);
    if first.eq_ignore_ascii_case(b"START") {
        return Some("START TRANSACTION".to_owned());
    }
    if first.eq_ignore_ascii_case(b"PREPARE")
        && second().is_some_and(|w| w.eq_ignore_ascii_case(b"TRANSACTION"))
    {
        return Some("PREPARE TRANSACTION".to_owned());
    }
    if first.eq_ignore_ascii_case(b"PRAGMA") {
        return pragma(b, e, backend);
    }
    or_rollback(b, e, first, backend)
}

/// SQLite's `INSERT OR ROLLBACK` / `UPDATE OR ROLLBACK`, which end the
/// transaction on a conflict.
fn or_rollback(b: &[u8], e: usize, first: &[u8], backend: Backend) -> Option<String> {
    let verb = ["INSERT", "UPDATE"]
        .into_iter()
        .find(|k| first.eq_ignore_ascii_case(k.as_bytes()))?;
    let (s2, e2) = bare_word(b, skip_trivia(b, e, backend, false))?;
    let (s3, e3) = bare_word(b, skip_trivia(b, e2, backend, false))?;
    (b[s2..e2].eq_ignore_ascii_case(b"OR") && b[s3..e3].eq_ignore_ascii_case(b"ROLLBACK"))
        .then(|| format!("{verb} OR ROLLBACK"))
}

/// PRAGMAs that change how transactions behave (or, for `wal_checkpoint`,
/// act outside them): refused when set (or, for `wal_checkpoint`, run).
const PRAGMAS: [&str; 11] = [
    "journal_mode",
    "locking_mode",
    "query_only",
    "read_uncommitted",
    "foreign_keys",
    "defer_foreign_keys",
    "writable_schema",
    "schema_version",
    "ignore_check_constraints",
    "synchronous",
    "wal_checkpoint",
];

/// `PRAGMA [schema.]name [= value | (value)]` after the keyword at `i`.
fn pragma(b: &[u8], i: usize, backend: Backend) -> Option<String> {
    let (mut s, mut e, mut i) = name_at(b, skip_trivia(b, i, backend, false))?;
    let j = skip_trivia(b, i, backend, false);
    if b.get(j) == Some(&b'.') {
        (s, e, i) = name_at(b, skip_trivia(b, j + 1, backend, false))?;
    }
    let name = &b[s..e];
    let pragma = PRAGMAS
        .iter()
        .find(|p| name.eq_ignore_ascii_case(p.as_bytes()))?;
    let next = b.get(skip_trivia(b, i, backend, false)).copied();
    let sets = matches!(next, Some(b'=' | b'('));
    (sets || *pragma == "wal_checkpoint").then(|| format!("PRAGMA {pragma}"))
}

/// A bare or quoted name at `i`: its text's bounds (quotes excluded) and
/// where it ends.
fn name_at(b: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    match b.get(i)? {
        q @ (b'"' | b'\'' | b'`') => {
            let end = skip_quoted(b, i, *q);
            Some((i + 1, end.saturating_sub(1).max(i + 1), end))
        }
        b'[' => {
            let end = skip_bracket(b, i);
            Some((i + 1, end.saturating_sub(1).max(i + 1), end))
        }
        _ => bare_word(b, i).map(|(s, e)| (s, e, e)),
    }
}

/// The bounds of the unquoted word at `i`, if one starts there.
fn bare_word(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let c = *b.get(i)?;
    if !(c.is_ascii_alphabetic() || c == b'_' || c >= 0x80) {
        return None;
    }
    Some((i, word_end(b, i, Backend::Sqlite)))
}

/// Where the word starting at `i` ends (PostgreSQL names may hold `$`).
fn word_end(b: &[u8], mut i: usize, backend: Backend) -> usize {
    while let Some(&c) = b.get(i) {
        let more = c.is_ascii_alphanumeric()
            || c == b'_'
            || c >= 0x80
            || (c == b'$' && backend == Backend::Postgres);
        if !more {
            break;
        }
        i += 1;
    }
    i
}

/// Skips whitespace and comments (and, when `semicolons`, empty statements).
fn skip_trivia(b: &[u8], mut i: usize, backend: Backend, semicolons: bool) -> usize {
    loop {
        match b.get(i) {
            Some(c) if c.is_ascii_whitespace() => i += 1,
            Some(b';') if semicolons => i += 1,
            Some(b'-') if b.get(i + 1) == Some(&b'-') => i = skip_line_comment(b, i),
            Some(b'/') if b.get(i + 1) == Some(&b'*') => i = skip_block_comment(b, i, backend),
            _ => return i,
        }
    }
}

/// Whether `b` holds anything but whitespace and comments.
fn has_code(b: &[u8], backend: Backend) -> bool {
    let i = skip_trivia(b, 0, backend, false);
    i < b.len()
}

fn skip_line_comment(b: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |p| i + p + 1)
}

/// Skips `/* ... */` at `i`; nested on PostgreSQL, not on SQLite.
fn skip_block_comment(b: &[u8], mut i: usize, backend: Backend) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            if depth == 0 || backend == Backend::Postgres {
                depth += 1;
            }
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// Skips a literal or name quoted with `q` at `i` (a doubled `q` escapes it).
fn skip_quoted(b: &[u8], mut i: usize, q: u8) -> usize {
    i += 1;
    while let Some(p) = memchr::memchr(q, &b[i.min(b.len())..]) {
        let at = i + p;
        if b.get(at + 1) == Some(&q) {
            i = at + 2;
        } else {
            return at + 1;
        }
    }
    b.len()
}

/// Skips PostgreSQL's `E'...'` body at `i` (the quote): backslash escapes too.
fn skip_escape_string(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Skips SQLite's `[name]` at `i` (no escapes inside).
fn skip_bracket(b: &[u8], i: usize) -> usize {
    memchr::memchr(b']', &b[i..]).map_or(b.len(), |p| i + p + 1)
}

/// Skips a PostgreSQL dollar quote at `i` (`$$...$$`, `$tag$...$tag$`), or
/// just the `$` of a parameter.
fn skip_dollar(b: &[u8], i: usize) -> usize {
    let tag_end = word_end(b, i + 1, Backend::Sqlite);
    let starts_ok = b.get(i + 1).is_none_or(|c| !c.is_ascii_digit());
    if b.get(tag_end) != Some(&b'$') || !starts_ok {
        return i + 1;
    }
    let tag = &b[i..=tag_end];
    let body = tag_end + 1;
    memchr::memmem::find(&b[body..], tag).map_or(b.len(), |p| body + p + tag.len())
}

/// A statement whose `;`s do not all end it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    None,
    /// SQLite's `CREATE TRIGGER`: before its body, in it (at the start of a
    /// command or not), or past its `END`.
    TriggerHead,
    TriggerBody {
        at_command: bool,
    },
    TriggerDone,
    /// PostgreSQL's `CREATE FUNCTION|PROCEDURE`: `BEGIN`/`CASE` ... `END` depth.
    Atomic(usize),
}

/// What the leading keywords of the statement at `i` make it.
fn block_of(b: &[u8], i: usize, backend: Backend) -> Block {
    let word =
        |i: usize| bare_word(b, skip_trivia(b, i, backend, false)).map(|(s, e)| (&b[s..e], e));
    let is = |w: &[u8], k: &str| w.eq_ignore_ascii_case(k.as_bytes());
    let Some((w, e)) = word(i) else {
        return Block::None;
    };
    if !is(w, "CREATE") {
        return Block::None;
    }
    let Some((mut w, mut e)) = word(e) else {
        return Block::None;
    };
    if is(w, "TEMP") || is(w, "TEMPORARY") {
        let Some(next) = word(e) else {
            return Block::None;
        };
        (w, e) = next;
    }
    if is(w, "TRIGGER") {
        return Block::TriggerHead;
    }
    if backend != Backend::Postgres {
        return Block::None;
    }
    if is(w, "OR")
        && let Some((_, e2)) = word(e)
        && let Some(next) = word(e2)
    {
        w = next.0;
    }
    if is(w, "FUNCTION") || is(w, "PROCEDURE") {
        Block::Atomic(0)
    } else {
        Block::None
    }
}

impl Block {
    /// Updates the state for the word `w`.
    fn word(&mut self, w: &[u8]) {
        let is = |k: &str| w.eq_ignore_ascii_case(k.as_bytes());
        *self = match *self {
            Self::TriggerHead if is("BEGIN") => Self::TriggerBody { at_command: true },
            Self::TriggerBody { at_command: true } if is("END") => Self::TriggerDone,
            Self::TriggerBody { .. } => Self::TriggerBody { at_command: false },
            Self::Atomic(d) if is("BEGIN") || is("CASE") => Self::Atomic(d + 1),
            Self::Atomic(d) if is("END") => Self::Atomic(d.saturating_sub(1)),
            other => other,
        };
    }

    /// Any other token.
    fn token(&mut self) {
        if let Self::TriggerBody { .. } = self {
            *self = Self::TriggerBody { at_command: false };
        }
    }

    /// A `;`: whether it ends the statement.
    fn semicolon(&mut self) -> bool {
        match self {
            Self::TriggerBody { .. } => {
                *self = Self::TriggerBody { at_command: true };
                false
            }
            Self::Atomic(d) => *d == 0,
            _ => true,
        }
    }
}

/// Where the statement starting at `start` ends: its `;` or the end of `b`.
fn statement_end(b: &[u8], start: usize, backend: Backend) -> usize {
    let pg = backend == Backend::Postgres;
    let mut block = block_of(b, start, backend);
    let mut i = start;
    while i < b.len() {
        let c = b[i];
        i = match c {
            b';' => {
                if block.semicolon() {
                    return i;
                }
                i + 1
            }
            c if c.is_ascii_whitespace() => i + 1,
            b'-' if b.get(i + 1) == Some(&b'-') => skip_line_comment(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => skip_block_comment(b, i, backend),
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                let e = word_end(b, i, backend);
                let w = &b[i..e];
                if block != Block::None {
                    block.word(w);
                }
                if pg && b.get(e) == Some(&b'\'') && w.eq_ignore_ascii_case(b"E") {
                    skip_escape_string(b, e)
                } else {
                    e
                }
            }
            _ => {
                block.token();
                match c {
                    b'\'' | b'"' => skip_quoted(b, i, c),
                    b'`' => skip_quoted(b, i, c),
                    b'[' if !pg => skip_bracket(b, i),
                    b'$' if pg => skip_dollar(b, i),
                    _ => i + 1,
                }
            }
        };
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

    fn parts(sql: &str, backend: Backend) -> Vec<&str> {
        split(sql, backend).collect()
    }

    fn control(sql: &str) -> Option<String> {
        transaction_control(sql, Backend::Sqlite)
    }

    #[test]
    fn session_state_is_found_in_code_not_in_literals() {
        assert!(session_state("SELECT pg_advisory_lock(1)").is_some());
        assert!(session_state("SELECT \"pg_try_advisory_lock\"(1)").is_some());
        assert!(session_state("SELECT pg_advisory_xact_lock(1)").is_none());
        for sql in [
            "INSERT INTO log VALUES ('called pg_advisory_lock(1)')",
            "INSERT INTO log VALUES (E'pg_advisory_unlock_all \\' x')",
            "SELECT $$pg_advisory_lock$$ AS t",
            "SELECT 1 -- pg_advisory_lock",
            "SELECT /* pg_advisory_lock */ 1",
        ] {
            assert_eq!(session_state(sql), None, "{sql}");
        }
    }

    #[test]
    fn reads_are_told_from_writes() {
        assert!(is_read_only("SELECT 1"));
        assert!(is_read_only(
            "  -- a comment\n /* another */ select * from t"
        ));
        assert!(is_read_only("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(is_read_only("VALUES (1), (2)"));
        assert!(is_read_only("SELECT 'insert into' AS t"));
        assert!(!is_read_only("INSERT INTO t VALUES (1)"));
        assert!(!is_read_only("SELECT 1 INTO new_table"));
        assert!(!is_read_only(
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"
        ));
        assert!(!is_read_only("UPDATE t SET n = 1"));
        assert!(!is_read_only(""));
        assert!(!is_read_only("-- only a comment"));
    }

    #[test]
    fn one_statement_passes_with_trailing_semicolon_and_comments() {
        for be in BOTH {
            for sql in [
                "SELECT 1",
                "SELECT 1;",
                "  SELECT 1 ;  \n",
                "SELECT 1; -- done",
                "SELECT 1; /* done */ ;;",
                "-- first\nSELECT 1",
                ";SELECT 1",
                "",
            ] {
                assert!(single(sql, be).is_ok(), "{sql:?} on {be}");
            }
        }
        assert_eq!(
            single("SELECT 1; -- x", Backend::Sqlite).unwrap(),
            "SELECT 1"
        );
    }

    #[test]
    fn two_statements_are_refused() {
        for be in BOTH {
            for sql in [
                "SELECT 1; DELETE FROM victims",
                "SELECT 1;DELETE FROM victims;",
                "SELECT ';'; DELETE FROM victims",
                "SELECT \";\"; DELETE FROM victims",
                "SELECT 1 -- ;\n; DELETE FROM victims",
                "SELECT 1 /* ; */; DELETE FROM victims",
                "select 1;\n\n  delete from victims -- bye",
            ] {
                let e = single(sql, be).unwrap_err();
                assert_eq!(e.kind(), crate::ErrorKind::InvalidValue, "{sql:?}");
                assert!(e.to_string().contains("execute_script"));
            }
        }
    }

    #[test]
    fn semicolons_inside_literals_names_and_comments_do_not_split() {
        for be in BOTH {
            for sql in [
                "SELECT 'a;b'",
                "SELECT 'it''s; fine'",
                "SELECT \"we;ird\" FROM t",
                "SELECT \"a\"\"b;\" FROM t",
                "SELECT 1 -- a; b\n",
                "SELECT 1 /* a; b */",
                "INSERT INTO t VALUES ('COMMIT; DELETE FROM victims')",
            ] {
                assert_eq!(parts(sql, be).len(), 1, "{sql:?} on {be}");
            }
        }
    }

    #[test]
    fn postgres_dollar_quotes_escape_strings_and_nested_comments() {
        let pg = Backend::Postgres;
        for sql in [
            "SELECT $$a; b$$",
            "SELECT $tag$ a; $$ b; $tag$",
            "DO $body$ BEGIN COMMIT; END $body$",
            "SELECT E'it\\'s; fine'",
            "SELECT e'\\\\'",
            "SELECT 1 /* outer /* inner; */ still; */",
            "SELECT a$b FROM t WHERE x = $1",
        ] {
            assert_eq!(parts(sql, pg).len(), 1, "{sql:?}");
        }
        assert_eq!(parts("SELECT $1; SELECT $2", pg).len(), 2);
        assert_eq!(parts("SELECT E'\\\\'; SELECT 2", pg).len(), 2);
    }

    #[test]
    fn sqlite_reads_what_sqlite_reads() {
        let lite = Backend::Sqlite;
        // SQLite has no backslash escapes: `E` is a name (a table alias) there.
        let sql = "SELECT * FROM E'\\'; DELETE FROM victims; --'";
        assert_eq!(parts(sql, lite).len(), 2);
        assert!(single(sql, lite).is_err());
        // Comments do not nest in SQLite.
        let sql = "SELECT 1 /* /* */; DELETE FROM victims; /* */";
        assert!(single(sql, lite).is_err());
        // No dollar quotes in SQLite ($name is a parameter).
        let sql = "SELECT $a$; DELETE FROM victims; $a$";
        assert!(single(sql, lite).is_err());
        // Brackets and backticks quote names.
        for sql in ["SELECT [a;b] FROM t", "SELECT `a;b` FROM t"] {
            assert_eq!(parts(sql, lite).len(), 1, "{sql:?}");
        }
    }

    #[test]
    fn a_sqlite_trigger_is_one_statement() {
        let t = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN \
                 UPDATE t SET n = CASE WHEN n > 0 THEN 1 ELSE 0 END; \
                 INSERT INTO log VALUES (1); END";
        for be in BOTH {
            assert_eq!(parts(t, be), [t], "{be}");
            assert_eq!(parts(&format!("{t}; SELECT 1"), be).len(), 2);
            assert!(single(&format!("{t};"), be).is_ok());
        }
        let temp = "create temp trigger tr after delete on t begin delete from u; end";
        assert_eq!(parts(temp, Backend::Sqlite).len(), 1);
    }

    #[test]
    fn a_trigger_body_ends_at_its_first_command_starting_end() {
        // `begin` as a column name must not keep the body open past its END.
        let sql = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT begin FROM x; END; \
                   DELETE FROM victims";
        assert!(single(sql, Backend::Sqlite).is_err());
        // A trigger named `begin`.
        let sql = "CREATE TRIGGER begin AFTER INSERT ON t BEGIN DELETE FROM x; END; \
                   DELETE FROM victims";
        assert!(single(sql, Backend::Sqlite).is_err());
        // Columns named `trigger` or `begin` in a CREATE TABLE start no body.
        let sql = "CREATE TABLE t (trigger INT, begin INT); DELETE FROM victims";
        assert!(single(sql, Backend::Sqlite).is_err());
    }

    #[test]
    fn a_postgres_atomic_function_body_is_one_statement() {
        let f = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql \
                 BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END";
        assert_eq!(parts(f, Backend::Postgres), [f]);
        assert_eq!(parts(&format!("{f}; SELECT 3"), Backend::Postgres).len(), 2);
    }

    #[test]
    fn transaction_control_is_recognised_whatever_its_case_and_prefix() {
        for (sql, what) in [
            ("COMMIT", "COMMIT"),
            ("commit;", "COMMIT"),
            ("  -- hi\n /* x */ Rollback", "ROLLBACK"),
            ("ROLLBACK TO SAVEPOINT a", "ROLLBACK"),
            ("END", "END"),
            ("end transaction", "END"),
            ("BEGIN", "BEGIN"),
            ("begin immediate", "BEGIN"),
            ("START TRANSACTION", "START TRANSACTION"),
            ("ABORT", "ABORT"),
            ("SAVEPOINT s", "SAVEPOINT"),
            ("RELEASE s", "RELEASE"),
            ("PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION"),
            ("COMMIT PREPARED 'x'", "COMMIT"),
            ("VACUUM", "VACUUM"),
            ("ATTACH DATABASE 'x.db' AS x", "ATTACH"),
            ("detach x", "DETACH"),
            (";;COMMIT", "COMMIT"),
            ("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode"),
            ("pragma main.locking_mode=EXCLUSIVE", "PRAGMA locking_mode"),
            ("PRAGMA \"query_only\" = 0", "PRAGMA query_only"),
            ("PRAGMA foreign_keys(0)", "PRAGMA foreign_keys"),
            ("PRAGMA wal_checkpoint", "PRAGMA wal_checkpoint"),
            ("PRAGMA writable_schema = 1", "PRAGMA writable_schema"),
            ("INSERT OR ROLLBACK INTO t VALUES (1)", "INSERT OR ROLLBACK"),
            ("update or rollback t set n = 1", "UPDATE OR ROLLBACK"),
        ] {
            assert_eq!(control(sql).as_deref(), Some(what), "{sql:?}");
        }
    }

    #[test]
    fn ordinary_statements_are_not_transaction_control() {
        for sql in [
            "SELECT 'COMMIT'",
            "-- COMMIT\nSELECT 1",
            "/* ROLLBACK */ SELECT 1",
            "SELECT begin, \"end\" FROM t",
            "INSERT INTO t VALUES ('BEGIN')",
            "\"COMMIT\"",
            "PREPARE q AS SELECT 1",
            "PRAGMA foreign_keys",
            "PRAGMA journal_mode",
            "PRAGMA table_info(t)",
            "PRAGMA foreign_key_check",
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM u; END",
            "UPDATE t SET n = 1",
            "INSERT OR REPLACE INTO t VALUES (1)",
            "committed",
            "",
        ] {
            assert_eq!(control(sql), None, "{sql:?}");
        }
        assert!(refuse_transaction_control("SELECT 1", Backend::Postgres, "a sandbox").is_ok());
        let e = refuse_transaction_control("COMMIT", Backend::Postgres, "a sandbox").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidState);
        assert!(e.to_string().contains("a sandbox"));
    }
}
