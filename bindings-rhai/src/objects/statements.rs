//! The `statement` event: `db.on("*", "statement", |ev| ...)` and
//! `db.on_statement(|ev| ...)`.
//!
//! The engine calls its statement observers synchronously, inside the
//! database future that a native function drives with `block_on` on the
//! script's own thread; a Rhai closure cannot be called from there (it needs
//! the running call's context). So the observer only queues the event, with
//! its listener, on this thread; the native function that ran the statement
//! hands the queue to the listeners through [`then`] right after its work,
//! within its own call context. An event queued by a call that does not
//! deliver (a commit, a host-side call) is delivered by the next call that
//! does.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

use dbridge_engine::Database;
use dbridge_engine::db::StatementEvent;
use rhai::{Dynamic, EvalAltResult, FnPtr, Map, NativeCallContext};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// At most this many events wait for delivery on a thread; older ones are
/// dropped.
const CAP: usize = 10_000;

thread_local! {
    /// The events waiting for delivery on this thread, each with its listener.
    static PENDING: RefCell<VecDeque<(FnPtr, Map)>> = const { RefCell::new(VecDeque::new()) };
}

/// An event as the listener sees it: `#{ sql, elapsed, rows, ok, backend,
/// server }` (`rows` and `server` `()` when absent).
fn event_map(ev: &StatementEvent<'_>) -> Map {
    let mut m = Map::new();
    m.insert("sql".into(), ev.sql.into());
    m.insert(
        "elapsed".into(),
        Dynamic::from_float(ev.elapsed.as_secs_f64()),
    );
    let rows = ev.rows.map_or(Dynamic::UNIT, |n| {
        Dynamic::from_int(rhai::INT::try_from(n).unwrap_or(rhai::INT::MAX))
    });
    m.insert("rows".into(), rows);
    m.insert("ok".into(), ev.ok.into());
    m.insert("backend".into(), ev.backend.name().into());
    let server = ev.server.map_or(Dynamic::UNIT, |s| s.into());
    m.insert("server".into(), server);
    m
}

/// Adds `f` as a statement listener of `db`; the returned function removes it.
pub(crate) fn listen(db: &Database, f: FnPtr) -> Res<FnPtr> {
    let id = db.on_statement(Arc::new(move |ev: &StatementEvent<'_>| {
        let event = event_map(ev);
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() >= CAP {
                p.pop_front();
            }
            p.push_back((f.clone(), event));
        });
    }));
    let db = db.clone();
    // `from_fn` is marked volatile (a deprecation warning), not deprecated.
    #[allow(deprecated)]
    FnPtr::from_fn("remove_listener", move |_, _| {
        Ok(db.remove_statement_observer(id).into())
    })
}

/// Calls the listeners of the events queued on this thread, in order, within
/// `ctx`. A listener's error stops the delivery (the rest are dropped) and is
/// returned.
pub(crate) fn deliver(ctx: &NativeCallContext) -> Res<()> {
    loop {
        let Some((f, event)) = PENDING.with(|p| p.borrow_mut().pop_front()) else {
            return Ok(());
        };
        if let Err(e) = f.call_within_context::<Dynamic>(ctx, (Dynamic::from_map(event),)) {
            PENDING.with(|p| p.borrow_mut().clear());
            return Err(e);
        }
    }
}

/// `r` after delivering the queued events within `ctx`: a listener's error
/// replaces a success; the call's own error wins over a listener's.
pub(crate) fn then<T>(ctx: &NativeCallContext, r: Res<T>) -> Res<T> {
    let delivered = deliver(ctx);
    let v = r?;
    delivered.map(|()| v)
}
