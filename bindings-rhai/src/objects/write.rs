//! Writes without a session: `Model.insert(rows [, opts])`,
//! `Model.upsert(rows, #{ conflict, update [, returning] })` (run at once;
//! `update` names the columns to take from the proposed row, or maps columns
//! to expressions using `dbridge::excluded(column)`), and
//! the `Write` builders `Model.update(values)` / `Model.delete()` with
//! `where` / `filter_by` / `returning`, run by `execute()` (the count) or
//! `all()` (the RETURNING rows). `s.execute(write)` runs one in a session's
//! transaction.

use std::fmt;

use dbridge_engine::Row;
use dbridge_engine::dialect::compile;
use dbridge_engine::query::{Delete, Insert, OnConflict, Run, SelectItem, Update};
use dbridge_engine::schema::Model;
use dbridge_engine::session::Session;
use rhai::{Array, Dynamic, Engine, EvalAltResult, INT, Map, NativeCallContext};

use crate::convert::error::{configuration, to_rhai};
use crate::convert::value::{from_dynamic, row_to_map};
use crate::objects::database::Db;
use crate::objects::expr::{expr_of, item_of};
use crate::objects::model::ModelV;
use crate::objects::session::Sess;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// The statement of a [`Write`].
#[derive(Debug, Clone)]
enum Stmt {
    Update(Update),
    Delete(Delete),
}

/// An UPDATE or DELETE being built (Rhai type `Write`).
#[derive(Clone)]
pub struct Write {
    stmt: Stmt,
    model: Model,
    db: Db,
}

impl fmt::Debug for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Write")
            .field("stmt", &self.stmt)
            .finish_non_exhaustive()
    }
}

fn int(n: u64) -> INT {
    INT::try_from(n).unwrap_or(INT::MAX)
}

fn maps(rows: Vec<Row>) -> Res<Array> {
    rows.into_iter()
        .map(|r| row_to_map(r, &[]).map(Dynamic::from_map))
        .collect()
}

/// `returning: true` (every column) or an array of columns / names.
fn returning(model: &Model, spec: &Dynamic) -> Res<Vec<SelectItem>> {
    if let Ok(all) = spec.as_bool() {
        return Ok(if all {
            model.all_columns().into_iter().map(Into::into).collect()
        } else {
            Vec::new()
        });
    }
    let items = spec.clone().into_array().map_err(|t| {
        configuration(format!(
            "`returning` must be true or an array of columns, got {t}"
        ))
    })?;
    items
        .into_iter()
        .map(|d| {
            if d.is_string() {
                let name = d.into_string().unwrap_or_default();
                return model.col(&name).map(Into::into).map_err(to_rhai);
            }
            item_of(d)
        })
        .collect()
}

/// Rows (an array of maps, or one map) as an INSERT: the columns are the
/// keys of the first row; every row must have the same keys.
fn insert_rows(model: &Model, rows: Dynamic) -> Res<Insert> {
    let rows: Array = if rows.is_map() {
        vec![rows]
    } else {
        rows.into_array().map_err(|t| {
            configuration(format!("insert takes a map or an array of maps, got {t}"))
        })?
    };
    let mut columns: Vec<String> = Vec::new();
    let mut values = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        let map = row
            .try_cast::<Map>()
            .ok_or_else(|| configuration(format!("row {} of insert is not a map", i + 1)))?;
        if i == 0 {
            columns = map.keys().map(ToString::to_string).collect();
        } else if map.len() != columns.len()
            || !columns.iter().all(|c| map.contains_key(c.as_str()))
        {
            return Err(configuration(format!(
                "row {} of insert has other columns than the first row",
                i + 1
            )));
        }
        let mut row = Vec::with_capacity(columns.len());
        for (k, v) in map {
            row.push(from_dynamic(v, &format!("column `{k}`"))?);
        }
        values.push(row);
    }
    let ins = Insert::into(model);
    if values.is_empty() {
        return Ok(ins);
    }
    ins.columns(&columns)
        .and_then(|i| i.rows(values))
        .map_err(to_rhai)
}

/// Runs an INSERT on the database: the count, or the RETURNING rows.
fn run_insert(db: &Db, ins: Insert, fetch: bool) -> Res<Dynamic> {
    if fetch {
        let rows = db.fetch_built(&ins).map_err(to_rhai)?;
        Ok(maps(rows)?.into())
    } else {
        let n = db.execute_built(&ins).map_err(to_rhai)?;
        Ok(Dynamic::from_int(int(n)))
    }
}

fn insert(m: &ModelV, rows: Dynamic, opts: &Map) -> Res<Dynamic> {
    let mut ins = insert_rows(&m.model, rows)?;
    let mut fetch = false;
    for (k, v) in opts {
        match k.as_str() {
            "returning" => {
                let items = returning(&m.model, v)?;
                fetch = !items.is_empty();
                ins = ins.returning(items);
            }
            "copy" => {
                let on = v
                    .as_bool()
                    .map_err(|t| configuration(format!("`copy` must be true or false, got {t}")))?;
                ins = ins.copy(on);
            }
            other => return Err(configuration(format!("unknown insert option `{other}`"))),
        }
    }
    run_insert(&m.db, ins, fetch)
}

fn names(key: &str, v: &Dynamic) -> Res<Vec<String>> {
    let items = v
        .clone()
        .into_array()
        .map_err(|t| configuration(format!("`{key}` must be an array of column names, got {t}")))?;
    items
        .into_iter()
        .map(|d| {
            d.into_string()
                .map_err(|t| configuration(format!("`{key}` must hold column names, got {t}")))
        })
        .collect()
}

fn upsert(m: &ModelV, rows: Dynamic, opts: &Map) -> Res<Dynamic> {
    let mut ins = insert_rows(&m.model, rows)?;
    let mut conflict = None;
    let mut update = Vec::new();
    let mut sets = Vec::new();
    let mut fetch = false;
    for (k, v) in opts {
        match k.as_str() {
            "conflict" => conflict = Some(names("conflict", v)?),
            "update" if v.is_map() => {
                for (col, e) in v.read_lock::<Map>().iter().flat_map(|m| m.iter()) {
                    sets.push((
                        col.to_string(),
                        expr_of(e.clone(), &format!("update `{col}`"))?,
                    ));
                }
            }
            "update" => update = names("update", v)?,
            "returning" => {
                let items = returning(&m.model, v)?;
                fetch = !items.is_empty();
                ins = ins.returning(items);
            }
            other => {
                return Err(configuration(format!(
                    "unknown upsert option `{other}` (expected conflict, update, returning)"
                )));
            }
        }
    }
    let conflict = conflict.ok_or_else(|| {
        configuration("upsert needs `conflict`: the columns of a unique or primary key")
    })?;
    let mut oc = OnConflict::columns(conflict);
    if !update.is_empty() {
        oc = oc.do_update(update);
    }
    for (col, e) in sets {
        oc = oc.set(col, e);
    }
    let ins = ins.on_conflict(oc).map_err(to_rhai)?;
    run_insert(&m.db, ins, fetch)
}

impl Write {
    fn map(&self, f: impl FnOnce(Stmt) -> Res<Stmt>) -> Res<Self> {
        Ok(Self {
            stmt: f(self.stmt.clone())?,
            ..self.clone()
        })
    }

    fn filter(&self, cond: Dynamic) -> Res<Self> {
        let cond = expr_of(cond, "a condition")?;
        self.map(|s| {
            Ok(match s {
                Stmt::Update(u) => Stmt::Update(u.filter(cond)),
                Stmt::Delete(d) => Stmt::Delete(d.filter(cond)),
            })
        })
    }

    fn filter_by(&self, values: Map) -> Res<Self> {
        let mut out = self.clone();
        for (k, v) in values {
            let v = expr_of(v, &format!("filter_by `{k}`"))?;
            out.stmt = match out.stmt {
                Stmt::Update(u) => Stmt::Update(u.filter_by(&k, v).map_err(to_rhai)?),
                Stmt::Delete(d) => Stmt::Delete(d.filter_by(&k, v).map_err(to_rhai)?),
            };
        }
        Ok(out)
    }

    fn returning(&self, spec: Dynamic) -> Res<Self> {
        let items = returning(&self.model, &spec)?;
        self.map(|s| {
            Ok(match s {
                Stmt::Update(u) => Stmt::Update(u.returning(items)),
                Stmt::Delete(d) => Stmt::Delete(d.returning(items)),
            })
        })
    }

    /// Runs on the database: the count, or (`fetch`) the RETURNING rows.
    fn run(&self, fetch: bool) -> Res<(u64, Vec<Row>)> {
        let db = &self.db;
        match (&self.stmt, fetch) {
            (Stmt::Update(u), false) => db.execute_built(u).map(|n| (n, Vec::new())),
            (Stmt::Delete(d), false) => db.execute_built(d).map(|n| (n, Vec::new())),
            (Stmt::Update(u), true) => db.fetch_built(u).map(|r| (0, r)),
            (Stmt::Delete(d), true) => db.fetch_built(d).map(|r| (0, r)),
        }
        .map_err(to_rhai)
    }

    /// Runs in a session's transaction (after an autoflush).
    fn run_in(&self, ctx: &NativeCallContext, s: &Sess, fetch: bool) -> Res<(u64, Vec<Row>)> {
        let stmt = self.stmt.clone();
        s.run(ctx, async move |s: &mut Session| {
            if s.autoflush() {
                s.flush().await?;
            }
            let tx = s.transaction().await?;
            match (&stmt, fetch) {
                (Stmt::Update(u), false) => u.execute(tx).await.map(|n| (n, Vec::new())),
                (Stmt::Delete(d), false) => d.execute(tx).await.map(|n| (n, Vec::new())),
                (Stmt::Update(u), true) => u.fetch_all(tx).await.map(|r| (0, r)),
                (Stmt::Delete(d), true) => d.fetch_all(tx).await.map(|r| (0, r)),
            }
        })
    }

    fn sql(&self) -> Res<String> {
        let backend = self.db.database().backend();
        let stmt = match &self.stmt {
            Stmt::Update(u) => compile(u, backend),
            Stmt::Delete(d) => compile(d, backend),
        };
        stmt.map(|s| s.sql().to_owned()).map_err(to_rhai)
    }
}

fn update(m: &ModelV, values: Map) -> Res<Write> {
    if values.is_empty() {
        return Err(configuration("update needs at least one column to set"));
    }
    let mut u = Update::table(&m.model);
    for (k, v) in values {
        let v = expr_of(v, &format!("column `{k}`"))?;
        u = u.set(&k, v).map_err(to_rhai)?;
    }
    // A single-table subclass's statement keeps to its rows.
    if let Some(f) = m.model.identity_filter().map_err(to_rhai)? {
        u = u.filter(f);
    }
    Ok(Write {
        stmt: Stmt::Update(u),
        model: m.model.clone(),
        db: m.db.clone(),
    })
}

/// Registers the writes on `Model`, the `Write` type and `s.execute(write)`.
pub(crate) fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Write>("Write")
        .register_fn("insert", |m: &mut ModelV, rows: Dynamic| {
            insert(m, rows, &Map::new())
        })
        .register_fn("insert", |m: &mut ModelV, rows: Dynamic, opts: Map| {
            insert(m, rows, &opts)
        })
        .register_fn("upsert", |m: &mut ModelV, rows: Dynamic, opts: Map| {
            upsert(m, rows, &opts)
        })
        .register_fn("update", |m: &mut ModelV, values: Map| update(m, values))
        .register_fn("delete", |m: &mut ModelV| {
            let mut d = Delete::from(&m.model);
            // A single-table subclass's statement keeps to its rows.
            if let Ok(Some(f)) = m.model.identity_filter() {
                d = d.filter(f);
            }
            Write {
                stmt: Stmt::Delete(d),
                model: m.model.clone(),
                db: m.db.clone(),
            }
        })
        .register_fn("where", |w: &mut Write, c: Dynamic| w.filter(c))
        .register_fn("where_", |w: &mut Write, c: Dynamic| w.filter(c))
        .register_fn("filter_by", |w: &mut Write, m: Map| w.filter_by(m))
        .register_fn("returning", |w: &mut Write, spec: Dynamic| {
            w.returning(spec)
        })
        .register_fn("execute", |w: &mut Write| -> Res<INT> {
            Ok(int(w.run(false)?.0))
        })
        .register_fn("all", |w: &mut Write| maps(w.run(true)?.1))
        .register_fn("sql", |w: &mut Write| w.sql())
        .register_fn(
            "execute",
            |ctx: NativeCallContext, s: &mut Sess, w: Write| -> Res<INT> {
                Ok(int(w.run_in(&ctx, s, false)?.0))
            },
        )
        .register_fn(
            "fetch_all",
            |ctx: NativeCallContext, s: &mut Sess, w: Write| -> Res<Array> {
                maps(w.run_in(&ctx, s, true)?.1)
            },
        )
        .register_fn("to_string", |w: &mut Write| {
            w.sql().unwrap_or_else(|_| "Write(?)".into())
        });
}
