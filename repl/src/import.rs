//! `.import FILE TABLE`: loads a CSV file into an existing table.
//!
//! The file's first row names the columns (any subset of the table's, in any
//! order); an empty field is NULL and every other field is parsed as its
//! column's type (`"42"` into an integer column), so a bad value is reported
//! with its line and column, never with the value itself. The rows go in as
//! multi-row inserts (`UNNEST` arrays on PostgreSQL) of [`BATCH`] rows, all in
//! one transaction: an import loads the whole file or nothing.

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
    }
}

/// The model of a live table, reflected from the catalog.
async fn table_model(db: &Database, table: &str) -> Result<Model, ScriptError> {
    let snapshot = introspect(db, &IntrospectOptions::default())
        .await
        .map_err(ScriptError::from)?;
    let t = snapshot
        .table(table)
        .ok_or_else(|| error("not_found", format!("no table named `{table}`")))?;
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

/// Loads `path` into `table`; returns the number of rows. `progress` is
/// advanced by bytes read (a hidden bar when there is no terminal).
///
/// # Errors
/// An unreadable file, an unknown table or column, a malformed line or
/// value, or the database's own error (then nothing was loaded).
pub async fn import(
    db: &Database,
    path: &Path,
    table: &str,
    progress: &ProgressBar,
) -> Result<u64, ScriptError> {
    let file = File::open(path)
        .map_err(|e| error("io", format!("cannot read {}: {e}", path.display())))?;
    if let Ok(meta) = file.metadata() {
        progress.set_length(meta.len());
    }
    let model = table_model(db, table).await?;
    let mut reader = csv::Reader::from_reader(file);
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| error("invalid_value", format!("{}: {e}", path.display())))?
        .iter()
        .map(str::to_owned)
        .collect();
    for c in &columns {
        model.column(c).map_err(ScriptError::from)?;
    }
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
