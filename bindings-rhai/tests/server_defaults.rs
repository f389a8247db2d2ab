//! Server defaults from Rhai: an attribute the script did not set is left out
//! of the session's INSERT, so the table's default applies even when the
//! model does not declare it, and the value is read back after the flush.

mod common;

use common::ok;
use dbridge_testkit::each_backend;

each_backend!(unset_attribute_gets_the_table_default, |t| async move {
    let got = ok(
        &t,
        r#"
        if backend == "postgresql" {
            db.execute("CREATE TABLE s (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT now(), rank INTEGER NOT NULL DEFAULT 7)");
        } else {
            db.execute("CREATE TABLE s (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')), rank INTEGER NOT NULL DEFAULT 7)");
        }
        let S = db.model(#{ name: "S", table: "s", columns: [
            ["id", "integer", #{ primary_key: true }],
            ["name", "text", #{ nullable: false }],
            ["created", "timestamptz", #{ nullable: false }],
            ["rank", "integer", #{ nullable: false }],
        ] });
        let s = db.session(#{ expire_on_commit: false });
        let a = s.add(S.build(#{ name: "a" }));
        let b = s.add(S.build(#{ name: "b", rank: 3 }));
        s.commit();
        `${a.rank} ${b.rank} ${a.created != ()} ${db.query(S).filter(S.rank.eq(7)).count()}`
        "#,
    )
    .await;
    assert_eq!(got.into_string().unwrap(), "7 3 true 1");
});
