//! Event listeners and validators written as Rhai closures:
//! `db.on(Model or "*", event, |s, inst| ...)` (`|inst, column, new, old|`
//! for `set`) and
//! `db.validate(Model, column, [name,] |value| ...)`.
//!
//! The engine calls them synchronously inside the flush or assignment that a
//! script call started, and they run within that call (see [`crate::context`]).

use std::sync::Arc;

use dbridge_engine::Error;
use dbridge_engine::events::{Event, EventKind, Listener, Target};
use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, NativeCallContext};

use crate::convert::error::{configuration, to_rhai};
use crate::convert::value::to_dynamic;
use crate::objects::context;
use crate::objects::database::Db;
use crate::objects::instance::Obj;
use crate::objects::model::ModelV;

type Res<T> = Result<T, Box<EvalAltResult>>;

fn target(d: &Dynamic) -> Res<Target> {
    if let Some(m) = d.read_lock::<ModelV>() {
        return Ok(Target::from(&m.model));
    }
    if d.is_string() {
        return Ok(Target::model(d.clone().into_string().unwrap_or_default()));
    }
    Err(configuration(format!(
        "db.on needs a Model or \"*\", got {}",
        d.type_name()
    )))
}

/// The arguments a listener gets: `(s)` for session events, `(s, inst)` for
/// instance events, `(inst, column, new, old)` for `set` (the Lua form; with
/// `old_set_form`, the deprecated `(s, inst, column, value)`).
fn listener(f: FnPtr, old_set_form: bool) -> Listener {
    Arc::new(move |ev: &Event<'_>| {
        let session = context::session();
        let inst = ev
            .instance
            .map_or(Dynamic::UNIT, |i| Dynamic::from(Obj(i.clone())));
        let out = match ev.kind {
            EventKind::Set => {
                let column: Dynamic = ev.attribute.unwrap_or_default().into();
                let new = ev.new.cloned().map_or(Dynamic::UNIT, to_dynamic);
                if old_set_form {
                    context::call(&f, (session, inst, column, new))
                } else {
                    let old = ev.old.cloned().map_or(Dynamic::UNIT, to_dynamic);
                    context::call(&f, (inst, column, new, old))
                }
            }
            k if k.is_instance_event() => context::call(&f, (session, inst)),
            _ => context::call(&f, (session,)),
        };
        out.map(|_| ())
    })
}

/// Whether a `set` listener is written in the deprecated form
/// `|s, inst, column, value|`: a script closure whose first parameter is
/// named `s` or `session` (both forms take four arguments, so the name is
/// the only sign). Warns once per listener; the form goes in the next release.
fn old_set_form(ctx: &NativeCallContext, f: &FnPtr) -> bool {
    let curried = f.curry().len();
    let first = ctx
        .iter_namespaces()
        .find_map(|m| m.get_script_fn(f.fn_name(), curried + 4))
        .and_then(|def| def.params.get(curried).cloned());
    let old = first.is_some_and(|p| p == "s" || p == "session");
    if old {
        tracing::warn!(
            "deprecated: a Rhai `set` listener `|s, inst, column, value|`; write \
             `|inst, column, new, old|` (the Lua form): the old form goes in the next release"
        );
    }
    old
}

fn on(
    ctx: &NativeCallContext,
    db: &Db,
    what: &Dynamic,
    event: &str,
    f: FnPtr,
    name: Option<String>,
) -> Res<FnPtr> {
    let target = target(what)?;
    let kind: EventKind = event.parse().map_err(to_rhai)?;
    let old_form = kind == EventKind::Set && old_set_form(ctx, &f);
    if target != Target::All && !kind.is_instance_event() {
        return Err(configuration(format!(
            "`{kind}` is a session event: listen to it on \"*\""
        )));
    }
    let events = db.orm().registry.events().clone();
    let name = name.unwrap_or_else(|| format!("{kind} listener `{}`", f.fn_name()));
    let id = events.on_named(name, target, kind, listener(f, old_form));
    // `from_fn` is marked volatile (a deprecation warning), not deprecated.
    #[allow(deprecated)]
    FnPtr::from_fn("remove_listener", move |_, _| Ok(events.off(id).into()))
}

/// A validator's verdict: `()` or `true` accepts, `false` rejects, a string
/// rejects with that message; a thrown error rejects with its message.
fn verdict(v: Result<Dynamic, Error>) -> Result<(), String> {
    match v {
        Err(e) => Err(e.to_string()),
        Ok(v) if v.is_unit() => Ok(()),
        Ok(v) => match v.as_bool() {
            Ok(true) => Ok(()),
            Ok(false) => Err("is not valid".into()),
            Err(_) if v.is_string() => Err(v.into_string().unwrap_or_default()),
            Err(_) => Ok(()),
        },
    }
}

fn validate(db: &Db, m: &ModelV, column: &str, name: Option<String>, f: FnPtr) -> Res<()> {
    let name = name.unwrap_or_else(|| format!("validator `{}`", f.fn_name()));
    db.orm()
        .registry
        .validate(&m.model, column, name, move |v| {
            verdict(context::call(&f, (to_dynamic(v.clone()),)))
        })
        .map_err(to_rhai)
}

/// Registers `db.on` and `db.validate`.
pub(crate) fn register(engine: &mut Engine) {
    engine
        .register_fn(
            "on",
            |ctx: NativeCallContext,
             db: &mut Db,
             what: Dynamic,
             event: ImmutableString,
             f: FnPtr| { on(&ctx, db, &what, &event, f, None) },
        )
        .register_fn(
            "on",
            |ctx: NativeCallContext,
             db: &mut Db,
             what: Dynamic,
             event: ImmutableString,
             f: FnPtr,
             name: ImmutableString| {
                on(&ctx, db, &what, &event, f, Some(name.to_string()))
            },
        )
        .register_fn(
            "validate",
            |db: &mut Db, m: ModelV, column: ImmutableString, f: FnPtr| {
                validate(db, &m, &column, None, f)
            },
        )
        .register_fn(
            "validate",
            |db: &mut Db, m: ModelV, column: ImmutableString, name: ImmutableString, f: FnPtr| {
                validate(db, &m, &column, Some(name.to_string()), f)
            },
        );
}
