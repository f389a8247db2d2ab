//! Raw SQL from scripts: `execute`, `fetch_all`, `fetch_one`, `fetch_optional`
//! and `stream`, registered once for every object that can run statements (the
//! database and its transactions) through the [`Executor`] trait.
//!
//! Each takes `(sql)`, `(sql, params)` or `(sql, params, #{ types: [...] })`;
//! placeholders are `$1, $2, ...` on every backend.

use dbridge_engine::{Error, Row, Statement};
use futures_util::stream::BoxStream;
use rhai::{Array, Dynamic, Engine, EvalAltResult, INT, ImmutableString, Map};

use crate::error::to_rhai;
use crate::runtime::Blocker;
use crate::script_options::result_types;
use crate::stream::RowStream;
use crate::value::{params, row_to_map};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// Something that runs statements, blocking the calling thread.
pub(crate) trait Executor: Clone + Send + Sync + 'static {
    /// The runtime the statements run on.
    fn blocker(&self) -> &Blocker;
    /// Runs a statement; the number of rows affected.
    fn execute(&self, stmt: Statement) -> Result<u64, Error>;
    /// Runs a query; all its rows.
    fn fetch_all(&self, stmt: Statement) -> Result<Vec<Row>, Error>;
    /// Runs a query; its first row, if any.
    fn fetch_optional(&self, stmt: Statement) -> Result<Option<Row>, Error>;
    /// Runs a query; its rows as they are read (the stream owns what it needs).
    fn stream(&self, stmt: Statement) -> Result<BoxStream<'static, Result<Row, Error>>, Error>;
}

fn statement(sql: ImmutableString, args: Array, opts: Option<&Map>) -> Res<Statement> {
    let stmt = Statement::new(sql.as_str(), params(args)?);
    Ok(match opts.map(result_types).transpose()?.flatten() {
        Some(types) => stmt.with_result_types(types),
        None => stmt,
    })
}

fn execute<E: Executor>(e: &E, stmt: Statement) -> Res<INT> {
    let n = e.execute(stmt).map_err(to_rhai)?;
    Ok(INT::try_from(n).unwrap_or(INT::MAX))
}

fn fetch_all<E: Executor>(e: &E, stmt: Statement) -> Res<Array> {
    let rows = e.fetch_all(stmt).map_err(to_rhai)?;
    Ok(rows
        .into_iter()
        .map(|r| Dynamic::from_map(row_to_map(r)))
        .collect())
}

fn fetch_one<E: Executor>(e: &E, stmt: Statement) -> Res<Map> {
    match e.fetch_optional(stmt).map_err(to_rhai)? {
        Some(row) => Ok(row_to_map(row)),
        None => Err(to_rhai(Error::NotFound)),
    }
}

fn fetch_optional<E: Executor>(e: &E, stmt: Statement) -> Res<Dynamic> {
    Ok(e.fetch_optional(stmt)
        .map_err(to_rhai)?
        .map_or(Dynamic::UNIT, |r| Dynamic::from_map(row_to_map(r))))
}

fn stream<E: Executor>(e: &E, stmt: Statement) -> Res<RowStream> {
    let rows = e.stream(stmt).map_err(to_rhai)?;
    Ok(RowStream::new(rows, e.blocker().clone()))
}

/// Registers one raw-SQL function in its three arities.
macro_rules! arities {
    ($engine:ident, $E:ty, $name:literal, $f:ident) => {
        $engine
            .register_fn($name, |e: &mut $E, sql: ImmutableString| {
                $f(e, statement(sql, Array::new(), None)?)
            })
            .register_fn($name, |e: &mut $E, sql: ImmutableString, args: Array| {
                $f(e, statement(sql, args, None)?)
            })
            .register_fn(
                $name,
                |e: &mut $E, sql: ImmutableString, args: Array, opts: Map| {
                    $f(e, statement(sql, args, Some(&opts))?)
                },
            );
    };
}

/// Registers the raw-SQL methods on the script type `E`.
pub(crate) fn register<E: Executor>(engine: &mut Engine) {
    arities!(engine, E, "execute", execute);
    arities!(engine, E, "fetch_all", fetch_all);
    arities!(engine, E, "fetch_one", fetch_one);
    arities!(engine, E, "fetch_optional", fetch_optional);
    arities!(engine, E, "stream", stream);
}
