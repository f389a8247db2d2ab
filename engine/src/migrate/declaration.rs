//! A live schema as model declarations: the data a writer turns into the
//! `db:model{...}` text of a script language (`dbridge-repl models dump`).
//!
//! This module writes no script text (the engine knows no scripting
//! language): [`SchemaSnapshot::declarations`] gives [`ModelDeclaration`]s,
//! ordered so that a model comes after the models it references, each with
//! what a declaration can say and no more than it must: a constraint or
//! index name only when it is not the one dbridge would give, an identity
//! only when it is not the one a declared key implies. What a declaration
//! cannot hold (CHECK constraints, partial and expression indexes, generated
//! columns, defaults that are neither constants nor clocks) is listed in
//! [`ModelDeclaration::notes`] for the writer to print as comments.
//! Relationships are those reflection gives (see `reflect_relations.rs`).

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::ident::Ident;
use crate::schema::{
    Identity, ReferentialAction, RelationshipKind, ServerDefault, constraint_name,
};
use crate::value::{SqlType, Value};

use super::reflect::default_of;
use super::reflect_relations::derive;
use super::snapshot::{ColumnSnapshot, IndexPart, SchemaSnapshot, TableSnapshot};

/// One model to declare, named after its table.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDeclaration {
    /// The model's name (its table's).
    pub name: String,
    /// Its table.
    pub table: String,
    /// Its columns in order.
    pub columns: Vec<ColumnDeclaration>,
    /// Indexes (also unique indexes that are not constraints).
    pub indexes: Vec<IndexDeclaration>,
    /// UNIQUE constraints.
    pub uniques: Vec<IndexDeclaration>,
    /// Foreign keys a column's `references` cannot say (composite or named).
    pub foreign_keys: Vec<ForeignKeyDeclaration>,
    /// Relationships.
    pub relations: Vec<RelationDeclaration>,
    /// What the table has that a declaration cannot hold, one line each.
    pub notes: Vec<String>,
}

/// A column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDeclaration {
    /// Its name.
    pub name: String,
    /// Its type as declarations spell it ([`SqlType::declaration`]).
    pub ty: String,
    /// Part of the primary key.
    pub primary_key: bool,
    /// NOT NULL, outside the primary key (which implies it).
    pub not_null: bool,
    /// A constant server default.
    pub default: Option<Value>,
    /// A clock server default: `now` or `current_date`.
    pub server_default: Option<&'static str>,
    /// The identity to declare when it is not the implied one: `Some(None)`
    /// for none at all (`identity = false`).
    pub identity: Option<Option<Identity>>,
    /// A single-column foreign key with dbridge's name: `"table.column"`.
    pub references: Option<String>,
    /// Its ON DELETE, when not NO ACTION.
    pub on_delete: Option<&'static str>,
    /// Its ON UPDATE, when not NO ACTION.
    pub on_update: Option<&'static str>,
}

/// An index or a UNIQUE constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDeclaration {
    /// Its columns in order.
    pub columns: Vec<String>,
    /// Its name, when not the one dbridge would give.
    pub name: Option<String>,
    /// A unique index.
    pub unique: bool,
}

/// A foreign key declared on the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKeyDeclaration {
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub references: String,
    /// The referenced columns.
    pub ref_columns: Vec<String>,
    /// Its name, when not the one dbridge would give.
    pub name: Option<String>,
    /// ON DELETE, when not NO ACTION.
    pub on_delete: Option<&'static str>,
    /// ON UPDATE, when not NO ACTION.
    pub on_update: Option<&'static str>,
}

/// A relationship.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationDeclaration {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: RelationshipKind,
    /// The target model.
    pub target: String,
    /// The column that picks the foreign key.
    pub foreign_key: Option<String>,
    /// The mirror on the target.
    pub back_populates: Option<String>,
}

/// The declarations of a schema and the tables that cannot be declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Declarations {
    /// The models, each after those it references (cycles in name order).
    pub models: Vec<ModelDeclaration>,
    /// Tables left out, with the reason.
    pub left_out: Vec<(String, String)>,
    /// Relationships left out by the naming rule: `(table, name, why)`.
    pub relationships_left_out: Vec<(String, String, String)>,
}

impl SchemaSnapshot {
    /// The tables as model declarations (see the module notes).
    pub fn declarations(&self) -> Declarations {
        let mut left_out = Vec::new();
        let typed: Vec<&TableSnapshot> = self
            .tables
            .iter()
            .filter(|t| match t.columns.iter().find(|c| c.sql_type.is_none()) {
                Some(c) => {
                    left_out.push((
                        t.name.as_str().to_owned(),
                        format!(
                            "column `{}` has type {}, which dbridge cannot read",
                            c.name, c.ty
                        ),
                    ));
                    false
                }
                None => true,
            })
            .collect();
        let (relations, relationships_left_out) = derive(&typed);
        let models = dependency_order(&typed)
            .into_iter()
            .map(|t| {
                let mut m = model(t, self);
                m.relations = relations
                    .get(t.name.as_str())
                    .into_iter()
                    .flatten()
                    .map(|d| RelationDeclaration {
                        name: d.name.clone(),
                        kind: d.relationship.kind,
                        target: d.relationship.target.clone(),
                        foreign_key: d.relationship.foreign_key.clone(),
                        back_populates: d.relationship.back_populates.clone(),
                    })
                    .collect();
                m
            })
            .collect();
        Declarations {
            models,
            left_out,
            relationships_left_out,
        }
    }
}

/// Tables after those they reference (self-references ignored); a cycle is
/// broken by taking the first remaining table by name.
fn dependency_order<'a>(tables: &[&'a TableSnapshot]) -> Vec<&'a TableSnapshot> {
    let names: HashSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let mut deps: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for t in tables {
        let d = t
            .foreign_keys
            .iter()
            .map(|fk| fk.ref_table.as_str())
            .filter(|r| *r != t.name.as_str() && names.contains(r))
            .collect();
        deps.insert(t.name.as_str(), d);
    }
    let mut remaining: Vec<&TableSnapshot> = tables.to_vec();
    remaining.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Vec::with_capacity(remaining.len());
    let mut done: HashSet<&str> = HashSet::new();
    while !remaining.is_empty() {
        let pos = remaining
            .iter()
            .position(|t| {
                deps.get(t.name.as_str())
                    .is_none_or(|d| d.iter().all(|x| done.contains(x)))
            })
            .unwrap_or(0);
        let t = remaining.remove(pos);
        done.insert(t.name.as_str());
        out.push(t);
    }
    out
}

fn action(a: ReferentialAction) -> Option<&'static str> {
    match a {
        ReferentialAction::NoAction => None,
        ReferentialAction::Restrict => Some("restrict"),
        ReferentialAction::Cascade => Some("cascade"),
        ReferentialAction::SetNull => Some("set null"),
        ReferentialAction::SetDefault => Some("set default"),
    }
}

/// `name` unless it is the one dbridge gives (`prefix_table_parts...`).
fn unless_default(name: &Ident, prefix: &str, parts: &[&str]) -> Option<String> {
    match constraint_name(prefix, parts) {
        Ok(n) if &n == name => None,
        _ => Some(name.as_str().to_owned()),
    }
}

fn idents(cols: &[Ident]) -> Vec<String> {
    cols.iter().map(|c| c.as_str().to_owned()).collect()
}

fn model(t: &TableSnapshot, schema: &SchemaSnapshot) -> ModelDeclaration {
    let table = t.name.as_str();
    let mut notes = Vec::new();
    let pk_len = t.primary_key.as_ref().map_or(0, |p| p.columns.len());
    let enums = sqlite_enums(t, schema);
    let mut columns: Vec<ColumnDeclaration> = t
        .columns
        .iter()
        .map(|c| {
            let mut d = column(t, c, pk_len, schema, &mut notes);
            if let Some((_, ty)) = enums.iter().find(|(col, _)| col == c.name.as_str()) {
                d.ty = ty.declaration();
            }
            d
        })
        .collect();
    let mut foreign_keys = Vec::new();
    for fk in &t.foreign_keys {
        let cols = idents(&fk.columns);
        let mut parts = vec![table];
        parts.extend(cols.iter().map(String::as_str));
        parts.push(fk.ref_table.as_str());
        let name = unless_default(&fk.name, "fk", &parts);
        let single = match (cols.as_slice(), fk.ref_columns.as_slice()) {
            ([c], [r]) if name.is_none() => Some((c, r)),
            _ => None,
        };
        match single.and_then(|(c, r)| {
            columns
                .iter_mut()
                .find(|d| &d.name == c && d.references.is_none())
                .map(|d| (d, r))
        }) {
            Some((d, r)) => {
                d.references = Some(format!("{}.{}", fk.ref_table, r));
                d.on_delete = action(fk.on_delete);
                d.on_update = action(fk.on_update);
            }
            None => foreign_keys.push(ForeignKeyDeclaration {
                columns: cols,
                references: fk.ref_table.as_str().to_owned(),
                ref_columns: idents(&fk.ref_columns),
                name,
                on_delete: action(fk.on_delete),
                on_update: action(fk.on_update),
            }),
        }
    }
    let uniques = t
        .uniques
        .iter()
        .map(|u| {
            let cols = idents(&u.columns);
            let mut parts = vec![table];
            parts.extend(cols.iter().map(String::as_str));
            IndexDeclaration {
                name: unless_default(&u.name, "uq", &parts),
                columns: cols,
                unique: true,
            }
        })
        .collect();
    let mut indexes = Vec::new();
    for ix in &t.indexes {
        let cols: Option<Vec<String>> = ix
            .parts
            .iter()
            .map(|p| match p {
                IndexPart::Column(c) => Some(c.as_str().to_owned()),
                IndexPart::Expression(_) => None,
            })
            .collect();
        match cols {
            Some(cols) if ix.filter.is_none() && ix.method.is_none() => {
                let mut parts = vec![table];
                parts.extend(cols.iter().map(String::as_str));
                indexes.push(IndexDeclaration {
                    name: unless_default(&ix.name, "ix", &parts),
                    columns: cols,
                    unique: ix.unique,
                });
            }
            _ => notes.push(format!(
                "index `{}` (partial, on expressions or with a method) is not declared",
                ix.name
            )),
        }
    }
    for ck in &t.checks {
        let is_enum = enums.iter().any(|(col, _)| {
            constraint_name("ck", &[table, col, "enum"]).is_ok_and(|n| n == ck.name)
        });
        if !is_enum {
            notes.push(format!("check `{}` ({}) is not declared", ck.name, ck.expr));
        }
    }
    ModelDeclaration {
        name: table.to_owned(),
        table: table.to_owned(),
        columns,
        indexes,
        uniques,
        foreign_keys,
        relations: Vec::new(),
        notes,
    }
}

/// The enum columns of a SQLite table, told by the CHECK dbridge writes for
/// them (`ck_<table>_<column>_enum`: `"column" IN ('a', 'b')`). SQLite keeps
/// no type name: the enum is named after its column.
fn sqlite_enums(t: &TableSnapshot, schema: &SchemaSnapshot) -> Vec<(String, SqlType)> {
    if schema.backend != crate::error::Backend::Sqlite {
        return Vec::new();
    }
    let mut out = Vec::new();
    for c in &t.columns {
        let Ok(name) = constraint_name("ck", &[t.name.as_str(), c.name.as_str(), "enum"]) else {
            continue;
        };
        let Some(ck) = t.checks.iter().find(|ck| ck.name == name) else {
            continue;
        };
        let labels = ck
            .expr
            .trim()
            .strip_prefix(&format!("{} IN (", c.name.quoted()))
            .and_then(|r| r.strip_suffix(')'));
        if let Some(ty) =
            labels.and_then(|l| format!("enum {}({l})", c.name).parse::<SqlType>().ok())
        {
            out.push((c.name.as_str().to_owned(), ty));
        }
    }
    out
}

fn column(
    t: &TableSnapshot,
    c: &ColumnSnapshot,
    pk_len: usize,
    schema: &SchemaSnapshot,
    notes: &mut Vec<String>,
) -> ColumnDeclaration {
    let mut ty = c.sql_type.clone().unwrap_or(SqlType::Text);
    // An enum type's labels come from the schema's enum types.
    let with_labels = |t: &mut SqlType| {
        if let SqlType::Enum(e) = t
            && e.labels.is_empty()
            && let Some(full) = schema.enum_type(&e.name)
        {
            *t = SqlType::Enum(std::sync::Arc::new(full.clone()));
        }
    };
    match &mut ty {
        SqlType::Array(inner) => with_labels(inner),
        other => with_labels(other),
    }
    let primary_key = t.is_primary_key(c.name.as_str());
    let (mut default, mut server_default) = (None, None);
    if let Some(text) = &c.default {
        match default_of(text) {
            Some(ServerDefault::Value(v)) => default = Some(v),
            Some(d @ ServerDefault::Expr(_)) => server_default = d.clock_keyword(),
            None if c.identity.is_some() => {} // a serial's nextval(...)
            None => notes.push(format!(
                "the default of column `{}` ({text}) is not declared",
                c.name
            )),
        }
    }
    if let Some(g) = &c.generated {
        notes.push(format!(
            "column `{}` is generated ({g}); it is declared as a plain column",
            c.name
        ));
    }
    if schema.backend == crate::error::Backend::Sqlite
        && !(primary_key && c.ty.eq_ignore_ascii_case("integer"))
        && !c
            .ty
            .eq_ignore_ascii_case(&crate::dialect::column_type(schema.backend, &ty))
    {
        notes.push(format!(
            "column `{}` is {} on SQLite, where dbridge declares {} as {}: a check reports the \
             difference (another storage affinity)",
            c.name,
            c.ty,
            ty,
            crate::dialect::column_type(schema.backend, &ty)
        ));
    }
    let carried_default = default.is_some() || server_default.is_some();
    let implied =
        primary_key && pk_len == 1 && ty.is_integer() && !carried_default && c.generated.is_none();
    let identity = match (implied, c.identity) {
        (true, Some(Identity::ByDefault)) | (false, None) => None,
        (_, live) => Some(live),
    };
    ColumnDeclaration {
        name: c.name.as_str().to_owned(),
        ty: ty.declaration(),
        primary_key,
        not_null: !c.nullable && !primary_key,
        default,
        server_default,
        identity,
        references: None,
        on_delete: None,
        on_update: None,
    }
}
