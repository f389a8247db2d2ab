//! Lua functions as engine listeners (`db:on(Model, "before_insert", fn)`) and
//! validators (`db:validate(Model, "email", fn)`).
//!
//! The engine calls listeners synchronously inside a flush, and a flush runs
//! inside an async Lua call on the same thread: the listener calls its Lua
//! function right there (the state's lock is reentrant), never from another
//! task. The functions live in a Lua table in the registry, keyed by number;
//! the Rust closures hold only that number and a weak handle to the state, so
//! no cycle through Rust keeps a database (or the state) alive.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use dbridge_engine::events::{Event, EventKind, Listener, Target};
use dbridge_engine::schema::Model;
use dbridge_engine::{Error, ErrorKind};
use mlua::{Function, Lua, MultiValue, Value as LuaValue, WeakLua};

use crate::convert::error::lua_err;
use crate::convert::error::{LuaDbError, Raw, raw};
use crate::objects::database::LuaDb;
use crate::objects::model::model_of;
use crate::objects::orm::Orm;
use crate::objects::validators::{add_validator, callbacks, name_of};

/// Registry key of the Lua function that calls a listener under `pcall` and
/// returns nothing, or the error's kind and message.
pub(crate) const CALL_LISTENER: &str = "dbridge.call_listener";

const EVENTS: [EventKind; 11] = [
    EventKind::BeforeInsert,
    EventKind::AfterInsert,
    EventKind::BeforeUpdate,
    EventKind::AfterUpdate,
    EventKind::BeforeDelete,
    EventKind::AfterDelete,
    EventKind::BeforeFlush,
    EventKind::AfterFlush,
    EventKind::AfterCommit,
    EventKind::AfterRollback,
    EventKind::Set,
];

thread_local! {
    /// The session userdata whose call is being polled on this thread, for
    /// the `session` argument of listeners.
    static SESSION: RefCell<Vec<LuaValue>> = const { RefCell::new(Vec::new()) };
}

/// A future that makes `session` the current session while it is polled.
pub(crate) struct Scoped<F> {
    fut: Pin<Box<F>>,
    session: LuaValue,
}

/// Runs `fut` with `session` as the session listeners receive.
pub(crate) fn scoped<F: Future>(session: LuaValue, fut: F) -> Scoped<F> {
    Scoped {
        fut: Box::pin(fut),
        session,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        SESSION.with(|s| s.borrow_mut().push(this.session.clone()));
        let out = this.fut.as_mut().poll(cx);
        SESSION.with(|s| s.borrow_mut().pop());
        out
    }
}

fn current_session() -> LuaValue {
    SESSION.with(|s| s.borrow().last().cloned().unwrap_or(LuaValue::Nil))
}

fn orm_of(v: &LuaValue) -> Result<Arc<Orm>, LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(d) = ud.borrow::<LuaDb>()
    {
        return Ok(d.orm.clone());
    }
    Err(LuaDbError::argument(
        "on",
        1,
        "a database (call it with `:`)",
        v,
    ))
}

/// An engine error for a script error of `kind` with `message`.
fn engine_error(kind: &str, message: String, model: Option<&Model>) -> Error {
    match kind {
        "validation" => Error::Validation {
            model: model
                .map(|m| m.name().as_str().to_owned())
                .unwrap_or_default(),
            column: None,
            message,
        },
        "stale_data" => Error::StaleData(message),
        "not_found" => Error::NotFound,
        _ => Error::InvalidState(message),
    }
}

fn state_gone() -> Error {
    Error::InvalidState("the Lua state is gone".into())
}

/// `raw.on(db, target, event, key)`: registers the callback stored under `key`.
pub(crate) fn on(lua: &Lua, (this, target, event, key): (LuaValue, LuaValue, String, i64)) -> Raw {
    let r = (|| {
        let orm = orm_of(&this)?;
        let target = match &target {
            LuaValue::String(s) => Target::model(s.to_string_lossy()),
            other => Target::from(&model_of(other, "on", 2)?.model),
        };
        let kind = EVENTS
            .into_iter()
            .find(|k| k.as_str() == event)
            .ok_or_else(|| {
                LuaDbError::new(
                    ErrorKind::InvalidValue,
                    format!(
                        "unknown event `{event}` (events: {}, statement)",
                        EVENTS.map(EventKind::as_str).join(", ")
                    ),
                )
            })?;
        let f: Function = callbacks(lua)
            .and_then(|t| t.raw_get(key))
            .map_err(lua_err)?;
        let name = name_of(&format!("lua {event} listener"), &f);
        let id = orm
            .registry
            .events()
            .on_named(name, target, kind, listener(lua.weak(), key));
        orm.remember(key, id);
        Ok(())
    })();
    raw(lua, r)
}

/// `raw.off(db, key)`: removes the listener added under `key`.
pub(crate) fn off(lua: &Lua, (this, key): (LuaValue, i64)) -> Raw {
    let r = orm_of(&this).map(|orm| orm.forget(key));
    raw(lua, r)
}

fn listener(weak: WeakLua, key: i64) -> Listener {
    Arc::new(move |ev: &Event<'_>| {
        let lua = weak.try_upgrade().ok_or_else(state_gone)?;
        let args = arguments(&lua, ev).map_err(|e| Error::InvalidState(e.to_string()))?;
        let call = || -> mlua::Result<(Option<String>, Option<String>)> {
            // Gone with its database: nothing to run.
            let Some(f) = callbacks(&lua)?.raw_get::<Option<Function>>(key)? else {
                return Ok((None, None));
            };
            let caller: Function = lua.named_registry_value(CALL_LISTENER)?;
            let mut all = MultiValue::new();
            all.push_back(LuaValue::Function(f));
            all.extend(args);
            caller.call(all)
        };
        match call() {
            Ok((None, _)) => Ok(()),
            Ok((Some(kind), msg)) => Err(engine_error(&kind, msg.unwrap_or_default(), ev.model)),
            Err(e) => Err(Error::InvalidState(e.to_string())),
        }
    })
}

/// What a listener is called with: `(session, instance)` for instance events,
/// `(instance, attribute, new, old)` for `set`, `(session)` for the others.
fn arguments(lua: &Lua, ev: &Event<'_>) -> mlua::Result<MultiValue> {
    let mut out = MultiValue::new();
    let inst = match ev.instance {
        Some(i) => LuaValue::UserData(crate::objects::instance::wrap(lua, i.clone())?),
        None => LuaValue::Nil,
    };
    let value = |v: Option<&dbridge_engine::Value>| match v {
        Some(v) => crate::convert::value::to_lua(lua, v, LuaValue::Nil),
        None => Ok(LuaValue::Nil),
    };
    if ev.kind == EventKind::Set {
        out.push_back(inst);
        out.push_back(match ev.attribute {
            Some(a) => LuaValue::String(lua.create_string(a)?),
            None => LuaValue::Nil,
        });
        out.push_back(value(ev.new)?);
        out.push_back(value(ev.old)?);
    } else {
        out.push_back(current_session());
        if ev.kind.is_instance_event() {
            out.push_back(inst);
        }
    }
    Ok(out)
}

/// `raw.validate(db, model, column, key)`.
pub(crate) fn validate(
    lua: &Lua,
    (this, model, column, key): (LuaValue, LuaValue, String, i64),
) -> Raw {
    let r = (|| {
        let orm = orm_of(&this)?;
        let m = model_of(&model, "validate", 2)?;
        add_validator(lua, &orm, &m.model, &column, key)
    })();
    raw(lua, r)
}

/// `raw.next_key(db)`: a fresh callback key of the database's ORM.
pub(crate) fn next_key(lua: &Lua, this: LuaValue) -> Raw {
    raw(lua, orm_of(&this).map(|o| o.next_key()))
}
