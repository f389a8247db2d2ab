//! The Lua session: a trusted Lua state (all safe standard libraries) with
//! dbridge installed and the connected database as the global `db`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dbridge_engine::Database;
use dbridge_engine::db::Statement;
use dbridge_engine::schema::Model;
use dbridge_lua::mlua::{self, Lua, MultiValue, Value as LuaValue};
use dbridge_lua::{InstallOptions, InterruptHandle, LuaDb, LuaDbError, StdLib};
use tokio::runtime::Handle;

use super::{Interpreter, Output, ScriptError};
use crate::complete;
use crate::limits::Limits;

mod complete_members;
use crate::render::{Cell, Table};
use complete_members::table_keys;

/// A Lua session bound to one database.
pub struct LuaSession {
    lua: Lua,
    runtime: Handle,
    interrupted: Arc<AtomicBool>,
    /// Stops the running chunk (Ctrl-C): the same unswallowable stop as the
    /// instruction budget, rolling back what the chunk opened.
    stop: InterruptHandle,
    /// `function(f, h) return table.pack(xpcall(f, h)) end`: runs a chunk and
    /// keeps the error value (a dbridge error keeps its kind).
    wrapper: mlua::Function,
    /// The message handler: dbridge errors pass through, others get a traceback.
    handler: mlua::Function,
    /// `--memory-limit`, named in out-of-memory errors.
    memory_limit: Option<usize>,
}

impl std::fmt::Debug for LuaSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaSession").finish_non_exhaustive()
    }
}

impl LuaSession {
    /// A Lua state with dbridge installed, `db` set to `db`, and a hook that
    /// stops running code when `interrupted` is raised (Ctrl-C).
    ///
    /// # Errors
    /// If the state cannot be set up.
    pub fn new(db: Database, runtime: Handle, interrupted: Arc<AtomicBool>) -> mlua::Result<Self> {
        Self::with_limits(db, runtime, interrupted, Limits::default())
    }

    /// As [`Self::new`], each top-level call bounded by `limits` (instructions,
    /// the state's memory, wall-clock time).
    ///
    /// # Errors
    /// If the state cannot be set up (also when the memory limit is too small
    /// for it).
    pub fn with_limits(
        db: Database,
        runtime: Handle,
        interrupted: Arc<AtomicBool>,
        limits: Limits,
    ) -> mlua::Result<Self> {
        let opts = InstallOptions::new()
            .libs(StdLib::ALL_SAFE)
            .instruction_budget(limits.budget)
            .memory_limit(limits.memory)
            .call_timeout(limits.timeout)
            .runtime(runtime.clone());
        let lua = dbridge_lua::new_lua(opts)?;
        dbridge_lua::keep_column_order(&lua)?;
        lua.globals().set("db", LuaDb::new(db))?;
        let stop = dbridge_lua::interrupt_handle(&lua)
            .ok_or_else(|| mlua::Error::runtime("dbridge is not installed"))?;
        let wrapper = lua
            .load("return function(f, h) return table.pack(xpcall(f, h)) end")
            .set_name("=dbridge-repl")
            .eval::<mlua::Function>()?;
        let handler = lua.create_function(|lua, e: LuaValue| {
            if e.is_userdata() {
                return Ok(e);
            }
            let msg = scalar_text(&e);
            Ok(LuaValue::String(lua.traceback(Some(&msg), 1)?))
        })?;
        Ok(Self {
            lua,
            runtime,
            interrupted,
            stop,
            wrapper,
            handler,
            memory_limit: limits.memory,
        })
    }

    fn run(&self, src: &str, name: &str) -> Result<MultiValue, ScriptError> {
        self.call(src, name).map_err(|e| self.name_limit(e))
    }

    /// Says which limit an `out_of_memory` error from Lua itself hit.
    fn name_limit(&self, mut e: ScriptError) -> ScriptError {
        if let (Some(limit), true) = (
            self.memory_limit,
            e.kind == dbridge_lua::OUT_OF_MEMORY && e.message == NOT_ENOUGH_MEMORY,
        ) {
            e.message = format!(
                "not enough memory: the Lua state reached its memory limit of {limit} bytes"
            );
        }
        e
    }

    fn call(&self, src: &str, name: &str) -> Result<MultiValue, ScriptError> {
        self.interrupted.store(false, Ordering::SeqCst);
        let chunk = self
            .lua
            .load(src)
            .set_name(name)
            .into_function()
            .map_err(|e| describe(&e))?;
        let wrapper = self.wrapper.clone();
        let handler = self.handler.clone();
        let fut = dbridge_lua::call::<mlua::Table>(&self.lua, &wrapper, (chunk, handler));
        // Ctrl-C (`Interpreter::interrupter`) stops the call whether it computes
        // or waits; its transactions roll back.
        let packed = self.runtime.block_on(fut).map_err(|e| describe(&e))?;
        let n: usize = packed.get("n").unwrap_or(0);
        let ok: bool = packed.raw_get(1).unwrap_or(false);
        let values: Vec<LuaValue> = (2..=n)
            .map(|i| packed.raw_get(i).unwrap_or(LuaValue::Nil))
            .collect();
        if ok {
            return Ok(MultiValue::from_vec(values));
        }
        let err = values.into_iter().next().unwrap_or(LuaValue::Nil);
        Err(error_value(&err).unwrap_or_else(|| {
            let text = scalar_text(&err);
            let (message, traceback) = split_traceback(&text);
            let kind = if message.ends_with("interrupted") {
                "interrupted"
            } else if message == NOT_ENOUGH_MEMORY {
                dbridge_lua::OUT_OF_MEMORY
            } else {
                "runtime"
            };
            ScriptError {
                kind: kind.into(),
                message,
                traceback,
                notes: Vec::new(),
            }
        }))
    }
}

/// Lua's message for an allocation past the memory limit (caught by a
/// `pcall`, it arrives as this plain string).
const NOT_ENOUGH_MEMORY: &str = "not enough memory";

/// The kind, one-line message and traceback of a Lua error.
pub fn describe(e: &mlua::Error) -> ScriptError {
    match e {
        mlua::Error::CallbackError { traceback, cause } => {
            let mut inner = describe(cause);
            inner.traceback.get_or_insert_with(|| traceback.clone());
            inner
        }
        mlua::Error::ExternalError(ext) => match ext.downcast_ref::<LuaDbError>() {
            Some(db) => db_error(db),
            None => ScriptError {
                kind: "runtime".into(),
                message: ext.to_string(),
                traceback: None,
                notes: Vec::new(),
            },
        },
        mlua::Error::SyntaxError { message, .. } => ScriptError {
            kind: "syntax".into(),
            message: message.clone(),
            traceback: None,
            notes: Vec::new(),
        },
        mlua::Error::MemoryError(m) => ScriptError {
            kind: dbridge_lua::OUT_OF_MEMORY.into(),
            message: m.clone(),
            traceback: None,
            notes: Vec::new(),
        },
        mlua::Error::RuntimeError(m) => {
            let (message, traceback) = split_traceback(m);
            ScriptError {
                kind: "runtime".into(),
                message,
                traceback,
                notes: Vec::new(),
            }
        }
        mlua::Error::WithContext { cause, .. } => describe(cause),
        other => ScriptError {
            kind: "runtime".into(),
            message: other.to_string(),
            traceback: None,
            notes: Vec::new(),
        },
    }
}

fn db_error(db: &LuaDbError) -> ScriptError {
    ScriptError {
        kind: db.kind.to_string(),
        message: db.message.clone(),
        traceback: db.details.traceback.clone(),
        notes: Vec::new(),
    }
}

fn split_traceback(m: &str) -> (String, Option<String>) {
    match m.split_once("\nstack traceback:") {
        Some((msg, tb)) => (msg.to_string(), Some(format!("stack traceback:{tb}"))),
        None => (m.to_string(), None),
    }
}

/// A value returned by a chunk that raised a dbridge error object (`error(err)`).
fn error_value(v: &LuaValue) -> Option<ScriptError> {
    let ud = v.as_userdata()?;
    let e = ud.borrow::<LuaDbError>().ok()?;
    Some(db_error(&e))
}

fn scalar_text(v: &LuaValue) -> String {
    match v {
        LuaValue::Nil => "nil".into(),
        LuaValue::Boolean(b) => b.to_string(),
        LuaValue::Integer(i) => i.to_string(),
        LuaValue::Number(n) => n.to_string(),
        LuaValue::String(s) => s.to_string_lossy(),
        other => other
            .to_string()
            .unwrap_or_else(|_| format!("<{}>", other.type_name())),
    }
}

fn cell(v: &LuaValue) -> Cell {
    match v {
        LuaValue::Nil => Cell::Null,
        LuaValue::Boolean(b) => Cell::Bool(*b),
        LuaValue::Integer(_) | LuaValue::Number(_) => Cell::Number(scalar_text(v)),
        LuaValue::Table(_) => Cell::Json(json(v, 0)),
        other => Cell::Text(scalar_text(other)),
    }
}

/// How deep nested tables are shown before `…` (a table may hold itself).
const MAX_DEPTH: usize = 8;

/// A nested value as JSON, for printing it as a value rather than
/// `table: 0x...`: a sequence as an array, other tables as objects with
/// their keys sorted, other values as text.
fn json(v: &LuaValue, depth: usize) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        LuaValue::Nil => J::Null,
        LuaValue::Boolean(b) => J::Bool(*b),
        LuaValue::Integer(i) => J::from(*i),
        LuaValue::Number(n) => serde_json::Number::from_f64(*n).map_or(J::Null, J::Number),
        LuaValue::String(s) => J::String(s.to_string_lossy()),
        LuaValue::Table(_) if depth >= MAX_DEPTH => J::String("…".into()),
        LuaValue::Table(t) => {
            let n = t.raw_len();
            let pairs: Vec<(LuaValue, LuaValue)> = t.pairs().filter_map(Result::ok).collect();
            if n > 0 && pairs.len() == n {
                return J::Array(
                    (1..=n)
                        .map(|i| json(&t.raw_get(i).unwrap_or(LuaValue::Nil), depth + 1))
                        .collect(),
                );
            }
            let mut fields: Vec<(String, J)> = pairs
                .iter()
                .map(|(k, v)| (scalar_text(k), json(v, depth + 1)))
                .collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            J::Object(fields.into_iter().collect())
        }
        other => J::String(scalar_text(other)),
    }
}

impl LuaSession {
    fn is_null(&self, v: &LuaValue) -> bool {
        let null: mlua::Result<LuaValue> = self
            .lua
            .globals()
            .get::<mlua::Table>("dbridge")
            .and_then(|d| d.get("null"));
        matches!(null, Ok(n) if !n.is_nil() && &n == v)
    }

    /// A table's fields: the columns in `order` first (the query's column
    /// order, NULL ones included), then any other keys sorted.
    fn record(&self, t: &mlua::Table, order: Option<&[String]>) -> Table {
        let order = order.unwrap_or_default();
        // The query's columns, NULL ones (absent keys) included.
        let mut pairs: Vec<(String, LuaValue)> = order
            .iter()
            .map(|c| (c.clone(), t.raw_get(c.as_str()).unwrap_or(LuaValue::Nil)))
            .collect();
        let mut rest: Vec<(String, LuaValue)> = t
            .pairs::<LuaValue, LuaValue>()
            .filter_map(Result::ok)
            .map(|(k, v)| (scalar_text(&k), v))
            .filter(|(k, _)| !order.contains(k))
            .collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.extend(rest);
        self.fields(pairs)
    }

    fn fields(&self, pairs: Vec<(String, LuaValue)>) -> Table {
        let columns = pairs.iter().map(|(k, _)| k.clone()).collect();
        let row = pairs.iter().map(|(_, v)| self.cell(v)).collect();
        Table {
            columns,
            rows: vec![row],
        }
    }

    fn cell(&self, v: &LuaValue) -> Cell {
        if self.is_null(v) { Cell::Null } else { cell(v) }
    }

    /// Rows: an array whose elements are all tables (`db:fetch_all(...)`).
    fn rows(&self, t: &mlua::Table) -> Option<Table> {
        let n = t.raw_len();
        let order = dbridge_lua::column_order(&self.lua, t);
        if n == 0 {
            // An empty result of a query still has its header (a record,
            // with keys and no array part, is not a list of rows).
            let empty = t.pairs::<LuaValue, LuaValue>().next().is_none();
            return order.filter(|_| empty).map(|columns| Table {
                columns,
                rows: Vec::new(),
            });
        }
        let mut columns: Vec<String> = Vec::new();
        let mut records = Vec::with_capacity(n);
        for i in 1..=n {
            let rec = self.row(&t.raw_get::<LuaValue>(i).ok()?, order.as_deref())?;
            for c in &rec.columns {
                if !columns.contains(c) {
                    columns.push(c.clone());
                }
            }
            records.push(rec);
        }
        let rows = records
            .into_iter()
            .map(|rec| {
                columns
                    .iter()
                    .map(|c| {
                        rec.columns
                            .iter()
                            .position(|k| k == c)
                            .map_or(Cell::Null, |i| rec.rows[0][i].clone())
                    })
                    .collect()
            })
            .collect();
        Some(Table { columns, rows })
    }

    /// One row to print: an instance as its loaded columns in model order, a
    /// table in `order` (or its own remembered query order); `None` for
    /// anything else.
    fn row(&self, v: &LuaValue, order: Option<&[String]>) -> Option<Table> {
        if let Some(fields) = dbridge_lua::instance_fields(&self.lua, v) {
            return Some(self.fields(fields));
        }
        let LuaValue::Table(t) = v else {
            return None;
        };
        // A list (`{1, 2}`) is a value, not a record.
        if t.raw_len() > 0 && t.pairs::<LuaValue, LuaValue>().count() == t.raw_len() {
            return None;
        }
        match order {
            Some(o) => Some(self.record(t, Some(o))),
            None => Some(self.record(t, dbridge_lua::column_order(&self.lua, t).as_deref())),
        }
    }

    /// The value of the expression `expr`.
    fn value(&self, expr: &str) -> Result<LuaValue, ScriptError> {
        let values = self.run(&format!("return ({expr})"), "=stdin")?;
        Ok(values.into_iter().next().unwrap_or(LuaValue::Nil))
    }

    fn output(&self, v: &LuaValue) -> Output {
        // An instance prints as a record of its loaded columns.
        if let LuaValue::UserData(_) = v
            && let Some(rec) = self.row(v, None)
        {
            return Output::Record(rec);
        }
        match v {
            LuaValue::Table(t) => {
                if let Some(rows) = self.rows(t) {
                    return Output::Table(rows);
                }
                if t.raw_len() > 0 {
                    let items: Vec<String> = (1..=t.raw_len())
                        .map(|i| match t.raw_get::<LuaValue>(i) {
                            Ok(v @ LuaValue::Table(_)) => json(&v, 1).to_string(),
                            Ok(v) => scalar_text(&v),
                            Err(_) => String::new(),
                        })
                        .collect();
                    return Output::Text(format!("{{{}}}", items.join(", ")));
                }
                let rec = self.row(v, None).unwrap_or_else(|| self.fields(Vec::new()));
                if rec.columns.is_empty() {
                    Output::Text("{}".into())
                } else {
                    Output::Record(rec)
                }
            }
            other if self.is_null(other) => Output::Text("NULL".into()),
            other => Output::Text(scalar_text(other)),
        }
    }
}

impl Interpreter for LuaSession {
    fn interrupter(&self) -> Option<super::Interrupter> {
        let stop = self.stop.clone();
        Some(Arc::new(move || stop.interrupt()))
    }

    fn is_complete(&self, src: &str) -> bool {
        if self
            .lua
            .load(format!("return {src}"))
            .into_function()
            .is_ok()
        {
            return true;
        }
        !matches!(
            self.lua.load(src).into_function(),
            Err(mlua::Error::SyntaxError {
                incomplete_input: true,
                ..
            })
        )
    }

    fn eval(&mut self, src: &str) -> Result<Vec<Output>, ScriptError> {
        // An expression prints its value: try it as `return <src>` first.
        let as_expr = format!("return {src}");
        let values = if self.lua.load(&as_expr).into_function().is_ok() {
            self.run(&as_expr, "=stdin")?
        } else {
            self.run(src, "=stdin")?
        };
        if let Some(err) = values.iter().find_map(error_value) {
            return Err(err);
        }
        Ok(values.iter().map(|v| self.output(v)).collect())
    }

    fn reflect(&mut self) -> Result<Vec<String>, ScriptError> {
        const REFLECT: &str = r#"local names = {}
for name, m in pairs(db:reflect()) do
  if rawget(_G, name) == nil and name:match("^[%a_][%w_]*$") then
    _G[name] = m
    names[#names + 1] = name
  end
end
table.sort(names)
return names"#;
        let out = self.run(REFLECT, "=reflect")?;
        Ok(match out.into_iter().next() {
            Some(LuaValue::Table(t)) => t
                .sequence_values::<String>()
                .filter_map(Result::ok)
                .collect(),
            _ => Vec::new(),
        })
    }

    fn run_script(&mut self, src: &str, name: &str, args: &[String]) -> Result<(), ScriptError> {
        let arg = self.lua.create_table().map_err(|e| describe(&e))?;
        arg.raw_set(0, name).map_err(|e| describe(&e))?;
        for (i, a) in args.iter().enumerate() {
            arg.raw_set(i + 1, a.as_str()).map_err(|e| describe(&e))?;
        }
        self.lua
            .globals()
            .set("arg", arg)
            .map_err(|e| describe(&e))?;
        // A shebang line becomes a comment (keeping line numbers), so that
        // scripts can be executable.
        let body = if src.starts_with("#!") {
            format!("--{src}")
        } else {
            src.to_owned()
        };
        self.run(&body, &format!("@{name}")).map(drop)
    }

    fn models(&mut self) -> Result<Vec<Model>, ScriptError> {
        let values = self.run("return db:models()", "=models")?;
        let mut models: Vec<Model> = match values.into_iter().next() {
            Some(LuaValue::Table(t)) => t
                .pairs::<LuaValue, LuaValue>()
                .filter_map(Result::ok)
                .filter_map(|(_, v)| dbridge_lua::model_of_value(&v))
                .collect(),
            _ => Vec::new(),
        };
        models.sort_by(|a, b| a.name().as_str().cmp(b.name().as_str()));
        Ok(models)
    }

    fn model(&mut self, expr: &str) -> Result<Model, ScriptError> {
        let v = self.value(expr)?;
        dbridge_lua::model_of_value(&v)
            .ok_or_else(|| ScriptError::usage(format!("`{expr}` is not a model")))
    }

    fn query_statement(&mut self, expr: &str) -> Result<Statement, ScriptError> {
        let v = self.value(expr)?;
        match dbridge_lua::query_statement(&v) {
            Some(stmt) => stmt.map_err(ScriptError::from),
            None => Err(ScriptError::usage(format!(
                "`{expr}` is not a query (`.explain` takes SQL text or a query)"
            ))),
        }
    }

    fn complete(&self, line: &str) -> Vec<String> {
        let t = complete::target(line);
        let keys = match t.sep {
            None => table_keys(&self.lua.globals()),
            Some(sep) => self.members(t.receiver, sep),
        };
        let mut out: Vec<String> = keys
            .into_iter()
            .filter(|k| k.starts_with(t.prefix) && !k.starts_with("__"))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn keywords(&self) -> &'static [&'static str] {
        &[
            "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
            "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
            "while",
        ]
    }

    fn defines(&self, name: &str) -> bool {
        self.lua
            .globals()
            .raw_get::<LuaValue>(name)
            .is_ok_and(|v| !v.is_nil())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_the_columns_and_relationships_of_a_model() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let db = rt.block_on(Database::connect("sqlite::memory:")).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mut s = LuaSession::new(db, rt.handle().clone(), stop).unwrap();
        s.eval(
            r#"Writer = db:model { name = "Writer", table = "writers",
                columns = { { "id", "integer", primary_key = true }, { "bio", "text" } },
                relations = { books = dbridge.has_many("Book") } }
            Book = db:model { name = "Book", table = "books",
                columns = { { "id", "integer", primary_key = true },
                    { "writer_id", "integer", references = "writers.id" } } }"#,
        )
        .unwrap();
        assert_eq!(s.complete("Writer.b"), vec!["bio", "books"]);
        assert!(s.complete("Writer:").contains(&"describe".to_string()));
        assert!(!s.complete("Writer:").contains(&"bio".to_string()));
        let q = s.complete("db:query(Writer):wh");
        assert_eq!(q, vec!["where"]);
        assert_eq!(s.complete("Writer:get(1).b"), vec!["bio", "books"]);
    }
}
