//! Inheritance on both backends: single-table hierarchies (one table, a
//! discriminator), queries of the base returning subclasses, queries of a
//! subclass filtered by its identity, the identity map keyed by the base,
//! flush / refresh / delete round trips, events and validators of the base,
//! create_all and autogenerate with no spurious difference.

mod inherit_common;

use std::sync::{Arc, Mutex};

use dbridge_engine::events::EventKind;
use dbridge_engine::migrate::{IntrospectOptions, SchemaDiff, SchemaSnapshot, introspect};
use dbridge_engine::query::{Delete, Insert, Run};
use dbridge_engine::schema::{
    Column, InheritanceKind, Metadata, Model, PolymorphicLoad, Relationship,
};
use dbridge_engine::session::{Instance, Load, Registry, Session, SessionOptions};
use dbridge_engine::{Database, ErrorKind, Value};
use dbridge_testkit::{StatementLog, each_backend};

struct Single {
    meta: Metadata,
    company: Model,
    employee: Model,
    manager: Model,
    engineer: Model,
}

/// `Company` with its `staff` (every employee) and `managers`, and
/// `Employee`, each employee's `company`: the base of both hierarchies below.
fn staffed_company(meta: &Metadata) -> (Model, Model) {
    let company = meta
        .add(
            inherit_common::company()
                .relationship(
                    "staff",
                    Relationship::has_many("Employee").back_populates("company"),
                )
                .relationship("managers", Relationship::has_many("Manager"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let employee = meta
        .add(
            inherit_common::employee_of_company()
                .relationship(
                    "company",
                    Relationship::belongs_to("Company").back_populates("staff"),
                )
                .build()
                .unwrap(),
        )
        .unwrap();
    (company, employee)
}

async fn single(db: &Database) -> Single {
    let meta = Metadata::new();
    let (company, employee) = staffed_company(&meta);
    let manager = meta
        .add(
            Model::builder("Manager")
                .inherits(&employee)
                .polymorphic_identity("manager")
                .column(Column::new("budget", "integer"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let engineer = meta
        .add(
            Model::builder("Engineer")
                .inherits(&employee)
                .polymorphic_identity("engineer")
                .column(Column::new("language", "text").index())
                .build()
                .unwrap(),
        )
        .unwrap();
    meta.create_all(db).await.unwrap();
    Single {
        meta,
        company,
        employee,
        manager,
        engineer,
    }
}

fn names(v: &[Instance]) -> Vec<String> {
    v.iter()
        .map(|i| {
            format!(
                "{}:{}",
                i.model().name(),
                i.get("name").unwrap().as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn declarations_are_checked() {
    let base = Model::builder("E")
        .column(Column::new("id", "bigint").primary_key())
        .column(Column::new("kind", "text"))
        .polymorphic_on("kind")
        .build()
        .unwrap();
    let sub = Model::builder("M")
        .inherits(&base)
        .polymorphic_identity("m")
        .column(Column::new("x", "text"))
        .build()
        .unwrap();
    assert_eq!(sub.inheritance_kind(), Some(InheritanceKind::Single));
    assert_eq!(sub.table(), base.table());
    assert_eq!(sub.primary_key(), base.primary_key());
    // A single-table subclass's column must be nullable.
    let err = Model::builder("M2")
        .inherits(&base)
        .polymorphic_identity("m2")
        .column(Column::new("x", "text").not_null())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema);
    assert!(err.to_string().contains("must be nullable"), "{err}");
    // A subclass of a polymorphic hierarchy needs an identity.
    let err = Model::builder("M3")
        .inherits(&base)
        .column(Column::new("y", "text"))
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("needs a `polymorphic_identity`"),
        "{err}"
    );
    // polymorphic_on must name a column.
    let err = Model::builder("E2")
        .column(Column::new("id", "bigint").primary_key())
        .polymorphic_on("nope")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("names no column `nope`"), "{err}");
    // Two classes cannot share an identity.
    let meta = Metadata::new();
    meta.add(base.clone()).unwrap();
    meta.add(sub).unwrap();
    let twin = Model::builder("Twin")
        .inherits(&base)
        .polymorphic_identity("m")
        .build()
        .unwrap();
    let err = meta.add(twin).unwrap_err();
    assert!(
        err.to_string()
            .contains("both have the polymorphic_identity"),
        "{err}"
    );
}

each_backend!(single_table_round_trip, |t| async move {
    let h = single(&t.db).await;
    let mut s = Session::new(&t.db);
    let acme = s
        .add(Instance::with_values(&h.company, [("name", "Acme")]).unwrap())
        .unwrap();
    s.flush().await.unwrap();
    let acme_id = acme.get("id").unwrap();
    let ann = Instance::with_values(&h.employee, [("name", Value::from("Ann"))]).unwrap();
    let bob = Instance::with_values(
        &h.manager,
        [("name", Value::from("Bob")), ("budget", Value::from(100))],
    )
    .unwrap();
    let cy = Instance::with_values(
        &h.engineer,
        [
            ("name", Value::from("Cy")),
            ("language", Value::from("rust")),
        ],
    )
    .unwrap();
    // The discriminator is set when the instance is made.
    assert_eq!(bob.get("kind").unwrap(), Value::from("manager"));
    for i in [&ann, &bob, &cy] {
        i.set("company_id", acme_id.clone()).unwrap();
        s.add(i.clone()).unwrap();
    }
    s.commit().await.unwrap();
    let bob_id = bob.get("id").unwrap();

    // The rows share one table.
    let rows =
        t.db.fetch_all(
            "SELECT kind, budget, language FROM employees ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1].get("kind").unwrap(), &Value::from("manager"));

    // A fresh session: the base query returns each row as its class.
    let mut s = Session::new(&t.db);
    let all = s
        .query(&h.employee)
        .order_by(h.employee.col("id").unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(names(&all), ["Employee:Ann", "Manager:Bob", "Engineer:Cy"]);
    assert_eq!(all[1].get("budget").unwrap(), Value::Int4(100));
    assert_eq!(all[2].get("language").unwrap(), Value::from("rust"));

    // A subclass query keeps to its identity.
    let managers = s.query(&h.manager).all().await.unwrap();
    assert_eq!(names(&managers), ["Manager:Bob"]);
    assert!(managers[0].ptr_eq(&all[1]));
    assert_eq!(s.query(&h.engineer).count().await.unwrap(), 1);

    // The identity map is keyed by the base: the Manager is the Employee.
    let by_base = s.get(&h.employee, bob_id.clone()).await.unwrap().unwrap();
    assert!(by_base.ptr_eq(&all[1]));
    assert_eq!(by_base.model(), h.manager);
    let by_sub = s.get(&h.manager, bob_id.clone()).await.unwrap().unwrap();
    assert!(by_sub.ptr_eq(&by_base));
    let ann_id = all[0].get("id").unwrap();
    assert!(s.get(&h.manager, ann_id).await.unwrap().is_none());

    // Update and refresh.
    by_sub.set("budget", 250).unwrap();
    s.commit().await.unwrap();
    t.db.execute(
        "UPDATE employees SET name = 'Robert' WHERE kind = 'manager'",
        &[],
    )
    .await
    .unwrap();
    s.refresh(&by_sub).await.unwrap();
    assert_eq!(by_sub.get("name").unwrap(), Value::from("Robert"));
    assert_eq!(by_sub.get("budget").unwrap(), Value::Int4(250));

    // A relationship targeting the base loads each as its class; one
    // targeting a subclass keeps to its identity; the subclass has the
    // base's relationships.
    let company = s.get(&h.company, acme_id).await.unwrap().unwrap();
    s.related(&company, "staff").await.unwrap();
    let staff = company.related_many("staff").unwrap();
    assert_eq!(staff.len(), 3);
    assert!(staff.iter().any(|i| i.ptr_eq(&by_sub)));
    s.related(&company, "managers").await.unwrap();
    let mgrs = company.related_many("managers").unwrap();
    assert_eq!(names(&mgrs), ["Manager:Robert"]);
    s.related(&by_sub, "company").await.unwrap();
    let co = by_sub.related_one("company").unwrap().unwrap();
    assert!(co.ptr_eq(&company));

    // Delete.
    s.delete(&by_sub).unwrap();
    s.commit().await.unwrap();
    let left =
        t.db.fetch_all("SELECT kind FROM employees ORDER BY id", &[])
            .await
            .unwrap();
    assert_eq!(left.len(), 2);
    s.close().await.unwrap();
    drop(h.meta);
});

each_backend!(
    single_table_events_and_validators_of_the_base,
    |t| async move {
        let h = single(&t.db).await;
        let registry = Registry::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        registry.on(&h.employee, EventKind::BeforeInsert, move |ev| {
            let m = ev.model.unwrap().name().to_string();
            log.lock().unwrap().push(m);
            Ok(())
        });
        registry
            .validate(&h.employee, "name", "not blank", |v| match v.as_str() {
                Some("") => Err("must not be blank".into()),
                _ => Ok(()),
            })
            .unwrap();
        let mut s = Session::with_options(&t.db, SessionOptions::new().registry(&registry));
        let m = Instance::with_registry(&h.manager, &registry);
        m.set("name", "Dee").unwrap();
        s.add(m.clone()).unwrap();
        s.flush().await.unwrap();
        assert_eq!(*seen.lock().unwrap(), ["Manager"]);
        let err = m.set("name", "").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation);
        s.rollback().await.unwrap();
    }
);

each_backend!(single_table_schema_has_no_spurious_diff, |t| async move {
    let h = single(&t.db).await;
    let backend = t.db.backend();
    let declared = SchemaSnapshot::from_metadata(&h.meta, backend).unwrap();
    let table = declared
        .tables
        .iter()
        .find(|t| t.name.as_str() == "employees")
        .unwrap();
    assert!(table.column("budget").is_some() && table.column("language").is_some());
    let live = introspect(&t.db, &IntrospectOptions::default())
        .await
        .unwrap();
    let diff = SchemaDiff::between(&live, &declared);
    assert!(diff.is_empty(), "{diff:?}");
    h.meta.drop_all(&t.db).await.unwrap();
});

/// Joined-table hierarchy: `employees` holds every employee's base columns,
/// `managers` and `engineers` the subclasses' own, keyed by the employee's id.
async fn joined(db: &Database) -> Single {
    joined_with(db, PolymorphicLoad::Inline).await
}

/// The joined hierarchy, `Engineer` read by queries of the base as `load` says.
async fn joined_with(db: &Database, load: PolymorphicLoad) -> Single {
    let meta = Metadata::new();
    let (company, employee) = staffed_company(&meta);
    let manager = meta
        .add(
            Model::builder("Manager")
                .table("managers")
                .inherits(&employee)
                .polymorphic_identity("manager")
                .column(Column::new("budget", "integer").not_null())
                .build()
                .unwrap(),
        )
        .unwrap();
    let engineer = meta
        .add(
            Model::builder("Engineer")
                .table("engineers")
                .inherits(&employee)
                .polymorphic_identity("engineer")
                .polymorphic_load(load)
                .column(Column::new("language", "text").index())
                .build()
                .unwrap(),
        )
        .unwrap();
    meta.create_all(db).await.unwrap();
    Single {
        meta,
        company,
        employee,
        manager,
        engineer,
    }
}

async fn count(db: &Database, sql: &str) -> usize {
    db.fetch_all(sql, &[]).await.unwrap().len()
}

each_backend!(joined_table_round_trip, |t| async move {
    let h = joined(&t.db).await;
    assert_eq!(h.manager.inheritance_kind(), Some(InheritanceKind::Joined));
    let mut s = Session::new(&t.db);
    let acme = s
        .add(Instance::with_values(&h.company, [("name", "Acme")]).unwrap())
        .unwrap();
    s.flush().await.unwrap();
    let acme_id = acme.get("id").unwrap();
    let ann = Instance::with_values(&h.employee, [("name", Value::from("Ann"))]).unwrap();
    let bob = Instance::with_values(
        &h.manager,
        [("name", Value::from("Bob")), ("budget", Value::from(100))],
    )
    .unwrap();
    let cy = Instance::with_values(
        &h.engineer,
        [
            ("name", Value::from("Cy")),
            ("language", Value::from("rust")),
        ],
    )
    .unwrap();
    for i in [&ann, &bob, &cy] {
        i.set("company_id", acme_id.clone()).unwrap();
        s.add(i.clone()).unwrap();
    }
    s.commit().await.unwrap();
    let bob_id = bob.get("id").unwrap();

    // The parent row in employees, the child's in its own table, same key.
    assert_eq!(count(&t.db, "SELECT id FROM employees").await, 3);
    let rows =
        t.db.fetch_all("SELECT id, budget FROM managers", &[])
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get("id").unwrap().as_i64(), bob_id.as_i64());
    assert_eq!(count(&t.db, "SELECT id FROM engineers").await, 1);

    // A fresh session: the base query returns each row as its class, with
    // the subclass's own columns (LEFT OUTER JOIN of the child tables).
    let mut s = Session::new(&t.db);
    let all = s
        .query(&h.employee)
        .order_by(h.employee.col("id").unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(names(&all), ["Employee:Ann", "Manager:Bob", "Engineer:Cy"]);
    assert_eq!(all[1].get("budget").unwrap(), Value::Int4(100));
    assert_eq!(all[2].get("language").unwrap(), Value::from("rust"));

    // A subclass query joins parent and child: only its rows.
    let managers = s.query(&h.manager).all().await.unwrap();
    assert_eq!(names(&managers), ["Manager:Bob"]);
    assert!(managers[0].ptr_eq(&all[1]));
    assert_eq!(s.query(&h.engineer).count().await.unwrap(), 1);
    let rusty = s
        .query(&h.engineer)
        .filter(h.engineer.col("language").unwrap().eq("rust"))
        .filter(h.engineer.col("name").unwrap().eq("Cy"))
        .all()
        .await
        .unwrap();
    assert_eq!(names(&rusty), ["Engineer:Cy"]);

    // The identity map is keyed by the base.
    let by_sub = s.get(&h.manager, bob_id.clone()).await.unwrap().unwrap();
    assert!(by_sub.ptr_eq(&all[1]));
    let ann_id = all[0].get("id").unwrap();
    assert!(s.get(&h.manager, ann_id).await.unwrap().is_none());

    // An update touches the tables whose columns changed.
    by_sub.set("budget", 250).unwrap();
    by_sub.set("name", "Robert").unwrap();
    s.commit().await.unwrap();
    let rows =
        t.db.fetch_all("SELECT budget FROM managers", &[])
            .await
            .unwrap();
    assert_eq!(rows[0].get("budget").unwrap().as_i64(), Some(250));
    t.db.execute("UPDATE managers SET budget = 300", &[])
        .await
        .unwrap();
    s.refresh(&by_sub).await.unwrap();
    assert_eq!(by_sub.get("name").unwrap(), Value::from("Robert"));
    assert_eq!(by_sub.get("budget").unwrap(), Value::Int4(300));

    // Relationships to the base and to a subclass; the subclass has the
    // base's relationships.
    let company = s.get(&h.company, acme_id).await.unwrap().unwrap();
    s.related(&company, "staff").await.unwrap();
    let staff = company.related_many("staff").unwrap();
    assert_eq!(staff.len(), 3);
    assert!(staff.iter().any(|i| i.ptr_eq(&by_sub)));
    s.related(&company, "managers").await.unwrap();
    let mgrs = company.related_many("managers").unwrap();
    assert_eq!(names(&mgrs), ["Manager:Robert"]);
    s.related(&by_sub, "company").await.unwrap();
    assert!(
        by_sub
            .related_one("company")
            .unwrap()
            .unwrap()
            .ptr_eq(&company)
    );

    // A statement of one table cannot write a joined subclass.
    let err = Insert::into(&h.manager)
        .columns(["name", "kind", "budget"])
        .unwrap()
        .values(vec!["X".into(), "manager".into(), 1.into()])
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("joined-table subclass"), "{err}");
    let err = Delete::from(&h.manager).execute(&t.db).await.unwrap_err();
    assert!(err.to_string().contains("employees, managers"), "{err}");
    // Delete: the child row, then the parent's.
    s.delete(&by_sub).unwrap();
    s.commit().await.unwrap();
    assert_eq!(count(&t.db, "SELECT id FROM employees").await, 2);
    assert_eq!(count(&t.db, "SELECT id FROM managers").await, 0);
    // The child's key is a foreign key to the parent's, ON DELETE CASCADE.
    t.db.execute("DELETE FROM employees WHERE kind = 'engineer'", &[])
        .await
        .unwrap();
    assert_eq!(count(&t.db, "SELECT id FROM engineers").await, 0);
    s.close().await.unwrap();
    h.meta.drop_all(&t.db).await.unwrap();
});

each_backend!(
    joined_table_events_and_validators_of_the_base,
    |t| async move {
        let h = joined(&t.db).await;
        let registry = Registry::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        registry.on(&h.employee, EventKind::BeforeInsert, move |ev| {
            let m = ev.model.unwrap().name().to_string();
            log.lock().unwrap().push(m);
            Ok(())
        });
        registry
            .validate(&h.employee, "name", "not blank", |v| match v.as_str() {
                Some("") => Err("must not be blank".into()),
                _ => Ok(()),
            })
            .unwrap();
        let mut s = Session::with_options(&t.db, SessionOptions::new().registry(&registry));
        let m = Instance::with_registry(&h.manager, &registry);
        m.set("name", "Dee").unwrap();
        m.set("budget", 5).unwrap();
        s.add(m.clone()).unwrap();
        s.flush().await.unwrap();
        assert_eq!(*seen.lock().unwrap(), ["Manager"]);
        let err = m.set("name", "").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation);
        s.rollback().await.unwrap();
    }
);

each_backend!(joined_table_schema_has_no_spurious_diff, |t| async move {
    let h = joined(&t.db).await;
    let backend = t.db.backend();
    let declared = SchemaSnapshot::from_metadata(&h.meta, backend).unwrap();
    let managers = declared
        .tables
        .iter()
        .find(|t| t.name.as_str() == "managers")
        .unwrap();
    // The child table: the key and its own columns only.
    assert!(managers.column("id").is_some() && managers.column("budget").is_some());
    assert!(managers.column("name").is_none());
    let live = introspect(&t.db, &IntrospectOptions::default())
        .await
        .unwrap();
    let diff = SchemaDiff::between(&live, &declared);
    assert!(diff.is_empty(), "{diff:?}");
    h.meta.drop_all(&t.db).await.unwrap();
    let live = introspect(&t.db, &IntrospectOptions::default())
        .await
        .unwrap();
    assert!(live.tables.is_empty(), "{:?}", live.tables);
});

/// Ann (employee), Bob (manager, budget 100), Cy (engineer, rust), committed.
async fn three_employees(db: &Database, h: &Single) {
    let mut s = Session::new(db);
    s.add(Instance::with_values(&h.employee, [("name", "Ann")]).unwrap())
        .unwrap();
    s.add(
        Instance::with_values(
            &h.manager,
            [("name", Value::from("Bob")), ("budget", Value::from(100))],
        )
        .unwrap(),
    )
    .unwrap();
    s.add(
        Instance::with_values(
            &h.engineer,
            [
                ("name", Value::from("Cy")),
                ("language", Value::from("rust")),
            ],
        )
        .unwrap(),
    )
    .unwrap();
    s.commit().await.unwrap();
    s.close().await.unwrap();
}

each_backend!(joined_table_selectin_polymorphic, |t| async move {
    let h = joined(&t.db).await;
    three_employees(&t.db, &h).await;
    let log = StatementLog::attach(&t.db);

    // Default (with_polymorphic): one statement joining the child tables.
    let mut s = Session::new(&t.db);
    let all = s
        .query(&h.employee)
        .order_by(h.employee.col("id").unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(names(&all), ["Employee:Ann", "Manager:Bob", "Engineer:Cy"]);
    assert_eq!(log.count("SELECT"), 1, "{:?}", log.take());
    s.rollback().await.unwrap();
    log.clear();

    // The query option: the base's rows, then a SELECT per subclass found.
    let mut s = Session::new(&t.db);
    let all = s
        .query(&h.employee)
        .options([Load::selectin_polymorphic()])
        .order_by(h.employee.col("id").unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(names(&all), ["Employee:Ann", "Manager:Bob", "Engineer:Cy"]);
    let statements = log.take();
    assert_eq!(
        statements
            .iter()
            .filter(|s| s.starts_with("SELECT"))
            .count(),
        3,
        "{statements:?}"
    );
    assert!(!statements[0].contains("managers"), "{statements:?}");
    assert_eq!(all[1].get("budget").unwrap(), Value::Int4(100));
    assert_eq!(all[2].get("language").unwrap(), Value::from("rust"));
    assert_eq!(log.count("SELECT"), 0);
    s.rollback().await.unwrap();

    // With a relationship loader too: the subclass columns come by selectin.
    let mut s = Session::new(&t.db);
    let all = s
        .query(&h.employee)
        .options([Load::selectin("company")])
        .order_by(h.employee.col("id").unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(all[1].get("budget").unwrap(), Value::Int4(100));
    assert_eq!(all[2].get("language").unwrap(), Value::from("rust"));
    s.close().await.unwrap();
    h.meta.drop_all(&t.db).await.unwrap();
});

each_backend!(joined_table_polymorphic_load_of_the_model, |t| async move {
    let h = joined_with(&t.db, PolymorphicLoad::Selectin).await;
    assert_eq!(h.engineer.polymorphic_load(), PolymorphicLoad::Selectin);
    three_employees(&t.db, &h).await;
    let log = StatementLog::attach(&t.db);
    let mut s = Session::new(&t.db);
    let all = s
        .query(&h.employee)
        .order_by(h.employee.col("id").unwrap())
        .all()
        .await
        .unwrap();
    // Managers joined in, engineers by a second SELECT.
    let statements = log.take();
    let selects: Vec<_> = statements
        .iter()
        .filter(|s| s.starts_with("SELECT"))
        .collect();
    assert_eq!(selects.len(), 2, "{statements:?}");
    assert!(selects[0].contains("managers") && !selects[0].contains("engineers"));
    assert!(selects[1].contains("engineers"));
    assert_eq!(all[1].get("budget").unwrap(), Value::Int4(100));
    assert_eq!(all[2].get("language").unwrap(), Value::from("rust"));
    s.close().await.unwrap();
    h.meta.drop_all(&t.db).await.unwrap();
});

each_backend!(concrete_table_round_trip, |t| async move {
    let meta = Metadata::new();
    let employee = meta
        .add(inherit_common::employee().build().unwrap())
        .unwrap();
    let contractor = meta
        .add(
            Model::builder("Contractor")
                .table("contractors")
                .inherits(&employee)
                .concrete()
                .polymorphic_identity("contractor")
                .column(Column::new("rate", "integer").not_null())
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        contractor.inheritance_kind(),
        Some(InheritanceKind::Concrete)
    );
    meta.create_all(&t.db).await.unwrap();
    // Each class's table holds every column of the class; no spurious diff.
    let declared = SchemaSnapshot::from_metadata(&meta, t.db.backend()).unwrap();
    let table = declared
        .tables
        .iter()
        .find(|t| t.name.as_str() == "contractors")
        .unwrap();
    assert!(table.column("name").is_some() && table.column("rate").is_some());
    let live = introspect(&t.db, &IntrospectOptions::default())
        .await
        .unwrap();
    let diff = SchemaDiff::between(&live, &declared);
    assert!(diff.is_empty(), "{diff:?}");

    let mut s = Session::new(&t.db);
    s.add(Instance::with_values(&employee, [("name", "Ann")]).unwrap())
        .unwrap();
    s.add(
        Instance::with_values(
            &contractor,
            [("name", Value::from("Dan")), ("rate", Value::from(90))],
        )
        .unwrap(),
    )
    .unwrap();
    s.commit().await.unwrap();
    // Both rows have key 1, each in its own table: two instances.
    let mut s = Session::new(&t.db);
    let ann = s.get(&employee, 1_i64).await.unwrap().unwrap();
    let dan = s.get(&contractor, 1_i64).await.unwrap().unwrap();
    assert!(!ann.ptr_eq(&dan));
    assert_eq!(
        names(&[ann.clone(), dan.clone()]),
        ["Employee:Ann", "Contractor:Dan"]
    );
    assert_eq!(dan.get("kind").unwrap(), Value::from("contractor"));
    // A query of the base reads the base's table only (not polymorphic
    // across tables, as SQLAlchemy's default for concrete classes).
    let all = s.query(&employee).all().await.unwrap();
    assert_eq!(names(&all), ["Employee:Ann"]);
    // Update, refresh, delete of the subclass touch its table.
    dan.set("rate", 95).unwrap();
    s.commit().await.unwrap();
    t.db.execute("UPDATE contractors SET name = 'Daniel'", &[])
        .await
        .unwrap();
    s.refresh(&dan).await.unwrap();
    assert_eq!(dan.get("name").unwrap(), Value::from("Daniel"));
    assert_eq!(dan.get("rate").unwrap(), Value::Int4(95));
    s.delete(&dan).unwrap();
    s.commit().await.unwrap();
    assert_eq!(count(&t.db, "SELECT id FROM contractors").await, 0);
    assert_eq!(count(&t.db, "SELECT id FROM employees").await, 1);
    s.close().await.unwrap();
    meta.drop_all(&t.db).await.unwrap();
});
