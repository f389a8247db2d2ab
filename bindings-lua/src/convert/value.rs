//! Engine [`Value`]s to Lua and back, and result rows as Lua tables.
//!
//! The mapping is documented for script authors in `docs/lua.md`; in short:
//! NULL is `nil` (an absent key in a row) or `dbridge.null` where `nil` cannot
//! stand (array elements, JSON null); integers stay integers, floats floats;
//! numeric is its exact decimal text; json / jsonb are tables; bytea is a Lua
//! string of the raw bytes; uuid, dates, times, timestamps, intervals, network
//! types and enums are their PostgreSQL text form; arrays are sequences.

use std::sync::Arc;

use dbridge_engine::db::Columns;
use dbridge_engine::{ErrorKind, Row, SqlType, Value};
use mlua::{LuaSerdeExt, UserData, Value as LuaValue};

use crate::convert::error::LuaDbError;

/// `dbridge.json(v)`: a Lua value to bind as json(b) whatever its shape.
#[derive(Debug, Clone)]
pub(crate) struct JsonParam(pub(crate) serde_json::Value);

impl UserData for JsonParam {}

/// `dbridge.bytes(s)`: a Lua string to bind as bytea even when it is valid UTF-8.
#[derive(Debug, Clone)]
pub(crate) struct BytesParam(pub(crate) Vec<u8>);

impl UserData for BytesParam {}

/// Serializer options for JSON going to Lua: JSON null becomes `dbridge.null`
/// and arrays carry the array metatable (so `[]` and `{}` stay apart).
fn json_to_lua_options() -> mlua::serde::SerializeOptions {
    mlua::serde::SerializeOptions::new()
        .set_array_metatable(true)
        .serialize_none_to_null(true)
        .serialize_unit_to_null(true)
}

/// A non-NULL cell (or array element) as a Lua value; `Value::Null` becomes `null`
/// (the caller decides whether that is `nil` or `dbridge.null`).
pub(crate) fn to_lua(lua: &mlua::Lua, v: &Value, null: LuaValue) -> mlua::Result<LuaValue> {
    Ok(match v {
        Value::Null => null,
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Int2(i) => LuaValue::Integer((*i).into()),
        Value::Int4(i) => LuaValue::Integer((*i).into()),
        Value::Int8(i) => LuaValue::Integer(*i),
        Value::Float4(f) => LuaValue::Number((*f).into()),
        Value::Float8(f) => LuaValue::Number(*f),
        Value::Text(s) => LuaValue::String(lua.create_string(s)?),
        Value::Bytes(b) => LuaValue::String(lua.create_string(b)?),
        Value::Json(j) | Value::Jsonb(j) => lua.to_value_with(j, json_to_lua_options())?,
        Value::Array(a) => {
            let t = lua.create_table_with_capacity(a.items.len(), 0)?;
            for (i, item) in a.items.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item, lua.null())?)?;
            }
            t.set_metatable(Some(lua.array_metatable()))?;
            LuaValue::Table(t)
        }
        // numeric, uuid, temporal, interval, network types, enums: their text form.
        other => LuaValue::String(lua.create_string(other.to_text().unwrap_or_default())?),
    })
}

/// Converts rows to Lua tables, creating each column name's Lua string once per
/// result (rows of one result share their [`Columns`]), and reading the columns
/// named in a query's `types` option as those types.
pub(crate) struct RowBuilder {
    columns: Option<Arc<Columns>>,
    keys: Vec<mlua::LuaString>,
    wanted: Vec<(String, SqlType)>,
    types: Vec<Option<SqlType>>,
}

impl RowBuilder {
    /// A builder that reads column `name` as `type` for each pair.
    pub(crate) fn with_types(wanted: Vec<(String, SqlType)>) -> Self {
        Self {
            columns: None,
            keys: Vec::new(),
            wanted,
            types: Vec::new(),
        }
    }

    /// The row as a table keyed by column name; NULL cells are absent keys.
    pub(crate) fn build(&mut self, lua: &mlua::Lua, row: &Row) -> Result<mlua::Table, LuaDbError> {
        let same = self
            .columns
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, row.columns()) || **c == **row.columns());
        if !same {
            let names = row.columns().names();
            self.keys = names
                .iter()
                .map(|n| lua.create_string(&**n))
                .collect::<mlua::Result<_>>()
                .map_err(internal)?;
            self.types = names
                .iter()
                .map(|n| {
                    self.wanted
                        .iter()
                        .find(|(w, _)| w.as_str() == &**n)
                        .map(|(_, t)| t.clone())
                })
                .collect();
            self.columns = Some(row.columns().clone());
        }
        let t = lua
            .create_table_with_capacity(0, self.keys.len())
            .map_err(internal)?;
        for (i, (key, v)) in self.keys.iter().zip(row.values()).enumerate() {
            if v.is_null() {
                continue;
            }
            let lv = match self.types.get(i).and_then(Option::as_ref) {
                None => to_lua(lua, v, LuaValue::Nil),
                Some(ty) => {
                    let name = row.columns().names().get(i).map_or("?", |n| &**n);
                    let v = retype(v.clone(), ty, name)?;
                    to_lua(lua, &v, LuaValue::Nil)
                }
            };
            t.raw_set(key, lv.map_err(internal)?).map_err(internal)?;
        }
        Ok(t)
    }
}

impl RowBuilder {
    /// Rows as an array of row tables: the one-call fast path when no column
    /// is read as a chosen type and every cell is plain, else row by row.
    pub(crate) fn build_all(
        &mut self,
        lua: &mlua::Lua,
        rows: &[Row],
    ) -> Result<mlua::Table, LuaDbError> {
        if self.wanted.is_empty()
            && let Some(fast) = crate::convert::row_batch::build(lua, rows)
        {
            return fast.map_err(internal);
        }
        let out = lua
            .create_table_with_capacity(rows.len(), 0)
            .map_err(internal)?;
        for (i, row) in rows.iter().enumerate() {
            out.raw_set(i + 1, self.build(lua, row)?)
                .map_err(internal)?;
        }
        Ok(out)
    }
}

/// A cell read as `ty` (SQLite returns cells by storage class).
fn retype(v: Value, ty: &SqlType, column: &str) -> Result<Value, LuaDbError> {
    match (v, ty) {
        (Value::Int8(0), SqlType::Bool) => Ok(Value::Bool(false)),
        (Value::Int8(1), SqlType::Bool) => Ok(Value::Bool(true)),
        (v, ty) => Ok(v.coerce(ty, &format!("column \"{column}\""))?),
    }
}

/// The `types` option of a query: `{ column = "type name", ... }`.
pub(crate) fn result_types(
    opts: &LuaValue,
    func: &str,
) -> Result<Vec<(String, SqlType)>, LuaDbError> {
    let t = match opts {
        LuaValue::Nil => return Ok(Vec::new()),
        LuaValue::Table(t) => t,
        other => return Err(LuaDbError::argument(func, 3, "a table of options", other)),
    };
    let mut out = Vec::new();
    for pair in t.pairs::<String, LuaValue>() {
        let (k, v) = pair.map_err(lua_err)?;
        match (k.as_str(), v) {
            ("types", LuaValue::Table(types)) => {
                for pair in types.pairs::<String, String>() {
                    let (col, ty) = pair.map_err(|_| {
                        LuaDbError::new(
                            ErrorKind::TypeMismatch,
                            format!("`{func}`: types must map column names to type names"),
                        )
                    })?;
                    out.push((col, ty.parse::<SqlType>()?));
                }
            }
            (other, _) => {
                return Err(LuaDbError::new(
                    ErrorKind::Configuration,
                    format!("`{func}`: unknown or mistyped option `{other}` (types = table)"),
                ));
            }
        }
    }
    Ok(out)
}

fn internal(e: mlua::Error) -> LuaDbError {
    crate::convert::error::lua_err(e)
}

/// Whether `v` is `dbridge.null` (mlua's null light userdata).
pub(crate) fn is_null(v: &LuaValue) -> bool {
    matches!(v, LuaValue::LightUserData(p) if p.0.is_null())
}

/// The parameters of a call: `nil`, or a table whose integer keys are the
/// positions (holes are NULL, so `{1, nil, 3}` is three parameters).
pub(crate) fn params(lua: &mlua::Lua, func: &str, v: LuaValue) -> Result<Vec<Value>, LuaDbError> {
    let t = match v {
        LuaValue::Nil => return Ok(Vec::new()),
        LuaValue::Table(t) => t,
        other => {
            return Err(LuaDbError::argument(
                func,
                2,
                "a table of parameters",
                &other,
            ));
        }
    };
    let mut slots: Vec<(usize, LuaValue)> = Vec::with_capacity(t.raw_len());
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair.map_err(lua_err)?;
        match k {
            LuaValue::Integer(i) if (1..=65_535).contains(&i) => slots.push((i as usize, v)),
            // `n` as in table.pack: the count, for trailing nils.
            LuaValue::String(s) if s.as_bytes().as_ref() == b"n" => {}
            _ => {
                return Err(LuaDbError::new(
                    ErrorKind::TypeMismatch,
                    format!("parameters of `{func}` must be a sequence ($1 is params[1])"),
                ));
            }
        }
    }
    let declared = t.raw_get::<Option<i64>>("n").ok().flatten().unwrap_or(0);
    if !(0..=65_535).contains(&declared) {
        return Err(LuaDbError::new(
            ErrorKind::InvalidValue,
            format!("parameters of `{func}`: `n` must be between 0 and 65535"),
        ));
    }
    let len = slots
        .iter()
        .map(|(i, _)| *i)
        .max()
        .unwrap_or(0)
        .max(usize::try_from(declared).unwrap_or(0));
    let mut out = vec![Value::Null; len];
    for (i, v) in slots {
        if let Some(slot) = out.get_mut(i - 1) {
            *slot = from_lua(lua, v, i)?;
        }
    }
    Ok(out)
}

/// A Lua value bound as parameter `$index`.
pub(crate) fn from_lua(lua: &mlua::Lua, v: LuaValue, index: usize) -> Result<Value, LuaDbError> {
    Ok(match v {
        LuaValue::Nil => Value::Null,
        ref n if is_null(n) => Value::Null,
        LuaValue::Boolean(b) => Value::Bool(b),
        LuaValue::Integer(i) => Value::Int8(i),
        LuaValue::Number(f) => Value::Float8(f),
        LuaValue::String(s) => string_value(&s),
        LuaValue::Table(t) => table_value(lua, t, index)?,
        LuaValue::UserData(ud) => {
            if let Ok(j) = ud.borrow::<JsonParam>() {
                Value::Jsonb(j.0.clone())
            } else if let Ok(b) = ud.borrow::<BytesParam>() {
                Value::Bytes(b.0.clone())
            } else {
                return Err(unbindable(index, "this userdata"));
            }
        }
        other => return Err(unbindable(index, other.type_name())),
    })
}

fn unbindable(index: usize, what: &str) -> LuaDbError {
    LuaDbError::new(
        ErrorKind::TypeMismatch,
        format!("parameter ${index}: {what} cannot be bound as a SQL value"),
    )
}

fn lua_err(e: mlua::Error) -> LuaDbError {
    LuaDbError::new(ErrorKind::TypeMismatch, e.to_string())
}

fn string_value(s: &mlua::LuaString) -> Value {
    let bytes = s.as_bytes();
    match std::str::from_utf8(&bytes) {
        Ok(text) => Value::Text(text.to_owned()),
        Err(_) => Value::Bytes(bytes.to_vec()),
    }
}

/// A table parameter: a sequence of scalars is an array (which the engine also
/// binds to json / jsonb); anything else is JSON.
fn table_value(lua: &mlua::Lua, t: mlua::Table, index: usize) -> Result<Value, LuaDbError> {
    let marked = t.metatable().is_some_and(|m| m == lua.array_metatable());
    let n = t.raw_len();
    if (n > 0 || marked)
        && let Some(v) = scalar_array(&t, n)?
    {
        return Ok(v);
    }
    let json: serde_json::Value = lua.from_value(LuaValue::Table(t)).map_err(|e| {
        LuaDbError::new(ErrorKind::TypeMismatch, format!("parameter ${index}: {e}"))
    })?;
    Ok(Value::Jsonb(json))
}

/// `Some(array)` when `t` is exactly the sequence `1..=n` of scalars of one kind.
fn scalar_array(t: &mlua::Table, n: usize) -> Result<Option<Value>, LuaDbError> {
    #[derive(PartialEq, Clone, Copy)]
    enum Kind {
        None,
        Int,
        Float,
        Text,
        Bool,
    }
    let mut kind = Kind::None;
    let mut items = Vec::with_capacity(n);
    let mut count = 0usize;
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, _) = pair.map_err(lua_err)?;
        count += 1;
        if !matches!(k, LuaValue::Integer(i) if i >= 1 && (i as usize) <= n) {
            return Ok(None);
        }
    }
    if count != n {
        return Ok(None);
    }
    for i in 1..=n {
        let v: LuaValue = t.raw_get(i).map_err(lua_err)?;
        let (k, item) = match v {
            ref x if is_null(x) => (kind, Value::Null),
            LuaValue::Integer(i) => (Kind::Int, Value::Int8(i)),
            LuaValue::Number(f) => (Kind::Float, Value::Float8(f)),
            LuaValue::Boolean(b) => (Kind::Bool, Value::Bool(b)),
            LuaValue::String(s) => match s.to_str() {
                Ok(s) => (Kind::Text, Value::Text(s.to_owned())),
                Err(_) => return Ok(None),
            },
            _ => return Ok(None),
        };
        kind = match (kind, k) {
            (Kind::None, k) => k,
            (a, b) if a == b => a,
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
            _ => return Ok(None),
        };
        items.push(item);
    }
    let elem = match kind {
        Kind::Int => SqlType::Int8,
        Kind::Float => {
            for v in &mut items {
                if let Value::Int8(i) = *v {
                    *v = Value::Float8(i as f64);
                }
            }
            SqlType::Float8
        }
        Kind::Bool => SqlType::Bool,
        Kind::Text | Kind::None => SqlType::Text,
    };
    Ok(Some(Value::array(elem, items)))
}

/// Converts result rows to a Lua array of row tables, as `db:fetch_all` does
/// (column names interned once, NULL cells absent). For hosts that run queries
/// themselves and hand the rows to scripts.
///
/// # Errors
/// A Lua error when memory runs out.
pub fn rows_to_lua(lua: &mlua::Lua, rows: &[Row]) -> mlua::Result<mlua::Table> {
    let out = match crate::convert::row_batch::build(lua, rows) {
        Some(fast) => fast?,
        None => {
            let out = lua.create_table_with_capacity(rows.len(), 0)?;
            let mut b = RowBuilder::with_types(Vec::new());
            for (i, row) in rows.iter().enumerate() {
                let t = b.build(lua, row).map_err(mlua::Error::external)?;
                out.raw_set(i + 1, t)?;
            }
            out
        }
    };
    if let Some(first) = rows.first() {
        crate::convert::inspect::remember(lua, &out, first.columns())?;
    }
    Ok(out)
}
