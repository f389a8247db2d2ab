//! Inheritance on both backends: single-table hierarchies (one table, a
//! discriminator), queries of the base returning subclasses, queries of a
//! subclass filtered by its identity, the identity map keyed by the base,
//! flush / refresh / delete round trips, events and validators of the base,
//! create_all and autogenerate with no spurious difference.

use std::sync::{Arc, Mutex};

use dbridge_engine::events::EventKind;
use dbridge_engine::migrate::{IntrospectOptions, SchemaDiff, SchemaSnapshot, introspect};
use dbridge_engine::schema::{Column, InheritanceKind, Metadata, Model, Relationship};
use dbridge_engine::session::{Instance, Registry, Session, SessionOptions};
use dbridge_engine::{Database, ErrorKind, Value};
use dbridge_testkit::each_backend;

struct Single {
    meta: Metadata,
    company: Model,
    employee: Model,
    manager: Model,
    engineer: Model,
}

async fn single(db: &Database) -> Single {
    let meta = Metadata::new();
    let company = meta
        .add(
            Model::builder("Company")
                .table("companies")
                .column(Column::new("id", "bigint").primary_key())
                .column(Column::new("name", "text"))
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
            Model::builder("Employee")
                .table("employees")
                .column(Column::new("id", "bigint").primary_key())
                .column(Column::new("name", "text").not_null())
                .column(Column::new("kind", "text").not_null())
                .column(Column::new("company_id", "bigint").references("companies", "id"))
                .polymorphic_on("kind")
                .polymorphic_identity("employee")
                .relationship(
                    "company",
                    Relationship::belongs_to("Company").back_populates("staff"),
                )
                .build()
                .unwrap(),
        )
        .unwrap();
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
