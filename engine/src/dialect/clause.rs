//! Clauses shared by statements: ORDER BY (with positions for repeated
//! expressions that hold values) and window specifications.

use std::fmt::Write as _;

use crate::error::Result;
use crate::query::{Expr, FrameBound, FrameUnits, OrderBy, SelectItem, Window};
use crate::value::Value;

use super::compiler::{Compiler, Mode, type_hint};

impl Compiler {
    pub(crate) fn order_by(&mut self, terms: &[OrderBy]) -> Result<()> {
        self.order_by_items(terms, None)
    }

    /// ORDER BY; with `items`, a term repeating a select item that holds values
    /// is written as the item's position (see [`Compiler::position_of`]).
    pub(crate) fn order_by_items(
        &mut self,
        terms: &[OrderBy],
        items: Option<&[SelectItem]>,
    ) -> Result<()> {
        self.list(terms, |c, o| {
            let position = match items {
                Some(items) => c.position_of(&o.expr, items)?,
                None => None,
            };
            if let Some(p) = position {
                c.sql.push_str(&p.to_string());
            } else if c.numeric_as_real(&[type_hint(&o.expr).as_ref()]) {
                c.as_real(&o.expr)?;
            } else {
                c.expr(&o.expr)?;
            }
            if o.desc {
                c.sql.push_str(" DESC");
            }
            match o.nulls_first {
                Some(true) => c.sql.push_str(" NULLS FIRST"),
                Some(false) => c.sql.push_str(" NULLS LAST"),
                None => {}
            }
            Ok(())
        })
    }

    /// The 1-based position of the select item that `e` repeats, when `e` holds
    /// values. Each value is its own parameter and PostgreSQL does not take
    /// `CASE .. $1 ..` and `CASE .. $5 ..` for the same expression, so GROUP BY
    /// (and ORDER BY under grouping) refer to such an item by position.
    pub(crate) fn position_of(&self, e: &Expr, items: &[SelectItem]) -> Result<Option<usize>> {
        let mut has_value = false;
        crate::query::walk(e, &mut |x| has_value |= matches!(x, Expr::Value(_)));
        if !has_value || self.mode == Mode::Ddl {
            return Ok(None);
        }
        let render = |x: &Expr| -> Result<(String, Vec<Value>)> {
            let mut c = Compiler::new(self.backend());
            c.expr(x)?;
            Ok((c.sql, c.params))
        };
        let target = render(e)?;
        for (i, it) in items.iter().enumerate() {
            if render(&it.expr)? == target {
                return Ok(Some(i + 1));
            }
        }
        Ok(None)
    }

    pub(crate) fn window(&mut self, w: &Window) -> Result<()> {
        let mut space = false;
        if !w.partition_by.is_empty() {
            self.sql.push_str("PARTITION BY ");
            self.list(&w.partition_by, |c, x| c.expr(x))?;
            space = true;
        }
        if !w.order_by.is_empty() {
            if space {
                self.sql.push(' ');
            }
            self.sql.push_str("ORDER BY ");
            self.order_by(&w.order_by)?;
            space = true;
        }
        if let Some(f) = &w.frame {
            if space {
                self.sql.push(' ');
            }
            self.sql.push_str(match f.units {
                FrameUnits::Rows => "ROWS BETWEEN ",
                FrameUnits::Range => "RANGE BETWEEN ",
                FrameUnits::Groups => "GROUPS BETWEEN ",
            });
            self.frame_bound(f.start);
            self.sql.push_str(" AND ");
            self.frame_bound(f.end);
        }
        Ok(())
    }

    fn frame_bound(&mut self, b: FrameBound) {
        // Offsets are integers from Rust, written as digits: nothing to escape.
        let _ = match b {
            FrameBound::UnboundedPreceding => write!(self.sql, "UNBOUNDED PRECEDING"),
            FrameBound::Preceding(n) => write!(self.sql, "{n} PRECEDING"),
            FrameBound::CurrentRow => write!(self.sql, "CURRENT ROW"),
            FrameBound::Following(n) => write!(self.sql, "{n} FOLLOWING"),
            FrameBound::UnboundedFollowing => write!(self.sql, "UNBOUNDED FOLLOWING"),
        };
    }
}
