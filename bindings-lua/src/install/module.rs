//! The `dbridge` module table: the raw Rust functions, and the Lua prelude
//! that turns them into the script API.

use std::time::Duration;

use mlua::{Lua, LuaSerdeExt, Table, Value as LuaValue};

use dbridge_engine::ErrorKind;

use crate::convert::error::{LuaDbError, Raw, attach_traceback, fail_marker, raw};
use crate::convert::value::{BytesParam, JsonParam};
use crate::objects::database::{self, DB_CLASS};
use crate::objects::transaction::TX_CLASS;
use crate::runtime::context;
use crate::{objects::query, objects::stream};

/// Registry key of the module table.
pub(crate) const MODULE: &str = "dbridge.module";

const PRELUDE: &str = include_str!("prelude.lua");
const ORM: &str = include_str!("orm.lua");

/// Builds the module (once per state) and returns it.
pub(crate) fn load(lua: &Lua, budgeted: bool) -> mlua::Result<Table> {
    if let Ok(Some(m)) = lua.named_registry_value::<Option<Table>>(MODULE) {
        return Ok(m);
    }
    crate::install::handles::provide();
    let raw_fns = raw_functions(lua)?;
    let (module, db, tx, internal): (Table, Table, Table, Table) =
        lua.load(PRELUDE).set_name("=dbridge").call((
            raw_fns,
            fail_marker(),
            lua.null(),
            budgeted,
            lua.array_metatable(),
        ))?;
    // The ORM half of the API; it returns the values Rust finds in the registry.
    let registry: Table = lua
        .load(ORM)
        .set_name("=dbridge.orm")
        .call((crate::install::orm_functions::raw_functions(lua)?, internal))?;
    for pair in registry.pairs::<String, LuaValue>() {
        let (k, v) = pair?;
        lua.set_named_registry_value(&k, v)?;
    }
    crate::install::migrator::register(lua, &db)?;
    lua.set_named_registry_value(DB_CLASS, db)?;
    lua.set_named_registry_value(TX_CLASS, tx)?;
    lua.set_named_registry_value(MODULE, &module)?;
    Ok(module)
}

fn raw_functions(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("execute", lua.create_async_function(query::execute)?)?;
    t.set(
        "execute_script",
        lua.create_async_function(query::execute_script)?,
    )?;
    t.set("fetch_all", lua.create_async_function(query::fetch_all)?)?;
    t.set("fetch_one", lua.create_async_function(query::fetch_one)?)?;
    t.set(
        "fetch_optional",
        lua.create_async_function(query::fetch_optional)?,
    )?;
    t.set("stream", lua.create_async_function(query::stream)?)?;
    t.set(
        "stream_batch",
        lua.create_async_function(stream::next_batch)?,
    )?;
    t.set("begin", lua.create_async_function(query::begin)?)?;
    t.set("finish", lua.create_async_function(query::finish)?)?;
    t.set(
        "tx_info",
        lua.create_function(crate::objects::transaction::info)?,
    )?;
    t.set("savepoint", lua.create_async_function(query::savepoint)?)?;
    t.set("connect", lua.create_async_function(database::connect)?)?;
    t.set("close", lua.create_async_function(database::close)?)?;
    t.set("backend", lua.create_function(database::backend)?)?;
    t.set("url", lua.create_function(database::url)?)?;
    t.set("primary", lua.create_function(database::primary)?)?;
    t.set("events", lua.create_function(database::set_events)?)?;
    t.set("sleep", lua.create_async_function(sleep)?)?;
    t.set("attach_traceback", lua.create_function(attach_traceback)?)?;
    t.set(
        "budget_exhausted",
        lua.create_function(|_, ()| Ok(context::current_exhausted()))?,
    )?;
    t.set("is_retryable", lua.create_function(is_retryable)?)?;
    t.set(
        "backoff",
        lua.create_function(|_, (n, err): (u32, LuaValue)| Ok(backoff(n, &err)))?,
    )?;
    t.set("error", lua.create_function(new_error)?)?;
    t.set(
        "is_array",
        lua.create_function(|lua, v: LuaValue| {
            Ok(matches!(v, LuaValue::Table(t) if t.metatable().is_some_and(|m| m == lua.array_metatable())))
        })?,
    )?;
    t.set("json", lua.create_function(json)?)?;
    t.set("bytes", lua.create_function(bytes)?)?;
    t.set("version", env!("CARGO_PKG_VERSION"))?;
    Ok(t)
}

fn is_retryable(_: &Lua, err: LuaValue) -> mlua::Result<bool> {
    Ok(match &err {
        LuaValue::UserData(ud) => ud.borrow::<LuaDbError>().is_ok_and(|e| e.retryable),
        _ => false,
    })
}

/// Seconds to wait before retry `n` of a transaction that failed with `err`
/// ([`ErrorKind::retry_delay`]).
fn backoff(n: u32, err: &LuaValue) -> f64 {
    let kind = match err {
        LuaValue::UserData(ud) => ud
            .borrow::<LuaDbError>()
            .ok()
            .and_then(|e| ErrorKind::from_name(e.kind))
            .unwrap_or(ErrorKind::Database),
        _ => ErrorKind::Database,
    };
    kind.retry_delay(n).as_secs_f64()
}

async fn sleep(lua: Lua, seconds: LuaValue) -> Raw {
    let r = async {
        let s = match seconds {
            LuaValue::Integer(i) => i as f64,
            LuaValue::Number(f) => f,
            ref other => {
                return Err(LuaDbError::argument(
                    "sleep",
                    1,
                    "a number of seconds",
                    other,
                ));
            }
        };
        let d = Duration::try_from_secs_f64(s).map_err(|_| {
            LuaDbError::argument("sleep", 1, "a non-negative number of seconds", &seconds)
        })?;
        tokio::time::sleep(d).await;
        Ok(())
    }
    .await;
    raw(&lua, r)
}

/// `dbridge.error{ kind = "validation", message = "..." }`: an error value for
/// scripts to raise with `error(...)`.
fn new_error(lua: &Lua, v: LuaValue) -> Raw {
    let r = (|| {
        let LuaValue::Table(t) = &v else {
            return Err(LuaDbError::argument(
                "dbridge.error",
                1,
                "a table { kind, message }",
                &v,
            ));
        };
        let kind: String = t.get("kind").map_err(|_| {
            LuaDbError::argument("dbridge.error", 1, "a table with a string `kind`", &v)
        })?;
        // A message that is there must be text (a number is, in Lua): never
        // silently dropped.
        let message: String = t
            .get::<Option<String>>("message")
            .map_err(|_| {
                LuaDbError::argument("dbridge.error", 1, "a table with a string `message`", &v)
            })?
            .unwrap_or_default();
        let kind = ErrorKind::from_name(&kind).ok_or_else(|| {
            LuaDbError::new(
                ErrorKind::InvalidValue,
                format!("dbridge.error: unknown error kind `{kind}`"),
            )
        })?;
        Ok(LuaDbError::new(kind, message))
    })();
    raw(lua, r)
}

fn json(lua: &Lua, v: LuaValue) -> Raw {
    let r = lua
        .from_value::<serde_json::Value>(v)
        .map(JsonParam)
        .map_err(|e| {
            LuaDbError::new(
                dbridge_engine::ErrorKind::TypeMismatch,
                format!("dbridge.json: {e}"),
            )
        });
    raw(lua, r)
}

fn bytes(lua: &Lua, v: LuaValue) -> Raw {
    let r = match &v {
        LuaValue::String(s) => Ok(BytesParam(s.as_bytes().to_vec())),
        other => Err(LuaDbError::argument("dbridge.bytes", 1, "a string", other)),
    };
    raw(lua, r)
}
