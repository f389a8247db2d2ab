//! Writes without a session: `Model:insert(rows)`, `Model:upsert(rows, opts)`
//! (run at once), and [`LuaWrite`], the `Model:update(values)` /
//! `Model:delete()` statements (`:where`, `:filter_by`, `:returning`, then
//! `:execute()` or `:all()`).

use std::sync::Arc;

use dbridge_engine::query::{Delete, Insert, OnConflict, SelectItem, Update};
use dbridge_engine::schema::Model;
use dbridge_engine::{ErrorKind, Row, Value};
use mlua::{Lua, Table, UserData, Value as LuaValue, Variadic};

use crate::convert::error::lua_err;
use crate::convert::error::{LuaDbError, Raw, raw};
use crate::convert::value::from_lua;
use crate::objects::conn::Conn;
use crate::objects::events::StatementEvents;
use crate::objects::events::raw_ev;
use crate::objects::expr::{to_expr, to_item};
use crate::objects::model::model_of;

/// Registry key of the write statement method table (set by orm.lua).
pub(crate) const WRITE_CLASS: &str = "dbridge.Write";

#[derive(Debug, Clone)]
enum Stmt {
    Update(Update),
    Delete(Delete),
}

/// An UPDATE or DELETE being built.
#[derive(Debug, Clone)]
pub(crate) struct LuaWrite {
    stmt: Stmt,
    model: Model,
    conn: Conn,
    pub(crate) events: Arc<StatementEvents>,
    returning: bool,
}

impl UserData for LuaWrite {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        fields.add_meta_field_with("__index", |lua| {
            lua.named_registry_value::<LuaValue>(WRITE_CLASS)
        });
        fields.add_meta_field("__name", "dbridge.statement");
    }
}

fn write_of(v: &LuaValue, func: &str) -> Result<LuaWrite, LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(w) = ud.borrow::<LuaWrite>()
    {
        return Ok(w.clone());
    }
    Err(LuaDbError::argument(
        func,
        1,
        "an update or delete statement (call it with `:`)",
        v,
    ))
}

/// Column values of a table, in the model's column order.
fn values(model: &Model, t: &Table, func: &str) -> Result<Vec<(String, LuaValue)>, LuaDbError> {
    // Each key is looked up as the model looks names up (its NFKC form too),
    // and its value kept under that column: a key spelt `ｎａｍｅ` sets `name`,
    // never silently nothing.
    let mut found: Vec<Option<LuaValue>> = vec![None; model.columns().len()];
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair.map_err(lua_err)?;
        let index = match &k {
            LuaValue::String(s) => model.column_index(&s.to_string_lossy()).ok(),
            _ => None,
        };
        let Some(index) = index else {
            let k = match &k {
                LuaValue::String(s) => s.to_string_lossy(),
                other => format!("a {} key", other.type_name()),
            };
            return Err(LuaDbError::new(
                ErrorKind::Schema,
                format!("{func}: no column `{k}` on model `{}`", model.name()),
            ));
        };
        if found[index].replace(v).is_some() {
            return Err(LuaDbError::new(
                ErrorKind::Schema,
                format!(
                    "{func}: column `{}` of model `{}` is set twice (under two spellings)",
                    model.columns()[index].name().as_str(),
                    model.name()
                ),
            ));
        }
    }
    Ok(model
        .columns()
        .iter()
        .zip(found)
        .filter_map(|(c, v)| v.map(|v| (c.name().as_str().to_owned(), v)))
        .collect())
}

/// An INSERT of `rows` (an array of tables that all set the same columns).
fn insert(lua: &Lua, model: &Model, rows: &LuaValue, func: &str) -> Result<Insert, LuaDbError> {
    let LuaValue::Table(rows) = rows else {
        return Err(LuaDbError::argument(
            func,
            1,
            "an array of row tables",
            rows,
        ));
    };
    let mut columns: Option<Vec<String>> = None;
    let mut data: Vec<Vec<Value>> = Vec::with_capacity(rows.raw_len());
    for (i, row) in rows.sequence_values::<Table>().enumerate() {
        let row = row.map_err(|_| {
            LuaDbError::argument(
                func,
                1,
                "an array of row tables",
                &LuaValue::Table(rows.clone()),
            )
        })?;
        let vals = values(model, &row, func)?;
        let names: Vec<String> = vals.iter().map(|(k, _)| k.clone()).collect();
        match &columns {
            None => columns = Some(names),
            Some(c) if *c != names => {
                return Err(LuaDbError::new(
                    ErrorKind::InvalidValue,
                    format!(
                        "{func}: row {} sets columns ({}) but row 1 sets ({}); every row must set the same columns (use dbridge.null for NULL)",
                        i + 1,
                        names.join(", "),
                        c.join(", ")
                    ),
                ));
            }
            Some(_) => {}
        }
        data.push(
            vals.into_iter()
                .enumerate()
                .map(|(j, (_, v))| from_lua(lua, v, j + 1))
                .collect::<Result<_, _>>()?,
        );
    }
    let columns = columns.unwrap_or_default();
    Ok(Insert::into(model).columns(columns)?.rows(data)?)
}

fn names(v: &LuaValue, what: &str) -> Result<Vec<String>, LuaDbError> {
    match v {
        LuaValue::Nil => Ok(Vec::new()),
        LuaValue::String(s) => Ok(vec![s.to_string_lossy()]),
        LuaValue::Table(t) => t
            .sequence_values::<String>()
            .collect::<mlua::Result<_>>()
            .map_err(|_| {
                LuaDbError::new(
                    ErrorKind::TypeMismatch,
                    format!("`{what}` must be an array of column names"),
                )
            }),
        _ => Err(LuaDbError::new(
            ErrorKind::TypeMismatch,
            format!("`{what}` must be an array of column names"),
        )),
    }
}

/// `returning = { "id", User.name, ... }`: columns by name or expressions.
fn returning(
    lua: &Lua,
    model: &Model,
    v: &LuaValue,
) -> Result<Option<Vec<SelectItem>>, LuaDbError> {
    let items: Vec<LuaValue> = match v {
        LuaValue::Nil => return Ok(None),
        LuaValue::Table(t) => t
            .sequence_values::<LuaValue>()
            .collect::<mlua::Result<_>>()
            .map_err(lua_err)?,
        other => vec![other.clone()],
    };
    items
        .iter()
        .map(|x| match x {
            LuaValue::String(s) => Ok(SelectItem::from(model.col(&s.to_string_lossy())?)),
            other => to_item(lua, other),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

async fn run_insert(
    conn: &Conn,
    ins: &Insert,
    rows: bool,
) -> Result<Result<Vec<Row>, u64>, LuaDbError> {
    Ok(if rows {
        Ok(conn.fetch_all(ins).await?)
    } else {
        Err(conn.execute(ins).await?)
    })
}

fn results(lua: &Lua, r: Result<Vec<Row>, u64>) -> Result<LuaValue, LuaDbError> {
    Ok(match r {
        Ok(rows) => {
            LuaValue::Table(crate::convert::value::rows_to_lua(lua, &rows).map_err(lua_err)?)
        }
        Err(n) => LuaValue::Integer(i64::try_from(n).unwrap_or(i64::MAX)),
    })
}

/// `Model:insert(rows [, { returning = {...}, copy = false }])` and
/// `Model:upsert(rows, { conflict = {...}, update = {...} | { col = value }, returning = {...} })`.
pub(crate) async fn insert_rows(
    lua: Lua,
    (this, rows, opts, upsert): (LuaValue, LuaValue, LuaValue, bool),
) -> Raw {
    let ev = crate::objects::events::events_of(&this);
    let func = if upsert { "upsert" } else { "insert" };
    let r = async {
        let m = model_of(&this, func, 1)?;
        let mut ins = insert(&lua, &m.model, &rows, func)?;
        let opts = match &opts {
            LuaValue::Nil => None,
            LuaValue::Table(t) => Some(t.clone()),
            other => return Err(LuaDbError::argument(func, 2, "a table of options", other)),
        };
        let get = |k: &str| -> Result<LuaValue, LuaDbError> {
            opts.as_ref()
                .map_or(Ok(LuaValue::Nil), |t| t.get(k).map_err(lua_err))
        };
        if upsert {
            let conflict = names(&get("conflict")?, "conflict")?;
            let conflict = if conflict.is_empty() {
                m.model
                    .primary_key()
                    .iter()
                    .map(|&i| m.model.columns()[i].name().as_str().to_owned())
                    .collect()
            } else {
                conflict
            };
            let mut oc = OnConflict::columns(conflict);
            match get("update")? {
                LuaValue::Nil => oc = oc.do_nothing(),
                LuaValue::Table(t)
                    if t.raw_len() > 0 || t.pairs::<LuaValue, LuaValue>().next().is_none() =>
                {
                    let cols = names(&LuaValue::Table(t), "update")?;
                    oc = if cols.is_empty() {
                        oc.do_nothing()
                    } else {
                        oc.do_update(cols)
                    };
                }
                LuaValue::Table(t) => {
                    for (k, v) in values(&m.model, &t, "upsert")? {
                        oc = oc.set(k, to_expr(&lua, &v)?);
                    }
                }
                other => {
                    return Err(LuaDbError::argument(
                        "upsert",
                        2,
                        "`update` as an array of column names or a table of values",
                        &other,
                    ));
                }
            }
            ins = ins.on_conflict(oc)?;
        }
        match get("copy")? {
            LuaValue::Nil => {}
            LuaValue::Boolean(on) => ins = ins.copy(on),
            other => return Err(LuaDbError::argument(func, 2, "`copy` as a boolean", &other)),
        }
        let ret = returning(&lua, &m.model, &get("returning")?)?;
        let want_rows = ret.is_some();
        if let Some(items) = ret {
            ins = ins.returning(items);
        }
        let out = run_insert(&m.conn, &ins, want_rows).await?;
        results(&lua, out)
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}

/// `Model:update(values)` / `Model:delete()`: a statement to refine and run.
pub(crate) fn new(lua: &Lua, (this, values_v, delete): (LuaValue, LuaValue, bool)) -> Raw {
    let r = (|| {
        let m = model_of(&this, if delete { "delete" } else { "update" }, 1)?;
        let stmt = if delete {
            Stmt::Delete(Delete::from(&m.model))
        } else {
            let LuaValue::Table(t) = &values_v else {
                return Err(LuaDbError::argument(
                    "update",
                    1,
                    "a table { column = value or expression }",
                    &values_v,
                ));
            };
            let mut u = Update::table(&m.model);
            for (k, v) in values(&m.model, t, "update")? {
                u = u.set(&k, to_expr(lua, &v)?)?;
            }
            Stmt::Update(u)
        };
        // A single-table subclass's statement keeps to its rows.
        let stmt = match (m.model.identity_filter()?, stmt) {
            (Some(f), Stmt::Delete(d)) => Stmt::Delete(d.filter(f)),
            (Some(f), Stmt::Update(u)) => Stmt::Update(u.filter(f)),
            (_, stmt) => stmt,
        };
        Ok(LuaWrite {
            stmt,
            model: m.model,
            conn: m.conn,
            events: m.events,
            returning: false,
        })
    })();
    raw(lua, r)
}

/// `raw.wb(w, name, args...)`: `where`, `filter_by`, `returning`; each returns a new statement.
pub(crate) fn build(lua: &Lua, (this, name, args): (LuaValue, String, Variadic<LuaValue>)) -> Raw {
    let r = (|| {
        let mut w = write_of(&this, &name)?;
        match name.as_str() {
            "where" | "filter" => {
                for v in args.iter() {
                    let e = to_expr(lua, v)?;
                    w.stmt = match w.stmt {
                        Stmt::Update(u) => Stmt::Update(u.filter(e)),
                        Stmt::Delete(d) => Stmt::Delete(d.filter(e)),
                    };
                }
            }
            "filter_by" => {
                let Some(LuaValue::Table(t)) = args.first() else {
                    return Err(LuaDbError::argument(
                        "filter_by",
                        1,
                        "a table { column = value }",
                        &LuaValue::Nil,
                    ));
                };
                for (k, v) in values(&w.model, t, "filter_by")? {
                    let e = to_expr(lua, &v)?;
                    w.stmt = match w.stmt {
                        Stmt::Update(u) => Stmt::Update(u.filter_by(&k, e)?),
                        Stmt::Delete(d) => Stmt::Delete(d.filter_by(&k, e)?),
                    };
                }
            }
            "returning" => {
                let list = LuaValue::Table(
                    lua.create_sequence_from(args.iter().cloned())
                        .map_err(lua_err)?,
                );
                let items = returning(lua, &w.model, &list)?.unwrap_or_default();
                w.stmt = match w.stmt {
                    Stmt::Update(u) => Stmt::Update(u.returning(items)),
                    Stmt::Delete(d) => Stmt::Delete(d.returning(items)),
                };
                w.returning = true;
            }
            other => {
                return Err(LuaDbError::new(
                    ErrorKind::InvalidState,
                    format!("unknown statement method `{other}`"),
                ));
            }
        }
        Ok(w)
    })();
    raw(lua, r)
}

/// `raw.wrun(w, name)`: `execute` (rows affected), `all` (the RETURNING rows), `sql`.
pub(crate) async fn run(lua: Lua, (this, name): (LuaValue, String)) -> Raw {
    let ev = crate::objects::events::events_of(&this);
    let r = async {
        let w = write_of(&this, &name)?;
        match name.as_str() {
            "sql" => {
                let c = match &w.stmt {
                    Stmt::Update(u) => dbridge_engine::dialect::compile(u, w.conn.backend())?,
                    Stmt::Delete(d) => dbridge_engine::dialect::compile(d, w.conn.backend())?,
                };
                Ok(LuaValue::String(
                    lua.create_string(c.sql()).map_err(lua_err)?,
                ))
            }
            "execute" => {
                let n = match &w.stmt {
                    Stmt::Update(u) => w.conn.execute(u).await?,
                    Stmt::Delete(d) => w.conn.execute(d).await?,
                };
                results(&lua, Err(n))
            }
            "all" => {
                if !w.returning {
                    return Err(LuaDbError::new(
                        ErrorKind::InvalidState,
                        "`all` needs `:returning(...)` first; use `:execute()` for the count",
                    ));
                }
                let rows = match &w.stmt {
                    Stmt::Update(u) => w.conn.fetch_all(u).await?,
                    Stmt::Delete(d) => w.conn.fetch_all(d).await?,
                };
                results(&lua, Ok(rows))
            }
            other => Err(LuaDbError::new(
                ErrorKind::InvalidState,
                format!("unknown statement method `{other}`"),
            )),
        }
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}
