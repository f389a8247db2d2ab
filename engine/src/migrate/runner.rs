//! [`Migrator`]: applies the migrations of a directory to a database, up to a
//! target or down N steps, each in its own transaction with its history row,
//! under a lock that makes concurrent runners apply each migration once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::db::{Database, Statement};
use crate::error::{Error, ErrorKind, MigrationFailure, Result};
use crate::ident::Ident;
use crate::schema::Metadata;

use super::conn::MigrationTx;
use super::files::{MigrationFile, MigrationKind, read_dir};
use super::history::{self, AppliedMigration};
use super::script::{Direction, ScriptMigration, ScriptRunner};

/// The default name of the history table.
pub const DEFAULT_HISTORY_TABLE: &str = "dbridge_migrations";

/// Where a migration stands.
#[derive(Debug, Clone, PartialEq)]
pub enum MigrationState {
    /// Applied, and its file is unchanged.
    Applied(AppliedMigration),
    /// Not applied yet.
    Pending,
    /// Applied, but its file changed since: the runner refuses to run.
    Changed(AppliedMigration),
    /// Applied, but its file is gone: the runner refuses to run.
    Missing(AppliedMigration),
}

/// One line of [`Migrator::status`].
#[derive(Debug, Clone)]
pub struct MigrationStatus {
    /// The version.
    pub version: i64,
    /// The name.
    pub name: String,
    /// The file, unless it is missing.
    pub file: Option<MigrationFile>,
    /// Where it stands.
    pub state: MigrationState,
}

/// A migration as the runner would run it ([`Migrator::plan_up`], dry runs).
#[derive(Debug, Clone)]
pub struct PlannedMigration {
    /// The file.
    pub file: MigrationFile,
    /// Up or down.
    pub direction: Direction,
    /// The SQL statements it runs (empty for a script migration, whose SQL
    /// is only known when it runs).
    pub statements: Vec<Statement>,
}

/// A migration the runner ran.
#[derive(Debug, Clone)]
pub struct MigrationRun {
    /// The file.
    pub file: MigrationFile,
    /// Up or down.
    pub direction: Direction,
    /// How long it took.
    pub duration: Duration,
}

/// Runs the migrations of a directory on a database.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dbridge_engine::Result<()> {
/// use dbridge_engine::Database;
/// use dbridge_engine::migrate::Migrator;
/// let dir = std::env::temp_dir().join(format!("dbridge-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("0001_notes.sql"),
///     "-- up\nCREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n-- down\nDROP TABLE notes;\n").unwrap();
/// let db = Database::connect("sqlite::memory:").await?;
/// let migrator = Migrator::new(db.clone(), &dir);
/// assert_eq!(migrator.up(None).await?.len(), 1);
/// assert_eq!(migrator.up(None).await?.len(), 0); // nothing left to do
/// db.execute("INSERT INTO notes (body) VALUES ($1)", &["hi".into()]).await?;
/// assert_eq!(migrator.down(1).await?.len(), 1);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Migrator {
    pub(super) db: Database,
    pub(super) dir: PathBuf,
    table: String,
    pub(super) models: Option<Metadata>,
    pub(super) schema: Option<String>,
    pub(super) allow_drops: bool,
    scripts: Vec<Arc<dyn ScriptRunner>>,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("dir", &self.dir)
            .field("table", &self.table)
            .field("script_runners", &self.scripts.len())
            .finish_non_exhaustive()
    }
}

fn failed(file: &MigrationFile, direction: Direction, what: &str, e: Error) -> Error {
    failed_undone(file, direction, what, e, Ok(()))
}

/// As [`failed`], saying whether the rollback undid it: a transaction ended
/// from inside is never reported as rolled back.
fn failed_undone(
    file: &MigrationFile,
    direction: Direction,
    what: &str,
    e: Error,
    undone: Result<()>,
) -> Error {
    if let Error::Migration { .. } = e {
        return e;
    }
    let outcome = match undone {
        Err(escape @ Error::InvalidState(_)) => format!("and then: {escape}"),
        _ => "it was rolled back".to_owned(),
    };
    Error::Migration {
        reason: MigrationFailure::Failed,
        file: Some(file.file_name()),
        message: format!(
            "migration {} failed {what} of its {} section: {e}; {outcome}",
            file.file_name(),
            direction.as_str()
        ),
        source: Some(Box::new(e)),
    }
}

impl Migrator {
    /// A runner for the migrations in `dir` on `db`, keeping its history in
    /// the table `dbridge_migrations`.
    pub fn new(db: Database, dir: impl AsRef<Path>) -> Self {
        Self {
            db,
            dir: dir.as_ref().to_path_buf(),
            table: DEFAULT_HISTORY_TABLE.to_owned(),
            models: None,
            allow_drops: false,
            schema: None,
            scripts: Vec::new(),
        }
    }

    /// Keeps the history in `table` instead.
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for an invalid name.
    pub fn history_table(mut self, table: &str) -> Result<Self> {
        self.table = Ident::new(table)?.as_str().to_owned();
        Ok(self)
    }

    /// The models [`Migrator::check`] and [`Migrator::autogenerate`] compare with.
    pub fn models(mut self, models: Metadata) -> Self {
        self.models = Some(models);
        self
    }

    /// Whether [`Migrator::autogenerate`] may write a migration that drops
    /// tables or columns (default: no, it refuses and names them: a table
    /// missing from the models is more often a model not loaded than a table
    /// to delete).
    pub fn allow_drops(mut self, allow: bool) -> Self {
        self.allow_drops = allow;
        self
    }

    /// The PostgreSQL schema compared with the models (default: `current_schema()`).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Registers a runner for `.lua` or `.rhai` migrations.
    pub fn script_runner(mut self, runner: Arc<dyn ScriptRunner>) -> Self {
        self.scripts.push(runner);
        self
    }

    /// The history table's name (validated when set).
    pub(super) fn table(&self) -> Result<Ident> {
        Ident::new(&self.table)
    }

    /// The migrations directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The migration files, by version.
    ///
    /// # Errors
    /// [`Error::Migration`] for a malformed file name or an unreadable file.
    pub fn files(&self) -> Result<Vec<MigrationFile>> {
        read_dir(&self.dir)
    }

    /// Every migration, file or history row, and where it stands.
    ///
    /// # Errors
    /// As [`Migrator::files`]; database errors.
    pub async fn status(&self) -> Result<Vec<MigrationStatus>> {
        let files = self.files()?;
        let applied = history::applied(&self.db, &self.table()?).await?;
        let mut out: Vec<MigrationStatus> = files
            .iter()
            .map(|f| {
                let state = match applied.iter().find(|a| a.version == f.version) {
                    None => MigrationState::Pending,
                    Some(a) if a.checksum == f.checksum => MigrationState::Applied(a.clone()),
                    Some(a) => MigrationState::Changed(a.clone()),
                };
                MigrationStatus {
                    version: f.version,
                    name: f.name.clone(),
                    file: Some(f.clone()),
                    state,
                }
            })
            .collect();
        for a in &applied {
            if !files.iter().any(|f| f.version == a.version) {
                out.push(MigrationStatus {
                    version: a.version,
                    name: a.name.clone(),
                    file: None,
                    state: MigrationState::Missing(a.clone()),
                });
            }
        }
        out.sort_by_key(|s| s.version);
        Ok(out)
    }

    /// Refuses when an applied migration's file changed or is missing.
    fn verify(&self, files: &[MigrationFile], applied: &[AppliedMigration]) -> Result<()> {
        for a in applied {
            match files.iter().find(|f| f.version == a.version) {
                None => {
                    return Err(Error::Migration {
                        reason: MigrationFailure::MissingFile,
                        file: None,
                        message: format!(
                            "migration {} ({}) was applied but its file is missing from {}",
                            a.version,
                            a.name,
                            self.dir.display()
                        ),
                        source: None,
                    });
                }
                Some(f) if f.checksum != a.checksum => {
                    return Err(Error::Migration {
                        reason: MigrationFailure::ChecksumMismatch,
                        file: Some(f.file_name()),
                        message: format!(
                            "migration {} changed after it was applied (checksum {} in the history, {} now); \
                             restore the file and write a new migration for the change",
                            f.file_name(),
                            short(&a.checksum),
                            short(&f.checksum)
                        ),
                        source: None,
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn runner_for(&self, file: &MigrationFile) -> Result<Option<Arc<dyn ScriptRunner>>> {
        if file.kind == MigrationKind::Sql {
            return Ok(None);
        }
        match self.scripts.iter().find(|r| r.handles(file.kind)) {
            Some(r) => Ok(Some(r.clone())),
            None => Err(Error::Migration {
                reason: MigrationFailure::NoScriptRunner,
                file: Some(file.file_name()),
                message: format!(
                    "migration {} is a .{} script and no script runner for it is registered \
                     (run migrations through the dbridge binding or `dbridge-repl migrate`)",
                    file.file_name(),
                    file.kind.extension()
                ),
                source: None,
            }),
        }
    }

    fn plan(
        &self,
        files: Vec<MigrationFile>,
        direction: Direction,
    ) -> Result<Vec<PlannedMigration>> {
        files
            .into_iter()
            .map(|file| {
                self.runner_for(&file)?;
                let statements = match file.kind {
                    MigrationKind::Sql => {
                        file.statements_for(direction == Direction::Down, self.db.backend())?
                    }
                    _ => Vec::new(),
                };
                Ok(PlannedMigration {
                    file,
                    direction,
                    statements,
                })
            })
            .collect()
    }

    /// What [`Migrator::up`] would run, without running it (a dry run).
    ///
    /// # Errors
    /// As [`Migrator::up`], before anything runs.
    pub async fn plan_up(&self, target: Option<i64>) -> Result<Vec<PlannedMigration>> {
        let files = self.files()?;
        let applied = history::applied(&self.db, &self.table()?).await?;
        self.verify(&files, &applied)?;
        if let Some(t) = target
            && !files.iter().any(|f| f.version == t)
        {
            return Err(Error::Migration {
                reason: MigrationFailure::UnknownTarget,
                file: None,
                message: format!("no migration has version {t} in {}", self.dir.display()),
                source: None,
            });
        }
        let pending = files
            .into_iter()
            .filter(|f| !applied.iter().any(|a| a.version == f.version))
            .filter(|f| target.is_none_or(|t| f.version <= t))
            .collect();
        self.plan(pending, Direction::Up)
    }

    /// What [`Migrator::down`] would run, without running it (a dry run).
    ///
    /// # Errors
    /// As [`Migrator::down`], before anything runs.
    pub async fn plan_down(&self, steps: usize) -> Result<Vec<PlannedMigration>> {
        let files = self.files()?;
        let applied = history::applied(&self.db, &self.table()?).await?;
        self.verify(&files, &applied)?;
        let undo = applied
            .iter()
            .rev()
            .take(steps)
            .filter_map(|a| files.iter().find(|f| f.version == a.version).cloned())
            .collect();
        self.plan(undo, Direction::Down)
    }

    /// Applies the pending migrations in order, up to `target` (a version;
    /// `None`: all). Each runs in its own transaction with its history row:
    /// a failure rolls that migration back and stops with an error naming
    /// the file; those before it stay applied.
    ///
    /// Another runner at the same time waits for the lock and skips what
    /// this one applied.
    ///
    /// # Errors
    /// [`Error::Migration`]: an applied file changed or is missing, an unknown
    /// target, a script with no runner, a malformed file (all before anything
    /// runs), or a failed migration (rolled back).
    pub async fn up(&self, target: Option<i64>) -> Result<Vec<MigrationRun>> {
        history::ensure(&self.db, &self.table()?).await?;
        let plan = self.plan_up(target).await?;
        let mut done = Vec::new();
        for p in plan {
            if let Some(run) = self.run_one(p).await? {
                done.push(run);
            }
        }
        Ok(done)
    }

    /// Undoes the last `steps` applied migrations, newest first, each in its
    /// own transaction.
    ///
    /// # Errors
    /// As [`Migrator::up`]; also a file with no `-- down` section.
    pub async fn down(&self, steps: usize) -> Result<Vec<MigrationRun>> {
        let plan = self.plan_down(steps).await?;
        let mut done = Vec::new();
        for p in plan {
            if let Some(run) = self.run_one(p).await? {
                done.push(run);
            }
        }
        Ok(done)
    }

    /// Runs one migration under the lock; `None` when another runner already did.
    async fn run_one(&self, p: PlannedMigration) -> Result<Option<MigrationRun>> {
        let started = Instant::now();
        let file = p.file;
        let runner = self.runner_for(&file)?;
        let mut tx = match runner {
            None => MigrationTx::begin_schema(&self.db).await?,
            Some(_) => {
                let mut t = begin_waiting(&self.db).await?;
                t.pin_identity().await?;
                MigrationTx::Engine(t)
            }
        };
        history::lock(&mut tx, &self.table()?).await?;
        let record = history::find(&mut tx, &self.table()?, file.version).await?;
        match (p.direction, &record) {
            (Direction::Up, Some(a)) => {
                tx.rollback().await?;
                if a.checksum != file.checksum {
                    self.verify(std::slice::from_ref(&file), std::slice::from_ref(a))?;
                }
                return Ok(None);
            }
            (Direction::Down, None) => {
                tx.rollback().await?;
                return Ok(None);
            }
            _ => {}
        }
        let mut tx = match runner {
            None => {
                for (i, s) in p.statements.iter().enumerate() {
                    if let Err(e) = tx.execute(s).await {
                        let undone = tx.rollback().await;
                        let what = format!("at statement {}", i + 1);
                        return Err(failed_undone(&file, p.direction, &what, e, undone));
                    }
                }
                tx
            }
            Some(runner) => {
                let MigrationTx::Engine(transaction) = tx else {
                    return Err(Error::InvalidState(
                        "a script migration without an engine transaction".into(),
                    ));
                };
                let m = ScriptMigration {
                    file: file.clone(),
                    direction: p.direction,
                    transaction,
                };
                match runner.run(m).await {
                    Ok(t) => MigrationTx::Engine(t),
                    Err(e) => return Err(failed(&file, p.direction, "in the script", e)),
                }
            }
        };
        let duration = started.elapsed();
        let recorded = match p.direction {
            Direction::Up => {
                let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
                history::record(&mut tx, &self.table()?, &file, ms).await
            }
            Direction::Down => history::forget(&mut tx, &self.table()?, file.version).await,
        };
        if let Err(e) = recorded {
            let undone = tx.rollback().await;
            return Err(failed_undone(&file, p.direction, "recording it", e, undone));
        }
        let name = file.file_name();
        tx.commit(Some(&name)).await.map_err(|e| match e {
            escape @ Error::InvalidState(_) => Error::Migration {
                reason: MigrationFailure::Failed,
                file: Some(name.clone()),
                message: format!("migration {name} was not committed: {escape}"),
                source: Some(Box::new(escape)),
            },
            e => failed(&file, p.direction, "at commit", e),
        })?;
        Ok(Some(MigrationRun {
            file,
            direction: p.direction,
            duration: started.elapsed(),
        }))
    }
}

/// `db.begin()`, waiting while another SQLite writer holds the lock.
async fn begin_waiting(db: &Database) -> Result<crate::Transaction> {
    let mut tries = 0;
    loop {
        match db.begin().await {
            Err(e) if e.kind() == ErrorKind::Busy && tries < 120 => tries += 1,
            other => return other,
        }
    }
}

fn short(checksum: &str) -> &str {
    checksum.get(..12).unwrap_or(checksum)
}
