//! [`LuaRowStream`]: rows handed to a script as the server sends them
//! (`for row in db:stream(sql, params) do ... end`), a batch of the rows
//! already received per call into Rust.
//!
//! The stream holds a connection (or its transaction) until it is exhausted,
//! closed (`break` out of the `for` loop closes it: the userdata is the loop's
//! to-be-closed value), or collected.

use dbridge_engine::{ErrorKind, Row};
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use mlua::{Lua, MetaMethod, UserData, UserDataMethods, Value as LuaValue};

use std::sync::Arc;

use crate::convert::error::{LuaDbError, Raw};
use crate::convert::value::RowBuilder;
use crate::objects::events::raw_ev;
use crate::objects::events::{StatementEvents, events_of};
use crate::runtime::runtime_drop::RuntimeDrop;

type Rows = BoxStream<'static, dbridge_engine::Result<Row>>;

/// An open row stream.
pub(crate) struct LuaRowStream {
    rows: tokio::sync::Mutex<RuntimeDrop<Rows>>,
    builder: parking_lot::Mutex<RowBuilder>,
    /// An error met while a batch took the rows at hand: raised by the next
    /// call, after the script has seen the rows before it.
    failed: parking_lot::Mutex<Option<dbridge_engine::Error>>,
    /// The most rows one call takes: [`BATCH`] on a pooled connection of the
    /// stream's own; 1 in a transaction or session, which stays busy (other
    /// statements on it refused) until the loop has seen every row.
    batch: usize,
    pub(crate) events: Option<Arc<StatementEvents>>,
}

impl std::fmt::Debug for LuaRowStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaRowStream").finish_non_exhaustive()
    }
}

impl LuaRowStream {
    pub(crate) fn new(
        rows: Rows,
        builder: RowBuilder,
        events: Option<Arc<StatementEvents>>,
        fallback: Option<&tokio::runtime::Handle>,
        own_connection: bool,
    ) -> Self {
        Self {
            rows: tokio::sync::Mutex::new(RuntimeDrop::new(rows, fallback)),
            builder: parking_lot::Mutex::new(builder),
            failed: parking_lot::Mutex::new(None),
            batch: if own_connection { BATCH } else { 1 },
            events,
        }
    }

    fn close(&self) {
        if let Ok(mut g) = self.rows.try_lock() {
            g.clear();
        }
    }
}

impl UserData for LuaRowStream {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        fields.add_meta_field("__name", "dbridge.stream");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::Close, |_, this, ()| {
            this.close();
            Ok(())
        });
        methods.add_meta_method(MetaMethod::ToString, |_, _, ()| Ok("dbridge.stream"));
    }
}

/// Rows a batch takes at most (those the connection has already received).
const BATCH: usize = 256;

/// The next rows as an array: the next row (waiting for it), then, on a
/// connection of the stream's own, those already at hand, up to [`BATCH`];
/// `nil` at the end (which also releases the connection). The script's iterator hands them out one at a time, so a
/// loop makes one call into Rust per batch instead of one per row.
pub(crate) async fn next_batch(lua: Lua, this: LuaValue) -> Raw {
    let ev = events_of(&this);
    let r = async {
        let LuaValue::UserData(ud) = &this else {
            return Err(LuaDbError::argument("stream", 1, "a row stream", &this));
        };
        let s = ud
            .borrow::<LuaRowStream>()
            .map_err(|_| LuaDbError::argument("stream", 1, "a row stream", &this))?;
        let mut rows = s.rows.try_lock().map_err(|_| {
            LuaDbError::new(
                ErrorKind::InvalidState,
                "the row stream is being read by another coroutine",
            )
        })?;
        if let Some(e) = s.failed.lock().take() {
            rows.clear();
            return Err(e.into());
        }
        let Some(stream) = rows.get_mut() else {
            return Ok(None);
        };
        let mut batch = Vec::with_capacity(s.batch);
        let mut ended = false;
        match stream.next().await {
            Some(Ok(row)) => batch.push(row),
            Some(Err(e)) => {
                rows.clear();
                return Err(e.into());
            }
            None => ended = true,
        }
        while !ended && batch.len() < s.batch {
            match stream.next().now_or_never() {
                Some(Some(Ok(row))) => batch.push(row),
                Some(Some(Err(e))) => {
                    *s.failed.lock() = Some(e);
                    break;
                }
                Some(None) => ended = true,
                None => break,
            }
        }
        if ended {
            rows.clear();
        }
        if batch.is_empty() {
            return Ok(None);
        }
        s.builder.lock().build_all(&lua, &batch).map(Some)
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}
