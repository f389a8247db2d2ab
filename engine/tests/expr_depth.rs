//! Deep and shared expression trees: building shares subtrees (a step of
//! `e = e + 1` copies one node, not the tree) and the compiler refuses trees
//! nested past `MAX_EXPR_DEPTH` with an error instead of overflowing the stack.

use dbridge_engine::query::{Expr, MAX_EXPR_DEPTH, Select};
use dbridge_engine::{Backend, ErrorKind};

fn chain(depth: usize) -> Expr {
    let mut e = Expr::col("n").unwrap_or_else(|_| Expr::null());
    for _ in 0..depth {
        e = e + 1;
    }
    e
}

/// Compiles on a thread with the stack of a tokio worker (2 MiB).
fn compile_on_small_stack(e: Expr, backend: Backend) -> dbridge_engine::Result<String> {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let q = Select::new().column(e);
            dbridge_engine::dialect::compile(&q, backend).map(|s| s.sql().to_owned())
        })
        .expect("spawn")
        .join()
        .expect("the compiler overflowed its stack")
}

#[test]
fn an_expression_at_the_depth_limit_compiles() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let sql = compile_on_small_stack(chain(MAX_EXPR_DEPTH - 2), backend).expect("compiles");
        assert!(sql.starts_with("SELECT"), "{sql}");
    }
}

#[test]
fn an_expression_past_the_depth_limit_is_a_clear_error() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let err = compile_on_small_stack(chain(MAX_EXPR_DEPTH + 10), backend).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidValue, "{err}");
        assert!(err.to_string().contains("nested deeper than"), "{err}");
    }
}

#[test]
fn cloning_a_deep_expression_shares_its_subtrees() {
    let e = chain(500);
    let copy = e.clone();
    match (&e, &copy) {
        (Expr::Binary(_, l1, _), Expr::Binary(_, l2, _)) => {
            assert!(
                dbridge_engine::query::SubExpr::ptr_eq(l1, l2),
                "a clone copies the top node only"
            )
        }
        other => panic!("not a binary expression: {other:?}"),
    }
}

#[test]
fn dropping_a_30000_deep_expression_does_not_overflow_the_stack() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| drop(chain(30_000)))
        .expect("spawn")
        .join()
        .expect("dropped");
}
