//! Function calls: any SQL function by name, and shortcuts for the common
//! aggregates and window functions.
//!
//! ```
//! use dbridge_engine::query::{Expr, func};
//! let n = func::count_star();
//! let total = func::sum(Expr::col("amount").unwrap());
//! let lower = func::call("lower", [Expr::col("name").unwrap()]).unwrap();
//! # let _ = (n, total, lower);
//! ```

use super::expr::{Expr, FuncCall};
use crate::error::Result;
use crate::ident::Ident;

/// Calls the SQL function `name` with `args`.
///
/// # Errors
/// [`crate::Error::InvalidIdentifier`] for an invalid function name.
pub fn call<T: Into<Expr>>(name: &str, args: impl IntoIterator<Item = T>) -> Result<Expr> {
    Ok(make(
        Ident::new(name)?,
        args.into_iter().map(Into::into).collect(),
    ))
}

fn make(name: Ident, args: Vec<Expr>) -> Expr {
    Expr::Func(std::sync::Arc::new(FuncCall {
        name,
        args,
        star: false,
        distinct: false,
        filter: None,
        over: None,
        ty: None,
    }))
}

fn known(name: &'static str, args: Vec<Expr>) -> Expr {
    // These names are valid identifiers; `Ident::new` cannot fail on them.
    match Ident::new(name) {
        Ok(id) => make(id, args),
        Err(_) => Expr::null(),
    }
}

/// `count(*)`
pub fn count_star() -> Expr {
    let mut e = known("count", Vec::new());
    if let Expr::Func(f) = &mut e {
        std::sync::Arc::make_mut(f).star = true;
    }
    e
}

macro_rules! unary_funcs {
    ($($(#[$doc:meta])* $name:ident),*) => {$(
        $(#[$doc])*
        pub fn $name(arg: impl Into<Expr>) -> Expr {
            known(stringify!($name), vec![arg.into()])
        }
    )*};
}

unary_funcs!(
    /// `count(expr)`
    count,
    /// `sum(expr)`
    sum,
    /// `avg(expr)`
    avg,
    /// `min(expr)`
    min,
    /// `max(expr)`
    max,
    /// `lower(expr)`
    lower,
    /// `upper(expr)`
    upper,
    /// `length(expr)`
    length,
    /// `abs(expr)`
    abs,
    /// `first_value(expr)` (window)
    first_value,
    /// `last_value(expr)` (window)
    last_value
);

/// `coalesce(args...)`
pub fn coalesce<T: Into<Expr>>(args: impl IntoIterator<Item = T>) -> Expr {
    known("coalesce", args.into_iter().map(Into::into).collect())
}

/// `row_number()` (window)
pub fn row_number() -> Expr {
    known("row_number", Vec::new())
}

/// `rank()` (window)
pub fn rank() -> Expr {
    known("rank", Vec::new())
}

/// `dense_rank()` (window)
pub fn dense_rank() -> Expr {
    known("dense_rank", Vec::new())
}

/// `ntile(n)` (window)
pub fn ntile(n: i32) -> Expr {
    known("ntile", vec![Expr::val(n)])
}

/// `lag(expr, offset)` (window)
pub fn lag(arg: impl Into<Expr>, offset: i32) -> Expr {
    known("lag", vec![arg.into(), Expr::val(offset)])
}

/// `lead(expr, offset)` (window)
pub fn lead(arg: impl Into<Expr>, offset: i32) -> Expr {
    known("lead", vec![arg.into(), Expr::val(offset)])
}
