//! The row-lock options of `q:for_update{ nowait = true }` and
//! `s:get(Model, pk, { for_update = true, ... })`, below both the query
//! builder and the session so that neither imports the other for them.

use dbridge_engine::ErrorKind;
use dbridge_engine::query::{Lock, LockStrength, LockWait};
use mlua::Value as LuaValue;

use crate::convert::error::{LuaDbError, lua_err};

/// The row lock of `q:for_update{ nowait = true }` / `skip_locked = true`
/// (also `s:get(Model, pk, { for_update = true, ... })`).
pub(crate) fn lock_options(
    strength: LockStrength,
    opts: &LuaValue,
    func: &str,
) -> Result<Lock, LuaDbError> {
    let mut wait = LockWait::Wait;
    let t = match opts {
        LuaValue::Nil => return Ok(Lock { strength, wait }),
        LuaValue::Table(t) => t,
        other => return Err(LuaDbError::argument(func, 1, "a table of options", other)),
    };
    for pair in t.pairs::<String, LuaValue>() {
        let (k, v) = pair.map_err(lua_err)?;
        let on = match (k.as_str(), &v) {
            ("nowait" | "skip_locked", LuaValue::Boolean(b)) => *b,
            ("for_update" | "for_share", _) => continue,
            ("nowait" | "skip_locked", other) => {
                return Err(LuaDbError::argument(
                    func,
                    1,
                    &format!("`{k}` true or false"),
                    other,
                ));
            }
            _ => {
                return Err(LuaDbError::new(
                    ErrorKind::Configuration,
                    format!("{func}: unknown option `{k}` (nowait, skip_locked)"),
                ));
            }
        };
        if on {
            wait = if k == "nowait" {
                LockWait::NoWait
            } else {
                LockWait::SkipLocked
            };
        }
    }
    Ok(Lock { strength, wait })
}
