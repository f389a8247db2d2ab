//! The script languages the REPL speaks, behind one trait so that the loop,
//! the commands and the rendering do not care which one is running.

pub mod lua;
pub mod rhai;

use dbridge_engine::db::Statement;
use dbridge_engine::schema::Model;

use crate::render::Table;

/// What evaluating some input produced, for printing.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A scalar or a description, printed as is.
    Text(String),
    /// Rows under columns, printed in the current `.mode`.
    Table(Table),
    /// One record (a single row or instance), printed one field a line.
    Record(Table),
}

/// A script error as the REPL prints it: one line with the kind, and the
/// traceback on request.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptError {
    /// The error kind (`unique_violation`, `syntax`, `runtime`...).
    pub kind: String,
    /// The message, one line.
    pub message: String,
    /// The script traceback, when there is one.
    pub traceback: Option<String>,
    /// Lines printed under the error: the statement with a caret under the
    /// spot the server named, and `hint: ...` lines (see [`crate::diagnose`]).
    pub notes: Vec<String>,
}

impl ScriptError {
    /// An error of `kind` with `message` and nothing else.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
            traceback: None,
            notes: Vec::new(),
        }
    }

    /// Adds a line printed under the error.
    #[must_use]
    pub fn note(mut self, line: impl Into<String>) -> Self {
        self.notes.push(line.into());
        self
    }

    /// A `usage` error: the input was not what a command takes.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new("usage", message)
    }
}

/// An engine error as the REPL prints it: its kind and message (which never
/// holds bound values), and for a database error the statement with a caret
/// under the spot the server named ([`crate::diagnose::caret`]).
impl From<dbridge_engine::Error> for ScriptError {
    fn from(e: dbridge_engine::Error) -> Self {
        let notes = e
            .as_database_error()
            .map(crate::diagnose::caret)
            .unwrap_or_default();
        Self {
            kind: e.kind().as_str().into(),
            message: e.to_string(),
            traceback: None,
            notes,
        }
    }
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error[{}]: {}", self.kind, self.message)
    }
}

/// Stops the running statement from another thread (Ctrl-C).
pub type Interrupter = std::sync::Arc<dyn Fn() + Send + Sync>;

/// A language session: evaluates input, tells complete input from a chunk that
/// needs more lines, and offers completions.
pub trait Interpreter {
    /// Whether `src` is a whole statement (or fails for a reason other than
    /// being cut short): the REPL waits for more lines otherwise.
    fn is_complete(&self, src: &str) -> bool;

    /// Evaluates input typed at the prompt; an expression's value is returned
    /// for printing.
    ///
    /// # Errors
    /// The script's error, with its kind.
    fn eval(&mut self, src: &str) -> Result<Vec<Output>, ScriptError>;

    /// Runs a script file's text with `args` available to it.
    ///
    /// # Errors
    /// The script's error, with its kind.
    fn run_script(&mut self, src: &str, name: &str, args: &[String]) -> Result<(), ScriptError>;

    /// Makes models of the database's existing tables and binds each to a
    /// global of its table's name (unless that name is taken); returns the
    /// names bound. The default binds none.
    ///
    /// # Errors
    /// The script's error, with its kind.
    fn reflect(&mut self) -> Result<Vec<String>, ScriptError> {
        Ok(Vec::new())
    }

    /// The declared and reflected models (`.models`).
    ///
    /// # Errors
    /// The script's error, with its kind.
    fn models(&mut self) -> Result<Vec<Model>, ScriptError>;

    /// The model that the expression `expr` evaluates to (`.describe`).
    ///
    /// # Errors
    /// The script's error, or a `usage` error when it is not a model.
    fn model(&mut self, expr: &str) -> Result<Model, ScriptError>;

    /// The statement the query that `expr` evaluates to would run
    /// (`.explain`).
    ///
    /// # Errors
    /// The script's error, or a `usage` error when it is not a query.
    fn query_statement(&mut self, expr: &str) -> Result<Statement, ScriptError>;

    /// Completions for the name that ends `line`: a global, or a member of
    /// the expression before the last `.`/`:` (followed through calls: a
    /// query builder offers its methods, a model its columns). The names
    /// only: each replaces what was typed of the name.
    fn complete(&self, line: &str) -> Vec<String>;

    /// Whether the session defines the global (Lua) or variable (Rhai)
    /// `name` (a bare `help` means `.help` unless it does).
    fn defines(&self, _name: &str) -> bool {
        false
    }

    /// The keywords of the language, for highlighting.
    fn keywords(&self) -> &'static [&'static str] {
        &[]
    }

    /// What Ctrl-C calls, besides raising the session's interrupt flag, to
    /// stop a running statement in a way scripts cannot catch. The default
    /// relies on the flag alone.
    fn interrupter(&self) -> Option<Interrupter> {
        None
    }
}
