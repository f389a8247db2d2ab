//! The fast path of `db:fetch_all`: a whole result converted to Lua tables in
//! one protected call through Lua's C API.
//!
//! Going through mlua's safe API costs a lock, a stack check and a protected
//! call for every cell; here a result is built with one protected call, the
//! column names pushed once and reused for every row. NULL, booleans,
//! integers, floats, text and bytes go in as themselves; numeric, uuid,
//! temporal, interval, network and enum cells as their text form (what
//! [`crate::value`] makes of them), formatted before the protected call.
//! Results holding JSON or arrays (which become tables) take the general path.

use std::os::raw::{c_char, c_int};

use dbridge_engine::{Row, Value};
use mlua::{Lua, MultiValue, Table, Value as LuaValue, ffi};

/// Whether a cell goes to Lua as itself.
fn plain(v: &Value) -> bool {
    matches!(
        v,
        Value::Null
            | Value::Bool(_)
            | Value::Int2(_)
            | Value::Int4(_)
            | Value::Int8(_)
            | Value::Float4(_)
            | Value::Float8(_)
            | Value::Text(_)
            | Value::Bytes(_)
    )
}

/// The text form of every cell that goes to Lua as text, in row-major order;
/// `None` when a cell needs the general path (JSON, arrays).
fn texts(rows: &[Row]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for v in rows.iter().flat_map(|r| r.values()) {
        match v {
            Value::Json(_) | Value::Jsonb(_) | Value::Array(_) => return None,
            v if plain(v) => {}
            v => out.push(v.to_text().unwrap_or_default()),
        }
    }
    Some(out)
}

/// The rows as an array of row tables, or `None` when some cell needs the
/// general path (or the rows do not all share one set of columns).
pub(crate) fn build(lua: &Lua, rows: &[Row]) -> Option<mlua::Result<Table>> {
    let first = rows.first()?;
    let columns = first.columns();
    if !rows
        .iter()
        .all(|r| std::sync::Arc::ptr_eq(r.columns(), columns))
    {
        return None;
    }
    let texts = texts(rows)?;
    let ncols = columns.len();
    let keys = columns
        .names()
        .iter()
        .map(|n| lua.create_string(&**n).map(LuaValue::String))
        .collect::<mlua::Result<MultiValue>>();
    let keys = match keys {
        Ok(k) => k,
        Err(e) => return Some(Err(e)),
    };
    let (Ok(narr), Ok(nrec)) = (c_int::try_from(rows.len()), c_int::try_from(ncols)) else {
        return None;
    };
    // SAFETY: `exec_raw` runs the closure inside a protected call with the keys
    // at stack slots 1..=ncols, so a Lua error (out of memory) unwinds to mlua
    // rather than past Rust code that owns anything: the closure holds only
    // borrows (the rows, the preformatted `texts`) and plain integers. Each loop iteration leaves the stack as it
    // found it (out table on top); at most four slots are used above the keys,
    // and `lua_checkstack` reserves them.
    // Everything built here stays reachable from the result: collecting during
    // the build would only walk it again and again.
    let collecting = lua.gc_is_running();
    if collecting {
        lua.gc_stop();
    }
    let r = unsafe {
        lua.exec_raw::<Table>(keys, |state| {
            ffi::luaL_checkstack(state, 4, std::ptr::null());
            ffi::lua_createtable(state, narr, 0);
            let mut next_text = texts.iter();
            for (i, row) in rows.iter().enumerate() {
                ffi::lua_createtable(state, 0, nrec);
                for (c, v) in row.values().iter().enumerate() {
                    if v.is_null() {
                        continue;
                    }
                    ffi::lua_pushvalue(state, c as c_int + 1);
                    match v {
                        Value::Bool(b) => ffi::lua_pushboolean(state, c_int::from(*b)),
                        Value::Int2(n) => ffi::lua_pushinteger(state, (*n).into()),
                        Value::Int4(n) => ffi::lua_pushinteger(state, (*n).into()),
                        Value::Int8(n) => ffi::lua_pushinteger(state, *n),
                        Value::Float4(f) => ffi::lua_pushnumber(state, (*f).into()),
                        Value::Float8(f) => ffi::lua_pushnumber(state, *f),
                        Value::Text(s) => {
                            ffi::lua_pushlstring(state, s.as_ptr().cast::<c_char>(), s.len());
                        }
                        Value::Bytes(b) => {
                            ffi::lua_pushlstring(state, b.as_ptr().cast::<c_char>(), b.len());
                        }
                        // `texts` holds the text of every other cell, in order.
                        _ => match next_text.next() {
                            Some(t) => {
                                ffi::lua_pushlstring(state, t.as_ptr().cast::<c_char>(), t.len());
                            }
                            None => ffi::lua_pushnil(state),
                        },
                    }
                    ffi::lua_rawset(state, -3);
                }
                ffi::lua_rawseti(state, -2, i as ffi::lua_Integer + 1);
            }
            // Leave the result alone on the stack (the keys were below it).
            ffi::lua_replace(state, 1);
            ffi::lua_settop(state, 1);
        })
    };
    if collecting {
        lua.gc_restart();
    }
    Some(r)
}
