//! Conversions at the bottom: errors as script values, values and rows between
//! the engine and the script language and the script option maps. Imports
//! nothing of this crate outside `convert`.

pub(crate) mod error;
pub(crate) mod script_options;
pub(crate) mod value;
