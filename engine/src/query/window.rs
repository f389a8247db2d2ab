//! Window specifications: `OVER (PARTITION BY .. ORDER BY .. frame)`.

use super::expr::Expr;
use super::select::OrderBy;

/// The unit of a window frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameUnits {
    /// `ROWS`
    Rows,
    /// `RANGE`
    Range,
    /// `GROUPS`
    Groups,
}

/// One end of a window frame. Offsets are written into the SQL as integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameBound {
    /// `UNBOUNDED PRECEDING`
    UnboundedPreceding,
    /// `n PRECEDING`
    Preceding(u64),
    /// `CURRENT ROW`
    CurrentRow,
    /// `n FOLLOWING`
    Following(u64),
    /// `UNBOUNDED FOLLOWING`
    UnboundedFollowing,
}

/// A window frame: `units BETWEEN start AND end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Frame {
    /// ROWS, RANGE or GROUPS.
    pub units: FrameUnits,
    /// The frame's start.
    pub start: FrameBound,
    /// The frame's end.
    pub end: FrameBound,
}

/// A window: `OVER (PARTITION BY ... ORDER BY ... frame)`.
///
/// # Examples
///
/// ```
/// use dbridge_engine::query::{Expr, FrameBound, Window, func};
/// let amount = Expr::col("amount").unwrap();
/// let running = func::sum(amount.clone()).over(
///     Window::new()
///         .partition_by([Expr::col("account").unwrap()])
///         .order_by([Expr::col("id").unwrap().asc()])
///         .rows(FrameBound::UnboundedPreceding, FrameBound::CurrentRow),
/// ).unwrap();
/// # let _ = running;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// PARTITION BY expressions.
    pub partition_by: Vec<Expr>,
    /// ORDER BY terms.
    pub order_by: Vec<OrderBy>,
    /// The frame, if any.
    pub frame: Option<Frame>,
}

impl Window {
    /// An empty window (the whole result).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds PARTITION BY expressions.
    pub fn partition_by(mut self, exprs: impl IntoIterator<Item = Expr>) -> Self {
        self.partition_by.extend(exprs);
        self
    }

    /// Adds ORDER BY terms.
    pub fn order_by(mut self, terms: impl IntoIterator<Item = OrderBy>) -> Self {
        self.order_by.extend(terms);
        self
    }

    /// `ROWS BETWEEN start AND end`
    pub fn rows(self, start: FrameBound, end: FrameBound) -> Self {
        self.frame(FrameUnits::Rows, start, end)
    }

    /// `RANGE BETWEEN start AND end`
    pub fn range(self, start: FrameBound, end: FrameBound) -> Self {
        self.frame(FrameUnits::Range, start, end)
    }

    /// `GROUPS BETWEEN start AND end`
    pub fn groups(self, start: FrameBound, end: FrameBound) -> Self {
        self.frame(FrameUnits::Groups, start, end)
    }

    fn frame(mut self, units: FrameUnits, start: FrameBound, end: FrameBound) -> Self {
        self.frame = Some(Frame { units, start, end });
        self
    }
}
