//! `Session::load_attribute` on both backends: a deferred or expired column
//! loaded from its row in one SELECT, unflushed changes kept; a detached
//! instance and strict loading refused with `invalid_state`.

mod session_common;

use dbridge_engine::session::{Session, SessionOptions};
use dbridge_engine::{ErrorKind, Value};
use dbridge_testkit::each_backend;
use session_common::{Log, seed_users, setup};

each_backend!(
    deferred_and_expired_columns_load_on_access,
    |t| async move {
        let m = setup(&t.db).await;
        let ids = seed_users(&t.db, &["Ada"]).await;
        t.db.execute("UPDATE users SET bio = 'math'", &[])
            .await
            .unwrap();
        let mut s = Session::new(&t.db);
        let ada = s.get(&m.user, ids[0]).await.unwrap().unwrap();
        assert_eq!(ada.get("bio").unwrap_err().kind(), ErrorKind::InvalidState);
        ada.set("name", "Ada L.").unwrap();
        let log = Log::attach(&t.db);
        assert_eq!(
            s.load_attribute(&ada, "bio").await.unwrap(),
            Value::from("math")
        );
        assert_eq!(
            s.load_attribute(&ada, "bio").await.unwrap(),
            Value::from("math")
        );
        assert_eq!(log.count("SELECT"), 1);
        assert_eq!(ada.get("name").unwrap(), Value::from("Ada L."));
        s.flush().await.unwrap();
        s.expire(&ada);
        log.clear();
        assert_eq!(
            s.load_attribute(&ada, "name").await.unwrap(),
            Value::from("Ada L.")
        );
        // The other expired columns came with it; the deferred one did not.
        assert_eq!(ada.get("email").unwrap(), Value::from("ada@example.com"));
        assert!(!ada.is_loaded("bio").unwrap());
        assert_eq!(log.count("SELECT"), 1);
        s.commit().await.unwrap();

        let mut strict = Session::with_options(&t.db, SessionOptions::new().strict_loading(true));
        let again = strict.get(&m.user, ids[0]).await.unwrap().unwrap();
        let e = strict.load_attribute(&again, "bio").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState);
        assert!(e.to_string().contains("strict loading"), "{e}");
        strict.close().await.unwrap();
        let e = s.load_attribute(&again, "bio").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState);
        assert!(
            e.to_string().contains("not persistent in this session"),
            "{e}"
        );
        let e = again.get("bio").unwrap_err();
        assert!(
            e.to_string().contains("detached") && e.to_string().contains("merge"),
            "{e}"
        );
    }
);
