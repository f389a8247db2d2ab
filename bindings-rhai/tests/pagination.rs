//! `q.paginate(#{})` from Rhai on both backends: keyset pages forward and
//! back with ties, NULLs and descending orders; a query of columns with a
//! join; tampered and foreign cursors; offset pages with a total.

mod common;

use common::{MODELS, ok, run};
use dbridge_testkit::each_backend;

const WALK: &str = r#"
    // Every page forward, then back from the last: each row once, both ways.
    fn walk(q, limit) {
        let seen = [];
        let pages = [];
        let cursor = ();
        loop {
            let p = q.paginate(#{ after: cursor, limit: limit });
            pages.push(p);
            for u in p.items { seen.push(u.id); }
            cursor = p.next;
            if cursor == () { break; }
        }
        let back = [];
        let prev = pages[pages.len() - 1].prev;
        while prev != () {
            let p = q.paginate(#{ before: prev, limit: limit });
            back.insert(0, p.items.map(|u| u.id));
            prev = p.prev;
        }
        let fwd = [];
        for i in 0..pages.len() - 1 { fwd.push(pages[i].items.map(|u| u.id)); }
        if fwd != back { throw `backward pages differ: ${fwd} vs ${back}`; }
        if pages[0].prev != () { throw "the first page has a prev"; }
        seen
    }
"#;

each_backend!(keyset_pages_cover_every_row_once, |t| async move {
    let got = ok(
        &t,
        &format!(
            r#"{WALK}
        let User = db.model(#{{ name: "P", table: "ps", columns: [
            ["id", "integer", #{{ primary_key: true }}], ["name", "text"], ["email", "text"], ["karma", "integer"],
        ] }});
        db.create_all();
        let rows = [];
        for i in 1..=23 {{
            rows.push(#{{ name: `n${{i % 4}}`, email: `u${{i}}@x`, karma: if i % 3 == 0 {{ () }} else {{ i % 5 }} }});
        }}
        User.insert(rows);
        let out = [];
        for q in [
            db.query(User).order_by(User.name.desc()),
            db.query(User).order_by(User.karma),
            db.query(User).order_by(User.karma.asc().nulls_first()),
            db.query(User).where(User.karma.gt(1)).order_by(User.karma.desc()),
        ] {{
            let seen = walk(q, 4);
            let all = q.all().map(|u| u.id);
            let a = seen; a.sort();
            all.sort();
            if a != all {{ throw `rows differ: ${{seen}} vs ${{all}}`; }}
            out.push(seen);
        }}
        `${{out[0].extract(0, 5)}} ${{out[1].extract(16)}} ${{out[2].extract(0, 7)}} ${{out[3].len()}}`
    "#
        ),
    )
    .await;
    assert_eq!(
        got.into_string().unwrap(),
        "[3, 7, 11, 15, 19] [3, 6, 9, 12, 15, 18, 21] [3, 6, 9, 12, 15, 18, 21] 10"
    );
});

each_backend!(bad_cursors_are_invalid_values, |t| async move {
    let got = ok(
        &t,
        &format!(
            r#"{MODELS}
        User.insert([#{{ name: "a", email: "a@x" }}, #{{ name: "b", email: "b@x" }}]);
        let q = db.query(User).order_by(User.name);
        let c = q.paginate(#{{ limit: 1 }}).next;
        let flipped = c.sub_string(0, 5) + (if c[5] == 'A' {{ "B" }} else {{ "A" }}) + c.sub_string(6);
        let out = [];
        for attempt in [
            || q.paginate(#{{ after: flipped, limit: 1 }}),
            || db.query(User).order_by(User.email).paginate(#{{ after: c, limit: 1 }}),
            || db.query(User.name).order_by(User.name).paginate(#{{ limit: 1 }}),
        ] {{
            try {{ attempt.call(); out.push("ok"); }} catch (e) {{ out.push(e.kind); }}
        }}
        out
    "#
        ),
    )
    .await;
    assert_eq!(
        format!("{got:?}"),
        r#"["invalid_value", "invalid_value", "invalid_value"]"#
    );
});

each_backend!(columns_with_a_join_and_offset_pages, |t| async move {
    let got = ok(
        &t,
        &format!(
            r#"{MODELS}
        let ids = [];
        for i in 1..=3 {{ ids.push(User.insert([#{{ name: `u${{i}}`, email: `${{i}}@x` }}])); }}
        let users = db.query(User).order_by(User.id).all();
        let posts = [];
        for u in users {{ for j in 1..=3 {{ posts.push(#{{ author_id: u.id, title: `${{u.name}}.${{j}}` }}); }} }}
        Post.insert(posts);
        let q = db.query([Post.id, Post.title, User.name]).join(User, Post.author_id.eq(User.id))
            .where(User.name.ne("u2")).order_by(User.name.desc());
        let titles = [];
        let c = ();
        loop {{
            let p = q.paginate(#{{ after: c, limit: 4 }});
            for r in p.items {{ titles.push(r.title); }}
            c = p.next;
            if c == () {{ break; }}
        }}
        let o = db.query(User).order_by(User.id).paginate(#{{ page: 2, limit: 2 }});
        `${{titles}} ${{o.total}} ${{o.pages}} ${{o.items.len()}} ${{o.items[0].name}}`
    "#
        ),
    )
    .await;
    assert_eq!(
        got.into_string().unwrap(),
        "[\"u3.1\", \"u3.2\", \"u3.3\", \"u1.1\", \"u1.2\", \"u1.3\"] 3 2 1 u3"
    );
});

#[tokio::test]
async fn limit_must_be_positive() {
    let t = dbridge_testkit::TestDb::sqlite().await;
    let e = run(
        &t,
        &format!("{MODELS} db.query(User).paginate(#{{ limit: 0 }})"),
    )
    .await
    .unwrap_err();
    assert_eq!(common::kind(&e), "invalid_value");
}
