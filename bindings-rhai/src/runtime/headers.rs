//! The header of an empty result, for hosts that print what a script
//! returns (the REPL). A Rhai array of rows is a plain array: an empty one
//! says nothing of its columns. A host that asks
//! ([`Dbridge::keep_empty_headers`](crate::Dbridge::keep_empty_headers)) has
//! the statement of each empty result described (prepared, not run) and its
//! column names kept here, to read with
//! [`Dbridge::take_empty_header`](crate::Dbridge::take_empty_header).
//! Without that nothing is described and results cost nothing extra.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

/// Whether headers are kept, and the last one.
#[derive(Debug, Default)]
pub(crate) struct EmptyHeaders {
    on: AtomicBool,
    last: Mutex<Option<Vec<String>>>,
}

impl EmptyHeaders {
    /// Turns the record on or off.
    pub(crate) fn keep(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
        if !on {
            self.last.lock().take();
        }
    }

    /// Whether the host asked for headers.
    pub(crate) fn wanted(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Keeps `names` as the last empty result's header.
    pub(crate) fn set(&self, names: Vec<String>) {
        *self.last.lock() = Some(names);
    }

    /// The last empty result's header, forgotten once read.
    pub(crate) fn take(&self) -> Option<Vec<String>> {
        self.last.lock().take()
    }
}
