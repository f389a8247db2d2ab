//! Writing migration files: [`Migrator::new_migration`] (an empty one) and
//! [`Migrator::autogenerate`] (from the difference between the models and the
//! database), and [`Migrator::check`], which tells whether they differ.

use std::io::Write as _;
use std::path::PathBuf;

use crate::error::{Error, Result};

use super::diff::SchemaDiff;
use super::files::{MigrationKind, io_error, slug};
use super::introspect::{IntrospectOptions, introspect};
use super::runner::{MigrationState, Migrator};
use super::snapshot::SchemaSnapshot;

impl Migrator {
    /// The difference between the live database and the registered models
    /// (the history table left out).
    ///
    /// # Errors
    /// [`Error::InvalidState`] when no models are registered; database errors.
    pub async fn diff(&self) -> Result<SchemaDiff> {
        let Some(models) = &self.models else {
            return Err(Error::InvalidState(
                "no models to compare with: register them with Migrator::models".into(),
            ));
        };
        let mut options = IntrospectOptions::default().exclude(self.table()?.as_str());
        options.schema = self.schema.clone();
        let live = introspect(&self.db, &options).await?;
        let wanted = SchemaSnapshot::from_metadata(models, self.db.backend())?;
        Ok(SchemaDiff::between(&live, &wanted))
    }

    /// Whether the models and the database differ: the diff, empty when they
    /// agree (a CI job fails when it is not).
    ///
    /// # Errors
    /// As [`Migrator::diff`].
    pub async fn check(&self) -> Result<SchemaDiff> {
        self.diff().await
    }

    fn next_path(&self, name: &str, kind: MigrationKind) -> Result<PathBuf> {
        let files = self.files()?;
        let next = files.last().map_or(1, |f| f.version + 1);
        Ok(self
            .dir
            .join(format!("{next:04}_{}.{}", slug(name), kind.extension())))
    }

    fn write_new(&self, path: &PathBuf, content: &str) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_error(&self.dir, &e))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| io_error(path, &e))?;
        f.write_all(content.as_bytes())
            .map_err(|e| io_error(path, &e))
    }

    /// Writes an empty SQL migration `NNNN_name.sql` (the next number) and
    /// returns its path.
    ///
    /// # Errors
    /// [`Error::Migration`] ([`MigrationFailure::Io`](crate::MigrationFailure::Io)) when it cannot be written.
    pub fn new_migration(&self, name: &str) -> Result<PathBuf> {
        self.new_migration_of(name, MigrationKind::Sql)
    }

    /// Writes an empty migration of `kind` (SQL sections, or `up(db)` and
    /// `down(db)` functions for Lua and Rhai) and returns its path.
    ///
    /// # Errors
    /// As [`Migrator::new_migration`].
    pub fn new_migration_of(&self, name: &str, kind: MigrationKind) -> Result<PathBuf> {
        let path = self.next_path(name, kind)?;
        let content = match kind {
            MigrationKind::Sql => "-- up\n\n-- down\n",
            MigrationKind::Lua => "function up(db)\nend\n\nfunction down(db)\nend\n",
            MigrationKind::Rhai => "fn up(db) {\n}\n\nfn down(db) {\n}\n",
        };
        self.write_new(&path, content)?;
        Ok(path)
    }

    /// Writes a new SQL migration with the DDL that brings the database to
    /// the models (up) and back (down), and returns its path; `None` when
    /// there is nothing to change (no file is written).
    ///
    /// The database must be up to date with the migrations already written.
    /// A migration that would drop tables or columns is refused unless
    /// [`Migrator::allow_drops`] says otherwise; when allowed, its header
    /// says so in capitals. Possible renames are listed in the file's header for the author to
    /// confirm by hand; the SQL is for the database's backend.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when no models are registered, migrations are
    /// pending, or the migration would drop tables or columns and drops are
    /// not allowed (nothing is written); [`Error::Unsupported`] for a change the backend cannot make;
    /// [`Error::Migration`] when the file cannot be written.
    pub async fn autogenerate(&self, name: &str) -> Result<Option<PathBuf>> {
        let pending: Vec<String> = self
            .status()
            .await?
            .into_iter()
            .filter(|s| !matches!(s.state, MigrationState::Applied(_)))
            .map(|s| s.file.map_or(s.version.to_string(), |f| f.file_name()))
            .collect();
        if !pending.is_empty() {
            return Err(Error::InvalidState(format!(
                "the database is not up to date with the migrations ({}): run them first",
                pending.join(", ")
            )));
        }
        let diff = self.diff().await?;
        if diff.is_empty() {
            return Ok(None);
        }
        let drops: Vec<String> = diff.drops().iter().map(|c| c.to_string()).collect();
        if !drops.is_empty() && !self.allow_drops {
            return Err(Error::InvalidState(format!(
                "the migration would {}: nothing was written (a table or column missing from \
                 the models loses its data; if that is meant, allow drops: `--allow-drops`, \
                 or `allow_drops` in a migrator's options)",
                drops.join(", ")
            )));
        }
        let up = diff.up()?;
        // A change that cannot be undone (enum labels added on PostgreSQL):
        // no down section, so that `down` refuses instead of doing nothing.
        let down = match diff.down() {
            Ok(d) => Ok(d),
            Err(e @ Error::Unsupported { .. }) => Err(e.to_string()),
            Err(e) => return Err(e),
        };
        let path = self.next_path(name, MigrationKind::Sql)?;
        let mut text = format!(
            "-- generated by dbridge from the models ({}):\n",
            self.db.backend()
        );
        for c in diff.changes() {
            text.push_str(&format!("--   {c}\n"));
        }
        if !drops.is_empty() {
            text.push_str("-- WARNING: THIS MIGRATION DROPS DATA (allowed by allow_drops):\n");
            for d in &drops {
                text.push_str(&format!("--   {d}\n"));
            }
        }
        if !diff.possible_renames().is_empty() {
            text.push_str(
                "-- possible renames (a drop and an add below; to keep the data, replace them\n\
                 -- with ALTER TABLE .. RENAME COLUMN .. TO ..):\n",
            );
            for r in diff.possible_renames() {
                text.push_str(&format!("--   {r}\n"));
            }
        }
        text.push_str("\n-- up\n");
        for s in &up {
            text.push_str(s.sql());
            text.push_str(";\n");
        }
        match &down {
            Ok(down) => {
                text.push_str("\n-- down\n");
                for s in down {
                    text.push_str(s.sql());
                    text.push_str(";\n");
                }
            }
            Err(why) => {
                text.push_str(&format!(
                    "\n-- no down section: it cannot be generated ({why})\n"
                ));
            }
        }
        self.write_new(&path, &text)?;
        Ok(Some(path))
    }
}
