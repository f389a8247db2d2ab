//! # dbridge-lua
//!
//! The dbridge engine from Lua, through mlua. The binding is built in its own
//! issue; this crate currently holds no API.
