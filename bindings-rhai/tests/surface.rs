//! Engine features reached from Rhai on both backends: window functions,
//! DISTINCT ON, JSON operators, aliases (self-joins), `select_from`, and row
//! locks (PostgreSQL only: on SQLite each is an `unsupported` error naming
//! the backend).

mod common;

use common::{MODELS, check, kind, ok, run};
use dbridge_testkit::each_backend;

const DATA: &str = r#"
    db.transaction(|s| {
        let ada = s.add(User.build(#{ name: "Ada", email: "ada@example.com", karma: 10 }));
        let alan = s.add(User.build(#{ name: "Alan", karma: 3 }));
        s.flush();
        for title in ["Notes", "Engine", "Loops"] {
            s.add(Post.build(#{ author_id: ada.id, title: title }));
        }
        s.add(Post.build(#{ author_id: alan.id, title: "Turing" }));
    });
"#;

fn is_pg(t: &dbridge_testkit::TestDb) -> bool {
    t.backend() == dbridge_engine::Backend::Postgres
}

each_backend!(window_functions_and_frames, |t| async move {
    check(
        &t,
        &format!(
            r#"{MODELS}{DATA}
        let n = dbridge::func("row_number").over(#{{
            partition_by: Post.author_id, order_by: Post.id.desc() }}).label("n");
        let running = dbridge::func("count", [Post.id]).over(#{{
            order_by: [Post.id], rows: ["unbounded", 0] }}).label("running");
        let rows = db.query([Post.title, n, running]).order_by(Post.id).all();
        assert_eq(rows.map(|r| r.title), ["Notes", "Engine", "Loops", "Turing"]);
        assert_eq(rows.map(|r| r.n), [3, 2, 1, 1]);
        assert_eq(rows.map(|r| r.running), [1, 2, 3, 4]);
        let whole = db.query([Post.id, dbridge::func("count", [Post.id]).over().label("all")])
            .all();
        assert_eq(whole[0].all, 4);
        let err = ();
        try {{ Post.id.over(#{{ rows: [1] }}); }} catch (e) {{ err = e.kind; }}
        assert_eq(err, "configuration");
    "#
        ),
    )
    .await;
});

each_backend!(distinct_on_is_postgres_only, |t| async move {
    let script = format!(
        r#"{MODELS}{DATA}
        db.query([Post.author_id, Post.title]).distinct_on(Post.author_id)
            .order_by([Post.author_id, Post.id.desc()]).all().map(|r| r.title)
    "#
    );
    if is_pg(&t) {
        let titles: Vec<String> = ok(&t, &script).await.into_typed_array().unwrap();
        assert_eq!(titles, ["Loops", "Turing"]);
    } else {
        let err = run(&t, &script).await.unwrap_err();
        assert_eq!(kind(&err), "unsupported");
        assert!(err.to_string().contains("DISTINCT ON"), "{err}");
        assert!(err.to_string().contains("sqlite"), "{err}");
    }
});

each_backend!(json_operators, |t| async move {
    let script = r#"
        let Doc = db.model(#{ name: "Doc", table: "docs", columns: [
            ["id", "integer", #{ primary_key: true }], ["body", "jsonb"] ] });
        db.create_all();
        Doc.insert([
            #{ body: dbridge::json(#{ lang: "en", tags: #{ a: "x" }, who: #{ name: "Ada" } }) },
            #{ body: dbridge::json(#{ lang: "fi" }) },
        ]);
        let en = db.query([Doc.id, Doc.body.get_text("lang").label("lang"),
                           Doc.body.path_text(["who", "name"]).label("who")])
            .where(Doc.body.has_key("who")).all();
        assert_eq(en.len(), 1);
        assert_eq(en[0].lang, "en");
        assert_eq(en[0].who, "Ada");
        assert_eq(db.query(Doc).where(Doc.body.has_any_key(["tags", "x"])).count(), 1);
        assert_eq(db.query(Doc).where(Doc.body.has_all_keys(["lang", "x"])).count(), 0);
        assert_eq(db.query([Doc.body.get("tags").path_text(["a"]).label("a")])
            .where(Doc.body.has_key("tags")).one().a, "x");
        db.query(Doc).where(Doc.body.contains(dbridge::json(#{ lang: "fi" }))).count()
    "#;
    if is_pg(&t) {
        assert_eq!(ok(&t, script).await.as_int().unwrap(), 1);
    } else {
        let err = run(&t, script).await.unwrap_err();
        assert_eq!(kind(&err), "unsupported");
        assert!(err.to_string().contains("@>"), "{err}");
        assert!(err.to_string().contains("sqlite"), "{err}");
    }
});

each_backend!(aliases_for_self_joins_and_select_from, |t| async move {
    check(
        &t,
        &format!(
            r#"{MODELS}{DATA}
        let Emp = db.model(#{{ name: "Emp", table: "emps", columns: [
            ["id", "integer", #{{ primary_key: true }}], ["name", "text"],
            ["boss_id", "integer", #{{ references: "emps.id" }}] ] }});
        db.create_all();
        Emp.insert([#{{ id: 1, name: "Grace", boss_id: () }}, #{{ id: 2, name: "Ada", boss_id: 1 }},
                    #{{ id: 3, name: "Alan", boss_id: 1 }}]);
        let e = dbridge::aliased(Emp, "e");
        let b = dbridge::aliased(Emp, "b");
        let rows = db.query([e.name, b.name.label("boss")])
            .join(b, e.boss_id.eq(b.id)).order_by(e.id).all();
        assert_eq(rows.map(|r| r.name), ["Ada", "Alan"]);
        assert_eq(rows.map(|r| r.boss), ["Grace", "Grace"]);

        // The first column is from a joined table: select_from names the left side.
        let n = dbridge::func("count", [Post.id]).label("n");
        let q = db.query([User.name, n]).select_from(Post)
            .join(User, Post.author_id.eq(User.id)).group_by(User.name).order_by(User.name);
        assert_eq(q.sql().contains(`FROM "posts" JOIN "users"`), true);
        assert_eq(q.all().map(|r| `${{r.name}}:${{r.n}}`), ["Ada:3", "Alan:1"]);
    "#
        ),
    )
    .await;
});

each_backend!(row_locks, |t| async move {
    let script = format!(
        r#"{MODELS}{DATA}
        let ids = db.query(User).order_by(User.id).all().map(|u| u.id);
        let a = db.session();
        let ada = a.get(User, ids[0], #{{ for_update: true }});
        assert_eq(ada.name, "Ada");
        let b = db.session();
        // SKIP LOCKED sees only the row nobody holds.
        let free = b.query(User).order_by(User.id).for_update(#{{ skip_locked: true }}).all();
        assert_eq(free.map(|u| u.name), ["Alan"]);
        b.rollback();
        let kinds = [];
        try {{ b.get(User, ids[0], #{{ for_update: true, nowait: true }}); }}
        catch (e) {{ kinds.push(e.kind); }}
        b.rollback();
        try {{ b.query(User).for_share(#{{ nowait: true }}).all(); }}
        catch (e) {{ kinds.push(e.kind); }}
        b.rollback();
        assert_eq(b.query(User).for_share(#{{ skip_locked: true }}).count(), 1);
        b.rollback();
        a.commit();
        assert_eq(b.get(User, ids[0], #{{ for_share: true, nowait: true }}).name, "Ada");
        b.rollback();
        kinds
    "#
    );
    if is_pg(&t) {
        let kinds: Vec<String> = ok(&t, &script).await.into_typed_array().unwrap();
        assert_eq!(kinds, ["busy", "busy"]);
    } else {
        let err = run(&t, &script).await.unwrap_err();
        assert_eq!(kind(&err), "unsupported");
        assert!(err.to_string().contains("row locks"), "{err}");
        assert!(err.to_string().contains("sqlite"), "{err}");
    }
});

each_backend!(
    strings_into_bytea_and_postgres_interval_text,
    |t| async move {
        check(
            &t,
            r#"
        let Blob = db.model(#{ name: "Blob", table: "blobs", columns: [
            ["id", "integer", #{ primary_key: true }], ["data", "bytea"], ["wait", "interval"] ] });
        db.create_all();
        db.transaction(|s| { s.add(Blob.build(#{ data: "héllo", wait: "1 day 02:00" })); });
        Blob.insert([#{ data: "raw", wait: "3 mons" }]);
        let rows = db.query(Blob).order_by(Blob.id).all();
        assert_eq(rows[0].data.as_string(), "héllo");
        assert_eq(rows[0].wait, "P1DT7200S");
        assert_eq(rows[1].data.as_string(), "raw");
        assert_eq(rows[1].wait, "P3M");
    "#,
        )
        .await;
    }
);
