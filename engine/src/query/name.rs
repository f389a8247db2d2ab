//! Names where the builder takes an expression: `order_by("name")`,
//! `group_by("name")`, `having("flag")` from scripts and
//! [`Select::order_by_name`] / [`Select::group_by_name`] in Rust.
//!
//! A name is never a value: it is resolved against the query, first its output
//! labels, then the columns of its FROM and JOIN tables, and written as a quoted
//! identifier. An unknown name is an error that lists what the query has.

use crate::error::{Error, Result};
use crate::ident::Ident;
use crate::schema::schema_error;

use super::expr::Expr;
use super::select::{OrderBy, Select};
use super::table::TableRef;

/// What the resolved name stands for in the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// ORDER BY: an explicit label may be referenced as such.
    Order,
    /// GROUP BY, HAVING, DISTINCT ON: always the expression itself.
    Expr,
}

/// Splits `"-name"`, `"name DESC"` and `"name ASC"` into the name and `desc`.
/// Nothing else is trimmed: `" name"` is not a name.
fn direction(spec: &str) -> (&str, bool) {
    let s = spec;
    if let Some(rest) = s.strip_prefix('-') {
        return (rest, true);
    }
    for (suffix, desc) in [("desc", true), ("asc", false)] {
        if let Some(head) = split_suffix(s, suffix) {
            return (head, desc);
        }
    }
    (s, false)
}

/// `head` when `s` is `head <whitespace> suffix` (suffix in any case).
fn split_suffix<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let (head, tail) = (s.get(..cut)?, s.get(cut..)?);
    if !tail.eq_ignore_ascii_case(suffix) || !head.ends_with(char::is_whitespace) {
        return None;
    }
    Some(head.trim_end())
}

impl Select {
    /// The tables of FROM and JOIN, in order.
    fn tables(&self) -> impl Iterator<Item = &TableRef> {
        self.from.iter().chain(self.joins.iter().map(|j| &j.table))
    }

    /// What a name may be: the output labels, then `table.column` for every
    /// known column of every table, for error messages.
    fn available_names(&self) -> String {
        let mut names: Vec<String> = self
            .output_columns()
            .map(|cols| cols.into_iter().map(|c| c.label.to_string()).collect())
            .unwrap_or_default();
        for t in self.tables() {
            for e in t.all_columns() {
                if let Some(c) = e.as_column() {
                    let q = format!("{}.{}", t.qualifier(), c.name);
                    if !names.contains(&q) {
                        names.push(q);
                    }
                }
            }
        }
        if names.is_empty() {
            return "the query has no tables or labels".into();
        }
        format!("available: {}", names.join(", "))
    }

    /// `name` checked as an identifier; the error says what a name here is for.
    fn name_ident(&self, what: &str, whole: &str, part: &str) -> Result<Ident> {
        Ident::new(part).map_err(|e| match e {
            Error::InvalidIdentifier { reason, .. } => Error::InvalidIdentifier {
                name: whole.chars().take(80).collect(),
                reason: format!(
                    "{reason}; a string in {what} is a column or label name of the query, \
                     never SQL or a value (use an expression for anything else; {})",
                    self.available_names()
                ),
            },
            other => other,
        })
    }

    /// The output label `name`, as the statement should refer to it.
    fn label_term(&self, name: &Ident, usage: Use) -> Result<Option<Expr>> {
        let cols = self.output_columns()?;
        let Some(i) = cols.iter().position(|c| c.label == *name) else {
            return Ok(None);
        };
        let items = self.effective_items();
        let Some(item) = items.get(i) else {
            return Ok(None);
        };
        Ok(Some(match (&item.expr, usage) {
            (Expr::Column(_), _) | (_, Use::Expr) => item.expr.clone(),
            (_, Use::Order) => Expr::Label(name.clone()),
        }))
    }

    /// The column `name` of the one table that has it (`qualifier` picks the table).
    fn column_term(
        &self,
        what: &str,
        whole: &str,
        qualifier: Option<&Ident>,
        name: &Ident,
    ) -> Result<Expr> {
        let known = |t: &TableRef| {
            t.all_columns()
                .iter()
                .any(|e| e.as_column().is_some_and(|c| c.name == *name))
        };
        let open = |t: &TableRef| t.all_columns().is_empty();
        let candidates: Vec<&TableRef> = self
            .tables()
            .filter(|t| qualifier.is_none_or(|q| t.qualifier() == q))
            .collect();
        let mut found: Vec<&TableRef> = candidates.iter().copied().filter(|t| known(t)).collect();
        if found.is_empty() {
            found = candidates.into_iter().filter(|t| open(t)).collect();
        }
        match found.as_slice() {
            [t] => t.col(name.as_str()),
            [] => Err(self.unknown(what, whole)),
            many => {
                let tables: Vec<String> = many
                    .iter()
                    .map(|t| format!("`{}.{name}`", t.qualifier()))
                    .collect();
                Err(schema_error(
                    "",
                    Some(name.as_str()),
                    format!(
                        "{what}: `{name}` is ambiguous: qualify it as {}",
                        tables.join(" or ")
                    ),
                ))
            }
        }
    }

    fn unknown(&self, what: &str, whole: &str) -> Error {
        let shown: String = whole.chars().take(80).collect();
        schema_error(
            "",
            Some(&shown),
            format!(
                "{what}: no column or label {shown:?} in the query ({})",
                self.available_names()
            ),
        )
    }

    fn resolve(&self, what: &str, spec: &str, usage: Use) -> Result<Expr> {
        let (qualifier, name) = match spec.split_once('.') {
            Some((q, n)) => (
                Some(self.name_ident(what, spec, q)?),
                self.name_ident(what, spec, n)?,
            ),
            None => (None, self.name_ident(what, spec, spec)?),
        };
        if qualifier.is_none()
            && let Some(e) = self.label_term(&name, usage)?
        {
            return Ok(e);
        }
        self.column_term(what, spec, qualifier.as_ref(), &name)
    }

    /// The column or label `name` of this select as an expression: an output
    /// label first (its expression), then a column of the FROM and JOIN
    /// tables; `table.column` picks the table.
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for a string that is not a name (`"name;
    /// DROP TABLE x"`), [`Error::Schema`] for an unknown or ambiguous name; both
    /// list the names the query has.
    pub fn name_ref(&self, name: &str) -> Result<Expr> {
        self.resolve("a name", name, Use::Expr)
    }

    /// The ORDER BY term a string stands for: `"name"`, `"-name"` or
    /// `"name DESC"` (descending), `"name ASC"`, with `name` resolved as in
    /// [`Select::name_ref`]; an explicit label is ordered by as a label.
    ///
    /// # Errors
    /// As [`Select::name_ref`].
    pub fn order_term(&self, spec: &str) -> Result<OrderBy> {
        let (name, desc) = direction(spec);
        let expr = self.resolve("order_by", name, Use::Order)?;
        Ok(if desc { expr.desc() } else { expr.asc() })
    }

    /// Adds an ORDER BY term named by a string (see [`Select::order_term`]).
    ///
    /// # Errors
    /// As [`Select::name_ref`].
    pub fn order_by_name(self, spec: &str) -> Result<Self> {
        let term = self.order_term(spec)?;
        Ok(self.order_by(term))
    }

    /// Adds a GROUP BY term named by a string (see [`Select::name_ref`]).
    ///
    /// # Errors
    /// As [`Select::name_ref`].
    pub fn group_by_name(self, name: &str) -> Result<Self> {
        let e = self.resolve("group_by", name, Use::Expr)?;
        Ok(self.group_by([e]))
    }
}
