//! SQLite: the pragmas as table-valued functions over `sqlite_master` (one
//! query each for columns, indexes and foreign keys of all tables), and the
//! `CREATE` text for names, CHECK conditions and expressions.

use std::collections::HashMap;

use crate::error::{Backend, Result};
use crate::ident::Ident;
use crate::schema::{Identity, ReferentialAction, constraint_name};
use crate::value::SqlType;

use super::sqlite_sql::{parse_index, parse_table};
use super::{boolean, catalog_ident, int, opt_text, text};
use crate::migrate::snapshot::{
    CheckSnapshot, ColumnSnapshot, ForeignKeySnapshot, IndexPart, IndexSnapshot,
    PrimaryKeySnapshot, SchemaSnapshot, TableSnapshot, UniqueSnapshot,
};

const TABLES: &str = "FROM sqlite_master m WHERE m.type = 'table' \
                      AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

/// The canonical spelling of a declared SQLite type and the type it reads as.
fn sqlite_type(declared: &str) -> (String, Option<SqlType>) {
    let mut ty = declared.split_whitespace().collect::<Vec<_>>().join(" ");
    ty.make_ascii_uppercase();
    if let Some(t) = ty.strip_suffix(" GENERATED ALWAYS") {
        ty = t.to_owned();
    }
    let known = match ty.as_str() {
        "BOOLEAN" => Some(SqlType::Bool),
        "SMALLINT" => Some(SqlType::Int2),
        "INTEGER" | "INT" => Some(SqlType::Int4),
        "BIGINT" => Some(SqlType::Int8),
        "REAL" => Some(SqlType::Float4),
        "DOUBLE PRECISION" | "DOUBLE" | "FLOAT" => Some(SqlType::Float8),
        "BLOB" => Some(SqlType::Bytea),
        "TEXT" => Some(SqlType::Text),
        other => other.parse().ok(),
    };
    (ty, known)
}

/// A row of `pragma_foreign_key_list`: table, id, referenced table, from, to, on update, on delete.
type FkRow = (String, i64, String, String, Option<String>, String, String);

struct Table {
    snap: TableSnapshot,
    pk: Vec<(i64, Ident)>,
    ok: bool,
}

pub(super) async fn introspect(db: &mut super::Catalog<'_>) -> Result<SchemaSnapshot> {
    let backend = Backend::Sqlite;
    let tables = db
        .fetch_all(
            &format!("SELECT m.name, m.sql {TABLES} ORDER BY m.name"),
            &[],
        )
        .await?;
    let columns = db
        .fetch_all(
            &format!(
                "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden \
                 {TABLES_JOIN} ORDER BY m.name, p.cid",
                TABLES_JOIN = TABLES.replacen(
                    "FROM sqlite_master m",
                    "FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p",
                    1
                )
            ),
            &[],
        )
        .await?;
    let indexes = db
        .fetch_all(
            &format!(
                "SELECT m.name, il.name, il.\"unique\", il.origin, s.sql, \
                 ii.seqno, ii.name \
                 {} ORDER BY m.name, il.name, ii.seqno",
                TABLES.replacen(
                    "FROM sqlite_master m",
                    "FROM sqlite_master m JOIN pragma_index_list(m.name) il \
                     JOIN pragma_index_info(il.name) ii \
                     LEFT JOIN sqlite_master s ON s.type = 'index' AND s.name = il.name",
                    1
                )
            ),
            &[],
        )
        .await?;
    let fks = db
        .fetch_all(
            &format!(
                "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete \
                 {} ORDER BY m.name, f.id, f.seq",
                TABLES.replacen(
                    "FROM sqlite_master m",
                    "FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f",
                    1
                )
            ),
            &[],
        )
        .await?;

    let mut snap = SchemaSnapshot::empty(backend);
    let mut by_name: HashMap<String, Table> = HashMap::new();
    let mut parsed = HashMap::new();
    for row in &tables {
        let name = text(row, 0)?;
        let Some(id) = catalog_ident(&name, backend) else {
            snap.skipped.push(name);
            continue;
        };
        parsed.insert(
            name.clone(),
            parse_table(&opt_text(row, 1)?.unwrap_or_default()),
        );
        by_name.insert(
            name,
            Table {
                snap: TableSnapshot::empty(id),
                pk: Vec::new(),
                ok: true,
            },
        );
    }

    for row in &columns {
        let tname = text(row, 0)?;
        let Some(t) = by_name.get_mut(&tname) else {
            continue;
        };
        let name = text(row, 1)?;
        let Some(id) = catalog_ident(&name, backend) else {
            t.ok = false;
            continue;
        };
        let (ty, sql_type) = sqlite_type(&opt_text(row, 2)?.unwrap_or_default());
        let hidden = int(row, 6)?;
        let generated = if hidden == 2 || hidden == 3 {
            parsed
                .get(&tname)
                .and_then(|p| p.generated.get(&name).cloned())
        } else {
            None
        };
        let pk = int(row, 5)?;
        if pk > 0 {
            t.pk.push((pk, id.clone()));
        }
        t.snap.columns.push(ColumnSnapshot {
            name: id,
            ty,
            sql_type,
            nullable: !boolean(row, 3)?,
            default: opt_text(row, 4)?,
            identity: None,
            generated,
        });
    }

    for t in by_name.values_mut() {
        t.pk.sort_by_key(|(k, _)| *k);
        let cols: Vec<Ident> = t.pk.iter().map(|(_, c)| c.clone()).collect();
        if cols.is_empty() {
            continue;
        }
        if let [only] = cols.as_slice()
            && let Some(c) = t.snap.columns.iter_mut().find(|c| &c.name == only)
            && c.ty == "INTEGER"
        {
            // The rowid alias: generated by the database, never NULL.
            c.identity = Some(Identity::ByDefault);
            c.nullable = false;
            c.sql_type = Some(SqlType::Int8);
        }
        let name = parsed
            .get(t.snap.name.as_str())
            .and_then(|p| p.primary_key_name.as_deref())
            .and_then(|n| catalog_ident(n, backend));
        t.snap.primary_key = Some(PrimaryKeySnapshot {
            name,
            columns: cols,
        });
    }

    // Indexes made by CREATE INDEX (origin `c`); UNIQUE constraints come from the table text.
    let mut current: Option<(String, String)> = None;
    for row in &indexes {
        let (tname, iname) = (text(row, 0)?, text(row, 1)?);
        if text(row, 3)? != "c" {
            continue;
        }
        let Some(t) = by_name.get_mut(&tname) else {
            continue;
        };
        let key = (tname.clone(), iname.clone());
        if current.as_ref() != Some(&key) {
            current = Some(key);
            let Some(id) = catalog_ident(&iname, backend) else {
                t.ok = false;
                continue;
            };
            let (keys, filter) = parse_index(&opt_text(row, 4)?.unwrap_or_default());
            t.snap.indexes.push(IndexSnapshot {
                name: id,
                parts: keys
                    .into_iter()
                    .map(|k| {
                        // `((expr))` as dbridge writes an expression key: `(expr)`.
                        let k = k.trim();
                        let inner = k
                            .strip_prefix('(')
                            .and_then(|x| x.strip_suffix(')'))
                            .filter(|_| crate::migrate::ddl::is_wrapped(k));
                        IndexPart::Expression(inner.unwrap_or(k).trim().to_owned())
                    })
                    .collect(),
                unique: boolean(row, 2)?,
                filter,
                method: None,
            });
        }
        // A key that is a plain column replaces the text read from the DDL.
        let seq = usize::try_from(int(row, 5)?).unwrap_or(usize::MAX);
        let col = opt_text(row, 6)?.and_then(|c| catalog_ident(&c, backend));
        if let (Some(ix), Some(col)) = (t.snap.indexes.last_mut(), col)
            && let Some(part) = ix.parts.get_mut(seq)
        {
            *part = IndexPart::Column(col);
        }
    }

    let mut fk_rows: Vec<FkRow> = Vec::new();
    for row in &fks {
        fk_rows.push((
            text(row, 0)?,
            int(row, 1)?,
            text(row, 2)?,
            text(row, 3)?,
            opt_text(row, 4)?,
            text(row, 5)?,
            text(row, 6)?,
        ));
    }
    let pks: HashMap<String, Vec<Ident>> = by_name
        .iter()
        .filter_map(|(n, t)| Some((n.clone(), t.snap.primary_key.as_ref()?.columns.clone())))
        .collect();
    let mut k = 0;
    while k < fk_rows.len() {
        let (tname, id, ref_table) = (&fk_rows[k].0, fk_rows[k].1, &fk_rows[k].2);
        let group: Vec<_> = fk_rows[k..]
            .iter()
            .take_while(|r| &r.0 == tname && r.1 == id)
            .collect();
        k += group.len();
        let Some(t) = by_name.get_mut(tname) else {
            continue;
        };
        let cols: Option<Vec<Ident>> = group.iter().map(|r| catalog_ident(&r.3, backend)).collect();
        let refs: Option<Vec<Ident>> = match group
            .iter()
            .map(|r| r.4.clone())
            .collect::<Option<Vec<_>>>()
        {
            Some(names) => names.iter().map(|n| catalog_ident(n, backend)).collect(),
            None => pks.get(ref_table).cloned(),
        };
        let (Some(cols), Some(refs), Some(rt)) = (cols, refs, catalog_ident(ref_table, backend))
        else {
            t.ok = false;
            continue;
        };
        let declared = parsed.get(tname).and_then(|p| {
            p.foreign_keys.iter().find(|(_, c, r)| {
                r.eq_ignore_ascii_case(ref_table)
                    && c.len() == cols.len()
                    && c.iter()
                        .zip(&cols)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b.as_str()))
            })
        });
        let name = match declared.and_then(|(n, _, _)| n.as_deref()) {
            Some(n) => catalog_ident(n, backend),
            None => {
                let mut parts = vec![t.snap.name.as_str()];
                parts.extend(cols.iter().map(Ident::as_str));
                parts.push(rt.as_str());
                constraint_name("fk", &parts).ok()
            }
        };
        let Some(name) = name else {
            t.ok = false;
            continue;
        };
        let action = |s: &str| s.parse().unwrap_or(ReferentialAction::NoAction);
        t.snap.foreign_keys.push(ForeignKeySnapshot {
            name,
            columns: cols,
            ref_table: rt,
            ref_columns: refs,
            on_update: action(&group[0].5),
            on_delete: action(&group[0].6),
        });
    }

    for (tname, mut t) in by_name {
        if let Some(p) = parsed.get(&tname) {
            for (n, (name, expr)) in p.checks.iter().enumerate() {
                let id = match name {
                    Some(n) => catalog_ident(n, backend),
                    None => constraint_name("ck", &[tname.as_str(), &n.to_string()]).ok(),
                };
                match id {
                    Some(name) => t.snap.checks.push(CheckSnapshot {
                        name,
                        expr: expr.clone(),
                    }),
                    None => t.ok = false,
                }
            }
            for (name, cols) in &p.uniques {
                let cols: Option<Vec<Ident>> = cols
                    .iter()
                    .map(|c| {
                        t.snap
                            .columns
                            .iter()
                            .find(|x| x.name.as_str().eq_ignore_ascii_case(c))
                            .map(|x| x.name.clone())
                    })
                    .collect();
                let Some(cols) = cols else {
                    t.ok = false;
                    continue;
                };
                let id = match name {
                    Some(n) => catalog_ident(n, backend),
                    None => {
                        let mut parts = vec![tname.as_str()];
                        parts.extend(cols.iter().map(Ident::as_str));
                        constraint_name("uq", &parts).ok()
                    }
                };
                match id {
                    Some(name) => t.snap.uniques.push(UniqueSnapshot {
                        name,
                        columns: cols,
                    }),
                    None => t.ok = false,
                }
            }
        }
        if t.ok {
            snap.tables.push(t.snap);
        } else {
            snap.skipped.push(tname);
        }
    }
    Ok(snap)
}
