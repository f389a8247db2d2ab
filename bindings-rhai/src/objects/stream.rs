//! [`RowStream`]: what `db.stream(sql, params)` returns, a Rhai iterable that
//! pulls each row from the database as the `for` loop asks for it.
//!
//! The stream holds one connection (or its transaction) until it is exhausted,
//! fails, or is dropped; a `for` loop over `db.stream(...)` drops it when the
//! loop ends, also on `break`. Rows are never collected in memory.

use std::fmt;
use std::sync::Arc;

use dbridge_engine::{Error, Row};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use parking_lot::Mutex;
use rhai::{EvalAltResult, Map};

use crate::convert::error::to_rhai;
use crate::convert::value::{Wanted, row_to_map};
use crate::runtime::blocker::Blocker;

struct State {
    rows: Option<BoxStream<'static, Result<Row, Error>>>,
    wanted: Wanted,
    blocker: Blocker,
}

impl Drop for State {
    fn drop(&mut self) {
        // The stream may own a pooled connection, whose return needs a runtime.
        if let Some(rows) = self.rows.take() {
            self.blocker.drop_in_runtime(rows);
        }
    }
}

/// A stream of rows; iterate it with `for row in stream { ... }`.
///
/// Clones share one position: a row read through one is gone for all.
#[derive(Clone)]
pub struct RowStream {
    state: Arc<Mutex<Option<State>>>,
}

impl fmt::Debug for RowStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowStream")
            .field("open", &self.state.lock().is_some())
            .finish()
    }
}

impl RowStream {
    pub(crate) fn new(
        rows: BoxStream<'static, Result<Row, Error>>,
        wanted: Wanted,
        blocker: Blocker,
    ) -> Self {
        Self {
            state: Arc::new(Mutex::new(Some(State {
                rows: Some(rows),
                wanted,
                blocker,
            }))),
        }
    }

    /// The next row, `None` once the stream is finished (which releases it).
    fn next_row(&self) -> Option<Result<Map, Box<EvalAltResult>>> {
        let mut guard = self.state.lock();
        let state = guard.as_mut()?;
        let rows = state.rows.as_mut()?;
        let next = state.blocker.block_on(rows.next());
        let out = match next {
            Ok(Some(Ok(row))) => match row_to_map(row, &state.wanted) {
                Ok(map) => return Some(Ok(map)),
                Err(e) => Some(Err(e)),
            },
            Ok(Some(Err(e))) | Err(e) => Some(Err(to_rhai(e))),
            Ok(None) => None,
        };
        // Finished or failed: release the connection now, not when the
        // script lets go of the stream.
        let finished = guard.take();
        drop(guard);
        drop(finished);
        out
    }

    /// Whether the stream still holds its connection.
    fn is_open(&mut self) -> bool {
        self.state.lock().is_some()
    }

    /// Ends the stream early, releasing its connection.
    fn close(&mut self) {
        let finished = self.state.lock().take();
        drop(finished);
    }
}

/// The iterator a `for` loop runs over a [`RowStream`].
#[derive(Debug)]
pub struct RowIter(RowStream);

impl Iterator for RowIter {
    type Item = Result<Map, Box<EvalAltResult>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_row()
    }
}

impl IntoIterator for RowStream {
    type Item = Result<Map, Box<EvalAltResult>>;
    type IntoIter = RowIter;

    fn into_iter(self) -> RowIter {
        RowIter(self)
    }
}

/// Registers `RowStream` as an iterable type with `is_open` and `close`.
pub(crate) fn register(engine: &mut rhai::Engine) {
    engine
        .register_type_with_name::<RowStream>("RowStream")
        .register_iterator_result::<RowStream, Map>()
        .register_get("is_open", RowStream::is_open)
        .register_fn("close", RowStream::close)
        .register_fn("to_string", |s: &mut RowStream| {
            format!("RowStream({})", if s.is_open() { "open" } else { "closed" })
        });
}
