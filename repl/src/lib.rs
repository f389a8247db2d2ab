//! # dbridge-repl
//!
//! The parts of `dbridge-repl` that are pure functions, tested on their own:
//! result rendering ([`render`]) and the dot-command table ([`commands`]).
#![warn(missing_docs)]

pub mod commands;
pub mod render;
