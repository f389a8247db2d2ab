//! Relationship declarations from Rhai: `dbridge::belongs_to("User", #{ ... })`
//! and its siblings (`has_many`, `has_one`, `many_to_many`), read by
//! `db.model(#{ relations: #{ name: ... } })`; and relationship attributes of
//! models (`User.posts.any(cond)`, `Post.author.has(cond)`).
//!
//! Every option key is checked: an unknown one is a `schema` error naming it.
//! The names are the Lua binding's; none is a Rhai keyword.

use std::fmt;
use std::sync::OnceLock;

use dbridge_engine::ErrorKind;
use dbridge_engine::schema::{LoadStrategy, Model, Relationship, RelationshipKind};
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Map, Module};

use crate::convert::error::{binding_error, raise, to_rhai};
use crate::objects::expr::{ExprV, expr_of};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// The name of a value that is a `Model`, else `None`. Models lie above this
/// file (they declare relationships), so `model.rs` hands this down when it
/// registers.
static MODEL_NAME: OnceLock<fn(&Dynamic) -> Option<String>> = OnceLock::new();

/// Called by `model.rs` when it registers.
pub(crate) fn provide_model_name(f: fn(&Dynamic) -> Option<String>) {
    let _ = MODEL_NAME.set(f);
}

/// The options a relationship declaration may have.
const OPTION_KEYS: &str = "back_populates, foreign_key, secondary, secondary_columns, \
                           through, cascade, passive_deletes, lazy or order_by";

/// A declared relationship, not yet on a model (Rhai type `Relationship`).
#[derive(Debug, Clone)]
pub struct RelationV(pub(crate) Relationship);

/// `Model.<relationship>` (Rhai type `RelationshipAttribute`): a
/// relationship of a model, for `any` / `has` and joins.
#[derive(Clone)]
pub struct RelAttr {
    pub(crate) model: Model,
    pub(crate) name: String,
}

impl fmt::Debug for RelAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.model.name(), self.name)
    }
}

/// A `schema` error raised from the binding.
pub(crate) fn schema(message: impl Into<ImmutableString>) -> Box<EvalAltResult> {
    raise(binding_error(ErrorKind::Schema, message))
}

/// "no column or relationship `x` on model `User`".
pub(crate) fn unknown(model: &Model, name: &str) -> Box<EvalAltResult> {
    to_rhai(model.unknown_attribute(name))
}

/// Whether `model` has a relationship `name` (declared, or implied by
/// another model's `back_populates`); an error when it has one that does not
/// resolve (an unknown target...).
pub(crate) fn has_relationship(model: &Model, name: &str) -> Res<bool> {
    if !model.relationship_names().iter().any(|n| n == name) {
        return Ok(false);
    }
    model.relationship(name).map_err(to_rhai)?;
    Ok(true)
}

/// A model given by name or as a model.
fn model_name(v: &Dynamic, what: &str) -> Res<String> {
    if let Some(name) = MODEL_NAME.get().and_then(|f| f(v)) {
        return Ok(name);
    }
    v.clone().into_string().map_err(|t| {
        schema(format!(
            "{what}: the target must be a model or a model's name, got {t}"
        ))
    })
}

fn text(what: &str, key: &str, v: &Dynamic) -> Res<String> {
    v.clone()
        .into_string()
        .map_err(|t| schema(format!("{what}: `{key}` must be a string, got {t}")))
}

/// Applies one option of a declaration.
fn option(rel: Relationship, what: &str, key: &str, v: &Dynamic) -> Res<Relationship> {
    let m2m = rel.kind() == RelationshipKind::ManyToMany;
    if !m2m && matches!(key, "secondary" | "secondary_columns" | "through") {
        return Err(schema(format!(
            "{what}: `{key}` is for many_to_many relationships"
        )));
    }
    Ok(match key {
        "back_populates" => rel.back_populates(text(what, key, v)?),
        "foreign_key" => rel.foreign_key(text(what, key, v)?),
        "secondary" => rel.secondary(text(what, key, v)?),
        "through" => rel.through(model_name(v, what)?),
        "secondary_columns" => {
            let pair = v.clone().into_array().unwrap_or_default();
            match pair.as_slice() {
                [a, b] => rel.secondary_columns(text(what, key, a)?, text(what, key, b)?),
                _ => {
                    return Err(schema(format!(
                        "{what}: `secondary_columns` must be two column names \
                         [\"to_this\", \"to_target\"]"
                    )));
                }
            }
        }
        "cascade" => rel.cascade_str(&text(what, key, v)?).map_err(to_rhai)?,
        "passive_deletes" => {
            rel.passive_deletes(v.as_bool().map_err(|t| {
                schema(format!("{what}: `passive_deletes` must be a bool, got {t}"))
            })?)
        }
        "lazy" => rel.lazy(
            text(what, key, v)?
                .parse::<LoadStrategy>()
                .map_err(to_rhai)?,
        ),
        "order_by" => rel.order_by(text(what, key, v)?),
        other => {
            return Err(schema(format!(
                "{what}: unknown relationship option `{other}` (expected {OPTION_KEYS})"
            )));
        }
    })
}

/// `dbridge::belongs_to(target [, opts])` and its siblings.
fn declare(kind: RelationshipKind, target: &Dynamic, opts: &Map) -> Res<RelationV> {
    let target = model_name(target, kind.as_str())?;
    let what = format!("{}(\"{target}\")", kind.as_str());
    let mut rel = match kind {
        RelationshipKind::BelongsTo => Relationship::belongs_to(&target),
        RelationshipKind::HasMany => Relationship::has_many(&target),
        RelationshipKind::HasOne => Relationship::has_one(&target),
        RelationshipKind::ManyToMany => Relationship::many_to_many(&target),
    };
    if kind == RelationshipKind::ManyToMany
        && !opts.contains_key("secondary")
        && !opts.contains_key("through")
    {
        return Err(schema(format!(
            "{what}: `secondary` (a table name) or `through` (an association model) is required"
        )));
    }
    for (k, v) in opts {
        rel = option(rel, &what, k, v)?;
    }
    Ok(RelationV(rel))
}

/// `db.model(#{ relations: #{ name: dbridge::belongs_to(...) } })`: the
/// declarations, by name.
pub(crate) fn relations(model: &str, v: &Dynamic) -> Res<Vec<(String, Relationship)>> {
    let bad = || {
        schema(format!(
            "model `{model}`: `relations` must be a map #{{ name: dbridge::belongs_to(...) }}"
        ))
    };
    let map = v.read_lock::<Map>().ok_or_else(bad)?;
    let mut out = Vec::with_capacity(map.len());
    for (name, r) in map.iter() {
        let rel = r.read_lock::<RelationV>().ok_or_else(|| {
            schema(format!(
                "model `{model}`: relation `{name}` must be made by dbridge::belongs_to, \
                 has_many, has_one or many_to_many"
            ))
        })?;
        out.push((name.to_string(), rel.0.clone()));
    }
    Ok(out)
}

impl RelAttr {
    /// The attribute `name` of `model`, if it is a relationship.
    pub(crate) fn of(model: &Model, name: &str) -> Res<Option<Self>> {
        Ok(has_relationship(model, name)?.then(|| Self {
            model: model.clone(),
            name: name.to_owned(),
        }))
    }

    fn op(&self, has: bool, cond: Option<Dynamic>) -> Res<ExprV> {
        let cond = cond
            .map(|c| expr_of(c, "a relationship condition"))
            .transpose()?;
        let e = if has {
            self.model.has(&self.name, cond)
        } else {
            self.model.any(&self.name, cond)
        };
        e.map(ExprV).map_err(to_rhai)
    }

    fn describe(&self) -> String {
        match self.model.relationship(&self.name) {
            Ok(r) => format!(
                "Relationship({}.{}: {} {})",
                self.model.name(),
                self.name,
                r.kind.as_str(),
                r.target.name()
            ),
            Err(_) => format!("Relationship({}.{})", self.model.name(), self.name),
        }
    }
}

/// `Model.relationships()`: one map per relationship (`relationship`,
/// `kind`, `target`, and `back_populates`, `lazy` when set): the rows
/// `Model.describe()` gives after the columns, as in Lua.
pub(crate) fn describe_relationships(model: &Model) -> Res<rhai::Array> {
    let rows = model.relationship_summaries().map_err(to_rhai)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut row = Map::new();
            row.insert("relationship".into(), r.name.into());
            row.insert("kind".into(), r.kind.into());
            row.insert("target".into(), r.target.into());
            if let Some(b) = r.back_populates {
                row.insert("back_populates".into(), b.into());
            }
            if let Some(l) = r.lazy {
                row.insert("lazy".into(), l.into());
            }
            row.into()
        })
        .collect())
}

/// A relationship path argument: a string, or `Model.<relationship>`.
pub(crate) fn path_of(v: &Dynamic, func: &str) -> Res<String> {
    if let Some(a) = v.read_lock::<RelAttr>() {
        return Ok(a.name.clone());
    }
    v.clone().into_string().map_err(|t| {
        crate::convert::error::configuration(format!(
            "{func}: expected a relationship path or column name (a string), got {t}"
        ))
    })
}

/// Registers the declaration functions in `module` and the `Relationship`
/// and `RelationshipAttribute` types.
pub(crate) fn register(engine: &mut Engine, module: &mut Module) {
    for kind in [
        RelationshipKind::BelongsTo,
        RelationshipKind::HasMany,
        RelationshipKind::HasOne,
        RelationshipKind::ManyToMany,
    ] {
        module.set_native_fn(kind.as_str(), move |target: Dynamic| {
            declare(kind, &target, &Map::new())
        });
        module.set_native_fn(kind.as_str(), move |target: Dynamic, opts: Map| {
            declare(kind, &target, &opts)
        });
    }
    engine
        .register_type_with_name::<RelationV>("Relationship")
        .register_fn("to_string", |r: &mut RelationV| {
            format!("{}(\"{}\")", r.0.kind().as_str(), r.0.target())
        })
        .register_fn("to_debug", |r: &mut RelationV| {
            format!("{}(\"{}\")", r.0.kind().as_str(), r.0.target())
        })
        .register_type_with_name::<RelAttr>("RelationshipAttribute")
        .register_fn("any", |a: &mut RelAttr| a.op(false, None))
        .register_fn("any", |a: &mut RelAttr, c: Dynamic| a.op(false, Some(c)))
        .register_fn("has", |a: &mut RelAttr| a.op(true, None))
        .register_fn("has", |a: &mut RelAttr, c: Dynamic| a.op(true, Some(c)))
        .register_fn("to_string", |a: &mut RelAttr| a.describe())
        .register_fn("to_debug", |a: &mut RelAttr| a.describe());
}
