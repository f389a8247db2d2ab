//! Relationship loaders of a polymorphic target on both backends: a
//! collection or a many-to-one whose target is a base loads each row as its
//! class with the subclass's own columns up front, as a query of the base
//! does (single-table subclasses' columns in the same statement, joined
//! subclasses' tables LEFT OUTER JOINed, or read by a second SELECT when the
//! subclass loads by selectin), whatever the loader: lazy, selectin, joined,
//! subquery.

mod inherit_common;

use dbridge_engine::Value;
use dbridge_engine::schema::{Column, Metadata, Model, PolymorphicLoad, Relationship};
use dbridge_engine::session::{Instance, Load, Session};
use dbridge_testkit::{StatementLog, each_backend};

struct H {
    meta: Metadata,
    company: Model,
    employee: Model,
    engineer: Model,
    desk: Model,
}

/// Company -> staff (Employee); Employee: Manager (single table), Engineer
/// (joined, read inline), Chef (joined, read by selectin); Desk -> owner.
async fn setup(db: &dbridge_engine::Database) -> H {
    let meta = Metadata::new();
    let company = meta
        .add(
            inherit_common::company()
                .relationship("staff", Relationship::has_many("Employee").order_by("id"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let employee = meta
        .add(
            inherit_common::employee_of_company()
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
    let engineer = meta
        .add(
            Model::builder("Engineer")
                .table("engineers")
                .inherits(&employee)
                .polymorphic_identity("engineer")
                .column(Column::new("language", "text"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let chef = meta
        .add(
            Model::builder("Chef")
                .table("chefs")
                .inherits(&employee)
                .polymorphic_identity("chef")
                .polymorphic_load(PolymorphicLoad::Selectin)
                .column(Column::new("dish", "text"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let desk = meta
        .add(
            Model::builder("Desk")
                .table("desks")
                .column(Column::new("id", "bigint").primary_key())
                .column(Column::new("owner_id", "bigint").references("employees", "id"))
                .relationship("owner", Relationship::belongs_to("Employee"))
                .build()
                .unwrap(),
        )
        .unwrap();
    meta.create_all(db).await.unwrap();

    let mut s = Session::new(db);
    let acme = Instance::with_values(&company, [("name", "acme")]).unwrap();
    s.add(acme.clone()).unwrap();
    s.flush().await.unwrap();
    let c = acme.get("id").unwrap();
    /// A person: class, name and own column.
    type Person<'a> = (&'a Model, &'a str, Option<(&'a str, Value)>);
    let people: [Person; 4] = [
        (&employee, "Ann", None),
        (&manager, "Bob", Some(("budget", 100.into()))),
        (&engineer, "Cy", Some(("language", "rust".into()))),
        (&chef, "Di", Some(("dish", "soup".into()))),
    ];
    for (m, name, own) in people {
        let mut vals = vec![("name", Value::from(name)), ("company_id", c.clone())];
        vals.extend(own);
        let inst = Instance::with_values(m, vals).unwrap();
        s.add(inst.clone()).unwrap();
        s.flush().await.unwrap();
        let desk_row = Instance::with_values(&desk, [("owner_id", inst.get("id").unwrap())]);
        s.add(desk_row.unwrap()).unwrap();
    }
    s.commit().await.unwrap();
    s.close().await.unwrap();
    H {
        meta,
        company,
        employee,
        engineer,
        desk,
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

/// The subclasses' own columns are loaded: reading them runs no SQL.
fn check_loaded(staff: &[Instance], log: &StatementLog, how: &str) {
    // (a joined collection comes in the order of the statement's rows)
    let mut staff = staff.to_vec();
    staff.sort_by_key(|i| i.get("name").unwrap().as_str().unwrap().to_owned());
    assert_eq!(
        names(&staff),
        ["Employee:Ann", "Manager:Bob", "Engineer:Cy", "Chef:Di"],
        "{how}"
    );
    let before = log.len();
    assert_eq!(staff[1].get("budget").unwrap(), Value::Int4(100), "{how}");
    assert_eq!(
        staff[2].get("language").unwrap(),
        Value::from("rust"),
        "{how}"
    );
    assert_eq!(staff[3].get("dish").unwrap(), Value::from("soup"), "{how}");
    assert_eq!(log.len(), before, "{how}");
}

each_backend!(
    collections_of_a_base_load_subclass_columns,
    |t| async move {
        let h = setup(&t.db).await;
        // (option, SELECTs: the company's, the staff's, the chefs' second SELECT)
        let cases = [("lazy", 3), ("selectin", 3), ("joined", 2), ("subquery", 3)];
        for (how, selects) in cases {
            let log = StatementLog::attach(&t.db);
            let mut s = Session::new(&t.db);
            let q = s.query(&h.company);
            let q = match how {
                "selectin" => q.options([Load::selectin("staff")]),
                "joined" => q.options([Load::joined("staff")]),
                "subquery" => q.options([Load::subquery("staff")]),
                _ => q,
            };
            let acme = q.all().await.unwrap().remove(0); // no LIMIT: joined collections join
            s.related(&acme, "staff").await.unwrap();
            let staff = acme.related_many("staff").unwrap();
            let statements = log.take();
            assert_eq!(
                statements
                    .iter()
                    .filter(|s| s.starts_with("SELECT"))
                    .count(),
                selects,
                "{how}: {statements:?}"
            );
            check_loaded(&staff, &log, how);
            s.close().await.unwrap();
        }
        h.meta.drop_all(&t.db).await.unwrap();
    }
);

each_backend!(many_to_one_to_a_base_loads_the_subclass, |t| async move {
    let h = setup(&t.db).await;
    for how in ["lazy", "selectin", "joined"] {
        let log = StatementLog::attach(&t.db);
        let mut s = Session::new(&t.db);
        let q = s.query(&h.desk).order_by(h.desk.col("id").unwrap());
        let q = match how {
            "selectin" => q.options([Load::selectin("owner")]),
            "joined" => q.options([Load::joined("owner")]),
            _ => q,
        };
        let desks = q.all().await.unwrap();
        let mut owners = Vec::new();
        for d in &desks {
            s.related(d, "owner").await.unwrap();
            owners.push(d.related_one("owner").unwrap().unwrap());
        }
        log.clear();
        check_loaded(&owners, &log, how);
        s.close().await.unwrap();
    }
    // A query of the base with a loader reads the subclasses too.
    let log = StatementLog::attach(&t.db);
    let mut s = Session::new(&t.db);
    let staff = s
        .query(&h.employee)
        .options([Load::selectin("company")])
        .order_by(h.employee.col("id").unwrap())
        .all()
        .await
        .unwrap();
    // The staff (managers' and engineers' columns joined), the chefs', the company.
    assert_eq!(log.count("SELECT"), 3, "{:?}", log.take());
    log.clear();
    check_loaded(&staff, &log, "query with a loader");
    s.close().await.unwrap();
    h.meta.drop_all(&t.db).await.unwrap();
});

each_backend!(
    a_query_of_the_base_joined_to_a_subclass_table,
    |t| async move {
        let h = setup(&t.db).await;
        let (e, eng) = (&h.employee, &h.engineer);
        for with_loader in [false, true] {
            let mut s = Session::new(&t.db);
            // The query's own join of `engineers`: the polymorphic read of the
            // engineers' columns joins it again under another name.
            let q = s
                .query(e)
                .join(eng, eng.col("id").unwrap().eq(e.col("id").unwrap()))
                .filter(eng.col("language").unwrap().eq("rust"));
            let q = if with_loader {
                q.options([Load::selectin("company")])
            } else {
                q
            };
            let found = q.all().await.unwrap();
            assert_eq!(names(&found), ["Engineer:Cy"], "{with_loader}");
            assert_eq!(found[0].get("language").unwrap(), Value::from("rust"));
            s.close().await.unwrap();
        }
        h.meta.drop_all(&t.db).await.unwrap();
    }
);
