//! # dbridge-rhai
//!
//! The dbridge engine from Rhai. The binding is built in its own issue; this
//! crate currently holds no API.
