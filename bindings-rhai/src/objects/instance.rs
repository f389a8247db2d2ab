//! [`Obj`]: an instance of a model as a script sees it (Rhai type `Instance`).
//!
//! Columns are properties (`user.name`, `user.karma += 1`): reading gives the
//! value, assigning coerces it to the column's type, runs the validators and
//! `set` listeners and marks the column changed. Relationships are
//! properties too (`post.author`, `user.posts`: see `related.rs`). The calls are methods:
//! `state()`, `changed()`, `is_modified()`, `to_map()`, `pk()`. Clones are the
//! same object: `a == b` is identity.

use std::fmt;
use std::sync::OnceLock;

use dbridge_engine::session::Instance;
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, NativeCallContext};

use crate::convert::error::to_rhai;
use crate::convert::value::{from_dynamic, to_dynamic};
use crate::objects::context;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// How an instance reads and assigns a relationship (`related.rs`). That file
/// lies above this one (a relationship loads through the instance's session),
/// so it hands its functions down when it registers.
pub(crate) struct Relationships {
    /// `inst.<relationship>`.
    pub(crate) read: fn(&NativeCallContext, &Instance, &str) -> Res<Dynamic>,
    /// `inst.<relationship> = value`.
    pub(crate) assign: fn(&NativeCallContext, &Instance, &str, Dynamic) -> Res<()>,
    /// `inst.<column>` when the column is not loaded (deferred or expired):
    /// the loaded value, or `None` when there is nothing to load it through.
    pub(crate) load_attribute:
        fn(&NativeCallContext, &Instance, &str) -> Res<Option<dbridge_engine::Value>>,
}

static RELATIONSHIPS: OnceLock<Relationships> = OnceLock::new();

/// Called by `related.rs` when it registers.
pub(crate) fn provide_relationships(r: Relationships) {
    let _ = RELATIONSHIPS.set(r);
}

/// The relationship calls of [`Obj::get`] and [`Obj::set`].
mod related {
    use dbridge_engine::Error;
    use dbridge_engine::session::Instance;
    use rhai::{Dynamic, NativeCallContext};

    use super::{RELATIONSHIPS, Relationships, Res};
    use crate::convert::error::to_rhai;

    fn provided() -> Res<&'static Relationships> {
        RELATIONSHIPS.get().ok_or_else(|| {
            to_rhai(Error::InvalidState(
                "relationships of instances are not registered".into(),
            ))
        })
    }

    pub(super) fn read(ctx: &NativeCallContext, inst: &Instance, name: &str) -> Res<Dynamic> {
        (provided()?.read)(ctx, inst, name)
    }

    pub(super) fn assign(
        ctx: &NativeCallContext,
        inst: &Instance,
        name: &str,
        value: Dynamic,
    ) -> Res<()> {
        (provided()?.assign)(ctx, inst, name, value)
    }

    pub(super) fn load_attribute(
        ctx: &NativeCallContext,
        inst: &Instance,
        name: &str,
    ) -> Res<Option<dbridge_engine::Value>> {
        (provided()?.load_attribute)(ctx, inst, name)
    }
}

/// An instance of a model (Rhai type `Instance`); clones share it.
#[derive(Clone)]
pub struct Obj(pub(crate) Instance);

impl fmt::Debug for Obj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.describe())
    }
}

/// Whether `name` is a column of the instance's model (else it may be a
/// relationship).
fn is_column(inst: &Instance, name: &str) -> bool {
    inst.model().column_index(name).is_ok()
}

impl Obj {
    /// A column's value, or a relationship (see `related.rs`).
    pub(crate) fn get(&self, ctx: &NativeCallContext, name: &str) -> Res<Dynamic> {
        if !is_column(&self.0, name) {
            if let Some(v) = self.0.expression(name) {
                return Ok(to_dynamic(v));
            }
            let property = self.0.registry().is_some_and(|r| {
                r.properties_of(&self.0.model())
                    .iter()
                    .any(|p| p.name == name)
            });
            if !property {
                return related::read(ctx, &self.0, name);
            }
        }
        match self.0.get(name) {
            Ok(v) => Ok(to_dynamic(v)),
            // Not loaded (deferred or expired): loaded through the
            // instance's session, as a relationship is.
            Err(e) => match related::load_attribute(ctx, &self.0, name)? {
                Some(v) => Ok(to_dynamic(v)),
                None => Err(to_rhai(e)),
            },
        }
    }

    /// Sets a column, or a relationship (see `related.rs`).
    pub(crate) fn set(&self, ctx: &NativeCallContext, name: &str, value: Dynamic) -> Res<()> {
        if !is_column(&self.0, name) {
            return related::assign(ctx, &self.0, name, value);
        }
        let value = from_dynamic(value, &format!("column `{name}`"))?;
        context::enter(ctx, None, || {
            self.0.set(name, value).map_err(context::script_error)
        })
    }

    /// The loaded columns as a map (unloaded ones are left out), as
    /// `inst.to_map()` gives them to scripts.
    pub fn to_map(&self) -> Map {
        self.fields()
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect()
    }

    /// The loaded columns in the model's column order (a map sorts its keys).
    pub fn fields(&self) -> Vec<(String, Dynamic)> {
        self.0
            .model()
            .columns()
            .iter()
            .filter_map(|c| {
                let name = c.name().as_str();
                let v = self.0.get(name).ok()?;
                Some((name.to_owned(), to_dynamic(v)))
            })
            .collect()
    }

    fn render(&self) -> String {
        let model = self.0.model();
        let fields: Vec<String> = self
            .fields()
            .into_iter()
            .map(|(k, v)| format!("{k}: {v:?}"))
            .collect();
        format!("{}({})", model.name(), fields.join(", "))
    }
}

/// Registers `Instance`.
pub(crate) fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Obj>("Instance")
        .register_indexer_get(
            |ctx: NativeCallContext, o: &mut Obj, name: ImmutableString| o.get(&ctx, &name),
        )
        .register_indexer_set(
            |ctx: NativeCallContext, o: &mut Obj, name: ImmutableString, v: Dynamic| {
                o.set(&ctx, &name, v)
            },
        )
        .register_fn(
            "get",
            |ctx: NativeCallContext, o: &mut Obj, name: ImmutableString| o.get(&ctx, &name),
        )
        .register_fn(
            "set",
            |ctx: NativeCallContext, o: &mut Obj, name: ImmutableString, v: Dynamic| {
                o.set(&ctx, &name, v)
            },
        )
        .register_fn("state", |o: &mut Obj| o.0.state().as_str().to_string())
        .register_fn("model_name", |o: &mut Obj| o.0.model().name().to_string())
        .register_fn("changed", |o: &mut Obj| -> Array {
            o.0.changed().into_iter().map(Dynamic::from).collect()
        })
        .register_fn("is_modified", |o: &mut Obj| o.0.is_modified())
        .register_fn("to_map", |o: &mut Obj| o.to_map())
        .register_fn("pk", |o: &mut Obj| -> Dynamic {
            match o.0.primary_key() {
                Some(mut pk) if pk.len() == 1 => pk.pop().map_or(Dynamic::UNIT, to_dynamic),
                Some(pk) => pk.into_iter().map(to_dynamic).collect::<Array>().into(),
                None => Dynamic::UNIT,
            }
        })
        .register_fn("model_name", |o: &mut Obj| o.0.model().name().to_string())
        .register_fn(
            "set_reference",
            |o: &mut Obj, column: ImmutableString, target: Obj| {
                o.0.set_reference(&column, &target.0).map_err(to_rhai)
            },
        )
        .register_fn("==", |a: &mut Obj, b: Obj| a.0.ptr_eq(&b.0))
        .register_fn("!=", |a: &mut Obj, b: Obj| !a.0.ptr_eq(&b.0))
        .register_fn("to_string", |o: &mut Obj| o.render())
        .register_fn("to_debug", |o: &mut Obj| o.render());
}
