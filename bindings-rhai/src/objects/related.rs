//! Relationships of instances from Rhai: `post.author` (an instance or `()`),
//! `user.posts` (a [`Collection`]), `post.author = ada`, `user.posts = [...]`,
//! and the collection's methods (`add remove clear` return the collection,
//! `contains len is_empty all`, `c[i]`, `for p in c`, `x in c`).
//!
//! Reading a relationship that is loaded costs nothing. When it is not, and
//! the instance belongs to a live session, it is loaded through that session
//! now (blocking, as every Rhai database call); an instance of `db.query` or
//! `Model.get` loads through its database; without either (its session
//! closed), the engine's `invalid_state` error says what is not loaded. The
//! `raise` strategy and strict loading are `invalid_state` errors too.

use std::sync::Arc;

use dbridge_engine::schema::{Model, RelationshipDef, RelationshipKind};
use dbridge_engine::session::{Instance, Related};
use dbridge_engine::{Error, Result as EngineResult};
use rhai::{Array, Dynamic, Engine, EvalAltResult, INT, NativeCallContext};

use crate::convert::error::to_rhai;
use crate::objects::collection::Collection;
use crate::objects::context;
use crate::objects::database::Db;
use crate::objects::instance::{Obj, Relationships, provide_relationships};
use crate::objects::relation::{has_relationship, unknown};
use crate::objects::session::Sess;
use crate::objects::statements;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// The relationship `name` of `model`, or the "no column or relationship"
/// error.
pub(crate) fn relationship(model: &Model, name: &str) -> Res<Arc<RelationshipDef>> {
    if !has_relationship(model, name)? {
        return Err(unknown(model, name));
    }
    model.relationship(name).map_err(to_rhai)
}

/// The relationship's value, loading it through the instance's session when
/// it is not loaded.
fn load(ctx: &NativeCallContext, inst: &Instance, name: &str) -> Res<Related> {
    if inst.is_related_loaded(name).map_err(to_rhai)? {
        return inst.related(name).map_err(to_rhai);
    }
    match inst.session_id().and_then(Sess::find) {
        Some(s) => {
            let i = inst.clone();
            s.run(ctx, async move |sess| sess.related(&i, name).await)
        }
        None => match through_database(ctx, inst, async |i| i.load_related_bound(name).await)? {
            Some(r) => Ok(r),
            None => inst.related(name).map_err(to_rhai),
        },
    }
}

/// Runs `load` on an instance bound to its database (one of `db.query`
/// or `Model.get`, which keep their `Db` handle with the binding), blocking
/// within the script call; `None` when the instance is not bound.
fn through_database<T>(
    ctx: &NativeCallContext,
    inst: &Instance,
    load: impl AsyncFnOnce(Instance) -> EngineResult<Option<T>>,
) -> Res<Option<T>> {
    let Some(db) = inst.binding_context().and_then(|c| c.downcast::<Db>().ok()) else {
        return Ok(None);
    };
    let i = inst.clone();
    let r = context::enter(ctx, None, || {
        db.blocker_ref()
            .block_on(load(i))
            .and_then(|r| r)
            .map_err(context::script_error)
    });
    statements::then(ctx, r)
}

/// A column of `inst` that is not loaded (deferred or expired), loaded
/// through the instance's session; `None` without a live session.
fn load_attribute(
    ctx: &NativeCallContext,
    inst: &Instance,
    name: &str,
) -> Res<Option<dbridge_engine::Value>> {
    match inst.session_id().and_then(Sess::find) {
        Some(s) => {
            let i = inst.clone();
            s.run(ctx, async move |sess| sess.load_attribute(&i, name).await)
                .map(Some)
        }
        None => through_database(ctx, inst, async |i| i.load_attribute_bound(name).await),
    }
}

/// `inst.<relationship>`: an instance or `()`, or the collection.
pub(crate) fn read(ctx: &NativeCallContext, inst: &Instance, name: &str) -> Res<Dynamic> {
    relationship(&inst.model(), name)?;
    Ok(match load(ctx, inst, name)? {
        Related::One(o) => o.map_or(Dynamic::UNIT, |i| Dynamic::from(Obj(i))),
        Related::Many(_) => Dynamic::from(Collection {
            owner: inst.clone(),
            name: name.into(),
        }),
    })
}

/// Runs a synchronous change within the script call, so that `set`
/// listeners and validators can run.
fn change(ctx: &NativeCallContext, f: impl FnOnce() -> EngineResult<()>) -> Res<()> {
    context::enter(ctx, None, || f().map_err(context::script_error))
}

fn instance_of(v: Dynamic, what: &str) -> Res<Instance> {
    let t = v.type_name();
    v.try_cast::<Obj>().map(|o| o.0).ok_or_else(|| {
        to_rhai(Error::InvalidValue {
            target: what.to_owned(),
            reason: format!("expected an instance, got {t}"),
        })
    })
}

/// The instances of an array or a collection.
fn instances(v: Dynamic, what: &str) -> Res<Vec<Instance>> {
    if let Some(c) = v.read_lock::<Collection>() {
        return c.owner.related_many(&c.name).map_err(to_rhai);
    }
    let t = v.type_name();
    let items = v.into_array().map_err(|_| {
        to_rhai(Error::InvalidValue {
            target: what.to_owned(),
            reason: format!("expected an array of instances, got {t}"),
        })
    })?;
    items.into_iter().map(|d| instance_of(d, what)).collect()
}

/// `inst.<relationship> = value`: an instance or `()` for a many-to-one or
/// one-to-one; an array (or a collection) replaces a collection's members.
pub(crate) fn assign(
    ctx: &NativeCallContext,
    inst: &Instance,
    name: &str,
    value: Dynamic,
) -> Res<()> {
    let rel = relationship(&inst.model(), name)?;
    let what = format!("relationship `{name}`");
    if !rel.kind.is_collection() {
        let target = if value.is_unit() {
            None
        } else {
            Some(instance_of(value, &what)?)
        };
        if rel.kind == RelationshipKind::HasOne {
            // The one it replaces must be known, to clear (or orphan) it.
            load(ctx, inst, name)?;
        }
        return change(ctx, || inst.set_related(name, target.as_ref()));
    }
    let new = instances(value, &what)?;
    let old = match load(ctx, inst, name)? {
        Related::Many(v) => v,
        Related::One(_) => Vec::new(),
    };
    change(ctx, || {
        for o in old.iter().filter(|o| !new.iter().any(|n| n.ptr_eq(o))) {
            inst.remove_related(name, o)?;
        }
        for n in &new {
            inst.add_related(name, n)?;
        }
        Ok(())
    })
}

impl Collection {
    /// The members, loading them first if needed.
    fn items(&self, ctx: &NativeCallContext) -> Res<Vec<Instance>> {
        Ok(load(ctx, &self.owner, &self.name)?.into_vec())
    }

    fn at(&self, ctx: &NativeCallContext, i: INT) -> Res<Obj> {
        let items = self.items(ctx)?;
        let n = items.len();
        let idx = if i < 0 {
            usize::try_from(-i).ok().and_then(|k| n.checked_sub(k))
        } else {
            usize::try_from(i).ok().filter(|&k| k < n)
        };
        idx.and_then(|k| items.into_iter().nth(k))
            .map(Obj)
            .ok_or_else(|| {
                to_rhai(Error::InvalidValue {
                    target: format!("index of {self:?}"),
                    reason: format!("{i} is out of bounds (length {n})"),
                })
            })
    }

    fn render(&self) -> String {
        match self.owner.related_many(&self.name) {
            Ok(items) => {
                let shown: Vec<String> = items.iter().map(Instance::describe).collect();
                format!("[{}]", shown.join(", "))
            }
            Err(_) => format!("{self:?} (not loaded)"),
        }
    }
}

impl IntoIterator for Collection {
    type Item = Res<Obj>;
    type IntoIter = std::vec::IntoIter<Res<Obj>>;

    /// The loaded members (reading `user.posts` has loaded them); an
    /// `invalid_state` error if they were unloaded since (expired).
    fn into_iter(self) -> Self::IntoIter {
        match self.owner.related_many(&self.name) {
            Ok(items) => items.into_iter().map(|i| Ok(Obj(i))).collect::<Vec<_>>(),
            Err(e) => vec![Err(to_rhai(e))],
        }
        .into_iter()
    }
}

/// Registers `Collection`, and hands instances their relationship calls.
pub(crate) fn register(engine: &mut Engine) {
    provide_relationships(Relationships {
        read,
        assign,
        load_attribute,
    });
    engine
        .register_type_with_name::<Collection>("Collection")
        .register_iterator_result::<Collection, Obj>()
        .register_fn(
            "add",
            |ctx: NativeCallContext, c: &mut Collection, x: Dynamic| -> Res<Collection> {
                let x = instance_of(x, "add")?;
                change(&ctx, || c.owner.add_related(&c.name, &x))?;
                Ok(c.clone())
            },
        )
        .register_fn(
            "remove",
            |ctx: NativeCallContext, c: &mut Collection, x: Dynamic| -> Res<Collection> {
                let x = instance_of(x, "remove")?;
                change(&ctx, || c.owner.remove_related(&c.name, &x))?;
                Ok(c.clone())
            },
        )
        .register_fn(
            "clear",
            |ctx: NativeCallContext, c: &mut Collection| -> Res<Collection> {
                c.items(&ctx)?;
                change(&ctx, || c.owner.clear_related(&c.name))?;
                Ok(c.clone())
            },
        )
        .register_fn(
            "contains",
            |ctx: NativeCallContext, c: &mut Collection, x: Dynamic| -> Res<bool> {
                let Some(x) = x.try_cast::<Obj>() else {
                    return Ok(false);
                };
                Ok(c.items(&ctx)?.iter().any(|i| i.ptr_eq(&x.0)))
            },
        )
        .register_fn("len", |ctx: NativeCallContext, c: &mut Collection| {
            c.items(&ctx).map(|v| v.len() as INT)
        })
        .register_fn("is_empty", |ctx: NativeCallContext, c: &mut Collection| {
            c.items(&ctx).map(|v| v.is_empty())
        })
        .register_fn(
            "all",
            |ctx: NativeCallContext, c: &mut Collection| -> Res<Array> {
                Ok(c.items(&ctx)?
                    .into_iter()
                    .map(|i| Dynamic::from(Obj(i)))
                    .collect())
            },
        )
        .register_indexer_get(
            |ctx: NativeCallContext, c: &mut Collection, i: INT| -> Res<Obj> { c.at(&ctx, i) },
        )
        .register_fn("to_string", |c: &mut Collection| c.render())
        .register_fn("to_debug", |c: &mut Collection| c.render());
}
