//! A session that borrows its host's transaction call by call (a
//! migration's), and reflecting tables as a transaction sees them, on both
//! backends.

mod session_common;

use dbridge_engine::migrate::{DEFAULT_HISTORY_TABLE, Reflected};
use dbridge_engine::schema::Metadata;
use dbridge_engine::session::{Instance, InstanceState, Session, SessionOptions};
use dbridge_engine::{ErrorKind, Transaction};
use dbridge_testkit::{count_rows, each_backend};
use session_common::setup;

async fn users(tx: &mut Transaction) -> i64 {
    tx.fetch_one("SELECT count(*) AS n FROM users", &[])
        .await
        .unwrap()
        .get("n")
        .unwrap()
        .as_i64()
        .unwrap()
}

each_backend!(
    commit_flushes_into_the_borrowed_transaction,
    |t| async move {
        let m = setup(&t.db).await;
        let mut tx = t.db.begin().await.unwrap();
        let mut s = Session::borrowing(&t.db, SessionOptions::new().expire_on_commit(false));
        assert!(s.is_borrowing());

        s.lend_transaction(tx);
        let ada = s
            .add(Instance::with_values(&m.user, [("name", "Ada")]).unwrap())
            .unwrap();
        s.commit().await.unwrap();
        assert_eq!(ada.state(), InstanceState::Persistent);
        tx = s.return_transaction().expect("the transaction stays open");
        // The host's own statements between the session's calls see the row.
        assert_eq!(users(&mut tx).await, 1);
        tx.execute("UPDATE users SET karma = 5", &[]).await.unwrap();

        // Without the transaction lent, the session cannot run SQL...
        let err = s.get(&m.user, 999).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidState);
        // ...nor roll the host's transaction back, lent or not.
        s.lend_transaction(tx);
        let err = s.rollback().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidState);
        assert!(err.to_string().contains("begin_nested"), "{err}");

        // A nested transaction still undoes its own part.
        s.begin_nested().await.unwrap();
        s.add(Instance::with_values(&m.user, [("name", "Gone")]).unwrap())
            .unwrap();
        s.flush().await.unwrap();
        s.rollback_nested().await.unwrap();
        // close drops what was not flushed and detaches the rest.
        let pending = s
            .add(Instance::with_values(&m.user, [("name", "Never")]).unwrap())
            .unwrap();
        s.close().await.unwrap();
        assert_eq!(pending.state(), InstanceState::Transient);
        assert_eq!(ada.state(), InstanceState::Detached);
        let mut tx = s
            .return_transaction()
            .expect("close keeps the host's transaction");
        assert_eq!(users(&mut tx).await, 1);
        assert_eq!(
            count_rows(&t.db, "users").await,
            0,
            "nothing commits before the host"
        );
        tx.commit().await.unwrap();
        assert_eq!(count_rows(&t.db, "users").await, 1);
    }
);

each_backend!(a_host_rollback_undoes_the_sessions_writes, |t| async move {
    let m = setup(&t.db).await;
    let tx = t.db.begin().await.unwrap();
    let mut s = Session::borrowing(&t.db, SessionOptions::new());
    s.lend_transaction(tx);
    s.add(Instance::with_values(&m.user, [("name", "Ada")]).unwrap())
        .unwrap();
    s.commit().await.unwrap();
    let tx = s.return_transaction().unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count_rows(&t.db, "users").await, 0);
});

each_backend!(
    reflection_in_a_transaction_sees_its_own_tables,
    |t| async move {
        let mut tx = t.db.begin().await.unwrap();
        tx.execute(
            "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)",
            &[],
        )
        .await
        .unwrap();
        let reflected = Reflected::from_transaction(&mut tx, DEFAULT_HISTORY_TABLE)
            .await
            .unwrap();
        let notes = reflected.metadata.get("notes").expect("notes reflected");
        assert_eq!(notes.columns().len(), 2);
        // Not committed: another connection does not see it.
        tx.rollback().await.unwrap();
        let outside = Reflected::from_database(&t.db, DEFAULT_HISTORY_TABLE)
            .await
            .unwrap();
        assert!(outside.metadata.get("notes").is_none());

        // merge hands out the tables without a declared model, once each.
        t.db.execute("CREATE TABLE tags (id BIGINT PRIMARY KEY)", &[])
            .await
            .unwrap();
        t.db.execute("CREATE TABLE posts (id BIGINT PRIMARY KEY)", &[])
            .await
            .unwrap();
        let declared = Metadata::new();
        declared
            .add(
                dbridge_engine::schema::Model::builder("Tag")
                    .table("tags")
                    .column(dbridge_engine::schema::Column::new("id", "bigint").primary_key())
                    .build()
                    .unwrap(),
            )
            .unwrap();
        let into = Metadata::new();
        let r = Reflected::from_database(&t.db, DEFAULT_HISTORY_TABLE)
            .await
            .unwrap();
        let names: Vec<String> = r
            .merge(&declared, &into)
            .unwrap()
            .iter()
            .map(|m| m.name().as_str().to_owned())
            .collect();
        assert_eq!(names, ["posts"]);
        assert_eq!(r.merge(&declared, &into).unwrap().len(), 1);
        assert!(r.complete().is_ok());
    }
);
