//! Values both ways: engine [`Value`]s to Rhai [`Dynamic`]s (row cells) and
//! Rhai values to engine values (bound parameters).
//!
//! | SQL | Rhai |
//! | --- | --- |
//! | NULL | `()` |
//! | boolean | `bool` |
//! | smallint, integer, bigint | `INT` (i64) |
//! | real, double precision | `FLOAT` (f64) |
//! | numeric | string, the exact decimal (`"12.50"`, `"NaN"`) |
//! | text, varchar, char, enum labels | string |
//! | bytea | `Blob` |
//! | uuid | string, hyphenated lowercase |
//! | json, jsonb | maps, arrays and scalars (JSON null is `()`) |
//! | date, time, timestamp, timestamptz, interval, inet, cidr, macaddr | string in the documented text form |
//! | arrays | arrays |
//!
//! Parameters go the other way; a map, or an array that is not all of one
//! scalar type, binds as jsonb; `dbridge::json(v)` forces jsonb.

use dbridge_engine::{Error, ErrorKind, Row, SqlType, Value};
use rhai::{Array, Dynamic, EvalAltResult, Map};

use crate::convert::error::{binding_error, raise};

/// A value that binds as jsonb whatever its shape: what `dbridge::json(v)` returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Json(pub serde_json::Value);

/// A cell as a Rhai value.
pub(crate) fn to_dynamic(v: Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => b.into(),
        Value::Int2(i) => Dynamic::from_int(i.into()),
        Value::Int4(i) => Dynamic::from_int(i.into()),
        Value::Int8(i) => Dynamic::from_int(i),
        Value::Float4(f) => Dynamic::from_float(f.into()),
        Value::Float8(f) => Dynamic::from_float(f),
        Value::Text(s) => s.into(),
        Value::Bytes(b) => Dynamic::from_blob(b),
        Value::Json(j) | Value::Jsonb(j) => json_to_dynamic(j),
        Value::Enum(e) => e.label.into(),
        Value::Array(a) => Dynamic::from_array(a.items.into_iter().map(to_dynamic).collect()),
        // numeric, uuid, temporal and network types: their text form.
        other => other.to_text().unwrap_or_default().into(),
    }
}

/// A JSON document as Rhai values.
pub(crate) fn json_to_dynamic(j: serde_json::Value) -> Dynamic {
    use serde_json::Value as J;
    match j {
        J::Null => Dynamic::UNIT,
        J::Bool(b) => b.into(),
        J::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => s.into(),
        J::Array(a) => Dynamic::from_array(a.into_iter().map(json_to_dynamic).collect()),
        J::Object(o) => Dynamic::from_map(
            o.into_iter()
                .map(|(k, v)| (k.into(), json_to_dynamic(v)))
                .collect(),
        ),
    }
}

/// Column types a query asked for by name (its `types` option).
pub(crate) type Wanted = std::sync::Arc<[(String, SqlType)]>;

/// A row as an object map from column name to value, the columns named in
/// `wanted` read as those types (SQLite returns cells by storage class).
pub(crate) fn row_to_map(
    row: Row,
    wanted: &[(String, SqlType)],
) -> Result<Map, Box<EvalAltResult>> {
    let mut map = Map::new();
    for (name, v) in row.iter() {
        let v = match wanted.iter().find(|(w, _)| w == name) {
            Some((_, ty)) if !v.is_null() => retype(v.clone(), ty, name)?,
            _ => v.clone(),
        };
        map.insert(name.into(), to_dynamic(v));
    }
    Ok(map)
}

/// A cell read as `ty`: booleans from SQLite's 0 / 1, everything else as the
/// engine's lossless coercion allows.
fn retype(v: Value, ty: &SqlType, column: &str) -> Result<Value, Box<EvalAltResult>> {
    match (v, ty) {
        (Value::Int8(0), SqlType::Bool) => Ok(Value::Bool(false)),
        (Value::Int8(1), SqlType::Bool) => Ok(Value::Bool(true)),
        (v, ty) => v
            .coerce(ty, &format!("column \"{column}\""))
            .map_err(crate::convert::error::to_rhai),
    }
}

fn mismatch(target: &str, found: &str) -> Box<EvalAltResult> {
    crate::convert::error::to_rhai(Error::TypeMismatch {
        target: target.to_owned(),
        expected: "a SQL value (() bool int float string blob array map)".into(),
        found: found.to_owned(),
    })
}

/// The parameter array of a call as engine values (`$1` is `params[0]`).
pub(crate) fn params(params: Array) -> Result<Vec<Value>, Box<EvalAltResult>> {
    params
        .into_iter()
        .enumerate()
        .map(|(i, d)| from_dynamic(d, &format!("parameter ${}", i + 1)))
        .collect()
}

/// A Rhai value as an engine value; `target` names it in errors.
pub(crate) fn from_dynamic(d: Dynamic, target: &str) -> Result<Value, Box<EvalAltResult>> {
    let d = d.flatten();
    if d.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = d.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = d.as_int() {
        return Ok(Value::Int8(i));
    }
    if let Ok(f) = d.as_float() {
        return Ok(Value::Float8(f));
    }
    if let Ok(c) = d.as_char() {
        return Ok(Value::Text(c.to_string()));
    }
    if d.is_string() {
        return Ok(Value::Text(d.into_string().unwrap_or_default()));
    }
    if d.is_blob() {
        return Ok(Value::Bytes(d.into_blob().unwrap_or_default()));
    }
    if d.is_map() || d.is::<Json>() {
        return Ok(Value::Jsonb(to_json(d, target)?));
    }
    if d.is_array() {
        return array_param(d.into_array().unwrap_or_default(), target);
    }
    Err(mismatch(target, d.type_name()))
}

/// The element type of an array of one scalar type (NULLs aside), if it is one.
fn element_type(items: &[Dynamic]) -> Option<SqlType> {
    let mut elem = None;
    for d in items.iter().filter(|d| !d.is_unit()) {
        let t = if d.is_int() {
            SqlType::Int8
        } else if d.is_float() {
            SqlType::Float8
        } else if d.is_bool() {
            SqlType::Bool
        } else if d.is_string() || d.is_char() {
            SqlType::Text
        } else if d.is_blob() {
            SqlType::Bytea
        } else {
            return None;
        };
        match &elem {
            None => elem = Some(t),
            Some(e) if *e == t => {}
            Some(_) => return None,
        }
    }
    Some(elem.unwrap_or(SqlType::Text))
}

/// An array binds as a SQL array when its elements share one scalar type
/// (an empty one as `text[]`, which converts to any array type), else as jsonb.
fn array_param(items: Array, target: &str) -> Result<Value, Box<EvalAltResult>> {
    let items: Array = items.into_iter().map(Dynamic::flatten).collect();
    match element_type(&items) {
        Some(elem) => {
            let values = items
                .into_iter()
                .map(|d| from_dynamic(d, target))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::array(elem, values))
        }
        None => Ok(Value::Jsonb(to_json(Dynamic::from_array(items), target)?)),
    }
}

/// A Rhai value as a JSON document.
pub(crate) fn to_json(d: Dynamic, target: &str) -> Result<serde_json::Value, Box<EvalAltResult>> {
    use serde_json::Value as J;
    let d = d.flatten();
    if let Some(j) = d.read_lock::<Json>() {
        return Ok(j.0.clone());
    }
    if d.is_unit() {
        return Ok(J::Null);
    }
    if let Ok(b) = d.as_bool() {
        return Ok(J::Bool(b));
    }
    if let Ok(i) = d.as_int() {
        return Ok(J::from(i));
    }
    if let Ok(f) = d.as_float() {
        return serde_json::Number::from_f64(f)
            .map(J::Number)
            .ok_or_else(|| {
                raise(binding_error(
                    ErrorKind::InvalidValue,
                    format!("invalid value for {target}: NaN and infinities are not JSON"),
                ))
            });
    }
    if let Ok(c) = d.as_char() {
        return Ok(J::String(c.to_string()));
    }
    if d.is_string() {
        return Ok(J::String(d.into_string().unwrap_or_default()));
    }
    if d.is_array() {
        return d
            .into_array()
            .unwrap_or_default()
            .into_iter()
            .map(|v| to_json(v, target))
            .collect::<Result<Vec<_>, _>>()
            .map(J::Array);
    }
    if d.is_map() {
        let map = d.cast::<Map>();
        let mut out = serde_json::Map::with_capacity(map.len());
        for (k, v) in map {
            out.insert(k.to_string(), to_json(v, target)?);
        }
        return Ok(J::Object(out));
    }
    Err(crate::convert::error::to_rhai(Error::TypeMismatch {
        target: target.to_owned(),
        expected: "a JSON value (() bool int float string array map)".into(),
        found: d.type_name().to_owned(),
    }))
}

/// Registers the `Json` type and `dbridge::json(v)`.
pub(crate) fn register(engine: &mut rhai::Engine, module: &mut rhai::Module) {
    engine
        .register_type_with_name::<Json>("Json")
        .register_fn("to_string", |j: &mut Json| j.0.to_string())
        .register_fn("to_debug", |j: &mut Json| format!("json({})", j.0));
    module.set_native_fn("json", |d: Dynamic| to_json(d, "json()").map(Json));
}
