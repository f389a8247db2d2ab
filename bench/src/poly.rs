//! W8: polymorphic load of joined-table inheritance, the same workload as
//! `bench/sqla_polymorphic.py`: 100,000 employees (half engineers, half
//! managers, each a row of the base table and one of its class's table),
//! every one loaded as an instance of its class through the Rust session,
//! two ways: `inline` (one SELECT with a LEFT OUTER JOIN per subclass, as
//! SQLAlchemy's `with_polymorphic("*")`) and `selectin` (the base's rows,
//! then one SELECT per subclass for its columns, as `selectin_polymorphic`).

use std::time::Instant;

use dbridge_engine::schema::{Column, Metadata, Model, PolymorphicLoad};
use dbridge_engine::session::{Load, Session};
use dbridge_engine::{Database, Error, Result};

/// The hierarchy: `Employee` (table `dbridge_employee`, discriminator
/// `kind`), `Engineer` (`dbridge_engineer`) and `Manager`
/// (`dbridge_manager`), both joined to the base by key.
pub(crate) struct Hierarchy {
    meta: Metadata,
    employee: Model,
}

pub(crate) fn models() -> Result<Hierarchy> {
    let meta = Metadata::new();
    let employee = meta.add(
        Model::builder("BenchEmployee")
            .table("dbridge_employee")
            .column(Column::new("id", "integer").primary_key())
            .column(Column::new("name", "text").not_null())
            .column(Column::new("kind", "text").not_null())
            .polymorphic_on("kind")
            .polymorphic_identity("employee")
            .build()?,
    )?;
    meta.add(
        Model::builder("BenchEngineer")
            .table("dbridge_engineer")
            .inherits(&employee)
            .polymorphic_identity("engineer")
            .polymorphic_load(PolymorphicLoad::Inline)
            .column(Column::new("language", "text").not_null())
            .build()?,
    )?;
    meta.add(
        Model::builder("BenchManager")
            .table("dbridge_manager")
            .inherits(&employee)
            .polymorphic_identity("manager")
            .polymorphic_load(PolymorphicLoad::Inline)
            .column(Column::new("budget", "integer").not_null())
            .build()?,
    )?;
    Ok(Hierarchy { meta, employee })
}

/// Creates and fills the tables with the same statements as
/// `sqla_polymorphic.py` (not timed).
pub(crate) async fn setup(db: &Database, h: &Hierarchy, n: usize) -> Result<()> {
    h.meta.drop_all(db).await?;
    h.meta.create_all(db).await?;
    for sql in fill_sql(n) {
        db.execute(&sql, &[]).await?;
    }
    for t in ["dbridge_employee", "dbridge_engineer", "dbridge_manager"] {
        db.execute(&format!("VACUUM ANALYZE {t}"), &[]).await?;
    }
    Ok(())
}

/// `n` employees, the odd ids engineers and the even ones managers.
fn fill_sql(n: usize) -> [String; 3] {
    [
        format!(
            "INSERT INTO dbridge_employee (id, name, kind) SELECT g, 'employee' || g, \
             CASE WHEN g % 2 = 1 THEN 'engineer' ELSE 'manager' END FROM generate_series(1, {n}) g"
        ),
        "INSERT INTO dbridge_engineer (id, language) \
         SELECT id, 'rust' FROM dbridge_employee WHERE kind = 'engineer'"
            .into(),
        "INSERT INTO dbridge_manager (id, budget) \
         SELECT id, id FROM dbridge_employee WHERE kind = 'manager'"
            .into(),
    ]
}

/// One load of every employee as an instance of its class: the query's
/// seconds (the session opened and closed outside the timing).
pub(crate) async fn load(db: &Database, h: &Hierarchy, selectin: bool, n: usize) -> Result<f64> {
    let mut s = Session::new(db);
    let started = Instant::now();
    let mut q = s.query(&h.employee);
    if selectin {
        q = q.options([Load::selectin_polymorphic()]);
    }
    let loaded = q.all().await?;
    let elapsed = started.elapsed().as_secs_f64();
    let engineers = loaded
        .iter()
        .filter(|i| i.model().name().as_str() == "BenchEngineer" && i.get("language").is_ok())
        .count();
    let managers = loaded
        .iter()
        .filter(|i| i.model().name().as_str() == "BenchManager" && i.get("budget").is_ok())
        .count();
    s.close().await?;
    if loaded.len() != n || engineers + managers != n {
        return Err(Error::InvalidState(format!(
            "W8 loaded {} employees: {engineers} engineers, {managers} managers",
            loaded.len()
        )));
    }
    Ok(elapsed)
}
