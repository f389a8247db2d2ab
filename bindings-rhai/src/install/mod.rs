//! Install, the top layer: migrations: the `.rhai` script runner, which
//! registers dbridge into a fresh engine per file, and `db.migrator`, which
//! needs it. May import every layer and the crate root.

pub(crate) mod migrate;
pub(crate) mod migrator;
