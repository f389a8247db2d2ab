//! The REPL's user experience through a pseudo-terminal (issue #19): a
//! display that fits the terminal, completion and highlighting that know the
//! objects, errors that suggest the fix, reflection that navigates, and the
//! smaller fixes. Each case runs
//! on SQLite and PostgreSQL against a `track` table of 250 rows. No sleeps:
//! each step waits for the output it expects, or for the prompt.

mod completion;
mod display;
mod errors;
mod navigation;
mod pty;
mod smaller;
