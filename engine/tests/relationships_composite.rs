//! Relationships over a composite foreign key on both backends: accounts
//! keyed by (org, num) and their entries, loaded by selectin (the keys
//! matched column by column), joined, subquery (which loads by selectin for
//! a composite key) and lazily, with both sides filled.

use dbridge_engine::Value;
use dbridge_engine::query::{Insert, Run};
use dbridge_engine::schema::{Column, ForeignKey, Metadata, Model, Relationship};
use dbridge_engine::session::{Load, Session};
use dbridge_testkit::each_backend;

struct Books {
    /// Holds the registry the relationships resolve through.
    _meta: Metadata,
    account: Model,
    entry: Model,
}

async fn setup(db: &dbridge_engine::Database) -> Books {
    let account = Model::builder("Account")
        .table("accounts")
        .column(Column::new("org", "text").primary_key())
        .column(Column::new("num", "integer").primary_key())
        .column(Column::new("name", "text"))
        .relationship(
            "entries",
            Relationship::has_many("Entry")
                .back_populates("account")
                .order_by("id"),
        )
        .build()
        .unwrap();
    let entry = dbridge_testkit::keyed("Entry", "entries")
        .column(Column::new("org", "text"))
        .column(Column::new("num", "integer"))
        .column(Column::new("amount", "integer"))
        .foreign_key(ForeignKey::new(["org", "num"], "accounts", ["org", "num"]))
        .relationship(
            "account",
            Relationship::belongs_to("Account").back_populates("entries"),
        )
        .build()
        .unwrap();
    let meta = Metadata::new();
    meta.add_all([account.clone(), entry.clone()]).unwrap();
    meta.create_all(db).await.unwrap();
    // Two orgs with the same account numbers: only both columns tell them apart.
    let accounts = [("a", 1), ("a", 2), ("b", 1)].map(|(o, n)| {
        vec![
            Value::from(o),
            Value::from(n),
            Value::from(format!("{o}{n}")),
        ]
    });
    Insert::into(&account)
        .columns(["org", "num", "name"])
        .unwrap()
        .rows(accounts)
        .unwrap()
        .execute(db)
        .await
        .unwrap();
    let entries = [
        (1, Some(("a", 1)), 10),
        (2, Some(("a", 1)), 11),
        (3, Some(("b", 1)), 30),
        (4, None, 40),
    ]
    .map(|(id, acc, amount)| {
        let (o, n) = match acc {
            Some((o, n)) => (Value::from(o), Value::from(n)),
            None => (Value::Null, Value::Null),
        };
        vec![Value::from(id as i64), o, n, Value::from(amount)]
    });
    Insert::into(&entry)
        .columns(["id", "org", "num", "amount"])
        .unwrap()
        .rows(entries)
        .unwrap()
        .execute(db)
        .await
        .unwrap();
    Books {
        _meta: meta,
        account,
        entry,
    }
}

fn amounts(list: &[dbridge_engine::session::Instance]) -> Vec<i64> {
    list.iter()
        .map(|e| e.get("amount").unwrap().as_i64().unwrap())
        .collect()
}

each_backend!(
    collections_load_over_a_composite_key_by_each_strategy,
    |t| async move {
        let b = setup(&t.db).await;
        for load in [
            Load::selectin("entries"),
            Load::joined("entries"),
            Load::subquery("entries"),
        ] {
            let mut s = Session::new(&t.db);
            let accounts = s
                .query(&b.account)
                .order_by(b.account.col("org").unwrap())
                .order_by(b.account.col("num").unwrap())
                .options([load.clone()])
                .all()
                .await
                .unwrap();
            assert_eq!(accounts.len(), 3, "{load:?}");
            let lists: Vec<Vec<i64>> = accounts
                .iter()
                .map(|a| amounts(&a.related_many("entries").unwrap()))
                .collect();
            assert_eq!(lists, [vec![10, 11], vec![], vec![30]], "{load:?}");
            // The mirror points back at the right account.
            let e = &accounts[2].related_many("entries").unwrap()[0];
            assert!(
                e.related_one("account")
                    .unwrap()
                    .unwrap()
                    .ptr_eq(&accounts[2])
            );
            s.close().await.unwrap();
        }
    }
);

each_backend!(
    many_to_one_over_a_composite_key_loads_and_reads_null_keys,
    |t| async move {
        let b = setup(&t.db).await;
        let mut s = Session::new(&t.db);
        let entries = s
            .query(&b.entry)
            .order_by(b.entry.col("id").unwrap())
            .options([Load::selectin("account")])
            .all()
            .await
            .unwrap();
        let names: Vec<Option<Value>> = entries
            .iter()
            .map(|e| {
                e.related_one("account")
                    .unwrap()
                    .map(|a| a.get("name").unwrap())
            })
            .collect();
        assert_eq!(
            names,
            [
                Some(Value::from("a1")),
                Some(Value::from("a1")),
                Some(Value::from("b1")),
                None
            ]
        );
        // One account instance for both entries of (a, 1).
        let first = entries[0].related_one("account").unwrap().unwrap();
        assert!(
            entries[1]
                .related_one("account")
                .unwrap()
                .unwrap()
                .ptr_eq(&first)
        );
        s.close().await.unwrap();

        // Lazily: the account of a fresh entry, then no SQL for a second
        // entry whose account is in the identity map.
        let mut s = Session::new(&t.db);
        let e1 = s.get(&b.entry, 1_i64).await.unwrap().unwrap();
        let e2 = s.get(&b.entry, 2_i64).await.unwrap().unwrap();
        let a = s
            .related(&e1, "account")
            .await
            .unwrap()
            .one()
            .cloned()
            .unwrap();
        assert_eq!(a.get("name").unwrap(), Value::from("a1"));
        assert!(
            s.related(&e2, "account")
                .await
                .unwrap()
                .one()
                .unwrap()
                .ptr_eq(&a)
        );
        let e4 = s.get(&b.entry, 4_i64).await.unwrap().unwrap();
        assert!(s.related(&e4, "account").await.unwrap().one().is_none());
        let list = s.related(&a, "entries").await.unwrap().into_vec();
        assert_eq!(amounts(&list), [10, 11]);
        s.close().await.unwrap();
    }
);
