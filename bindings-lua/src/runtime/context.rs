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
use std::time::{Duration, Instant};

use dbridge_engine::ErrorKind;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::convert::error::LuaDbError;

/// The kind of the error that stops a script over its instruction budget.
pub const BUDGET_EXCEEDED: &str = "budget_exceeded";

/// The kind of the error that stops a script interrupted by its host
/// ([`InterruptHandle::interrupt`]).
pub const INTERRUPTED: &str = "interrupted";

/// The interrupt requests of one Lua state: a counter that each request bumps
/// (a call is interrupted when it moved past the value it started with) and a
/// notification that wakes calls waiting on the database.
#[derive(Debug, Default)]
pub(crate) struct Interrupts {
    epoch: AtomicU64,
    notify: Arc<Notify>,
}

/// Stops the calls running on a Lua state from any thread: the host's Ctrl-C,
/// a watchdog, a cancelled request. Get one with
/// [`interrupt_handle`](crate::interrupt_handle).
///
/// [`interrupt`](Self::interrupt) stops every [`call`](crate::call) running on
/// the state at that moment, whether it computes (within the next 1000 Lua
/// instructions) or waits on the database (at once): it fails with an
/// `interrupted` error that its own `pcall`, `xpcall` or `coroutine.resume`
/// cannot swallow, and the transactions and sessions it opened and left open
/// are rolled back. Calls started afterwards run normally.
#[derive(Debug, Clone)]
pub struct InterruptHandle(pub(crate) Arc<Interrupts>);

impl InterruptHandle {
    /// Interrupts the calls running now (see the type's documentation).
    pub fn interrupt(&self) {
        self.0.epoch.fetch_add(1, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }
}

/// The per-call state.
#[derive(Debug, Default)]
pub(crate) struct CallContext {
    limit: Option<u64>,
    used: AtomicU64,
    exhausted: AtomicBool,
    /// The call's time limit and when it runs out (see [`CallContext::begin_clock`]).
    deadline: Mutex<Option<(Duration, Option<Instant>)>>,
    timed_out: AtomicBool,
    interrupts: Option<(Arc<Interrupts>, u64)>,
    transactions: Mutex<Vec<Weak<dyn Abandon>>>,
}

impl CallContext {
    /// A call under `limit` instructions and `timeout` (counted from its
    /// first poll) that `interrupts` can stop.
    pub(crate) fn new(
        limit: Option<u64>,
        timeout: Option<Duration>,
        interrupts: Option<Arc<Interrupts>>,
    ) -> Self {
        let interrupts = interrupts.map(|i| {
            let start = i.epoch.load(Ordering::SeqCst);
            (i, start)
        });
        Self {
            limit,
            deadline: Mutex::new(timeout.map(|t| (t, None))),
            interrupts,
            ..Self::default()
        }
    }

    /// Starts the time limit's clock, once (at the call's first poll).
    pub(crate) fn begin_clock(&self) {
        if let Some((limit, start @ None)) = &mut *self.deadline.lock() {
            *start = Some(Instant::now() + *limit);
        }
    }

    /// Whether the call ran past its time limit (checked by the instruction
    /// hook, so that a script that computes without waiting is stopped too).
    pub(crate) fn is_timed_out(&self) -> bool {
        if self.timed_out.load(Ordering::Relaxed) {
            return true;
        }
        let past = matches!(*self.deadline.lock(), Some((_, Some(end))) if Instant::now() >= end);
        if past {
            self.timed_out.store(true, Ordering::Relaxed);
        }
        past
    }

    /// The time limit, if any.
    fn time_limit(&self) -> Duration {
        self.deadline.lock().map(|(t, _)| t).unwrap_or_default()
    }

    /// Whether the host interrupted the state since this call started.
    pub(crate) fn is_interrupted(&self) -> bool {
        self.interrupts
            .as_ref()
            .is_some_and(|(i, start)| i.epoch.load(Ordering::SeqCst) != *start)
    }

    /// What wakes this call when it is interrupted while waiting.
    pub(crate) fn notify(&self) -> Option<Arc<Notify>> {
        self.interrupts.as_ref().map(|(i, _)| Arc::clone(&i.notify))
    }

    /// The error of a stopped call: interrupted, or over budget.
    pub(crate) fn stop_error(&self) -> LuaDbError {
        if self.is_interrupted() {
            return interrupted_error();
        }
        if self.timed_out.load(Ordering::Relaxed) {
            return timeout_error(self.time_limit());
        }
        budget_error(self.limit.unwrap_or_default())
    }

    /// Counts `n` instructions; `Err` once the budget is spent or the call was
    /// interrupted, and at every later check, so that a script that catches
    /// the error is stopped again.
    pub(crate) fn charge(&self, n: u64) -> Result<(), LuaDbError> {
        if self.is_interrupted() {
            return Err(interrupted_error());
        }
        if self.is_timed_out() {
            return Err(timeout_error(self.time_limit()));
        }
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

    /// Whether the call must stop: over budget or interrupted.
    pub(crate) fn is_exhausted(&self) -> bool {
        self.exhausted.load(Ordering::Relaxed)
            || self.timed_out.load(Ordering::Relaxed)
            || self.is_interrupted()
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

fn interrupted_error() -> LuaDbError {
    let mut e = LuaDbError::new(ErrorKind::Timeout, "the script was interrupted");
    e.kind = INTERRUPTED;
    e
}

/// The error of a call stopped by its time limit (kind `timeout`).
pub(crate) fn timeout_error(limit: Duration) -> LuaDbError {
    LuaDbError::new(
        ErrorKind::Timeout,
        format!("the script ran past its time limit of {limit:?} and was stopped"),
    )
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

/// What `install` recorded in the state's app data.
#[derive(Debug, Clone)]
pub(crate) struct Installed {
    pub(crate) runtime: Option<tokio::runtime::Handle>,
    pub(crate) budget: Option<u64>,
    pub(crate) timeout: Option<std::time::Duration>,
    pub(crate) interrupts: std::sync::Arc<Interrupts>,
}

/// The runtime recorded at install, for objects that must drop a connection
/// outside any runtime.
pub(crate) fn installed_handle(lua: &mlua::Lua) -> Option<tokio::runtime::Handle> {
    lua.app_data_ref::<Installed>()
        .and_then(|i| i.runtime.clone())
}
