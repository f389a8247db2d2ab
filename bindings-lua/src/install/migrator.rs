//! `db:migrator(dir [, opts])`: the engine's
//! [`Migrator`] from scripts, with `.lua` migrations run by
//! [`LuaScriptRunner`]. Methods: `status`, `up`, `down`, `plan_up`,
//! `plan_down`, `check`, `autogenerate`, `new`.
//!
//! `check` and `autogenerate` compare the database with models: those the
//! script declared on the database (`db:model{...}`), or those reflected from
//! another database (`opts.models`, a database handle whose tables are the
//! wanted schema): see [`ModelSource`].

use std::sync::Arc;

use dbridge_engine::migrate::{
    DEFAULT_HISTORY_TABLE, MigrationKind, MigrationRun, MigrationState, MigrationStatus, Migrator,
    PlannedMigration, Reflected,
};
use dbridge_engine::schema::Metadata;
use dbridge_engine::{Database, ErrorKind};
use mlua::{Lua, LuaSerdeExt, Table, UserData, Value as LuaValue};

use crate::convert::error::{LuaDbError, Raw, attach_traceback, fail_marker, raw};
use crate::install::migrate::LuaScriptRunner;
use crate::objects::database::LuaDb;

/// Registry key of the method table of migrators.
const MIGRATOR_CLASS: &str = "dbridge.Migrator";

/// The Lua side: methods that raise the error values the raw functions return.
const WRAPPER: &str = r#"
local raw, FAIL, attach, Db = ...
local M = {}
local function check(r, e)
  if r == FAIL then error(attach(e), 0) end
  return r
end
for _, name in ipairs({ "status", "up", "down", "plan_up", "plan_down", "check",
                        "autogenerate", "new", "new_migration" }) do
  local f = raw[name]
  M[name] = function(self, ...) return check(f(self, ...)) end
end
function Db:migrator(dir, opts) return check(raw.open(self, dir, opts)) end
return M
"#;

/// Where `check` and `autogenerate` get their models.
#[derive(Debug, Clone)]
enum ModelSource {
    /// The models declared on the migrator's database with `db:model`
    /// (`check` and `autogenerate` fail, saying how to give models, if none).
    Declared(Metadata),
    /// The tables of another database (one a script created them in),
    /// reflected as models.
    Reflected(Database),
}

/// A migrator as a script sees it.
#[derive(Debug, Clone)]
struct LuaMigrator {
    migrator: Migrator,
    models: ModelSource,
    history_table: String,
}

impl UserData for LuaMigrator {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        fields.add_meta_field_with("__index", |lua| {
            lua.named_registry_value::<LuaValue>(MIGRATOR_CLASS)
        });
        fields.add_meta_field("__name", "dbridge.migrator");
    }

    fn add_methods<M: mlua::UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, this, ()| {
            Ok(format!(
                "dbridge.migrator({})",
                this.migrator.dir().display()
            ))
        });
    }
}

/// Adds `Db:migrator` to the database class `db_class`.
pub(crate) fn register(lua: &Lua, db_class: &Table) -> mlua::Result<()> {
    let t = lua.create_table()?;
    t.set("open", lua.create_async_function(open)?)?;
    t.set("status", lua.create_async_function(status)?)?;
    t.set("up", lua.create_async_function(up)?)?;
    t.set("down", lua.create_async_function(down)?)?;
    t.set("plan_up", lua.create_async_function(plan_up)?)?;
    t.set("plan_down", lua.create_async_function(plan_down)?)?;
    t.set("check", lua.create_async_function(check)?)?;
    t.set("autogenerate", lua.create_async_function(autogenerate)?)?;
    t.set("new", lua.create_async_function(new_file)?)?;
    t.set("new_migration", lua.create_async_function(new_file)?)?;
    let methods: Table = lua.load(WRAPPER).set_name("=dbridge.migrator").call((
        t,
        fail_marker(),
        lua.create_function(attach_traceback)?,
        db_class,
    ))?;
    lua.set_named_registry_value(MIGRATOR_CLASS, methods)
}

fn string_arg(func: &str, n: usize, v: &LuaValue, what: &str) -> Result<String, LuaDbError> {
    match v {
        LuaValue::String(s) => Ok(s.to_string_lossy()),
        other => Err(LuaDbError::argument(func, n, what, other)),
    }
}

/// `db:migrator(dir [, { models = other_db, history_table = "...", schema = "...", allow_drops = false }])`.
async fn open(lua: Lua, (this, dir, opts): (LuaValue, LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let (db, declared) = match &this {
            LuaValue::UserData(ud) => ud.borrow::<LuaDb>().ok().map(|d| {
                d.conn()?.not_in_migration(
                    "migrator",
                    "migrations run one at a time, each in its own transaction",
                )?;
                d.database().map(|db| (db, d.orm.meta.clone()))
            }),
            _ => None,
        }
        .ok_or_else(|| {
            LuaDbError::argument("migrator", 1, "a database (call it with `:`)", &this)
        })??;
        let dir = string_arg("migrator", 2, &dir, "a directory path")?;
        let mut migrator = Migrator::new(db, &dir).script_runner(Arc::new(LuaScriptRunner::new()));
        let mut models = ModelSource::Declared(declared);
        let mut history_table = DEFAULT_HISTORY_TABLE.to_owned();
        match &opts {
            LuaValue::Nil => {}
            LuaValue::Table(t) => {
                for pair in t.pairs::<String, LuaValue>() {
                    let (k, v) = pair.map_err(|_| bad_option("option names must be strings"))?;
                    match k.as_str() {
                        "models" => models = model_source(&v)?,
                        "history_table" => {
                            history_table = string_arg("migrator", 3, &v, "a table name")?;
                            migrator = migrator.history_table(&history_table)?;
                        }
                        "schema" => {
                            migrator =
                                migrator.schema(string_arg("migrator", 3, &v, "a schema name")?);
                        }
                        "allow_drops" => match v {
                            LuaValue::Boolean(b) => migrator = migrator.allow_drops(b),
                            _ => return Err(bad_option("`allow_drops` must be a boolean")),
                        },
                        other => {
                            return Err(bad_option(&format!(
                                "unknown option `{other}` (models, history_table, schema, allow_drops)"
                            )));
                        }
                    }
                }
            }
            other => {
                return Err(LuaDbError::argument(
                    "migrator",
                    3,
                    "a table of options",
                    other,
                ));
            }
        }
        Ok(LuaMigrator {
            migrator,
            models,
            history_table,
        })
    })();
    raw(&lua, r)
}

fn bad_option(what: &str) -> LuaDbError {
    LuaDbError::new(ErrorKind::Configuration, format!("`migrator`: {what}"))
}

/// The models of `opts.models`: a database whose tables are the wanted schema.
fn model_source(v: &LuaValue) -> Result<ModelSource, LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(d) = ud.borrow::<LuaDb>()
    {
        return Ok(ModelSource::Reflected(d.database()?));
    }
    Err(LuaDbError::argument(
        "migrator",
        3,
        "`models` as a database whose tables are the wanted schema",
        v,
    ))
}

impl LuaMigrator {
    fn of(v: &LuaValue, func: &str) -> Result<Self, LuaDbError> {
        match v {
            LuaValue::UserData(ud) => ud.borrow::<Self>().ok().map(|m| m.clone()),
            _ => None,
        }
        .ok_or_else(|| LuaDbError::argument(func, 1, "a migrator (call it with `:`)", v))
    }

    /// The migrator with its models, for `check` and `autogenerate`.
    async fn with_models(&self) -> Result<Migrator, LuaDbError> {
        let models = match &self.models {
            ModelSource::Declared(meta) if meta.models().is_empty() => {
                return Err(LuaDbError::new(
                    ErrorKind::InvalidState,
                    "no models to compare with: declare them with db:model{...} \
                     or give them as db:migrator(dir, { models = ... })",
                ));
            }
            ModelSource::Declared(meta) => meta.clone(),
            ModelSource::Reflected(db) => reflect(db, &self.history_table).await?,
        };
        Ok(self.migrator.clone().models(models))
    }
}

/// The tables of `db` as models; an error when one cannot be a model (the
/// diff would otherwise drop its table).
async fn reflect(db: &Database, history_table: &str) -> Result<Metadata, LuaDbError> {
    Ok(Reflected::from_database(db, history_table)
        .await?
        .complete()?)
}

fn optional_int(func: &str, v: &LuaValue) -> Result<Option<i64>, LuaDbError> {
    match v {
        LuaValue::Nil => Ok(None),
        LuaValue::Integer(i) => Ok(Some(*i)),
        other => Err(LuaDbError::argument(func, 2, "an integer", other)),
    }
}

fn steps(func: &str, v: &LuaValue) -> Result<usize, LuaDbError> {
    match optional_int(func, v)? {
        None => Ok(1),
        Some(n) => usize::try_from(n)
            .map_err(|_| LuaDbError::argument(func, 2, "a count of at least 0", v)),
    }
}

async fn status(lua: Lua, this: LuaValue) -> Raw {
    let r = async {
        let m = LuaMigrator::of(&this, "status")?;
        let list = m.migrator.status().await?;
        status_table(&lua, &list).map_err(crate::convert::error::lua_err)
    }
    .await;
    raw(&lua, r)
}

async fn up(lua: Lua, (this, target): (LuaValue, LuaValue)) -> Raw {
    let r = async {
        let m = LuaMigrator::of(&this, "up")?;
        let runs = m.migrator.up(optional_int("up", &target)?).await?;
        runs_table(&lua, &runs).map_err(crate::convert::error::lua_err)
    }
    .await;
    raw(&lua, r)
}

async fn down(lua: Lua, (this, n): (LuaValue, LuaValue)) -> Raw {
    let r = async {
        let m = LuaMigrator::of(&this, "down")?;
        let runs = m.migrator.down(steps("down", &n)?).await?;
        runs_table(&lua, &runs).map_err(crate::convert::error::lua_err)
    }
    .await;
    raw(&lua, r)
}

async fn plan_up(lua: Lua, (this, target): (LuaValue, LuaValue)) -> Raw {
    let r = async {
        let m = LuaMigrator::of(&this, "plan_up")?;
        let plan = m
            .migrator
            .plan_up(optional_int("plan_up", &target)?)
            .await?;
        plan_table(&lua, &plan).map_err(crate::convert::error::lua_err)
    }
    .await;
    raw(&lua, r)
}

async fn plan_down(lua: Lua, (this, n): (LuaValue, LuaValue)) -> Raw {
    let r = async {
        let m = LuaMigrator::of(&this, "plan_down")?;
        let plan = m.migrator.plan_down(steps("plan_down", &n)?).await?;
        plan_table(&lua, &plan).map_err(crate::convert::error::lua_err)
    }
    .await;
    raw(&lua, r)
}

/// `m:check()`: the changes between the models and the database, as text
/// (an empty array when they agree).
async fn check(lua: Lua, this: LuaValue) -> Raw {
    let r = async {
        let m = LuaMigrator::of(&this, "check")?;
        let diff = m.with_models().await?.check().await?;
        let changes: Vec<String> = diff.changes().iter().map(ToString::to_string).collect();
        let items = changes
            .into_iter()
            .map(|c| lua.create_string(c))
            .collect::<mlua::Result<Vec<_>>>()
            .map_err(crate::convert::error::lua_err)?;
        array(&lua, items).map_err(crate::convert::error::lua_err)
    }
    .await;
    raw(&lua, r)
}

async fn autogenerate(lua: Lua, (this, name): (LuaValue, LuaValue)) -> Raw {
    let r = async {
        let m = LuaMigrator::of(&this, "autogenerate")?;
        let name = string_arg("autogenerate", 2, &name, "a migration name")?;
        let path = m.with_models().await?.autogenerate(&name).await?;
        Ok(path.map(|p| p.display().to_string()))
    }
    .await;
    raw(&lua, r)
}

/// `m:new(name [, "sql" | "lua" | "rhai"])`: an empty migration file's path.
async fn new_file(lua: Lua, (this, name, kind): (LuaValue, LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let m = LuaMigrator::of(&this, "new")?;
        let name = string_arg("new", 2, &name, "a migration name")?;
        let kind = match &kind {
            LuaValue::Nil => MigrationKind::Sql,
            v => match string_arg("new", 3, v, "\"sql\", \"lua\" or \"rhai\"")?.as_str() {
                "sql" => MigrationKind::Sql,
                "lua" => MigrationKind::Lua,
                "rhai" => MigrationKind::Rhai,
                _ => {
                    return Err(LuaDbError::argument(
                        "new",
                        3,
                        "\"sql\", \"lua\" or \"rhai\"",
                        v,
                    ));
                }
            },
        };
        let path = m.migrator.new_migration_of(&name, kind)?;
        Ok(path.display().to_string())
    })();
    raw(&lua, r)
}

fn state_name(s: &MigrationState) -> &'static str {
    match s {
        MigrationState::Applied(_) => "applied",
        MigrationState::Pending => "pending",
        MigrationState::Changed(_) => "changed",
        MigrationState::Missing(_) => "missing",
    }
}

fn array(lua: &Lua, items: Vec<impl mlua::IntoLua>) -> mlua::Result<Table> {
    let t = lua.create_sequence_from(items)?;
    t.set_metatable(Some(lua.array_metatable()))?;
    Ok(t)
}

fn status_table(lua: &Lua, list: &[MigrationStatus]) -> mlua::Result<Table> {
    let mut items = Vec::with_capacity(list.len());
    for s in list {
        let t = lua.create_table()?;
        t.set("version", s.version)?;
        t.set("name", s.name.as_str())?;
        t.set("state", state_name(&s.state))?;
        t.set("file", s.file.as_ref().map(|f| f.file_name()))?;
        if let MigrationState::Applied(a)
        | MigrationState::Changed(a)
        | MigrationState::Missing(a) = &s.state
        {
            t.set("applied_at", a.applied_at.as_str())?;
            t.set("duration_ms", a.duration_ms)?;
        }
        items.push(t);
    }
    array(lua, items)
}

fn runs_table(lua: &Lua, runs: &[MigrationRun]) -> mlua::Result<Table> {
    let mut items = Vec::with_capacity(runs.len());
    for r in runs {
        let t = lua.create_table()?;
        t.set("version", r.file.version)?;
        t.set("name", r.file.name.as_str())?;
        t.set("file", r.file.file_name())?;
        t.set("direction", r.direction.as_str())?;
        t.set("seconds", r.duration.as_secs_f64())?;
        items.push(t);
    }
    array(lua, items)
}

fn plan_table(lua: &Lua, plan: &[PlannedMigration]) -> mlua::Result<Table> {
    let mut items = Vec::with_capacity(plan.len());
    for p in plan {
        let t = lua.create_table()?;
        t.set("version", p.file.version)?;
        t.set("name", p.file.name.as_str())?;
        t.set("file", p.file.file_name())?;
        t.set("direction", p.direction.as_str())?;
        t.set("kind", p.file.kind.extension())?;
        let sql: Vec<&str> = p.statements.iter().map(|s| s.sql()).collect();
        t.set("sql", lua.create_sequence_from(sql)?)?;
        items.push(t);
    }
    array(lua, items)
}
