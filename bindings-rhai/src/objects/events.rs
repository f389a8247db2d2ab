//! Event listeners and validators written as Rhai closures:
//! `db.on(Model or "*", event, |s, inst| ...)` and
//! `db.validate(Model, column, [name,] |value| ...)`.
//!
//! The engine calls them synchronously inside the flush or assignment that a
//! script call started, and they run within that call (see [`crate::context`]).

use std::sync::Arc;

use dbridge_engine::Error;
use dbridge_engine::events::{Event, EventKind, Listener, Target};
use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString};

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
/// instance events, `(s, inst, column, value)` for `set`.
fn listener(f: FnPtr) -> Listener {
    Arc::new(move |ev: &Event<'_>| {
        let session = context::session();
        let inst = ev
            .instance
            .map_or(Dynamic::UNIT, |i| Dynamic::from(Obj(i.clone())));
        let out = match ev.kind {
            EventKind::Set => {
                let column: Dynamic = ev.attribute.unwrap_or_default().into();
                let value = ev.new.cloned().map_or(Dynamic::UNIT, to_dynamic);
                context::call(&f, (session, inst, column, value))
            }
            k if k.is_instance_event() => context::call(&f, (session, inst)),
            _ => context::call(&f, (session,)),
        };
        out.map(|_| ())
    })
}

fn on(db: &Db, what: &Dynamic, event: &str, f: FnPtr, name: Option<String>) -> Res<FnPtr> {
    let target = target(what)?;
    let kind: EventKind = event.parse().map_err(to_rhai)?;
    if target != Target::All && !kind.is_instance_event() {
        return Err(configuration(format!(
            "`{kind}` is a session event: listen to it on \"*\""
        )));
    }
    let events = db.orm().registry.events().clone();
    let name = name.unwrap_or_else(|| format!("{kind} listener `{}`", f.fn_name()));
    let id = events.on_named(name, target, kind, listener(f));
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
            |db: &mut Db, what: Dynamic, event: ImmutableString, f: FnPtr| {
                on(db, &what, &event, f, None)
            },
        )
        .register_fn(
            "on",
            |db: &mut Db,
             what: Dynamic,
             event: ImmutableString,
             f: FnPtr,
             name: ImmutableString| {
                on(db, &what, &event, f, Some(name.to_string()))
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
