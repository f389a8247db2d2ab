//! The hierarchy the inheritance tests start from: `Company` (table
//! `companies`) and `Employee` (table `employees`, polymorphic on `kind`),
//! as builders that each test completes with its relationships and options.
#![allow(dead_code)]

use dbridge_engine::schema::{Column, Metadata, Model, ModelBuilder};

/// `Company`: `id` bigint key, `name` text.
pub fn company() -> ModelBuilder {
    Model::builder("Company")
        .table("companies")
        .column(Column::new("id", "bigint").primary_key())
        .column(Column::new("name", "text"))
}

/// `Employee`: `id` bigint key, `name` text, `kind` text (the
/// discriminator); its own identity is `employee`.
pub fn employee() -> ModelBuilder {
    Model::builder("Employee")
        .table("employees")
        .column(Column::new("id", "bigint").primary_key())
        .column(Column::new("name", "text").not_null())
        .column(Column::new("kind", "text").not_null())
        .polymorphic_on("kind")
        .polymorphic_identity("employee")
}

/// [`employee`] with `company_id`, a foreign key to `companies`.
pub fn employee_of_company() -> ModelBuilder {
    employee().column(Column::new("company_id", "bigint").references("companies", "id"))
}

/// Builds `model` and adds it to `meta`.
pub fn add(meta: &Metadata, model: ModelBuilder) -> Model {
    meta.add(model.build().unwrap()).unwrap()
}
