//! Migration files: a directory of `NNNN_name.sql` (with `-- up` and
//! `-- down` sections), `NNNN_name.lua` and `NNNN_name.rhai` (run by a
//! [`super::ScriptRunner`]), ordered by their number.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::db::Statement;
use crate::error::{Error, MigrationFailure, Result};

/// The language of a migration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MigrationKind {
    /// `.sql`: statements in `-- up` and `-- down` sections.
    Sql,
    /// `.lua`: `up(db)` and `down(db)` functions.
    Lua,
    /// `.rhai`: `up(db)` and `down(db)` functions.
    Rhai,
}

impl MigrationKind {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Sql => "sql",
            Self::Lua => "lua",
            Self::Rhai => "rhai",
        }
    }

    fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "sql" => Some(Self::Sql),
            "lua" => Some(Self::Lua),
            "rhai" => Some(Self::Rhai),
            _ => None,
        }
    }
}

/// One migration file, read.
#[derive(Clone)]
pub struct MigrationFile {
    /// The number it is ordered by.
    pub version: i64,
    /// The name after the number (`add_karma`).
    pub name: String,
    /// Its language.
    pub kind: MigrationKind,
    /// Where it is.
    pub path: PathBuf,
    /// Its content.
    pub source: Arc<str>,
    /// SHA-256 of its content, in hex: an applied file must not change.
    pub checksum: String,
}

impl fmt::Debug for MigrationFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MigrationFile")
            .field("version", &self.version)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl MigrationFile {
    /// The file's name (`0003_add_karma.sql`).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The statements of an SQL file's `-- up` or `-- down` section.
    ///
    /// # Errors
    /// [`Error::Migration`] ([`MigrationFailure::InvalidFile`]) for a file that
    /// is not SQL, has no `-- up` section, has text before it, or has no
    /// `-- down` section when `down` is asked for.
    pub fn statements(&self, down: bool) -> Result<Vec<Statement>> {
        self.statements_for(down, crate::Backend::Postgres)
    }

    /// As [`MigrationFile::statements`], split by `backend`'s lexical rules
    /// (what the runner uses).
    ///
    /// # Errors
    /// As [`MigrationFile::statements`].
    pub fn statements_for(&self, down: bool, backend: crate::Backend) -> Result<Vec<Statement>> {
        if self.kind != MigrationKind::Sql {
            return Err(invalid(self, "is not an SQL migration"));
        }
        let (up, down_part) = sections(&self.source).map_err(|m| invalid(self, m))?;
        let part = if down {
            down_part.ok_or_else(|| invalid(self, "has no `-- down` section"))?
        } else {
            up
        };
        Ok(crate::db::sql_text::split(part, backend)
            .map(Statement::from)
            .collect())
    }
}

fn invalid(file: &MigrationFile, what: &str) -> Error {
    Error::Migration {
        reason: MigrationFailure::InvalidFile,
        file: Some(file.file_name()),
        message: format!("migration {} {what}", file.file_name()),
        source: None,
    }
}

pub(super) fn io_error(path: &Path, e: &std::io::Error) -> Error {
    Error::Migration {
        reason: MigrationFailure::Io,
        file: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        message: format!("cannot access {}: {e}", path.display()),
        source: None,
    }
}

fn marker(line: &str) -> Option<&'static str> {
    let t = line.trim();
    let rest = t.strip_prefix("--")?.trim();
    match rest.to_ascii_lowercase().as_str() {
        "up" | "+up" | "migrate:up" => Some("up"),
        "down" | "+down" | "migrate:down" => Some("down"),
        _ => None,
    }
}

/// The `-- up` and `-- down` parts of an SQL migration.
fn sections(source: &str) -> std::result::Result<(&str, Option<&str>), &'static str> {
    let mut up: Option<usize> = None;
    let mut down: Option<(usize, usize)> = None;
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        match marker(line) {
            Some("up") if up.is_none() => up = Some(offset + line.len()),
            Some("up") => return Err("has two `-- up` sections"),
            Some(_) if down.is_none() => down = Some((offset, offset + line.len())),
            Some(_) => return Err("has two `-- down` sections"),
            None => {
                let t = line.trim();
                if up.is_none() && !t.is_empty() && !t.starts_with("--") {
                    return Err("has statements before its `-- up` section");
                }
            }
        }
        offset += line.len();
    }
    let Some(up_start) = up else {
        return Err("has no `-- up` section");
    };
    match down {
        Some((start, end)) if start > up_start => {
            Ok((&source[up_start..start], Some(&source[end..])))
        }
        Some(_) => Err("has its `-- down` section before `-- up`"),
        None => Ok((&source[up_start..], None)),
    }
}

/// Splits SQL text into statements at `;`, outside strings, quoted names,
/// comments, PostgreSQL dollar quotes and `CREATE TRIGGER ... END` bodies
/// (PostgreSQL's lexical rules; the runner splits by the database's backend).
pub fn split_statements(sql: &str) -> Vec<String> {
    crate::db::sql_text::split(sql, crate::Backend::Postgres)
        .map(str::to_owned)
        .collect()
}

/// Reads the migration files of `dir`, ordered by version. Files of other
/// extensions are ignored; a `.sql`, `.lua` or `.rhai` file whose name is not
/// `NNNN_name.ext` is an error, as are two files with one version.
///
/// # Errors
/// [`Error::Migration`] with [`MigrationFailure::InvalidFile`] or [`MigrationFailure::Io`].
pub fn read_dir(dir: &Path) -> Result<Vec<MigrationFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir, &e)),
    };
    let mut files: Vec<MigrationFile> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, &e))?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let Some(kind) = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(MigrationKind::from_extension)
        else {
            continue;
        };
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let bad = |what: &str| Error::Migration {
            reason: MigrationFailure::InvalidFile,
            file: Some(entry.file_name().to_string_lossy().into_owned()),
            message: format!(
                "migration file {} {what} (expected NNNN_name.{})",
                entry.file_name().to_string_lossy(),
                kind.extension()
            ),
            source: None,
        };
        let (num, name) = stem
            .split_once('_')
            .ok_or_else(|| bad("has no `_` after its number"))?;
        if num.is_empty() || !num.bytes().all(|c| c.is_ascii_digit()) || name.is_empty() {
            return Err(bad("does not start with a number and a name"));
        }
        let version: i64 = num.parse().map_err(|_| bad("has a number too large"))?;
        let bytes = std::fs::read(&path).map_err(|e| io_error(&path, &e))?;
        let source = String::from_utf8(bytes).map_err(|_| bad("is not UTF-8 text"))?;
        if let Some(other) = files.iter().find(|f| f.version == version) {
            return Err(bad(&format!(
                "has the same version as {}",
                other.file_name()
            )));
        }
        files.push(MigrationFile {
            version,
            name: name.to_owned(),
            kind,
            checksum: checksum(&source),
            path,
            source: source.into(),
        });
    }
    files.sort_by_key(|f| f.version);
    Ok(files)
}

/// SHA-256 of `source`, in hex.
pub(crate) fn checksum(source: &str) -> String {
    let digest = Sha256::digest(source.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file name part from a user's name: lower case, `_` for anything else.
pub(super) fn slug(name: &str) -> String {
    let s: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('_').to_owned();
    if s.is_empty() { "migration".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_statements_outside_quotes_comments_and_bodies() {
        let sql = "CREATE TABLE a (x TEXT DEFAULT ';');\n-- a; comment\nINSERT INTO a VALUES ('it''s; ok');\n\
                   CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n\
                   CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = 'y'; DELETE FROM a; END;\n\
                   /* trailing; */ ";
        let s = split_statements(sql);
        assert_eq!(s.len(), 4, "{s:#?}");
        assert!(s[1].ends_with("'it''s; ok')"));
        assert!(s[2].contains("$body$ SELECT 1; $body$"));
        assert!(s[3].ends_with("END"));
    }

    #[test]
    fn sections_are_found_and_checked() {
        let (up, down) =
            sections("-- note\n-- up\nCREATE TABLE a (x INT);\n-- down\nDROP TABLE a;\n").unwrap();
        assert_eq!(split_statements(up), ["CREATE TABLE a (x INT)"]);
        assert_eq!(split_statements(down.unwrap()), ["DROP TABLE a"]);
        assert_eq!(
            sections("CREATE TABLE a ();"),
            Err("has statements before its `-- up` section")
        );
        assert_eq!(sections("-- nothing"), Err("has no `-- up` section"));
        assert!(sections("-- up\n").unwrap().1.is_none());
    }

    #[test]
    fn slugs_and_checksums() {
        assert_eq!(slug(" Add Karma! "), "add_karma");
        assert_eq!(checksum("a").len(), 64);
        assert_ne!(checksum("a"), checksum("b"));
    }
}
