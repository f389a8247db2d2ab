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

    /// Whether the statement only reads ([`sql_text::is_read_only`]
    /// (super::sql_text::is_read_only), PostgreSQL's lexing). Such a
    /// statement, run outside a transaction on a connection that turns out to
    /// have died while idle, is run again on a fresh one; replicas take only
    /// these.
    pub(crate) fn is_read_only(&self) -> bool {
        super::sql_text::is_read_only(&self.sql)
    }

    pub(crate) fn result_type(&self, i: usize) -> Option<&SqlType> {
        self.result_types.as_ref()?.get(i)?.as_ref()
    }
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
