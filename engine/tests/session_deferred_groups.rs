//! Deferred column groups (`Column::deferred_group`, as SQLAlchemy's
//! `deferred(..., group=...)`) on both backends: reading one column of a
//! group loads the whole group in one SELECT (through a session, and through
//! the database of a bound instance); `Load::undefer_group` loads the group
//! with the query; the other groups and deferred columns stay unloaded.

use dbridge_engine::schema::{Column, Metadata, Model};
use dbridge_engine::session::{Instance, Load, Session, SessionOptions};
use dbridge_engine::{Database, ErrorKind, Value};
use dbridge_testkit::{StatementLog, each_backend};

/// `articles`: a title, two groups (`texts`: body and summary; `media`:
/// cover) and a deferred column of no group (notes).
async fn setup(db: &Database) -> Model {
    let article = dbridge_testkit::keyed("Article", "articles")
        .column(Column::new("title", "text").not_null())
        .column(Column::new("body", "text").deferred_group("texts"))
        .column(Column::new("summary", "text").deferred_group("texts"))
        .column(Column::new("cover", "text").deferred_group("media"))
        .column(Column::new("notes", "text").deferred())
        .build()
        .unwrap();
    let meta = Metadata::new();
    meta.add(article.clone()).unwrap();
    meta.create_all(db).await.unwrap();
    db.execute(
        "INSERT INTO articles (id, title, body, summary, cover, notes) \
         VALUES (1, 'A', 'long text', 'short', 'a.png', 'n')",
        &[],
    )
    .await
    .unwrap();
    article
}

fn loaded(inst: &Instance) -> Vec<&'static str> {
    ["title", "body", "summary", "cover", "notes"]
        .into_iter()
        .filter(|c| inst.is_loaded(c).unwrap())
        .collect()
}

each_backend!(
    reading_a_column_of_a_group_loads_the_group_in_one_select,
    |t| async move {
        let m = setup(&t.db).await;
        assert_eq!(m.columns()[2].deferred_group(), Some("texts"));
        assert!(m.columns()[2].is_deferred());
        assert_eq!(m.columns()[5].deferred_group(), None);
        let mut s = Session::new(&t.db);
        let a = s.get(&m, 1).await.unwrap().unwrap();
        assert_eq!(loaded(&a), ["title"]);
        let log = StatementLog::attach(&t.db);
        assert_eq!(
            s.load_attribute(&a, "summary").await.unwrap(),
            Value::from("short")
        );
        assert_eq!(log.count("SELECT"), 1);
        // The whole group came with it, and nothing else.
        assert_eq!(loaded(&a), ["title", "body", "summary"]);
        assert_eq!(a.get("body").unwrap(), Value::from("long text"));
        assert_eq!(
            s.load_attribute(&a, "body").await.unwrap(),
            Value::from("long text")
        );
        assert_eq!(log.count("SELECT"), 1);
        // Another group: one more SELECT, of that group only.
        assert_eq!(
            s.load_attribute(&a, "cover").await.unwrap(),
            Value::from("a.png")
        );
        assert_eq!(log.count("SELECT"), 2);
        assert_eq!(loaded(&a), ["title", "body", "summary", "cover"]);
        assert_eq!(
            s.load_attribute(&a, "notes").await.unwrap(),
            Value::from("n")
        );
        assert_eq!(log.count("SELECT"), 3);
        s.commit().await.unwrap();
    }
);

each_backend!(
    undefer_group_loads_the_group_with_the_query,
    |t| async move {
        let m = setup(&t.db).await;
        let mut s = Session::new(&t.db);
        let log = StatementLog::attach(&t.db);
        let found = s
            .query(&m)
            .options([Load::undefer_group("texts")])
            .all()
            .await
            .unwrap();
        assert_eq!(log.count("SELECT"), 1);
        assert_eq!(loaded(&found[0]), ["title", "body", "summary"]);
        assert_eq!(found[0].get("summary").unwrap(), Value::from("short"));
        s.expunge_all();
        let a = s
            .query(&m)
            .options([Load::undefer_group("media"), Load::undefer("notes")])
            .one()
            .await
            .unwrap();
        assert_eq!(loaded(&a), ["title", "cover", "notes"]);
        let e = s
            .query(&m)
            .options([Load::undefer_group("textz")])
            .all()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Schema);
        assert!(
            e.to_string()
                .contains("no deferred group `textz` on model `Article`"),
            "{e}"
        );
        s.commit().await.unwrap();
    }
);

each_backend!(
    a_bound_instance_loads_the_group_through_its_database,
    |t| async move {
        let m = setup(&t.db).await;
        // As a binding's `db:query(Model)`: committed without expiring,
        // then detached and bound to the database.
        let mut s = Session::with_options(&t.db, SessionOptions::new().expire_on_commit(false));
        let a = s.get(&m, 1).await.unwrap().unwrap();
        s.commit().await.unwrap();
        s.expunge_all_bound();
        assert!(a.bound_database().is_some());
        let log = StatementLog::attach(&t.db);
        assert_eq!(
            a.load_attribute_bound("body").await.unwrap(),
            Some(Value::from("long text"))
        );
        assert_eq!(log.count("SELECT"), 1);
        assert_eq!(loaded(&a), ["title", "body", "summary"]);
        assert_eq!(a.get("summary").unwrap(), Value::from("short"));
    }
);

#[test]
fn a_group_name_is_a_plain_name() {
    let e = dbridge_testkit::keyed("Bad", "bad")
        .column(Column::new("body", "text").deferred_group("no spaces"))
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Schema);
    assert!(e.to_string().contains("invalid deferred group name"), "{e}");
}

each_backend!(
    column_options_load_columns_of_instances_at_hand,
    |t| async move {
        let m = setup(&t.db).await;
        let mut s = Session::new(&t.db);
        let a = s.get(&m, 1).await.unwrap().unwrap();
        a.set("title", "changed").unwrap();
        let log = StatementLog::attach(&t.db);
        // `s.load` with column options reads what they ask for, in one
        // SELECT, and keeps the unflushed change.
        s.load(
            std::slice::from_ref(&a),
            &[Load::undefer_group("texts"), Load::undefer("notes")],
        )
        .await
        .unwrap();
        assert_eq!(log.count("SELECT"), 1);
        assert_eq!(loaded(&a), ["title", "body", "summary", "notes"]);
        assert_eq!(a.get("title").unwrap(), Value::from("changed"));
        // Loaded already: no SQL.
        s.load(std::slice::from_ref(&a), &[Load::undefer("notes")])
            .await
            .unwrap();
        assert_eq!(log.count("SELECT"), 1);
        s.rollback().await.unwrap();
    }
);
