//! Concrete-table inheritance with polymorphic loading across tables
//! (`polymorphic_union`) on both backends: a query of the base reads the
//! UNION ALL of its table and its concrete subclasses', returns each row as
//! its class with the subclass's own columns, filters and orders on the
//! union, counts it, gets by key (the base's own row first when keys
//! repeat), writes per concrete table, and loads relationships to the base
//! across the tables.

mod inherit_common;

use dbridge_engine::schema::{Column, Metadata, Model, Relationship};
use dbridge_engine::session::{Instance, Load, Session};
use dbridge_engine::{Database, ErrorKind, Value};
use dbridge_testkit::{StatementLog, each_backend};

struct Union {
    meta: Metadata,
    company: Model,
    employee: Model,
    manager: Model,
    contractor: Model,
    intern: Model,
}

/// Employee (table `employees`, polymorphic over its concrete subclasses),
/// Manager (single table, in `employees`), Contractor and Intern (concrete,
/// tables of their own; both have a `rate`, of different types).
async fn union(db: &Database) -> Union {
    let meta = Metadata::new();
    let company = meta
        .add(
            inherit_common::company()
                .relationship("staff", Relationship::has_many("Employee").order_by("name"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let employee = meta
        .add(
            inherit_common::employee_of_company()
                .polymorphic_union()
                .relationship("company", Relationship::belongs_to("Company"))
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
    let intern = meta
        .add(
            Model::builder("Intern")
                .table("interns")
                .inherits(&employee)
                .concrete()
                .polymorphic_identity("intern")
                .column(Column::new("rate", "text"))
                .column(Column::new("school", "text"))
                .build()
                .unwrap(),
        )
        .unwrap();
    meta.create_all(db).await.unwrap();
    Union {
        meta,
        company,
        employee,
        manager,
        contractor,
        intern,
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

/// Ann (employees 1), Bob (manager, employees 2), Dan (contractors 1), Eve
/// (interns 1), all of company 1.
async fn seed(db: &Database, h: &Union) {
    let mut s = Session::new(db);
    let acme = Instance::with_values(&h.company, [("name", "acme")]).unwrap();
    s.add(acme.clone()).unwrap();
    s.flush().await.unwrap();
    let c = acme.get("id").unwrap();
    let add = |m: &Model, vals: Vec<(&str, Value)>| {
        let mut vals = vals;
        vals.push(("company_id", c.clone()));
        Instance::with_values(m, vals).unwrap()
    };
    s.add(add(&h.employee, vec![("name", "Ann".into())]))
        .unwrap();
    s.add(add(
        &h.manager,
        vec![("name", "Bob".into()), ("budget", 100.into())],
    ))
    .unwrap();
    s.add(add(
        &h.contractor,
        vec![("name", "Dan".into()), ("rate", 90.into())],
    ))
    .unwrap();
    s.add(add(
        &h.intern,
        vec![
            ("name", "Eve".into()),
            ("rate", "low".into()),
            ("school", "MIT".into()),
        ],
    ))
    .unwrap();
    s.commit().await.unwrap();
    s.close().await.unwrap();
}

async fn count(db: &Database, sql: &str) -> usize {
    db.fetch_all(sql, &[]).await.unwrap().len()
}

#[test]
fn a_union_needs_a_discriminator() {
    let err = Model::builder("E")
        .column(Column::new("id", "bigint").primary_key())
        .polymorphic_union()
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema);
    assert!(err.to_string().contains("polymorphic_on"), "{err}");
}

each_backend!(a_query_of_the_base_reads_every_table, |t| async move {
    let h = union(&t.db).await;
    seed(&t.db, &h).await;
    let log = StatementLog::attach(&t.db);
    let mut s = Session::new(&t.db);
    let name = h.employee.col("name").unwrap();
    let all = s
        .query(&h.employee)
        .order_by(name.clone())
        .all()
        .await
        .unwrap();
    assert_eq!(
        names(&all),
        [
            "Employee:Ann",
            "Manager:Bob",
            "Contractor:Dan",
            "Intern:Eve"
        ]
    );
    // One statement: the UNION ALL, with every class's own columns.
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(statements[0].contains("UNION ALL"), "{statements:?}");
    assert_eq!(all[1].get("budget").unwrap(), Value::Int4(100));
    assert_eq!(all[2].get("rate").unwrap(), Value::Int4(90));
    assert_eq!(all[3].get("rate").unwrap(), Value::from("low"));
    assert_eq!(all[3].get("school").unwrap(), Value::from("MIT"));
    assert_eq!(all[2].get("kind").unwrap(), Value::from("contractor"));

    // Filters and ORDER BY on the base's columns apply to the union.
    let some = s
        .query(&h.employee)
        .filter(name.clone().in_list(["Bob", "Dan", "Eve"]))
        .order_by(name.clone().desc())
        .limit(2)
        .all()
        .await
        .unwrap();
    assert_eq!(names(&some), ["Intern:Eve", "Contractor:Dan"]);
    assert!(some[0].ptr_eq(&all[3]));
    let contractors = s
        .query(&h.employee)
        .filter(h.employee.col("kind").unwrap().eq("contractor"))
        .all()
        .await
        .unwrap();
    assert_eq!(names(&contractors), ["Contractor:Dan"]);
    assert_eq!(s.query(&h.employee).count().await.unwrap(), 4);
    // A query of a concrete subclass reads its own table.
    let log2 = StatementLog::attach(&t.db);
    let dan = s.query(&h.contractor).one().await.unwrap();
    assert!(dan.ptr_eq(&all[2]));
    assert!(!log2.take()[0].contains("UNION"));
    // A single-table subclass keeps to its rows of the base's table.
    assert_eq!(
        names(&s.query(&h.manager).all().await.unwrap()),
        ["Manager:Bob"]
    );
    s.close().await.unwrap();
    h.meta.drop_all(&t.db).await.unwrap();
});

each_backend!(get_by_key_and_writes_per_table, |t| async move {
    let h = union(&t.db).await;
    seed(&t.db, &h).await;
    let mut s = Session::new(&t.db);
    // Key 1 is in three tables: the base's own row comes first.
    let ann = s.get(&h.employee, 1_i64).await.unwrap().unwrap();
    assert_eq!(names(std::slice::from_ref(&ann)), ["Employee:Ann"]);
    let bob = s.get(&h.employee, 2_i64).await.unwrap().unwrap();
    assert_eq!(names(std::slice::from_ref(&bob)), ["Manager:Bob"]);
    assert_eq!(bob.get("budget").unwrap(), Value::Int4(100));
    assert!(s.get(&h.employee, 9_i64).await.unwrap().is_none());
    let dan = s.get(&h.contractor, 1_i64).await.unwrap().unwrap();
    assert!(!dan.ptr_eq(&ann));

    // Writes go to each class's table.
    dan.set("rate", 95).unwrap();
    dan.set("name", "Daniel").unwrap();
    s.delete(&ann).unwrap();
    s.commit().await.unwrap();
    let rows =
        t.db.fetch_all("SELECT name, rate FROM contractors", &[])
            .await
            .unwrap();
    assert_eq!(rows[0].get("rate").unwrap().as_i64(), Some(95));
    assert_eq!(count(&t.db, "SELECT id FROM employees").await, 1);
    s.close().await.unwrap();

    // Without the base's row 1, the first subclass table with it gives it;
    // the discriminator of a concrete table is its class, whatever its column says.
    t.db.execute("UPDATE contractors SET kind = 'employee'", &[])
        .await
        .unwrap();
    let mut s = Session::new(&t.db);
    let one = s.get(&h.employee, 1_i64).await.unwrap().unwrap();
    assert_eq!(names(std::slice::from_ref(&one)), ["Contractor:Daniel"]);
    assert_eq!(one.get("rate").unwrap(), Value::Int4(95));
    let again = s.get(&h.contractor, 1_i64).await.unwrap().unwrap();
    assert!(again.ptr_eq(&one));
    // Refresh reads the instance's own table.
    s.commit().await.unwrap();
    t.db.execute("UPDATE contractors SET rate = 99", &[])
        .await
        .unwrap();
    s.refresh(&one).await.unwrap();
    assert_eq!(one.get("rate").unwrap(), Value::Int4(99));
    let eve = s
        .query(&h.employee)
        .filter(h.employee.col("name").unwrap().eq("Eve"))
        .one()
        .await
        .unwrap();
    s.delete(&eve).unwrap();
    s.commit().await.unwrap();
    assert_eq!(count(&t.db, "SELECT id FROM interns").await, 0);
    assert_eq!(s.query(&h.employee).count().await.unwrap(), 2);
    s.close().await.unwrap();
    h.meta.drop_all(&t.db).await.unwrap();
});

each_backend!(relationships_to_the_base_read_the_union, |t| async move {
    let h = union(&t.db).await;
    seed(&t.db, &h).await;
    for how in ["lazy", "selectin", "joined", "subquery"] {
        let log = StatementLog::attach(&t.db);
        let mut s = Session::new(&t.db);
        let q = s.query(&h.company);
        let q = match how {
            "selectin" => q.options([Load::selectin("staff")]),
            "joined" => q.options([Load::joined("staff")]),
            "subquery" => q.options([Load::subquery("staff")]),
            _ => q,
        };
        let acme = q.one().await.unwrap();
        s.related(&acme, "staff").await.unwrap();
        let staff = acme.related_many("staff").unwrap();
        assert_eq!(
            names(&staff),
            [
                "Employee:Ann",
                "Manager:Bob",
                "Contractor:Dan",
                "Intern:Eve"
            ],
            "{how}"
        );
        // The subclasses' own columns came with their rows.
        let before = log.len();
        assert_eq!(staff[1].get("budget").unwrap(), Value::Int4(100), "{how}");
        assert_eq!(staff[2].get("rate").unwrap(), Value::Int4(90), "{how}");
        assert_eq!(staff[3].get("school").unwrap(), Value::from("MIT"), "{how}");
        assert_eq!(log.len(), before, "{how}: {:?}", log.take());
        // The many-to-one of a concrete subclass reads the company.
        s.related(&staff[2], "company").await.unwrap();
        assert!(
            staff[2]
                .related_one("company")
                .unwrap()
                .unwrap()
                .ptr_eq(&acme)
        );
        s.close().await.unwrap();
    }
    h.meta.drop_all(&t.db).await.unwrap();
});
