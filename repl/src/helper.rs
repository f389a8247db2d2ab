//! The rustyline helper: multi-line input (an incomplete chunk waits for more
//! lines), completion (dot-commands, file names after `.import`/`.read`,
//! globals, and members followed through calls), highlighting (keywords,
//! strings, the bracket matching the one at the cursor) and hints from
//! history.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hinter, HistoryHinter};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use crate::commands;
use crate::lang::Interpreter;

/// Shared with the loop, which evaluates through the same interpreter.
pub type Shared = Rc<RefCell<Box<dyn Interpreter>>>;

/// The REPL's line-editor helper.
pub struct ReplHelper {
    interp: Shared,
    files: FilenameCompleter,
    history: HistoryHinter,
    keywords: &'static [&'static str],
    /// Colours on: not when `$NO_COLOR` is set (<https://no-color.org>) or
    /// the terminal is `dumb`.
    colour: bool,
    /// The bracket highlighted at the last redraw, to know when moving the
    /// cursor needs one.
    bracket: std::cell::Cell<Option<usize>>,
}

impl ReplHelper {
    /// A helper asking `interp` about completeness and completions.
    pub fn new(interp: Shared) -> Self {
        let keywords = interp.borrow().keywords();
        Self {
            interp,
            files: FilenameCompleter::new(),
            history: HistoryHinter::new(),
            keywords,
            colour: colour_wanted(),
            bracket: std::cell::Cell::new(None),
        }
    }
}

/// Whether to colour the input: not with `$NO_COLOR` set or a `dumb` terminal.
pub fn colour_wanted() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    !no_color && !dumb
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

/// Dot-commands whose argument is a file.
const FILE_COMMANDS: &[&str] = &[".import", ".read"];

fn pairs(words: Vec<String>) -> Vec<Pair> {
    words
        .into_iter()
        .map(|w| Pair {
            display: w.clone(),
            replacement: w,
        })
        .collect()
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        let trimmed = head.trim_start();
        if trimmed.starts_with('.') {
            match trimmed.split_once(' ') {
                None => {
                    let start = head.len() - trimmed.len();
                    return Ok((start, pairs(commands::complete(trimmed))));
                }
                Some((cmd, _)) if FILE_COMMANDS.contains(&cmd) => {
                    return self.files.complete(line, pos, ctx);
                }
                Some(_) => return Ok((pos, Vec::new())),
            }
        }
        let found = match self.interp.try_borrow() {
            Ok(i) => i.complete(head),
            Err(_) => Vec::new(),
        };
        let typed = crate::complete::target(head).prefix.len();
        Ok((pos - typed, pairs(found)))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<String> {
        self.history.hint(line, pos, ctx)
    }
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        if !self.colour {
            return Cow::Borrowed(line);
        }
        self.bracket.set(matching_bracket(line, pos));
        Cow::Owned(highlight(line, pos, self.keywords))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if !self.colour {
            return Cow::Borrowed(hint);
        }
        Cow::Owned(format!("{DIM}{hint}{RESET}"))
    }

    fn highlight_char(&self, line: &str, pos: usize, kind: CmdKind) -> bool {
        if !self.colour {
            return false;
        }
        match kind {
            // A cursor move redraws only when the bracket to show changes.
            CmdKind::MoveCursor => matching_bracket(line, pos) != self.bracket.get(),
            _ => true,
        }
    }
}

impl Helper for ReplHelper {}

const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const COMMAND: &str = "\x1b[1;35m";
const BRACKET: &str = "\x1b[1;7m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// `line` with ANSI colours: keywords, string literals, a leading
/// dot-command, and the bracket matching the one at (or just before) `pos`.
pub fn highlight(line: &str, pos: usize, keywords: &[&str]) -> String {
    let matching = matching_bracket(line, pos);
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut out = String::with_capacity(line.len() + 16);
    let mut i = 0;
    if line.trim_start().starts_with('.') {
        let end = line.find(' ').unwrap_or(line.len());
        out.push_str(COMMAND);
        out.push_str(&line[..end]);
        out.push_str(RESET);
        out.push_str(&line[end..]);
        return out;
    }
    while i < chars.len() {
        let (at, c) = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            let mut j = i + 1;
            while j < chars.len() && chars[j].1 != c {
                if chars[j].1 == '\\' {
                    j += 1;
                }
                j += 1;
            }
            let end = chars.get(j + 1).map_or(line.len(), |(b, _)| *b);
            out.push_str(STRING);
            out.push_str(&line[at..end]);
            out.push_str(RESET);
            i = j + 1;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let mut j = i;
            while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                j += 1;
            }
            let end = chars.get(j).map_or(line.len(), |(b, _)| *b);
            let word = &line[at..end];
            let after_dot = line[..at].ends_with(['.', ':']);
            if !after_dot && keywords.contains(&word) {
                out.push_str(KEYWORD);
                out.push_str(word);
                out.push_str(RESET);
            } else {
                out.push_str(word);
            }
            i = j;
            continue;
        }
        if Some(at) == matching {
            out.push_str(BRACKET);
            out.push(c);
            out.push_str(RESET);
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// The byte index of the bracket matching the one at `pos` or just before
/// it (strings are not skipped: a rough match is enough for the eye).
pub fn matching_bracket(line: &str, pos: usize) -> Option<usize> {
    let b = line.as_bytes();
    let at = [Some(pos), pos.checked_sub(1)]
        .into_iter()
        .flatten()
        .find(|&i| i < b.len() && b"()[]{}".contains(&b[i]))?;
    let (open, close, forward) = match b[at] {
        b'(' => (b'(', b')', true),
        b'[' => (b'[', b']', true),
        b'{' => (b'{', b'}', true),
        b')' => (b'(', b')', false),
        b']' => (b'[', b']', false),
        _ => (b'{', b'}', false),
    };
    let mut depth = 0i32;
    if forward {
        for (i, &c) in b.iter().enumerate().skip(at) {
            depth += i32::from(c == open) - i32::from(c == close);
            if depth == 0 {
                return Some(i);
            }
        }
    } else {
        for i in (0..=at).rev() {
            depth += i32::from(b[i] == close) - i32::from(b[i] == open);
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_keywords_strings_and_the_matching_bracket() {
        let out = highlight("local s = 'end' (x)", 18, &["local", "end"]);
        assert!(
            out.starts_with(&format!("{KEYWORD}local{RESET}")),
            "{out:?}"
        );
        assert!(out.contains(&format!("{STRING}'end'{RESET}")), "{out:?}");
        assert!(out.contains(&format!("{BRACKET}({RESET}")), "{out:?}");
        // A keyword used as a method name is not one.
        assert!(!highlight("q:end()", 0, &["end"]).contains(KEYWORD));
    }

    #[test]
    fn finds_the_matching_bracket() {
        assert_eq!(matching_bracket("f(a(b))", 1), Some(6));
        assert_eq!(matching_bracket("f(a(b))", 7), Some(1));
        assert_eq!(matching_bracket("f(a", 1), None);
    }
}
