//! [`Blocker`]: how a Rhai call waits for the engine's async database calls.
//!
//! Rhai has no coroutines, so every database call blocks the thread running the
//! script until the future completes on a tokio runtime: the one given at
//! registration, else the one current at registration, else a small runtime of
//! the binding's own. Where the script runs decides how it may block:
//!
//! | thread running the script | what happens |
//! | --- | --- |
//! | a plain thread (no runtime entered) | `Handle::block_on` |
//! | a thread inside [`spawn_blocking`] / [`allow_blocking`] | `Handle::block_on` |
//! | a worker of a multi-thread runtime | `tokio::task::block_in_place`, then `Handle::block_on` |
//! | a current-thread runtime's own thread | an `invalid_state` error: blocking would stall that runtime |
//!
//! Nothing here panics: the case tokio would panic on is refused first.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use dbridge_engine::Error;
use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

thread_local! {
    static MAY_BLOCK: Cell<bool> = const { Cell::new(false) };
    /// Set while this thread waits in [`Blocker::block_on`]: a script callback
    /// (a listener, a validator) running inside that wait may not wait again.
    static WAITING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the current thread marked as one that may block on a runtime,
/// even if a current-thread runtime is entered on it (as on that runtime's
/// `spawn_blocking` threads). [`spawn_blocking`] does this for you.
///
/// Only mark a thread that is not driving a runtime: a current-thread
/// runtime's own thread would then wait for itself.
pub fn allow_blocking<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            MAY_BLOCK.with(|m| m.set(self.0));
        }
    }
    let _reset = Reset(MAY_BLOCK.with(|m| m.replace(true)));
    f()
}

/// Runs a blocking closure (typically one that evaluates a script) on the
/// current runtime's blocking pool, with the thread marked by
/// [`allow_blocking`]. This is the way to run scripts from async code on any
/// runtime flavor, and the only way on a current-thread runtime.
///
/// # Panics
/// When called outside a tokio runtime, as [`tokio::task::spawn_blocking`].
pub fn spawn_blocking<R, F>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(move || allow_blocking(f))
}

/// Owns the binding's own runtime, if it made one, and shuts it down without
/// waiting (dropping a runtime inside another one would panic).
struct OwnedRuntime(Option<Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// The runtime database futures run on, and the rules for waiting on them.
/// Cheap to clone.
#[derive(Clone)]
pub(crate) struct Blocker {
    handle: Handle,
    _owned: Option<Arc<OwnedRuntime>>,
    /// The transactions begun while the host tracks a call (shared by clones).
    tracker: crate::runtime::tracker::Tracker,
    /// Stops a wait for the database from another thread
    /// ([`Options::cancel_handle`](crate::Options::cancel_handle)).
    cancel: Option<dbridge_engine::CancelHandle>,
    /// The header of the last empty result, for a host that prints results
    /// (shared by clones; see [`crate::Dbridge::keep_empty_headers`]).
    headers: Arc<crate::runtime::headers::EmptyHeaders>,
}

impl fmt::Debug for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocker")
            .field("flavor", &self.handle.runtime_flavor())
            .field("owned", &self._owned.is_some())
            .finish()
    }
}

impl Blocker {
    /// Uses `handle`, else the current runtime, else a new two-worker runtime.
    pub(crate) fn new(
        handle: Option<Handle>,
        cancel: Option<dbridge_engine::CancelHandle>,
    ) -> Result<Self, Error> {
        if let Some(handle) = handle.or_else(|| Handle::try_current().ok()) {
            return Ok(Self {
                handle,
                _owned: None,
                tracker: crate::runtime::tracker::Tracker::default(),
                cancel,
                headers: Arc::default(),
            });
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dbridge-rhai")
            .enable_all()
            .build()
            .map_err(|e| Error::Configuration(format!("cannot start a tokio runtime: {e}")))?;
        Ok(Self {
            handle: rt.handle().clone(),
            _owned: Some(Arc::new(OwnedRuntime(Some(rt)))),
            tracker: crate::runtime::tracker::Tracker::default(),
            cancel,
            headers: Arc::default(),
        })
    }

    /// The runtime's handle.
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The record of empty results' headers.
    pub(crate) fn headers(&self) -> &crate::runtime::headers::EmptyHeaders {
        &self.headers
    }

    /// The transactions begun during the call the host tracks.
    pub(crate) fn tracker(&self) -> &crate::runtime::tracker::Tracker {
        &self.tracker
    }

    /// Whether this thread may block now, and how.
    fn mode(&self) -> Result<Mode, Error> {
        match Handle::try_current() {
            Err(_) => Ok(Mode::Direct),
            Ok(current) => match current.runtime_flavor() {
                // On a worker this hands the worker's tasks to another thread;
                // on a blocking-pool thread it simply runs the closure.
                RuntimeFlavor::MultiThread => Ok(Mode::InPlace),
                _ if MAY_BLOCK.with(Cell::get) => Ok(Mode::Direct),
                _ => Err(Error::InvalidState(
                    "cannot wait for the database on a current-thread tokio runtime's own \
                     thread: run the script with dbridge_rhai::spawn_blocking, on a plain \
                     thread, or on a multi-thread runtime"
                        .into(),
                )),
            },
        }
    }

    /// Whether this thread may block on the runtime now.
    pub(crate) fn can_block(&self) -> bool {
        !WAITING.with(Cell::get) && self.mode().is_ok()
    }

    /// Runs `fut` to completion, blocking this thread.
    ///
    /// # Errors
    /// [`Error::InvalidState`] on a current-thread runtime's own thread;
    /// [`Error::Cancelled`] when the host's cancel handle stopped the wait
    /// (the future is dropped: its statement is stopped on the server).
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> Result<F::Output, Error> {
        if WAITING.with(Cell::get) {
            return Err(Error::InvalidState(
                "cannot wait for the database inside an event listener or validator: \
                 it runs within a database call of its session"
                    .into(),
            ));
        }
        let mode = self.mode()?;
        struct Waiting;
        impl Drop for Waiting {
            fn drop(&mut self) {
                WAITING.with(|w| w.set(false));
            }
        }
        WAITING.with(|w| w.set(true));
        let _waiting = Waiting;
        let wait = async {
            match &self.cancel {
                Some(c) => c.run(fut).await,
                None => Ok(fut.await),
            }
        };
        match mode {
            Mode::Direct => self.handle.block_on(wait),
            Mode::InPlace => tokio::task::block_in_place(|| self.handle.block_on(wait)),
        }
    }

    /// Sleeps on the runtime's timer (for retry backoff).
    pub(crate) fn sleep(&self, d: Duration) -> Result<(), Error> {
        // Made inside the future: a timer needs the runtime entered when created.
        self.block_on(async move { tokio::time::sleep(d).await })
    }

    /// Drops `value` with the runtime entered: sqlx returns pooled connections
    /// to the pool by spawning a task, which needs a runtime context.
    pub(crate) fn drop_in_runtime<T>(&self, value: T) {
        let _entered = self.handle.enter();
        drop(value);
    }
}

enum Mode {
    /// `Handle::block_on` right here.
    Direct,
    /// Move this runtime worker's other tasks away first.
    InPlace,
}
