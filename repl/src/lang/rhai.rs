//! The Rhai session: an engine with dbridge registered, a scope that keeps
//! variables between inputs, and the connected database as `db`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use dbridge_engine::Database;
use dbridge_engine::db::Statement;
use dbridge_engine::schema::Model;
use dbridge_rhai::{Dbridge, ModelV, Options, Query, db_error};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, ParseErrorType, Scope};
use tokio::runtime::Handle;

use super::{Interpreter, Output, ScriptError};
use crate::complete;
use crate::limits::Limits;

mod complete_members;
use crate::render::{Cell, Table};

/// A Rhai session bound to one database.
pub struct RhaiSession {
    engine: Engine,
    scope: Scope<'static>,
    interrupted: Arc<AtomicBool>,
    /// Tracks the transactions each top-level call begins, to roll back those
    /// of a call that a limit or Ctrl-C stopped.
    dbridge: Dbridge,
    limits: Limits,
    clock: Clock,
    /// Ctrl-C stops a wait for the database through it.
    cancel: dbridge_engine::CancelHandle,
}

impl std::fmt::Debug for RhaiSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RhaiSession").finish_non_exhaustive()
    }
}

const INTERRUPTED: &str = "interrupted";
/// What `on_progress` stops a script with when its time is up.
const TIMED_OUT: &str = "timeout";
/// How often (in operations) `on_progress` reads the clock.
const CLOCK_EVERY: u64 = 1024;
/// The longest string a REPL script may build (256 MiB).
pub const REPL_MAX_STRING: usize = 256 << 20;
/// The most items in an array (also a `fetch_all` result) in the REPL.
pub const REPL_MAX_ARRAY: usize = 10_000_000;
/// The most entries in a map in the REPL.
pub const REPL_MAX_MAP: usize = 1_000_000;

/// The deadline of the running top-level call (`--timeout`).
#[derive(Debug, Clone, Default)]
struct Clock {
    limit: Option<Duration>,
    end: Arc<Mutex<Option<Instant>>>,
}

impl Clock {
    /// Starts the running call's clock (if there is a limit).
    fn start(&self) {
        if let Some(limit) = self.limit {
            *self.end.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + limit);
        }
    }

    /// Whether the running call is past its deadline.
    fn is_past(&self) -> bool {
        let end = *self.end.lock().unwrap_or_else(PoisonError::into_inner);
        end.is_some_and(|end| Instant::now() >= end)
    }
}

/// Whether a limit or Ctrl-C stopped the script (errors `try` cannot catch).
fn is_stop(e: &EvalAltResult) -> bool {
    matches!(
        e.unwrap_inner(),
        EvalAltResult::ErrorTerminated(..)
            | EvalAltResult::ErrorTooManyOperations(_)
            | EvalAltResult::ErrorDataTooLarge(..)
    )
}

/// The session's options: no operation limit unless `--budget` (the person at
/// the prompt stops a runaway script with Ctrl-C), sizes bounded so that
/// `s += s` in a loop is an error rather than an abort (tighter with
/// `--memory-limit`), and a progress callback for Ctrl-C and `--timeout`.
fn options(runtime: Handle, limits: &Limits, flag: Arc<AtomicBool>, clock: Clock) -> Options {
    let (strings, arrays, maps) =
        limits
            .rhai_sizes()
            .unwrap_or((REPL_MAX_STRING, REPL_MAX_ARRAY, REPL_MAX_MAP));
    let options = Options::new()
        .runtime(runtime)
        .max_string_size(strings)
        .max_array_size(arrays)
        .max_map_size(maps)
        .on_progress(move |ops| {
            if flag.swap(false, Ordering::SeqCst) {
                return Some(Dynamic::from(INTERRUPTED));
            }
            (ops % CLOCK_EVERY == 0 && clock.is_past()).then(|| Dynamic::from(TIMED_OUT))
        });
    match limits.budget {
        Some(n) => options.max_operations(n),
        None => options,
    }
}

impl RhaiSession {
    /// An engine with dbridge registered (no operation limit: the person at
    /// the prompt stops a runaway script with Ctrl-C) and `db` in scope.
    ///
    /// # Errors
    /// If dbridge cannot be registered.
    pub fn new(
        db: Database,
        runtime: Handle,
        interrupted: Arc<AtomicBool>,
    ) -> dbridge_engine::Result<Self> {
        Self::with_limits(db, runtime, interrupted, Limits::default())
    }

    /// As [`Self::new`], each top-level call bounded by `limits` (operations,
    /// value sizes, wall-clock time).
    ///
    /// # Errors
    /// If dbridge cannot be registered.
    pub fn with_limits(
        db: Database,
        runtime: Handle,
        interrupted: Arc<AtomicBool>,
        limits: Limits,
    ) -> dbridge_engine::Result<Self> {
        let mut engine = Engine::new();
        let clock = Clock {
            limit: limits.timeout,
            ..Clock::default()
        };
        let cancel = dbridge_engine::CancelHandle::new();
        let opts = options(runtime, &limits, interrupted.clone(), clock.clone())
            .cancel_handle(cancel.clone());
        let dbridge = dbridge_rhai::register(&mut engine, opts)?;
        dbridge.keep_empty_headers(true);
        let mut scope = Scope::new();
        scope.push("db", dbridge.database(db));
        Ok(Self {
            engine,
            scope,
            interrupted,
            dbridge,
            limits,
            clock,
            cancel,
        })
    }

    /// Runs one top-level call: resets Ctrl-C, starts the clock, and rolls
    /// back the transactions the call began if a limit or Ctrl-C stopped it
    /// (a `let tx = db.begin()` would otherwise keep its locks in the scope).
    fn call<T>(
        &mut self,
        f: impl FnOnce(&Engine, &mut Scope<'static>) -> Result<T, Box<EvalAltResult>>,
    ) -> Result<T, ScriptError> {
        self.interrupted.store(false, Ordering::SeqCst);
        self.clock.start();
        self.dbridge.begin_call();
        let out = f(&self.engine, &mut self.scope);
        let stopped = out.as_ref().is_err_and(|e| is_stop(e));
        self.dbridge.end_call(stopped);
        out.map_err(|e| self.error(&e))
    }

    fn error(&self, e: &EvalAltResult) -> ScriptError {
        if let Some(db) = db_error(e) {
            return ScriptError {
                kind: db.kind().to_string(),
                message: db.message().to_string(),
                traceback: None,
                notes: Vec::new(),
            };
        }
        let (kind, message) = self.kind_and_message(e.unwrap_inner());
        ScriptError {
            kind: kind.into(),
            message,
            traceback: Some(format!("{e:?}")),
            notes: Vec::new(),
        }
    }

    /// The kind and message of a Rhai error; limits get the REPL's names.
    fn kind_and_message(&self, e: &EvalAltResult) -> (&'static str, String) {
        match e {
            EvalAltResult::ErrorTerminated(v, _) if v.to_string() == TIMED_OUT => (
                "timeout",
                format!(
                    "the script ran past its time limit of {:?} and was stopped",
                    self.limits.timeout.unwrap_or_default()
                ),
            ),
            EvalAltResult::ErrorTerminated(..) => ("interrupted", "interrupted".into()),
            EvalAltResult::ErrorTooManyOperations(_) => (
                "budget_exceeded",
                format!(
                    "the script ran past its budget of {} operations and was stopped",
                    self.limits.budget.unwrap_or_default()
                ),
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => (
                "out_of_memory",
                format!("{what} too large: {}", self.sizes()),
            ),
            EvalAltResult::ErrorParsing(..) => ("syntax", e.to_string()),
            other => ("runtime", other.to_string()),
        }
    }

    /// The size limits, for `out_of_memory` messages.
    fn sizes(&self) -> String {
        let (s, a, m) =
            self.limits
                .rhai_sizes()
                .unwrap_or((REPL_MAX_STRING, REPL_MAX_ARRAY, REPL_MAX_MAP));
        let from = if self.limits.memory.is_some() {
            "from --memory-limit"
        } else {
            "the REPL's defaults"
        };
        format!(
            "values are limited to {s} string bytes, {a} array items and {m} map entries ({from})"
        )
    }

    /// The value of the expression `expr`.
    fn value(&mut self, expr: &str) -> Result<Dynamic, ScriptError> {
        self.call(|engine, scope| engine.eval_with_scope::<Dynamic>(scope, expr))
    }

    fn output(v: &Dynamic) -> Option<Output> {
        if v.is_unit() {
            return None;
        }
        // Instances print as their loaded columns: one as a record, a list as a table.
        if let Some(inst) = v.read_lock::<dbridge_rhai::Obj>() {
            return Some(Output::Record(records(vec![inst.fields()])));
        }
        if let Some(arr) = v.read_lock::<Array>()
            && !arr.is_empty()
            && arr.iter().all(|x| x.is::<dbridge_rhai::Obj>())
        {
            let items = arr
                .iter()
                .filter_map(|x| x.read_lock::<dbridge_rhai::Obj>().map(|i| i.fields()))
                .collect();
            return Some(Output::Table(records(items)));
        }
        if let Some(arr) = v.read_lock::<Array>()
            && !arr.is_empty()
            && arr.iter().all(|x| x.is_map())
        {
            return Some(Output::Table(rows(&arr)));
        }
        if let Some(map) = v.read_lock::<Map>() {
            return Some(Output::Record(rows(&[Dynamic::from_map(map.clone())])));
        }
        Some(Output::Text(v.to_string()))
    }
}

fn cell(v: &Dynamic) -> Cell {
    if v.is_unit() {
        Cell::Null
    } else if let Ok(b) = v.as_bool() {
        Cell::Bool(b)
    } else if v.is_int() || v.is_float() {
        Cell::Number(v.to_string())
    } else if v.is_array() || v.is_map() {
        // Nested arrays and maps print as JSON values.
        rhai::serde::from_dynamic::<serde_json::Value>(v)
            .map_or_else(|_| Cell::Text(v.to_string()), Cell::Json)
    } else {
        Cell::Text(v.to_string())
    }
}

/// Object maps as rows (maps keep their keys sorted).
fn rows(items: &[Dynamic]) -> Table {
    let maps = items
        .iter()
        .filter_map(|d| {
            d.read_lock::<Map>()
                .map(|m| m.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
        })
        .collect();
    records(maps)
}

/// Records of fields as rows; columns in order of first appearance.
fn records(items: Vec<Vec<(String, Dynamic)>>) -> Table {
    let mut columns: Vec<String> = Vec::new();
    for fields in &items {
        for (k, _) in fields {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let rows = items
        .iter()
        .map(|fields| {
            columns
                .iter()
                .map(|c| {
                    fields
                        .iter()
                        .find(|(k, _)| k == c)
                        .map_or(Cell::Null, |(_, v)| cell(v))
                })
                .collect()
        })
        .collect();
    Table { columns, rows }
}

impl Interpreter for RhaiSession {
    /// Ctrl-C stops a statement the script waits for (on the server too); the
    /// interrupt flag stops the script itself at its next operation.
    fn interrupter(&self) -> Option<super::Interrupter> {
        let cancel = self.cancel.clone();
        Some(Arc::new(move || cancel.cancel()))
    }

    fn is_complete(&self, src: &str) -> bool {
        match self.engine.compile_with_scope(&self.scope, src) {
            Ok(_) => true,
            Err(e) => match *e.0 {
                ParseErrorType::UnexpectedEOF => false,
                // A closing token missing at the very end means "more to come".
                ParseErrorType::MissingToken(..) => !at_end(src, e.1),
                _ => true,
            },
        }
    }

    fn eval(&mut self, src: &str) -> Result<Vec<Output>, ScriptError> {
        self.dbridge.take_empty_header();
        let v = self.call(|engine, scope| engine.eval_with_scope::<Dynamic>(scope, src))?;
        // An empty array from a query keeps the query's header.
        let header = self.dbridge.take_empty_header();
        if let Some(columns) = header
            && v.read_lock::<Array>().is_some_and(|a| a.is_empty())
        {
            return Ok(vec![Output::Table(Table {
                columns,
                rows: Vec::new(),
            })]);
        }
        Ok(Self::output(&v).into_iter().collect())
    }

    fn reflect(&mut self) -> Result<Vec<String>, ScriptError> {
        let models =
            self.call(|engine, scope| engine.eval_with_scope::<rhai::Map>(scope, "db.reflect()"))?;
        let mut names = Vec::new();
        for (name, model) in models {
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if valid && !self.scope.contains(name.as_str()) {
                self.scope.push(name.to_string(), model);
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    fn run_script(&mut self, src: &str, name: &str, args: &[String]) -> Result<(), ScriptError> {
        let arg: Array = std::iter::once(name.to_string())
            .chain(args.iter().cloned())
            .map(Dynamic::from)
            .collect();
        self.scope.set_or_push("ARGS", arg);
        let body = if src.starts_with("#!") {
            format!("//{src}")
        } else {
            src.to_owned()
        };
        self.call(|engine, scope| engine.run_with_scope(scope, &body))
    }

    fn models(&mut self) -> Result<Vec<Model>, ScriptError> {
        let all = self.value("db.models()")?;
        let mut models: Vec<Model> = all
            .read_lock::<Array>()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.read_lock::<ModelV>().map(|m| m.model().clone()))
                    .collect()
            })
            .unwrap_or_default();
        models.sort_by(|a, b| a.name().as_str().cmp(b.name().as_str()));
        Ok(models)
    }

    fn model(&mut self, expr: &str) -> Result<Model, ScriptError> {
        let v = self.value(expr)?;
        v.read_lock::<ModelV>()
            .map(|m| m.model().clone())
            .ok_or_else(|| ScriptError::usage(format!("`{expr}` is not a model")))
    }

    fn query_statement(&mut self, expr: &str) -> Result<Statement, ScriptError> {
        let v = self.value(expr)?;
        let Some(q) = v.read_lock::<Query>() else {
            return Err(ScriptError::usage(format!(
                "`{expr}` is not a query (`.explain` takes SQL text or a query)"
            )));
        };
        q.statement().map_err(ScriptError::from)
    }

    fn complete(&self, line: &str) -> Vec<String> {
        let t = complete::target(line);
        let mut names: Vec<String> = match t.sep {
            None => self
                .scope
                .iter_raw()
                .map(|(n, _, _)| n.to_string())
                .collect(),
            Some(_) => self.members(t.receiver),
        };
        names.retain(|n| n.starts_with(t.prefix));
        names.sort();
        names.dedup();
        names
    }

    fn defines(&self, name: &str) -> bool {
        self.scope.contains(name)
    }

    fn keywords(&self) -> &'static [&'static str] {
        &[
            "let", "const", "if", "else", "switch", "do", "while", "loop", "until", "for", "in",
            "continue", "break", "return", "throw", "try", "catch", "fn", "private", "import",
            "export", "as", "true", "false", "this", "global",
        ]
    }
}

/// Whether `pos` is just past the last character of `src`.
fn at_end(src: &str, pos: rhai::Position) -> bool {
    let lines = src.split('\n').count();
    let last = src.rsplit('\n').next().unwrap_or("");
    pos.line() == Some(lines) && pos.position() == Some(last.chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> (tokio::runtime::Runtime, RhaiSession) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let db = rt.block_on(Database::connect("sqlite::memory:")).unwrap();
        let s = RhaiSession::new(db, rt.handle().clone(), Arc::default()).unwrap();
        (rt, s)
    }

    #[test]
    fn open_blocks_and_calls_wait_for_more_lines() {
        let (_rt, s) = session();
        for incomplete in [
            "fn f() {",
            "let x = [1, 2",
            "if x {\n  1",
            "let y = 1 +",
            "db.fetch_all(\"x\"",
            "#{a: 1,",
        ] {
            assert!(!s.is_complete(incomplete), "{incomplete:?}");
        }
        for complete in ["let z = 1", "1 +* 2", "fn f() { 1 }", "let s = \"abc"] {
            assert!(s.is_complete(complete), "{complete:?}");
        }
    }

    #[test]
    fn scope_persists_and_values_print() {
        let (_rt, mut s) = session();
        assert!(s.eval("let x = 20;").unwrap().is_empty());
        assert_eq!(
            s.eval("x * 2 + 2").unwrap(),
            vec![Output::Text("42".into())]
        );
        let out = s
            .eval(r#"db.fetch_all("SELECT 1 AS a, 'b' AS b")"#)
            .unwrap();
        let Output::Table(t) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(t.columns, ["a", "b"]);
    }

    #[test]
    fn completion_follows_return_types() {
        let (_rt, s) = session();
        assert_eq!(s.complete("db.fetch_a"), vec!["fetch_all"]);
        assert!(s.complete("db.query(x).wh").contains(&"where".to_string()));
        let (_rt2, mut s) = session();
        s.eval(
            r#"let Writer = db.model(#{ name: "Writer", table: "writers",
                columns: [["id", "integer", #{ primary_key: true }], ["bio", "text"]] });"#,
        )
        .unwrap();
        let names = s.complete("Writer.b");
        assert!(names.contains(&"bio".to_string()), "{names:?}");
        assert_eq!(
            complete_members::ok_type(
                "core::result::Result<dbridge_rhai::query::Query,alloc::boxed::Box<E>>"
            ),
            "dbridge_rhai::query::Query"
        );
    }

    #[test]
    fn database_errors_keep_their_kind() {
        let (_rt, mut s) = session();
        let err = s.eval(r#"db.execute("SELEC")"#).unwrap_err();
        assert_eq!(err.kind, "syntax", "{err}");
    }
}
