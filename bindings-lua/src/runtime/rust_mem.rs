//! Memory that Lua's collector cannot see: the Rust trees held by expression
//! userdata.
//!
//! A userdata's Lua block holds only a handle; the expression tree it points
//! to lives on the Rust heap. Left alone, a loop that builds expressions grows
//! that heap while Lua's heap (and so its collector's pace and the state's
//! memory limit) barely moves. Each expression therefore carries a [`Charge`]
//! of its estimated Rust-side bytes in the state's [`RustMemory`]: the charge
//! is counted with Lua's own memory against the memory limit, and makes the
//! collector run whenever the charged bytes have doubled since the last run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dbridge_engine::ErrorKind;
use dbridge_engine::query::{Expr, OrderBy, SelectItem};
use mlua::Lua;

use crate::convert::error::LuaDbError;

/// Charged bytes below which the collector is never forced.
const COLLECT_FLOOR: usize = 1 << 20;

/// The Rust-side bytes charged in one Lua state (kept in its app data).
#[derive(Debug)]
pub(crate) struct RustMemory {
    used: AtomicUsize,
    next_collect: AtomicUsize,
    limit: Option<usize>,
}

impl RustMemory {
    /// Tracking for a state whose memory limit is `limit` bytes.
    pub(crate) fn new(limit: Option<usize>) -> Self {
        Self {
            used: AtomicUsize::new(0),
            next_collect: AtomicUsize::new(COLLECT_FLOOR),
            limit,
        }
    }

    fn over_limit(&self, lua: &Lua) -> bool {
        self.limit
            .is_some_and(|l| lua.used_memory() + self.used.load(Ordering::Relaxed) > l)
    }

    /// Runs the collector to completion (finalizers refund their charges).
    fn collect(&self, lua: &Lua) {
        // Twice: the first call may only finish a cycle already under way.
        let _ = lua.gc_collect();
        let _ = lua.gc_collect();
        let used = self.used.load(Ordering::Relaxed);
        self.next_collect
            .store((used * 2).max(COLLECT_FLOOR), Ordering::Relaxed);
    }
}

/// Bytes charged for one userdata; refunded when it is dropped.
#[derive(Debug)]
pub(crate) struct Charge {
    mem: Arc<RustMemory>,
    bytes: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.mem.used.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// Charges `bytes` to the state (nothing in a state dbridge was not installed
/// into). Collects garbage when the charged bytes have doubled, or when the
/// state would pass its memory limit; fails with an `out_of_memory` error if it
/// still would afterwards.
pub(crate) fn charge(lua: &Lua, bytes: usize) -> Result<Option<Charge>, LuaDbError> {
    let Some(mem) = lua
        .app_data_ref::<Arc<RustMemory>>()
        .map(|m| Arc::clone(&m))
    else {
        return Ok(None);
    };
    let used = mem.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
    let charge = Charge { mem, bytes };
    let mem = &charge.mem;
    if used >= mem.next_collect.load(Ordering::Relaxed) || mem.over_limit(lua) {
        mem.collect(lua);
    }
    if mem.over_limit(lua) {
        let limit = mem.limit.unwrap_or_default();
        let mut err = LuaDbError::new(
            ErrorKind::InvalidState,
            format!(
                "not enough memory: building this expression would pass the state's memory \
                 limit of {limit} bytes"
            ),
        );
        err.kind = crate::convert::error::OUT_OF_MEMORY;
        return Err(err);
    }
    Ok(Some(charge))
}

const NODE: usize = std::mem::size_of::<Expr>() + 2 * std::mem::size_of::<usize>();

/// An estimate of the Rust heap that building `e` from existing expressions
/// allocated: its top node and copies of its direct children's top nodes
/// (with the values they hold). Deeper, shared subtrees are not counted again.
pub(crate) fn expr_bytes(e: &Expr) -> usize {
    let mut bytes = node_bytes(e);
    direct_children(e, &mut |c| bytes += node_bytes(c));
    bytes
}

/// One node: its size and the value or list it holds directly.
fn node_bytes(e: &Expr) -> usize {
    NODE + match e {
        Expr::Value(v) => value_bytes(v),
        Expr::And(items) | Expr::Or(items) => items.len() * NODE,
        Expr::InList { list, .. } => list.len() * NODE,
        Expr::Func(f) => f.args.len() * NODE,
        Expr::Case(c) => 2 * c.whens.len() * NODE,
        _ => 0,
    }
}

fn direct_children(e: &Expr, f: &mut impl FnMut(&Expr)) {
    match e {
        Expr::Not(x) | Expr::Neg(x) | Expr::Cast(x, _) => f(x),
        Expr::IsNull { expr, .. } | Expr::InQuery { expr, .. } => f(expr),
        Expr::Binary(_, l, r) | Expr::Json(_, l, r) => {
            f(l);
            f(r);
        }
        Expr::Like { expr, pattern, .. } => {
            f(expr);
            f(pattern);
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            f(expr);
            f(low);
            f(high);
        }
        Expr::And(items) | Expr::Or(items) => items.iter().for_each(f),
        Expr::InList { expr, list, .. } => {
            f(expr);
            list.iter().for_each(f);
        }
        Expr::Func(call) => call.args.iter().for_each(f),
        _ => {}
    }
}

fn value_bytes(v: &dbridge_engine::Value) -> usize {
    use dbridge_engine::Value as V;
    match v {
        V::Text(s) => s.len(),
        V::Bytes(b) => b.len(),
        _ => 0,
    }
}

/// As [`expr_bytes`] for an ordering or a labelled item.
pub(crate) fn order_bytes(o: &OrderBy) -> usize {
    expr_bytes(&o.expr) + NODE
}

/// As [`expr_bytes`] for a labelled select item.
pub(crate) fn item_bytes(i: &SelectItem) -> usize {
    expr_bytes(&i.expr) + NODE
}
