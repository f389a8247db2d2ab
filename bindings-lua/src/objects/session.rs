//! [`LuaSession`]: an ORM session held by a script (`db:session()`, the `s`
//! of `db:transaction(function(s) ... end)`).
//!
//! The engine [`Session`] sits in a [`SessionCell`]: each call takes it for
//! its duration (a second call
//! meanwhile, e.g. from a listener during a flush, fails at once with
//! `invalid_state` instead of waiting forever). The session owns its
//! connection and is rolled back when the script closes it, when the host call
//! that opened it fails, and at the latest when the collector drops it.

use std::sync::Arc;

use dbridge_engine::schema::Model;
use dbridge_engine::session::{Session, SessionOptions};
use dbridge_engine::{Database, ErrorKind, Transaction, Value};
use mlua::{Lua, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue};

use crate::convert::error::lua_err;
use crate::convert::error::{LuaDbError, Raw, Raw3};
use crate::convert::value::from_lua;
use crate::objects::database::LuaDb;
use crate::objects::events::StatementEvents;
use crate::objects::events::{raw_ev, raw_ev3};
use crate::objects::instance::{instance_of, wrap};
use crate::objects::model::model_of;
pub(crate) use crate::objects::session_cell::SessionCell;
use crate::runtime::context;

/// Registry key of the session method table (set by orm.lua).
pub(crate) const SESSION_CLASS: &str = "dbridge.Session";

/// The session of a locked cell, or `invalid_state` once closed.
pub(crate) fn open(g: &mut Option<Session>) -> Result<&mut Session, LuaDbError> {
    g.as_mut()
        .ok_or_else(|| LuaDbError::new(ErrorKind::InvalidState, "the session is closed"))
}

/// The session's transaction for raw SQL and Core statements, after an
/// autoflush (so that they see what was added).
pub(crate) async fn transaction(s: &mut Session) -> Result<&mut Transaction, LuaDbError> {
    if s.autoflush() && s.has_changes() {
        s.flush().await?;
    }
    Ok(s.transaction().await?)
}

/// A session as a script sees it.
#[derive(Debug, Clone)]
pub(crate) struct LuaSession {
    pub(crate) cell: Arc<SessionCell>,
    pub(crate) db: Database,
    pub(crate) events: Arc<StatementEvents>,
}

impl UserData for LuaSession {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        crate::runtime::class::add_class_fields(fields, SESSION_CLASS, "dbridge.session");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        // `local s <close> = db:session()`: rolled back when the scope ends.
        methods.add_meta_method(MetaMethod::Close, |_, this, ()| {
            context::Abandon::abandon(&*this.cell);
            Ok(())
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            let state = match this.cell.s.try_lock() {
                Ok(g) => match g.as_ref() {
                    Some(s) if s.in_transaction() => "in transaction",
                    Some(_) => "idle",
                    None => "closed",
                },
                Err(_) => "busy",
            };
            Ok(format!("dbridge.session({}, {state})", this.db.backend()))
        });
    }
}

/// The session behind a script value.
pub(crate) fn session_of(v: &LuaValue, func: &str) -> Result<LuaSession, LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(s) = ud.borrow::<LuaSession>()
    {
        return Ok(s.clone());
    }
    Err(LuaDbError::argument(
        func,
        1,
        "a session (call it with `:`)",
        v,
    ))
}

/// `db:session([opts])`: `autoflush`, `expire_on_commit`, `strict_loading`,
/// and the transaction options of `db:begin` (`isolation`, `read_only`, `retries`).
pub(crate) fn new(lua: &Lua, (this, opts): (LuaValue, LuaValue)) -> Raw {
    let ev = crate::objects::events::events_of(&this);
    let r = (|| {
        let LuaValue::UserData(ud) = &this else {
            return Err(LuaDbError::argument("session", 1, "a database", &this));
        };
        let d = ud
            .borrow::<LuaDb>()
            .map_err(|_| LuaDbError::argument("session", 1, "a database", &this))?;
        let conn = d.conn()?;
        let db = conn.database().clone();
        let mut o = SessionOptions::new().registry(&d.orm.registry);
        if let LuaValue::Table(t) = &opts {
            let tx_opts = lua.create_table().map_err(lua_err)?;
            for pair in t.pairs::<LuaValue, LuaValue>() {
                let (k, v) = pair.map_err(lua_err)?;
                let key = match &k {
                    LuaValue::String(s) => s.to_string_lossy(),
                    _ => String::new(),
                };
                match (key.as_str(), v) {
                    ("autoflush", LuaValue::Boolean(b)) => o = o.autoflush(b),
                    ("expire_on_commit", LuaValue::Boolean(b)) => o = o.expire_on_commit(b),
                    ("strict_loading", LuaValue::Boolean(b)) => o = o.strict_loading(b),
                    (_, v) => tx_opts.raw_set(k, v).map_err(lua_err)?,
                }
            }
            o = o.transaction(crate::objects::transaction::options(
                &LuaValue::Table(tx_opts),
                "session",
                2,
            )?);
        } else if !opts.is_nil() {
            return Err(LuaDbError::argument(
                "session",
                2,
                "a table of options",
                &opts,
            ));
        }
        let session = match conn.slot() {
            Some(_) => Session::borrowing(&db, o),
            None => Session::with_options(&db, o),
        };
        let cell = Arc::new(SessionCell::new(
            session,
            conn.slot().cloned(),
            crate::runtime::context::installed_handle(lua).as_ref(),
        ));
        if let Some(ctx) = context::current() {
            ctx.register(cell.clone());
        }
        Ok(LuaSession {
            cell,
            db,
            events: d.events.clone(),
        })
    })();
    raw_ev(lua, r, ev.as_deref())
}

/// A failure seen by a script: the budget's (or the interrupt's) error once the call is stopped
/// (a listener stopped by the budget fails the flush with a plain error).
pub(crate) fn settle(e: LuaDbError) -> LuaDbError {
    match context::current() {
        Some(ctx) if ctx.is_exhausted() => ctx.stop_error(),
        _ => e,
    }
}

fn instances(
    v: &LuaValue,
    func: &str,
) -> Result<Vec<dbridge_engine::session::Instance>, LuaDbError> {
    match v {
        LuaValue::Table(t) => t
            .sequence_values::<LuaValue>()
            .enumerate()
            .map(|(i, x)| {
                x.map_err(lua_err)
                    .and_then(|x| instance_of(&x, func, i + 1))
            })
            .collect(),
        other => Err(LuaDbError::argument(
            func,
            1,
            "an array of instances",
            other,
        )),
    }
}

/// The instances `s:load` is given: one instance, a collection, or an array.
fn load_targets(v: &LuaValue) -> Result<Vec<dbridge_engine::session::Instance>, LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(c) = ud.borrow::<crate::objects::related::LuaCollection>()
    {
        return c.members();
    }
    match v {
        LuaValue::Table(_) => instances(v, "load"),
        other => Ok(vec![instance_of(other, "load", 1)?]),
    }
}

/// `s:add(inst)`, the hot one of the synchronous calls (a loop of
/// `s:add(Model { ... })` makes one per instance): `(inst, nil, events)` or
/// `(FAIL, err, events)`.
pub(crate) fn add(lua: &Lua, (this, a): (LuaValue, LuaValue)) -> Raw3 {
    let ls = match &this {
        LuaValue::UserData(ud) => ud.borrow::<LuaSession>().ok(),
        _ => None,
    };
    let Some(ls) = ls else {
        let e = LuaDbError::argument("add", 1, "a session (call it with `:`)", &this);
        return raw_ev3(
            lua,
            Err(settle(e)),
            crate::objects::events::events_of(&this).as_deref(),
        );
    };
    let r = (|| {
        let mut g = ls.cell.lock()?;
        open(&mut g)?.add(instance_of(&a, "add", 1)?)?;
        Ok(())
    })();
    raw_ev3(lua, r.map(|()| a).map_err(settle), Some(&ls.events))
}

/// The other synchronous session calls: `add_all`, `delete`, `expunge`,
/// `expunge_all`, `expire`, `expire_all`, `autoflush` (sets it, returns the
/// previous setting), `strict_loading` (whether it is on; given a boolean,
/// sets it and returns the previous setting), `in_transaction`.
pub(crate) fn call(lua: &Lua, (this, name, a): (LuaValue, mlua::LuaString, LuaValue)) -> Raw {
    let r = (|| {
        let name = name.to_str().map_err(lua_err)?;
        let name: &str = &name;
        let (cell, events) = match &this {
            LuaValue::UserData(ud) => match ud.borrow::<LuaSession>() {
                Ok(s) => (s.cell.clone(), s.events.clone()),
                Err(_) => {
                    return Err(LuaDbError::argument(
                        name,
                        1,
                        "a session (call it with `:`)",
                        &this,
                    ));
                }
            },
            _ => {
                return Err(LuaDbError::argument(
                    name,
                    1,
                    "a session (call it with `:`)",
                    &this,
                ));
            }
        };
        let mut g = cell.lock()?;
        let s = open(&mut g)?;
        Ok((
            events,
            match name {
                "add_all" => {
                    s.add_all(instances(&a, "add_all")?)?;
                    LuaValue::Nil
                }
                "delete" => {
                    s.delete(&instance_of(&a, "delete", 1)?)?;
                    LuaValue::Nil
                }
                "expunge" => {
                    s.expunge(&instance_of(&a, "expunge", 1)?);
                    LuaValue::Nil
                }
                "expunge_all" => {
                    s.expunge_all();
                    LuaValue::Nil
                }
                "expire" => {
                    s.expire(&instance_of(&a, "expire", 1)?);
                    LuaValue::Nil
                }
                "expire_all" => {
                    s.expire_all();
                    LuaValue::Nil
                }
                "autoflush" => LuaValue::Boolean(s.set_autoflush(a.as_boolean().unwrap_or(true))),
                "in_transaction" => LuaValue::Boolean(s.in_transaction()),
                "strict_loading" => match a {
                    LuaValue::Nil => LuaValue::Boolean(s.strict_loading()),
                    LuaValue::Boolean(on) => LuaValue::Boolean(s.set_strict_loading(on)),
                    other => {
                        return Err(LuaDbError::argument(
                            "strict_loading",
                            2,
                            "a boolean or nothing",
                            &other,
                        ));
                    }
                },
                other => return Err(unknown(other)),
            },
        ))
    })();
    match r {
        Ok((events, v)) => raw_ev(lua, Ok(v), Some(&events)),
        Err(e) => raw_ev(
            lua,
            Err::<(), _>(settle(e)),
            crate::objects::events::events_of(&this).as_deref(),
        ),
    }
}

fn unknown(name: &str) -> LuaDbError {
    LuaDbError::new(
        ErrorKind::InvalidState,
        format!("unknown session call `{name}`"),
    )
}

/// The primary key of `s:get(Model, pk)`: a value, or an array for a composite key.
fn key(lua: &Lua, v: LuaValue) -> Result<Vec<Value>, LuaDbError> {
    match v {
        LuaValue::Table(t) if t.metatable().is_none() || t.raw_len() > 0 => t
            .sequence_values::<LuaValue>()
            .enumerate()
            .map(|(i, x)| x.map_err(lua_err).and_then(|x| from_lua(lua, x, i + 1)))
            .collect(),
        other => Ok(vec![from_lua(lua, other, 1)?]),
    }
}

/// The session calls that may run SQL: `get` (with loader options), `load`
/// (loader options for instances at hand), `flush`,
/// `commit`, `rollback`, `refresh`, `merge`, `begin_nested`, `commit_nested`,
/// `rollback_nested`, `close`, and `related` (a lazy load of `inst.<name>`).
pub(crate) async fn call_async(
    lua: Lua,
    (this, name, a, b, c): (LuaValue, String, LuaValue, LuaValue, LuaValue),
) -> Raw {
    let ev = crate::objects::events::events_of(&this);
    let r = crate::objects::hooks::scoped(this.clone(), async {
        let ls = session_of(&this, &name)?;
        let mut g = ls.cell.lock()?;
        let s = open(&mut g)?;
        let model =
            |v: &LuaValue| -> Result<Model, LuaDbError> { Ok(model_of(v, "get", 1)?.model) };
        Ok(match name.as_str() {
            "get" => {
                let m = model(&a)?;
                let pk = key(&lua, b)?;
                // A plain table of options is a row lock
                // (`{ for_update = true, nowait = true }`); else loader options.
                let lock = get_lock(&c)?;
                let options = match &c {
                    LuaValue::Nil => Vec::new(),
                    _ if lock.is_some() => Vec::new(),
                    v => crate::objects::loader::list(std::slice::from_ref(v), "get")?,
                };
                let found = match lock {
                    Some(lock) => s.get_locked(&m, pk, lock).await?,
                    None => s.get(&m, pk).await?,
                };
                match found {
                    Some(inst) => {
                        if !options.is_empty() {
                            s.load(std::slice::from_ref(&inst), &options).await?;
                        }
                        LuaValue::UserData(wrap(&lua, inst).map_err(lua_err)?)
                    }
                    None => LuaValue::Nil,
                }
            }
            "load" => {
                let items = load_targets(&a)?;
                let options = crate::objects::loader::list(std::slice::from_ref(&b), "load")?;
                s.load(&items, &options).await?;
                LuaValue::Nil
            }
            "related" => {
                let inst = instance_of(&a, "related", 1)?;
                let rel = b
                    .as_string()
                    .map(|s| s.to_string_lossy())
                    .ok_or_else(|| LuaDbError::argument("related", 2, "a relationship name", &b))?;
                if inst.model().column_index(&rel).is_ok()
                    || !inst.model().relationship_names().contains(&rel)
                {
                    // A deferred or expired column, loaded on access.
                    let v = s.load_attribute(&inst, &rel).await?;
                    crate::convert::value::to_lua(&lua, &v, LuaValue::Nil).map_err(lua_err)?
                } else {
                    let found = s.related(&inst, &rel).await?;
                    crate::objects::related::to_lua(&lua, &inst, &rel, found).map_err(lua_err)?
                }
            }
            "merge" => {
                let inst = s.merge(&instance_of(&a, "merge", 1)?).await?;
                LuaValue::UserData(wrap(&lua, inst).map_err(lua_err)?)
            }
            "refresh" => {
                s.refresh(&instance_of(&a, "refresh", 1)?).await?;
                LuaValue::Nil
            }
            "flush" => unit(s.flush().await)?,
            "commit" => unit(s.commit().await)?,
            "rollback" => unit(s.rollback().await)?,
            "begin_nested" => unit(s.begin_nested().await)?,
            "commit_nested" => unit(s.commit_nested().await)?,
            "rollback_nested" => unit(s.rollback_nested().await)?,
            "close" => {
                s.close().await?;
                g.end();
                LuaValue::Nil
            }
            other => return Err(unknown(other)),
        })
    })
    .await;
    raw_ev(&lua, r.map_err(settle), ev.as_deref())
}

fn unit(r: dbridge_engine::Result<()>) -> Result<LuaValue, LuaDbError> {
    r.map(|()| LuaValue::Nil).map_err(LuaDbError::from)
}

/// The engine's id of a session (what `Instance::session_id` names), for
/// orm.lua's table of sessions by id.
pub(crate) fn id(lua: &Lua, this: LuaValue) -> Raw {
    let r = (|| {
        let ls = session_of(&this, "id")?;
        let mut g = ls.cell.lock()?;
        let s = open(&mut g)?;
        Ok(i64::try_from(s.id()).unwrap_or(i64::MAX))
    })();
    crate::convert::error::raw(lua, r)
}

/// `s:backend()` (`"sqlite"` or `"postgresql"`) and `s:is_open()`: whether
/// the session has a transaction open (true while another call holds it,
/// false once it is closed). Neither takes the session, so both answer while
/// it is busy or after it is closed.
pub(crate) fn info(lua: &Lua, (this, name): (LuaValue, mlua::LuaString)) -> Raw {
    let r = (|| {
        let name = name.to_str().map_err(lua_err)?;
        let ls = session_of(&this, &name)?;
        match &*name {
            "backend" => Ok(LuaValue::String(
                lua.create_string(ls.db.backend().name()).map_err(lua_err)?,
            )),
            "is_open" => Ok(LuaValue::Boolean(match ls.cell.s.try_lock() {
                Ok(g) => g.as_ref().is_some_and(Session::in_transaction),
                Err(_) => true,
            })),
            other => Err(unknown(other)),
        }
    })();
    crate::convert::error::raw(lua, r)
}

/// `s:stats()`: what the session holds, for tests and debugging:
/// `{ pending =, dirty =, identity_map = }` (instances added and not yet
/// inserted, persistent ones with unflushed changes, instances in the
/// identity map).
pub(crate) fn stats(lua: &Lua, this: LuaValue) -> Raw {
    let r = (|| {
        let ls = session_of(&this, "stats")?;
        let mut g = ls.cell.lock()?;
        let s = open(&mut g)?;
        let t: Table = lua.create_table().map_err(lua_err)?;
        t.raw_set("pending", s.pending().len()).map_err(lua_err)?;
        t.raw_set("dirty", s.dirty().len()).map_err(lua_err)?;
        t.raw_set("identity_map", s.identity_map_len())
            .map_err(lua_err)?;
        Ok(t)
    })();
    crate::convert::error::raw(lua, r)
}

/// The row lock of `s:get(Model, pk, { for_update = true [, nowait | skip_locked] })`
/// (`for_share = true` for a shared lock); `None` for anything else.
fn get_lock(v: &LuaValue) -> Result<Option<dbridge_engine::query::Lock>, LuaDbError> {
    use dbridge_engine::query::LockStrength;
    let LuaValue::Table(t) = v else {
        return Ok(None);
    };
    let flag = |k: &str| matches!(t.raw_get::<LuaValue>(k), Ok(LuaValue::Boolean(true)));
    let strength = if flag("for_update") {
        LockStrength::Update
    } else if flag("for_share") {
        LockStrength::Share
    } else {
        return Ok(None);
    };
    crate::objects::lock::lock_options(strength, v, "get").map(Some)
}
