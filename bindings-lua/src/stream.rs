//! [`LuaRowStream`]: rows handed to a script one at a time as the server sends
//! them (`for row in db:stream(sql, params) do ... end`).
//!
//! The stream holds a connection (or its transaction) until it is exhausted,
//! closed (`break` out of the `for` loop closes it: the userdata is the loop's
//! to-be-closed value), or collected.

use dbridge_engine::{ErrorKind, Row};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use mlua::{Lua, MetaMethod, UserData, UserDataMethods, Value as LuaValue};

use std::sync::Arc;

use crate::error::{LuaDbError, Raw, raw_ev};
use crate::events::{StatementEvents, events_of};
use crate::runtime_drop::RuntimeDrop;
use crate::value::RowBuilder;

type Rows = BoxStream<'static, dbridge_engine::Result<Row>>;

/// An open row stream.
pub(crate) struct LuaRowStream {
    rows: tokio::sync::Mutex<RuntimeDrop<Rows>>,
    builder: parking_lot::Mutex<RowBuilder>,
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
    ) -> Self {
        Self {
            rows: tokio::sync::Mutex::new(RuntimeDrop::new(rows, fallback)),
            builder: parking_lot::Mutex::new(builder),
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

/// The next row, `nil` at the end (which also releases the connection).
pub(crate) async fn next(lua: Lua, this: LuaValue) -> Raw {
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
        let Some(stream) = rows.get_mut() else {
            return Ok(None);
        };
        match stream.next().await {
            Some(Ok(row)) => Ok(Some(s.builder.lock().build(&lua, &row)?)),
            Some(Err(e)) => {
                rows.clear();
                Err(e.into())
            }
            None => {
                rows.clear();
                Ok(None)
            }
        }
    }
    .await;
    raw_ev(&lua, r, ev.as_deref())
}
