//! [`CopyIn`]: a `COPY ... FROM STDIN` and the rows to stream through it.

use std::fmt;
use std::sync::Arc;

use crate::schema::DefaultFactory;
use crate::value::{SqlType, Value};

/// A bulk load ready to run on PostgreSQL: the `COPY "table" ("cols") FROM STDIN
/// (FORMAT binary)` text, the insert's rows (borrowed; converted to the model's
/// column types, client default factories called, as they are encoded) and a
/// probe statement (`INSERT ... VALUES ($1, ...)`, prepared but
/// never run) that tells the table's real column types.
///
/// Built by [`Insert::compile_copy`](crate::query::Insert::compile_copy) and run
/// by [`Run::execute`](crate::query::Run::execute). `Debug` shows the text and
/// the row count, never the values.
#[derive(Clone)]
pub struct CopyIn<'a> {
    pub(crate) sql: Arc<str>,
    pub(crate) probe: Arc<str>,
    /// Each column's model type and the name errors give it: the given
    /// columns, then those filled by `factories`.
    pub(crate) columns: Vec<(SqlType, String)>,
    pub(crate) rows: &'a [Vec<Value>],
    pub(crate) factories: Vec<DefaultFactory>,
}

impl<'a> CopyIn<'a> {
    pub(crate) fn new(
        sql: String,
        probe: String,
        columns: Vec<(SqlType, String)>,
        rows: &'a [Vec<Value>],
        factories: Vec<DefaultFactory>,
    ) -> Self {
        Self {
            sql: sql.into(),
            probe: probe.into(),
            columns,
            rows,
            factories,
        }
    }

    /// The `COPY` statement text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The number of rows to load.
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }
}

impl fmt::Debug for CopyIn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyIn")
            .field("sql", &self.sql)
            .field("rows", &self.rows.len())
            .finish()
    }
}
