//! What a lower object file asks of the objects above it, handed down at
//! install ([`provide`]) so that imports run one way: which object a handle
//! is, for the statement events behind it (`objects/events.rs`).

use std::sync::Arc;

use mlua::Value as LuaValue;

use crate::objects::events::{StatementEvents, provide_events_of};

/// Hands the dispatches below down to the object files that call them (once
/// per process; every state installs the same functions).
pub(crate) fn provide() {
    provide_events_of(events_of);
}

/// The event queue behind a database, transaction or stream userdata.
pub(crate) fn events_of(v: &LuaValue) -> Option<Arc<StatementEvents>> {
    let LuaValue::UserData(ud) = v else {
        return None;
    };
    if let Ok(d) = ud.borrow::<crate::objects::database::LuaDb>() {
        return Some(d.events.clone());
    }
    if let Ok(t) = ud.borrow::<crate::objects::transaction::LuaTx>() {
        return Some(t.events.clone());
    }
    if let Ok(s) = ud.borrow::<crate::objects::stream::LuaRowStream>() {
        return s.events.clone();
    }
    if let Ok(s) = ud.borrow::<crate::objects::session::LuaSession>() {
        return Some(s.events.clone());
    }
    if let Ok(m) = ud.borrow::<crate::objects::model::LuaModel>() {
        return Some(m.events.clone());
    }
    if let Ok(w) = ud.borrow::<crate::objects::write::LuaWrite>() {
        return Some(w.events.clone());
    }
    crate::objects::builder::events(v)
}


