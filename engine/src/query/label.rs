//! Output labels of a select: unique, predictable, mapped back to model columns.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::ident::Ident;

use super::expr::Expr;
use super::select::{OutputColumn, SelectItem};
use super::types::type_of;

fn base_label(item: &SelectItem, i: usize) -> String {
    if let Some(l) = &item.label {
        return l.as_str().to_owned();
    }
    match &item.expr {
        Expr::Column(c) => c.name.as_str().to_owned(),
        Expr::Excluded(n) | Expr::Label(n) => n.as_str().to_owned(),
        Expr::Func(f) => f.name.as_str().to_owned(),
        _ => format!("col{}", i + 1),
    }
}

fn ident_or(label: &str, i: usize) -> Result<Ident> {
    Ident::new(label).or_else(|_| Ident::new(&format!("col{}", i + 1)))
}

/// Labels, types and origins of `items`, every label unique.
pub(crate) fn output_columns(items: &[SelectItem]) -> Result<Vec<OutputColumn>> {
    let bases: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, it)| base_label(it, i))
        .collect();
    let mut explicit = HashSet::new();
    for it in items {
        if let Some(l) = &it.label
            && !explicit.insert(l.as_str())
        {
            return Err(Error::InvalidState(format!(
                "two output columns are labelled `{l}`"
            )));
        }
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for b in &bases {
        *counts.entry(b.as_str()).or_default() += 1;
    }
    let mut wanted = Vec::with_capacity(items.len());
    for (it, base) in items.iter().zip(&bases) {
        let label = match (&it.label, &it.expr) {
            (None, Expr::Column(c)) if counts[base.as_str()] > 1 => match &c.qualifier {
                Some(q) => format!("{q}_{}", c.name),
                None => base.clone(),
            },
            _ => base.clone(),
        };
        wanted.push(label);
    }
    // Explicit labels keep their names; others get a numeric suffix on a clash.
    let mut used: HashSet<String> = explicit.iter().map(|s| (*s).to_owned()).collect();
    let mut out = Vec::with_capacity(items.len());
    for (i, (it, label)) in items.iter().zip(wanted).enumerate() {
        let label = if it.label.is_some() {
            label
        } else {
            let mut candidate = label.clone();
            let mut n = 2;
            while used.contains(&candidate) {
                candidate = format!("{label}_{n}");
                n += 1;
            }
            used.insert(candidate.clone());
            candidate
        };
        let (origin, qualifier) = match &it.expr {
            Expr::Column(c) => (c.origin.clone(), c.qualifier.clone()),
            _ => (None, None),
        };
        out.push(OutputColumn {
            label: ident_or(&label, i)?,
            ty: type_of(&it.expr),
            origin,
            qualifier,
        });
    }
    Ok(out)
}
