//! Shared helpers for the hostile cases.

#![allow(dead_code)]

use dbridge_engine::Backend;

/// Both backends, in the order the cases run on them.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
