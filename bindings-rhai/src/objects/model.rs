//! Models declared from scripts: `db.model(#{...})` and the `Model` script
//! type (`Model.build`, `Model.col`, `Model.<column>`), `db.models()`,
//! `db.create_all()`, `db.drop_all()`.
//!
//! A declaration is a map with `name`, `table`, `columns` and `relations`;
//! each column is an array `[name, type]` or `[name, type, #{ options }]`, or
//! a map `#{ name: .., "type": .., options.. }`; `relations` maps names to
//! `dbridge::belongs_to(...)` and its siblings (see `relation.rs`). Every key is checked: an unknown or
//! misspelt one is a `configuration` error naming it.

use std::fmt;

use dbridge_engine::schema::{
    Column, ForeignKey, Identity, Index, Model, ModelBuilder, ReferentialAction, ServerDefault,
};
use dbridge_engine::session::Instance;
use dbridge_engine::{SqlType, Value};
use rhai::{
    Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Module, NativeCallContext,
};

use crate::convert::error::{configuration, to_rhai};
use crate::convert::value::from_dynamic;
use crate::objects::database::Db;
use crate::objects::expr::{ExprV, expr_of};
use crate::objects::instance::Obj;
use crate::objects::relation::{RelAttr, describe_relationships, provide_model_name};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// `dbridge::now`: as a column's `"default"`, the current time, set by the
/// client when the row is inserted.
#[derive(Debug, Clone, Copy)]
pub struct Now;

/// A model as a script sees it (Rhai type `Model`): its columns are
/// properties (`User.name` is the column expression), its calls are methods.
#[derive(Clone)]
pub struct ModelV {
    pub(crate) model: Model,
    pub(crate) db: Db,
}

impl fmt::Debug for ModelV {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Model({})", self.model.name())
    }
}

impl ModelV {
    /// The engine model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// A new transient instance whose assignments run the handle's validators
    /// and `set` listeners.
    pub(crate) fn instance(&self) -> Instance {
        Instance::with_registry(&self.model, &self.db.orm().registry)
    }

    fn build(&self, ctx: &NativeCallContext, values: Map) -> Res<Obj> {
        let inst = Obj(self.instance());
        for (k, v) in values {
            inst.set(ctx, &k, v)?;
        }
        Ok(inst)
    }

    fn col(&self, name: &str) -> Res<ExprV> {
        self.model.col(name).map(ExprV).map_err(to_rhai)
    }

    /// `Model.<name>`: a column expression, or a relationship attribute.
    pub(crate) fn attr(&self, name: &str) -> Res<Dynamic> {
        if self.model.column_index(name).is_ok() {
            return self.col(name).map(Dynamic::from);
        }
        match RelAttr::of(&self.model, name)? {
            Some(a) => Ok(Dynamic::from(a)),
            None => Err(crate::objects::relation::unknown(&self.model, name)),
        }
    }
}

fn string(key: &str, v: &Dynamic) -> Res<String> {
    v.clone()
        .into_string()
        .map_err(|t| configuration(format!("`{key}` must be a string, got {t}")))
}

fn boolean(key: &str, v: &Dynamic) -> Res<bool> {
    v.as_bool()
        .map_err(|t| configuration(format!("column option `{key}` must be a bool, got {t}")))
}

fn action(key: &str, v: &Dynamic) -> Res<ReferentialAction> {
    string(key, v)?.parse().map_err(to_rhai)
}

fn now_factory(ty: &str) -> Res<impl Fn() -> Value + Send + Sync + 'static> {
    let ty: SqlType = ty.parse().map_err(to_rhai)?;
    Ok(move || {
        Value::from(chrono::Utc::now())
            .coerce(&ty, "dbridge::now")
            .unwrap_or(Value::Null)
    })
}

/// One column option.
fn column_option(col: Column, ty: &str, key: &str, v: &Dynamic) -> Res<Column> {
    Ok(match key {
        "primary_key" => {
            if boolean(key, v)? {
                col.primary_key()
            } else {
                col
            }
        }
        "nullable" => col.nullable(boolean(key, v)?),
        "unique" => {
            if boolean(key, v)? {
                col.unique()
            } else {
                col
            }
        }
        "index" => {
            if boolean(key, v)? {
                col.index()
            } else {
                col
            }
        }
        // `deferred: true`, or the name of its deferred group: reading one
        // column of the group loads them all.
        "deferred" if v.is_string() => col.deferred_group(string(key, v)?),
        "deferred" => {
            if v.as_bool().map_err(|_| {
                configuration(
                    "column option `deferred` must be a boolean or the name of a deferred group",
                )
            })? {
                col.deferred()
            } else {
                col
            }
        }
        "default" if v.is::<Now>() => col.default_factory(now_factory(ty)?),
        "default" if v.is::<ExprV>() => col.default_expr(v.clone().cast::<ExprV>().0),
        "default" => col.default(from_dynamic(v.clone(), "column option `default`")?),
        "check" => col.check(expr_of(v.clone(), "column option `check`")?),
        "references" => {
            let target = string(key, v)?;
            let Some((table, column)) = target.split_once('.') else {
                return Err(configuration(format!(
                    "column option `references` must be \"table.column\", got {target:?}"
                )));
            };
            col.references(table, column)
        }
        "on_delete" => col.on_delete(action(key, v)?),
        "on_update" => col.on_update(action(key, v)?),
        "server_default" => col.default(ServerDefault::clock(&string(key, v)?).map_err(to_rhai)?),
        "identity" if v.as_bool() == Ok(false) => col.identity(None),
        "identity" => col.identity(Some(string(key, v)?.parse::<Identity>().map_err(to_rhai)?)),
        other => {
            return Err(configuration(format!(
                "unknown column option `{other}` (expected primary_key, nullable, unique, \
                 index, default, server_default, identity, check, references, on_delete, \
                 on_update or deferred)"
            )));
        }
    })
}

/// A column from `[name, type, #{opts}]` or `#{ name, "type", opts.. }`.
fn column(spec: Dynamic) -> Res<Column> {
    if spec.is_map() {
        let map = spec.cast::<Map>();
        let name = string("name", map.get("name").unwrap_or(&Dynamic::UNIT))?;
        let ty = string("type", map.get("type").unwrap_or(&Dynamic::UNIT))?;
        let mut col = Column::new(name, ty.as_str());
        for (k, v) in &map {
            if k != "name" && k != "type" {
                col = column_option(col, &ty, k, v)?;
            }
        }
        return Ok(col);
    }
    let Ok(items) = spec.into_array() else {
        return Err(configuration(
            "a column must be [name, type] or [name, type, #{ options }] or a map",
        ));
    };
    let (name, ty) = match (items.first(), items.get(1)) {
        (Some(n), Some(t)) => (string("column name", n)?, string("column type", t)?),
        _ => {
            return Err(configuration(
                "a column must be [name, type] or [name, type, #{ options }]",
            ));
        }
    };
    let mut col = Column::new(name, ty.as_str());
    match items.get(2) {
        None => {}
        Some(opts) if opts.is_map() && items.len() == 3 => {
            for (k, v) in opts.read_lock::<Map>().iter().flat_map(|m| m.iter()) {
                col = column_option(col, &ty, k, v)?;
            }
        }
        Some(_) => {
            return Err(configuration(
                "a column must be [name, type] or [name, type, #{ options }]",
            ));
        }
    }
    Ok(col)
}

/// The inheritance options of a declaration.
#[derive(Default)]
struct Inherit {
    parent: Option<Model>,
    concrete: bool,
    polymorphic_on: Option<String>,
    identity: Option<Value>,
    /// `polymorphic: "union"`.
    union: bool,
}

fn names(what: &str, v: &Dynamic) -> Res<Vec<String>> {
    let bad = || configuration(format!("{what} must be an array of column names"));
    v.clone()
        .into_array()
        .map_err(|_| bad())?
        .into_iter()
        .map(|c| c.into_string().map_err(|_| bad()))
        .collect()
}

/// `indexes: [[cols..] or #{ columns, name, unique }]`, `uniques` (the same,
/// UNIQUE constraints) and `foreign_keys: [#{ columns, references,
/// ref_columns, name, on_delete, on_update }]`.
fn constraints(mut b: ModelBuilder, key: &str, v: &Dynamic) -> Res<ModelBuilder> {
    let items = v
        .clone()
        .into_array()
        .map_err(|t| configuration(format!("`{key}` must be an array, got {t}")))?;
    for item in items {
        if !item.is_map() {
            let cols = names(&format!("an entry of `{key}`"), &item)?;
            b = match key {
                "indexes" => b.index(Index::new(cols)),
                "uniques" => b.unique(cols),
                _ => {
                    return Err(configuration(
                        "a foreign key must be a map #{ columns, references, ref_columns }",
                    ));
                }
            };
            continue;
        }
        let map = item.cast::<Map>();
        let get = |k: &str| map.get(k).cloned().unwrap_or(Dynamic::UNIT);
        let text = |k: &str| -> Res<Option<String>> {
            let v = get(k);
            if v.is_unit() {
                Ok(None)
            } else {
                string(k, &v).map(Some)
            }
        };
        let allowed: &[&str] = match key {
            "foreign_keys" => &[
                "columns",
                "references",
                "ref_columns",
                "name",
                "on_delete",
                "on_update",
            ],
            _ => &["columns", "name", "unique"],
        };
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(configuration(format!(
                "unknown option `{k}` in `{key}` (expected {})",
                allowed.join(", ")
            )));
        }
        let cols = names("`columns`", &get("columns"))?;
        b = match key {
            "foreign_keys" => {
                let table = text("references")?
                    .ok_or_else(|| configuration("a foreign key needs `references` (a table)"))?;
                let mut fk =
                    ForeignKey::new(cols, table, names("`ref_columns`", &get("ref_columns"))?);
                if let Some(n) = text("name")? {
                    fk = fk.named(n);
                }
                if let Some(a) = text("on_delete")? {
                    fk = fk.on_delete(a.parse().map_err(to_rhai)?);
                }
                if let Some(a) = text("on_update")? {
                    fk = fk.on_update(a.parse().map_err(to_rhai)?);
                }
                b.foreign_key(fk)
            }
            "uniques" => match text("name")? {
                Some(n) => b.unique_named(n, cols),
                None => b.unique(cols),
            },
            _ => {
                let mut ix = Index::new(cols);
                if let Some(n) = text("name")? {
                    ix = ix.named(n);
                }
                if get("unique").as_bool() == Ok(true) {
                    ix = ix.unique();
                }
                b.index(ix)
            }
        };
    }
    Ok(b)
}

/// `db.model(#{ name, table, columns, relations, version })`: declares and registers
/// a model (one that references a table no model maps yet waits for it:
/// see `Metadata::add_or_defer`).
fn declare(db: &mut Db, spec: Map) -> Res<ModelV> {
    let mut name = None;
    let mut table = None;
    let mut columns = Vec::new();
    let mut relations = None;
    let mut version = None;
    let mut inherit = Inherit::default();
    let mut polymorphic_load: Option<dbridge_engine::schema::PolymorphicLoad> = None;
    let mut extras = Vec::new();
    for (k, v) in &spec {
        match k.as_str() {
            "indexes" | "uniques" | "foreign_keys" => extras.push((k.as_str(), v)),
            "name" => name = Some(string("name", v)?),
            "table" => table = Some(string("table", v)?),
            "columns" => {
                let items = v
                    .clone()
                    .into_array()
                    .map_err(|t| configuration(format!("`columns` must be an array, got {t}")))?;
                for c in items {
                    columns.push(column(c)?);
                }
            }
            "relations" => relations = Some(v),
            "version" => version = Some(string("version", v)?),
            "inherits" => {
                let p = v.clone().try_cast::<ModelV>().ok_or_else(|| {
                    configuration(format!("`inherits` must be a model, got {}", v.type_name()))
                })?;
                inherit.parent = Some(p.model);
            }
            "concrete" => inherit.concrete = boolean("concrete", v)?,
            "polymorphic_load" => {
                let how = string("polymorphic_load", v)?;
                polymorphic_load = Some(how.parse().map_err(|e: dbridge_engine::Error| {
                    configuration(format!("model option `polymorphic_load`: {e}"))
                })?);
            }
            "polymorphic" => {
                let how = string("polymorphic", v)?;
                if how != "union" {
                    return Err(configuration(format!(
                        "model option `polymorphic` must be \"union\" (queries read the UNION ALL \
                         of the model's and its concrete subclasses' tables), got {how:?}"
                    )));
                }
                inherit.union = true;
            }
            "polymorphic_on" => inherit.polymorphic_on = Some(string("polymorphic_on", v)?),
            "polymorphic_identity" => {
                inherit.identity = Some(from_dynamic(v.clone(), "`polymorphic_identity`")?)
            }
            other => {
                return Err(configuration(format!(
                    "unknown model option `{other}` (expected name, table, columns, indexes, \
                     uniques, foreign_keys, relations, version, inherits, concrete, \
                     polymorphic_on, polymorphic_identity, polymorphic_load, polymorphic)"
                )));
            }
        }
    }
    let name = name.ok_or_else(|| configuration("a model needs a `name`"))?;
    let mut builder = Model::builder(&name).columns(columns);
    // A subclass without a table shares its parent's (single-table inheritance).
    match (table, &inherit.parent) {
        (Some(t), _) => builder = builder.table(t),
        (None, None) => builder = builder.table(name.to_lowercase()),
        (None, Some(_)) => {}
    }
    if let Some(p) = &inherit.parent {
        builder = builder.inherits(p);
    }
    if inherit.concrete {
        builder = builder.concrete();
    }
    if inherit.union {
        builder = builder.polymorphic_union();
    }
    if let Some(c) = inherit.polymorphic_on {
        builder = builder.polymorphic_on(c);
    }
    if let Some(v) = inherit.identity {
        builder = builder.polymorphic_identity(v);
    }
    if let Some(how) = polymorphic_load {
        builder = builder.polymorphic_load(how);
    }
    for (key, v) in extras {
        builder = constraints(builder, key, v)?;
    }
    if let Some(v) = relations {
        for (rel_name, rel) in crate::objects::relation::relations(&name, v)? {
            builder = builder.relationship(rel_name, rel);
        }
    }
    let model = builder.build().map_err(to_rhai)?;
    // A model referencing a table no model maps yet waits for it.
    db.orm().meta.add_or_defer(model.clone()).map_err(to_rhai)?;
    if let Some(column) = version {
        db.orm()
            .registry
            .version_column(&model, &column)
            .map_err(to_rhai)?;
    }
    Ok(ModelV {
        model,
        db: db.clone(),
    })
}

/// `db.reflect()`: every table of the database that no declared model maps
/// becomes a model named after its table (the migration history table
/// excepted; tables that cannot be models are skipped). Reflected models work
/// like declared ones but are not the declared schema: `create_all`,
/// `drop_all` and the migrator's `check` leave them alone. Returns them as a
/// map by name.
fn reflect(db: &mut Db) -> Res<Map> {
    let orm = db.orm();
    let models = db
        .reflect()
        .and_then(|r| r.merge(&orm.meta, &orm.reflected))
        .map_err(to_rhai)?;
    let mut out = Map::new();
    for model in models {
        let name = model.name().as_str().into();
        out.insert(
            name,
            Dynamic::from(ModelV {
                model,
                db: db.clone(),
            }),
        );
    }
    Ok(out)
}

/// `Model.describe()`: one map per column (`column`, `type`, `nullable`,
/// `primary_key`, and `default`, `references` when set), then one per
/// relationship, as the Lua binding's `Model:describe()`.
fn describe(model: &Model) -> Res<Array> {
    let mut rows: Array = model
        .column_summaries()
        .into_iter()
        .map(|c| {
            let mut row = Map::new();
            row.insert("column".into(), c.name.into());
            row.insert("type".into(), c.sql_type.into());
            row.insert("nullable".into(), c.nullable.into());
            row.insert("primary_key".into(), c.primary_key.into());
            if let Some(d) = c.default {
                row.insert("default".into(), d.into());
            }
            if let Some(r) = c.references {
                row.insert("references".into(), r.into());
            }
            Dynamic::from_map(row)
        })
        .collect();
    rows.extend(crate::objects::relation::describe_relationships(model)?);
    Ok(rows)
}

const MIGRATION_DDL: &str = "a migration changes the schema with its own statements (db.execute)";

/// Registers `Model`, `db.model`, `db.models`, `db.reflect`, `db.create_all`,
/// `db.drop_all` and `dbridge::now`.
pub(crate) fn register(engine: &mut Engine, module: &mut Module) {
    provide_model_name(|v| {
        let m = v.read_lock::<ModelV>()?;
        Some(m.model.name().as_str().to_owned())
    });
    module.set_var("now", Now);
    engine
        .register_type_with_name::<Now>("Now")
        .register_type_with_name::<ModelV>("Model")
        .register_fn("model", declare)
        .register_fn("models", |db: &mut Db| -> Array {
            let orm = db.orm();
            let reflected = orm
                .reflected
                .models()
                .into_iter()
                .filter(|m| orm.meta.by_table(m.table().as_str()).is_none());
            let declared = orm.meta.models();
            let pending = orm.meta.pending();
            reflected
                .chain(declared)
                .chain(pending)
                .map(|model| {
                    Dynamic::from(ModelV {
                        model,
                        db: db.clone(),
                    })
                })
                .collect()
        })
        .register_fn(
            "model",
            |db: &mut Db, name: ImmutableString| -> Res<ModelV> {
                let orm = db.orm();
                let pending = || {
                    orm.meta
                        .pending()
                        .into_iter()
                        .find(|m| m.name().as_str() == name.as_str())
                };
                let model =
                    orm.meta.get(&name).or_else(pending).ok_or_else(|| {
                        configuration(format!("no model `{name}` on this database"))
                    })?;
                Ok(ModelV {
                    model,
                    db: db.clone(),
                })
            },
        )
        .register_fn("reflect", reflect)
        .register_fn("create_all", |db: &mut Db| -> Res<()> {
            db.not_in_migration("create_all", MIGRATION_DDL)
                .map_err(to_rhai)?;
            let fut = db.orm().meta.create_all(db.database());
            db.blocker_ref()
                .block_on(fut)
                .and_then(|r| r)
                .map_err(to_rhai)
        })
        .register_fn("drop_all", |db: &mut Db| -> Res<()> {
            db.not_in_migration("drop_all", MIGRATION_DDL)
                .map_err(to_rhai)?;
            let fut = db.orm().meta.drop_all(db.database());
            db.blocker_ref()
                .block_on(fut)
                .and_then(|r| r)
                .map_err(to_rhai)
        })
        .register_fn(
            "build",
            |ctx: NativeCallContext, m: &mut ModelV, values: Map| m.build(&ctx, values),
        )
        .register_fn("build", |m: &mut ModelV| Obj(m.instance()))
        .register_fn("col", |m: &mut ModelV, name: ImmutableString| m.col(&name))
        .register_fn("c", |m: &mut ModelV, name: ImmutableString| m.col(&name))
        .register_indexer_get(|m: &mut ModelV, name: ImmutableString| m.attr(&name))
        .register_fn("model_name", |m: &mut ModelV| m.model.name().to_string())
        .register_fn("table_name", |m: &mut ModelV| m.model.table().to_string())
        .register_fn("column_names", |m: &mut ModelV| -> Array {
            m.model
                .columns()
                .iter()
                .map(|c| c.name().to_string().into())
                .collect()
        })
        .register_fn("relationship_names", |m: &mut ModelV| -> Array {
            m.model
                .relationship_names()
                .into_iter()
                .map(Dynamic::from)
                .collect()
        })
        .register_fn("relationships", |m: &mut ModelV| {
            describe_relationships(&m.model)
        })
        .register_fn("describe", |m: &mut ModelV| describe(&m.model))
        .register_fn("==", |a: &mut ModelV, b: ModelV| a.model.ptr_eq(&b.model))
        .register_fn("!=", |a: &mut ModelV, b: ModelV| !a.model.ptr_eq(&b.model))
        .register_fn("to_string", |m: &mut ModelV| {
            format!("Model({})", m.model.name())
        })
        .register_fn("to_debug", |m: &mut ModelV| {
            format!("Model({})", m.model.name())
        });
}
