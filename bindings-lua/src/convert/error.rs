//! Errors as script values: [`LuaDbError`], the one conversion from engine
//! errors, and the failure marker that raw functions return to the prelude.
//!
//! A raw function (written in Rust) never raises a database error itself: it
//! returns [`fail`]`(err)`, that is the pair `(FAIL, err)`, and the prelude's
//! wrapper raises `err` with Lua's own `error`. That way the value a script
//! catches with `pcall` is the [`LuaDbError`] userdata itself (with `kind`,
//! `message`, `traceback` fields) rather than mlua's opaque wrapped error, and it
//! keeps its identity when it is re-raised through `db:transaction`.

use std::fmt;

use dbridge_engine::{Error, ErrorKind};
use mlua::{
    IntoLuaMulti, LightUserData, Lua, MetaMethod, MultiValue, UserData, UserDataFields,
    UserDataMethods, Value,
};

/// The marker a raw function returns as its first value when it failed.
pub(crate) fn fail_marker() -> LightUserData {
    static MARKER: u8 = 0;
    LightUserData(std::ptr::addr_of!(MARKER).cast_mut().cast())
}

/// A database or validation error as scripts see it.
///
/// Fields: `kind` (the engine's [`ErrorKind::as_str`], e.g. `"unique_violation"`),
/// `message` (never containing bound values), `code` (SQLSTATE or SQLite code,
/// or nil), `constraint`, `table`, `column` (where the backend names them),
/// `retryable` (a boolean), and `traceback` (the Lua stack where it was raised).
/// `tostring(err)` gives `"<kind>: <message>"`.
#[derive(Debug, Clone)]
pub struct LuaDbError {
    /// The snake_case kind.
    pub kind: &'static str,
    /// The message, free of bound values.
    pub message: String,
    /// Whether running the transaction again may succeed.
    pub retryable: bool,
    /// Where the error came from, when known.
    pub details: Box<ErrorDetails>,
}

/// The optional parts of a [`LuaDbError`].
#[derive(Debug, Clone, Default)]
pub struct ErrorDetails {
    /// SQLSTATE (PostgreSQL) or extended result code (SQLite).
    pub code: Option<String>,
    /// The violated constraint, if named.
    pub constraint: Option<String>,
    /// The table involved, if named.
    pub table: Option<String>,
    /// The column involved, if named.
    pub column: Option<String>,
    /// The Lua traceback where the error reached the script.
    pub traceback: Option<String>,
}

impl LuaDbError {
    /// An error of `kind` with `message` and nothing else.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind: kind.as_str(),
            message: message.into(),
            retryable: kind.is_retryable(),
            details: Box::default(),
        }
    }

    /// A wrongly typed argument to a dbridge function.
    pub(crate) fn argument(func: &str, n: usize, expected: &str, got: &Value) -> Self {
        Self::new(
            ErrorKind::TypeMismatch,
            format!(
                "bad argument #{n} to `{func}`: expected {expected}, got {}",
                got.type_name()
            ),
        )
    }
}

/// A name argument (a column, attribute or function name): UTF-8 text (a
/// number is taken as its text, as Lua does), or a `type_mismatch` naming the
/// function and argument instead of the driver's conversion message.
pub(crate) fn name_arg(func: &str, n: usize, v: &mlua::Value) -> Result<String, LuaDbError> {
    match v {
        mlua::Value::String(s) => s.to_str().map(|s| s.to_owned()).map_err(|_| {
            LuaDbError::new(
                ErrorKind::TypeMismatch,
                format!(
                    "bad argument #{n} to `{func}`: expected a name in UTF-8 text, got other bytes"
                ),
            )
        }),
        mlua::Value::Integer(i) => Ok(i.to_string()),
        mlua::Value::Number(f) => Ok(f.to_string()),
        other => Err(LuaDbError::argument(func, n, "a name (a string)", other)),
    }
}

impl From<Error> for LuaDbError {
    /// The one conversion from engine errors.
    fn from(e: Error) -> Self {
        let mut out = Self::new(e.kind(), e.to_string());
        if let Some(d) = e.as_database_error() {
            out.details.code = d.code.clone();
            out.details.constraint = d.constraint.clone();
            out.details.table = d.table.clone();
            out.details.column = d.column.clone();
        }
        out
    }
}

impl fmt::Display for LuaDbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for LuaDbError {}

impl UserData for LuaDbError {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("kind", |_, e| Ok(e.kind));
        fields.add_field_method_get("message", |_, e| Ok(e.message.clone()));
        fields.add_field_method_get("code", |_, e| Ok(e.details.code.clone()));
        fields.add_field_method_get("constraint", |_, e| Ok(e.details.constraint.clone()));
        fields.add_field_method_get("table", |_, e| Ok(e.details.table.clone()));
        fields.add_field_method_get("column", |_, e| Ok(e.details.column.clone()));
        fields.add_field_method_get("retryable", |_, e| Ok(e.retryable));
        fields.add_field_method_get("traceback", |_, e| Ok(e.details.traceback.clone()));
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, e, ()| Ok(e.to_string()));
    }
}

/// The result of a raw function: its values, or `(FAIL, err)`.
pub(crate) type Raw = mlua::Result<MultiValue>;

/// `(FAIL, err)` for the prelude to raise.
pub(crate) fn fail(lua: &Lua, err: impl Into<LuaDbError>) -> Raw {
    let err = lua.create_userdata(err.into())?;
    (fail_marker(), err).into_lua_multi(lua)
}

/// Turns a raw function's outcome into its Lua values.
pub(crate) fn raw<T: IntoLuaMulti>(lua: &Lua, r: Result<T, LuaDbError>) -> Raw {
    match r {
        Ok(v) => v.into_lua_multi(lua),
        Err(e) => fail(lua, e),
    }
}

/// Sets the traceback of a [`LuaDbError`] about to be raised (called by the
/// prelude on the failure path only, so the stack is the script's).
pub(crate) fn attach_traceback(lua: &Lua, err: Value) -> mlua::Result<Value> {
    if let Value::UserData(ud) = &err
        && let Ok(mut e) = ud.borrow_mut::<LuaDbError>()
        && e.details.traceback.is_none()
    {
        let tb = lua.traceback(None, 2)?;
        e.details.traceback = Some(tb.to_string_lossy());
    }
    Ok(err)
}

/// The result of a hot raw function: always three values, so that no
/// `MultiValue` is built per call.
pub(crate) type Raw3 = mlua::Result<(Value, Value, Value)>;

/// The kind of the error a database call raises when building its result
/// runs past the state's memory limit.
pub const OUT_OF_MEMORY: &str = "out_of_memory";

/// A Lua failure while building results: out of memory (under the state's
/// memory limit) is `out_of_memory`, anything else `invalid_state`.
pub(crate) fn lua_err(e: mlua::Error) -> LuaDbError {
    let mut err = LuaDbError::new(dbridge_engine::ErrorKind::InvalidState, e.to_string());
    if matches!(e, mlua::Error::MemoryError(_)) {
        err.kind = OUT_OF_MEMORY;
    }
    err
}
