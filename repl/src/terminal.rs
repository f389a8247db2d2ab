//! The terminal the results go to: its size, and the pager that shows a
//! result taller than the screen (as psql does).
//!
//! The size is the terminal's own (`TIOCGWINSZ`, read through the `console`
//! crate that the progress bars already use), so it is right in a shell that
//! does not export `$COLUMNS`; `$COLUMNS` and `$LINES`, when set, override it
//! (as for `ls`), which also lets a script ask for a width.

use std::io::{IsTerminal, Write};
use std::process::{Command, Stdio};

/// The pager when `$PAGER` is unset: `less` that passes colours through,
/// does not wrap long lines, does not clear the screen and exits at once
/// when the text fits (psql's choice, plus `-S`).
pub const DEFAULT_PAGER: &str = "less -SRXF";

/// Width and height in characters, each `None` when unknown (not a terminal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    /// Columns.
    pub width: Option<u16>,
    /// Lines.
    pub height: Option<u16>,
}

fn env_number(name: &str) -> Option<u16> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
}

/// The size of the terminal standard output is, `$COLUMNS`/`$LINES` first.
pub fn size() -> Size {
    let real = console::Term::stdout().size_checked();
    Size {
        width: env_number("COLUMNS").or(real.map(|(_, w)| w)),
        height: env_number("LINES").or(real.map(|(h, _)| h)),
    }
}

/// Whether standard output is a terminal (a pager and a size make sense).
pub fn is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// How results taller than the screen are shown (`.pager`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pager {
    /// Print everything to standard output (`.pager off`).
    Off,
    /// `$PAGER`, or [`DEFAULT_PAGER`] (`.pager on`, the default).
    Default,
    /// A command of the user's choosing (`.pager CMD`).
    Command(String),
}

impl Pager {
    /// The command line to run, if any.
    pub fn command(&self) -> Option<String> {
        match self {
            Self::Off => None,
            Self::Default => Some(
                std::env::var("PAGER")
                    .ok()
                    .filter(|p| !p.trim().is_empty())
                    .unwrap_or_else(|| DEFAULT_PAGER.to_owned()),
            ),
            Self::Command(c) => Some(c.clone()),
        }
    }

    /// Whether `text` goes through the pager: standard output is a terminal
    /// of known height and the text has more lines than the screen.
    pub fn wanted(&self, text: &str, size: Size) -> bool {
        if matches!(self, Self::Off) || !is_terminal() {
            return false;
        }
        size.height
            .is_some_and(|h| text.lines().count() >= usize::from(h).saturating_sub(1))
    }

    /// Shows `text` through the pager (run by `sh -c`); `false` when it could
    /// not be started, for the caller to print the text itself.
    pub fn show(&self, text: &str) -> bool {
        let Some(cmd) = self.command() else {
            return false;
        };
        let child = Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .stdin(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            return false;
        };
        if let Some(mut stdin) = child.stdin.take() {
            // The user may quit the pager before reading everything: a broken
            // pipe is not an error.
            let _ = stdin.write_all(text.as_bytes());
        }
        child.wait().is_ok()
    }
}
