//! Declared models as a [`SchemaSnapshot`]: what the database would show once
//! [`Metadata::create_all`] had created them on a backend.

use crate::dialect::{Compiler, column_type, literal};
use crate::error::{Backend, Result};
use crate::query::Expr;
use crate::schema::{ColumnDef, Identity, Metadata, Model, ServerDefault};
use crate::value::SqlType;

use super::snapshot::{
    CheckSnapshot, ColumnSnapshot, ForeignKeySnapshot, IndexPart, IndexSnapshot,
    PrimaryKeySnapshot, SchemaSnapshot, TableSnapshot, UniqueSnapshot,
};

pub(super) fn snapshot(meta: &Metadata, backend: Backend) -> Result<SchemaSnapshot> {
    let mut out = SchemaSnapshot::empty(backend);
    for m in meta.table_models() {
        out.tables.push(table(&m, backend)?);
        if backend == Backend::Postgres {
            for c in m.columns() {
                let ty = c.sql_type().element().unwrap_or(c.sql_type());
                if let SqlType::Enum(e) = ty
                    && !out.enums.iter().any(|x| x.name == e.name)
                {
                    out.enums.push((**e).clone());
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// An expression as DDL text on `backend`; `ty` is the column type it is the
/// default of (SQLite writes `now()` in the stored form of that type).
pub(crate) fn expr_text(backend: Backend, e: &Expr, ty: Option<&SqlType>) -> Result<String> {
    let mut c = Compiler::ddl(backend);
    c.ddl_type = ty.cloned();
    c.expr(e)?;
    Ok(c.sql)
}

fn is_rowid(m: &Model, c: &ColumnDef) -> bool {
    c.identity().is_some() && c.is_primary_key() && m.primary_key().len() == 1
}

fn column(m: &Model, c: &ColumnDef, backend: Backend) -> Result<ColumnSnapshot> {
    let rowid = backend == Backend::Sqlite && is_rowid(m, c);
    let default = match c.server_default() {
        None => None,
        Some(ServerDefault::Value(v)) => Some(literal(backend, v)?),
        Some(ServerDefault::Expr(e)) => {
            Some(format!("({})", expr_text(backend, e, Some(c.sql_type()))?))
        }
    };
    let generated = c
        .generated()
        .map(|g| expr_text(backend, g, None))
        .transpose()?;
    let identity = match (backend, c.identity()) {
        (Backend::Sqlite, Some(_)) if rowid => Some(Identity::ByDefault),
        (Backend::Sqlite, Some(_)) => {
            return Err(crate::Error::Unsupported {
                backend,
                feature: format!(
                    "identity column `{}` of model `{}` outside a single-column integer primary key",
                    c.name(),
                    m.name()
                ),
            });
        }
        (_, id) => id,
    };
    Ok(ColumnSnapshot {
        name: c.name().clone(),
        ty: if rowid {
            "INTEGER".into()
        } else {
            column_type(backend, c.sql_type())
        },
        sql_type: Some(c.sql_type().clone()),
        nullable: c.is_nullable() && !c.is_primary_key(),
        default,
        identity,
        generated,
    })
}

fn table(m: &Model, backend: Backend) -> Result<TableSnapshot> {
    let cols = m.columns();
    let names = |positions: &[usize]| positions.iter().map(|&i| cols[i].name().clone()).collect();
    let columns = cols
        .iter()
        .map(|c| column(m, c, backend))
        .collect::<Result<Vec<_>>>()?;
    let primary_key = (!m.primary_key().is_empty()).then(|| PrimaryKeySnapshot {
        name: Some(m.primary_key_name().clone()),
        columns: names(m.primary_key()),
    });
    let uniques = m
        .uniques()
        .iter()
        .map(|u| UniqueSnapshot {
            name: u.name.clone(),
            columns: names(&u.columns),
        })
        .collect();
    let indexes = m
        .indexes()
        .iter()
        .map(|ix| {
            Ok(IndexSnapshot {
                name: ix.name.clone(),
                parts: ix
                    .columns
                    .iter()
                    .map(|&i| IndexPart::Column(cols[i].name().clone()))
                    .collect(),
                unique: ix.unique,
                filter: ix
                    .filter
                    .as_ref()
                    .map(|f| expr_text(backend, f, None))
                    .transpose()?,
                method: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut checks = m
        .checks()
        .iter()
        .map(|ck| {
            Ok(CheckSnapshot {
                name: ck.name.clone(),
                expr: expr_text(backend, &ck.expr, None)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if backend == Backend::Sqlite {
        // Enum columns are TEXT on SQLite, kept to their labels by a CHECK.
        for c in cols {
            if let SqlType::Enum(e) = c.sql_type() {
                let labels = e
                    .labels
                    .iter()
                    .map(|l| crate::dialect::literal(backend, &crate::Value::from(l.as_str())))
                    .collect::<Result<Vec<_>>>()?;
                checks.push(CheckSnapshot {
                    name: crate::schema::naming_enum_check(m, c)?,
                    expr: format!("{} IN ({})", c.name().quoted(), labels.join(", ")),
                });
            }
        }
    }
    let foreign_keys = m
        .foreign_keys()
        .iter()
        .map(|fk| ForeignKeySnapshot {
            name: fk.name.clone(),
            columns: names(&fk.columns),
            ref_table: fk.table.clone(),
            ref_columns: fk.ref_columns.clone(),
            on_delete: fk.on_delete,
            on_update: fk.on_update,
        })
        .collect();
    Ok(TableSnapshot {
        name: m.table().clone(),
        columns,
        primary_key,
        uniques,
        indexes,
        checks,
        foreign_keys,
    })
}
