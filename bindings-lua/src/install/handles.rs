//! What a lower object file asks of the objects above it, handed down at
//! install ([`provide`]) so that imports run one way: which object a handle
//! is, for the statement events behind it (`objects/events.rs`); which a
//! userdata is where an expression is expected (`objects/expr.rs`), how
//! `expr:over{...}` reads its window (`objects/window.rs`), or which is a
//! relationship's target model (`objects/relation.rs`); and how an instance
//! reads and assigns its relationships (`objects/instance.rs`).

use std::sync::Arc;

use mlua::{AnyUserData, Value as LuaValue};

use crate::objects::events::{StatementEvents, provide_events_of};
use crate::objects::expr::{Operand, provide_operand, provide_window};
use crate::objects::instance::{Relationships, provide_relationships};
use crate::objects::related;
use crate::objects::relation::provide_model_name;

/// Hands the dispatches below down to the object files that call them (once
/// per process; every state installs the same functions).
pub(crate) fn provide() {
    provide_events_of(events_of);
    provide_operand(operand);
    provide_window(crate::objects::window::window);
    provide_model_name(model_name);
    provide_relationships(Relationships {
        read: related::read,
        assign: related::assign,
    });
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

/// A query, model or instance where an expression is expected.
pub(crate) fn operand(ud: &AnyUserData) -> Option<Operand> {
    if let Ok(q) = ud.borrow::<crate::objects::builder::LuaQuery>() {
        return Some(Operand::Query(Box::new(q.select.clone())));
    }
    if ud.is::<crate::objects::model::LuaModel>()
        || ud.is::<crate::objects::instance::LuaInstance>()
    {
        return Some(Operand::Entity);
    }
    None
}

/// The name of a model userdata, else `None`.
pub(crate) fn model_name(v: &LuaValue) -> Option<String> {
    let m = crate::objects::model::model_of(v, "", 1).ok()?;
    Some(m.model.name().as_str().to_owned())
}
