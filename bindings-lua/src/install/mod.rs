//! Install, the top layer: the `dbridge` module table and its Lua prelude, the
//! sandbox (libraries, hook, memory limit, `require`), and migrations: the
//! `.lua` script runner, which builds a fresh installed state per file, and
//! `db:migrator`, which needs it. May import every layer and the crate root.

pub(crate) mod handles;
pub(crate) mod migrate;
pub(crate) mod migrator;
pub(crate) mod module;
pub(crate) mod orm_functions;
pub(crate) mod sandbox;
