//! Running built statements on a [`Database`] or a [`Transaction`].

use std::future::Future;

use crate::db::{CopyIn, Database, Row, Statement, Transaction};
use crate::dialect::{Compile, Compiled};
use crate::error::{Backend, Error, Result};

use super::{Delete, Insert, Update};

/// Something statements run on: `&Database` (each call on a pooled
/// connection; several statements of one call in a transaction of their own)
/// or `&mut Transaction`.
pub trait Executor: Send {
    /// The backend.
    fn backend(&self) -> Backend;

    /// Runs a statement; returns the rows affected.
    fn execute_statement(&mut self, stmt: &Statement) -> impl Future<Output = Result<u64>> + Send;

    /// Runs a statement and collects its rows.
    fn fetch_all_statement(
        &mut self,
        stmt: Statement,
    ) -> impl Future<Output = Result<Vec<Row>>> + Send;

    /// Runs several statements all or nothing; returns the total rows affected
    /// and, when `fetch` is set, every returned row.
    fn run_all(
        &mut self,
        stmts: Vec<Statement>,
        fetch: bool,
    ) -> impl Future<Output = Result<(u64, Vec<Row>)>> + Send;

    /// Loads rows through `COPY ... FROM STDIN` (PostgreSQL); returns the rows
    /// loaded, or `None` when a column of the table has a type that binary COPY
    /// cannot be written for here (the caller then runs INSERT statements).
    fn copy_in(&mut self, copy: &CopyIn<'_>) -> impl Future<Output = Result<Option<u64>>> + Send;
}

async fn run_on(
    tx: &mut Transaction,
    stmts: Vec<Statement>,
    fetch: bool,
) -> Result<(u64, Vec<Row>)> {
    let mut n = 0;
    let mut rows = Vec::new();
    for s in stmts {
        if fetch {
            let r = tx.fetch_all_statement(s).await?;
            n += r.len() as u64;
            rows.extend(r);
        } else {
            n += tx.execute_statement(&s).await?;
        }
    }
    Ok((n, rows))
}

impl Executor for &Database {
    fn backend(&self) -> Backend {
        Database::backend(self)
    }

    async fn execute_statement(&mut self, stmt: &Statement) -> Result<u64> {
        Database::execute_statement(self, stmt).await
    }

    async fn fetch_all_statement(&mut self, stmt: Statement) -> Result<Vec<Row>> {
        Database::fetch_all_statement(self, stmt).await
    }

    async fn run_all(&mut self, mut stmts: Vec<Statement>, fetch: bool) -> Result<(u64, Vec<Row>)> {
        if stmts.len() == 1 {
            let s = stmts.remove(0);
            return if fetch {
                let rows = Database::fetch_all_statement(self, s).await?;
                Ok((rows.len() as u64, rows))
            } else {
                Ok((Database::execute_statement(self, &s).await?, Vec::new()))
            };
        }
        let mut tx = self.begin().await?;
        let out = run_on(&mut tx, stmts, fetch).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn copy_in(&mut self, copy: &CopyIn<'_>) -> Result<Option<u64>> {
        Database::copy_in(self, copy).await
    }
}

impl Executor for &mut Transaction {
    fn backend(&self) -> Backend {
        Transaction::backend(self)
    }

    async fn execute_statement(&mut self, stmt: &Statement) -> Result<u64> {
        Transaction::execute_statement(self, stmt).await
    }

    async fn fetch_all_statement(&mut self, stmt: Statement) -> Result<Vec<Row>> {
        Transaction::fetch_all_statement(self, stmt).await
    }

    async fn run_all(&mut self, stmts: Vec<Statement>, fetch: bool) -> Result<(u64, Vec<Row>)> {
        run_on(self, stmts, fetch).await
    }

    async fn copy_in(&mut self, copy: &CopyIn<'_>) -> Result<Option<u64>> {
        Transaction::copy_in(self, copy).await
    }
}

/// Running a compiled statement: `execute` for the affected count, `fetch_*`
/// for rows (SELECT, or RETURNING). Implemented by every statement builder.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dbridge_engine::Result<()> {
/// use dbridge_engine::query::{Insert, Run, Select};
/// use dbridge_engine::schema::{Column, Metadata, Model};
/// use dbridge_engine::{Database, SqlType, Value};
/// let meta = Metadata::new();
/// let user = meta.add(Model::builder("User").table("users")
///     .column(Column::new("id", SqlType::Int8).primary_key())
///     .column(Column::new("name", "text"))
///     .build()?)?;
/// let db = Database::connect("sqlite::memory:").await?;
/// meta.create_all(&db).await?;
/// Insert::into(&user).columns(["name"])?.values(vec!["Ada".into()])?.execute(&db).await?;
/// let rows = Select::from(&user).fetch_all(&db).await?;
/// assert_eq!(rows[0].get("name")?, &Value::from("Ada"));
/// # Ok(()) }
/// ```
pub trait Run {
    /// The statements to run on `backend`, in order.
    ///
    /// # Errors
    /// Compile errors.
    fn statements(&self, backend: Backend) -> Result<Vec<Compiled>>;

    /// Runs the statement(s); returns the rows affected.
    ///
    /// # Errors
    /// Compile and database errors.
    fn execute<E: Executor>(&self, mut ex: E) -> impl Future<Output = Result<u64>> + Send
    where
        Self: Sync,
    {
        async move {
            let stmts = self.statements(ex.backend())?;
            let stmts = stmts.into_iter().map(|c| c.statement).collect();
            Ok(ex.run_all(stmts, false).await?.0)
        }
    }

    /// Runs the statement(s) and collects the rows.
    ///
    /// # Errors
    /// Compile and database errors.
    fn fetch_all<E: Executor>(&self, mut ex: E) -> impl Future<Output = Result<Vec<Row>>> + Send
    where
        Self: Sync,
    {
        async move {
            let stmts = self.statements(ex.backend())?;
            let stmts = stmts.into_iter().map(|c| c.statement).collect();
            Ok(ex.run_all(stmts, true).await?.1)
        }
    }

    /// Runs and returns the only row.
    ///
    /// # Errors
    /// [`Error::NotFound`] for no row, [`Error::MultipleRows`] for several.
    fn fetch_one<E: Executor>(&self, ex: E) -> impl Future<Output = Result<Row>> + Send
    where
        Self: Sync,
    {
        async move {
            let mut rows = self.fetch_all(ex).await?;
            match rows.len() {
                0 => Err(Error::NotFound),
                1 => Ok(rows.remove(0)),
                _ => Err(Error::MultipleRows),
            }
        }
    }

    /// Runs and returns the first row, if any.
    ///
    /// # Errors
    /// Compile and database errors.
    fn fetch_optional<E: Executor>(&self, ex: E) -> impl Future<Output = Result<Option<Row>>> + Send
    where
        Self: Sync,
    {
        async move { Ok(self.fetch_all(ex).await?.into_iter().next()) }
    }
}

macro_rules! run_single {
    ($($t:ty),*) => {$(
        impl Run for $t {
            fn statements(&self, backend: Backend) -> Result<Vec<Compiled>> {
                Ok(vec![self.compile_for(backend)?])
            }
        }
    )*};
}

run_single!(super::Select, super::Compound, super::Query, Update, Delete);

impl Run for Insert {
    fn statements(&self, backend: Backend) -> Result<Vec<Compiled>> {
        self.compile_batches(backend)
    }

    /// Runs the insert; returns the rows inserted. A large insert of plain
    /// values on PostgreSQL loads through binary `COPY` (see
    /// [`Insert::compile_copy`]), else it runs as INSERT statements.
    ///
    /// # Errors
    /// Compile and database errors, of the same kinds either way.
    ///
    /// # Cancel safety
    /// Dropping the future during a COPY leaves its connection unusable: it is
    /// closed instead of returned to the pool, and a transaction it ran in can
    /// only be rolled back (dropped).
    async fn execute<E: Executor>(&self, mut ex: E) -> Result<u64>
    where
        Self: Sync,
    {
        if let Some(copy) = self.compile_copy(ex.backend())?
            && let Some(n) = ex.copy_in(&copy).await?
        {
            return Ok(n);
        }
        let stmts = self.statements(ex.backend())?;
        let stmts = stmts.into_iter().map(|c| c.statement).collect();
        Ok(ex.run_all(stmts, false).await?.0)
    }
}
