//! The hook through which a binding runs `.lua` and `.rhai` migrations: the
//! engine hands over the migration's open transaction and takes it back to
//! record the migration and commit, so a script's work and its history row
//! commit together or not at all.

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::db::Transaction;
use crate::error::Result;

use super::files::{MigrationFile, MigrationKind};

/// Which function of a script migration to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `up(db)`.
    Up,
    /// `down(db)`.
    Down,
}

impl Direction {
    /// `"up"` or `"down"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }
}

/// A script migration to run: the file, the direction, and the transaction it
/// must run in (the migration lock is held; the runner commits after).
#[derive(Debug)]
pub struct ScriptMigration {
    /// The migration file (its `source` is the script).
    pub file: MigrationFile,
    /// `up` or `down`.
    pub direction: Direction,
    /// The migration's transaction: give it back when done.
    pub transaction: Transaction,
}

/// Runs script migrations; implemented by the Lua and Rhai bindings.
///
/// `run` gets the migration's open transaction and returns it when the
/// script's function has finished; returning an error (or dropping the
/// transaction) rolls the migration back.
pub trait ScriptRunner: Send + Sync {
    /// Whether this runner runs files of `kind`.
    fn handles(&self, kind: MigrationKind) -> bool;

    /// Runs `migration.direction` of the script in `migration.transaction`.
    fn run(&self, migration: ScriptMigration) -> BoxFuture<'static, Result<Transaction>>;
}

/// A [`ScriptRunner`] made of a closure, for one kind of file.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use dbridge_engine::migrate::{FnScriptRunner, MigrationKind};
/// let runner = FnScriptRunner::new(MigrationKind::Lua, |m| {
///     Box::pin(async move { Ok(m.transaction) })
/// });
/// # let _ = Arc::new(runner);
/// ```
pub struct FnScriptRunner {
    kind: MigrationKind,
    #[allow(clippy::type_complexity)]
    f: Arc<dyn Fn(ScriptMigration) -> BoxFuture<'static, Result<Transaction>> + Send + Sync>,
}

impl FnScriptRunner {
    /// Runs files of `kind` with `f`.
    pub fn new(
        kind: MigrationKind,
        f: impl Fn(ScriptMigration) -> BoxFuture<'static, Result<Transaction>> + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            f: Arc::new(f),
        }
    }
}

impl fmt::Debug for FnScriptRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnScriptRunner")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl ScriptRunner for FnScriptRunner {
    fn handles(&self, kind: MigrationKind) -> bool {
        kind == self.kind
    }

    fn run(&self, migration: ScriptMigration) -> BoxFuture<'static, Result<Transaction>> {
        (self.f)(migration)
    }
}
