//! [`Statement`]: SQL text with its bound parameters, ready to run.

use std::fmt;
use std::sync::Arc;

use crate::value::{SqlType, Value};

/// SQL text, its parameters (`$1`, `$2`... on every backend) and, optionally,
/// the types its result columns should be read as.
///
/// Result types matter on SQLite, whose cells carry only a storage class: a
/// `timestamptz` stored as text comes back as a timestamp only when asked for.
/// On PostgreSQL the server reports every column's type and the hint is unused.
///
/// `Debug` shows the text and the number of parameters, never their values.
#[derive(Clone)]
pub struct Statement {
    pub(crate) sql: Arc<str>,
    pub(crate) params: Vec<Value>,
    pub(crate) result_types: Option<Arc<[Option<SqlType>]>>,
    /// A transaction-control statement of dbridge's own (`BEGIN`, `COMMIT`,
    /// savepoints): run on PostgreSQL by the simple protocol, never prepared,
    /// so that no named statement exists outside a transaction (PgBouncer).
    pub(crate) control: bool,
}

impl Statement {
    /// A statement from SQL text and parameters.
    pub fn new(sql: impl Into<Arc<str>>, params: Vec<Value>) -> Self {
        Self {
            sql: sql.into(),
            params,
            result_types: None,
            control: false,
        }
    }

    /// One of dbridge's own transaction-control statements (no parameters).
    pub(crate) fn control(sql: impl Into<Arc<str>>) -> Self {
        Self {
            control: true,
            ..Self::new(sql, Vec::new())
        }
    }

    /// Adds a parameter (the next `$n`).
    pub fn bind(mut self, v: impl Into<Value>) -> Self {
        self.params.push(v.into());
        self
    }

    /// Sets the types to read result columns as (`None` for "as stored").
    pub fn with_result_types(mut self, types: impl Into<Arc<[Option<SqlType>]>>) -> Self {
        self.result_types = Some(types.into());
        self
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The parameters.
    pub fn params(&self) -> &[Value] {
        &self.params
    }

    /// Whether the statement only reads: it starts with `SELECT`, `VALUES`,
    /// `TABLE` or `SHOW`, or with `WITH` and names no data-modifying keyword
    /// anywhere. Conservative: a read it cannot tell from a write counts as a
    /// write. Such a statement, run outside a transaction on a connection that
    /// turns out to have died while idle, is run again on a fresh one.
    pub(crate) fn is_read_only(&self) -> bool {
        let mut words = sql_words(&self.sql);
        let Some(first) = words.next() else {
            return false;
        };
        let is = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
        if ["SELECT", "VALUES", "TABLE", "SHOW"]
            .iter()
            .any(|k| is(first, k))
        {
            // `SELECT ... INTO t` creates a table.
            return !sql_words(&self.sql).any(|w| is(w, "INTO"));
        }
        is(first, "WITH")
            && !words.any(|w| {
                ["INSERT", "UPDATE", "DELETE", "MERGE", "INTO"]
                    .iter()
                    .any(|k| is(w, k))
            })
    }

    pub(crate) fn result_type(&self, i: usize) -> Option<&SqlType> {
        self.result_types.as_ref()?.get(i)?.as_ref()
    }
}

/// The bare words of SQL text (runs of letters, digits and `_`), comments
/// skipped. Words inside string literals are included: callers use this only
/// to rule statements out, where a false match is the safe answer.
fn sql_words(sql: &str) -> impl Iterator<Item = &str> {
    let bytes = sql.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let rest = &bytes[i..];
            if rest.starts_with(b"--") {
                i += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            } else if rest.starts_with(b"/*") {
                i += rest
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(rest.len(), |p| p + 2);
            } else if rest[0].is_ascii_alphanumeric() || rest[0] == b'_' {
                let len = rest
                    .iter()
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                    .unwrap_or(rest.len());
                let word = &sql[i..i + len];
                i += len;
                return Some(word);
            } else {
                i += 1;
            }
        }
        None
    })
}

impl fmt::Debug for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Statement")
            .field("sql", &self.sql)
            .field("params", &self.params.len())
            .finish()
    }
}

impl From<&str> for Statement {
    fn from(sql: &str) -> Self {
        Self::new(sql, Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ro(sql: &str) -> bool {
        Statement::from(sql).is_read_only()
    }

    #[test]
    fn reads_are_told_from_writes() {
        assert!(ro("SELECT 1"));
        assert!(ro("  -- a comment\n /* another */ select * from t"));
        assert!(ro("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(ro("VALUES (1), (2)"));
        assert!(!ro("INSERT INTO t VALUES (1)"));
        assert!(!ro("SELECT 1 INTO new_table"));
        assert!(!ro("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"));
        assert!(!ro("UPDATE t SET n = 1"));
        assert!(!ro(""));
        assert!(!ro("-- only a comment"));
    }
}
