//! Carries out a flush plan: statements per step, keys and server defaults
//! written back, instance events fired around each row.
//!
//! Inserts of one model go in one multi-row `INSERT ... RETURNING` per batch
//! (`UNNEST` arrays on PostgreSQL past the bulk threshold): RETURNING gives
//! back the primary key and every column the database filled in. Returned
//! rows are matched to instances by primary key when the instances know it,
//! else, for a generated integer key, in key order (the database numbers the
//! rows in the order they are inserted); any other generated key is inserted
//! row by row.

use std::collections::HashMap;

use super::flush::flush_error;
use super::identity::IdentityKey;
use super::instance::referenced_values;
use super::unit_of_work::{Link, Plan, Row, Step};
use super::{Instance, InstanceState, Session};
use crate::db::Transaction;
use crate::dialect::{Compile, param_limit};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::query::{Delete, Expr, Insert, Update};
use crate::schema::{Model, TablePart};
use crate::value::Value;

/// The instances one flush writes.
#[derive(Default)]
pub(crate) struct Work {
    pub(crate) inserts: Vec<Instance>,
    pub(crate) updates: Vec<Instance>,
    pub(crate) deletes: Vec<Instance>,
}

pub(crate) async fn run(
    s: &mut Session,
    tx: &mut Transaction,
    work: &Work,
    plan: Plan,
) -> Result<()> {
    let mut updates: Vec<&Instance> = Vec::new();
    for step in &plan.steps {
        if let Step::Update(u) = step {
            updates.push(&work.updates[*u]);
            continue;
        }
        if !updates.is_empty() {
            update_all(s, tx, &std::mem::take(&mut updates)).await?;
        }
        match step {
            Step::Insert { model, rows } => {
                let rows: Vec<(&Instance, &[usize])> = rows
                    .iter()
                    .map(|&r| (&work.inserts[r], plan.deferred[r].as_slice()))
                    .collect();
                insert(s, tx, &plan.models[*model], &rows).await?;
            }
            Step::Update(_) => {}
            Step::PostUpdate { row, links } => {
                let inst = match row {
                    Row::Insert(i) => &work.inserts[*i],
                    Row::Update(u) => &work.updates[*u],
                };
                post_update(tx, inst, links, &work.inserts)
                    .await
                    .map_err(|e| flush_error(&inst.describe(), e))?;
            }
            Step::Delete { model, rows } => {
                let rows: Vec<&Instance> = rows.iter().map(|&r| &work.deletes[r]).collect();
                delete(s, tx, &plan.models[*model], &rows).await?;
            }
        }
    }
    update_all(s, tx, &updates).await
}

fn batch_label(rows: &[&Instance]) -> String {
    match rows {
        [] => String::new(),
        [one] => one.describe(),
        [first, rest @ ..] => format!("{} and {} more", first.describe(), rest.len()),
    }
}

fn name(model: &Model, i: usize) -> &str {
    model.columns()[i].name().as_str()
}

fn pk_filter(model: &Model, values: &[Value]) -> Result<Vec<Expr>> {
    model
        .primary_key()
        .iter()
        .zip(values)
        .map(|(&i, v)| Ok(model.col(name(model, i))?.eq(v.clone())))
        .collect()
}

/// One row to insert: its instance and its values for the database.
struct Prepared<'a> {
    inst: &'a Instance,
    row: Vec<Value>,
}

/// Fills foreign keys, version, client defaults; returns the columns left to
/// the database and the row. An attribute the script did not set is left out
/// of the INSERT, as SQLAlchemy does, so that the table's server default
/// applies even when the model does not declare it; `insert_group` reads its
/// value back with RETURNING.
fn prepare_insert(
    s: &Session,
    model: &Model,
    inst: &Instance,
    deferred: &[usize],
) -> Result<(Vec<bool>, Vec<Value>)> {
    let validators = s.opts.registry.validators();
    let mut d = inst.write();
    let mut null_cols = Vec::new();
    for (fk, target) in std::mem::take(&mut d.links) {
        let cols = &model.foreign_keys()[fk].columns;
        if deferred.contains(&fk) {
            null_cols.extend(cols.iter().copied());
            continue;
        }
        let values = referenced_values(model, fk, &target)?
            .ok_or_else(|| Error::InvalidState(format!("{} has no key yet", target.describe())))?;
        for (&c, v) in cols.iter().zip(values) {
            d.set_value(c, v);
        }
    }
    if let Some(vc) = s.opts.registry.version_of(model)
        && d.values[vc].as_ref().is_none_or(Value::is_null)
    {
        let first = crate::validate::coerce(model, vc, Value::Int8(1))?;
        d.set_value(vc, first);
    }
    let columns = model.columns();
    for (i, c) in columns.iter().enumerate() {
        if d.values[i].is_none()
            && c.generated().is_none()
            && let Some(f) = c.default_factory()
        {
            let v = validators.db_value_of(model, i, f())?;
            let v = validators.loaded_value(model, i, v)?;
            d.set_value(i, v);
        }
    }
    let mut omitted = vec![false; columns.len()];
    let mut row = Vec::with_capacity(columns.len());
    for (i, c) in columns.iter().enumerate() {
        // Omitted columns keep a NULL place: the row is as wide as the model.
        if c.generated().is_some() {
            omitted[i] = true;
            row.push(Value::Null);
        } else if null_cols.contains(&i) {
            row.push(Value::Null);
        } else {
            match &d.values[i] {
                Some(v) => row.push(validators.db_value_of(model, i, v.clone())?),
                // Unset: the table's default applies (declared or not), and
                // RETURNING reads it back.
                None => {
                    omitted[i] = true;
                    row.push(Value::Null);
                }
            }
        }
    }
    for &i in &null_cols {
        // What the insert writes as NULL is known: the instance reads NULL.
        d.set_value(i, Value::Null);
    }
    Ok((omitted, row))
}

async fn insert(
    s: &mut Session,
    tx: &mut Transaction,
    model: &Model,
    rows: &[(&Instance, &[usize])],
) -> Result<()> {
    for (inst, _) in rows {
        s.fire_for(EventKind::BeforeInsert, inst, model)?;
    }
    // Rows grouped by the columns they leave to the database.
    let mut groups: Vec<(Vec<bool>, Vec<Prepared<'_>>)> = Vec::new();
    for (inst, deferred) in rows {
        let (omitted, row) = prepare_insert(s, model, inst, deferred)
            .map_err(|e| flush_error(&inst.describe(), e))?;
        match groups.iter_mut().find(|(o, _)| *o == omitted) {
            Some((_, g)) => g.push(Prepared { inst, row }),
            None => groups.push((omitted, vec![Prepared { inst, row }])),
        }
    }
    let pk = model.primary_key();
    let parts = table_parts(model)?;
    for (omitted, group) in groups {
        // A joined-table subclass's parent rows first: they give the key
        // the child rows copy.
        for (k, part) in parts.iter().enumerate() {
            let child = k > 0;
            let pk_known = child || pk.iter().all(|&i| !omitted[i]);
            let by_order =
                !pk_known && pk.len() == 1 && model.columns()[pk[0]].sql_type().is_integer();
            // A row that sets no column is `DEFAULT VALUES`: one row a statement.
            let sets_some = child || part.columns.iter().any(|&i| !omitted[i]);
            let target = Target { model, part, child };
            if sets_some && (pk_known || by_order) {
                insert_group(s, tx, &target, &omitted, &group, pk_known).await?;
            } else {
                for p in &group {
                    insert_group(s, tx, &target, &omitted, std::slice::from_ref(p), false).await?;
                }
            }
        }
    }
    for (inst, _) in rows {
        s.fire_for(EventKind::AfterInsert, inst, model)?;
    }
    Ok(())
}

/// The parts of a model's tables (one unless it is a joined-table subclass).
fn table_parts(model: &Model) -> Result<Vec<TablePart>> {
    if model.is_joined() {
        return model.table_parts();
    }
    Ok(vec![TablePart {
        table: model.clone(),
        columns: (0..model.columns().len()).collect(),
    }])
}

/// Where an insert of a class's rows goes: one of its tables.
struct Target<'a> {
    model: &'a Model,
    part: &'a TablePart,
    /// A joined-table subclass's table (its key is the parent row's).
    child: bool,
}

async fn insert_group(
    s: &mut Session,
    tx: &mut Transaction,
    target: &Target<'_>,
    omitted: &[bool],
    group: &[Prepared<'_>],
    pk_known: bool,
) -> Result<()> {
    let model = target.model;
    let columns = model.columns();
    let is_key = |i: usize| columns[i].is_primary_key();
    let omitted: Vec<bool> = (0..columns.len())
        .map(|i| omitted[i] && !(target.child && is_key(i)))
        .collect();
    let written: Vec<usize> = target
        .part
        .columns
        .iter()
        .copied()
        .filter(|&i| !omitted[i])
        .collect();
    let names: Vec<&str> = written.iter().map(|&i| name(model, i)).collect();
    // Returned: the key unless known, and what the database fills in.
    // (with the key, to match the rows to the instances).
    let returned: Vec<usize> = if target.part.columns.iter().any(|&i| omitted[i]) || !pk_known {
        target
            .part
            .columns
            .iter()
            .copied()
            .filter(|&i| omitted[i] || is_key(i))
            .collect()
    } else {
        Vec::new()
    };
    let instances: Vec<&Instance> = group.iter().map(|p| p.inst).collect();
    let label = || batch_label(&instances);
    let validators = s.opts.registry.validators().clone();
    let mut rows = Vec::with_capacity(group.len());
    for p in group {
        let d = p.inst.read();
        let row = written
            .iter()
            .map(|&i| match &d.values[i] {
                // A child row's key: the parent row's, known by now.
                Some(v) if target.child && is_key(i) => validators.db_value_of(model, i, v.clone()),
                _ => Ok(p.row[i].clone()),
            })
            .collect::<Result<Vec<_>>>()?;
        rows.push(row);
    }
    let table = &target.part.table;
    let mut ins = Insert::into(table)
        .columns(names)
        .map_err(|e| flush_error(&label(), e))?;
    ins = ins.rows(rows).map_err(|e| flush_error(&label(), e))?;
    if !returned.is_empty() {
        let exprs = returned
            .iter()
            .map(|&i| table.col(name(model, i)))
            .collect::<Result<Vec<_>>>()?;
        ins = ins.returning(exprs);
    }
    let compiled = ins
        .compile_batches(tx.backend())
        .map_err(|e| flush_error(&label(), e))?;
    let mut out_rows = Vec::new();
    for c in compiled {
        if returned.is_empty() {
            tx.execute_statement(&c.statement)
                .await
                .map_err(|e| flush_error(&label(), e))?;
        } else {
            let rows = tx
                .fetch_all_statement(c.statement)
                .await
                .map_err(|e| flush_error(&label(), e))?;
            out_rows.extend(rows.into_iter().map(crate::db::Row::into_values));
        }
    }
    let mut returned_values: Vec<Option<Vec<Value>>> = vec![None; instances.len()];
    if !returned.is_empty() {
        if out_rows.len() != instances.len() {
            return Err(flush_error(
                &label(),
                Error::InvalidState(format!(
                    "the insert returned {} row(s) for {} instance(s)",
                    out_rows.len(),
                    instances.len()
                )),
            ));
        }
        if pk_known {
            let mut index: HashMap<IdentityKey, usize> = HashMap::with_capacity(instances.len());
            for (k, inst) in instances.iter().enumerate() {
                if let Some(key) = inst
                    .read()
                    .pk_values()
                    .and_then(|v| IdentityKey::new(model, &v))
                {
                    index.insert(key, k);
                }
            }
            for row in out_rows {
                let pk_vals: Vec<Value> = model
                    .primary_key()
                    .iter()
                    .map(|&i| {
                        let pos = returned.iter().position(|&r| r == i);
                        let v = pos.map(|p| row[p].clone()).unwrap_or(Value::Null);
                        validators.loaded_value(model, i, v)
                    })
                    .collect::<Result<_>>()?;
                let k = IdentityKey::new(model, &pk_vals).and_then(|key| index.get(&key).copied());
                match k {
                    Some(k) => returned_values[k] = Some(row),
                    None => {
                        return Err(flush_error(
                            &label(),
                            Error::InvalidState("the insert returned an unknown key".into()),
                        ));
                    }
                }
            }
        } else {
            let pos = returned
                .iter()
                .position(|&r| columns[r].is_primary_key())
                .unwrap_or(0);
            out_rows.sort_by_key(|r| r[pos].as_i64().unwrap_or(i64::MIN));
            for (k, row) in out_rows.into_iter().enumerate() {
                returned_values[k] = Some(row);
            }
        }
    }
    for (inst, row) in instances.iter().zip(returned_values) {
        let mut d = inst.write();
        if let Some(row) = row {
            for (&i, v) in returned.iter().zip(row) {
                d.values[i] = Some(validators.loaded_value(model, i, v)?);
            }
        }
        d.commit_values();
        d.state = InstanceState::Persistent;
        let key = d
            .pk_values()
            .and_then(|v| IdentityKey::new(model, &v))
            .ok_or_else(|| {
                flush_error(
                    &d.describe(),
                    Error::InvalidState("its primary key is unknown after the insert".into()),
                )
            })?;
        d.key = Some(key.clone());
        drop(d);
        s.map.insert(key, (*inst).clone());
    }
    Ok(())
}

/// One row's UPDATE, prepared: what it sets, and the row it targets.
struct RowUpdate {
    /// (column, value for the instance, value for the database)
    sets: Vec<(usize, Value, Value)>,
    pk: Vec<Value>,
    /// The version column and the loaded version the row must still have.
    version: Option<(usize, Value)>,
}

impl RowUpdate {
    fn columns(&self) -> Vec<usize> {
        self.sets.iter().map(|(i, _, _)| *i).collect()
    }
}

/// Writes foreign keys taken from linked instances, then works out what the
/// UPDATE of `inst` sets; `None` when nothing changed.
fn prepare_update(s: &Session, inst: &Instance, model: &Model) -> Result<Option<RowUpdate>> {
    let label = inst.describe();
    let validators = s.opts.registry.validators();
    let version = s.opts.registry.version_of(model);
    let mut d = inst.write();
    let mut keep = Vec::new();
    for (fk, target) in std::mem::take(&mut d.links) {
        match referenced_values(model, fk, &target)? {
            Some(values) => {
                for (&c, v) in model.foreign_keys()[fk].columns.iter().zip(values) {
                    d.set_value(c, v);
                }
            }
            None => keep.push((fk, target)),
        }
    }
    d.links = keep;
    let changed = d.changed_columns();
    if changed.is_empty() {
        d.modified = false;
        return Ok(None);
    }
    let mut sets = Vec::with_capacity(changed.len() + 1);
    for &i in &changed {
        let v = d.values[i].clone().unwrap_or(Value::Null);
        let db = validators.db_value_of(model, i, v.clone())?;
        sets.push((i, v, db));
    }
    let pk = d.pk_values().ok_or_else(|| {
        flush_error(
            &label,
            Error::InvalidState("its primary key is unknown".into()),
        )
    })?;
    let version = match version {
        None => None,
        Some(vc) => {
            let old = d
                .committed_value(vc)
                .filter(|v| !v.is_null())
                .cloned()
                .ok_or_else(|| {
                    flush_error(
                        &label,
                        Error::InvalidState("its version is not loaded".into()),
                    )
                })?;
            if !changed.contains(&vc) {
                let next = old.as_i64().unwrap_or(0) + 1;
                let next = crate::validate::coerce(model, vc, Value::Int8(next))?;
                sets.push((vc, next.clone(), next));
            }
            Some((vc, old))
        }
    };
    Ok(Some(RowUpdate { sets, pk, version }))
}

/// The instance after its UPDATE: the written values are its new snapshot,
/// generated columns are expired (the database recomputed them).
fn apply_update(inst: &Instance, model: &Model, row: RowUpdate) {
    let mut d = inst.write();
    for (i, v, _) in row.sets {
        d.set_committed_value(i, Some(v));
    }
    for (i, c) in model.columns().iter().enumerate() {
        if c.generated().is_some() {
            d.set_committed_value(i, None);
        }
    }
    d.modified = false;
}

fn stale(label: &str, versioned: bool) -> Error {
    Error::StaleData(format!(
        "the UPDATE of {label} matched no row: it was deleted{} by someone else",
        if versioned { " or changed" } else { "" }
    ))
}

async fn update(s: &mut Session, tx: &mut Transaction, inst: &Instance) -> Result<()> {
    let model = inst.model();
    s.fire_for(EventKind::BeforeUpdate, inst, &model)?;
    let Some(row) = prepare_update(s, inst, &model)? else {
        return Ok(());
    };
    single_update(tx, &model, inst, row).await?;
    s.fire_for(EventKind::AfterUpdate, inst, &model)
}

/// Updates of a run of consecutive plan steps. On PostgreSQL, the rows of one
/// model that set the same columns go in one `UPDATE ... FROM UNNEST(...)`
/// (the `before_update` listeners of the batch run first, the `after_update`
/// ones after it); elsewhere, and for versioned models, one UPDATE a row.
async fn update_all(s: &mut Session, tx: &mut Transaction, insts: &[&Instance]) -> Result<()> {
    if tx.backend() != crate::error::Backend::Postgres || insts.len() < 2 {
        for inst in insts {
            update(s, tx, inst).await?;
        }
        return Ok(());
    }
    // Models in order of first appearance, with their instances.
    let mut by_model: Vec<(Model, Vec<&Instance>)> = Vec::new();
    for inst in insts {
        let model = inst.model();
        match by_model.iter_mut().find(|(m, _)| m.ptr_eq(&model)) {
            Some((_, v)) => v.push(inst),
            None => by_model.push((model, vec![inst])),
        }
    }
    for (model, group) in by_model {
        if group.len() < 2 || s.opts.registry.version_of(&model).is_some() || model.is_joined() {
            for inst in group {
                update(s, tx, inst).await?;
            }
            continue;
        }
        update_batch(s, tx, &model, &group).await?;
    }
    Ok(())
}

/// Rows of one batch that set the same columns: the columns, the rows.
type ColumnGroup<'a> = (Vec<usize>, Vec<(&'a Instance, RowUpdate)>);

async fn update_batch(
    s: &mut Session,
    tx: &mut Transaction,
    model: &Model,
    group: &[&Instance],
) -> Result<()> {
    for inst in group {
        s.fire_for(EventKind::BeforeUpdate, inst, model)?;
    }
    // Rows grouped by the columns they set, in first-appearance order.
    let mut by_columns: Vec<ColumnGroup<'_>> = Vec::new();
    for inst in group {
        let Some(row) = prepare_update(s, inst, model)? else {
            continue;
        };
        let cols = row.columns();
        match by_columns.iter_mut().find(|(c, _)| *c == cols) {
            Some((_, v)) => v.push((inst, row)),
            None => by_columns.push((cols, vec![(inst, row)])),
        }
    }
    let keys = model.primary_key();
    let arrays = |cols: &[usize]| {
        keys.iter().chain(cols).any(|&i| {
            matches!(
                model.columns()[i].sql_type(),
                crate::value::SqlType::Array(_)
            )
        })
    };
    for (cols, rows) in by_columns {
        let key_changes = cols.iter().any(|c| keys.contains(c));
        if rows.len() < 2 || key_changes || arrays(&cols) {
            for (inst, row) in rows {
                single_update(tx, model, inst, row).await?;
            }
            continue;
        }
        let instances: Vec<&Instance> = rows.iter().map(|(inst, _)| *inst).collect();
        let label = batch_label(&instances);
        let values = rows
            .iter()
            .map(|(_, r)| {
                r.pk.iter()
                    .cloned()
                    .chain(r.sets.iter().map(|(_, _, db)| db.clone()))
                    .collect()
            })
            .collect();
        let stmt = crate::dialect::bulk_update(model, keys, &cols, values)
            .map_err(|e| flush_error(&label, e))?
            .statement;
        let n = tx
            .execute_statement(&stmt)
            .await
            .map_err(|e| flush_error(&label, e))?;
        if n != rows.len() as u64 {
            let missing = first_missing(tx, model, &rows).await?.unwrap_or(label);
            return Err(stale(&missing, false));
        }
        for (inst, row) in rows {
            apply_update(inst, model, row);
        }
    }
    for inst in group {
        s.fire_for(EventKind::AfterUpdate, inst, model)?;
    }
    Ok(())
}

/// The description of the first of `rows` whose row no longer exists (after
/// a batched UPDATE matched fewer rows than it had).
async fn first_missing(
    tx: &mut Transaction,
    model: &Model,
    rows: &[(&Instance, RowUpdate)],
) -> Result<Option<String>> {
    let keys = model.primary_key();
    let pks = rows.iter().map(|(_, r)| r.pk.clone()).collect();
    let stmt = crate::dialect::bulk_keys_found(model, keys, pks)?.statement;
    let seen: std::collections::HashSet<IdentityKey> = tx
        .fetch_all_statement(stmt)
        .await?
        .into_iter()
        .filter_map(|r| IdentityKey::new(model, &r.into_values()))
        .collect();
    Ok(rows
        .iter()
        .find(|(_, r)| IdentityKey::new(model, &r.pk).is_none_or(|k| !seen.contains(&k)))
        .map(|(inst, _)| inst.describe()))
}

/// The UPDATE of one prepared row (its listeners run by the caller): only
/// its changed columns, matched by key (and loaded version, if versioned).
async fn single_update(
    tx: &mut Transaction,
    model: &Model,
    inst: &Instance,
    row: RowUpdate,
) -> Result<()> {
    let label = inst.describe();
    // A joined-table subclass: an UPDATE of each table whose columns changed.
    for part in table_parts(model)? {
        let table = &part.table;
        let sets: Vec<_> = row
            .sets
            .iter()
            .filter(|(i, _, _)| part.columns.contains(i) && !table.primary_key().is_empty())
            .collect();
        if sets.is_empty() {
            continue;
        }
        let mut up = Update::table(table);
        for (i, _, db) in sets {
            up = up.set(name(model, *i), db.clone())?;
        }
        for f in pk_filter(table, &row.pk)? {
            up = up.filter(f);
        }
        let version = row
            .version
            .as_ref()
            .filter(|(vc, _)| part.columns.contains(vc));
        if let Some((vc, old)) = version {
            up = up.filter(table.col(name(model, *vc))?.eq(old.clone()));
        }
        let stmt = up.compile_for(tx.backend())?.statement;
        let n = tx
            .execute_statement(&stmt)
            .await
            .map_err(|e| flush_error(&label, e))?;
        if n == 0 {
            return Err(stale(&label, version.is_some()));
        }
    }
    apply_update(inst, model, row);
    Ok(())
}

async fn post_update(
    tx: &mut Transaction,
    inst: &Instance,
    links: &[Link],
    inserts: &[Instance],
) -> Result<()> {
    let model = inst.model();
    let mut up = Update::table(&model);
    let mut written = Vec::new();
    for l in links {
        let values = referenced_values(&model, l.fk, &inserts[l.target])?.ok_or_else(|| {
            Error::InvalidState(format!("{} has no key yet", inserts[l.target].describe()))
        })?;
        for (&c, v) in model.foreign_keys()[l.fk].columns.iter().zip(values) {
            up = up.set(name(&model, c), v.clone())?;
            written.push((c, v));
        }
    }
    let pk = inst
        .primary_key()
        .ok_or_else(|| Error::InvalidState("its primary key is unknown".into()))?;
    for f in pk_filter(&model, &pk)? {
        up = up.filter(f);
    }
    let stmt = up.compile_for(tx.backend())?.statement;
    if tx.execute_statement(&stmt).await? == 0 {
        return Err(Error::StaleData(format!(
            "the post-update of {} matched no row",
            inst.describe()
        )));
    }
    let mut d = inst.write();
    for (c, v) in written {
        d.set_committed_value(c, Some(v));
    }
    d.links.clear();
    Ok(())
}

async fn delete(
    s: &mut Session,
    tx: &mut Transaction,
    model: &Model,
    rows: &[&Instance],
) -> Result<()> {
    for inst in rows {
        s.fire_for(EventKind::BeforeDelete, inst, model)?;
    }
    let version = s.opts.registry.version_of(model);
    let keys: Vec<Vec<Value>> = rows
        .iter()
        .map(|i| {
            i.read().pk_values().ok_or_else(|| {
                flush_error(
                    &i.describe(),
                    Error::InvalidState("its primary key is unknown".into()),
                )
            })
        })
        .collect::<Result<_>>()?;
    // A joined-table subclass: its own table's row first, its parent's last.
    for part in table_parts(model)?.iter().rev() {
        let version = version.filter(|vc| part.columns.contains(vc));
        delete_rows(tx, model, &part.table, rows, &keys, version).await?;
    }
    for inst in rows {
        {
            let mut d = inst.write();
            d.state = InstanceState::Deleted;
            d.marked_deleted = false;
            if let Some(k) = &d.key {
                s.map.remove(k);
            }
        }
        s.fire_for(EventKind::AfterDelete, inst, model)?;
    }
    Ok(())
}

/// The DELETE of `rows` (of class `model`) from one of its tables.
async fn delete_rows(
    tx: &mut Transaction,
    model: &Model,
    table: &Model,
    rows: &[&Instance],
    keys: &[Vec<Value>],
    version: Option<usize>,
) -> Result<()> {
    if model.primary_key().len() == 1 && version.is_none() {
        let col = table.col(name(model, model.primary_key()[0]))?;
        let chunk = param_limit(tx.backend()) - 1;
        for (k, part) in keys.chunks(chunk).enumerate() {
            let insts = &rows[k * chunk..k * chunk + part.len()];
            let del =
                Delete::from(table).filter(col.clone().in_list(part.iter().map(|v| v[0].clone())));
            let stmt = del.compile_for(tx.backend())?.statement;
            let n = tx
                .execute_statement(&stmt)
                .await
                .map_err(|e| flush_error(&batch_label(insts), e))?;
            if n != part.len() as u64 {
                return Err(Error::StaleData(format!(
                    "the DELETE of {} matched {n} row(s) instead of {}: rows were deleted by someone else",
                    batch_label(insts),
                    part.len()
                )));
            }
        }
    } else {
        for (inst, pk) in rows.iter().zip(keys) {
            let mut del = Delete::from(table);
            for f in pk_filter(table, pk)? {
                del = del.filter(f);
            }
            if let Some(vc) = version {
                let old = inst
                    .read()
                    .committed_value(vc)
                    .cloned()
                    .unwrap_or(Value::Null);
                del = del.filter(table.col(name(model, vc))?.eq(old));
            }
            let stmt = del.compile_for(tx.backend())?.statement;
            let n = tx
                .execute_statement(&stmt)
                .await
                .map_err(|e| flush_error(&inst.describe(), e))?;
            if n == 0 {
                return Err(Error::StaleData(format!(
                    "the DELETE of {} matched no row: it was deleted{} by someone else",
                    inst.describe(),
                    if version.is_some() { " or changed" } else { "" }
                )));
            }
        }
    }
    Ok(())
}
