//! `.import FILE TABLE`: loads a CSV file into an existing table.
//!
//! The file's first row names the columns (any subset of the table's, in any
//! order), matched case- and space-insensitively (`Track Id` is `track_id`
//! and `TrackId`); a header that matches no column is an error listing the
//! table's columns. An empty field is NULL and every other field is parsed as
//! its column's type (`"42"` into an integer column), so a bad value is
//! reported with its line and column, never with the value itself. The rows
//! go in through [`Insert`] in batches of [`BATCH`] rows (binary `COPY` on
//! PostgreSQL, multi-row `INSERT` on SQLite), all in one transaction: an
//! import loads the whole file or nothing.
//!
//! [`plan`] checks the file and the table before anything is shown, so a
//! missing table is an error without a progress bar; [`load`] loads.

use std::fs::File;
use std::path::Path;

use dbridge_engine::migrate::{IntrospectOptions, introspect};
use dbridge_engine::query::{Insert, Run};
use dbridge_engine::schema::Model;
use dbridge_engine::{Database, Value};
use indicatif::ProgressBar;

use crate::lang::ScriptError;

/// Rows sent in one INSERT.
pub const BATCH: usize = 2_000;

fn error(kind: &str, message: impl Into<String>) -> ScriptError {
    ScriptError {
        kind: kind.into(),
        message: message.into(),
        traceback: None,
        notes: Vec::new(),
    }
}

/// The model of a live table, reflected from the catalog.
async fn table_model(db: &Database, table: &str) -> Result<Model, ScriptError> {
    let snapshot = introspect(db, &IntrospectOptions::default())
        .await
        .map_err(ScriptError::from)?;
    let Some(t) = snapshot.table(table) else {
        let mut e = error("undefined_table", format!("no table named `{table}`"));
        let names = snapshot.tables.iter().map(|t| t.name.as_str());
        if let Some(h) = crate::suggest::hint(table, names) {
            e.notes.push(h);
        }
        return Err(e);
    };
    t.to_model().map_err(ScriptError::from)
}

/// One CSV record as values of `columns`' types; `line` names it in errors.
fn parse_record(
    record: &csv::StringRecord,
    model: &Model,
    columns: &[String],
    line: u64,
) -> Result<Vec<Value>, ScriptError> {
    if record.len() != columns.len() {
        return Err(error(
            "invalid_value",
            format!(
                "line {line}: {} field(s) for {} column(s)",
                record.len(),
                columns.len()
            ),
        ));
    }
    columns
        .iter()
        .zip(record.iter())
        .map(|(name, field)| {
            if field.is_empty() {
                return Ok(Value::Null);
            }
            let column = model.column(name).map_err(ScriptError::from)?;
            Value::Text(field.to_owned())
                .coerce(column.sql_type(), &format!("line {line}, column `{name}`"))
                .map_err(ScriptError::from)
        })
        .collect()
}

/// A checked import: the table's model, the columns the CSV header names
/// (in the file's order), and the file, positioned after the header.
#[derive(Debug)]
pub struct Plan {
    model: Model,
    columns: Vec<String>,
    reader: csv::Reader<File>,
    /// The file's size in bytes, for the progress bar.
    pub bytes: u64,
}

/// A header or column name reduced for matching: lowercase, without spaces,
/// `_` and `-`.
fn folded(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The column of `model` that a CSV `header` names: the exact name, else
/// the one column equal to it case- and space-insensitively.
///
/// # Errors
/// A `schema` error naming the header and listing the table's columns (with
/// the nearest one as a hint), or naming the columns it could mean.
pub fn match_column(model: &Model, table: &str, header: &str) -> Result<String, ScriptError> {
    let names: Vec<&str> = model.columns().iter().map(|c| c.name().as_str()).collect();
    if names.contains(&header) {
        return Ok(header.to_owned());
    }
    let want = folded(header);
    let found: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| folded(n) == want)
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => {
            let mut e = error(
                "schema",
                format!(
                    "the CSV header `{}` names no column of `{table}` (its columns: {})",
                    header.trim(),
                    names.join(", ")
                ),
            );
            if let Some(h) = crate::suggest::hint(header.trim(), names.iter().copied()) {
                e.notes.push(h);
            }
            Err(e)
        }
        several => Err(error(
            "schema",
            format!(
                "the CSV header `{}` could be any of the columns {} of `{table}`: rename it to one",
                header.trim(),
                several.join(", ")
            ),
        )),
    }
}

/// Opens `path` and checks its header against `table`.
///
/// # Errors
/// An unreadable file, an unknown table, a header that names no column.
pub async fn plan(db: &Database, path: &Path, table: &str) -> Result<Plan, ScriptError> {
    let file = File::open(path)
        .map_err(|e| error("io", format!("cannot read {}: {e}", path.display())))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let model = table_model(db, table).await?;
    let mut reader = csv::Reader::from_reader(file);
    let columns = reader
        .headers()
        .map_err(|e| error("invalid_value", format!("{}: {e}", path.display())))?
        .iter()
        .map(|h| match_column(&model, table, h))
        .collect::<Result<Vec<String>, ScriptError>>()?;
    Ok(Plan {
        model,
        columns,
        reader,
        bytes,
    })
}

/// Loads a planned import; returns the number of rows. `progress` is
/// advanced by bytes read (a hidden bar when there is no terminal).
///
/// # Errors
/// A malformed line or value, or the database's own error (then nothing
/// was loaded).
pub async fn load(db: &Database, plan: Plan, progress: &ProgressBar) -> Result<u64, ScriptError> {
    let Plan {
        model,
        columns,
        mut reader,
        bytes,
    } = plan;
    progress.set_length(bytes);
    let mut tx = db.begin().await.map_err(ScriptError::from)?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut total = 0u64;
    for record in reader.records() {
        let record = record.map_err(|e| error("invalid_value", e.to_string()))?;
        let line = record.position().map_or(0, csv::Position::line);
        batch.push(parse_record(&record, &model, &columns, line)?);
        if batch.len() == BATCH {
            total += insert(&mut tx, &model, &columns, std::mem::take(&mut batch)).await?;
            progress.set_position(record.position().map_or(0, csv::Position::byte));
        }
    }
    if !batch.is_empty() {
        total += insert(&mut tx, &model, &columns, batch).await?;
    }
    tx.commit().await.map_err(ScriptError::from)?;
    Ok(total)
}

/// Loads `path` into `table` ([`plan`] then [`load`]); returns the number
/// of rows.
///
/// # Errors
/// As [`plan`] and [`load`].
pub async fn import(
    db: &Database,
    path: &Path,
    table: &str,
    progress: &ProgressBar,
) -> Result<u64, ScriptError> {
    let plan = plan(db, path, table).await?;
    load(db, plan, progress).await
}

async fn insert(
    tx: &mut dbridge_engine::Transaction,
    model: &Model,
    columns: &[String],
    rows: Vec<Vec<Value>>,
) -> Result<u64, ScriptError> {
    Insert::into(model)
        .columns(columns)
        .and_then(|i| i.rows(rows))
        .map_err(ScriptError::from)?
        .execute(tx)
        .await
        .map_err(ScriptError::from)
}
