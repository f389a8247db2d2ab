//! [`StatementLog`]: the statements a database runs, for tests that count them.

use std::sync::{Arc, Mutex, MutexGuard};

use dbridge_engine::Database;

/// Every statement the database runs, as SQL text, except the `BEGIN` that
/// opens each transaction (tests count the statements of the work itself;
/// COMMIT and ROLLBACK are kept).
#[derive(Clone, Default)]
pub struct StatementLog(Arc<Mutex<Vec<String>>>);

impl StatementLog {
    /// Starts logging the statements of `db`.
    pub fn attach(db: &Database) -> Self {
        let log = Self::default();
        let sink = log.clone();
        db.on_statement(Arc::new(move |ev| {
            if !ev.sql.starts_with("BEGIN") {
                sink.lines().push(ev.sql.to_string());
            }
        }));
        log
    }

    // A test that panicked while holding the lock poisons it; the lines are
    // still whole, so later readers take them as they are.
    fn lines(&self) -> MutexGuard<'_, Vec<String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The statements since the last `take` or `clear`.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines())
    }

    /// Forgets the statements logged so far.
    pub fn clear(&self) {
        self.lines().clear();
    }

    /// How many statements were logged since the last `take` or `clear`.
    pub fn len(&self) -> usize {
        self.lines().len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.lines().is_empty()
    }

    /// Statements since the last `take` or `clear` that start with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.lines()
            .iter()
            .filter(|s| s.starts_with(prefix))
            .count()
    }
}
