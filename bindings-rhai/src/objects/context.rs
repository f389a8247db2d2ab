//! The script call that is running on this thread, for Rhai closures that the
//! engine calls back (event listeners, validators).
//!
//! The engine runs listeners and validators synchronously, inside a session
//! flush or an assignment that a native function of this binding started on
//! the script's own thread (a database future is driven by `block_on` on the
//! calling thread). Such a native function wraps its work in [`enter`], which
//! records its [`NativeCallContext`]; a callback then calls the script closure
//! through [`call`] within that context, so the script's functions, the
//! host's functions and the limits (operations, call depth) all apply.
//!
//! A failure of the closure is kept here (by [`call`]) and turned back into the
//! script's error by [`script_error`]: a limit (too many operations, a
//! terminated script) stays the uncatchable error it was; a thrown error keeps
//! its kind, with the engine's message that names the listener and instance.

use std::cell::{Cell, RefCell};

use dbridge_engine::{Error, ErrorKind};
use rhai::{Dynamic, EvalAltResult, FnPtr, FuncArgs, NativeCallContext};

use crate::convert::error::{binding_error, db_error, raise, to_rhai};

thread_local! {
    /// The innermost [`enter`]ed call's context, type-erased; null outside.
    static CONTEXT: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
    /// The session the innermost call works on (a `Session` value), passed
    /// to listeners. Held as a script value: sessions live above this file.
    static SESSION: RefCell<Option<Dynamic>> = const { RefCell::new(None) };
    /// The first error a callback raised since the innermost [`enter`].
    static FAILURE: RefCell<Option<Box<EvalAltResult>>> = const { RefCell::new(None) };
}

/// Restores the previous context, session and failure when an [`enter`] ends
/// (also on unwinding).
struct Restore {
    context: *const (),
    session: Option<Dynamic>,
    failure: Option<Box<EvalAltResult>>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        CONTEXT.with(|c| c.set(self.context));
        let session = self.session.take();
        SESSION.with(|s| *s.borrow_mut() = session);
        let failure = self.failure.take();
        FAILURE.with(|f| *f.borrow_mut() = failure);
    }
}

/// Runs `f` with `ctx` (and `session`, a `Session` value) as the call that
/// callbacks run in.
pub(crate) fn enter<R>(
    ctx: &NativeCallContext,
    session: Option<Dynamic>,
    f: impl FnOnce() -> R,
) -> R {
    let erased = std::ptr::from_ref(ctx).cast::<()>();
    let _restore = Restore {
        context: CONTEXT.with(|c| c.replace(erased)),
        session: SESSION.with(|s| s.replace(session)),
        failure: FAILURE.with(|f| f.borrow_mut().take()),
    };
    f()
}

/// The session of the innermost call, or `()`.
pub(crate) fn session() -> Dynamic {
    SESSION.with(|s| s.borrow().clone().unwrap_or(Dynamic::UNIT))
}

/// Calls a script closure from an engine callback. On failure the script's
/// error is kept for [`script_error`] and an engine error of the same kind is
/// returned (kind `validation` for a plain `throw`).
pub(crate) fn call(f: &FnPtr, args: impl FuncArgs) -> Result<Dynamic, Error> {
    let ptr = CONTEXT.with(Cell::get);
    if ptr.is_null() {
        return Err(Error::InvalidState(format!(
            "the Rhai function `{}` was called back outside a script call",
            f.fn_name()
        )));
    }
    // SAFETY: `ptr` was made in `enter` from a `&NativeCallContext` that
    // outlives the `enter` call, and it is reset (by `Restore`) before `enter`
    // returns or unwinds; it is only read on this thread, while that `enter` is
    // running. The reference is used for this call only and not kept.
    let ctx = unsafe { &*ptr.cast::<NativeCallContext<'_>>() };
    f.call_within_context::<Dynamic>(ctx, args).map_err(|e| {
        let engine_error = engine_error(&e);
        FAILURE.with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.is_none() {
                *slot = Some(e);
            }
        });
        engine_error
    })
}

/// A script error as an engine error: a dbridge error keeps its kind where
/// the engine has a matching variant; anything else is a validation error.
fn engine_error(e: &EvalAltResult) -> Error {
    let (kind, message) = match db_error(e) {
        Some(d) => (d.kind().to_owned(), d.message().to_owned()),
        None => match e.unwrap_inner() {
            EvalAltResult::ErrorRuntime(v, _) => ("validation".to_owned(), v.to_string()),
            other => ("validation".to_owned(), other.to_string()),
        },
    };
    match kind.as_str() {
        "not_found" => Error::NotFound,
        "invalid_state" => Error::InvalidState(message),
        "invalid_value" => Error::InvalidValue {
            target: "a script callback".into(),
            reason: message,
        },
        _ => Error::Validation {
            model: String::new(),
            column: None,
            message,
        },
    }
}

/// The engine error `e` of a call made within [`enter`], as the script should
/// see it: the callback's own error when it was a limit (uncatchable),
/// else a dbridge error with the kind the callback raised and the engine's
/// message (which names the listener or validator and the instance).
pub(crate) fn script_error(e: Error) -> Box<EvalAltResult> {
    let Some(failure) = FAILURE.with(|f| f.borrow_mut().take()) else {
        return to_rhai(e);
    };
    if !matches!(failure.unwrap_inner(), EvalAltResult::ErrorRuntime(..)) {
        return failure;
    }
    let kind = db_error(&failure)
        .map(|d| d.kind().to_owned())
        .unwrap_or_else(|| ErrorKind::Validation.as_str().to_owned());
    let mut err = binding_error(e.kind(), e.to_string());
    err.set_kind(&kind);
    raise(err)
}
