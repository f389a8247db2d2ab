//! The call runtime: the call context (budget, deadline, interrupts,
//! cancellation), running a call as a coroutine, the memory accounting of Rust-
//! side values, dropping engine objects outside a runtime, and the install
//! options. Imports only `convert` and `runtime`.

pub(crate) mod context;
pub(crate) mod options;
pub(crate) mod run;
pub(crate) mod runtime_drop;
pub(crate) mod rust_mem;
