//! Window functions, CTEs, set operations, JSON operators, DISTINCT ON and row
//! locks, run on both backends (or checked to fail clearly where one lacks them).

mod common;

use common::*;
use dbridge_engine::query::{Cte, Expr, FrameBound, Run, Select, Window, func};
use dbridge_engine::{Backend, Error, SqlType, Value};
use dbridge_testkit::each_backend;

fn unsupported_on_sqlite<T: std::fmt::Debug>(r: dbridge_engine::Result<T>, feature: &str) {
    match r {
        Err(Error::Unsupported {
            backend: Backend::Sqlite,
            feature: f,
        }) => {
            assert!(f.contains(feature), "{f}")
        }
        other => panic!("expected unsupported on sqlite, got {other:?}"),
    }
}

each_backend!(window_ranking_functions, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let e = &m.emp;
    let by_salary = || Window::new().order_by([e.col("salary").unwrap().desc()]);
    let in_dept = || {
        Window::new()
            .partition_by([e.col("dept").unwrap()])
            .order_by([e.col("salary").unwrap().desc()])
    };
    let r = Select::from(e)
        .column(e.col("name").unwrap())
        .column(
            func::row_number()
                .over(by_salary())
                .unwrap()
                .label("rn")
                .unwrap(),
        )
        .column(func::rank().over(in_dept()).unwrap().label("rk").unwrap())
        .column(
            func::dense_rank()
                .over(Window::new().order_by([e.col("dept").unwrap().asc()]))
                .unwrap()
                .label("dr")
                .unwrap(),
        )
        .column(
            func::ntile(2)
                .over(by_salary())
                .unwrap()
                .label("half")
                .unwrap(),
        )
        .order_by(e.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    // Eve 300, Bob 120.50, Carol 130, Dan 90, Fay 80.25
    assert_eq!(texts(&r, "name"), ["Eve", "Bob", "Carol", "Dan", "Fay"]);
    assert_eq!(ints(&r, "rn"), [1, 3, 2, 4, 5]);
    assert_eq!(ints(&r, "rk"), [1, 2, 1, 1, 2]);
    assert_eq!(ints(&r, "dr"), [1, 2, 2, 3, 3]);
    assert_eq!(ints(&r, "half"), [1, 1, 1, 2, 2]);
});

each_backend!(window_lag_lead_and_frames, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let p = &m.post;
    let by_id = || Window::new().order_by([p.col("id").unwrap().asc()]);
    let r = Select::from(p)
        .column(p.col("id").unwrap())
        .column(
            func::lag(p.col("id").unwrap(), 1)
                .over(by_id())
                .unwrap()
                .label("prev")
                .unwrap(),
        )
        .column(
            func::lead(p.col("id").unwrap(), 2)
                .over(by_id())
                .unwrap()
                .label("next2")
                .unwrap(),
        )
        .column(
            func::sum(p.col("id").unwrap())
                .over(by_id().rows(FrameBound::UnboundedPreceding, FrameBound::CurrentRow))
                .unwrap()
                .cast(SqlType::Int8)
                .label("running")
                .unwrap(),
        )
        .column(
            func::sum(p.col("id").unwrap())
                .over(by_id().rows(FrameBound::Preceding(1), FrameBound::Following(1)))
                .unwrap()
                .cast(SqlType::Int8)
                .label("window3")
                .unwrap(),
        )
        .column(
            func::count_star()
                .over(Window::new().partition_by([p.col("author_id").unwrap()]))
                .unwrap()
                .label("per_author")
                .unwrap(),
        )
        .order_by(p.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    let prev: Vec<Option<i64>> = r.iter().map(|r| r.get("prev").unwrap().as_i64()).collect();
    assert_eq!(
        prev,
        [None, Some(1), Some(2), Some(3), Some(4), Some(5), Some(6)]
    );
    let next2: Vec<Option<i64>> = r.iter().map(|r| r.get("next2").unwrap().as_i64()).collect();
    assert_eq!(
        next2,
        [Some(3), Some(4), Some(5), Some(6), Some(7), None, None]
    );
    assert_eq!(ints(&r, "running"), [1, 3, 6, 10, 15, 21, 28]);
    assert_eq!(ints(&r, "window3"), [3, 6, 9, 12, 15, 18, 13]);
    assert_eq!(ints(&r, "per_author"), [3, 3, 3, 2, 2, 1, 1]);
});

each_backend!(
    window_aggregate_with_filter_and_range_frame,
    |t| async move {
        let m = models();
        seed(&t.db, &m).await;
        let e = &m.emp;
        let r = Select::from(e)
            .column(e.col("name").unwrap())
            .column(
                func::count_star()
                    .filter(e.col("dept").unwrap().eq("eng"))
                    .unwrap()
                    .over(
                        Window::new()
                            .order_by([e.col("id").unwrap().asc()])
                            .range(FrameBound::UnboundedPreceding, FrameBound::CurrentRow),
                    )
                    .unwrap()
                    .label("eng_so_far")
                    .unwrap(),
            )
            .order_by(e.col("id").unwrap())
            .fetch_all(&t.db)
            .await
            .unwrap();
        assert_eq!(ints(&r, "eng_so_far"), [0, 1, 2, 2, 2]);
    }
);

each_backend!(cte_plain, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let active = Cte::new(
        "active_users",
        Select::from(u)
            .column(u.col("id").unwrap())
            .column(u.col("name").unwrap())
            .filter(u.col("active").unwrap().eq(true)),
    )
    .unwrap();
    let a = active.table();
    let r = Select::from(a.clone())
        .column(a.col("name").unwrap())
        .with(active)
        .order_by(a.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Ada", "Grace", "Barbara"]);
});

each_backend!(
    a_cte_table_brings_its_cte_into_from_joins_and_subqueries,
    |t| async move {
        let m = models();
        seed(&t.db, &m).await;
        let u = &m.user;
        let active = Cte::new(
            "active_users",
            Select::from(u)
                .column(u.col("id").unwrap())
                .filter(u.col("active").unwrap().eq(true)),
        )
        .unwrap()
        .table();
        // Joined, without `with`.
        let r = Select::from(u)
            .column(u.col("name").unwrap())
            .join(
                active.clone(),
                u.col("id").unwrap().eq(active.col("id").unwrap()),
            )
            .order_by(u.col("id").unwrap())
            .fetch_all(&t.db)
            .await
            .unwrap();
        assert_eq!(texts(&r, "name"), ["Ada", "Grace", "Barbara"]);
        // In a subquery of another query (its own WITH), and counted as a
        // derived table.
        let ids = Select::from(active.clone()).column(active.col("id").unwrap());
        let r = Select::from(u)
            .column(u.col("name").unwrap())
            .filter(u.col("id").unwrap().not_in_query(ids.clone()))
            .fetch_all(&t.db)
            .await
            .unwrap();
        assert_eq!(r.len(), 1);
        let n = Select::from(ids.clone().subquery("c").unwrap())
            .column(func::count_star().label("n").unwrap())
            .fetch_one(&t.db)
            .await
            .unwrap();
        assert_eq!(n.get("n").unwrap().as_i64(), Some(3));
        // A CTE over another CTE.
        let first = Cte::new(
            "first_active",
            ids.order_by(active.col("id").unwrap()).limit(1),
        )
        .unwrap()
        .table();
        let r = Select::from(first.clone()).fetch_all(&t.db).await.unwrap();
        assert_eq!(r.len(), 1);
        // A set operation of selects that read CTEs.
        let r = Select::from(first.clone())
            .union_all(Select::from(active.clone()))
            .fetch_all(&t.db)
            .await
            .unwrap();
        assert_eq!(r.len(), 4);
    }
);

each_backend!(cte_recursive_counter_and_tree, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    // WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5)
    let n = Cte::recursive_table("n", [("x", Some(SqlType::Int8))]).unwrap();
    let body = Select::new().column(Expr::val(1_i64)).union_all(
        Select::from(n.clone())
            .column(n.col("x").unwrap() + 1_i64)
            .filter(n.col("x").unwrap().lt(5_i64)),
    );
    let cte = Cte::recursive(&n, body).unwrap();
    let r = Select::from(n.clone())
        .column(
            func::sum(n.col("x").unwrap())
                .cast(SqlType::Int8)
                .label("total")
                .unwrap(),
        )
        .with(cte)
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(r.get("total").unwrap().as_i64(), Some(15));

    // Everyone under Eve, with depth.
    let e = &m.emp;
    let chain = Cte::recursive_table(
        "chain",
        [
            ("id", Some(SqlType::Int8)),
            ("name", Some(SqlType::Text)),
            ("depth", Some(SqlType::Int8)),
        ],
    )
    .unwrap();
    let body = Select::from(e)
        .column(e.col("id").unwrap())
        .column(e.col("name").unwrap())
        .column(Expr::val(0_i64).label("depth").unwrap())
        .filter(e.col("manager_id").unwrap().is_null())
        .union_all(
            Select::from(e)
                .column(e.col("id").unwrap())
                .column(e.col("name").unwrap())
                .column(chain.col("depth").unwrap() + 1_i64)
                .join(
                    chain.clone(),
                    e.col("manager_id").unwrap().eq(chain.col("id").unwrap()),
                ),
        );
    let r = Select::from(chain.clone())
        .column(chain.col("name").unwrap())
        .column(chain.col("depth").unwrap())
        .with(Cte::recursive(&chain, body).unwrap())
        .order_by(chain.col("depth").unwrap())
        .order_by(chain.col("name").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Eve", "Bob", "Dan", "Carol", "Fay"]);
    assert_eq!(ints(&r, "depth"), [0, 1, 1, 2, 2]);
});

each_backend!(set_operations, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let (u, e) = (&m.user, &m.emp);
    let users = || Select::from(u).column(u.col("name").unwrap());
    let emps = || Select::from(e).column(e.col("name").unwrap());
    let name = || Expr::label_ref("name").unwrap();
    let r = users()
        .union(emps())
        .order_by(name())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(r.len(), 9);
    let r = users()
        .filter(u.col("karma").unwrap().gt(5))
        .union_all(users().filter(u.col("karma").unwrap().gt(20)))
        .order_by(name())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Ada", "Ada", "Grace", "Grace", "Linus"]);
    let r = users()
        .intersect(users().filter(u.col("active").unwrap().eq(false)))
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Linus"]);
    let r = users()
        .except(users().filter(u.col("karma").unwrap().lt(20)))
        .order_by(name().desc())
        .limit(1)
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Grace"]);
    // A member with its own ORDER BY / LIMIT.
    let top = users().order_by(u.col("karma").unwrap().desc()).limit(1);
    let r = top
        .union_all(emps().filter(e.col("dept").unwrap().eq("board")))
        .order_by(name())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Ada", "Eve"]);
});

each_backend!(distinct_on_postgres_or_unsupported, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let p = &m.post;
    let q = Select::from(p)
        .column(p.col("author_id").unwrap())
        .column(p.col("title").unwrap())
        .filter(p.col("author_id").unwrap().is_not_null())
        .distinct_on([p.col("author_id").unwrap()])
        .order_by(p.col("author_id").unwrap())
        .order_by(p.col("score").unwrap().desc().nulls_last());
    match t.backend() {
        Backend::Postgres => {
            let r = q.fetch_all(&t.db).await.unwrap();
            assert_eq!(
                texts(&r, "title"),
                ["Notes on the Engine", "COBOL", "Freax"]
            );
        }
        Backend::Sqlite => unsupported_on_sqlite(q.fetch_all(&t.db).await, "DISTINCT ON"),
    }
});

each_backend!(for_update_skip_locked_or_unsupported, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let q = Select::from(u)
        .column(u.col("id").unwrap())
        .filter(u.col("id").unwrap().eq(1))
        .for_update();
    match t.backend() {
        Backend::Postgres => {
            let mut tx = t.db.begin().await.unwrap();
            let r = q.fetch_all(&mut tx).await.unwrap();
            assert_eq!(ints(&r, "id"), [1]);
            // Another transaction skips the locked row, or fails at once with NOWAIT.
            let mut other = t.db.begin().await.unwrap();
            let skipped = q.clone().skip_locked().fetch_all(&mut other).await.unwrap();
            assert!(skipped.is_empty());
            other.rollback().await.unwrap();
            let mut other = t.db.begin().await.unwrap();
            let err = q.clone().nowait().fetch_all(&mut other).await.unwrap_err();
            assert_eq!(
                err.as_database_error().and_then(|d| d.code.as_deref()),
                Some("55P03")
            );
            other.rollback().await.unwrap();
            tx.commit().await.unwrap();
        }
        Backend::Sqlite => {
            unsupported_on_sqlite(q.fetch_all(&t.db).await, "FOR UPDATE");
            let err =
                dbridge_engine::dialect::compile(&q.skip_locked(), Backend::Sqlite).unwrap_err();
            assert_eq!(
                err.to_string(),
                "row locks (FOR UPDATE / FOR SHARE) is not supported on sqlite"
            );
        }
    }
});

each_backend!(json_get_and_path_operators, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let profile = || u.col("profile").unwrap();
    let r = Select::from(u)
        .column(profile().get_text("lang").label("lang").unwrap())
        .column(profile().get("address").label("address").unwrap())
        .column(
            profile()
                .path_text(["address", "city"])
                .label("city")
                .unwrap(),
        )
        .column(profile().path(["tags", "0"]).label("first_tag").unwrap())
        .column(profile().get("tags").get(1).label("second_tag").unwrap())
        .order_by(u.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "lang"), ["en", "en", "fi", "NULL"]);
    assert_eq!(texts(&r, "city"), ["London", "Arlington", "NULL", "NULL"]);
    assert_eq!(
        r[0].get("address").unwrap(),
        &Value::Jsonb(serde_json::json!({"city": "London"}))
    );
    assert_eq!(
        r[0].get("first_tag").unwrap(),
        &Value::Jsonb(serde_json::json!("math"))
    );
    assert_eq!(
        r[0].get("second_tag").unwrap(),
        &Value::Jsonb(serde_json::json!("poetry"))
    );
    assert_eq!(r[1].get("second_tag").unwrap(), &Value::Null);
    // In a filter.
    let r = Select::from(u)
        .column(u.col("name").unwrap())
        .filter(profile().get_text("lang").eq("fi"))
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Linus"]);
});

each_backend!(
    json_text_operators_give_text_on_both_backends,
    |t| async move {
        // PostgreSQL's ->> and #>> give text whatever the member's JSON type;
        // SQLite's ->> would give a number for a number: the compiler casts it.
        use dbridge_engine::schema::{Column, Metadata};
        let doc = dbridge_testkit::keyed("Doc", "docs")
            .column(Column::new("body", "jsonb"))
            .build()
            .unwrap();
        let meta = Metadata::new();
        meta.add(doc.clone()).unwrap();
        meta.create_all(&t.db).await.unwrap();
        let body = serde_json::json!({
            "n": 42, "x": 1.5, "yes": true, "no": false, "none": null,
            "s": "text", "list": [7, "b"], "inner": {"n": 5}
        });
        dbridge_engine::query::Insert::into(&doc)
            .row_map([("id", Value::from(1)), ("body", Value::Jsonb(body))])
            .unwrap()
            .execute(&t.db)
            .await
            .unwrap();
        let b = || doc.col("body").unwrap();
        let mut q = Select::from(&doc);
        for key in ["n", "x", "yes", "no", "none", "s", "missing"] {
            q = q.column(b().get_text(key).label(key).unwrap());
        }
        let q = q
            .column(b().get("list").get_text(0).label("first").unwrap())
            .column(b().path_text(["inner", "n"]).label("inner_n").unwrap())
            .column(b().path_text(["list", "1"]).label("second").unwrap());
        let row = q.fetch_one(&t.db).await.unwrap();
        let text = |k: &str| row.get(k).unwrap().clone();
        assert_eq!(text("n"), Value::from("42"));
        assert_eq!(text("x"), Value::from("1.5"));
        assert_eq!(text("yes"), Value::from("true"));
        assert_eq!(text("no"), Value::from("false"));
        assert_eq!(text("none"), Value::Null);
        assert_eq!(text("s"), Value::from("text"));
        assert_eq!(text("missing"), Value::Null);
        assert_eq!(text("first"), Value::from("7"));
        assert_eq!(text("inner_n"), Value::from("5"));
        assert_eq!(text("second"), Value::from("b"));
        // Compared as text.
        let found = Select::from(&doc)
            .column(doc.col("id").unwrap())
            .filter(b().get_text("n").eq("42"))
            .filter(b().get_text("yes").eq("true"))
            .fetch_all(&t.db)
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
    }
);

each_backend!(json_key_existence_operators, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let names = |cond: Expr| {
        let u = u.clone();
        let db = &t.db;
        async move {
            let r = Select::from(&u)
                .column(u.col("name").unwrap())
                .filter(cond)
                .order_by(u.col("id").unwrap())
                .fetch_all(db)
                .await
                .unwrap();
            texts(&r, "name")
        }
    };
    let profile = || u.col("profile").unwrap();
    assert_eq!(names(profile().has_key("tags")).await, ["Ada", "Grace"]);
    assert_eq!(
        names(profile().has_any_key(["address", "lang"])).await,
        ["Ada", "Grace", "Linus"]
    );
    assert_eq!(
        names(profile().has_all_keys(["address", "lang"])).await,
        ["Ada", "Grace"]
    );
    assert_eq!(
        names(profile().has_all_keys(["lang", "nope"])).await,
        Vec::<String>::new()
    );
});

each_backend!(json_containment_postgres_or_unsupported, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let q = Select::from(u)
        .column(u.col("name").unwrap())
        .filter(
            u.col("profile")
                .unwrap()
                .contains(serde_json::json!({"lang": "en"})),
        )
        .order_by(u.col("id").unwrap());
    let q2 = Select::from(u).column(u.col("name").unwrap()).filter(
        u.col("profile")
            .unwrap()
            .contained_by(serde_json::json!({"lang": "fi", "x": 1})),
    );
    match t.backend() {
        Backend::Postgres => {
            assert_eq!(
                texts(&q.fetch_all(&t.db).await.unwrap(), "name"),
                ["Ada", "Grace"]
            );
            assert_eq!(
                texts(&q2.fetch_all(&t.db).await.unwrap(), "name"),
                ["Linus"]
            );
        }
        Backend::Sqlite => {
            unsupported_on_sqlite(q.fetch_all(&t.db).await, "@>");
            unsupported_on_sqlite(q2.fetch_all(&t.db).await, "<@");
        }
    }
});
