pub use dbridge_engine as engine;
