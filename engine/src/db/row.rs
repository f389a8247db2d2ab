//! [`Row`]: one result row, with values by column name or position.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::value::Value;

/// The column names of a result, shared by all its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    names: Vec<Arc<str>>,
}

impl Columns {
    pub(crate) fn new(names: Vec<Arc<str>>) -> Self {
        Self { names }
    }

    /// Columns named `names`, in order: the header of a result known without
    /// its rows (see [`Database::describe_columns`](crate::Database::describe_columns)).
    pub fn from_names<S: Into<Arc<str>>>(names: impl IntoIterator<Item = S>) -> Self {
        Self::new(names.into_iter().map(Into::into).collect())
    }

    /// The names in result order.
    pub fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The position of the first column named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| &**n == name)
    }
}

/// A column position or name, for [`Row::get`].
pub trait ColumnIndex: fmt::Debug {
    /// The position this refers to in `columns`, if any.
    fn position(&self, columns: &Columns) -> Option<usize>;
}

impl ColumnIndex for usize {
    fn position(&self, columns: &Columns) -> Option<usize> {
        (*self < columns.len()).then_some(*self)
    }
}

impl ColumnIndex for &str {
    fn position(&self, columns: &Columns) -> Option<usize> {
        columns.index_of(self)
    }
}

/// One row of a result.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dbridge_engine::Result<()> {
/// use dbridge_engine::{Database, Value};
/// let db = Database::connect("sqlite::memory:").await?;
/// let row = db.fetch_one("SELECT 1 AS one, 'x' AS two", &[]).await?;
/// assert_eq!(row.get("one")?, &Value::Int8(1));
/// assert_eq!(row.get(1)?, &Value::Text("x".into()));
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq)]
pub struct Row {
    columns: Arc<Columns>,
    values: Vec<Value>,
}

impl Row {
    pub(crate) fn new(columns: Arc<Columns>, values: Vec<Value>) -> Self {
        Self { columns, values }
    }

    /// The columns of this row's result.
    pub fn columns(&self) -> &Arc<Columns> {
        &self.columns
    }

    /// The values in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Takes the values out, in column order.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of a column by position or name.
    ///
    /// # Errors
    /// [`Error::InvalidState`] naming the column when there is no such column.
    pub fn get<I: ColumnIndex>(&self, index: I) -> Result<&Value> {
        index
            .position(&self.columns)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| Error::InvalidState(format!("no column {index:?} in the row")))
    }

    /// Pairs of column name and value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.columns.names.iter().map(|n| &**n).zip(&self.values)
    }
}

impl fmt::Debug for Row {
    /// Shows the column names only: rows may hold data that must not reach logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Row")
            .field("columns", &self.columns.names)
            .finish_non_exhaustive()
    }
}
