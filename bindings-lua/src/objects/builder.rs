//! [`LuaQuery`]: `db:query(...)` / `s:query(...)`, a generative query builder
//! over the engine's [`Select`] (each call returns a new query), and its
//! terminals (`all`, `first`, `one`, `one_or_none`, `count`, `exists`,
//! `stream`, `sql`).
//!
//! A query of one model returns instances: through the session for
//! `s:query`, and through a short-lived session for `db:query` (the instances
//! come back detached but bound to the database, so that a relationship or a
//! deferred column they have not loaded loads on access, as in ActiveRecord).
//! A query of columns returns row tables.

use std::sync::Arc;

use dbridge_engine::query::{ColumnRef, Expr, LockStrength, Run, Select, TableRef, func, walk};
use dbridge_engine::schema::Model;
use dbridge_engine::session::{Instance, Load, Registry, Session, SessionOptions};
use dbridge_engine::{Backend, ErrorKind, Row, Value};
use futures_util::stream::BoxStream;
use mlua::{Lua, MetaMethod, UserData, UserDataMethods, Value as LuaValue, Variadic};

use crate::convert::error::lua_err;
use crate::convert::error::{LuaDbError, Raw, raw};
use crate::objects::conn::Conn;
use crate::objects::events::StatementEvents;
use crate::objects::events::raw_ev;
use crate::objects::expr::{to_expr, to_item, to_order};
use crate::objects::lock::lock_options;
use crate::objects::model::LuaModel;
use crate::objects::session::{LuaSession, SessionCell, open, settle};

/// Registry key of the query method table (set by orm.lua).
pub(crate) const QUERY_CLASS: &str = "dbridge.Query";

/// Where a query runs.
#[derive(Debug, Clone)]
pub(crate) enum QueryTarget {
    Db(Conn, Registry),
    Session(Arc<SessionCell>),
}

/// A query as a script sees it.
#[derive(Debug, Clone)]
pub(crate) struct LuaQuery {
    pub(crate) select: Select,
    /// The model whose instances it returns (a query of one model).
    pub(crate) entity: Option<Model>,
    /// The models in FROM and JOIN, for joins without an ON.
    models: Vec<Model>,
    /// Loader options (`q:options(...)`), for a query of one model.
    pub(crate) options: Vec<Load>,
    /// `q:with_expression(name, expr)`: read-only attributes of the instances.
    pub(crate) expressions: Vec<(String, Expr)>,
    pub(crate) target: QueryTarget,
    backend: Backend,
    events: Arc<StatementEvents>,
}

impl UserData for LuaQuery {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        crate::runtime::class::add_class_fields(fields, QUERY_CLASS, "dbridge.query");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(
                match dbridge_engine::dialect::compile(&this.select, this.backend) {
                    Ok(s) => format!("dbridge.query({})", s.sql()),
                    Err(e) => format!("dbridge.query(<invalid: {e}>)"),
                },
            )
        });
    }
}

pub(crate) fn query_of(v: &LuaValue, func: &str) -> Result<LuaQuery, LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(q) = ud.borrow::<LuaQuery>()
    {
        return Ok(q.clone());
    }
    Err(LuaDbError::argument(
        func,
        1,
        "a query (call it with `:`)",
        v,
    ))
}

fn lua_model(v: &LuaValue) -> Option<LuaModel> {
    match v {
        LuaValue::UserData(ud) => ud.borrow::<LuaModel>().ok().map(|m| m.clone()),
        _ => None,
    }
}

/// The model columns a select loads as instances (deferred ones left out).
fn entity_columns(m: &Model) -> Vec<Expr> {
    m.all_columns()
        .into_iter()
        .zip(m.columns())
        .filter(|(_, c)| !c.is_deferred())
        .map(|(e, _)| e)
        .collect()
}

/// The first model whose column `e` reads.
fn model_in(e: &Expr) -> Option<Model> {
    let mut found = None;
    walk(e, &mut |x| {
        if found.is_none()
            && let Expr::Column(c) = x
            && let Some(o) = &c.origin
        {
            found = Some(o.model.clone());
        }
    });
    found
}

/// `raw.query(owner, items...)`: `owner` is a database or a session.
pub(crate) fn new(lua: &Lua, (owner, items): (LuaValue, Variadic<LuaValue>)) -> Raw {
    let r = (|| {
        let (target, db, events) = match &owner {
            LuaValue::UserData(ud) if ud.is::<LuaSession>() => {
                let s = ud.borrow::<LuaSession>().map_err(lua_err)?;
                (
                    QueryTarget::Session(s.cell.clone()),
                    s.db.clone(),
                    s.events.clone(),
                )
            }
            LuaValue::UserData(ud) if ud.is::<crate::objects::database::LuaDb>() => {
                let d = ud
                    .borrow::<crate::objects::database::LuaDb>()
                    .map_err(lua_err)?;
                let conn = d.conn()?;
                (
                    QueryTarget::Db(conn.clone(), d.orm.registry.clone()),
                    conn.database().clone(),
                    d.events.clone(),
                )
            }
            other => {
                return Err(LuaDbError::argument(
                    "query",
                    1,
                    "a database or session (call it with `:`)",
                    other,
                ));
            }
        };
        if items.is_empty() {
            return Err(LuaDbError::new(
                ErrorKind::TypeMismatch,
                "`query` needs a model or columns",
            ));
        }
        let mut models: Vec<Model> = Vec::new();
        let (select, entity) = match (items.len(), lua_model(&items[0])) {
            (1, Some(m)) => {
                models.push(m.model.clone());
                // A polymorphic union reads its concrete subclasses' tables too.
                let mut select =
                    Select::from(m.model.query_table()).columns(entity_columns(&m.model));
                // A single-table subclass keeps to its rows.
                if let Some(f) = m.model.identity_filter()? {
                    select = select.filter(f);
                }
                (select, Some(m.model))
            }
            _ => {
                let mut sel = Select::new();
                // FROM the table of the first column (an aliased model's
                // alias included); the others come in through joins.
                let mut from: Option<TableRef> = None;
                for v in items.iter() {
                    if let Some(m) = lua_model(v) {
                        if models.is_empty() {
                            models.push(m.model.clone());
                        }
                        from.get_or_insert_with(|| m.model.table_ref());
                        sel = sel.columns(m.model.all_columns());
                    } else if let Some(t) = aliased_table(v) {
                        from.get_or_insert_with(|| t.clone());
                        sel = sel.columns(t.all_columns());
                    } else {
                        let item = to_item(lua, v)?;
                        if models.is_empty()
                            && let Some(m) = model_in(&item.expr)
                        {
                            models.push(m);
                        }
                        if from.is_none() {
                            from = ColumnRef::first_table_in(&item.expr);
                        }
                        sel = sel.column(item);
                    }
                }
                if let Some(t) = from {
                    sel = sel.and_from(t);
                }
                (sel, None)
            }
        };
        Ok(LuaQuery {
            select,
            entity,
            models,
            options: Vec::new(),
            expressions: Vec::new(),
            target,
            backend: db.backend(),
            events,
        })
    })();
    raw(lua, r)
}

fn count_arg(v: &LuaValue, func: &str) -> Result<u64, LuaDbError> {
    match v {
        LuaValue::Integer(i) if *i >= 0 => Ok(u64::try_from(*i).unwrap_or(0)),
        other => Err(LuaDbError::argument(
            func,
            1,
            "a non-negative integer",
            other,
        )),
    }
}

/// The ON of a join without one: a single-column foreign key between `target`
/// and a model already in the query.
fn infer_on(models: &[Model], target: &Model) -> Result<Expr, LuaDbError> {
    for m in models {
        for (from, to) in [(target, m), (m, target)] {
            for fk in from.foreign_keys() {
                if fk.table == *to.table() && fk.columns.len() == 1 {
                    let col = from.columns()[fk.columns[0]].name().as_str();
                    return Ok(from.col(col)?.eq(to.col(fk.ref_columns[0].as_str())?));
                }
            }
        }
    }
    Err(LuaDbError::new(
        ErrorKind::Schema,
        format!(
            "no foreign key between `{}` and the query's models: give the join an ON expression",
            target.name()
        ),
    ))
}

/// `raw.qb(q, name, args...)`: the builder methods; each returns a new query.
pub(crate) fn build(lua: &Lua, (this, name, args): (LuaValue, String, Variadic<LuaValue>)) -> Raw {
    let r = (|| {
        let mut q = query_of(&this, &name)?;
        let arg = |i: usize| args.get(i).cloned().unwrap_or(LuaValue::Nil);
        let exprs =
            || -> Result<Vec<Expr>, LuaDbError> { args.iter().map(|v| to_expr(lua, v)).collect() };
        if name == "with_expression" {
            if q.entity.is_none() {
                return Err(LuaDbError::new(
                    ErrorKind::InvalidState,
                    "with_expression needs a query of a model (its instances carry the value)",
                ));
            }
            let label = crate::convert::error::name_arg("with_expression", 1, &arg(0))?;
            q.expressions.retain(|(n, _)| *n != label);
            q.expressions.push((label, to_expr(lua, &arg(1))?));
            return Ok(q);
        }
        let s = std::mem::take(&mut q.select);
        q.select = match name.as_str() {
            "where" | "filter" => exprs()?.into_iter().fold(s, Select::filter),
            "filter_by" => {
                let LuaValue::Table(t) = arg(0) else {
                    return Err(LuaDbError::argument(
                        "filter_by",
                        1,
                        "a table { column = value }",
                        &arg(0),
                    ));
                };
                let mut pairs: Vec<(String, LuaValue)> = t
                    .pairs::<String, LuaValue>()
                    .collect::<mlua::Result<_>>()
                    .map_err(|_| {
                        LuaDbError::argument(
                            "filter_by",
                            1,
                            "a table with column names as keys",
                            &arg(0),
                        )
                    })?;
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                let mut s = s;
                for (k, v) in pairs {
                    s = s.filter_by(&k, to_expr(lua, &v)?)?;
                }
                s
            }
            "join" | "outerjoin" if crate::objects::relation::is_relationship(&arg(0)) => {
                let (path, target) =
                    crate::objects::relation::join_path(&q.models, &arg(0), &name)?;
                q.models.push(target);
                path.into_iter().fold(s, |s, (t, on)| {
                    if name == "join" {
                        s.join(t, on)
                    } else {
                        s.left_join(t, on)
                    }
                })
            }
            "select_from" => {
                let t = crate::objects::window::table_of(&arg(0)).ok_or_else(|| {
                    LuaDbError::argument("select_from", 1, "a model or an aliased model", &arg(0))
                })?;
                if let Some(m) = lua_model(&arg(0)) {
                    q.models.insert(0, m.model);
                }
                s.and_from(t)
            }
            "right_join" | "full_join" | "cross_join" => {
                other_join(lua, &mut q.models, s, &name, &args)?
            }
            "union" | "union_all" | "intersect" | "except" => {
                let other = query_of(&arg(0), &name)?;
                // Rows, not instances: the combined query reads a derived table.
                q.entity = None;
                q.options.clear();
                q.models.clear();
                set_op(s, other.select, &name)?
            }
            "distinct_on" => s.distinct_on(exprs()?),
            "for_update" | "for_share" => {
                let strength = if name == "for_update" {
                    LockStrength::Update
                } else {
                    LockStrength::Share
                };
                s.lock(Some(lock_options(strength, &arg(0), &name)?))
            }
            "join" | "outerjoin" if lua_model(&arg(0)).is_none() => {
                let t = aliased_table(&arg(0)).ok_or_else(|| {
                    LuaDbError::argument(
                        &name,
                        1,
                        "a model, an aliased model or a relationship name",
                        &arg(0),
                    )
                })?;
                let on = match arg(1) {
                    LuaValue::Nil => {
                        return Err(LuaDbError::argument(
                            &name,
                            2,
                            "an ON expression (a join to an aliased model needs one)",
                            &LuaValue::Nil,
                        ));
                    }
                    v => to_expr(lua, &v)?,
                };
                if name == "join" {
                    s.join(t, on)
                } else {
                    s.left_join(t, on)
                }
            }
            "join" | "outerjoin" => {
                let m = lua_model(&arg(0)).ok_or_else(|| {
                    LuaDbError::argument(
                        &name,
                        1,
                        "a model, an aliased model or a relationship name",
                        &arg(0),
                    )
                })?;
                let on = match arg(1) {
                    LuaValue::Nil => infer_on(&q.models, &m.model)?,
                    v => to_expr(lua, &v)?,
                };
                q.models.push(m.model.clone());
                if name == "join" {
                    s.join(&m.model, on)
                } else {
                    s.left_join(&m.model, on)
                }
            }
            "group_by" => named_terms(lua, s, &args, Term::Group)?,
            "having" => named_terms(lua, s, &args, Term::Having)?,
            "order_by" => named_terms(lua, s, &args, Term::Order)?,
            "limit" => s.limit(count_arg(&arg(0), "limit")?),
            "offset" => s.offset(count_arg(&arg(0), "offset")?),
            "distinct" => s.distinct(),
            // Reads of a replicated database go to the primary (a no-op
            // elsewhere: a session or a transaction already runs there).
            "on_primary" => {
                if let QueryTarget::Db(Conn::Pool(db), registry) = &q.target {
                    q.target = QueryTarget::Db(Conn::Pool(db.primary()), registry.clone());
                }
                s
            }
            "options" if args.is_empty() => s,
            "options" => {
                if q.entity.is_none() {
                    return Err(LuaDbError::new(
                        ErrorKind::TypeMismatch,
                        "loader options apply to a query of one model (`db:query(Model)`)",
                    ));
                }
                q.options
                    .extend(crate::objects::loader::list(&args, "options")?);
                s
            }
            other => {
                return Err(LuaDbError::new(
                    ErrorKind::InvalidState,
                    format!("unknown query method `{other}`"),
                ));
            }
        };
        Ok(q)
    })();
    raw(lua, r)
}

/// `q:subquery(alias)`: the query as a derived table, `(SELECT ...) AS
/// alias`, to select from or join; its columns are `t.<column or label>`.
pub(crate) fn subquery(lua: &Lua, (this, alias): (LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let q = query_of(&this, "subquery")?;
        let alias = crate::convert::error::name_arg("subquery", 2, &alias)?;
        Ok(crate::objects::window::LuaTable(
            q.select.subquery(&alias)?,
            crate::objects::window::TableKind::Subquery,
        ))
    })();
    raw(lua, r)
}

/// An aliased model (`dbridge.aliased(Model, "m")`) or a derived table
/// (`q:subquery("t")`).
fn aliased_table(v: &LuaValue) -> Option<TableRef> {
    match v {
        LuaValue::UserData(ud) => ud
            .borrow::<crate::objects::window::LuaTable>()
            .ok()
            .map(|t| t.0.clone()),
        _ => None,
    }
}

/// Which clause [`named_terms`] adds to.
#[derive(Clone, Copy)]
enum Term {
    Group,
    Having,
    Order,
}

/// Adds `args` to a GROUP BY, HAVING or ORDER BY: a string is a column or
/// label name of the query (resolved by the engine, never bound), anything
/// else an expression.
fn named_terms(lua: &Lua, s: Select, args: &[LuaValue], term: Term) -> Result<Select, LuaDbError> {
    args.iter().try_fold(s, |s, v| {
        let name = match v {
            LuaValue::String(n) => Some(n.to_string_lossy()),
            _ => None,
        };
        Ok(match (term, name) {
            (Term::Order, Some(n)) => s.order_by_name(&n)?,
            (Term::Order, None) => s.order_by(to_order(lua, v)?),
            (Term::Group, Some(n)) => s.group_by_name(&n)?,
            (Term::Group, None) => s.group_by([to_expr(lua, v)?]),
            (Term::Having, Some(n)) => {
                let cond = s.name_ref(&n)?;
                s.having(cond)
            }
            (Term::Having, None) => s.having(to_expr(lua, v)?),
        })
    })
}

/// `q:sql()`: the SQL the query would run on its database.
/// The compiled statement of a query value (see [`crate::query_statement`]).
pub(crate) fn statement_of(
    v: &LuaValue,
) -> Option<dbridge_engine::Result<dbridge_engine::db::Statement>> {
    let q = query_of(v, "sql").ok()?;
    Some(dbridge_engine::dialect::compile(&q.select, q.backend))
}

pub(crate) fn sql(lua: &Lua, this: LuaValue) -> Raw {
    let r = query_of(&this, "sql").and_then(|q| {
        Ok(dbridge_engine::dialect::compile(&q.select, q.backend)?
            .sql()
            .to_owned())
    });
    raw(lua, r)
}

pub(crate) enum Fetched {
    Instances(Vec<Instance>),
    Rows(Vec<Row>),
}

/// Runs `select` as a query of `entity` (instances, loaded with `options`
/// and the relationships' default strategies) or of columns (rows).
pub(crate) async fn fetch(
    target: &QueryTarget,
    entity: Option<&Model>,
    select: &Select,
    options: &[Load],
    exprs: &[(String, Expr)],
) -> Result<Fetched, LuaDbError> {
    async fn instances(
        s: &mut Session,
        m: &Model,
        select: &Select,
        options: &[Load],
        exprs: &[(String, Expr)],
    ) -> dbridge_engine::Result<Vec<Instance>> {
        let mut q = s
            .query(m)
            .map_select(|_| select.clone())
            .options(options.iter().cloned());
        for (name, e) in exprs {
            q = q.with_expression(name, e.clone())?;
        }
        q.all().await
    }
    Ok(match (target, entity) {
        (QueryTarget::Db(Conn::Pool(db), registry), Some(m)) => {
            // Committed without expiring, then expunged: detached instances
            // that keep their values, bound to the database so that what
            // they have not loaded loads on access.
            let opts = SessionOptions::new()
                .registry(registry)
                .expire_on_commit(false);
            let mut s = Session::with_options(db, opts);
            let found = instances(&mut s, m, select, options, exprs).await?;
            s.commit().await?;
            s.expunge_all_bound();
            Fetched::Instances(found)
        }
        (QueryTarget::Db(Conn::Bound(db, slot), registry), Some(m)) => {
            // The same, in the migration's transaction.
            let mut g = slot.lock()?;
            let tx = g.take().ok_or_else(crate::objects::transaction::finished)?;
            let mut s = Session::borrowing(db, SessionOptions::new().registry(registry));
            s.lend_transaction(tx);
            let found = instances(&mut s, m, select, options, exprs).await;
            *g = s.return_transaction();
            s.expunge_all();
            Fetched::Instances(found?)
        }
        (QueryTarget::Session(cell), Some(m)) => {
            let mut g = cell.lock()?;
            Fetched::Instances(instances(open(&mut g)?, m, select, options, exprs).await?)
        }
        (QueryTarget::Db(conn, _), None) => Fetched::Rows(conn.fetch_all(select).await?),
        (QueryTarget::Session(cell), None) => {
            let mut g = cell.lock()?;
            let tx = crate::objects::session::transaction(open(&mut g)?).await?;
            Fetched::Rows(select.fetch_all(tx).await?)
        }
    })
}

pub(crate) fn to_lua_list(lua: &Lua, f: Fetched) -> Result<LuaValue, LuaDbError> {
    Ok(match f {
        Fetched::Instances(list) => {
            let t = lua
                .create_table_with_capacity(list.len(), 0)
                .map_err(lua_err)?;
            for (i, inst) in list.into_iter().enumerate() {
                t.raw_set(
                    i + 1,
                    crate::objects::instance::wrap(lua, inst).map_err(lua_err)?,
                )
                .map_err(lua_err)?;
            }
            LuaValue::Table(t)
        }
        Fetched::Rows(rows) => {
            LuaValue::Table(crate::convert::value::rows_to_lua(lua, &rows).map_err(lua_err)?)
        }
    })
}

/// The header of a query's empty result: a model's columns as its
/// instances print (the deferred ones left out), or the statement's result
/// columns, described without running it.
async fn header(q: &LuaQuery) -> Result<Vec<String>, LuaDbError> {
    if let Some(m) = &q.entity {
        return Ok(m
            .columns()
            .iter()
            .filter(|c| !c.is_deferred())
            .map(|c| c.name().to_string())
            .collect());
    }
    let stmt = dbridge_engine::dialect::compile(&q.select, q.backend)?;
    match &q.target {
        QueryTarget::Db(conn, _) => conn.describe_columns(stmt.sql()).await,
        QueryTarget::Session(cell) => {
            let mut g = cell.lock()?;
            let s = open(&mut g)?;
            Ok(s.transaction().await?.describe_columns(stmt.sql()).await?)
        }
    }
}

fn first_of(lua: &Lua, f: Fetched) -> Result<(usize, LuaValue), LuaDbError> {
    let list = to_lua_list(lua, f)?;
    let LuaValue::Table(t) = list else {
        return Ok((0, LuaValue::Nil));
    };
    Ok((t.raw_len(), t.raw_get(1).map_err(lua_err)?))
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        other => other.as_i64().is_some_and(|i| i != 0),
    }
}

/// `raw.qrun(q, name)`: `all`, `first`, `one`, `one_or_none`, `count`, `exists`,
/// and `get` for `Model:get`.
pub(crate) async fn run(lua: Lua, (this, name, session): (LuaValue, String, LuaValue)) -> Raw {
    let ev = crate::objects::events::events_of(&this);
    let r = crate::objects::hooks::scoped(session, async {
        let q = query_of(&this, &name)?;
        let entity = q.entity.as_ref();
        match name.as_str() {
            "all" => {
                let found = fetch(&q.target, entity, &q.select, &q.options, &q.expressions).await?;
                let empty = matches!(&found, Fetched::Instances(l) if l.is_empty())
                    || matches!(&found, Fetched::Rows(r) if r.is_empty());
                let list = to_lua_list(&lua, found)?;
                if empty
                    && crate::convert::inspect::keeps_order(&lua)
                    && let LuaValue::Table(t) = &list
                {
                    let names = header(&q).await?;
                    let columns = Arc::new(dbridge_engine::db::Columns::from_names(names));
                    crate::convert::inspect::remember(&lua, t, &columns).map_err(lua_err)?;
                }
                Ok(list)
            }
            "first" => Ok(first_of(
                &lua,
                fetch(
                    &q.target,
                    entity,
                    &q.select.clone().limit_at_most(1),
                    &q.options,
                    &q.expressions,
                )
                .await?,
            )?
            .1),
            "one" | "one_or_none" => {
                let (n, v) = first_of(
                    &lua,
                    fetch(
                        &q.target,
                        entity,
                        &q.select.clone().limit_at_most(2),
                        &q.options,
                        &q.expressions,
                    )
                    .await?,
                )?;
                match n {
                    0 if name == "one" => Err(dbridge_engine::Error::NotFound.into()),
                    0 => Ok(LuaValue::Nil),
                    1 => Ok(v),
                    _ => Err(dbridge_engine::Error::MultipleRows.into()),
                }
            }
            // `Model:get`: the row of the key; a polymorphic union may hold
            // it in several tables, the model's own first (as `s:get`).
            "get" => {
                let Fetched::Instances(found) =
                    fetch(&q.target, entity, &q.select, &q.options, &q.expressions).await?
                else {
                    return Ok(LuaValue::Nil);
                };
                let pick = found.into_iter().min_by_key(|i| {
                    entity
                        .and_then(|m| m.union_position(&i.model()))
                        .unwrap_or(usize::MAX)
                });
                match pick {
                    Some(i) => crate::objects::instance::wrap(&lua, i)
                        .map(LuaValue::UserData)
                        .map_err(lua_err),
                    None => Ok(LuaValue::Nil),
                }
            }
            "count" | "exists" => {
                let agg = if name == "count" {
                    Select::from(q.select.clone().subquery("counted")?)
                        .column(func::count_star().label("n")?)
                } else {
                    Select::new().column(Expr::exists(q.select.clone()).label("n")?)
                };
                let Fetched::Rows(rows) = fetch(&q.target, None, &agg, &[], &[]).await? else {
                    return Ok(LuaValue::Nil);
                };
                let v = rows
                    .first()
                    .and_then(|r| r.values().first().cloned())
                    .unwrap_or(Value::Null);
                Ok(if name == "count" {
                    LuaValue::Integer(v.as_i64().unwrap_or(0))
                } else {
                    LuaValue::Boolean(truthy(&v))
                })
            }
            other => Err(LuaDbError::new(
                ErrorKind::InvalidState,
                format!("unknown query method `{other}`"),
            )),
        }
    })
    .await;
    raw_ev(&lua, r.map_err(settle), ev.as_deref())
}

/// `q:stream()` of a column query: a row stream (the prelude makes it an
/// iterator); rows are read as they are consumed.
pub(crate) async fn stream(lua: Lua, this: LuaValue) -> Raw {
    let ev = crate::objects::events::events_of(&this);
    let r = async {
        let q = query_of(&this, "stream")?;
        let stmt = dbridge_engine::dialect::compile(&q.select, q.backend)?;
        let own_connection = matches!(q.target, QueryTarget::Db(Conn::Pool(_), _));
        let s: BoxStream<'static, dbridge_engine::Result<Row>> = match q.target {
            QueryTarget::Db(Conn::Pool(db), _) => db.fetch_statement(stmt),
            QueryTarget::Db(Conn::Bound(_, slot), _) => {
                crate::objects::query::tx_stream(&slot, stmt)?
            }
            QueryTarget::Session(cell) => crate::objects::query::session_stream(&cell, stmt)?,
        };
        Ok(crate::objects::stream::LuaRowStream::new(
            s,
            crate::convert::value::RowBuilder::with_types(Vec::new()),
            ev.clone(),
            crate::runtime::context::installed_handle(&lua).as_ref(),
            own_connection,
        ))
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}

/// Whether a query returns instances (the prelude streams those from `:all()`).
pub(crate) fn is_entity(lua: &Lua, this: LuaValue) -> Raw {
    raw(lua, query_of(&this, "stream").map(|q| q.entity.is_some()))
}

/// The statement events queue of a query.
pub(crate) fn events(v: &LuaValue) -> Option<Arc<StatementEvents>> {
    match v {
        LuaValue::UserData(ud) => ud.borrow::<LuaQuery>().ok().map(|q| q.events.clone()),
        _ => None,
    }
}

/// The statement a query object (`db:query(User):where(...)`) would run, SQL
/// text and bound parameters for its database's backend; `None` when `value`
/// is not a query.
pub fn query_statement(
    value: &mlua::Value,
) -> Option<dbridge_engine::Result<dbridge_engine::db::Statement>> {
    statement_of(value)
}

/// `q:right_join(t, on)`, `q:full_join(t, on)`, `q:cross_join(t)`: `t` a
/// model or an aliased model, `on` an expression (a cross join has none).
fn other_join(
    lua: &Lua,
    models: &mut Vec<Model>,
    s: Select,
    name: &str,
    args: &[LuaValue],
) -> Result<Select, LuaDbError> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(LuaValue::Nil);
    let t = crate::objects::window::table_of(&arg(0))
        .ok_or_else(|| LuaDbError::argument(name, 1, "a model or an aliased model", &arg(0)))?;
    if let Some(m) = lua_model(&arg(0)) {
        models.push(m.model);
    }
    if name == "cross_join" {
        return Ok(s.cross_join(t));
    }
    let on = match arg(1) {
        LuaValue::Nil => {
            return Err(LuaDbError::argument(
                name,
                2,
                "an ON expression",
                &LuaValue::Nil,
            ));
        }
        v => to_expr(lua, &v)?,
    };
    Ok(if name == "right_join" {
        s.right_join(t, on)
    } else {
        s.full_join(t, on)
    })
}

/// `q:union(other)` (and `union_all`, `intersect`, `except`): a query of the
/// combined rows, `SELECT * FROM (q UNION other) AS "combined"`, to which
/// further steps (`order_by`, `limit`, another set operation) apply.
fn set_op(s: Select, other: Select, name: &str) -> Result<Select, LuaDbError> {
    let compound = match name {
        "union" => s.union(other),
        "union_all" => s.union_all(other),
        "intersect" => s.intersect(other),
        _ => s.except(other),
    };
    let t = dbridge_engine::query::Query::from(compound).subquery("combined")?;
    Ok(Select::from(t.clone()).columns_of(&t))
}
