//! The relationships reflection derives from foreign keys, so that models of
//! an undeclared database navigate (`track.album`, `album.tracks`).
//!
//! The rule, for a foreign key of table `S` (columns `c1, ...`) to table `T`:
//!
//! - **many-to-one on `S`**: named after the column without its `_id` suffix
//!   (`album_id` -> `album`); a column without that suffix, or a composite
//!   key, names it after the target table (`albums`).
//! - **the reverse on `T`**: named after the source table (`tracks`); when
//!   `S` has several foreign keys to `T`, or `S` is `T` (a self-reference),
//!   `<S>_by_<c1>_<c2>...` (`messages_by_sender_id`). It is one-to-one
//!   (`has_one`) when the foreign key's columns are unique in `S` (its
//!   primary key or a unique constraint or index), one-to-many otherwise.
//! - **clashes are left out, never guessed**: a name equal to a column of its
//!   model, or given twice on one model, or not a valid identifier, is not
//!   made (every candidate of that name on that model is dropped) and listed
//!   with the reason in [`super::Reflected::relationships_left_out`]. A pair
//!   whose both sides are made mirror each other (`back_populates`).
//!
//! Many-to-many relationships are not inferred: an association table is a
//! model with two many-to-one relationships.

use std::collections::{BTreeMap, HashSet};

use crate::ident::Ident;
use crate::schema::Relationship;

use super::snapshot::{ForeignKeySnapshot, IndexPart, TableSnapshot};

/// One relationship reflection makes: its name and declaration (the owner is
/// the table it is listed under).
#[derive(Debug, Clone)]
pub(crate) struct Derived {
    pub(crate) name: String,
    pub(crate) relationship: Relationship,
}

/// A candidate before clashes are resolved.
struct Candidate<'a> {
    owner: &'a str,
    name: String,
    /// The index of the foreign key in `fks`, and which side this is.
    fk: usize,
    forward: bool,
}

/// The relationships of each table (by table name), and those left out as
/// `(table, relationship, why)`.
pub(crate) type Relations = (
    BTreeMap<String, Vec<Derived>>,
    Vec<(String, String, String)>,
);

/// Derives the relationships of `tables` (only foreign keys between them count).
pub(crate) fn derive(tables: &[&TableSnapshot]) -> Relations {
    let known: HashSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let fks: Vec<(&TableSnapshot, &ForeignKeySnapshot)> = tables
        .iter()
        .flat_map(|t| t.foreign_keys.iter().map(move |fk| (*t, fk)))
        .filter(|(_, fk)| known.contains(fk.ref_table.as_str()))
        .collect();
    let mut candidates = Vec::new();
    for (i, (source, fk)) in fks.iter().enumerate() {
        let target = fk.ref_table.as_str();
        candidates.push(Candidate {
            owner: source.name.as_str(),
            name: forward_name(fk),
            fk: i,
            forward: true,
        });
        let siblings = fks
            .iter()
            .filter(|(s, f)| s.name == source.name && f.ref_table == fk.ref_table)
            .count();
        let reverse = if siblings == 1 && source.name.as_str() != target {
            source.name.as_str().to_owned()
        } else {
            format!("{}_by_{}", source.name, join(&fk.columns))
        };
        candidates.push(Candidate {
            owner: target,
            name: reverse,
            fk: i,
            forward: false,
        });
    }
    let table_of = |name: &str| tables.iter().find(|t| t.name.as_str() == name).copied();
    let mut left_out = Vec::new();
    let kept: Vec<bool> = candidates
        .iter()
        .map(|c| {
            let why = clash(c, &candidates, table_of(c.owner));
            if let Some(why) = &why {
                left_out.push((c.owner.to_owned(), c.name.clone(), why.clone()));
            }
            why.is_none()
        })
        .collect();
    let mut out: BTreeMap<String, Vec<Derived>> = BTreeMap::new();
    for (k, c) in candidates.iter().enumerate() {
        if !kept[k] {
            continue;
        }
        let (source, fk) = fks[c.fk];
        // The other side of the pair: the candidate next to this one.
        let mirror = if c.forward { k + 1 } else { k - 1 };
        let back = kept[mirror].then(|| candidates[mirror].name.clone());
        match declaration(c.forward, source, fk, &fks, back) {
            Ok(relationship) => out.entry(c.owner.to_owned()).or_default().push(Derived {
                name: c.name.clone(),
                relationship,
            }),
            Err(why) => left_out.push((c.owner.to_owned(), c.name.clone(), why)),
        }
    }
    (out, left_out)
}

fn join(columns: &[Ident]) -> String {
    columns
        .iter()
        .map(Ident::as_str)
        .collect::<Vec<_>>()
        .join("_")
}

/// `album_id` -> `album`; otherwise the target table's name.
fn forward_name(fk: &ForeignKeySnapshot) -> String {
    match fk.columns.as_slice() {
        [c] if c.as_str().len() > 3 && c.as_str().ends_with("_id") => {
            c.as_str()[..c.as_str().len() - 3].to_owned()
        }
        _ => fk.ref_table.as_str().to_owned(),
    }
}

/// Why candidate `c` cannot be made, if it cannot.
fn clash(c: &Candidate, all: &[Candidate], owner: Option<&TableSnapshot>) -> Option<String> {
    if Ident::new(&c.name).is_err() {
        return Some(format!("`{}` is not a valid identifier", c.name));
    }
    if owner.is_some_and(|t| t.column(&c.name).is_some()) {
        return Some(format!("the table has a column named `{}`", c.name));
    }
    let same = all
        .iter()
        .filter(|o| o.owner == c.owner && o.name == c.name)
        .count();
    (same > 1).then(|| format!("{same} foreign keys would name a relationship `{}`", c.name))
}

/// Whether `columns` are unique in `t` (its primary key, a unique
/// constraint or a unique index on exactly those columns).
fn unique_in(t: &TableSnapshot, columns: &[Ident]) -> bool {
    let want: HashSet<&str> = columns.iter().map(Ident::as_str).collect();
    let same = |cols: &mut dyn Iterator<Item = &str>| {
        let got: HashSet<&str> = cols.collect();
        got == want
    };
    t.primary_key
        .as_ref()
        .is_some_and(|pk| same(&mut pk.columns.iter().map(Ident::as_str)))
        || t.uniques
            .iter()
            .any(|u| same(&mut u.columns.iter().map(Ident::as_str)))
        || t.indexes.iter().any(|ix| {
            ix.unique
                && ix.filter.is_none()
                && ix.parts.len() == want.len()
                && ix.parts.iter().all(|p| match p {
                    IndexPart::Column(c) => want.contains(c.as_str()),
                    IndexPart::Expression(_) => false,
                })
        })
}

/// The declaration of one side: joined through a column of the foreign key
/// that no other foreign key between the two tables has (so that it picks
/// this one).
fn declaration(
    forward: bool,
    source: &TableSnapshot,
    fk: &ForeignKeySnapshot,
    fks: &[(&TableSnapshot, &ForeignKeySnapshot)],
    back: Option<String>,
) -> Result<Relationship, String> {
    let others: Vec<&ForeignKeySnapshot> = fks
        .iter()
        .filter(|(s, f)| s.name == source.name && f.ref_table == fk.ref_table && *f != fk)
        .map(|(_, f)| *f)
        .collect();
    let column = fk
        .columns
        .iter()
        .find(|c| others.iter().all(|o| !o.columns.contains(c)))
        .ok_or_else(|| {
            format!(
                "foreign key `{}` shares all its columns with another foreign key to `{}`",
                fk.name, fk.ref_table
            )
        })?;
    let rel = if forward {
        Relationship::belongs_to(fk.ref_table.as_str())
    } else if unique_in(source, &fk.columns) {
        Relationship::has_one(source.name.as_str())
    } else {
        Relationship::has_many(source.name.as_str())
    };
    let rel = rel.foreign_key(column.as_str());
    Ok(match back {
        Some(b) => rel.back_populates(b),
        None => rel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ReferentialAction;

    fn id(s: &str) -> Ident {
        Ident::new(s).unwrap()
    }

    fn table(name: &str, columns: &[&str], fks: &[(&[&str], &str)]) -> TableSnapshot {
        TableSnapshot {
            name: id(name),
            columns: columns
                .iter()
                .map(|c| super::super::snapshot::ColumnSnapshot {
                    name: id(c),
                    ty: "bigint".into(),
                    sql_type: Some(crate::SqlType::Int8),
                    nullable: true,
                    default: None,
                    identity: None,
                    generated: None,
                })
                .collect(),
            primary_key: Some(super::super::snapshot::PrimaryKeySnapshot {
                name: None,
                columns: vec![id(columns[0])],
            }),
            uniques: vec![],
            indexes: vec![],
            checks: vec![],
            foreign_keys: fks
                .iter()
                .enumerate()
                .map(|(i, (cols, to))| ForeignKeySnapshot {
                    name: id(&format!("fk_{name}_{i}")),
                    columns: cols.iter().map(|c| id(c)).collect(),
                    ref_table: id(to),
                    ref_columns: vec![id("id")],
                    on_delete: ReferentialAction::NoAction,
                    on_update: ReferentialAction::NoAction,
                })
                .collect(),
        }
    }

    fn names(r: &Relations, t: &str) -> Vec<String> {
        r.0.get(t)
            .map(|v| v.iter().map(|d| d.name.clone()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn names_follow_the_columns_and_the_source_table() {
        let albums = table("albums", &["id", "title"], &[]);
        let tracks = table("tracks", &["id", "album_id"], &[(&["album_id"], "albums")]);
        let r = derive(&[&albums, &tracks]);
        assert_eq!(names(&r, "tracks"), ["album"]);
        assert_eq!(names(&r, "albums"), ["tracks"]);
        assert!(r.1.is_empty());
    }

    #[test]
    fn two_keys_to_one_table_and_self_references_name_the_column() {
        let users = table(
            "users",
            &["id", "manager_id"],
            &[(&["manager_id"], "users")],
        );
        let messages = table(
            "messages",
            &["id", "sender_id", "recipient_id"],
            &[(&["sender_id"], "users"), (&["recipient_id"], "users")],
        );
        let r = derive(&[&messages, &users]);
        assert_eq!(names(&r, "messages"), ["sender", "recipient"]);
        assert_eq!(
            names(&r, "users"),
            [
                "messages_by_sender_id",
                "messages_by_recipient_id",
                "manager",
                "users_by_manager_id"
            ]
        );
    }

    #[test]
    fn clashes_are_left_out_with_a_reason() {
        let albums = table("albums", &["id", "tracks"], &[]);
        let tracks = table(
            "tracks",
            &["id", "album", "album_id"],
            &[(&["album_id"], "albums")],
        );
        let r = derive(&[&albums, &tracks]);
        assert!(names(&r, "tracks").is_empty());
        assert!(names(&r, "albums").is_empty());
        assert_eq!(r.1.len(), 2);
        assert!(r.1[0].2.contains("column named `album`"), "{:?}", r.1);
    }
}
