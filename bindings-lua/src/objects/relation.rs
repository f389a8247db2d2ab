//! Relationship declarations from Lua (`dbridge.belongs_to("User", { ... })`
//! and its siblings, read by `db:model{ relations = { ... } }`) and
//! relationship attributes of models (`User.posts:any(cond)`,
//! `Post.author:has(cond)`, `q:join(User.posts)`).

use std::sync::OnceLock;

use dbridge_engine::ErrorKind;
use dbridge_engine::query::{Expr, TableRef};
use dbridge_engine::schema::{LoadStrategy, Model, Relationship, RelationshipKind};
use mlua::{Lua, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue};

use crate::convert::error::lua_err;
use crate::convert::error::{LuaDbError, Raw, raw};
use crate::convert::keys::check_keys;

/// Registry key of the relationship attribute class's `__index` table (set by orm.lua).
pub(crate) const REL_ATTR_CLASS: &str = "dbridge.RelAttr";

/// Options a relationship declaration may have.
const OPTION_KEYS: [&str; 9] = [
    "back_populates",
    "foreign_key",
    "secondary",
    "secondary_columns",
    "through",
    "cascade",
    "passive_deletes",
    "lazy",
    "order_by",
];

/// A declared relationship, not yet on a model.
#[derive(Debug, Clone)]
pub(crate) struct LuaRelationship(pub(crate) Relationship);

impl UserData for LuaRelationship {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        fields.add_meta_field("__name", "dbridge.relationship");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!(
                "dbridge.{}(\"{}\")",
                this.0.kind().as_str(),
                this.0.target()
            ))
        });
    }
}

fn schema(msg: impl Into<String>) -> LuaDbError {
    LuaDbError::new(ErrorKind::Schema, msg)
}

/// The name of a value that is a model, else `None`. Models lie above this
/// file (they declare relationships), so the dispatch (`install/handles.rs`)
/// is handed down at install.
static MODEL_NAME: OnceLock<fn(&LuaValue) -> Option<String>> = OnceLock::new();

/// Called once the dispatch is installed.
pub(crate) fn provide_model_name(f: fn(&LuaValue) -> Option<String>) {
    let _ = MODEL_NAME.set(f);
}

/// A model given by name or as a model object.
fn model_name(v: &LuaValue, what: &str) -> Result<String, LuaDbError> {
    match v {
        LuaValue::String(s) => Ok(s.to_string_lossy()),
        other => MODEL_NAME
            .get()
            .and_then(|f| f(other))
            .ok_or_else(|| LuaDbError::argument(what, 1, "a model or a model's name", other)),
    }
}

/// `raw.relation(kind, target, opts)`: `dbridge.belongs_to` and its siblings.
pub(crate) fn declare(lua: &Lua, (kind, target, opts): (String, LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let target = model_name(&target, &kind)?;
        let mut rel = match kind.as_str() {
            "belongs_to" => Relationship::belongs_to(&target),
            "has_many" => Relationship::has_many(&target),
            "has_one" => Relationship::has_one(&target),
            _ => Relationship::many_to_many(&target),
        };
        let what = format!("{kind}(\"{target}\")");
        match &opts {
            LuaValue::Nil => {}
            LuaValue::Table(t) => rel = options(rel, t, &what)?,
            other => return Err(LuaDbError::argument(&kind, 2, "a table of options", other)),
        }
        let m2m = rel.kind() == RelationshipKind::ManyToMany;
        if m2m && !matches!(&opts, LuaValue::Table(t) if has(t, "secondary") || has(t, "through")) {
            return Err(schema(format!(
                "{what}: `secondary` (a table name) or `through` (an association model) is required"
            )));
        }
        Ok(LuaRelationship(rel))
    })();
    raw(lua, r)
}

fn has(t: &Table, k: &str) -> bool {
    t.contains_key(k).unwrap_or(false)
}

/// Applies the options table of a declaration.
fn options(mut rel: Relationship, t: &Table, what: &str) -> Result<Relationship, LuaDbError> {
    check_keys(t, &OPTION_KEYS, what)?;
    let text = |k: &str| -> Result<Option<String>, LuaDbError> {
        t.get::<Option<String>>(k)
            .map_err(|_| schema(format!("{what}: `{k}` must be a string")))
    };
    let m2m = rel.kind() == RelationshipKind::ManyToMany;
    for k in ["secondary", "secondary_columns", "through"] {
        if !m2m && has(t, k) {
            return Err(schema(format!(
                "{what}: `{k}` is for many_to_many relationships"
            )));
        }
    }
    if let Some(v) = text("back_populates")? {
        rel = rel.back_populates(v);
    }
    if let Some(v) = text("foreign_key")? {
        rel = rel.foreign_key(v);
    }
    if let Some(v) = text("secondary")? {
        rel = rel.secondary(v);
    }
    match t.get::<LuaValue>("through").map_err(lua_err)? {
        LuaValue::Nil => {}
        v => rel = rel.through(model_name(&v, "through")?),
    }
    match t.get::<LuaValue>("secondary_columns").map_err(lua_err)? {
        LuaValue::Nil => {}
        LuaValue::Table(cols) => {
            let (a, b) = (cols.get::<Option<String>>(1), cols.get::<Option<String>>(2));
            match (a, b, cols.raw_len()) {
                (Ok(Some(a)), Ok(Some(b)), 2) => rel = rel.secondary_columns(a, b),
                _ => return Err(pair_error(what)),
            }
        }
        _ => return Err(pair_error(what)),
    }
    if let Some(v) = text("cascade")? {
        rel = rel.cascade_str(&v)?;
    }
    match t.get::<LuaValue>("passive_deletes").map_err(lua_err)? {
        LuaValue::Nil => {}
        LuaValue::Boolean(b) => rel = rel.passive_deletes(b),
        _ => {
            return Err(schema(format!(
                "{what}: `passive_deletes` must be a boolean"
            )));
        }
    }
    if let Some(v) = text("lazy")? {
        rel = rel.lazy(v.parse::<LoadStrategy>()?);
    }
    if let Some(v) = text("order_by")? {
        rel = rel.order_by(v);
    }
    Ok(rel)
}

fn pair_error(what: &str) -> LuaDbError {
    schema(format!(
        "{what}: `secondary_columns` must be two column names {{ \"to_this\", \"to_target\" }}"
    ))
}

/// `db:model{ relations = { name = dbridge.belongs_to(...) } }`: the
/// declarations, by name (sorted, so that the order is stable).
pub(crate) fn relations(t: &Table, model: &str) -> Result<Vec<(String, Relationship)>, LuaDbError> {
    let bad = || {
        schema(format!(
            "model `{model}`: `relations` must be a table {{ name = dbridge.belongs_to(...) }}"
        ))
    };
    let list = match t.get::<LuaValue>("relations").map_err(lua_err)? {
        LuaValue::Nil => return Ok(Vec::new()),
        LuaValue::Table(list) => list,
        _ => return Err(bad()),
    };
    let mut out = Vec::new();
    for pair in list.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair.map_err(lua_err)?;
        let LuaValue::String(name) = k else {
            return Err(bad());
        };
        let name = name.to_string_lossy();
        let rel = match &v {
            LuaValue::UserData(ud) => ud.borrow::<LuaRelationship>().ok().map(|r| r.0.clone()),
            _ => None,
        };
        let rel = rel.ok_or_else(|| {
            schema(format!(
                "model `{model}`: relation `{name}` must be made by dbridge.belongs_to, has_many, has_one or many_to_many"
            ))
        })?;
        out.push((name, rel));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// `Model.<relationship>`: a relationship of a model, for `any` / `has` and joins.
#[derive(Debug, Clone)]
pub(crate) struct LuaRelAttr {
    pub(crate) model: Model,
    pub(crate) name: String,
}

impl UserData for LuaRelAttr {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        fields.add_meta_field_with("__index", |lua| {
            lua.named_registry_value::<LuaValue>(REL_ATTR_CLASS)
        });
        fields.add_meta_field("__name", "dbridge.relationship_attribute");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(match this.model.relationship(&this.name) {
                Ok(r) => format!(
                    "dbridge.relationship({}.{}: {} {})",
                    this.model.name(),
                    this.name,
                    r.kind.as_str(),
                    r.target.name()
                ),
                Err(_) => format!("dbridge.relationship({}.{})", this.model.name(), this.name),
            })
        });
    }
}

/// The relationship attribute `name` of `model`, if it has one (resolved now,
/// so that a bad declaration shows here).
pub(crate) fn attr(model: &Model, name: &str) -> Result<Option<LuaRelAttr>, LuaDbError> {
    if !model.relationship_names().iter().any(|n| n == name) {
        return Ok(None);
    }
    model.relationship(name)?;
    Ok(Some(LuaRelAttr {
        model: model.clone(),
        name: name.to_owned(),
    }))
}

/// The relationship attribute behind a script value.
pub(crate) fn attr_of(v: &LuaValue) -> Option<LuaRelAttr> {
    match v {
        LuaValue::UserData(ud) => ud.borrow::<LuaRelAttr>().ok().map(|a| a.clone()),
        _ => None,
    }
}

/// Whether a join names a relationship (`"posts"`, `User.posts`).
pub(crate) fn is_relationship(v: &LuaValue) -> bool {
    matches!(v, LuaValue::String(_)) || attr_of(v).is_some()
}

/// The tables and ON conditions of a join along a relationship: one of the
/// first model in the query that has it (`"posts"`), or of the model of a
/// relationship attribute (`User.posts`); and the model it reaches.
pub(crate) fn join_path(
    models: &[Model],
    v: &LuaValue,
    func: &str,
) -> Result<(Vec<(TableRef, Expr)>, Model), LuaDbError> {
    let rel = match attr_of(v) {
        Some(a) => a.model.relationship(&a.name)?,
        None => {
            let name = v
                .as_string()
                .map(|s| s.to_string_lossy())
                .ok_or_else(|| LuaDbError::argument(func, 1, "a relationship name", v))?;
            let owner = models
                .iter()
                .find(|m| m.relationship_names().contains(&name))
                .or(models.first())
                .ok_or_else(|| {
                    LuaDbError::new(
                        ErrorKind::Schema,
                        "a join by relationship needs a model in the query",
                    )
                })?;
            owner.relationship(&name)?
        }
    };
    Ok((rel.join_path()?, rel.target.clone()))
}

/// `raw.rel_op(attr, "any" | "has", cond)`: `User.posts:any(cond)`,
/// `Post.author:has(cond)` (a correlated EXISTS).
pub(crate) fn op(lua: &Lua, (this, name, cond): (LuaValue, String, LuaValue)) -> Raw {
    let r = (|| {
        let a = attr_of(&this).ok_or_else(|| {
            LuaDbError::argument(&name, 1, "a relationship (`Model.name`)", &this)
        })?;
        let cond_value = cond.clone();
        let cond = match &cond {
            LuaValue::Nil => None,
            v => Some(crate::objects::expr::to_expr(lua, v)?),
        };
        let e = if name == "has" {
            a.model.has(&a.name, cond)?
        } else {
            a.model.any(&a.name, cond)?
        };
        let depth = crate::objects::expr::depth_over([&cond_value]);
        crate::objects::expr::LuaExpr::new(lua, crate::objects::expr::ExprKind::Expr(e), depth)
    })();
    raw(lua, r)
}

/// The rows `Model:describe()` adds after the columns: one per relationship
/// (`relationship`, `kind`, `target`, and `back_populates`, `lazy` when set).
pub(crate) fn describe_rows(lua: &Lua, model: &Model, rows: &Table) -> Result<(), LuaDbError> {
    for r in model.relationship_summaries()? {
        let row = lua.create_table().map_err(lua_err)?;
        row.raw_set("relationship", r.name).map_err(lua_err)?;
        row.raw_set("kind", r.kind).map_err(lua_err)?;
        row.raw_set("target", r.target).map_err(lua_err)?;
        row.raw_set("back_populates", r.back_populates)
            .map_err(lua_err)?;
        row.raw_set("lazy", r.lazy).map_err(lua_err)?;
        rows.raw_set(rows.raw_len() + 1, row).map_err(lua_err)?;
    }
    Ok(())
}
