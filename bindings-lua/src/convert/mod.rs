//! Conversions at the bottom: errors as script values, values and rows between
//! the engine and the script language, the constructor scan and the remembered
//! column order. Imports nothing of this crate outside `convert`.

pub(crate) mod ctor_scan;
pub(crate) mod error;
pub(crate) mod inspect;
pub(crate) mod keys;
pub(crate) mod row_batch;
pub(crate) mod value;
