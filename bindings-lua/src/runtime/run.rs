//! Running scripts: [`call`], [`exec`], [`eval`] for async hosts and
//! [`exec_blocking`] for hosts that wait.
//!
//! Every database function is an mlua async function, so Lua code that uses
//! dbridge must run as a coroutine driven by a future (`call_async` /
//! `exec_async`); a plain `exec()` fails with "attempt to yield from outside a
//! coroutine". [`call`] wraps mlua's future with the call's context: the
//! instruction budget, the runtime to enter, and the transactions to roll back
//! if the call fails or is dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use std::time::Duration;

use mlua::{FromLuaMulti, Function, IntoLuaMulti, Lua};

use crate::runtime::context::Installed;
use crate::runtime::context::{CallContext, Enter, timeout_error};

/// A running call of a Lua function (see [`call`]).
#[must_use = "futures do nothing unless polled"]
pub struct Call<R> {
    inner: Option<Pin<Box<dyn Future<Output = mlua::Result<R>> + Send>>>,
    ctx: Arc<CallContext>,
    runtime: Option<tokio::runtime::Handle>,
    timeout: Option<Duration>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Wakes the call when the host interrupts it while it waits.
    interrupt: Option<Pin<Box<tokio::sync::futures::OwnedNotified>>>,
    done: bool,
}

impl<R> std::fmt::Debug for Call<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<R> Future for Call<R> {
    type Output = mlua::Result<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(Err(mlua::Error::runtime("the call has already finished")));
        };
        let _rt = match (&this.runtime, tokio::runtime::Handle::try_current()) {
            (Some(h), Err(_)) => Some(h.enter()),
            _ => None,
        };
        if let (Some(limit), None) = (this.timeout, &this.deadline) {
            this.deadline = Some(Box::pin(tokio::time::sleep(limit)));
            this.ctx.begin_clock();
        }
        let _ctx = Enter::new(this.ctx.clone());
        let out = if this.ctx.is_interrupted() {
            Poll::Pending
        } else {
            inner.as_mut().poll(cx)
        };
        if out.is_pending() {
            this.watch_interrupt(cx);
        }
        let timed_out = out.is_pending()
            && this
                .deadline
                .as_mut()
                .is_some_and(|d| d.as_mut().poll(cx).is_ready());
        let out = match out {
            Poll::Pending if timed_out => Poll::Ready(Err(mlua::Error::external(timeout_error(
                this.timeout.unwrap_or_default(),
            )))),
            // A script over budget or interrupted that is waiting (or was resumed
            // by a catch that slipped through) is stopped here.
            Poll::Pending if this.ctx.is_exhausted() => {
                Poll::Ready(Err(mlua::Error::external(this.ctx.stop_error())))
            }
            other => other,
        };
        if let Poll::Ready(r) = &out {
            this.done = true;
            // Drop the coroutine first: a stopped script's pending database call
            // may hold a transaction that is to be rolled back.
            this.inner = None;
            if r.is_err() {
                this.ctx.abandon_transactions();
            }
        }
        out
    }
}

impl<R> Call<R> {
    /// Registers the task to be woken by an interrupt (checked after
    /// registering, so none is missed).
    fn watch_interrupt(&mut self, cx: &mut Context<'_>) {
        let Some(notify) = self.ctx.notify() else {
            return;
        };
        let n = self
            .interrupt
            .get_or_insert_with(|| Box::pin(notify.notified_owned()));
        if n.as_mut().poll(cx).is_ready() {
            self.interrupt = None;
        }
    }
}

impl<R> Drop for Call<R> {
    fn drop(&mut self) {
        if !self.done {
            let _rt = match (&self.runtime, tokio::runtime::Handle::try_current()) {
                (Some(h), Err(_)) => Some(h.enter()),
                _ => None,
            };
            self.inner = None;
            self.ctx.abandon_transactions();
        }
    }
}

/// Calls a Lua function as a coroutine, under the budget chosen at install.
///
/// This is the entry point for async hosts: run as many calls at once as you
/// like (each a future, e.g. `tokio::spawn`ed or joined); while one waits on the
/// database the others run. If the call fails (or the future is dropped before
/// it finishes), transactions it opened and left open are rolled back.
///
/// # Errors
/// The script's error, or a `budget_exceeded` error (see
/// [`InstallOptions::instruction_budget`](crate::InstallOptions::instruction_budget)).
pub fn call<R>(lua: &Lua, func: &Function, args: impl IntoLuaMulti) -> Call<R>
where
    R: FromLuaMulti + Send + 'static,
{
    let installed = lua.app_data_ref::<Installed>().map(|i| i.clone());
    let (budget, runtime, timeout, interrupts) = installed.map_or((None, None, None, None), |i| {
        (i.budget, i.runtime, i.timeout, Some(i.interrupts))
    });
    Call {
        inner: Some(Box::pin(func.call_async::<R>(args))),
        ctx: Arc::new(CallContext::new(budget, timeout, interrupts)),
        runtime,
        timeout,
        deadline: None,
        interrupt: None,
        done: false,
    }
}

/// Loads `source` (named `name` in errors and tracebacks) and runs it with [`call`].
///
/// # Errors
/// A syntax error, or as [`call`].
pub async fn exec(lua: &Lua, source: &str, name: &str) -> mlua::Result<()> {
    eval::<()>(lua, source, name).await
}

/// Loads `source` and runs it with [`call`], returning its results.
///
/// # Errors
/// A syntax error, or as [`call`].
pub async fn eval<R>(lua: &Lua, source: &str, name: &str) -> mlua::Result<R>
where
    R: FromLuaMulti + Send + 'static,
{
    let f = lua.load(source).set_name(name).into_function()?;
    call::<R>(lua, &f, ()).await
}

/// Runs a chunk to completion from code that may block (a REPL, a CLI, a
/// game loop without async): the same scripts, the same functions.
///
/// On a thread without a runtime it blocks on the runtime given at install
/// (or returns an error if none was). Inside a multi-threaded tokio runtime it
/// uses `block_in_place`. Inside a current-thread runtime blocking is
/// impossible: it returns an error telling to `.await` [`eval`] instead.
///
/// # Errors
/// As [`eval`], plus the cases above.
pub fn exec_blocking<R>(lua: &Lua, source: &str, name: &str) -> mlua::Result<R>
where
    R: FromLuaMulti + Send + 'static,
{
    let fut = eval::<R>(lua, source, name);
    match tokio::runtime::Handle::try_current() {
        Ok(h) => match h.runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| h.block_on(fut))
            }
            _ => Err(mlua::Error::runtime(
                "dbridge_lua::exec_blocking cannot block inside a current-thread tokio runtime: \
                 use dbridge_lua::eval(..).await",
            )),
        },
        Err(_) => {
            let handle = lua
                .app_data_ref::<Installed>()
                .and_then(|i| i.runtime.clone())
                .ok_or_else(|| {
                    mlua::Error::runtime(
                        "dbridge_lua::exec_blocking needs a tokio runtime: pass one with \
                         InstallOptions::runtime",
                    )
                })?;
            handle.block_on(fut)
        }
    }
}
