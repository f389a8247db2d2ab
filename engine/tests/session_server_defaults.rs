//! Server defaults and a session flush on both backends: an attribute the
//! script did not set is left out of the INSERT (the table's default applies,
//! even one the model does not declare), rows are batched by the columns they
//! set, and what the database filled in is read back.

use dbridge_engine::schema::{Column, Model};
use dbridge_engine::session::{Instance, Session};
use dbridge_engine::{Backend, SqlType, Value};
use dbridge_testkit::{StatementLog, each_backend};

/// A table whose defaults the model does not declare.
async fn table(db: &dbridge_engine::Database, name_default: &str) -> Model {
    let now = match db.backend() {
        Backend::Postgres => "now()",
        // dbridge's storage form of a timestamptz on SQLite.
        _ => "(strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))",
    };
    let id = match db.backend() {
        Backend::Postgres => "BIGSERIAL PRIMARY KEY",
        _ => "INTEGER PRIMARY KEY",
    };
    let ts = match db.backend() {
        Backend::Postgres => "TIMESTAMPTZ",
        _ => "TEXT",
    };
    db.execute(
        &format!(
            "CREATE TABLE s (id {id}, name TEXT NOT NULL {name_default}, created {ts} NOT NULL DEFAULT {now}, \
             rank INTEGER NOT NULL DEFAULT 7, note TEXT)"
        ),
        &[],
    )
    .await
    .unwrap();
    Model::builder("S")
        .table("s")
        .column(Column::new("id", SqlType::Int8).primary_key())
        .column(Column::new("name", "text").not_null())
        .column(Column::new("created", "timestamptz").not_null())
        .column(Column::new("rank", "integer").not_null())
        .column(Column::new("note", "text"))
        .build()
        .unwrap()
}

each_backend!(unset_attributes_get_the_servers_defaults, |t| async move {
    let model = table(&t.db, "").await;
    let log = StatementLog::attach(&t.db);
    let mut s = Session::new(&t.db);
    let a = Instance::with_values(&model, [("name", "a")]).unwrap();
    let b = Instance::with_values(&model, [("name", "b")]).unwrap();
    let c = Instance::with_values(
        &model,
        [("name", Value::from("c")), ("rank", Value::from(3))],
    )
    .unwrap();
    let d =
        Instance::with_values(&model, [("name", Value::from("d")), ("note", Value::Null)]).unwrap();
    s.add_all([a.clone(), b.clone(), c.clone(), d.clone()])
        .unwrap();
    s.flush().await.unwrap();

    // Read back without another SELECT: the defaults and the NULL note.
    for inst in [&a, &b, &d] {
        assert_eq!(inst.get("rank").unwrap(), Value::Int4(7));
        assert!(!inst.get("created").unwrap().is_null());
    }
    assert_eq!(c.get("rank").unwrap(), Value::Int4(3));
    assert_eq!(d.get("note").unwrap(), Value::Null);
    assert_eq!(a.get("note").unwrap(), Value::Null);
    assert!(a.get("id").unwrap().as_i64().unwrap() < b.get("id").unwrap().as_i64().unwrap());
    // Three column sets, three INSERTs (a and b share one), no SELECT.
    assert_eq!(log.count("INSERT"), 3);
    assert_eq!(log.count("SELECT"), 0);
    s.commit().await.unwrap();

    let row =
        t.db.fetch_one("SELECT count(*) FROM s WHERE rank = 7", &[])
            .await
            .unwrap();
    assert_eq!(row.get(0).unwrap().as_i64(), Some(3));
});

each_backend!(
    instances_setting_nothing_insert_one_by_one,
    |t| async move {
        let model = table(&t.db, "DEFAULT 'anon'").await;
        let mut s = Session::new(&t.db);
        let a = Instance::new(&model);
        let b = Instance::new(&model);
        s.add_all([a.clone(), b.clone()]).unwrap();
        s.commit().await.unwrap();
        assert_eq!(a.get("name").unwrap(), Value::from("anon"));
        assert_eq!(b.get("rank").unwrap(), Value::Int4(7));
        assert_ne!(a.get("id").unwrap(), b.get("id").unwrap());
    }
);
