//! Raw SQL from scripts: `execute`, `fetch_all`, `fetch_one`, `fetch_optional`,
//! `stream` (one statement each) and `execute_script(sql)` (several), registered once for every object that can run statements (the
//! database and its transactions) through the [`Executor`] trait.
//!
//! Each takes `(sql)`, `(sql, params)` or `(sql, params, #{ types: #{ col: "type" } })`;
//! placeholders are `$1, $2, ...` on every backend.

use dbridge_engine::{Error, Row, Statement};
use futures_util::stream::BoxStream;
use rhai::{Array, Dynamic, Engine, EvalAltResult, INT, ImmutableString, Map, NativeCallContext};

use crate::convert::error::to_rhai;
use crate::convert::script_options::result_types;
use crate::convert::value::{Wanted, params, row_to_map};
use crate::objects::statements::then;
use crate::objects::stream::RowStream;
use crate::runtime::blocker::Blocker;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// Something that runs statements, blocking the calling thread.
pub(crate) trait Executor: Clone + Send + Sync + 'static {
    /// The runtime the statements run on.
    fn blocker(&self) -> &Blocker;
    /// Runs a statement; the number of rows affected.
    fn execute(&self, stmt: Statement) -> Result<u64, Error>;
    /// Runs every statement of a script; the rows affected, summed.
    fn execute_script(&self, sql: &str) -> Result<u64, Error>;
    /// Runs a query; all its rows.
    fn fetch_all(&self, stmt: Statement) -> Result<Vec<Row>, Error>;
    /// Runs a query; its first row, if any.
    fn fetch_optional(&self, stmt: Statement) -> Result<Option<Row>, Error>;
    /// Runs a query; its rows as they are read (the stream owns what it needs).
    fn stream(&self, stmt: Statement) -> Result<BoxStream<'static, Result<Row, Error>>, Error>;
    /// The result column names of `sql`, without running it.
    fn describe_columns(&self, sql: &str) -> Result<Vec<String>, Error>;
}

/// Keeps the header of an empty result of `sql` when the host asked for
/// headers ([`crate::Dbridge::keep_empty_headers`]).
pub(crate) fn note_empty<E: Executor>(e: &E, sql: &str) -> Result<(), Error> {
    let headers = e.blocker().headers();
    if headers.wanted() {
        headers.set(e.describe_columns(sql)?);
    }
    Ok(())
}

/// A statement and the column types its `types` option asks for.
struct Query {
    stmt: Statement,
    wanted: Wanted,
}

fn query(sql: ImmutableString, args: Array, opts: Option<&Map>) -> Res<Query> {
    let wanted = opts.map(result_types).transpose()?.unwrap_or_default();
    Ok(Query {
        stmt: Statement::new(sql.as_str(), params(args)?),
        wanted: wanted.into(),
    })
}

fn execute<E: Executor>(e: &E, q: Query) -> Res<INT> {
    let n = e.execute(q.stmt).map_err(to_rhai)?;
    Ok(INT::try_from(n).unwrap_or(INT::MAX))
}

fn fetch_all<E: Executor>(e: &E, q: Query) -> Res<Array> {
    let sql = q.stmt.sql().to_owned();
    let rows = e.fetch_all(q.stmt).map_err(to_rhai)?;
    if rows.is_empty() {
        note_empty(e, &sql).map_err(to_rhai)?;
    }
    let mut out = Array::with_capacity(rows.len());
    for row in rows {
        out.push(Dynamic::from_map(row_to_map(row, &q.wanted)?));
    }
    Ok(out)
}

fn fetch_one<E: Executor>(e: &E, q: Query) -> Res<Map> {
    match e.fetch_optional(q.stmt).map_err(to_rhai)? {
        Some(row) => row_to_map(row, &q.wanted),
        None => Err(to_rhai(Error::NotFound)),
    }
}

fn fetch_optional<E: Executor>(e: &E, q: Query) -> Res<Dynamic> {
    match e.fetch_optional(q.stmt).map_err(to_rhai)? {
        Some(row) => Ok(Dynamic::from_map(row_to_map(row, &q.wanted)?)),
        None => Ok(Dynamic::UNIT),
    }
}

fn stream<E: Executor>(e: &E, q: Query) -> Res<RowStream> {
    let rows = e.stream(q.stmt).map_err(to_rhai)?;
    Ok(RowStream::new(rows, q.wanted, e.blocker().clone()))
}

/// Registers one raw-SQL function in its three arities.
macro_rules! arities {
    ($engine:ident, $E:ty, $name:literal, $f:ident) => {
        $engine
            .register_fn(
                $name,
                |ctx: NativeCallContext, e: &mut $E, sql: ImmutableString| {
                    then(&ctx, query(sql, Array::new(), None).and_then(|q| $f(e, q)))
                },
            )
            .register_fn(
                $name,
                |ctx: NativeCallContext, e: &mut $E, sql: ImmutableString, args: Array| {
                    then(&ctx, query(sql, args, None).and_then(|q| $f(e, q)))
                },
            )
            .register_fn(
                $name,
                |ctx: NativeCallContext,
                 e: &mut $E,
                 sql: ImmutableString,
                 args: Array,
                 opts: Map| {
                    then(&ctx, query(sql, args, Some(&opts)).and_then(|q| $f(e, q)))
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
    engine.register_fn(
        "execute_script",
        |ctx: NativeCallContext, e: &mut E, sql: ImmutableString| -> Res<INT> {
            let n = then(&ctx, e.execute_script(sql.as_str()).map_err(to_rhai))?;
            Ok(INT::try_from(n).unwrap_or(INT::MAX))
        },
    );
}
