//! The keys an options table may have (`db:model{...}`, a column's options,
//! a relationship's options): an unknown one is a `schema` error naming it.

use dbridge_engine::ErrorKind;
use mlua::{Table, Value as LuaValue};

use crate::convert::error::{LuaDbError, lua_err};

/// Fails on a key of `t` outside `allowed` (array entries are fine).
pub(crate) fn check_keys(t: &Table, allowed: &[&str], what: &str) -> Result<(), LuaDbError> {
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, _) = pair.map_err(lua_err)?;
        match &k {
            LuaValue::Integer(_) => {}
            LuaValue::String(s) if allowed.contains(&s.to_string_lossy().as_str()) => {}
            other => {
                let k = match other {
                    LuaValue::String(s) => s.to_string_lossy(),
                    v => format!("a {} key", v.type_name()),
                };
                return Err(LuaDbError::new(
                    ErrorKind::Schema,
                    format!(
                        "{what}: unknown key `{k}` (allowed: {})",
                        allowed.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}
