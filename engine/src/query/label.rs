//! Output labels of a select: unique, predictable, mapped back to model columns.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::ident::Ident;

use super::expr::Expr;
use super::select::{OutputColumn, SelectItem};
use super::types::type_of;

/// The label an item asks for: its own, its column's or function's name.
fn base_label(item: &SelectItem) -> Option<&Ident> {
    if let Some(l) = &item.label {
        return Some(l);
    }
    match &item.expr {
        Expr::Column(c) => Some(&c.name),
        Expr::Excluded(n) | Expr::Label(n) => Some(n),
        Expr::Func(f) => Some(&f.name),
        _ => None,
    }
}

fn generated(label: &str, i: usize) -> Result<Ident> {
    Ident::new(label).or_else(|_| Ident::new(&format!("col{}", i + 1)))
}

/// Labels, types and origins of `items`, every label unique.
pub(crate) fn output_columns(items: &[SelectItem]) -> Result<Vec<OutputColumn>> {
    let bases: Vec<Option<&Ident>> = items.iter().map(base_label).collect();
    // Selects are small: linear scans beat hashing here.
    let mut used: Vec<Cow<'_, str>> = Vec::with_capacity(items.len());
    for it in items {
        if let Some(l) = &it.label {
            if used.iter().any(|u| u == l.as_str()) {
                return Err(Error::InvalidState(format!(
                    "two output columns are labelled `{l}`"
                )));
            }
            used.push(Cow::Borrowed(l.as_str()));
        }
    }
    let shared = |name: &str| {
        bases
            .iter()
            .flatten()
            .filter(|b| b.as_str() == name)
            .count()
            > 1
    };
    // Explicit labels keep their names; others are qualified when shared and get
    // a numeric suffix on any remaining clash.
    let mut out = Vec::with_capacity(items.len());
    for (i, (it, base)) in items.iter().zip(&bases).enumerate() {
        let label = match (&it.label, base) {
            (Some(l), _) => l.clone(),
            (None, Some(b)) if !shared(b.as_str()) && !used.iter().any(|u| u == b.as_str()) => {
                used.push(Cow::Borrowed(b.as_str()));
                (*b).clone()
            }
            (None, _) => {
                let wanted = match (&it.expr, base) {
                    (Expr::Column(c), _) if c.qualifier.is_some() => {
                        format!(
                            "{}_{}",
                            c.qualifier.as_ref().map_or("", Ident::as_str),
                            c.name
                        )
                    }
                    (_, Some(b)) => b.as_str().to_owned(),
                    _ => format!("col{}", i + 1),
                };
                let mut candidate = wanted.clone();
                let mut n = 2;
                while used.iter().any(|u| *u == candidate) {
                    candidate = format!("{wanted}_{n}");
                    n += 1;
                }
                let id = generated(&candidate, i)?;
                used.push(Cow::Owned(candidate));
                id
            }
        };
        let (origin, qualifier) = match &it.expr {
            Expr::Column(c) => (c.origin.clone(), c.qualifier.clone()),
            _ => (None, None),
        };
        out.push(OutputColumn {
            label,
            ty: type_of(&it.expr),
            origin,
            qualifier,
        });
    }
    Ok(out)
}
