//! The fast path of `Model{...}`: the constructor table read in one protected
//! call through Lua's C API.
//!
//! Going through mlua's safe API costs, for every key and every value, a lock
//! of the state, a reference slot and its release. A constructor table of
//! column names and plain values (booleans, numbers, strings, `dbridge.null`)
//! is read here in one protected call, without a Lua value or a string
//! allocated for the keys. Anything else (a relationship, a JSON or bytes
//! parameter, a key that is not a column) makes [`scan`] give up, and the
//! constructor takes the general path, which also reports the errors.

use std::os::raw::c_int;

use dbridge_engine::Value;
use dbridge_engine::schema::Model;
use mlua::{Lua, Table, ffi};

/// The values of the constructor table `t` by column index, or `None` when
/// some key or value needs the general path.
pub(crate) fn scan(
    lua: &Lua,
    model: &Model,
    t: &Table,
) -> mlua::Result<Option<Vec<(usize, Value)>>> {
    let mut out: Vec<(usize, Value)> = Vec::with_capacity(model.columns().len());
    let mut plain = true;
    // SAFETY: `exec_raw` runs the closure inside a protected call with the
    // table at stack slot 1. Nothing called here raises a Lua error:
    // `lua_next` over a table whose keys are left untouched (string keys are
    // read in place, never converted), and the type tests and reads. The
    // closure owns nothing itself (the values go to `out`, owned outside), and
    // each iteration leaves the key alone on top of the table, as `lua_next`
    // expects; `lua_next` uses two slots, within the LUA_MINSTACK a C function
    // is given. The closure leaves the stack empty (no results).
    unsafe {
        lua.exec_raw::<()>(t, |state| {
            ffi::lua_pushnil(state);
            while ffi::lua_next(state, 1) != 0 {
                let read = column(state, model).and_then(|i| Some((i, value(state)?)));
                ffi::lua_settop(state, -2);
                match read {
                    Some(pair) => out.push(pair),
                    None => {
                        plain = false;
                        break;
                    }
                }
            }
            ffi::lua_settop(state, 0);
        })?;
    }
    Ok(plain.then_some(out))
}

/// The column named by the string key at -2, if it is one.
///
/// # Safety
/// A key-value pair from `lua_next` on top of the stack.
unsafe fn column(state: *mut ffi::lua_State, model: &Model) -> Option<usize> {
    let key = unsafe { bytes(state, -2)? };
    model.column_index(std::str::from_utf8(key).ok()?).ok()
}

/// The plain value at -1 as a SQL value, as [`crate::convert::value::from_lua`] converts it.
///
/// # Safety
/// A value on top of the stack.
unsafe fn value(state: *mut ffi::lua_State) -> Option<Value> {
    unsafe {
        Some(match ffi::lua_type(state, -1) {
            ffi::LUA_TBOOLEAN => Value::Bool(ffi::lua_toboolean(state, -1) != 0),
            ffi::LUA_TNUMBER if ffi::lua_isinteger(state, -1) != 0 => {
                Value::Int8(ffi::lua_tointeger(state, -1))
            }
            ffi::LUA_TNUMBER => Value::Float8(ffi::lua_tonumber(state, -1)),
            ffi::LUA_TSTRING => {
                let b = bytes(state, -1)?;
                match std::str::from_utf8(b) {
                    Ok(text) => Value::Text(text.to_owned()),
                    Err(_) => Value::Bytes(b.to_vec()),
                }
            }
            ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(state, -1).is_null() => Value::Null,
            _ => return None,
        })
    }
}

/// The bytes of the string at `idx` (never converting a number in place,
/// which would confuse `lua_next`).
///
/// # Safety
/// `idx` a valid stack index; the bytes live as long as the value stays on the stack.
unsafe fn bytes<'a>(state: *mut ffi::lua_State, idx: c_int) -> Option<&'a [u8]> {
    unsafe {
        if ffi::lua_type(state, idx) != ffi::LUA_TSTRING {
            return None;
        }
        let mut len = 0usize;
        let p = ffi::lua_tolstring(state, idx, &mut len);
        if p.is_null() {
            return None;
        }
        Some(std::slice::from_raw_parts(p.cast::<u8>(), len))
    }
}
