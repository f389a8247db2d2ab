//! PostgreSQL: the whole schema in five catalog queries (tables, columns,
//! constraints, indexes, enum types), assembled in memory.

use std::collections::HashMap;
use std::sync::Arc;

use crate::db::Row;
use crate::dialect::column_type;
use crate::error::{Backend, Result};
use crate::ident::Ident;
use crate::schema::{Identity, ReferentialAction};
use crate::value::{EnumType, SqlType, Value};

use super::{boolean, catalog_ident, int, int_list, opt_text, text, text_list};
use crate::migrate::snapshot::{
    CheckSnapshot, ColumnSnapshot, ForeignKeySnapshot, IndexPart, IndexSnapshot,
    PrimaryKeySnapshot, SchemaSnapshot, TableSnapshot, UniqueSnapshot,
};

const NAMESPACE: &str = "(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = coalesce($1::text, current_schema()))";

fn tables_sql() -> String {
    format!(
        "SELECT c.oid::int8, c.relname::text FROM pg_catalog.pg_class c \
         WHERE c.relnamespace = {NAMESPACE} AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
    )
}

fn columns_sql() -> String {
    format!(
        "SELECT a.attrelid::int8, a.attnum::int4, a.attname::text, \
         pg_catalog.format_type(a.atttypid, a.atttypmod), t.typtype::text, t.typname::text, \
         a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, \
         a.attgenerated::text \
         FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE c.relnamespace = {NAMESPACE} AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
         AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attrelid, a.attnum"
    )
}

fn constraints_sql() -> String {
    format!(
        "SELECT k.conrelid::int8, k.conname::text, k.contype::text, k.conkey::int4[], \
         r.relname::text, \
         CASE WHEN k.contype = 'f' THEN ARRAY(SELECT fa.attname::text \
              FROM unnest(k.confkey) WITH ORDINALITY u(n, o) \
              JOIN pg_catalog.pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = u.n \
              ORDER BY u.o) END, \
         k.confdeltype::text, k.confupdtype::text, \
         CASE WHEN k.contype = 'c' THEN pg_catalog.pg_get_expr(k.conbin, k.conrelid) END \
         FROM pg_catalog.pg_constraint k \
         JOIN pg_catalog.pg_class c ON c.oid = k.conrelid \
         LEFT JOIN pg_catalog.pg_class r ON r.oid = k.confrelid \
         WHERE c.relnamespace = {NAMESPACE} AND k.contype IN ('p', 'u', 'c', 'f') \
         ORDER BY k.conrelid, k.conname"
    )
}

fn indexes_sql() -> String {
    format!(
        "SELECT x.indrelid::int8, i.relname::text, x.indisunique, \
         x.indkey::int2[]::int4[], x.indnkeyatts::int4, am.amname::text, \
         CASE WHEN x.indpred IS NOT NULL THEN pg_catalog.pg_get_expr(x.indpred, x.indrelid) END, \
         CASE WHEN x.indexprs IS NOT NULL THEN ARRAY(SELECT pg_catalog.pg_get_indexdef(x.indexrelid, g, true) \
              FROM generate_series(1, x.indnkeyatts) g ORDER BY g) END \
         FROM pg_catalog.pg_index x \
         JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid \
         JOIN pg_catalog.pg_class c ON c.oid = x.indrelid \
         JOIN pg_catalog.pg_am am ON am.oid = i.relam \
         WHERE c.relnamespace = {NAMESPACE} AND c.relkind IN ('r', 'p') AND NOT x.indisprimary \
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k \
                         WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid \
                         AND k.contype IN ('p', 'u', 'x')) \
         ORDER BY x.indrelid, i.relname"
    )
}

fn enums_sql() -> String {
    format!(
        "SELECT t.typname::text, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) \
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid \
         WHERE t.typnamespace = {NAMESPACE} GROUP BY t.typname ORDER BY t.typname"
    )
}

fn action(code: &str) -> ReferentialAction {
    match code {
        "r" => ReferentialAction::Restrict,
        "c" => ReferentialAction::Cascade,
        "n" => ReferentialAction::SetNull,
        "d" => ReferentialAction::SetDefault,
        _ => ReferentialAction::NoAction,
    }
}

struct Table {
    snap: TableSnapshot,
    by_attnum: HashMap<i64, Ident>,
    ok: bool,
}

type CatalogRows = (Vec<Row>, Vec<Row>, Vec<Row>, Vec<Row>, Vec<Row>);

/// The five catalog reads: tables, columns, constraints, indexes, enums.
async fn read(from: &mut super::Catalog<'_>, p: &[Value]) -> Result<CatalogRows> {
    let q = [
        tables_sql(),
        columns_sql(),
        constraints_sql(),
        indexes_sql(),
        enums_sql(),
    ];
    match from {
        // Independent reads: run them on several pooled connections at once.
        super::Catalog::Db(db) => tokio::try_join!(
            db.fetch_all(&q[0], p),
            db.fetch_all(&q[1], p),
            db.fetch_all(&q[2], p),
            db.fetch_all(&q[3], p),
            db.fetch_all(&q[4], p),
        ),
        super::Catalog::Tx(tx) => Ok((
            tx.fetch_all(&q[0], p).await?,
            tx.fetch_all(&q[1], p).await?,
            tx.fetch_all(&q[2], p).await?,
            tx.fetch_all(&q[3], p).await?,
            tx.fetch_all(&q[4], p).await?,
        )),
    }
}

pub(super) async fn introspect(
    from: &mut super::Catalog<'_>,
    schema: Option<&str>,
) -> Result<SchemaSnapshot> {
    let p = [schema.map_or(Value::Null, Value::from)];
    let (tables, columns, constraints, indexes, enums) = read(from, &p).await?;
    let backend = Backend::Postgres;
    let mut snap = SchemaSnapshot::empty(backend);
    let mut enum_types: HashMap<String, Arc<EnumType>> = HashMap::new();
    for row in &enums {
        let e = EnumType {
            name: text(row, 0)?,
            labels: text_list(row, 1)?.unwrap_or_default(),
        };
        enum_types.insert(e.name.clone(), Arc::new(e.clone()));
        snap.enums.push(e);
    }

    let mut by_oid: HashMap<i64, Table> = HashMap::with_capacity(tables.len());
    for row in &tables {
        let name = text(row, 1)?;
        let Some(id) = catalog_ident(&name, backend) else {
            snap.skipped.push(name);
            continue;
        };
        by_oid.insert(
            int(row, 0)?,
            Table {
                snap: TableSnapshot::empty(id),
                by_attnum: HashMap::new(),
                ok: true,
            },
        );
    }

    for row in &columns {
        let Some(t) = by_oid.get_mut(&int(row, 0)?) else {
            continue;
        };
        let name = text(row, 2)?;
        let Some(id) = catalog_ident(&name, backend) else {
            t.ok = false;
            continue;
        };
        let formatted = text(row, 3)?;
        let (ty, sql_type) =
            column_type_of(&formatted, &text(row, 4)?, &text(row, 5)?, &enum_types);
        let mut default = opt_text(row, 7)?;
        let identity_code = text(row, 8)?;
        let generated_code = text(row, 9)?;
        let mut identity = match identity_code.as_str() {
            "a" => Some(Identity::Always),
            "d" => Some(Identity::ByDefault),
            _ => None,
        };
        let generated = if generated_code == "s" {
            default.take()
        } else {
            None
        };
        if identity.is_none()
            && default
                .as_deref()
                .is_some_and(|d| d.starts_with("nextval(") && d.ends_with("::regclass)"))
        {
            // A serial column: generated by the database like an identity.
            identity = Some(Identity::ByDefault);
            default = None;
        }
        t.by_attnum.insert(int(row, 1)?, id.clone());
        t.snap.columns.push(ColumnSnapshot {
            name: id,
            ty,
            sql_type,
            nullable: !boolean(row, 6)?,
            default,
            identity,
            generated,
        });
    }

    for row in &constraints {
        let Some(t) = by_oid.get_mut(&int(row, 0)?) else {
            continue;
        };
        let name = text(row, 1)?;
        let Some(id) = catalog_ident(&name, backend) else {
            t.ok = false;
            continue;
        };
        let Some(cols) = names(&t.by_attnum, &int_list(row, 3)?) else {
            t.ok = false;
            continue;
        };
        match text(row, 2)?.as_str() {
            "p" => {
                t.snap.primary_key = Some(PrimaryKeySnapshot {
                    name: Some(id),
                    columns: cols,
                })
            }
            "u" => t.snap.uniques.push(UniqueSnapshot {
                name: id,
                columns: cols,
            }),
            "c" => t.snap.checks.push(CheckSnapshot {
                name: id,
                expr: opt_text(row, 8)?.unwrap_or_default(),
            }),
            _ => {
                let ref_table = opt_text(row, 4)?.and_then(|n| catalog_ident(&n, backend));
                let ref_columns: Option<Vec<Ident>> = text_list(row, 5)?
                    .unwrap_or_default()
                    .iter()
                    .map(|n| catalog_ident(n, backend))
                    .collect();
                let (Some(ref_table), Some(ref_columns)) = (ref_table, ref_columns) else {
                    t.ok = false;
                    continue;
                };
                t.snap.foreign_keys.push(ForeignKeySnapshot {
                    name: id,
                    columns: cols,
                    ref_table,
                    ref_columns,
                    on_delete: action(&text(row, 6)?),
                    on_update: action(&text(row, 7)?),
                });
            }
        }
    }

    for row in &indexes {
        let Some(t) = by_oid.get_mut(&int(row, 0)?) else {
            continue;
        };
        let name = text(row, 1)?;
        let Some(id) = catalog_ident(&name, backend) else {
            t.ok = false;
            continue;
        };
        let mut keys = int_list(row, 3)?;
        keys.truncate(usize::try_from(int(row, 4)?).unwrap_or(0));
        let exprs = text_list(row, 7)?.unwrap_or_default();
        let mut parts = Vec::with_capacity(keys.len());
        for (k, attnum) in keys.iter().enumerate() {
            if *attnum == 0 {
                parts.push(IndexPart::Expression(
                    exprs.get(k).cloned().unwrap_or_default(),
                ));
            } else if let Some(c) = t.by_attnum.get(attnum) {
                parts.push(IndexPart::Column(c.clone()));
            } else {
                t.ok = false;
            }
        }
        let method = text(row, 5)?;
        t.snap.indexes.push(IndexSnapshot {
            name: id,
            parts,
            unique: boolean(row, 2)?,
            filter: opt_text(row, 6)?,
            method: (method != "btree").then_some(method),
        });
    }

    for (_, t) in by_oid {
        if t.ok {
            snap.tables.push(t.snap);
        } else {
            snap.skipped.push(t.snap.name.as_str().to_owned());
        }
    }
    Ok(snap)
}

fn names(by_attnum: &HashMap<i64, Ident>, attnums: &[i64]) -> Option<Vec<Ident>> {
    attnums.iter().map(|n| by_attnum.get(n).cloned()).collect()
}

/// The DDL spelling of a column type, and the [`SqlType`] when dbridge knows it.
fn column_type_of(
    formatted: &str,
    typtype: &str,
    typname: &str,
    enums: &HashMap<String, Arc<EnumType>>,
) -> (String, Option<SqlType>) {
    let known = if typtype == "e" {
        enums.get(typname).map(|e| SqlType::Enum(e.clone()))
    } else if let Some(elem) = typname.strip_prefix('_')
        && let Some(e) = enums.get(elem)
    {
        Some(SqlType::Array(Box::new(SqlType::Enum(e.clone()))))
    } else {
        formatted.parse::<SqlType>().ok()
    };
    match known {
        Some(t) => (column_type(Backend::Postgres, &t), Some(t)),
        None => (formatted.to_owned(), None),
    }
}
