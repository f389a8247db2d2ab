//! SELECT, compound selects, CTEs and FROM items.

use std::sync::Arc;

use crate::db::Statement;
use crate::error::{Backend, Error, Result};
use crate::query::table::Source;
use crate::query::{
    Compound, Cte, Distinct, Expr, JoinKind, OutputColumn, Query, Select, SelectItem, SetOp,
    TableRef,
};
use crate::value::Value;

use super::Compiled;
use super::compiler::Compiler;

pub(super) fn compile_select(s: &Select, backend: Backend) -> Result<Compiled> {
    let mut c = Compiler::new(backend);
    let columns = c.select(s)?;
    Ok(finish(c, columns))
}

pub(super) fn compile_compound(q: &Compound, backend: Backend) -> Result<Compiled> {
    let mut c = Compiler::new(backend);
    let columns = c.compound(q)?;
    Ok(finish(c, columns))
}

pub(super) fn compile_query(q: &Query, backend: Backend) -> Result<Compiled> {
    let mut c = Compiler::new(backend);
    let columns = c.query(q)?;
    Ok(finish(c, columns))
}

/// The statement with result types for every output column.
pub(super) fn finish(c: Compiler, columns: Vec<OutputColumn>) -> Compiled {
    let mut stmt = Statement::new(c.sql, c.params);
    if !columns.is_empty() {
        let types: Vec<_> = columns.iter().map(|c| c.ty.clone()).collect();
        stmt = stmt.with_result_types(types);
    }
    Compiled {
        statement: stmt,
        columns: Arc::from(columns),
    }
}

impl Compiler {
    /// Writes a query; returns its output columns.
    pub(crate) fn query(&mut self, q: &Query) -> Result<Vec<OutputColumn>> {
        match q {
            Query::Select(s) => self.select(s),
            Query::Compound(c) => self.compound(c),
        }
    }

    fn ctes(&mut self, ctes: &[Cte]) -> Result<()> {
        if ctes.is_empty() {
            return Ok(());
        }
        self.push(if ctes.iter().any(Cte::is_recursive) {
            "WITH RECURSIVE "
        } else {
            "WITH "
        });
        self.list(ctes, |c, cte| {
            let cte = &cte.body;
            c.ident(&cte.name);
            if !cte.columns.is_empty() {
                c.push(" (");
                c.list(&cte.columns, |c, n| {
                    c.ident(n);
                    Ok(())
                })?;
                c.push(")");
            }
            c.push(" AS (");
            c.query(&cte.query)?;
            c.push(")");
            Ok(())
        })?;
        self.push(" ");
        Ok(())
    }

    pub(crate) fn select_items(&mut self, items: &[SelectItem]) -> Result<Vec<OutputColumn>> {
        let columns = crate::query::label::output_columns(items)?;
        for (i, (item, col)) in items.iter().zip(&columns).enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.expr(&item.expr)?;
            let implicit = matches!(&item.expr, Expr::Column(c) if c.name == col.label);
            if !implicit {
                self.push(" AS ");
                self.ident(&col.label);
            }
        }
        Ok(columns)
    }

    pub(crate) fn select(&mut self, s: &Select) -> Result<Vec<OutputColumn>> {
        self.ctes(&s.ctes)?;
        self.push("SELECT ");
        match &s.distinct {
            Distinct::All => {}
            Distinct::Distinct => self.push("DISTINCT "),
            Distinct::On(exprs) => {
                let d = self.dialect;
                d.distinct_on(self, exprs)?;
            }
        }
        let items = s.effective_items();
        if items.is_empty() {
            return Err(Error::InvalidState(
                "a select needs columns or a table to select from".into(),
            ));
        }
        let columns = self.select_items(&items)?;
        if !s.from.is_empty() {
            self.push(" FROM ");
            self.list(&s.from, |c, t| c.table_ref(t))?;
        }
        for j in &s.joins {
            self.push(match j.kind {
                JoinKind::Inner => " JOIN ",
                JoinKind::Left => " LEFT OUTER JOIN ",
                JoinKind::Right => " RIGHT OUTER JOIN ",
                JoinKind::Full => " FULL OUTER JOIN ",
                JoinKind::Cross => " CROSS JOIN ",
            });
            self.table_ref(&j.table)?;
            match (&j.on, j.kind) {
                (Some(on), _) => {
                    self.push(" ON ");
                    self.expr(on)?;
                }
                (None, JoinKind::Cross) => {}
                (None, _) => {
                    return Err(Error::InvalidState("a join needs an ON condition".into()));
                }
            }
        }
        self.conditions(" WHERE ", &s.filter)?;
        if !s.group_by.is_empty() {
            self.push(" GROUP BY ");
            self.list(&s.group_by, |c, e| match c.position_of(e, &items)? {
                Some(p) => {
                    c.push(&p.to_string());
                    Ok(())
                }
                None => c.expr(e),
            })?;
        }
        self.conditions(" HAVING ", &s.having)?;
        if !s.order_by.is_empty() {
            self.push(" ORDER BY ");
            let grouped = !s.group_by.is_empty() || !matches!(s.distinct, Distinct::All);
            self.order_by_items(&s.order_by, grouped.then_some(&*items))?;
        }
        self.limit_offset(s.limit, s.offset);
        if let Some(lock) = &s.lock {
            let d = self.dialect;
            d.lock(self, lock)?;
        }
        Ok(columns)
    }

    pub(crate) fn conditions(&mut self, keyword: &str, conds: &[Expr]) -> Result<()> {
        match conds {
            [] => Ok(()),
            [one] => {
                self.push(keyword);
                self.expr(one)
            }
            many => {
                self.push(keyword);
                self.expr(&Expr::And(many.to_vec()))
            }
        }
    }

    fn limit_offset(&mut self, limit: Option<u64>, offset: Option<u64>) {
        // LIMIT and OFFSET are bound like any value; the server knows their type.
        let as_value = |n: u64| Value::Int8(i64::try_from(n).unwrap_or(i64::MAX));
        match (limit, offset) {
            (Some(l), o) => {
                self.push(" LIMIT ");
                self.bind(as_value(l));
                if let Some(o) = o {
                    self.push(" OFFSET ");
                    self.bind(as_value(o));
                }
            }
            (None, Some(o)) => {
                // SQLite has no OFFSET without LIMIT; -1 means "no limit" there.
                if self.backend() == Backend::Sqlite {
                    self.push(" LIMIT -1");
                }
                self.push(" OFFSET ");
                self.bind(as_value(o));
            }
            (None, None) => {}
        }
    }

    pub(crate) fn table_ref(&mut self, t: &TableRef) -> Result<()> {
        match &t.0.source {
            Source::Model(m) if m.is_joined() => {
                self.joined_tables(m)?;
                if t.alias_name().is_none() {
                    self.push(" AS ");
                    self.ident(m.table());
                }
            }
            Source::Model(m) => self.ident(m.table()),
            Source::Named { name, .. } => self.ident(name),
            Source::Query { query, .. } => {
                self.push("(");
                self.query(query)?;
                self.push(")");
            }
        }
        if let Some(a) = t.alias_name() {
            self.push(" AS ");
            self.ident(a);
        }
        Ok(())
    }

    /// A joined-table subclass as one table: `(SELECT <its columns, each
    /// from its table> FROM <root table> JOIN <each subclass table> ON
    /// <keys equal>)`, named by the caller after the class's table, so that
    /// the query's columns read it as they read any model's table.
    fn joined_tables(&mut self, m: &crate::schema::Model) -> Result<()> {
        let parts = m.table_parts()?;
        let Some(root) = parts.first() else {
            return Ok(());
        };
        self.push("(SELECT ");
        for (i, c) in m.columns().iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            let part = parts
                .iter()
                .find(|p| p.columns.contains(&i))
                .unwrap_or(root);
            self.ident(part.table.table());
            self.push(".");
            self.ident(c.name());
        }
        // The columns of the single-table subclasses sharing the class's
        // own table: a query of the class reads them for its subclasses.
        if let Some(own) = parts.last().filter(|_| parts.len() > 1) {
            for c in own.table.columns() {
                if m.column_index(c.name().as_str()).is_err() {
                    self.push(", ");
                    self.ident(own.table.table());
                    self.push(".");
                    self.ident(c.name());
                }
            }
        }
        self.push(" FROM ");
        self.ident(root.table.table());
        for p in &parts[1..] {
            self.push(" JOIN ");
            self.ident(p.table.table());
            self.push(" ON ");
            for (k, &i) in m.primary_key().iter().enumerate() {
                if k > 0 {
                    self.push(" AND ");
                }
                let name = m.columns()[i].name();
                self.ident(p.table.table());
                self.push(".");
                self.ident(name);
                self.push(" = ");
                self.ident(root.table.table());
                self.push(".");
                self.ident(name);
            }
        }
        self.push(")");
        Ok(())
    }

    fn compound(&mut self, q: &Compound) -> Result<Vec<OutputColumn>> {
        let columns = self.member(&q.first)?;
        for (op, s) in &q.rest {
            self.push(match op {
                SetOp::Union => " UNION ",
                SetOp::UnionAll => " UNION ALL ",
                SetOp::Intersect => " INTERSECT ",
                SetOp::Except => " EXCEPT ",
            });
            let cols = self.member(s)?;
            if cols.len() != columns.len() {
                return Err(Error::InvalidState(format!(
                    "the selects of a set operation return {} and {} columns",
                    columns.len(),
                    cols.len()
                )));
            }
        }
        if !q.order_by.is_empty() {
            self.push(" ORDER BY ");
            self.order_by(&q.order_by)?;
        }
        self.limit_offset(q.limit, q.offset);
        Ok(columns)
    }

    /// A member of a compound: bare when it has no ORDER BY / LIMIT, else in
    /// parentheses (PostgreSQL) or as a derived table (SQLite).
    fn member(&mut self, s: &Select) -> Result<Vec<OutputColumn>> {
        let needs_wrap = !s.order_by.is_empty()
            || s.limit.is_some()
            || s.offset.is_some()
            || !s.ctes.is_empty()
            || s.lock.is_some();
        if !needs_wrap {
            return self.select(s);
        }
        match self.backend() {
            Backend::Postgres => {
                self.push("(");
                let cols = self.select(s)?;
                self.push(")");
                Ok(cols)
            }
            Backend::Sqlite => {
                self.push("SELECT * FROM (");
                let cols = self.select(s)?;
                self.push(")");
                Ok(cols)
            }
        }
    }
}
