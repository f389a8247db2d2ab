//! Validation and conversion of attribute values: per-column validators,
//! custom types, and coercion on assignment.
//!
//! - **Coercion**: an assigned value is converted to its column's type where
//!   nothing is lost ([`Value::coerce`]): `"42"` into an integer column is 42.
//! - **Validators**: functions of the value that accept it or say why not; run
//!   on every assignment and again on every instance before a flush.
//! - **Custom types**: a column whose values in Rust and scripts differ from
//!   what the database stores ([`CustomType`]): `to_db` runs when a value is
//!   written (and on assignment, to check it), `from_db` when a row is loaded.
//!
//! A rejected value leaves the instance unchanged and gives an
//! [`Error::Validation`] naming the model and the column. This module runs no
//! SQL; the session calls it.
//!
//! # Examples
//!
//! ```
//! use dbridge_engine::schema::{Column, Model};
//! use dbridge_engine::session::{Instance, Registry};
//! use dbridge_engine::{ErrorKind, Value};
//! let user = Model::builder("User")
//!     .column(Column::new("id", "bigint").primary_key())
//!     .column(Column::new("age", "integer"))
//!     .build()?;
//! let registry = Registry::new();
//! registry.validate(&user, "age", "non-negative", |v: &Value| match v.as_i64() {
//!     Some(n) if n < 0 => Err("must be at least 0".into()),
//!     _ => Ok(()),
//! })?;
//! let ada = Instance::with_registry(&user, &registry);
//! ada.set("age", "42")?; // coerced
//! assert_eq!(ada.get("age")?, Value::Int4(42));
//! let err = ada.set("age", -1).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Validation);
//! assert_eq!(err.to_string(), "invalid value for column `age` of model `User`: must be at least 0 (validator `non-negative`)");
//! assert_eq!(ada.get("age")?, Value::Int4(42)); // unchanged
//! # Ok::<(), dbridge_engine::Error>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::schema::Model;
use crate::value::Value;

/// A validator: `Ok` accepts the value, `Err(reason)` rejects it.
pub type Validator = Arc<dyn Fn(&Value) -> std::result::Result<(), String> + Send + Sync>;

/// A conversion of a value: `Err(reason)` when the value cannot be converted.
pub type Conversion = Arc<dyn Fn(Value) -> std::result::Result<Value, String> + Send + Sync>;

/// A user type stored as its column's database type, with the two conversions.
///
/// # Examples
///
/// ```
/// use dbridge_engine::validate::CustomType;
/// use dbridge_engine::Value;
/// // Cents in the database, a decimal string in the application.
/// let money = CustomType::new(
///     "money",
///     |v| match v {
///         Value::Text(s) => s.replace('.', "").parse::<i64>().map(Value::Int8).map_err(|e| e.to_string()),
///         Value::Null => Ok(Value::Null),
///         _ => Err("expected text like 12.34".into()),
///     },
///     |v| Ok(match v.as_i64() {
///         Some(c) => Value::from(format!("{}.{:02}", c / 100, c % 100)),
///         None => v,
///     }),
/// );
/// # let _ = money;
/// ```
#[derive(Clone)]
pub struct CustomType {
    name: Arc<str>,
    to_db: Conversion,
    from_db: Conversion,
}

impl fmt::Debug for CustomType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomType({})", self.name)
    }
}

impl CustomType {
    /// A custom type named `name` with its conversions to and from the database value.
    pub fn new(
        name: impl Into<String>,
        to_db: impl Fn(Value) -> std::result::Result<Value, String> + Send + Sync + 'static,
        from_db: impl Fn(Value) -> std::result::Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into().into(),
            to_db: Arc::new(to_db),
            from_db: Arc::new(from_db),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

#[derive(Default, Clone)]
struct Rules {
    validators: Vec<(Arc<str>, Validator)>,
    custom: Option<CustomType>,
}

#[derive(Default)]
struct Inner {
    /// model name -> column index -> rules
    rules: RwLock<HashMap<String, HashMap<usize, Rules>>>,
    any: AtomicBool,
}

/// Validators and custom types per model column. Cheap to clone: clones share
/// the registry.
#[derive(Clone, Default)]
pub struct Validators {
    inner: Arc<Inner>,
}

impl fmt::Debug for Validators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.inner
                    .rules
                    .read()
                    .iter()
                    .map(|(m, cols)| (m.clone(), cols.len())),
            )
            .finish()
    }
}

fn invalid(model: &Model, col: usize, reason: &str) -> Error {
    let column = model.columns()[col].name().as_str();
    Error::Validation {
        model: model.name().as_str().to_owned(),
        column: Some(column.to_owned()),
        message: format!(
            "invalid value for column `{column}` of model `{}`: {reason}",
            model.name()
        ),
    }
}

impl Validators {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn edit(&self, model: &Model, column: &str, f: impl FnOnce(&mut Rules)) -> Result<()> {
        let col = model.column_index(column)?;
        let mut rules = self.inner.rules.write();
        f(rules
            .entry(model.name().as_str().to_owned())
            .or_default()
            .entry(col)
            .or_default());
        self.inner.any.store(true, Ordering::Release);
        Ok(())
    }

    /// Adds a validator named `name` to a column (several run in order).
    ///
    /// # Errors
    /// [`Error::Schema`] when the model has no such column.
    pub fn add(
        &self,
        model: &Model,
        column: &str,
        name: impl Into<String>,
        f: impl Fn(&Value) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Result<()> {
        let name: Arc<str> = name.into().into();
        let f: Validator = Arc::new(f);
        self.edit(model, column, |r| r.validators.push((name, f)))
    }

    /// Makes a column a custom type.
    ///
    /// # Errors
    /// [`Error::Schema`] when the model has no such column.
    pub fn custom_type(&self, model: &Model, column: &str, ty: CustomType) -> Result<()> {
        self.edit(model, column, |r| r.custom = Some(ty))
    }

    fn rules(&self, model: &Model, col: usize) -> Option<Rules> {
        if !self.inner.any.load(Ordering::Acquire) {
            return None;
        }
        let rules = self.inner.rules.read();
        // A parent's column has the same position in its subclasses.
        model
            .lineage()
            .filter(|m| col < m.columns().len())
            .find_map(|m| rules.get(m.name().as_str())?.get(&col).cloned())
    }

    /// The value to store for an assignment: coerced to the column's type (or
    /// checked by the custom type's `to_db`), then validated.
    pub(crate) fn assign(&self, model: &Model, col: usize, value: Value) -> Result<Value> {
        let rules = self.rules(model, col);
        let value = match rules.as_ref().and_then(|r| r.custom.as_ref()) {
            Some(ct) => {
                // The instance keeps the application value; check it converts.
                self.db_value(model, col, ct, value.clone())?;
                value
            }
            None => coerce(model, col, value)?,
        };
        if let Some(r) = &rules {
            run(model, col, &r.validators, &value)?;
        }
        Ok(value)
    }

    /// Runs the column's validators on a value (before a flush).
    pub(crate) fn check(&self, model: &Model, col: usize, value: &Value) -> Result<()> {
        match self.rules(model, col) {
            Some(r) => run(model, col, &r.validators, value),
            None => Ok(()),
        }
    }

    fn db_value(&self, model: &Model, col: usize, ct: &CustomType, v: Value) -> Result<Value> {
        let out = (ct.to_db)(v).map_err(|reason| {
            invalid(model, col, &format!("custom type `{}`: {reason}", ct.name))
        })?;
        coerce(model, col, out)
    }

    /// The value to write for a column: the custom type's `to_db`, coerced.
    pub(crate) fn db_value_of(&self, model: &Model, col: usize, v: Value) -> Result<Value> {
        match self.rules(model, col).and_then(|r| r.custom) {
            Some(ct) => self.db_value(model, col, &ct, v),
            None => coerce(model, col, v),
        }
    }

    /// The value an instance holds for a loaded database value.
    pub(crate) fn loaded_value(&self, model: &Model, col: usize, v: Value) -> Result<Value> {
        match self.rules(model, col).and_then(|r| r.custom) {
            Some(ct) => (ct.from_db)(v).map_err(|reason| {
                invalid(model, col, &format!("custom type `{}`: {reason}", ct.name))
            }),
            None => coerce(model, col, v),
        }
    }
}

/// Coerces to the column's type; the error names the column (built only on error).
pub(crate) fn coerce(model: &Model, col: usize, v: Value) -> Result<Value> {
    let c = &model.columns()[col];
    v.coerce(c.sql_type(), "").map_err(|e| {
        let target = format!("column `{}` of model `{}`", c.name(), model.name());
        match e {
            Error::TypeMismatch {
                expected, found, ..
            } => Error::TypeMismatch {
                target,
                expected,
                found,
            },
            Error::InvalidValue { reason, .. } => Error::InvalidValue { target, reason },
            e => e,
        }
    })
}

fn run(model: &Model, col: usize, validators: &[(Arc<str>, Validator)], v: &Value) -> Result<()> {
    for (name, f) in validators {
        f(v).map_err(|reason| invalid(model, col, &format!("{reason} (validator `{name}`)")))?;
    }
    Ok(())
}
