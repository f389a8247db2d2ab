//! Statement events for `db:on_statement(fn)`.
//!
//! The engine calls its statement observers synchronously, on whatever thread
//! ran the statement, and Lua must not be entered from there. So the observer
//! only queues the event; the raw function that ran the statement hands the
//! queued events back to the prelude with its result, and the prelude calls the
//! Lua handlers (which live in a Lua table, never in Rust records).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use dbridge_engine::Database;
use dbridge_engine::db::{ObserverId, StatementEvent};
use mlua::{IntoLuaMulti, Lua, Table, Value as LuaValue};

use crate::convert::error::{LuaDbError, Raw, Raw3, fail_marker, raw};
use parking_lot::Mutex;

/// At most this many events wait for delivery; older ones are dropped.
const CAP: usize = 10_000;

#[derive(Debug)]
struct Queued {
    sql: String,
    elapsed: f64,
    rows: Option<u64>,
    ok: bool,
    backend: &'static str,
    server: Option<String>,
}

/// The queue of one database handle's statement events.
#[derive(Debug, Default)]
pub(crate) struct StatementEvents {
    len: AtomicUsize,
    queue: Mutex<VecDeque<Queued>>,
    observer: Mutex<Option<(Database, ObserverId)>>,
}

impl StatementEvents {
    /// Starts observing `db` (once).
    pub(crate) fn enable(self: &Arc<Self>, db: &Database) {
        let mut obs = self.observer.lock();
        if obs.is_some() {
            return;
        }
        let queue = Arc::downgrade(self);
        let id = db.on_statement(Arc::new(move |ev: &StatementEvent<'_>| {
            if let Some(q) = queue.upgrade() {
                q.push(ev);
            }
        }));
        *obs = Some((db.clone(), id));
    }

    /// Stops observing and forgets queued events.
    pub(crate) fn disable(&self) {
        if let Some((db, id)) = self.observer.lock().take() {
            db.remove_statement_observer(id);
        }
        self.queue.lock().clear();
        self.len.store(0, Ordering::Relaxed);
    }

    fn push(&self, ev: &StatementEvent<'_>) {
        let mut q = self.queue.lock();
        if q.len() >= CAP {
            q.pop_front();
        }
        q.push_back(Queued {
            sql: ev.sql.to_owned(),
            elapsed: ev.elapsed.as_secs_f64(),
            rows: ev.rows,
            ok: ev.ok,
            backend: ev.backend.name(),
            server: ev.server.map(str::to_owned),
        });
        self.len.store(q.len(), Ordering::Relaxed);
    }

    /// The queued events as a Lua array of `{ sql, elapsed, rows, ok, backend, server }`
    /// tables, or nil when there are none.
    pub(crate) fn drain(&self, lua: &Lua) -> mlua::Result<LuaValue> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return Ok(LuaValue::Nil);
        }
        let events: Vec<Queued> = {
            let mut q = self.queue.lock();
            self.len.store(0, Ordering::Relaxed);
            q.drain(..).collect()
        };
        let out = lua.create_table_with_capacity(events.len(), 0)?;
        for (i, e) in events.into_iter().enumerate() {
            let t: Table = lua.create_table_with_capacity(0, 6)?;
            t.raw_set("sql", e.sql)?;
            t.raw_set("elapsed", e.elapsed)?;
            t.raw_set("rows", e.rows.map(|n| i64::try_from(n).unwrap_or(i64::MAX)))?;
            t.raw_set("ok", e.ok)?;
            t.raw_set("backend", e.backend)?;
            t.raw_set("server", e.server)?;
            out.raw_set(i + 1, t)?;
        }
        Ok(LuaValue::Table(out))
    }
}

impl Drop for StatementEvents {
    fn drop(&mut self) {
        if let Some((db, id)) = self.observer.get_mut().take() {
            db.remove_statement_observer(id);
        }
    }
}

/// The event queue behind a database, transaction, stream, session, model,
/// write or query userdata. Those objects lie above this file, so the
/// dispatch over them (`install/handles.rs`) is handed down at install.
static EVENTS_OF: OnceLock<EventsOf> = OnceLock::new();

/// The dispatch [`EVENTS_OF`] holds.
type EventsOf = fn(&LuaValue) -> Option<Arc<StatementEvents>>;

/// Called once the dispatch is installed.
pub(crate) fn provide_events_of(f: EventsOf) {
    let _ = EVENTS_OF.set(f);
}

/// The event queue behind a handle (see [`EVENTS_OF`]), or `None`.
pub(crate) fn events_of(v: &LuaValue) -> Option<Arc<StatementEvents>> {
    EVENTS_OF.get().and_then(|f| f(v))
}

/// As [`raw`], followed by the statement events queued for the handle, if
/// any: `(value, nil, events)` or `(FAIL, err, events)`.
pub(crate) fn raw_ev<T: IntoLuaMulti>(
    lua: &Lua,
    r: Result<T, LuaDbError>,
    events: Option<&StatementEvents>,
) -> Raw {
    let evs = match events {
        Some(q) => q.drain(lua)?,
        None => LuaValue::Nil,
    };
    if evs.is_nil() {
        return raw(lua, r);
    }
    match r {
        Ok(v) => {
            let mut values = v.into_lua_multi(lua)?;
            let first = values.pop_front().unwrap_or(LuaValue::Nil);
            (first, LuaValue::Nil, evs).into_lua_multi(lua)
        }
        Err(e) => {
            let err = lua.create_userdata(e)?;
            (fail_marker(), err, evs).into_lua_multi(lua)
        }
    }
}

/// As [`raw_ev`] for one value: `(value, nil, events)` or `(FAIL, err,
/// events)`, the events nil when none are queued (or `events` is `None`).
pub(crate) fn raw_ev3(
    lua: &Lua,
    r: Result<LuaValue, LuaDbError>,
    events: Option<&StatementEvents>,
) -> Raw3 {
    let evs = match events {
        Some(q) => q.drain(lua)?,
        None => LuaValue::Nil,
    };
    Ok(match r {
        Ok(v) => (v, LuaValue::Nil, evs),
        Err(e) => (
            LuaValue::LightUserData(fail_marker()),
            LuaValue::UserData(lua.create_userdata(e)?),
            evs,
        ),
    })
}
