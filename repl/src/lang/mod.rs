//! The script languages the REPL speaks, behind one trait so that the loop,
//! the commands and the rendering do not care which one is running.

pub mod lua;
pub mod rhai;

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
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error[{}]: {}", self.kind, self.message)
    }
}

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

    /// Completions for the word that ends `line`.
    fn complete(&self, line: &str) -> Vec<String>;
}
