//! `q:paginate{ ... }`: a page of a query. Keyset pagination (`after` /
//! `before` cursors, the engine's [`Keyset`]) by default; offset pagination
//! with a total count beside it when the options give a `page` number.

use dbridge_engine::query::{CursorKey, Keyset, PageRequest, Select, func};
use dbridge_engine::session::Instance;
use dbridge_engine::{Database, ErrorKind, Row, Value};
use mlua::{Lua, Table, Value as LuaValue};

use crate::convert::error::lua_err;
use crate::convert::error::{LuaDbError, Raw};
use crate::objects::builder::{Fetched, LuaQuery, QueryTarget, fetch, query_of, to_lua_list};
use crate::objects::conn::Conn;
use crate::objects::events::raw_ev;
use crate::objects::session::{open, settle};

/// The options of `paginate`.
struct Options {
    request: PageRequest,
    page: Option<u64>,
}

fn bad(reason: String) -> LuaDbError {
    LuaDbError::new(ErrorKind::InvalidValue, format!("paginate: {reason}"))
}

fn options(v: &LuaValue) -> Result<Options, LuaDbError> {
    let LuaValue::Table(t) = v else {
        return Err(LuaDbError::argument(
            "paginate",
            1,
            "a table of options ({ after = cursor, limit = n } or { page = n, limit = n })",
            v,
        ));
    };
    let mut o = Options {
        request: PageRequest {
            limit: 50,
            ..PageRequest::default()
        },
        page: None,
    };
    for pair in t.pairs::<String, LuaValue>() {
        let (k, v) = pair.map_err(|_| bad("option names must be strings".into()))?;
        let cursor = |v: &LuaValue| match v {
            LuaValue::String(s) => Ok(Some(s.to_string_lossy())),
            LuaValue::Nil => Ok(None),
            _ => Err(bad(format!("`{k}` must be a cursor string"))),
        };
        let count = |v: &LuaValue| match v {
            LuaValue::Integer(i) if *i >= 1 => Ok(*i as u64),
            _ => Err(bad(format!("`{k}` must be an integer of at least 1"))),
        };
        match k.as_str() {
            "after" => o.request.after = cursor(&v)?,
            "before" => o.request.before = cursor(&v)?,
            "limit" => o.request.limit = count(&v)?,
            "page" => o.page = Some(count(&v)?),
            other => return Err(bad(format!("unknown option `{other}`"))),
        }
    }
    if o.page.is_some() && (o.request.after.is_some() || o.request.before.is_some()) {
        return Err(bad("give a `page` number or a cursor, not both".into()));
    }
    Ok(o)
}

/// The database a query runs on (for its cursor key).
fn database(q: &LuaQuery) -> Result<Database, LuaDbError> {
    Ok(match &q.target {
        QueryTarget::Db(Conn::Pool(db) | Conn::Bound(db, _), _) => db.clone(),
        QueryTarget::Session(cell) => {
            let mut g = cell.lock()?;
            open(&mut g)?.database().clone()
        }
    })
}

async fn keyset(lua: &Lua, q: LuaQuery, req: PageRequest) -> Result<LuaValue, LuaDbError> {
    let key = CursorKey::of(&database(&q)?);
    let plan = Keyset::plan(&q.select, &req, &key)?;
    // Refused before any SQL when the key cannot be read back.
    match &q.entity {
        Some(m) => drop(plan.instance_columns(m)?),
        None => drop(plan.row_positions()?),
    }
    let fetched = fetch(
        &q.target,
        q.entity.as_ref(),
        plan.select(),
        &q.options,
        &q.expressions,
    )
    .await?;
    let (items, next, prev) = match fetched {
        Fetched::Instances(list) => {
            let cols = plan.instance_columns(q.entity.as_ref().ok_or_else(no_entity)?)?;
            let page = plan.finish(list, |i: &Instance| cols.iter().map(|c| i.get(c)).collect())?;
            (Fetched::Instances(page.items), page.next, page.prev)
        }
        Fetched::Rows(rows) => {
            let pos = plan.row_positions()?;
            let page = plan.finish(rows, |r: &Row| {
                Ok(pos.iter().map(|&p| r.values()[p].clone()).collect())
            })?;
            (Fetched::Rows(page.items), page.next, page.prev)
        }
    };
    let t = lua.create_table().map_err(lua_err)?;
    t.raw_set("items", to_lua_list(lua, items)?)
        .map_err(lua_err)?;
    t.raw_set("next", next).map_err(lua_err)?;
    t.raw_set("prev", prev).map_err(lua_err)?;
    Ok(LuaValue::Table(t))
}

fn no_entity() -> LuaDbError {
    LuaDbError::new(
        ErrorKind::InvalidState,
        "paginate: the query lost its model",
    )
}

async fn offset(lua: &Lua, q: LuaQuery, page: u64, limit: u64) -> Result<LuaValue, LuaDbError> {
    let agg =
        Select::from(q.select.clone().subquery("counted")?).column(func::count_star().label("n")?);
    let total = match fetch(&q.target, None, &agg, &[], &[]).await? {
        Fetched::Rows(rows) => rows
            .first()
            .and_then(|r| r.values().first().and_then(Value::as_i64))
            .unwrap_or(0),
        Fetched::Instances(_) => 0,
    };
    let select = q
        .select
        .clone()
        .limit(limit)
        .offset((page - 1).saturating_mul(limit));
    let items = fetch(
        &q.target,
        q.entity.as_ref(),
        &select,
        &q.options,
        &q.expressions,
    )
    .await?;
    let t: Table = lua.create_table().map_err(lua_err)?;
    t.raw_set("items", to_lua_list(lua, items)?)
        .map_err(lua_err)?;
    t.raw_set("total", total).map_err(lua_err)?;
    t.raw_set("page", page).map_err(lua_err)?;
    t.raw_set("pages", (total.max(0) as u64).div_ceil(limit))
        .map_err(lua_err)?;
    Ok(LuaValue::Table(t))
}

/// `raw.qpage(q, opts, session)`.
pub(crate) async fn paginate(
    lua: Lua,
    (this, opts, session): (LuaValue, LuaValue, LuaValue),
) -> Raw {
    let ev = crate::objects::events::events_of(&this);
    let r = crate::objects::hooks::scoped(session, async {
        let q = query_of(&this, "paginate")?;
        let o = options(&opts)?;
        match o.page {
            Some(page) => offset(&lua, q, page, o.request.limit).await,
            None => keyset(&lua, q, o.request).await,
        }
    })
    .await;
    raw_ev(&lua, r.map_err(settle), ev.as_deref())
}
