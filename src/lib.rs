pub use dbridge_engine as engine;
pub use dbridge_lua as lua;
