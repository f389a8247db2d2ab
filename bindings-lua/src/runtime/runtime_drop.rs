//! [`RuntimeDrop`]: drops a value inside a tokio runtime.
//!
//! Pooled connections give themselves back to their pool from `Drop` by
//! spawning a task, which needs a tokio runtime. Lua's garbage collector may
//! drop a transaction or a row stream anywhere (even on a thread with no
//! runtime), so the objects that hold a connection remember the runtime they
//! were made on and drop their connection inside it.

use tokio::runtime::Handle;

/// A value that is dropped inside the runtime it was made on.
#[derive(Debug)]
pub(crate) struct RuntimeDrop<T> {
    value: Option<T>,
    handle: Option<Handle>,
}

impl<T> RuntimeDrop<T> {
    /// Wraps `value`, remembering the current runtime (or `fallback`).
    pub(crate) fn new(value: T, fallback: Option<&Handle>) -> Self {
        let handle = Handle::try_current().ok().or_else(|| fallback.cloned());
        Self {
            value: Some(value),
            handle,
        }
    }

    pub(crate) fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }

    pub(crate) fn get_mut(&mut self) -> Option<&mut T> {
        self.value.as_mut()
    }

    pub(crate) fn take(&mut self) -> Option<T> {
        self.value.take()
    }

    /// Drops the value now (inside the runtime).
    pub(crate) fn clear(&mut self) {
        if let Some(v) = self.value.take() {
            drop_in(v, self.handle.as_ref());
        }
    }
}

/// Drops `v` inside `handle`'s runtime when there is no current one. Without
/// either, the value is leaked rather than panicking inside the Lua collector.
pub(crate) fn drop_in<T>(v: T, handle: Option<&Handle>) {
    if Handle::try_current().is_ok() {
        drop(v);
    } else if let Some(h) = handle {
        let _enter = h.enter();
        drop(v);
    } else {
        tracing::warn!("a database connection was released outside any tokio runtime and leaked");
        std::mem::forget(v);
    }
}

impl<T> Drop for RuntimeDrop<T> {
    fn drop(&mut self) {
        self.clear();
    }
}
