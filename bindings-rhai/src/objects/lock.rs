//! The row-lock options of `q.for_update(#{ nowait: true })` and
//! `s.get(Model, pk, #{ for_update: true, ... })`, below both the query and
//! the session so that neither imports the other for them.

use dbridge_engine::query::{Lock, LockStrength, LockWait};
use rhai::{EvalAltResult, Map};

use crate::convert::error::configuration;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// The row lock of `for_update(#{ nowait: true })` / `skip_locked: true`.
pub(crate) fn lock_options(strength: LockStrength, opts: Map, func: &str) -> Res<Lock> {
    let mut wait = LockWait::Wait;
    for (k, v) in opts {
        if !matches!(k.as_str(), "nowait" | "skip_locked") {
            return Err(configuration(format!(
                "{func}: unknown option `{k}` (nowait, skip_locked)"
            )));
        }
        let on = v
            .as_bool()
            .map_err(|t| configuration(format!("{func}: `{k}` is true or false, got {t}")))?;
        wait = match k.as_str() {
            _ if !on => wait,
            "nowait" => LockWait::NoWait,
            _ => LockWait::SkipLocked,
        };
    }
    Ok(Lock { strength, wait })
}
