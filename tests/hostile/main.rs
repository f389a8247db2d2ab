//! The hostile-input suite: what an attacker or a clumsy user tries against
//! dbridge from scripts and the REPL, on SQLite and PostgreSQL. Each module is
//! one campaign; every case checks both that the attempt failed with the right
//! error kind and that nothing it targeted changed.
//!
//! `docs/security.md` lists the promises these cases test and their counts.

mod escapes;
mod faults;
mod injection;
mod limits;
mod ordering;
mod redaction;
mod support;
