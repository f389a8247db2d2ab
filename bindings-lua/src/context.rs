//! The context of one host call into Lua: its instruction budget and the
//! transactions it opened.
//!
//! One `Lua` runs one coroutine at a time, and Lua code only runs while a
//! future driving it is polled. [`crate::call`] sets the call's context in a
//! thread-local for the duration of each poll, so the instruction hook and the
//! raw functions find the budget and the transaction list of the script that is
//! running right now, even with many scripts interleaved on one state.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use dbridge_engine::ErrorKind;
use parking_lot::Mutex;

use crate::error::LuaDbError;

/// The kind of the error that stops a script over its instruction budget.
pub const BUDGET_EXCEEDED: &str = "budget_exceeded";

/// The per-call state.
#[derive(Debug, Default)]
pub(crate) struct CallContext {
    limit: Option<u64>,
    used: AtomicU64,
    exhausted: AtomicBool,
    transactions: Mutex<Vec<Weak<dyn Abandon>>>,
}

impl CallContext {
    pub(crate) fn new(limit: Option<u64>) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Counts `n` instructions; `Err` once the budget is spent, and at every
    /// later check, so that a script that catches the error is stopped again.
    pub(crate) fn charge(&self, n: u64) -> Result<(), LuaDbError> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let used = self.used.fetch_add(n, Ordering::Relaxed) + n;
        if used > limit || self.exhausted.load(Ordering::Relaxed) {
            self.exhausted.store(true, Ordering::Relaxed);
            return Err(budget_error(limit));
        }
        Ok(())
    }

    pub(crate) fn is_exhausted(&self) -> bool {
        self.exhausted.load(Ordering::Relaxed)
    }

    pub(crate) fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// Remembers a transaction opened during this call.
    pub(crate) fn register(&self, tx: Arc<dyn Abandon>) {
        let mut list = self.transactions.lock();
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(&tx));
    }

    /// Rolls back every transaction this call opened that is still open (when
    /// the call failed or was cancelled).
    pub(crate) fn abandon_transactions(&self) {
        let list = std::mem::take(&mut *self.transactions.lock());
        for tx in list.iter().filter_map(Weak::upgrade) {
            tx.abandon();
        }
    }
}

/// Something a call opened that must be rolled back when the call fails: a
/// transaction or a session.
pub(crate) trait Abandon: Send + Sync + std::fmt::Debug {
    /// Rolls back, if still open and idle.
    fn abandon(&self);
}

pub(crate) fn budget_error(limit: u64) -> LuaDbError {
    let mut e = LuaDbError::new(
        ErrorKind::Timeout,
        format!("the script ran past its budget of {limit} instructions and was stopped"),
    );
    e.kind = BUDGET_EXCEEDED;
    e
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<CallContext>>> = const { RefCell::new(None) };
}

/// Makes `ctx` current on this thread until dropped (restoring the previous one).
pub(crate) struct Enter {
    prev: Option<Arc<CallContext>>,
}

impl Enter {
    pub(crate) fn new(ctx: Arc<CallContext>) -> Self {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(ctx));
        Self { prev }
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        let prev = self.prev.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

/// The context of the call running on this thread, if any.
pub(crate) fn current() -> Option<Arc<CallContext>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Whether the call running on this thread has spent its budget.
pub(crate) fn current_exhausted() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(|c| c.is_exhausted()))
}

/// The instruction hook: charges the current call, if any.
pub(crate) fn charge_current(n: u64) -> Result<(), LuaDbError> {
    CURRENT.with(|c| match c.borrow().as_ref() {
        Some(ctx) => ctx.charge(n),
        None => Ok(()),
    })
}
