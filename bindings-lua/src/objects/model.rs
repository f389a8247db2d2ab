//! `db:model{...}`: model declarations from Lua tables, and [`LuaModel`], the
//! model object scripts hold (`User`, `User.name`, `User{...}`).

use std::sync::Arc;

use dbridge_engine::schema::{
    Column, ForeignKey, Identity, Index, Model, ReferentialAction, ServerDefault,
};
use dbridge_engine::{ErrorKind, Value};
use mlua::{Lua, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue};

use crate::convert::error::{LuaDbError, Raw, raw};
use crate::convert::keys::check_keys;
use crate::convert::value::from_lua;
use crate::objects::conn::Conn;
use crate::objects::database::LuaDb;
use crate::objects::events::StatementEvents;
use crate::objects::orm::Orm;

/// Registry key of the model class's `__index` function (set by orm.lua).
pub(crate) const MODEL_INDEX: &str = "dbridge.Model.__index";
/// Registry key of the model class's `__call` function.
pub(crate) const MODEL_CALL: &str = "dbridge.Model.__call";

/// A declared model as a script sees it.
#[derive(Debug, Clone)]
pub(crate) struct LuaModel {
    pub(crate) model: Model,
    pub(crate) conn: Conn,
    pub(crate) orm: Arc<Orm>,
    pub(crate) events: Arc<StatementEvents>,
}

impl UserData for LuaModel {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        fields.add_meta_field_with("__index", |lua| {
            lua.named_registry_value::<LuaValue>(MODEL_INDEX)
        });
        fields.add_meta_field_with("__call", |lua| {
            lua.named_registry_value::<LuaValue>(MODEL_CALL)
        });
        fields.add_meta_field("__name", "dbridge.model");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!(
                "dbridge.model({}, table {})",
                this.model.name(),
                this.model.table()
            ))
        });
        methods.add_meta_method(MetaMethod::Eq, |_, this, other: LuaValue| {
            Ok(model_of(&other, "==", 2).is_ok_and(|m| m.model.ptr_eq(&this.model)))
        });
    }
}

/// The model behind a script value.
pub(crate) fn model_of(v: &LuaValue, func: &str, n: usize) -> Result<LuaModel, LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(m) = ud.borrow::<LuaModel>()
    {
        return Ok(m.clone());
    }
    Err(LuaDbError::argument(func, n, "a model", v))
}

fn db_of(v: &LuaValue, func: &str) -> Result<(Conn, Arc<Orm>, Arc<StatementEvents>), LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(d) = ud.borrow::<LuaDb>()
    {
        return Ok((d.conn()?, d.orm.clone(), d.events.clone()));
    }
    Err(LuaDbError::argument(
        func,
        1,
        "a database (call it with `:`)",
        v,
    ))
}

fn schema(msg: impl Into<String>) -> LuaDbError {
    LuaDbError::new(ErrorKind::Schema, msg)
}

/// Keys a model declaration may have.
const MODEL_KEYS: [&str; 14] = [
    "name",
    "table",
    "columns",
    "version",
    "indexes",
    "uniques",
    "foreign_keys",
    "relations",
    "inherits",
    "concrete",
    "polymorphic_on",
    "polymorphic_identity",
    "polymorphic_load",
    "polymorphic",
];
/// Keys of an entry of `foreign_keys`.
const FK_KEYS: [&str; 6] = [
    "columns",
    "references",
    "ref_columns",
    "name",
    "on_delete",
    "on_update",
];
/// Keys a column declaration may have besides its name and type.
const COLUMN_KEYS: [&str; 14] = [
    "primary_key",
    "nullable",
    "unique",
    "index",
    "default",
    "server_default",
    "identity",
    "references",
    "on_delete",
    "on_update",
    "deferred",
    "validate",
    "type",
    "check",
];

/// `db:model{...}`.
pub(crate) fn declare(lua: &Lua, (this, spec): (LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let (db, orm, events) = db_of(&this, "model")?;
        let LuaValue::Table(t) = &spec else {
            return Err(LuaDbError::argument(
                "model",
                2,
                "a table { name =, table =, columns = }",
                &spec,
            ));
        };
        check_keys(t, &MODEL_KEYS, "model declaration")?;
        let name: String = t
            .get::<Option<String>>("name")
            .ok()
            .flatten()
            .ok_or_else(|| schema("model declaration: `name` (a string) is required"))?;
        let mut b = Model::builder(&name);
        for (rel_name, rel) in crate::objects::relation::relations(t, &name)? {
            b = b.relationship(rel_name, rel);
        }
        if let Some(table) = t
            .get::<Option<String>>("table")
            .map_err(|_| schema(format!("model `{name}`: `table` must be a string")))?
        {
            b = b.table(table);
        }
        b = inheritance(lua, t, &name, b)?;
        let columns: Table = match t.get::<Option<Table>>("columns").ok().flatten() {
            Some(c) => c,
            // A subclass may add no column of its own.
            None if t.contains_key("inherits").unwrap_or(false) => {
                lua.create_table().map_err(lua_err)?
            }
            None => {
                return Err(schema(format!(
                    "model `{name}`: `columns` (an array of column tables) is required"
                )));
            }
        };
        let mut validators = Vec::new();
        for (i, c) in columns.sequence_values::<LuaValue>().enumerate() {
            let c = c.map_err(lua_err)?;
            let ((col_name, col), validate) = column(lua, &name, i + 1, &c)?;
            if let Some(f) = validate {
                validators.push((col_name, f));
            }
            b = b.column(col);
        }
        for (key, unique) in [("indexes", false), ("uniques", true)] {
            b = indexes(t, key, unique, &name, b)?;
        }
        b = foreign_keys(t, &name, b)?;
        let model = b.build()?;
        // A model referencing a table no model maps yet waits for it.
        orm.meta.add_or_defer(model.clone())?;
        if let Some(v) = t
            .get::<Option<String>>("version")
            .map_err(|_| schema(format!("model `{name}`: `version` must be a column name")))?
        {
            orm.registry.version_column(&model, &v)?;
        }
        for (col, f) in validators {
            crate::objects::validators::add_validator(lua, &orm, &model, &col, f)?;
        }
        Ok(LuaModel {
            model,
            conn: db,
            orm,
            events,
        })
    })();
    raw(lua, r)
}

/// `inherits = Model`, `concrete = true`, `polymorphic_on = "column"`,
/// `polymorphic_identity = value`, `polymorphic_load = "inline" | "selectin"`,
/// `polymorphic = "union"` (see the engine's `schema::InheritanceKind` and
/// `ModelBuilder::polymorphic_union`).
fn inheritance(
    lua: &Lua,
    t: &Table,
    name: &str,
    mut b: dbridge_engine::schema::ModelBuilder,
) -> Result<dbridge_engine::schema::ModelBuilder, LuaDbError> {
    let parent: LuaValue = t.get("inherits").map_err(lua_err)?;
    if !parent.is_nil() {
        let p = model_of(&parent, "model", 2)
            .map_err(|_| schema(format!("model `{name}`: `inherits` must be a model")))?;
        b = b.inherits(&p.model);
    }
    if t.get::<Option<bool>>("concrete")
        .map_err(|_| schema(format!("model `{name}`: `concrete` must be a boolean")))?
        .unwrap_or(false)
    {
        b = b.concrete();
    }
    if let Some(col) = t.get::<Option<String>>("polymorphic_on").map_err(|_| {
        schema(format!(
            "model `{name}`: `polymorphic_on` must be a column name"
        ))
    })? {
        b = b.polymorphic_on(col);
    }
    if let Some(how) = t.get::<Option<String>>("polymorphic_load").map_err(|_| {
        schema(format!(
            "model `{name}`: `polymorphic_load` must be \"inline\" or \"selectin\""
        ))
    })? {
        let how = how
            .parse()
            .map_err(|e: dbridge_engine::Error| schema(format!("model `{name}`: {e}")))?;
        b = b.polymorphic_load(how);
    }
    let union = "`polymorphic` must be \"union\" (queries read the UNION ALL of the model's and its concrete subclasses' tables)";
    match t.get::<Option<String>>("polymorphic") {
        Ok(None) => {}
        Ok(Some(how)) if how == "union" => b = b.polymorphic_union(),
        _ => return Err(schema(format!("model `{name}`: {union}"))),
    }
    let id: LuaValue = t.get("polymorphic_identity").map_err(lua_err)?;
    if !id.is_nil() {
        b = b.polymorphic_identity(from_lua(lua, id, 0)?);
    }
    Ok(b)
}

type ColumnDecl = ((String, Column), Option<i64>);

/// One `{ "name", "type", opt = ... }` column declaration.
fn column(lua: &Lua, model: &str, n: usize, v: &LuaValue) -> Result<ColumnDecl, LuaDbError> {
    let LuaValue::Table(t) = v else {
        return Err(schema(format!(
            "model `{model}`: column #{n} must be a table {{ \"name\", \"type\", ... }}"
        )));
    };
    let name: String = t.get::<Option<String>>(1).ok().flatten().ok_or_else(|| {
        schema(format!(
            "model `{model}`: column #{n} needs a name as its first item"
        ))
    })?;
    let what = format!("column `{name}` of model `{model}`");
    check_keys(t, &COLUMN_KEYS, &what)?;
    let ty: String = match t.get::<Option<String>>(2).ok().flatten() {
        Some(ty) => ty,
        None => t
            .get::<Option<String>>("type")
            .ok()
            .flatten()
            .ok_or_else(|| schema(format!("{what}: a type is required as its second item")))?,
    };
    let flag = |k: &str| -> Result<Option<bool>, LuaDbError> {
        match t.get::<LuaValue>(k).map_err(lua_err)? {
            LuaValue::Nil => Ok(None),
            LuaValue::Boolean(b) => Ok(Some(b)),
            _ => Err(schema(format!("{what}: `{k}` must be a boolean"))),
        }
    };
    let mut c = Column::new(&name, ty.as_str());
    if flag("primary_key")? == Some(true) {
        c = c.primary_key();
    }
    if let Some(b) = flag("nullable")? {
        c = c.nullable(b);
    }
    if flag("unique")? == Some(true) {
        c = c.unique();
    }
    if flag("index")? == Some(true) {
        c = c.index();
    }
    // `deferred = true`, or the name of its deferred group: reading one
    // column of the group loads them all.
    match t.get::<LuaValue>("deferred").map_err(lua_err)? {
        LuaValue::Nil | LuaValue::Boolean(false) => {}
        LuaValue::Boolean(true) => c = c.deferred(),
        LuaValue::String(g) => c = c.deferred_group(g.to_string_lossy()),
        _ => {
            return Err(schema(format!(
                "{what}: `deferred` must be a boolean or the name of a deferred group"
            )));
        }
    }
    c = default(lua, t, &what, c)?;
    let text = |k: &str| -> Result<Option<String>, LuaDbError> {
        t.get::<Option<String>>(k)
            .map_err(|_| schema(format!("{what}: `{k}` must be a string")))
    };
    if let Some(k) = text("server_default")? {
        c = c.default(ServerDefault::clock(&k).map_err(|e| schema(format!("{what}: {e}")))?);
    }
    match t.get::<LuaValue>("identity").map_err(lua_err)? {
        LuaValue::Nil => {}
        LuaValue::Boolean(false) => c = c.identity(None),
        LuaValue::String(s) => {
            let id = s
                .to_string_lossy()
                .parse::<Identity>()
                .map_err(|e| schema(format!("{what}: {e}")))?;
            c = c.identity(Some(id));
        }
        _ => {
            return Err(schema(format!(
                "{what}: `identity` must be false, \"always\" or \"by_default\""
            )));
        }
    }
    match t.get::<LuaValue>("check").map_err(lua_err)? {
        LuaValue::Nil => {}
        LuaValue::UserData(ud) if ud.is::<crate::objects::expr::LuaExpr>() => {
            c = c.check(crate::objects::expr::to_expr(lua, &LuaValue::UserData(ud))?);
        }
        _ => {
            return Err(schema(format!(
                "{what}: `check` must be an expression, e.g. dbridge.col(\"karma\"):ge(0)"
            )));
        }
    }
    if let Some(r) = text("references")? {
        let (table, col) = r
            .rsplit_once('.')
            .ok_or_else(|| schema(format!("{what}: `references` must be \"table.column\"")))?;
        c = c.references(table, col);
    }
    if let Some(a) = text("on_delete")? {
        c = c.on_delete(a.parse::<ReferentialAction>()?);
    }
    if let Some(a) = text("on_update")? {
        c = c.on_update(a.parse::<ReferentialAction>()?);
    }
    // The prelude stores a `validate` function and passes its callback key.
    let validate = match t.get::<LuaValue>("validate").map_err(lua_err)? {
        LuaValue::Nil => None,
        LuaValue::Integer(k) => Some(k),
        _ => return Err(schema(format!("{what}: `validate` must be a function"))),
    };
    Ok(((name, c), validate))
}

/// `default = value` (a server default), `dbridge.now` / `dbridge.uuid4` or a
/// Lua function (client default factories, run at flush).
fn default(lua: &Lua, t: &Table, what: &str, c: Column) -> Result<Column, LuaDbError> {
    let v = t.get::<LuaValue>("default").map_err(lua_err)?;
    Ok(match &v {
        LuaValue::Nil => c,
        LuaValue::UserData(ud) if ud.is::<Factory>() => {
            let f = *ud.borrow::<Factory>().map_err(lua_err)?;
            c.default_factory(move || f.make())
        }
        LuaValue::Function(_) => {
            return Err(schema(format!(
                "{what}: a Lua function as `default` is not supported; use dbridge.now, dbridge.uuid4 or a value"
            )));
        }
        _ => c.default(
            from_lua(lua, v.clone(), 1)
                .map_err(|e| schema(format!("{what}: `default`: {}", e.message)))?,
        ),
    })
}

fn indexes(
    t: &Table,
    key: &str,
    unique: bool,
    model: &str,
    mut b: dbridge_engine::schema::ModelBuilder,
) -> Result<dbridge_engine::schema::ModelBuilder, LuaDbError> {
    let bad = || {
        schema(format!(
            "model `{model}`: `{key}` must be an array of arrays of column names"
        ))
    };
    let Some(list) = t.get::<Option<Table>>(key).map_err(|_| bad())? else {
        return Ok(b);
    };
    for item in list.sequence_values::<Table>() {
        let item = item.map_err(|_| bad())?;
        let cols: Vec<String> = item
            .sequence_values::<String>()
            .collect::<mlua::Result<_>>()
            .map_err(|_| bad())?;
        let named: Option<String> = item.get("name").map_err(|_| bad())?;
        let is_unique =
            unique || item.get::<Option<bool>>("unique").map_err(|_| bad())? == Some(true);
        b = match (unique, named) {
            (true, Some(n)) => b.unique_named(n, cols),
            (true, None) => b.unique(cols),
            (false, named) => {
                let mut ix = Index::new(cols);
                if let Some(n) = named {
                    ix = ix.named(n);
                }
                if is_unique {
                    ix = ix.unique();
                }
                b.index(ix)
            }
        };
    }
    Ok(b)
}

/// `foreign_keys = { { columns = {...}, references = "table", ref_columns = {...},
/// name =, on_delete =, on_update = }, ... }`: composite or named foreign keys.
fn foreign_keys(
    t: &Table,
    model: &str,
    mut b: dbridge_engine::schema::ModelBuilder,
) -> Result<dbridge_engine::schema::ModelBuilder, LuaDbError> {
    let bad = |what: &str| schema(format!("model `{model}`: `foreign_keys`: {what}"));
    let Some(list) = t
        .get::<Option<Table>>("foreign_keys")
        .map_err(|_| bad("must be an array of tables"))?
    else {
        return Ok(b);
    };
    for item in list.sequence_values::<Table>() {
        let item = item.map_err(|_| bad("must be an array of tables"))?;
        check_keys(
            &item,
            &FK_KEYS,
            &format!("a foreign key of model `{model}`"),
        )?;
        let names = |k: &str| -> Result<Vec<String>, LuaDbError> {
            let list: Table = item
                .get(k)
                .map_err(|_| bad(&format!("`{k}` must be an array of column names")))?;
            list.sequence_values::<String>()
                .collect::<mlua::Result<_>>()
                .map_err(|_| bad(&format!("`{k}` must be an array of column names")))
        };
        let text = |k: &str| -> Result<Option<String>, LuaDbError> {
            item.get::<Option<String>>(k)
                .map_err(|_| bad(&format!("`{k}` must be a string")))
        };
        let table = text("references")?.ok_or_else(|| bad("`references` (a table) is required"))?;
        let mut fk = ForeignKey::new(names("columns")?, table, names("ref_columns")?);
        if let Some(n) = text("name")? {
            fk = fk.named(n);
        }
        if let Some(a) = text("on_delete")? {
            fk = fk.on_delete(a.parse::<ReferentialAction>()?);
        }
        if let Some(a) = text("on_update")? {
            fk = fk.on_update(a.parse::<ReferentialAction>()?);
        }
        b = b.foreign_key(fk);
    }
    Ok(b)
}

/// A client default factory (`dbridge.now`, `dbridge.uuid4`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Factory {
    Now,
    Uuid4,
}

impl Factory {
    fn make(self) -> Value {
        match self {
            Self::Now => Value::from(chrono::Utc::now()),
            Self::Uuid4 => Value::Uuid(uuid::Uuid::new_v4()),
        }
    }
}

impl UserData for Factory {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(match this {
                Self::Now => "dbridge.now",
                Self::Uuid4 => "dbridge.uuid4",
            })
        });
        // `dbridge.now()` gives the value itself.
        methods.add_meta_method(MetaMethod::Call, |lua, this, ()| {
            crate::convert::value::to_lua(lua, &this.make(), LuaValue::Nil)
        });
    }
}

/// `db:models()`: the models by name: reflected, declared, and those
/// waiting for the model of a table they reference.
pub(crate) fn models(lua: &Lua, this: LuaValue) -> Raw {
    let r = (|| {
        let (db, orm, events) = db_of(&this, "models")?;
        let t = lua.create_table().map_err(lua_err)?;
        let declared = orm.meta.models();
        let reflected = orm
            .reflected
            .models()
            .into_iter()
            .filter(|m| orm.meta.by_table(m.table().as_str()).is_none());
        for model in reflected.chain(declared).chain(orm.meta.pending()) {
            let name = model.name().as_str().to_owned();
            let m = LuaModel {
                model,
                conn: db.clone(),
                orm: orm.clone(),
                events: events.clone(),
            };
            t.raw_set(name, m).map_err(lua_err)?;
        }
        Ok(t)
    })();
    raw(lua, r)
}

/// `db:create_all()` / `db:drop_all()`.
pub(crate) async fn create_all(lua: Lua, (this, create): (LuaValue, bool)) -> Raw {
    let ev = crate::objects::events::events_of(&this);
    let r = async {
        let func = if create { "create_all" } else { "drop_all" };
        let (conn, orm, _) = db_of(&this, func)?;
        conn.not_in_migration(
            func,
            "a migration changes the schema with its own statements (db:execute)",
        )?;
        if create {
            orm.meta.create_all(conn.database()).await?;
        } else {
            orm.meta.drop_all(conn.database()).await?;
        }
        Ok(())
    }
    .await;
    crate::objects::events::raw_ev(&lua, r, ev.as_deref())
}

/// `Model:c(name)` and `Model.<column>`: the column expression. When
/// `strict` is false (`Model.<name>`), a relationship gives the relationship
/// attribute, and a name that is neither is an error naming the model.
pub(crate) fn column_expr(lua: &Lua, (this, name, strict): (LuaValue, LuaValue, bool)) -> Raw {
    let r = (|| {
        let m = model_of(&this, "c", 1)?;
        let name = crate::convert::error::name_arg("c", 2, &name)?;
        if !strict && m.model.column_index(&name).is_err() {
            return match crate::objects::relation::attr(&m.model, &name)? {
                Some(a) => lua
                    .create_userdata(a)
                    .map(LuaValue::UserData)
                    .map_err(lua_err),
                None => Err(schema(format!(
                    "no column, relationship or method `{name}` on model `{}`",
                    m.model.name()
                ))),
            };
        }
        let e = crate::objects::expr::LuaExpr::expr(m.model.col(&name)?);
        lua.create_userdata(e)
            .map(LuaValue::UserData)
            .map_err(lua_err)
    })();
    raw(lua, r)
}

fn lua_err(e: mlua::Error) -> LuaDbError {
    crate::convert::error::lua_err(e)
}

/// `db:reflect()`: every table of the database that no declared model maps
/// becomes a model named after its table (the migration history table
/// excepted; tables that cannot be models are skipped). Reflected models work
/// like declared ones but are not the database's declared schema:
/// `create_all`, `drop_all` and the migrator's `check` leave them alone.
/// Returns the reflected models by name.
pub(crate) async fn reflect(lua: Lua, this: LuaValue) -> Raw {
    let ev = crate::objects::events::events_of(&this);
    let r = async {
        let (conn, orm, events) = db_of(&this, "reflect")?;
        let models = conn
            .reflect()
            .await?
            .merge(&orm.meta, &orm.reflected)?
            .into_iter()
            .map(|model| LuaModel {
                model,
                conn: conn.clone(),
                orm: orm.clone(),
                events: events.clone(),
            })
            .collect::<Vec<_>>();
        Ok(models)
    }
    .await;
    let r = r.and_then(|models| {
        let t = lua.create_table().map_err(lua_err)?;
        for m in models {
            let name = m.model.name().as_str().to_owned();
            t.raw_set(name, m).map_err(lua_err)?;
        }
        Ok(t)
    });
    crate::objects::events::raw_ev(&lua, r, ev.as_deref())
}

/// `Model:describe()`: one row a column (name, type, nullable, primary key,
/// default, references), then one a relationship (name, kind, target), as
/// `.describe` in the REPL prints it.
pub(crate) fn describe(lua: &Lua, this: LuaValue) -> Raw {
    let r = (|| {
        let m = model_of(&this, "describe", 1)?;
        let model = &m.model;
        let rows = lua.create_table().map_err(lua_err)?;
        for (i, c) in model.column_summaries().into_iter().enumerate() {
            let row = lua.create_table().map_err(lua_err)?;
            row.raw_set("column", c.name).map_err(lua_err)?;
            row.raw_set("type", c.sql_type).map_err(lua_err)?;
            row.raw_set("nullable", c.nullable).map_err(lua_err)?;
            row.raw_set("primary_key", c.primary_key).map_err(lua_err)?;
            row.raw_set("default", c.default).map_err(lua_err)?;
            row.raw_set("references", c.references).map_err(lua_err)?;
            rows.raw_set(i + 1, row).map_err(lua_err)?;
        }
        crate::objects::relation::describe_rows(lua, model, &rows)?;
        Ok(rows)
    })();
    raw(lua, r)
}

/// `Model:model_name()`, `table_name()`, `column_names()`,
/// `relationship_names()` and `relationships()` (the relationship rows of
/// `describe()`), as the Rhai binding names them.
pub(crate) fn info(lua: &Lua, (this, what): (LuaValue, String)) -> Raw {
    let r = (|| {
        let m = model_of(&this, &what, 1)?;
        let model = &m.model;
        let names = |list: Vec<String>| lua.create_sequence_from(list).map(LuaValue::Table);
        Ok(match what.as_str() {
            "model_name" => {
                LuaValue::String(lua.create_string(model.name().as_str()).map_err(lua_err)?)
            }
            "table_name" => {
                LuaValue::String(lua.create_string(model.table().as_str()).map_err(lua_err)?)
            }
            "column_names" => names(
                model
                    .columns()
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect(),
            )
            .map_err(lua_err)?,
            "relationship_names" => names(model.relationship_names()).map_err(lua_err)?,
            _ => {
                let rows = lua.create_table().map_err(lua_err)?;
                crate::objects::relation::describe_rows(lua, model, &rows)?;
                LuaValue::Table(rows)
            }
        })
    })();
    raw(lua, r)
}

/// The model behind a script's model object (`User`, an entry of
/// `db:models()`); `None` for anything else.
pub fn model_of_value(value: &mlua::Value) -> Option<dbridge_engine::schema::Model> {
    model_of(value, "model_of_value", 1).ok().map(|m| m.model)
}
