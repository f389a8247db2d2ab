//! `db.migrator(dir [, opts])`: the engine's [`Migrator`] from scripts (Rhai
//! type `Migrator`), with `.rhai` migrations run by [`RhaiScriptRunner`].
//! Methods: `status`, `up`, `down`, `plan_up`, `plan_down`, `check`,
//! `autogenerate`, `new_migration` (`new` is a reserved word in Rhai).
//!
//! `check` and `autogenerate` compare the database with models: those the
//! script declared on the database (`db.model(#{...})`), or those reflected
//! from another database (`opts.models`, a `Database` whose tables are the
//! wanted schema): see [`ModelSource`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use dbridge_engine::migrate::{
    DEFAULT_HISTORY_TABLE, MigrationKind, MigrationRun, MigrationState, MigrationStatus, Migrator,
    PlannedMigration, Reflected,
};
use dbridge_engine::schema::Metadata;
use dbridge_engine::{Database, Error};
use rhai::{Array, Dynamic, Engine, EvalAltResult, INT, ImmutableString, Map};

use crate::convert::error::{configuration, to_rhai};
use crate::install::migrate::RhaiScriptRunner;
use crate::objects::database::Db;
use crate::objects::raw_sql::Executor;
use crate::runtime::blocker::Blocker;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// Where `check` and `autogenerate` get their models.
#[derive(Clone)]
enum ModelSource {
    /// The models declared on the migrator's database with `db.model`
    /// (`check` and `autogenerate` fail, saying how to give models, if none).
    Declared(Metadata),
    /// The tables of another database, reflected as models.
    Reflected(Database),
}

/// A migrator as a script sees it (Rhai type `Migrator`).
#[derive(Clone)]
struct RhaiMigrator {
    migrator: Migrator,
    models: ModelSource,
    history_table: String,
    blocker: Blocker,
}

impl fmt::Debug for RhaiMigrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RhaiMigrator")
            .field("dir", &self.migrator.dir())
            .finish_non_exhaustive()
    }
}

/// `db.migrator(dir [, #{ models: other_db, history_table: "...", schema: "...", allow_drops: false }])`.
fn open(db: &mut Db, dir: &str, opts: Option<&Map>) -> Res<RhaiMigrator> {
    db.not_in_migration(
        "migrator",
        "migrations run one at a time, each in its own transaction",
    )
    .map_err(to_rhai)?;
    let mut migrator =
        Migrator::new(db.database().clone(), dir).script_runner(Arc::new(RhaiScriptRunner::new()));
    let mut models = ModelSource::Declared(db.orm().meta.clone());
    let mut history_table = DEFAULT_HISTORY_TABLE.to_owned();
    for (key, v) in opts.into_iter().flatten() {
        let text = |v: &Dynamic| {
            v.clone().into_string().map_err(|t| {
                configuration(format!("migrator option `{key}` must be a string, got {t}"))
            })
        };
        match key.as_str() {
            "models" => {
                let other = v.clone().try_cast::<Db>().ok_or_else(|| {
                    configuration(
                        "migrator option `models` must be a Database whose tables are the wanted schema",
                    )
                })?;
                models = ModelSource::Reflected(other.database().clone());
            }
            "history_table" => {
                history_table = text(v)?;
                migrator = migrator.history_table(&history_table).map_err(to_rhai)?;
            }
            "schema" => migrator = migrator.schema(text(v)?),
            "allow_drops" => {
                let allow = v.as_bool().map_err(|t| {
                    configuration(format!(
                        "migrator option `allow_drops` must be a boolean, got {t}"
                    ))
                })?;
                migrator = migrator.allow_drops(allow);
            }
            other => {
                return Err(configuration(format!(
                    "unknown migrator option `{other}` (models, history_table, schema, allow_drops)"
                )));
            }
        }
    }
    Ok(RhaiMigrator {
        migrator,
        models,
        history_table,
        blocker: db.blocker().clone(),
    })
}

impl RhaiMigrator {
    fn wait<T>(&self, fut: impl Future<Output = Result<T, Error>>) -> Res<T> {
        self.blocker.block_on(fut).and_then(|r| r).map_err(to_rhai)
    }

    /// The migrator with its models, for `check` and `autogenerate`.
    fn with_models(&self) -> Res<Migrator> {
        let db = match &self.models {
            ModelSource::Declared(meta) if !meta.models().is_empty() => {
                return Ok(self.migrator.clone().models(meta.clone()));
            }
            ModelSource::Reflected(db) => Some(db),
            ModelSource::Declared(_) => None,
        };
        let Some(db) = db else {
            return Err(to_rhai(Error::InvalidState(
                "no models to compare with: declare them with db.model(#{...}) or give them as db.migrator(dir, #{ models: ... })".into(),
            )));
        };
        let models = self.wait(reflect(db, &self.history_table))?;
        Ok(self.migrator.clone().models(models))
    }
}

/// The tables of `db` as models; an error when one cannot be a model (the
/// diff would otherwise drop its table).
async fn reflect(db: &Database, history_table: &str) -> Result<Metadata, Error> {
    Reflected::from_database(db, history_table)
        .await?
        .complete()
}

fn state_name(s: &MigrationState) -> &'static str {
    match s {
        MigrationState::Applied(_) => "applied",
        MigrationState::Pending => "pending",
        MigrationState::Changed(_) => "changed",
        MigrationState::Missing(_) => "missing",
    }
}

fn status_array(list: Vec<MigrationStatus>) -> Array {
    list.into_iter()
        .map(|s| {
            let mut m = Map::new();
            m.insert("version".into(), s.version.into());
            m.insert("name".into(), s.name.into());
            m.insert("state".into(), state_name(&s.state).into());
            m.insert(
                "file".into(),
                s.file.map_or(Dynamic::UNIT, |f| f.file_name().into()),
            );
            if let MigrationState::Applied(a)
            | MigrationState::Changed(a)
            | MigrationState::Missing(a) = s.state
            {
                m.insert("applied_at".into(), a.applied_at.into());
                m.insert("duration_ms".into(), a.duration_ms.into());
            }
            Dynamic::from_map(m)
        })
        .collect()
}

fn runs_array(runs: Vec<MigrationRun>) -> Array {
    runs.into_iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("version".into(), r.file.version.into());
            m.insert("file".into(), r.file.file_name().into());
            m.insert("name".into(), r.file.name.into());
            m.insert("direction".into(), r.direction.as_str().into());
            m.insert("seconds".into(), r.duration.as_secs_f64().into());
            Dynamic::from_map(m)
        })
        .collect()
}

fn plan_array(plan: Vec<PlannedMigration>) -> Array {
    plan.into_iter()
        .map(|p| {
            let mut m = Map::new();
            m.insert("version".into(), p.file.version.into());
            m.insert("file".into(), p.file.file_name().into());
            m.insert("name".into(), p.file.name.clone().into());
            m.insert("direction".into(), p.direction.as_str().into());
            m.insert("kind".into(), p.file.kind.extension().into());
            let sql: Array = p.statements.iter().map(|s| s.sql().into()).collect();
            m.insert("sql".into(), sql.into());
            Dynamic::from_map(m)
        })
        .collect()
}

fn steps(n: INT) -> Res<usize> {
    usize::try_from(n).map_err(|_| configuration("the number of steps must be at least 0"))
}

fn kind_of(kind: &str) -> Res<MigrationKind> {
    match kind {
        "sql" => Ok(MigrationKind::Sql),
        "lua" => Ok(MigrationKind::Lua),
        "rhai" => Ok(MigrationKind::Rhai),
        other => Err(configuration(format!(
            "unknown migration kind `{other}` (sql, lua or rhai)"
        ))),
    }
}

fn new_migration(m: &mut RhaiMigrator, name: &str, kind: &str) -> Res<String> {
    let path = m
        .migrator
        .new_migration_of(name, kind_of(kind)?)
        .map_err(to_rhai)?;
    Ok(path.display().to_string())
}

/// Registers `Database.migrator` and the `Migrator` type.
pub(crate) fn register(engine: &mut Engine) {
    engine
        .register_fn("migrator", |db: &mut Db, dir: ImmutableString| {
            open(db, &dir, None)
        })
        .register_fn(
            "migrator",
            |db: &mut Db, dir: ImmutableString, opts: Map| open(db, &dir, Some(&opts)),
        )
        .register_type_with_name::<RhaiMigrator>("Migrator")
        .register_fn("status", |m: &mut RhaiMigrator| {
            m.wait(m.migrator.status()).map(status_array)
        })
        .register_fn("up", |m: &mut RhaiMigrator| {
            m.wait(m.migrator.up(None)).map(runs_array)
        })
        .register_fn("up", |m: &mut RhaiMigrator, target: INT| {
            m.wait(m.migrator.up(Some(target))).map(runs_array)
        })
        .register_fn("down", |m: &mut RhaiMigrator| {
            m.wait(m.migrator.down(1)).map(runs_array)
        })
        .register_fn("down", |m: &mut RhaiMigrator, n: INT| {
            let n = steps(n)?;
            m.wait(m.migrator.down(n)).map(runs_array)
        })
        .register_fn("plan_up", |m: &mut RhaiMigrator| {
            m.wait(m.migrator.plan_up(None)).map(plan_array)
        })
        .register_fn("plan_up", |m: &mut RhaiMigrator, target: INT| {
            m.wait(m.migrator.plan_up(Some(target))).map(plan_array)
        })
        .register_fn("plan_down", |m: &mut RhaiMigrator| {
            m.wait(m.migrator.plan_down(1)).map(plan_array)
        })
        .register_fn("plan_down", |m: &mut RhaiMigrator, n: INT| {
            let n = steps(n)?;
            m.wait(m.migrator.plan_down(n)).map(plan_array)
        })
        .register_fn("check", |m: &mut RhaiMigrator| -> Res<Array> {
            let migrator = m.with_models()?;
            let diff = m.wait(migrator.check())?;
            Ok(diff
                .changes()
                .iter()
                .map(|c| c.to_string().into())
                .collect())
        })
        .register_fn(
            "autogenerate",
            |m: &mut RhaiMigrator, name: ImmutableString| -> Res<Dynamic> {
                let migrator = m.with_models()?;
                let path = m.wait(migrator.autogenerate(&name))?;
                Ok(path.map_or(Dynamic::UNIT, |p| p.display().to_string().into()))
            },
        )
        .register_fn(
            "new_migration",
            |m: &mut RhaiMigrator, name: ImmutableString| new_migration(m, &name, "sql"),
        )
        .register_fn(
            "new_migration",
            |m: &mut RhaiMigrator, name: ImmutableString, kind: ImmutableString| {
                new_migration(m, &name, &kind)
            },
        )
        .register_fn("to_string", |m: &mut RhaiMigrator| {
            format!("Migrator({})", m.migrator.dir().display())
        });
}
