//! The rustyline helper: multi-line input (an incomplete chunk waits for more
//! lines) and completion of dot-commands, globals, fields and methods.

use std::cell::RefCell;
use std::rc::Rc;

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use crate::commands;
use crate::lang::Interpreter;

/// Shared with the loop, which evaluates through the same interpreter.
pub type Shared = Rc<RefCell<Box<dyn Interpreter>>>;

/// The REPL's line-editor helper.
pub struct ReplHelper {
    interp: Shared,
}

impl ReplHelper {
    /// A helper asking `interp` about completeness and completions.
    pub fn new(interp: Shared) -> Self {
        Self { interp }
    }
}

/// Whether the input is ready to run: dot-commands always are, code when the
/// interpreter says it is complete.
pub fn is_ready(interp: &dyn Interpreter, input: &str) -> bool {
    let trimmed = input.trim();
    trimmed.is_empty() || trimmed.starts_with('.') || interp.is_complete(input)
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let ready = match self.interp.try_borrow() {
            Ok(i) => is_ready(i.as_ref(), ctx.input()),
            Err(_) => true,
        };
        Ok(if ready {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let head = &line[..pos];
        if head.trim_start().starts_with('.') && !head.contains(' ') {
            let start = head.len() - head.trim_start().len();
            return Ok((start, commands::complete(head.trim_start())));
        }
        let start = head
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == ':'))
            .map_or(0, |i| i + 1);
        let found = match self.interp.try_borrow() {
            Ok(i) => i.complete(head),
            Err(_) => Vec::new(),
        };
        Ok((start, found))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Helper for ReplHelper {}
