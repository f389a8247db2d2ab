//! Selects and expressions, run on both backends against the seed data.

mod common;

use common::*;
use dbridge_engine::query::{Expr, Run, Select, func};
use dbridge_engine::{Backend, SqlType, Value};
use dbridge_testkit::each_backend;

each_backend!(select_whole_model_in_order, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let rows = Select::from(&m.user)
        .order_by(m.user.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&rows, "name"), ["Ada", "Grace", "Linus", "Barbara"]);
    // Typed read back on SQLite too: booleans, json, timestamps from now().
    assert_eq!(rows[2].get("active").unwrap(), &Value::Bool(false));
    assert!(matches!(rows[0].get("profile").unwrap(), Value::Jsonb(_)));
    assert!(matches!(
        rows[0].get("created_at").unwrap(),
        Value::Timestamptz(_)
    ));
    assert_eq!(rows[0].get("karma").unwrap().as_i64(), Some(50));
});

each_backend!(filter_comparisons_and_logic, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let karma = || u.col("karma").unwrap();
    let q = Select::from(u)
        .column(u.col("id").unwrap())
        .filter(
            karma()
                .ge(10)
                .and(karma().lt(50))
                .or(u.col("name").unwrap().eq("Barbara")),
        )
        .order_by(u.col("id").unwrap());
    assert_eq!(ints(&q.fetch_all(&t.db).await.unwrap(), "id"), [2, 3, 4]);
    let q = Select::from(u)
        .column(u.col("id").unwrap())
        .filter(karma().ne(30))
        .filter(!u.col("active").unwrap().eq(false))
        .order_by(u.col("id").unwrap().desc());
    assert_eq!(ints(&q.fetch_all(&t.db).await.unwrap(), "id"), [4, 1]);
});

each_backend!(filter_by_sugar_and_unknown_column, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let q = Select::from(&m.user).filter_by("name", "Grace").unwrap();
    let row = q.fetch_one(&t.db).await.unwrap();
    assert_eq!(row.get("id").unwrap().as_i64(), Some(2));
    let err = Select::from(&m.user).filter_by("emial", "x").unwrap_err();
    assert_eq!(err.to_string(), "no column `emial` on model `User`");
    assert_eq!(err.kind().as_str(), "schema");
});

each_backend!(in_list_not_in_and_empty_lists, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let id = || m.user.col("id").unwrap();
    let sel = |cond: Expr| {
        Select::from(&m.user)
            .column(id())
            .filter(cond)
            .order_by(id())
    };
    let r = sel(id().in_list([1, 3, 99]))
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "id"), [1, 3]);
    let r = sel(id().not_in_list([1, 3]))
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "id"), [2, 4]);
    let none: [i64; 0] = [];
    assert!(
        sel(id().in_list(none))
            .fetch_all(&t.db)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        sel(id().not_in_list(none))
            .fetch_all(&t.db)
            .await
            .unwrap()
            .len(),
        4
    );
});

each_backend!(in_subquery_and_exists, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let (u, p) = (&m.user, &m.post);
    let authors = Select::from(p)
        .column(p.col("author_id").unwrap())
        .filter(p.col("score").unwrap().gt(8.5));
    let r = Select::from(u)
        .column(u.col("name").unwrap())
        .filter(u.col("id").unwrap().in_query(authors))
        .order_by(u.col("name").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Ada", "Grace"]);
    let has_posts = Select::from(p)
        .column(Expr::val(1))
        .filter(p.col("author_id").unwrap().eq(u.col("id").unwrap()));
    let r = Select::from(u)
        .column(u.col("name").unwrap())
        .filter(Expr::not_exists(has_posts.clone()))
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Barbara"]);
    let r = Select::from(u)
        .column(u.col("id").unwrap())
        .filter(Expr::exists(has_posts))
        .order_by(u.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "id"), [1, 2, 3]);
    // NOT IN (subquery)
    let r = Select::from(u)
        .column(u.col("id").unwrap())
        .filter(
            u.col("id").unwrap().not_in_query(
                Select::from(p)
                    .column(p.col("author_id").unwrap())
                    .filter(p.col("author_id").unwrap().is_not_null()),
            ),
        )
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "id"), [4]);
});

each_backend!(scalar_subquery_in_select_list, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let (u, p) = (&m.user, &m.post);
    let count = Select::from(p)
        .column(func::count_star())
        .filter(p.col("author_id").unwrap().eq(u.col("id").unwrap()));
    let r = Select::from(u)
        .column(u.col("name").unwrap())
        .column(Expr::subquery(count).label("n").unwrap())
        .order_by(u.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "n"), [3, 2, 1, 0]);
});

each_backend!(between_like_ilike, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let db = &t.db;
    let names = |cond: Expr| {
        let u = u.clone();
        async move {
            let r = Select::from(&u)
                .column(u.col("name").unwrap())
                .filter(cond)
                .order_by(u.col("name").unwrap())
                .fetch_all(db)
                .await
                .unwrap();
            texts(&r, "name")
        }
    };
    let karma = || u.col("karma").unwrap();
    let name = || u.col("name").unwrap();
    assert_eq!(names(karma().between(10, 30)).await, ["Grace", "Linus"]);
    assert_eq!(names(karma().not_between(10, 30)).await, ["Ada", "Barbara"]);
    assert_eq!(names(name().like("%a")).await, ["Ada", "Barbara"]);
    assert_eq!(names(name().ilike("g%")).await, ["Grace"]);
    assert_eq!(names(name().not_ilike("%A%")).await, ["Linus"]);
    assert_eq!(names(name().not_like("%r%")).await, ["Ada", "Linus"]);
});

each_backend!(null_tests_and_distinct_from, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let p = &m.post;
    let db = &t.db;
    let ids = |cond: Expr| {
        let p = p.clone();
        async move {
            let r = Select::from(&p)
                .column(p.col("id").unwrap())
                .filter(cond)
                .order_by(p.col("id").unwrap())
                .fetch_all(db)
                .await
                .unwrap();
            ints(&r, "id")
        }
    };
    let author = || p.col("author_id").unwrap();
    assert_eq!(ids(author().is_null()).await, [7]);
    assert_eq!(ids(p.col("score").unwrap().is_null()).await, [5]);
    assert_eq!(ids(author().is_not_null()).await.len(), 6);
    // NULL-safe comparisons: NULL is distinct from 1, not distinct from NULL.
    assert_eq!(ids(author().is_distinct_from(1)).await, [4, 5, 6, 7]);
    assert_eq!(ids(author().is_not_distinct_from(Expr::null())).await, [7]);
    // A plain = NULL matches nothing.
    assert!(ids(author().eq(Expr::null())).await.is_empty());
});

each_backend!(arithmetic_concat_case_cast, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let karma = || u.col("karma").unwrap();
    let r = Select::from(u)
        .column((karma() * 2 + 1).label("k").unwrap())
        .column((karma() % 7).label("r").unwrap())
        .column((-karma()).label("neg").unwrap())
        .column(u.col("name").unwrap().concat("!").label("shout").unwrap())
        .column(
            Expr::case_when(karma().ge(30), "high")
                .when(karma().ge(10), "mid")
                .otherwise("low")
                .label("tier")
                .unwrap(),
        )
        .column(
            Expr::case(u.col("id").unwrap())
                .when(1, "one")
                .end()
                .label("simple")
                .unwrap(),
        )
        .column(karma().cast(SqlType::Text).label("as_text").unwrap())
        .order_by(u.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "k"), [101, 61, 21, 1]);
    assert_eq!(ints(&r, "r"), [1, 2, 3, 0]);
    assert_eq!(ints(&r, "neg"), [-50, -30, -10, 0]);
    assert_eq!(texts(&r, "shout"), ["Ada!", "Grace!", "Linus!", "Barbara!"]);
    assert_eq!(texts(&r, "tier"), ["high", "high", "mid", "low"]);
    assert_eq!(texts(&r, "simple"), ["one", "NULL", "NULL", "NULL"]);
    assert_eq!(texts(&r, "as_text"), ["50", "30", "10", "0"]);
});

each_backend!(generic_functions, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let r = Select::from(u)
        .column(func::upper(u.col("name").unwrap()).label("up").unwrap())
        .column(func::length(u.col("name").unwrap()).label("len").unwrap())
        .column(
            func::coalesce([u.col("email").unwrap(), Expr::val("none")])
                .label("mail")
                .unwrap(),
        )
        .column(
            func::call(
                "replace",
                [u.col("name").unwrap(), Expr::val("a"), Expr::val("4")],
            )
            .unwrap()
            .label("rep")
            .unwrap(),
        )
        .order_by(u.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "up"), ["ADA", "GRACE", "LINUS", "BARBARA"]);
    assert_eq!(ints(&r, "len"), [3, 5, 5, 7]);
    assert_eq!(texts(&r, "mail")[3], "none");
    assert_eq!(texts(&r, "rep"), ["Ad4", "Gr4ce", "Linus", "B4rb4r4"]);
});

each_backend!(aggregates_with_distinct_and_filter, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let p = &m.post;
    let score = || p.col("score").unwrap();
    let row = Select::from(p)
        .column(func::count_star().label("n").unwrap())
        .column(func::count(score()).label("scored").unwrap())
        .column(
            func::count(p.col("author_id").unwrap())
                .distinct()
                .unwrap()
                .label("authors")
                .unwrap(),
        )
        .column(
            func::count_star()
                .filter(score().gt(8))
                .unwrap()
                .label("good")
                .unwrap(),
        )
        .column(func::sum(score()).label("total").unwrap())
        .column(func::min(score()).label("lo").unwrap())
        .column(
            func::max(p.col("title").unwrap())
                .label("last_title")
                .unwrap(),
        )
        .column(func::avg(score()).label("mean").unwrap())
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(row.get("n").unwrap(), &Value::Int8(7));
    assert_eq!(row.get("scored").unwrap(), &Value::Int8(6));
    assert_eq!(row.get("authors").unwrap(), &Value::Int8(3));
    assert_eq!(row.get("good").unwrap(), &Value::Int8(2));
    assert_eq!(row.get("total").unwrap(), &Value::Float8(41.0));
    assert_eq!(row.get("lo").unwrap(), &Value::Float8(1.0));
    assert_eq!(
        row.get("last_title").unwrap(),
        &Value::from("Poetical Science")
    );
    let mean = row.get("mean").unwrap().as_f64().unwrap();
    assert!((mean - 41.0 / 6.0).abs() < 1e-9, "{mean}");
});

each_backend!(group_by_having_order_by_aggregate, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let p = &m.post;
    let n = || func::count_star();
    let r = Select::from(p)
        .column(p.col("author_id").unwrap())
        .column(n().label("n").unwrap())
        .group_by([p.col("author_id").unwrap()])
        .having(n().ge(2))
        .order_by(n().desc())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "author_id"), [1, 2]);
    assert_eq!(ints(&r, "n"), [3, 2]);
});

each_backend!(order_nulls_first_last_limit_offset, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let p = &m.post;
    let q = |o| {
        Select::from(p)
            .column(p.col("id").unwrap())
            .order_by(o)
            .order_by(p.col("id").unwrap())
    };
    let r = q(p.col("score").unwrap().desc().nulls_last())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "id"), [1, 4, 3, 2, 6, 7, 5]);
    let r = q(p.col("score").unwrap().asc().nulls_first())
        .limit(3)
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "id"), [5, 7, 6]);
    let r = q(p.col("score").unwrap().asc().nulls_first())
        .limit(2)
        .offset(2)
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "id"), [6, 2]);
    let r = q(p.col("id").unwrap().asc())
        .offset(5)
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "id"), [6, 7]);
});

each_backend!(distinct_rows, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let e = &m.emp;
    let r = Select::from(e)
        .column(e.col("dept").unwrap())
        .distinct()
        .order_by(e.col("dept").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "dept"), ["board", "eng", "sales"]);
});

each_backend!(joins_inner_left_right_full_cross, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let (u, p) = (&m.user, &m.post);
    let on = || p.col("author_id").unwrap().eq(u.col("id").unwrap());
    let base = || {
        Select::new()
            .column(u.col("name").unwrap())
            .column(p.col("title").unwrap())
            .and_from(u)
    };
    let inner = base().join(p, on()).fetch_all(&t.db).await.unwrap();
    assert_eq!(inner.len(), 6);
    let left = base()
        .left_join(p, on())
        .filter(p.col("id").unwrap().is_null())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&left, "name"), ["Barbara"]);
    let right = base()
        .right_join(p, on())
        .filter(u.col("id").unwrap().is_null())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&right, "title"), ["Anonymous"]);
    let full = base().full_join(p, on()).fetch_all(&t.db).await.unwrap();
    assert_eq!(full.len(), 8);
    let cross = Select::from(u)
        .column(func::count_star().label("n").unwrap())
        .cross_join(p)
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(cross.get("n").unwrap(), &Value::Int8(28));
});

each_backend!(
    joined_models_get_unique_labels_mapped_to_columns,
    |t| async move {
        let m = models();
        seed(&t.db, &m).await;
        let (u, p) = (&m.user, &m.post);
        let q = Select::from(u)
            .join(p, p.col("author_id").unwrap().eq(u.col("id").unwrap()))
            .filter(p.col("id").unwrap().eq(4));
        let compiled = dbridge_engine::dialect::Compile::compile_for(&q, t.backend()).unwrap();
        let labels: Vec<&str> = compiled.columns.iter().map(|c| c.label.as_str()).collect();
        assert!(
            labels.contains(&"users_id") && labels.contains(&"posts_id"),
            "{labels:?}"
        );
        assert!(labels.contains(&"users_created_at") && labels.contains(&"posts_created_at"));
        // Every label maps back to its model column.
        for c in compiled.columns.iter() {
            let origin = c.origin.as_ref().unwrap();
            let qual = c.qualifier.as_ref().unwrap();
            assert_eq!(origin.model.table(), qual);
        }
        let row = q.fetch_one(&t.db).await.unwrap();
        assert_eq!(row.get("users_id").unwrap().as_i64(), Some(2));
        assert_eq!(row.get("posts_id").unwrap().as_i64(), Some(4));
        assert_eq!(row.get("title").unwrap(), &Value::from("COBOL"));
    }
);

each_backend!(self_join_with_aliases, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let worker = m.emp.alias("w").unwrap();
    let boss = m.emp.alias("b").unwrap();
    let r = Select::from(worker.clone())
        .column(worker.col("name").unwrap())
        .column(boss.col("name").unwrap())
        .join(
            boss.clone(),
            worker
                .col("manager_id")
                .unwrap()
                .eq(boss.col("id").unwrap()),
        )
        .order_by(worker.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "w_name"), ["Bob", "Carol", "Dan", "Fay"]);
    assert_eq!(texts(&r, "b_name"), ["Eve", "Bob", "Eve", "Dan"]);
});

each_backend!(derived_table_subquery, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let p = &m.post;
    let per_author = Select::from(p)
        .column(p.col("author_id").unwrap())
        .column(func::count_star().label("n").unwrap())
        .filter(p.col("author_id").unwrap().is_not_null())
        .group_by([p.col("author_id").unwrap()])
        .subquery("pa")
        .unwrap();
    let u = &m.user;
    let r = Select::from(u)
        .column(u.col("name").unwrap())
        .column(per_author.col("n").unwrap())
        .join(
            per_author.clone(),
            per_author
                .col("author_id")
                .unwrap()
                .eq(u.col("id").unwrap()),
        )
        .order_by(per_author.col("n").unwrap().desc())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Ada", "Grace", "Linus"]);
    assert_eq!(ints(&r, "n"), [3, 2, 1]);
    let err = per_author.col("nope").unwrap_err();
    assert_eq!(err.to_string(), "no column `nope` on subquery `pa`");
});

each_backend!(typed_values_roundtrip_through_select, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let e = &m.emp;
    let r = Select::from(e)
        .column(e.col("salary").unwrap())
        .filter(
            e.col("salary")
                .unwrap()
                .gt(Value::Numeric("100.00".parse().unwrap())),
        )
        .order_by(e.col("salary").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    let salaries: Vec<String> = r
        .iter()
        .map(|r| r.get("salary").unwrap().to_string())
        .collect();
    // Numeric is stored as text on SQLite: comparisons and ordering compare numbers, not text.
    assert_eq!(salaries, ["120.50", "130.00", "300.00"]);
    assert!(matches!(r[0].get("salary").unwrap(), Value::Numeric(_)));
    let r = Select::from(e)
        .column(e.col("name").unwrap())
        .filter(e.col("salary").unwrap().between(
            Value::Numeric("80".parse().unwrap()),
            Value::Numeric("100".parse().unwrap()),
        ))
        .order_by(e.col("salary").unwrap().desc())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Dan", "Fay"]);
    let _ = Backend::Sqlite;
});
