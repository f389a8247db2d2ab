//! Tables from models on both backends: constraints, checks, generated columns,
//! partial indexes, enums, composite keys and foreign keys, cycles.

mod common;

use std::sync::Arc;

use dbridge_engine::query::{Delete, Expr, Insert, Run, Select};
use dbridge_engine::schema::{Column, Identity, Index, Metadata, Model};
use dbridge_engine::{ErrorKind, SqlType, Value};
use dbridge_testkit::each_backend;

each_backend!(
    constraints_checks_generated_partial_index_enum,
    |t| async move {
        let meta = Metadata::new();
        let mood = SqlType::Enum(Arc::new(dbridge_engine::EnumType {
            name: "mood".into(),
            labels: vec!["happy".into(), "sad".into()],
        }));
        let item = meta
            .add(
                Model::builder("Item")
                    .table("items")
                    .column(
                        Column::new("id", SqlType::Int8)
                            .primary_key()
                            .identity(Some(Identity::ByDefault)),
                    )
                    .column(Column::new("sku", "text").not_null())
                    .column(
                        Column::new("qty", "integer")
                            .not_null()
                            .check(Expr::col("qty").unwrap().ge(0)),
                    )
                    .column(
                        Column::new("price", "numeric(10,2)")
                            .not_null()
                            .default(Value::Numeric("1.50".parse().unwrap())),
                    )
                    .column(
                        Column::new("total", "numeric(12,2)")
                            .generated(Expr::col("qty").unwrap() * Expr::col("price").unwrap()),
                    )
                    .column(Column::new("deleted", "boolean").not_null().default(false))
                    .column(Column::new("feel", mood.clone()).default(Value::Enum(
                        dbridge_engine::EnumValue {
                            type_name: "mood".into(),
                            label: "happy".into(),
                        },
                    )))
                    .column(Column::new("note", "text").default("it's \\ fine"))
                    .index(
                        Index::new(["sku"])
                            .unique()
                            .filter(Expr::col("deleted").unwrap().eq(false)),
                    )
                    .check(
                        "ck_items_sku_len",
                        dbridge_engine::query::func::length(Expr::col("sku").unwrap()).le(8),
                    )
                    .build()
                    .unwrap(),
            )
            .unwrap();
        meta.create_all(&t.db).await.unwrap();
        meta.create_all(&t.db).await.unwrap(); // idempotent
        let ins = |sku: &str, qty: i32, deleted: bool| {
            Insert::into(&item)
                .columns(["sku", "qty", "deleted"])
                .unwrap()
                .values(vec![sku.into(), qty.into(), deleted.into()])
                .unwrap()
                .returning_all()
        };
        let row = ins("A1", 4, false).fetch_one(&t.db).await.unwrap();
        // SQLite computes the generated numeric as a number (no fixed scale): compare values.
        assert_eq!(
            row.get("total")
                .unwrap()
                .to_string()
                .parse::<f64>()
                .unwrap(),
            6.0
        );
        assert_eq!(row.get("note").unwrap(), &Value::from("it's \\ fine"));
        assert_eq!(row.get("feel").unwrap().to_string(), "happy");
        // Partial unique index: a second live A1 conflicts, a deleted one does not.
        assert_eq!(
            ins("A1", 1, false)
                .fetch_one(&t.db)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::UniqueViolation
        );
        ins("A1", 1, true).fetch_one(&t.db).await.unwrap();
        ins("A1", 2, true).fetch_one(&t.db).await.unwrap();
        assert_eq!(
            ins("B1", -1, false)
                .fetch_one(&t.db)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::CheckViolation
        );
        assert_eq!(
            ins("TOO-LONG-SKU", 1, false)
                .fetch_one(&t.db)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::CheckViolation
        );
        // Enum values outside the labels are refused by the database.
        let bad = Insert::into(&item)
            .columns(["sku", "qty", "feel"])
            .unwrap()
            .values(vec![
                "C1".into(),
                1.into(),
                Value::Enum(dbridge_engine::EnumValue {
                    type_name: "mood".into(),
                    label: "meh".into(),
                }),
            ]);
        assert!(bad.is_err() || bad.unwrap().execute(&t.db).await.is_err());
        // Writing a generated column is refused when the statement is built.
        let err = Insert::into(&item).columns(["total"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `total` of model `Item` is generated; the database computes it"
        );
        meta.drop_all(&t.db).await.unwrap();
        meta.drop_all(&t.db).await.unwrap(); // IF EXISTS
        let err = t.db.execute("SELECT 1 FROM items", &[]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedTable);
    }
);

each_backend!(composite_keys_and_foreign_keys, |t| async move {
    let meta = Metadata::new();
    let account = meta
        .add(
            Model::builder("Account")
                .table("accounts")
                .column(Column::new("org", "text").primary_key())
                .column(Column::new("num", "integer").primary_key())
                .column(Column::new("name", "text"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let entry = meta
        .add(
            dbridge_testkit::keyed("Entry", "entries")
                .column(Column::new("org", "text").not_null())
                .column(Column::new("num", "integer").not_null())
                .foreign_key(
                    dbridge_engine::schema::ForeignKey::new(
                        ["org", "num"],
                        "accounts",
                        ["org", "num"],
                    )
                    .on_delete(dbridge_engine::schema::ReferentialAction::Cascade),
                )
                .build()
                .unwrap(),
        )
        .unwrap();
    meta.create_all(&t.db).await.unwrap();
    Insert::into(&account)
        .columns(["org", "num", "name"])
        .unwrap()
        .values(vec!["acme".into(), 1.into(), "cash".into()])
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap();
    let ok = Insert::into(&entry)
        .columns(["org", "num"])
        .unwrap()
        .values(vec!["acme".into(), 1.into()])
        .unwrap();
    ok.execute(&t.db).await.unwrap();
    let bad = Insert::into(&entry)
        .columns(["org", "num"])
        .unwrap()
        .values(vec!["acme".into(), 2.into()])
        .unwrap();
    assert_eq!(
        bad.execute(&t.db).await.unwrap_err().kind(),
        ErrorKind::ForeignKeyViolation
    );
    let dup = Insert::into(&account)
        .columns(["org", "num"])
        .unwrap()
        .values(vec!["acme".into(), 1.into()])
        .unwrap();
    assert_eq!(
        dup.execute(&t.db).await.unwrap_err().kind(),
        ErrorKind::UniqueViolation
    );
    Delete::from(&account).execute(&t.db).await.unwrap();
    let n = Select::from(&entry).fetch_all(&t.db).await.unwrap().len();
    assert_eq!(n, 0);
});

each_backend!(
    mutually_referencing_models_create_and_drop,
    |t| async move {
        let meta = Metadata::new();
        let a = dbridge_testkit::keyed("A", "a")
            .column(Column::new("b_id", SqlType::Int8).references("b", "id"))
            .build()
            .unwrap();
        let b = dbridge_testkit::keyed("B", "b")
            .column(Column::new("a_id", SqlType::Int8).references("a", "id"))
            .build()
            .unwrap();
        let err = meta.add(a.clone()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "foreign key `fk_a_b_id_b` on model `A` references unknown table `b`"
        );
        meta.add_all([a.clone(), b.clone()]).unwrap();
        meta.create_all(&t.db).await.unwrap();
        meta.create_all(&t.db).await.unwrap();
        Insert::into(&a)
            .columns(["id"])
            .unwrap()
            .values(vec![1.into()])
            .unwrap()
            .execute(&t.db)
            .await
            .unwrap();
        let bad = Insert::into(&b)
            .columns(["id", "a_id"])
            .unwrap()
            .values(vec![1.into(), 9.into()])
            .unwrap();
        assert_eq!(
            bad.execute(&t.db).await.unwrap_err().kind(),
            ErrorKind::ForeignKeyViolation
        );
        meta.drop_all(&t.db).await.unwrap();
    }
);
