//! The raw query functions shared by databases and transactions: `execute`,
//! `fetch_all`, `fetch_one`, `fetch_optional`, `stream`, and the transaction
//! verbs (`begin`, `commit`, `rollback`, savepoints).
//!
//! Each takes the database or transaction userdata first and returns its values
//! or `(FAIL, err)` (see [`crate::error`]); the prelude gives them their method
//! names and raises the errors.

use std::sync::Arc;

use dbridge_engine::{Database, Row, Statement, Transaction};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use mlua::{Lua, Value as LuaValue};

use crate::convert::error::{LuaDbError, Raw, lua_err};
use crate::convert::value::{RowBuilder, params, result_types};
use crate::objects::database::LuaDb;
use crate::objects::events::events_of;
use crate::objects::events::raw_ev;
use crate::objects::stream::LuaRowStream;
use crate::objects::transaction::{self, LuaTx, TxSlot, finished};
use crate::runtime::context;

/// What a query runs on.
pub(crate) enum Target {
    Db(Database),
    Tx(Arc<TxSlot>),
    /// A session: statements run in its transaction (after an autoflush).
    Session(Arc<crate::objects::session::SessionCell>),
}

impl Target {
    pub(crate) fn from_lua(v: &LuaValue, func: &str) -> Result<Self, LuaDbError> {
        if let LuaValue::UserData(ud) = v {
            if let Ok(d) = ud.borrow::<LuaDb>() {
                return Ok(match d.conn()? {
                    crate::objects::conn::Conn::Pool(db) => Self::Db(db),
                    crate::objects::conn::Conn::Bound(_, slot) => Self::Tx(slot),
                });
            }
            if let Ok(t) = ud.borrow::<LuaTx>() {
                return Ok(Self::Tx(t.slot.clone()));
            }
            if let Ok(s) = ud.borrow::<crate::objects::session::LuaSession>() {
                return Ok(Self::Session(s.cell.clone()));
            }
        }
        Err(LuaDbError::argument(
            func,
            1,
            "a database, transaction or session (call it with `:`)",
            v,
        ))
    }
}

/// The SQL text and parameters of a call.
fn statement(lua: &Lua, func: &str, sql: LuaValue, p: LuaValue) -> Result<Statement, LuaDbError> {
    let sql = match &sql {
        LuaValue::String(s) => s
            .to_str()
            .map_err(|_| LuaDbError::argument(func, 2, "SQL text in UTF-8", &sql))?
            .to_owned(),
        other => return Err(LuaDbError::argument(func, 2, "the SQL text", other)),
    };
    Ok(Statement::new(sql, params(lua, func, p)?))
}

type Args = (LuaValue, LuaValue, LuaValue);
type QArgs = (LuaValue, LuaValue, LuaValue, LuaValue);

pub(crate) async fn execute(lua: Lua, (this, sql, p): Args) -> Raw {
    let ev = events_of(&this);
    let r = async {
        let target = Target::from_lua(&this, "execute")?;
        let stmt = statement(&lua, "execute", sql, p)?;
        let n = match target {
            Target::Db(db) => db.execute_statement(&stmt).await?,
            Target::Tx(slot) => {
                let mut g = slot.lock()?;
                g.as_mut()
                    .ok_or_else(finished)?
                    .execute_statement(&stmt)
                    .await?
            }
            Target::Session(cell) => {
                let mut g = cell.lock()?;
                let s = crate::objects::session::open(&mut g)?;
                crate::objects::session::transaction(s)
                    .await?
                    .execute_statement(&stmt)
                    .await?
            }
        };
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}

/// `db:execute_script(sql)` (also on transactions and sessions): every
/// statement of `sql`, in order; the rows affected, summed.
pub(crate) async fn execute_script(lua: Lua, (this, sql): (LuaValue, LuaValue)) -> Raw {
    let ev = events_of(&this);
    let r = async {
        let target = Target::from_lua(&this, "execute_script")?;
        let stmt = statement(&lua, "execute_script", sql, LuaValue::Nil)?;
        let sql = stmt.sql();
        let n = match target {
            Target::Db(db) => db.execute_script(sql).await?,
            Target::Tx(slot) => {
                let mut g = slot.lock()?;
                g.as_mut().ok_or_else(finished)?.execute_script(sql).await?
            }
            Target::Session(cell) => {
                let mut g = cell.lock()?;
                let s = crate::objects::session::open(&mut g)?;
                crate::objects::session::transaction(s)
                    .await?
                    .execute_script(sql)
                    .await?
            }
        };
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}

/// The result column names of `sql` on `target`, without running it.
async fn describe(target: &Target, sql: &str) -> Result<Vec<String>, LuaDbError> {
    Ok(match target {
        Target::Db(db) => db.describe_columns(sql).await?,
        Target::Tx(slot) => {
            let mut g = slot.lock()?;
            let tx: &mut Transaction = g.as_mut().ok_or_else(finished)?;
            tx.describe_columns(sql).await?
        }
        Target::Session(cell) => {
            let mut g = cell.lock()?;
            let s = crate::objects::session::open(&mut g)?;
            s.transaction().await?.describe_columns(sql).await?
        }
    })
}

async fn rows(
    target: &Target,
    stmt: Statement,
    limit: Option<usize>,
) -> Result<Vec<Row>, LuaDbError> {
    async fn collect(
        mut s: BoxStream<'_, dbridge_engine::Result<Row>>,
        limit: Option<usize>,
    ) -> Result<Vec<Row>, LuaDbError> {
        let mut out = Vec::new();
        while limit.is_none_or(|l| out.len() < l) {
            match s.next().await {
                Some(row) => out.push(row?),
                None => break,
            }
        }
        Ok(out)
    }
    match target {
        Target::Db(db) => collect(db.fetch_statement(stmt), limit).await,
        Target::Tx(slot) => {
            let mut g = slot.lock()?;
            let tx: &mut Transaction = g.as_mut().ok_or_else(finished)?;
            collect(tx.fetch_statement(stmt), limit).await
        }
        Target::Session(cell) => {
            let mut g = cell.lock()?;
            let tx = crate::objects::session::transaction(crate::objects::session::open(&mut g)?)
                .await?;
            collect(tx.fetch_statement(stmt), limit).await
        }
    }
}

pub(crate) async fn fetch_all(lua: Lua, (this, sql, p, opts): QArgs) -> Raw {
    let ev = events_of(&this);
    let r = async {
        let target = Target::from_lua(&this, "fetch_all")?;
        let stmt = statement(&lua, "fetch_all", sql, p)?;
        let types = result_types(&opts, "fetch_all")?;
        let text = stmt.sql().to_owned();
        let rows = rows(&target, stmt, None).await?;
        if rows.is_empty() && crate::convert::inspect::keeps_order(&lua) {
            let out = lua.create_table().map_err(lua_err)?;
            let names = describe(&target, &text).await?;
            let columns = Arc::new(dbridge_engine::db::Columns::from_names(names));
            crate::convert::inspect::remember(&lua, &out, &columns).map_err(lua_err)?;
            return Ok(out);
        }
        if types.is_empty() {
            return crate::convert::value::rows_to_lua(&lua, &rows).map_err(lua_err);
        }
        let mut b = RowBuilder::with_types(types);
        let out = lua
            .create_table_with_capacity(rows.len(), 0)
            .map_err(lua_err)?;
        for (i, row) in rows.iter().enumerate() {
            out.raw_set(i + 1, b.build(&lua, row)?).map_err(lua_err)?;
        }
        if let Some(first) = rows.first() {
            crate::convert::inspect::remember(&lua, &out, first.columns()).map_err(lua_err)?;
        }
        Ok(out)
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}

async fn first(
    lua: &Lua,
    func: &str,
    (this, sql, p, opts): QArgs,
) -> Result<Option<mlua::Table>, LuaDbError> {
    let target = Target::from_lua(&this, func)?;
    let stmt = statement(lua, func, sql, p)?;
    let mut b = RowBuilder::with_types(result_types(&opts, func)?);
    let rows = rows(&target, stmt, Some(1)).await?;
    match rows.first() {
        Some(row) => {
            let t = b.build(lua, row)?;
            crate::convert::inspect::remember(lua, &t, row.columns()).map_err(lua_err)?;
            Ok(Some(t))
        }
        None => Ok(None),
    }
}

pub(crate) async fn fetch_one(lua: Lua, args: QArgs) -> Raw {
    let ev = events_of(&args.0);
    let r = first(&lua, "fetch_one", args)
        .await
        .and_then(|row| row.ok_or_else(|| dbridge_engine::Error::NotFound.into()));
    raw_ev(&lua, r, ev.as_deref())
}

pub(crate) async fn fetch_optional(lua: Lua, args: QArgs) -> Raw {
    let ev = events_of(&args.0);
    let r = first(&lua, "fetch_optional", args).await;
    raw_ev(&lua, r, ev.as_deref())
}

/// `db:stream(sql, params)` -> a row stream userdata (the prelude makes it an iterator).
pub(crate) async fn stream(lua: Lua, (this, sql, p, opts): QArgs) -> Raw {
    let ev = events_of(&this);
    let r = async {
        let target = Target::from_lua(&this, "stream")?;
        let stmt = statement(&lua, "stream", sql, p)?;
        let builder = RowBuilder::with_types(result_types(&opts, "stream")?);
        let own_connection = matches!(target, Target::Db(_));
        let s: BoxStream<'static, dbridge_engine::Result<Row>> = match target {
            Target::Db(db) => db.fetch_statement(stmt),
            Target::Tx(slot) => tx_stream(&slot, stmt)?,
            Target::Session(cell) => session_stream(&cell, stmt)?,
        };
        Ok(LuaRowStream::new(
            s,
            builder,
            ev.clone(),
            crate::runtime::context::installed_handle(&lua).as_ref(),
            own_connection,
        ))
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}

/// The rows of `stmt` in the transaction of `slot`, read as they are
/// consumed (the transaction is busy until the stream is dropped).
pub(crate) fn tx_stream(
    slot: &TxSlot,
    stmt: Statement,
) -> Result<BoxStream<'static, dbridge_engine::Result<Row>>, LuaDbError> {
    let mut guard = slot.lock()?;
    if guard.is_none() {
        return Err(finished());
    }
    Ok(async_stream::stream! {
        if let Some(tx) = guard.as_mut() {
            let mut rows = tx.fetch_statement(stmt);
            while let Some(row) = rows.next().await {
                yield row;
            }
        }
    }
    .boxed())
}

/// The rows of `stmt` run in the session's transaction (opening the session
/// first), read as they are consumed; shared by `db:stream` on a session and
/// the query builder's `q:stream()`.
pub(crate) fn session_stream(
    cell: &crate::objects::session::SessionCell,
    stmt: Statement,
) -> Result<BoxStream<'static, dbridge_engine::Result<Row>>, LuaDbError> {
    let mut guard = cell.lock()?;
    crate::objects::session::open(&mut guard)?;
    Ok(async_stream::stream! {
        if let Some(s) = guard.as_mut() {
            match crate::objects::session::transaction(s).await {
                Ok(tx) => {
                    let mut rows = tx.fetch_statement(stmt);
                    while let Some(row) = rows.next().await {
                        yield row;
                    }
                }
                Err(e) => yield Err(dbridge_engine::Error::InvalidState(e.message)),
            }
        }
    }
    .boxed())
}

/// `db:begin([opts])`.
pub(crate) async fn begin(lua: Lua, (this, opts): (LuaValue, LuaValue)) -> Raw {
    let ev = events_of(&this);
    let r = async {
        let db = match Target::from_lua(&this, "begin")? {
            Target::Db(db) => db,
            Target::Tx(_) if this.as_userdata().is_some_and(|u| u.is::<LuaDb>()) => {
                return Err(LuaDbError::new(
                    dbridge_engine::ErrorKind::InvalidState,
                    "begin is not available on a migration's db: it runs in the migration's \
                     transaction (use db:session(), or db:savepoint(name) for a part to undo)",
                ));
            }
            Target::Tx(_) | Target::Session(_) => {
                return Err(LuaDbError::argument(
                    "begin",
                    1,
                    "a database (use tx:savepoint for nesting)",
                    &this,
                ));
            }
        };
        let opts = transaction::options(&opts, "begin", 2)?;
        let tx = db.begin_with(opts).await?;
        let backend = tx.backend();
        let slot = Arc::new(TxSlot::new(
            tx,
            crate::runtime::context::installed_handle(&lua).as_ref(),
        ));
        if let Some(ctx) = context::current() {
            ctx.register(slot.clone());
        }
        let events = ev.clone().unwrap_or_default();
        Ok(LuaTx {
            slot,
            backend,
            events,
        })
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}

fn tx_slot(this: &LuaValue, func: &str) -> Result<Arc<TxSlot>, LuaDbError> {
    match Target::from_lua(this, func)? {
        Target::Tx(slot) => Ok(slot),
        _ => Err(LuaDbError::argument(
            func,
            1,
            "a transaction or a migration's db",
            this,
        )),
    }
}

/// `tx:commit()` / `tx:rollback()`.
pub(crate) async fn finish(lua: Lua, (this, commit): (LuaValue, bool)) -> Raw {
    let ev = events_of(&this);
    let func = if commit { "commit" } else { "rollback" };
    let r = async {
        let slot = tx_slot(&this, func)?;
        let tx = slot.lock()?.take().ok_or_else(finished)?;
        if commit {
            tx.commit().await
        } else {
            tx.rollback().await
        }
        .map_err(LuaDbError::from)
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}

/// `tx:savepoint(name)`, `tx:rollback_to(name)`, `tx:release(name)` (`op` 0, 1, 2).
pub(crate) async fn savepoint(lua: Lua, (this, name, op): (LuaValue, LuaValue, u8)) -> Raw {
    let ev = events_of(&this);
    let func = ["savepoint", "rollback_to", "release"][usize::from(op.min(2))];
    let r = async {
        let name = match &name {
            LuaValue::String(s) => s.to_string_lossy(),
            other => return Err(LuaDbError::argument(func, 2, "a savepoint name", other)),
        };
        if let Target::Session(cell) = Target::from_lua(&this, func)? {
            let mut g = cell.lock()?;
            let tx = crate::objects::session::transaction(crate::objects::session::open(&mut g)?)
                .await?;
            return match op {
                0 => tx.savepoint(&name).await,
                1 => tx.rollback_to_savepoint(&name).await,
                _ => tx.release_savepoint(&name).await,
            }
            .map_err(LuaDbError::from);
        }
        let slot = tx_slot(&this, func)?;
        let mut g = slot.lock()?;
        let tx = g.as_mut().ok_or_else(finished)?;
        match op {
            0 => tx.savepoint(&name).await,
            1 => tx.rollback_to_savepoint(&name).await,
            _ => tx.release_savepoint(&name).await,
        }
        .map_err(LuaDbError::from)
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}
