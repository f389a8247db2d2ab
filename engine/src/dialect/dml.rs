//! INSERT (batched, UNNEST on PostgreSQL), UPDATE and DELETE.

use crate::db::CopyIn;
use crate::error::{Backend, Error, Result};
use crate::query::insert::{ConflictAction, InsertSource};
use crate::query::{Delete, Insert, OutputColumn, SelectItem, Update};
use crate::schema::Model;
use crate::value::{SqlType, Value};

use super::compiler::Compiler;
use super::select::finish;
use super::{Compiled, param_limit};

/// Rows per `UNNEST` statement: one parameter per column whatever the row count,
/// so this only bounds the size of one message.
const UNNEST_CHUNK: usize = 100_000;

fn column_target(model: &Model, i: usize) -> String {
    format!(
        "column \"{}\" of model `{}`",
        model.columns()[i].name(),
        model.name()
    )
}

/// `v` as `ty`; values already of that type pass through untouched.
fn coerce(v: Value, ty: &SqlType, target: &str) -> Result<Value> {
    if v.coerces_unchanged(ty) {
        Ok(v)
    } else {
        v.coerce(ty, target)
    }
}

/// The columns and coerced rows to insert, client defaults added.
fn prepare_rows(ins: &Insert) -> Result<(Vec<usize>, Vec<Vec<Value>>)> {
    let model = &ins.model;
    let mut columns = ins.columns.clone();
    let factories: Vec<usize> = model
        .columns()
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            c.default_factory().is_some() && c.generated().is_none() && !columns.contains(i)
        })
        .map(|(i, _)| i)
        .collect();
    let given = match &ins.source {
        InsertSource::Values(rows) => rows.as_slice(),
        InsertSource::DefaultValues if !factories.is_empty() => &[Vec::new()][..],
        InsertSource::DefaultValues => return Ok((Vec::new(), Vec::new())),
        InsertSource::Query(_) => return Ok((columns, Vec::new())),
    };
    columns.extend(&factories);
    // Error targets are written once per column, not once per value.
    let targets: Vec<String> = columns.iter().map(|&i| column_target(model, i)).collect();
    let types: Vec<&SqlType> = columns
        .iter()
        .map(|&i| model.columns()[i].sql_type())
        .collect();
    let given_width = ins.columns.len();
    let mut rows = Vec::with_capacity(given.len());
    for row in given {
        let mut out = Vec::with_capacity(columns.len());
        for (k, v) in row.iter().enumerate() {
            out.push(coerce(v.clone(), types[k], &targets[k])?);
        }
        for (k, &i) in factories.iter().enumerate() {
            if let Some(f) = model.columns()[i].default_factory() {
                let k = given_width + k;
                out.push(coerce(f(), types[k], &targets[k])?);
            }
        }
        rows.push(out);
    }
    Ok((columns, rows))
}

fn head(c: &mut Compiler, model: &Model, columns: &[usize]) -> Result<()> {
    c.push("INSERT INTO ");
    c.ident(model.table());
    if !columns.is_empty() {
        c.push(" (");
        c.list(columns, |c, &i| {
            c.ident(model.columns()[i].name());
            Ok(())
        })?;
        c.push(")");
    }
    Ok(())
}

/// ON CONFLICT and RETURNING.
fn tail(c: &mut Compiler, ins: &Insert) -> Result<Vec<OutputColumn>> {
    if let Some(conflict) = &ins.on_conflict {
        c.push(" ON CONFLICT");
        if !conflict.target.is_empty() {
            c.push(" (");
            c.list(&conflict.target, |c, &i| {
                c.ident(ins.model.columns()[i].name());
                Ok(())
            })?;
            c.push(")");
        }
        match &conflict.action {
            ConflictAction::Nothing => c.push(" DO NOTHING"),
            ConflictAction::Update { sets, filter } => {
                if conflict.target.is_empty() {
                    return Err(Error::InvalidState(
                        "ON CONFLICT DO UPDATE needs conflict target columns".into(),
                    ));
                }
                c.push(" DO UPDATE SET ");
                set_list(c, &ins.model, sets)?;
                if let Some(f) = filter {
                    c.push(" WHERE ");
                    c.expr(f)?;
                }
            }
        }
    }
    returning(c, &ins.returning)
}

fn set_list(c: &mut Compiler, model: &Model, sets: &[(usize, crate::query::Expr)]) -> Result<()> {
    c.list(sets, |c, (i, e)| {
        let col = &model.columns()[*i];
        c.ident(col.name());
        c.push(" = ");
        match e {
            // The target column gives an assigned parameter its type.
            crate::query::Expr::Value(v) if c.mode == super::compiler::Mode::Dml => {
                c.bind(v.clone());
                Ok(())
            }
            _ => c.expr_with(e, Some(col.sql_type())),
        }
    })
}

fn returning(c: &mut Compiler, items: &[SelectItem]) -> Result<Vec<OutputColumn>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    c.push(" RETURNING ");
    c.unqualified = true;
    let cols = c.select_items(items);
    c.unqualified = false;
    cols
}

/// A joined-table subclass's rows span several tables: a statement of one
/// table cannot write them (a session can).
fn one_table(model: &Model, what: &str) -> Result<()> {
    if model.is_joined() {
        return Err(Error::InvalidState(format!(
            "cannot {what} model `{}` in one statement: it is a joined-table subclass whose rows \
             span tables ({}); write its instances through a session",
            model.name(),
            model
                .table_parts()?
                .iter()
                .map(|p| p.table.table().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

pub(super) fn compile_insert(ins: &Insert, backend: Backend) -> Result<Vec<Compiled>> {
    let model = &ins.model;
    one_table(model, "insert into")?;
    let (columns, rows) = prepare_rows(ins)?;
    match &ins.source {
        InsertSource::Query(q) => {
            let mut c = Compiler::new(backend);
            head(&mut c, model, &columns)?;
            c.push(" ");
            if backend == Backend::Sqlite && ins.on_conflict.is_some() {
                // SQLite needs a WHERE to tell ON CONFLICT from a join constraint.
                c.push("SELECT * FROM (");
                c.query(q)?;
                c.push(") WHERE true");
            } else {
                c.query(q)?;
            }
            let cols = tail(&mut c, ins)?;
            return Ok(vec![finish(c, cols)]);
        }
        _ if columns.is_empty() => {
            if backend == Backend::Sqlite && ins.on_conflict.is_some() {
                return Err(Error::Unsupported {
                    backend,
                    feature: "ON CONFLICT with DEFAULT VALUES".into(),
                });
            }
            let mut c = Compiler::new(backend);
            head(&mut c, model, &columns)?;
            c.push(" DEFAULT VALUES");
            let cols = tail(&mut c, ins)?;
            return Ok(vec![finish(c, cols)]);
        }
        _ => {}
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let arrays_ok = columns
        .iter()
        .all(|&i| !matches!(model.columns()[i].sql_type(), SqlType::Array(_)));
    if backend == Backend::Postgres && rows.len() >= ins.bulk_threshold && arrays_ok {
        let mut out = Vec::with_capacity(rows.len().div_ceil(UNNEST_CHUNK));
        let mut rows = rows.into_iter();
        loop {
            let chunk: Vec<Vec<Value>> = rows.by_ref().take(UNNEST_CHUNK).collect();
            if chunk.is_empty() {
                return Ok(out);
            }
            out.push(unnest(ins, &columns, chunk)?);
        }
    }
    // Parameters the ON CONFLICT / RETURNING part binds, counted once.
    let tail_params = {
        let mut c = Compiler::new(backend);
        tail(&mut c, ins)?;
        c.params.len()
    };
    let per_row = columns.len().max(1);
    let batch = ((param_limit(backend) - tail_params) / per_row).max(1);
    rows.chunks(batch)
        .map(|chunk: &[Vec<Value>]| {
            let mut c = Compiler::new(backend);
            c.params.reserve(chunk.len() * per_row + tail_params);
            head(&mut c, model, &columns)?;
            c.push(" VALUES ");
            for (r, row) in chunk.iter().enumerate() {
                if r > 0 {
                    c.push(", ");
                }
                c.push("(");
                for (k, v) in row.iter().enumerate() {
                    if k > 0 {
                        c.push(", ");
                    }
                    // The target column gives the parameter its type.
                    c.bind(v.clone());
                }
                c.push(")");
            }
            let cols = tail(&mut c, ins)?;
            Ok(finish(c, cols))
        })
        .collect()
}

/// Whether `ins` loads through binary `COPY` on `backend`: PostgreSQL, plain
/// values past the bulk threshold, no ON CONFLICT or RETURNING, no array column,
/// and COPY not turned off with [`Insert::copy`].
fn copy_applies(ins: &Insert, backend: Backend, rows: usize, columns: &[usize]) -> bool {
    backend == Backend::Postgres
        && ins.copy
        && matches!(ins.source, InsertSource::Values(_))
        && ins.on_conflict.is_none()
        && ins.returning.is_empty()
        && rows >= ins.bulk_threshold.max(1)
        && !columns.is_empty()
        && columns
            .iter()
            .all(|&i| !matches!(ins.model.columns()[i].sql_type(), SqlType::Array(_)))
}

/// `COPY "t" ("a", ...) FROM STDIN (FORMAT binary)` with its rows (borrowed:
/// coerced to the model's types and given their client defaults as they are
/// encoded) and the `INSERT INTO "t" ("a", ...) VALUES ($1, ...)` probe that
/// tells the server's column types; `None` when the insert does not load
/// through COPY.
pub(super) fn compile_copy(ins: &Insert, backend: Backend) -> Result<Option<CopyIn<'_>>> {
    let InsertSource::Values(rows) = &ins.source else {
        return Ok(None);
    };
    let model = &ins.model;
    one_table(model, "insert into")?;
    let mut columns = ins.columns.clone();
    let mut factories = Vec::new();
    for (i, c) in model.columns().iter().enumerate() {
        if let Some(f) = c.default_factory()
            && c.generated().is_none()
            && !columns.contains(&i)
        {
            columns.push(i);
            factories.push(f.clone());
        }
    }
    if !copy_applies(ins, backend, rows.len(), &columns) {
        return Ok(None);
    }
    let mut probe = Compiler::new(backend);
    head(&mut probe, model, &columns)?;
    probe.push(" VALUES (");
    for k in 0..columns.len() {
        if k > 0 {
            probe.push(", ");
        }
        probe.push(&format!("${}", k + 1));
    }
    probe.push(")");
    let mut c = Compiler::new(backend);
    c.push("COPY ");
    c.ident(model.table());
    c.push(" (");
    c.list(&columns, |c, &i| {
        c.ident(model.columns()[i].name());
        Ok(())
    })?;
    c.push(") FROM STDIN (FORMAT binary)");
    let types = columns
        .iter()
        .map(|&i| {
            let ty = model.columns()[i].sql_type().clone();
            (ty, column_target(model, i))
        })
        .collect();
    Ok(Some(CopyIn::new(c.sql, probe.sql, types, rows, factories)))
}

/// `INSERT INTO t (cols) SELECT * FROM UNNEST($1::type[], ...)`: one array
/// parameter per column, bound natively.
fn unnest(ins: &Insert, columns: &[usize], rows: Vec<Vec<Value>>) -> Result<Compiled> {
    let model = &ins.model;
    let mut c = Compiler::new(Backend::Postgres);
    head(&mut c, model, columns)?;
    c.push(" SELECT * FROM UNNEST(");
    // Transpose the rows into one array per column, moving the values.
    let mut arrays: Vec<Vec<Value>> = columns
        .iter()
        .map(|_| Vec::with_capacity(rows.len()))
        .collect();
    for row in rows {
        for (array, v) in arrays.iter_mut().zip(row) {
            array.push(v);
        }
    }
    for (k, (&i, items)) in columns.iter().zip(arrays).enumerate() {
        if k > 0 {
            c.push(", ");
        }
        let ty = model.columns()[i].sql_type();
        let cast = format!("{}[]", super::column_type(Backend::Postgres, ty));
        c.bind_cast(Value::array(ty.clone(), items), &cast);
    }
    c.push(")");
    let cols = tail(&mut c, ins)?;
    Ok(finish(c, cols))
}

pub(super) fn compile_update(up: &Update, backend: Backend) -> Result<Compiled> {
    if up.sets.is_empty() {
        return Err(Error::InvalidState(format!(
            "an update of model `{}` needs at least one column to set",
            up.model.name()
        )));
    }
    one_table(&up.model, "update")?;
    let mut c = Compiler::new(backend);
    c.push("UPDATE ");
    c.ident(up.model.table());
    c.push(" SET ");
    set_list(&mut c, &up.model, &up.sets)?;
    c.conditions(" WHERE ", &up.filter)?;
    let cols = returning(&mut c, &up.returning)?;
    Ok(finish(c, cols))
}

pub(super) fn compile_delete(del: &Delete, backend: Backend) -> Result<Compiled> {
    one_table(&del.model, "delete from")?;
    let mut c = Compiler::new(backend);
    c.push("DELETE FROM ");
    c.ident(del.model.table());
    c.conditions(" WHERE ", &del.filter)?;
    let cols = returning(&mut c, &del.returning)?;
    Ok(finish(c, cols))
}

/// `UPDATE t SET a = "v"."a", ... FROM UNNEST($1::type[], ...) AS "v"(keys.., sets..)
/// WHERE t.k = "v".k ...` (PostgreSQL): the updates of many rows that set the
/// same columns, in one statement with one array parameter per column. Each
/// row of `rows` holds the key values, then the new values. Its row count
/// tells whether every row was found (no RETURNING: sending the keys back
/// cost the server a third of the statement's time on 10k rows);
/// [`bulk_keys_found`] names the missing ones when not.
pub(crate) fn bulk_update(
    model: &Model,
    keys: &[usize],
    sets: &[usize],
    rows: Vec<Vec<Value>>,
) -> Result<Compiled> {
    let cols = model.columns();
    let all: Vec<usize> = keys.iter().chain(sets).copied().collect();
    let mut c = Compiler::new(Backend::Postgres);
    c.push("UPDATE ");
    c.ident(model.table());
    c.push(" SET ");
    for (k, &i) in sets.iter().enumerate() {
        if k > 0 {
            c.push(", ");
        }
        c.ident(cols[i].name());
        c.push(" = \"v\".");
        c.ident(cols[i].name());
    }
    c.push(" FROM ");
    unnest_source(&mut c, model, &all, rows)?;
    c.push(" WHERE ");
    keys_match(&mut c, model, keys);
    Ok(finish(c, Vec::new()))
}

/// `SELECT t.k, ... FROM t JOIN UNNEST($1::type[], ...) AS "v"(k, ...) ON
/// t.k = "v".k ...` (PostgreSQL): which of `rows` (key values each) exist;
/// what tells a [`bulk_update`] that missed rows which ones it missed.
pub(crate) fn bulk_keys_found(
    model: &Model,
    keys: &[usize],
    rows: Vec<Vec<Value>>,
) -> Result<Compiled> {
    let cols = model.columns();
    let mut c = Compiler::new(Backend::Postgres);
    c.push("SELECT ");
    let mut types = Vec::with_capacity(keys.len());
    for (k, &i) in keys.iter().enumerate() {
        if k > 0 {
            c.push(", ");
        }
        c.ident(model.table());
        c.push(".");
        c.ident(cols[i].name());
        types.push(Some(cols[i].sql_type().clone()));
    }
    c.push(" FROM ");
    c.ident(model.table());
    c.push(" JOIN ");
    unnest_source(&mut c, model, keys, rows)?;
    c.push(" ON ");
    keys_match(&mut c, model, keys);
    let mut compiled = finish(c, Vec::new());
    compiled.statement = compiled.statement.with_result_types(types);
    Ok(compiled)
}

/// `UNNEST($1::type[], ...) AS "v"(c, ...)`: `rows` transposed into one array
/// parameter per column of `all`.
fn unnest_source(
    c: &mut Compiler,
    model: &Model,
    all: &[usize],
    rows: Vec<Vec<Value>>,
) -> Result<()> {
    let cols = model.columns();
    if let Some(&i) = all
        .iter()
        .find(|&&i| matches!(cols[i].sql_type(), SqlType::Array(_)))
    {
        return Err(Error::Unsupported {
            backend: Backend::Postgres,
            feature: format!("a bulk update of the array {}", column_target(model, i)),
        });
    }
    let mut arrays: Vec<Vec<Value>> = all.iter().map(|_| Vec::with_capacity(rows.len())).collect();
    for row in rows {
        for (array, v) in arrays.iter_mut().zip(row) {
            array.push(v);
        }
    }
    c.push("UNNEST(");
    for (k, (&i, items)) in all.iter().zip(arrays).enumerate() {
        if k > 0 {
            c.push(", ");
        }
        let ty = cols[i].sql_type();
        let cast = format!("{}[]", super::column_type(Backend::Postgres, ty));
        c.bind_cast(Value::array(ty.clone(), items), &cast);
    }
    c.push(") AS \"v\"(");
    for (k, &i) in all.iter().enumerate() {
        if k > 0 {
            c.push(", ");
        }
        c.ident(cols[i].name());
    }
    c.push(")");
    Ok(())
}

/// `t.k = "v".k AND ...` over the key columns.
fn keys_match(c: &mut Compiler, model: &Model, keys: &[usize]) {
    for (k, &i) in keys.iter().enumerate() {
        if k > 0 {
            c.push(" AND ");
        }
        c.ident(model.table());
        c.push(".");
        c.ident(model.columns()[i].name());
        c.push(" = \"v\".");
        c.ident(model.columns()[i].name());
    }
}
