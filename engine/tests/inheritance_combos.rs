//! Inheritance mappings combined, on both backends: single-table subclasses
//! under a joined-table subclass, three levels of joined tables, and joined
//! tables keyed by a composite primary key. Each: the schema (and no
//! spurious autogenerate difference), flush, queries of each class, get,
//! update, refresh and delete round trips, selectin polymorphic loading.

mod inherit_common;

use dbridge_engine::migrate::{IntrospectOptions, SchemaDiff, SchemaSnapshot, introspect};
use dbridge_engine::schema::{Column, Metadata, Model, Relationship};
use dbridge_engine::session::{Instance, Load, Session};
use dbridge_engine::{Database, Value};
use dbridge_testkit::{StatementLog, each_backend};

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

async fn count(db: &Database, sql: &str) -> usize {
    db.fetch_all(sql, &[]).await.unwrap().len()
}

async fn no_spurious_diff(db: &Database, meta: &Metadata) {
    let declared = SchemaSnapshot::from_metadata(meta, db.backend()).unwrap();
    let live = introspect(db, &IntrospectOptions::default()).await.unwrap();
    let diff = SchemaDiff::between(&live, &declared);
    assert!(diff.is_empty(), "{diff:?}");
}

fn employee(meta: &Metadata) -> Model {
    meta.add(inherit_common::employee().build().unwrap())
        .unwrap()
}

each_backend!(single_table_under_a_joined_subclass, |t| async move {
    let meta = Metadata::new();
    let employee = employee(&meta);
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
    // A single-table subclass of the joined one: its column is in `engineers`.
    let senior = meta
        .add(
            Model::builder("Senior")
                .inherits(&engineer)
                .polymorphic_identity("senior")
                .column(Column::new("level", "integer"))
                .relationship(
                    "mentee",
                    Relationship::belongs_to("Engineer").foreign_key("mentee_id"),
                )
                .column(Column::new("mentee_id", "bigint").references("engineers", "id"))
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(senior.table(), engineer.table());
    assert!(senior.is_joined());
    meta.create_all(&t.db).await.unwrap();
    no_spurious_diff(&t.db, &meta).await;
    let mut s = Session::new(&t.db);
    let cy = Instance::with_values(&engineer, [("name", "Cy"), ("language", "go")]).unwrap();
    s.add(Instance::with_values(&employee, [("name", "Ann")]).unwrap())
        .unwrap();
    s.add(cy.clone()).unwrap();
    s.flush().await.unwrap();
    let sal = Instance::with_values(
        &senior,
        [
            ("name", Value::from("Sal")),
            ("language", Value::from("rust")),
            ("level", Value::from(3)),
            ("mentee_id", cy.get("id").unwrap()),
        ],
    )
    .unwrap();
    s.add(sal.clone()).unwrap();
    s.commit().await.unwrap();
    let sal_id = sal.get("id").unwrap();
    let rows =
        t.db.fetch_all("SELECT language, level FROM engineers ORDER BY id", &[])
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].get("level").unwrap().as_i64(), Some(3));
    s.close().await.unwrap();

    for selectin in [false, true] {
        let log = StatementLog::attach(&t.db);
        let mut s = Session::new(&t.db);
        let q = s.query(&employee).order_by(employee.col("id").unwrap());
        let q = if selectin {
            q.options([Load::selectin_polymorphic()])
        } else {
            q
        };
        let all = q.all().await.unwrap();
        assert_eq!(
            names(&all),
            ["Employee:Ann", "Engineer:Cy", "Senior:Sal"],
            "selectin {selectin}"
        );
        let n = log.len();
        assert_eq!(all[2].get("language").unwrap(), Value::from("rust"));
        assert_eq!(all[2].get("level").unwrap(), Value::Int4(3));
        assert_eq!(all[1].get("language").unwrap(), Value::from("go"));
        assert_eq!(log.len(), n, "{:?}", log.take());
        s.close().await.unwrap();
    }

    let mut s = Session::new(&t.db);
    // A query of the joined class returns its single-table subclass too.
    let engineers = s
        .query(&engineer)
        .order_by(engineer.col("id").unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(names(&engineers), ["Engineer:Cy", "Senior:Sal"]);
    assert_eq!(engineers[1].get("level").unwrap(), Value::Int4(3));
    // A query of the single-table subclass keeps to its rows.
    let seniors = s
        .query(&senior)
        .filter(senior.col("level").unwrap().ge(1))
        .all()
        .await
        .unwrap();
    assert_eq!(names(&seniors), ["Senior:Sal"]);
    assert!(seniors[0].ptr_eq(&engineers[1]));
    assert_eq!(s.query(&senior).count().await.unwrap(), 1);
    assert!(
        s.get(&senior, engineers[0].get("id").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let got = s.get(&employee, sal_id.clone()).await.unwrap().unwrap();
    assert!(got.ptr_eq(&seniors[0]));
    // The subclass's relationship, to a joined class.
    s.related(&got, "mentee").await.unwrap();
    let mentee = got.related_one("mentee").unwrap().unwrap();
    assert!(mentee.ptr_eq(&engineers[0]));

    // Update the three kinds of column; refresh; delete.
    got.set("name", "Sally").unwrap();
    got.set("language", "zig").unwrap();
    got.set("level", 4).unwrap();
    s.commit().await.unwrap();
    t.db.execute("UPDATE engineers SET level = 5 WHERE level = 4", &[])
        .await
        .unwrap();
    s.refresh(&got).await.unwrap();
    assert_eq!(got.get("name").unwrap(), Value::from("Sally"));
    assert_eq!(got.get("language").unwrap(), Value::from("zig"));
    assert_eq!(got.get("level").unwrap(), Value::Int4(5));
    s.delete(&got).unwrap();
    s.commit().await.unwrap();
    assert_eq!(count(&t.db, "SELECT id FROM engineers").await, 1);
    assert_eq!(count(&t.db, "SELECT id FROM employees").await, 2);
    s.close().await.unwrap();
    meta.drop_all(&t.db).await.unwrap();
});

each_backend!(three_levels_of_joined_tables, |t| async move {
    let meta = Metadata::new();
    let employee = employee(&meta);
    let engineer = meta
        .add(
            Model::builder("Engineer")
                .table("engineers")
                .inherits(&employee)
                .polymorphic_identity("engineer")
                .column(Column::new("language", "text").not_null())
                .build()
                .unwrap(),
        )
        .unwrap();
    let principal = meta
        .add(
            Model::builder("Principal")
                .table("principals")
                .inherits(&engineer)
                .polymorphic_identity("principal")
                .column(Column::new("stock", "integer").not_null())
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(principal.table_parts().unwrap().len(), 3);
    meta.create_all(&t.db).await.unwrap();
    no_spurious_diff(&t.db, &meta).await;

    let mut s = Session::new(&t.db);
    s.add(Instance::with_values(&employee, [("name", "Ann")]).unwrap())
        .unwrap();
    s.add(Instance::with_values(&engineer, [("name", "Cy"), ("language", "go")]).unwrap())
        .unwrap();
    let pat = Instance::with_values(
        &principal,
        [
            ("name", Value::from("Pat")),
            ("language", Value::from("rust")),
            ("stock", Value::from(10)),
        ],
    )
    .unwrap();
    s.add(pat.clone()).unwrap();
    s.commit().await.unwrap();
    let pat_id = pat.get("id").unwrap();
    assert_eq!(count(&t.db, "SELECT id FROM employees").await, 3);
    assert_eq!(count(&t.db, "SELECT id FROM engineers").await, 2);
    let rows =
        t.db.fetch_all("SELECT id, stock FROM principals", &[])
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get("id").unwrap().as_i64(), pat_id.as_i64());
    s.close().await.unwrap();

    for selectin in [false, true] {
        let log = StatementLog::attach(&t.db);
        let mut s = Session::new(&t.db);
        let q = s.query(&employee).order_by(employee.col("id").unwrap());
        let q = if selectin {
            q.options([Load::selectin_polymorphic()])
        } else {
            q
        };
        let all = q.all().await.unwrap();
        assert_eq!(
            names(&all),
            ["Employee:Ann", "Engineer:Cy", "Principal:Pat"],
            "selectin {selectin}"
        );
        let n = log.len();
        assert_eq!(all[2].get("language").unwrap(), Value::from("rust"));
        assert_eq!(all[2].get("stock").unwrap(), Value::Int4(10));
        assert_eq!(log.len(), n, "{:?}", log.take());
        s.close().await.unwrap();
    }

    let mut s = Session::new(&t.db);
    let engineers = s
        .query(&engineer)
        .order_by(engineer.col("id").unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(names(&engineers), ["Engineer:Cy", "Principal:Pat"]);
    assert_eq!(engineers[1].get("stock").unwrap(), Value::Int4(10));
    let rich = s
        .query(&principal)
        .filter(principal.col("stock").unwrap().gt(5))
        .filter(principal.col("language").unwrap().eq("rust"))
        .one()
        .await
        .unwrap();
    assert!(rich.ptr_eq(&engineers[1]));
    assert!(
        s.get(&principal, engineers[0].get("id").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let got = s.get(&engineer, pat_id.clone()).await.unwrap().unwrap();
    assert!(got.ptr_eq(&rich));

    // An update of each level's column writes the three tables.
    let log = StatementLog::attach(&t.db);
    got.set("name", "Patricia").unwrap();
    got.set("language", "zig").unwrap();
    got.set("stock", 20).unwrap();
    s.commit().await.unwrap();
    assert_eq!(log.count("UPDATE"), 3, "{:?}", log.take());
    t.db.execute("UPDATE principals SET stock = 30", &[])
        .await
        .unwrap();
    t.db.execute(
        "UPDATE engineers SET language = 'ada' WHERE language = 'zig'",
        &[],
    )
    .await
    .unwrap();
    s.refresh(&got).await.unwrap();
    assert_eq!(got.get("name").unwrap(), Value::from("Patricia"));
    assert_eq!(got.get("language").unwrap(), Value::from("ada"));
    assert_eq!(got.get("stock").unwrap(), Value::Int4(30));

    // Delete: the three rows, the most derived first.
    log.clear();
    s.delete(&got).unwrap();
    s.commit().await.unwrap();
    let deletes: Vec<String> = log
        .take()
        .into_iter()
        .filter(|s| s.starts_with("DELETE"))
        .collect();
    assert_eq!(deletes.len(), 3, "{deletes:?}");
    assert!(deletes[0].contains("principals") && deletes[2].contains("employees"));
    assert_eq!(count(&t.db, "SELECT id FROM principals").await, 0);
    assert_eq!(count(&t.db, "SELECT id FROM engineers").await, 1);
    assert_eq!(count(&t.db, "SELECT id FROM employees").await, 2);

    // The database cascades a delete of the base row down the chain.
    let pat2 = Instance::with_values(
        &principal,
        [
            ("name", Value::from("Pam")),
            ("language", Value::from("c")),
            ("stock", Value::from(1)),
        ],
    )
    .unwrap();
    s.add(pat2.clone()).unwrap();
    s.commit().await.unwrap();
    s.close().await.unwrap();
    t.db.execute("DELETE FROM employees WHERE kind = 'principal'", &[])
        .await
        .unwrap();
    assert_eq!(count(&t.db, "SELECT id FROM principals").await, 0);
    assert_eq!(count(&t.db, "SELECT id FROM engineers").await, 1);
    meta.drop_all(&t.db).await.unwrap();
});

each_backend!(joined_tables_with_a_composite_key, |t| async move {
    let meta = Metadata::new();
    let site = meta
        .add(
            Model::builder("Site")
                .table("sites")
                .column(Column::new("region", "text").primary_key())
                .column(Column::new("num", "integer").primary_key())
                .column(Column::new("name", "text").not_null())
                .column(Column::new("kind", "text").not_null())
                .polymorphic_on("kind")
                .polymorphic_identity("site")
                .build()
                .unwrap(),
        )
        .unwrap();
    let depot = meta
        .add(
            Model::builder("Depot")
                .table("depots")
                .inherits(&site)
                .polymorphic_identity("depot")
                .column(Column::new("capacity", "integer").not_null())
                .build()
                .unwrap(),
        )
        .unwrap();
    let cold = meta
        .add(
            Model::builder("ColdDepot")
                .table("cold_depots")
                .inherits(&depot)
                .polymorphic_identity("cold")
                .column(Column::new("celsius", "integer"))
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(depot.primary_key().len(), 2);
    meta.create_all(&t.db).await.unwrap();
    no_spurious_diff(&t.db, &meta).await;

    let key = |r: &str, n: i32| vec![Value::from(r), Value::from(n)];
    let mut s = Session::new(&t.db);
    for (m, r, n, name) in [
        (&site, "eu", 1, "Paris"),
        (&depot, "eu", 2, "Lyon"),
        (&cold, "us", 1, "Boston"),
    ] {
        let mut vals = vec![
            ("region", Value::from(r)),
            ("num", Value::from(n)),
            ("name", Value::from(name)),
        ];
        if m.is_a(&depot) {
            vals.push(("capacity", Value::from(n * 100)));
        }
        if m.ptr_eq(&cold) {
            vals.push(("celsius", Value::from(-18)));
        }
        s.add(Instance::with_values(m, vals).unwrap()).unwrap();
    }
    s.commit().await.unwrap();
    let rows =
        t.db.fetch_all(
            "SELECT region, num, capacity FROM depots ORDER BY region",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].get("region").unwrap(), &Value::from("us"));
    s.close().await.unwrap();

    for selectin in [false, true] {
        let mut s = Session::new(&t.db);
        let q = s
            .query(&site)
            .order_by(site.col("region").unwrap())
            .order_by(site.col("num").unwrap());
        let q = if selectin {
            q.options([Load::selectin_polymorphic()])
        } else {
            q
        };
        let all = q.all().await.unwrap();
        assert_eq!(
            names(&all),
            ["Site:Paris", "Depot:Lyon", "ColdDepot:Boston"]
        );
        assert_eq!(all[1].get("capacity").unwrap(), Value::Int4(200));
        assert_eq!(all[2].get("capacity").unwrap(), Value::Int4(100));
        assert_eq!(all[2].get("celsius").unwrap(), Value::Int4(-18));
        s.close().await.unwrap();
    }

    let mut s = Session::new(&t.db);
    let boston = s.get(&site, key("us", 1)).await.unwrap().unwrap();
    assert_eq!(boston.model().name().as_str(), "ColdDepot");
    assert!(s.get(&depot, key("eu", 1)).await.unwrap().is_none());
    let lyon = s.get(&depot, key("eu", 2)).await.unwrap().unwrap();
    assert!(s.get(&cold, key("eu", 2)).await.unwrap().is_none());
    boston.set("celsius", -20).unwrap();
    boston.set("capacity", 150).unwrap();
    boston.set("name", "Cambridge").unwrap();
    lyon.set("capacity", 250).unwrap();
    s.commit().await.unwrap();
    t.db.execute(
        "UPDATE cold_depots SET celsius = -25 WHERE region = 'us' AND num = 1",
        &[],
    )
    .await
    .unwrap();
    s.refresh(&boston).await.unwrap();
    assert_eq!(boston.get("celsius").unwrap(), Value::Int4(-25));
    assert_eq!(boston.get("capacity").unwrap(), Value::Int4(150));
    assert_eq!(boston.get("name").unwrap(), Value::from("Cambridge"));
    s.delete(&boston).unwrap();
    s.delete(&lyon).unwrap();
    s.commit().await.unwrap();
    assert_eq!(count(&t.db, "SELECT region FROM cold_depots").await, 0);
    assert_eq!(count(&t.db, "SELECT region FROM depots").await, 0);
    assert_eq!(count(&t.db, "SELECT region FROM sites").await, 1);
    s.close().await.unwrap();
    meta.drop_all(&t.db).await.unwrap();
});

each_backend!(
    single_table_siblings_sharing_a_column_name,
    |t| async move {
        let meta = Metadata::new();
        let employee = employee(&meta);
        let mut subs = Vec::new();
        for (name, id) in [("Manager", "manager"), ("Director", "director")] {
            subs.push(
                meta.add(
                    Model::builder(name)
                        .inherits(&employee)
                        .polymorphic_identity(id)
                        .column(Column::new("budget", "integer"))
                        .build()
                        .unwrap(),
                )
                .unwrap(),
            );
        }
        meta.create_all(&t.db).await.unwrap();
        no_spurious_diff(&t.db, &meta).await;
        let mut s = Session::new(&t.db);
        for (m, name, budget) in [(&subs[0], "Bob", 1), (&subs[1], "Dee", 2)] {
            let vals = [("name", Value::from(name)), ("budget", Value::from(budget))];
            s.add(Instance::with_values(m, vals).unwrap()).unwrap();
        }
        s.commit().await.unwrap();
        s.close().await.unwrap();
        // One `budget` column in the table: each class reads it.
        let mut s = Session::new(&t.db);
        let all = s
            .query(&employee)
            .order_by(employee.col("id").unwrap())
            .all()
            .await
            .unwrap();
        assert_eq!(names(&all), ["Manager:Bob", "Director:Dee"]);
        assert_eq!(all[0].get("budget").unwrap(), Value::Int4(1));
        assert_eq!(all[1].get("budget").unwrap(), Value::Int4(2));
        s.close().await.unwrap();
        meta.drop_all(&t.db).await.unwrap();
    }
);
