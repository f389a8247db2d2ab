//! Golden SQL: each construct compiled for each dialect, compared as text.

mod common;

use common::*;
use dbridge_engine::query::{
    ColumnRef, Cte, Delete, Expr, FrameBound, Insert, OnConflict, Select, Update, Window, func,
};
use dbridge_engine::{Backend, SqlType, Value};

#[test]
fn simple_select_with_params() {
    let m = models();
    let u = &m.user;
    let q = Select::from(u)
        .column(u.col("id").unwrap())
        .column(u.col("name").unwrap())
        .filter(u.col("karma").unwrap().gt(10))
        .filter(u.col("name").unwrap().like("A%"))
        .order_by(u.col("karma").unwrap().desc())
        .limit(10)
        .offset(5);
    let s = assert_sql!(
        q,
        both = r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."karma" > $1 AND "users"."name" LIKE $2 ORDER BY "users"."karma" DESC LIMIT $3 OFFSET $4"#
    );
    assert_eq!(
        s.params(),
        &[
            Value::Int4(10),
            Value::from("A%"),
            Value::Int8(10),
            Value::Int8(5)
        ]
    );
}

#[test]
fn whole_model_and_result_types() {
    let m = models();
    let s = assert_sql!(
        Select::from(&m.emp),
        both = r#"SELECT "employees"."id", "employees"."name", "employees"."dept", "employees"."salary", "employees"."manager_id" FROM "employees""#
    );
    let _ = s;
    let c = dbridge_engine::dialect::Compile::compile_for(&Select::from(&m.emp), Backend::Sqlite)
        .unwrap();
    let types: Vec<_> = c.columns.iter().map(|c| c.ty.clone()).collect();
    assert_eq!(types[3], Some(SqlType::Numeric(Some((10, 2)))));
    let c = dbridge_engine::dialect::Compile::compile_for(
        &Select::new()
            .column(func::count_star())
            .column(Expr::val(1.5).cast(SqlType::Numeric(None)))
            .and_from(&m.emp),
        Backend::Sqlite,
    )
    .unwrap();
    assert_eq!(c.columns[0].ty, Some(SqlType::Int8));
    assert_eq!(c.columns[0].label.as_str(), "count");
    assert_eq!(c.columns[1].ty, Some(SqlType::Numeric(None)));
    assert_eq!(c.columns[1].label.as_str(), "col2");
}

#[test]
fn parentheses_follow_precedence() {
    let a = || Expr::col("a").unwrap();
    let b = || Expr::col("b").unwrap();
    let q = Select::new()
        .column(((a() + b()) * 2).label("x").unwrap())
        .filter(
            a().eq(1)
                .or(b().eq(2))
                .and(a().ne(b()))
                .and(!(a().gt(1).or(b().lt(0)))),
        );
    assert_sql!(
        q,
        sqlite = r#"SELECT ("a" + "b") * $1 AS "x" WHERE ("a" = $2 OR "b" = $3) AND "a" <> "b" AND NOT ("a" > $4 OR "b" < $5)"#,
        postgres = r#"SELECT ("a" + "b") * $1::integer AS "x" WHERE ("a" = $2::integer OR "b" = $3::integer) AND "a" <> "b" AND NOT ("a" > $4::integer OR "b" < $5::integer)"#
    );
    let q = Select::new()
        .column((a() - (b() - 1)).label("d").unwrap())
        .column(a().concat(b() + 1).label("c").unwrap());
    assert_sql!(
        q,
        sqlite = r#"SELECT "a" - ("b" - $1) AS "d", "a" || ("b" + $2) AS "c""#,
        postgres = r#"SELECT "a" - ("b" - $1::integer) AS "d", "a" || ("b" + $2::integer) AS "c""#
    );
}

#[test]
fn postgres_casts_parameters_only_where_the_type_is_unknown() {
    let m = models();
    let u = &m.user;
    let q = Select::new()
        .column(Expr::val(1_i64).label("one").unwrap())
        .column(Expr::val("t").label("t").unwrap())
        .and_from(u)
        .filter(u.col("id").unwrap().eq(5_i32))
        .filter(
            u.col("created_at")
                .unwrap()
                .lt(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH),
        )
        .filter(u.col("karma").unwrap().eq(1.5));
    assert_sql!(
        q,
        Backend::Postgres,
        r#"SELECT $1::bigint AS "one", $2 AS "t" FROM "users" WHERE "users"."id" = $3 AND "users"."created_at" < $4 AND "users"."karma" = $5::double precision"#
    );
}

#[test]
fn in_between_null_distinct() {
    let m = models();
    let p = &m.post;
    let id = || p.col("id").unwrap();
    let q = Select::from(p)
        .column(id())
        .filter(id().in_list([1, 2]))
        .filter(id().not_between(3, 4))
        .filter(
            p.col("author_id")
                .unwrap()
                .is_null()
                .or(p.col("author_id").unwrap().is_distinct_from(9)),
        );
    assert_sql!(
        q,
        sqlite = r#"SELECT "posts"."id" FROM "posts" WHERE "posts"."id" IN ($1, $2) AND "posts"."id" NOT BETWEEN $3 AND $4 AND ("posts"."author_id" IS NULL OR "posts"."author_id" IS NOT $5)"#,
        postgres = r#"SELECT "posts"."id" FROM "posts" WHERE "posts"."id" IN ($1, $2) AND "posts"."id" NOT BETWEEN $3 AND $4 AND ("posts"."author_id" IS NULL OR "posts"."author_id" IS DISTINCT FROM $5)"#
    );
    let empty: [i32; 0] = [];
    assert_sql!(
        Select::from(p).column(id()).filter(id().in_list(empty)),
        sqlite = r#"SELECT "posts"."id" FROM "posts" WHERE 0"#,
        postgres = r#"SELECT "posts"."id" FROM "posts" WHERE FALSE"#
    );
}

#[test]
fn ilike_emulated_on_sqlite() {
    let n = || Expr::col("name").unwrap();
    let q = Select::new()
        .column(n())
        .filter(n().ilike("a%"))
        .filter(n().not_ilike("%z"));
    assert_sql!(
        q,
        sqlite = r#"SELECT "name" WHERE lower("name") LIKE lower($1) AND lower("name") NOT LIKE lower($2)"#,
        postgres = r#"SELECT "name" WHERE "name" ILIKE $1 AND "name" NOT ILIKE $2"#
    );
}

#[test]
fn case_cast_functions_quoted_when_unknown() {
    let x = || Expr::col("x").unwrap();
    let q = Select::new()
        .column(
            Expr::case_when(x().gt(1), "big")
                .otherwise("small")
                .label("size")
                .unwrap(),
        )
        .column(x().cast(SqlType::Timestamptz).label("ts").unwrap())
        .column(func::call("my_func", [x()]).unwrap().label("f").unwrap())
        .column(
            func::count(x())
                .distinct()
                .unwrap()
                .filter(x().gt(0))
                .unwrap()
                .label("n")
                .unwrap(),
        );
    assert_sql!(
        q,
        sqlite = r#"SELECT CASE WHEN "x" > $1 THEN $2 ELSE $3 END AS "size", CAST("x" AS TEXT) AS "ts", "my_func"("x") AS "f", count(DISTINCT "x") FILTER (WHERE "x" > $4) AS "n""#,
        postgres = r#"SELECT CASE WHEN "x" > $1::integer THEN $2 ELSE $3 END AS "size", CAST("x" AS timestamptz) AS "ts", "my_func"("x") AS "f", count(DISTINCT "x") FILTER (WHERE "x" > $4::integer) AS "n""#
    );
}

#[test]
fn joins_and_self_join_labels() {
    let m = models();
    let w = m.emp.alias("w").unwrap();
    let b = m.emp.alias("b").unwrap();
    let q = Select::from(w.clone())
        .column(w.col("name").unwrap())
        .column(b.col("name").unwrap())
        .left_join(
            b.clone(),
            w.col("manager_id").unwrap().eq(b.col("id").unwrap()),
        );
    assert_sql!(
        q,
        both = r#"SELECT "w"."name" AS "w_name", "b"."name" AS "b_name" FROM "employees" AS "w" LEFT OUTER JOIN "employees" AS "b" ON "w"."manager_id" = "b"."id""#
    );
    let q = Select::from(&m.user)
        .column(m.user.col("id").unwrap())
        .cross_join(&m.post)
        .full_join(m.emp.alias("e").unwrap(), Expr::val(true));
    assert_sql!(
        q,
        Backend::Sqlite,
        r#"SELECT "users"."id" FROM "users" CROSS JOIN "posts" FULL OUTER JOIN "employees" AS "e" ON $1"#
    );
}

#[test]
fn a_derived_table_column_names_the_derived_table() {
    let m = models();
    let p = &m.post;
    let counts = Select::from(p)
        .column(p.col("author_id").unwrap())
        .column(func::count_star().label("n").unwrap())
        .group_by([p.col("author_id").unwrap()])
        .subquery("c")
        .unwrap();
    let author = counts.col("author_id").unwrap();
    // The table the column reads is the derived table, not its model's
    // table under the derived table's alias.
    let from = ColumnRef::first_table_in(&author).unwrap();
    assert!(
        format!("{from:?}").starts_with("TableRef(subquery"),
        "{from:?}"
    );
    let q = Select::new()
        .column(author.clone())
        .and_from(from)
        .filter(counts.col("n").unwrap().gt(1));
    assert_sql!(
        q,
        both = r#"SELECT "c"."author_id" FROM (SELECT "posts"."author_id", count(*) AS "n" FROM "posts" GROUP BY "posts"."author_id") AS "c" WHERE "c"."n" > $1"#
    );
    // A model column under an alias still reads its model's table.
    let e = m.emp.alias("e").unwrap();
    let from = ColumnRef::first_table_in(&e.col("id").unwrap()).unwrap();
    assert_eq!(from.qualifier().as_str(), "e");
    assert!(!format!("{from:?}").contains("subquery"), "{from:?}");
    assert!(
        counts
            .all_columns()
            .iter()
            .all(|c| c.as_column().and_then(|c| c.derived.as_ref()).is_some()),
        "every column of a derived table names it"
    );
}

#[test]
fn windows_and_frames() {
    let x = || Expr::col("x").unwrap();
    let w = Window::new()
        .partition_by([Expr::col("g").unwrap()])
        .order_by([x().desc().nulls_last()])
        .rows(FrameBound::Preceding(2), FrameBound::Following(1));
    let q = Select::new()
        .column(func::sum(x()).over(w).unwrap().label("s").unwrap())
        .column(
            func::row_number()
                .over(Window::new())
                .unwrap()
                .label("rn")
                .unwrap(),
        )
        .column(
            func::avg(x())
                .over(Window::new().order_by([x().asc()]).groups(
                    FrameBound::UnboundedPreceding,
                    FrameBound::UnboundedFollowing,
                ))
                .unwrap()
                .label("a")
                .unwrap(),
        );
    assert_sql!(
        q,
        both = r#"SELECT sum("x") OVER (PARTITION BY "g" ORDER BY "x" DESC NULLS LAST ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING) AS "s", row_number() OVER () AS "rn", avg("x") OVER (ORDER BY "x" GROUPS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS "a""#
    );
}

#[test]
fn ctes_and_recursive_ctes() {
    let t = Cte::recursive_table("t", [("n", Some(SqlType::Int8))]).unwrap();
    let body = Select::new().column(Expr::val(1_i64)).union_all(
        Select::from(t.clone())
            .column(t.col("n").unwrap() + 1_i64)
            .filter(t.col("n").unwrap().lt(3_i64)),
    );
    let q = Select::from(t.clone()).with(Cte::recursive(&t, body).unwrap());
    assert_sql!(
        q,
        sqlite = r#"WITH RECURSIVE "t" ("n") AS (SELECT $1 AS "col1" UNION ALL SELECT "t"."n" + $2 AS "col1" FROM "t" WHERE "t"."n" < $3) SELECT "t"."n" FROM "t""#,
        postgres = r#"WITH RECURSIVE "t" ("n") AS (SELECT $1::bigint AS "col1" UNION ALL SELECT "t"."n" + $2 AS "col1" FROM "t" WHERE "t"."n" < $3) SELECT "t"."n" FROM "t""#
    );
    let m = models();
    let c = Cte::new(
        "top",
        Select::from(&m.user)
            .column(m.user.col("id").unwrap())
            .limit(1),
    )
    .unwrap();
    let q = Select::from(c.table()).with(c.clone());
    assert_sql!(
        q,
        both = r#"WITH "top" AS (SELECT "users"."id" FROM "users" LIMIT $1) SELECT "top"."id" FROM "top""#
    );
    // A CTE's table brings its CTE along: FROM, a join, a column query.
    let top = c.table();
    let q = Select::from(top.clone());
    assert_sql!(
        q,
        both = r#"WITH "top" AS (SELECT "users"."id" FROM "users" LIMIT $1) SELECT "top"."id" FROM "top""#
    );
    let q = Select::from(&m.user)
        .column(m.user.col("name").unwrap())
        .join(
            top.clone(),
            m.user.col("id").unwrap().eq(top.col("id").unwrap()),
        )
        .with(c.clone());
    assert_sql!(
        q,
        both = r#"WITH "top" AS (SELECT "users"."id" FROM "users" LIMIT $1) SELECT "users"."name" FROM "users" JOIN "top" ON "users"."id" = "top"."id""#
    );
    let id = top.col("id").unwrap();
    let from = ColumnRef::first_table_in(&id).unwrap();
    assert_eq!(from.qualifier().as_str(), "top");
    let q = Select::new().column(id).and_from(from);
    assert_sql!(
        q,
        both = r#"WITH "top" AS (SELECT "users"."id" FROM "users" LIMIT $1) SELECT "top"."id" FROM "top""#
    );
    // A table FROM has already is not listed twice (a column query's
    // `select_from` of the table it reads).
    let q = Select::from(top.clone()).and_from(top.clone());
    assert_sql!(
        q,
        both = r#"WITH "top" AS (SELECT "users"."id" FROM "users" LIMIT $1) SELECT "top"."id" FROM "top""#
    );
    // A recursive CTE's own table (by name) is the FROM of its columns.
    let n = t.col("n").unwrap();
    assert_eq!(
        ColumnRef::first_table_in(&n).unwrap().qualifier().as_str(),
        "t"
    );
    // Under an alias; and a recursive CTE's table brings WITH RECURSIVE.
    let q = Select::from(top.alias("t2").unwrap());
    assert_sql!(
        q,
        both = r#"WITH "top" AS (SELECT "users"."id" FROM "users" LIMIT $1) SELECT "t2"."id" FROM "top" AS "t2""#
    );
    let body = Select::new().column(Expr::val(1_i64)).union_all(
        Select::from(t.clone())
            .column(t.col("n").unwrap() + 1_i64)
            .filter(t.col("n").unwrap().lt(3_i64)),
    );
    let rec = Cte::recursive(&t, body).unwrap();
    assert!(rec.is_recursive() && rec.name().as_str() == "t");
    let q = Select::from(rec.table());
    assert_sql!(
        q,
        sqlite = r#"WITH RECURSIVE "t" ("n") AS (SELECT $1 AS "col1" UNION ALL SELECT "t"."n" + $2 AS "col1" FROM "t" WHERE "t"."n" < $3) SELECT "t"."n" FROM "t""#,
        postgres = r#"WITH RECURSIVE "t" ("n") AS (SELECT $1::bigint AS "col1" UNION ALL SELECT "t"."n" + $2 AS "col1" FROM "t" WHERE "t"."n" < $3) SELECT "t"."n" FROM "t""#
    );
}

#[test]
fn set_operations_wrap_members_with_order_or_limit() {
    let m = models();
    let u = &m.user;
    let a = Select::from(u)
        .column(u.col("id").unwrap())
        .order_by(u.col("id").unwrap())
        .limit(1);
    let b = Select::from(u).column(u.col("id").unwrap());
    let q = a
        .union(b.clone())
        .except(b)
        .order_by(Expr::label_ref("id").unwrap())
        .limit(5);
    assert_sql!(
        q,
        sqlite = r#"SELECT * FROM (SELECT "users"."id" FROM "users" ORDER BY "users"."id" LIMIT $1) UNION SELECT "users"."id" FROM "users" EXCEPT SELECT "users"."id" FROM "users" ORDER BY "id" LIMIT $2"#,
        postgres = r#"(SELECT "users"."id" FROM "users" ORDER BY "users"."id" LIMIT $1) UNION SELECT "users"."id" FROM "users" EXCEPT SELECT "users"."id" FROM "users" ORDER BY "id" LIMIT $2"#
    );
}

#[test]
fn distinct_on_and_locks_are_postgres_only() {
    let m = models();
    let u = &m.user;
    let q = Select::from(u)
        .column(u.col("id").unwrap())
        .distinct_on([u.col("name").unwrap()])
        .for_update()
        .skip_locked();
    assert_sql!(
        q,
        Backend::Postgres,
        r#"SELECT DISTINCT ON ("users"."name") "users"."id" FROM "users" FOR UPDATE SKIP LOCKED"#
    );
    let err = dbridge_engine::dialect::compile(&q, Backend::Sqlite).unwrap_err();
    assert_eq!(
        err.to_string(),
        "SELECT DISTINCT ON is not supported on sqlite"
    );
    let q = Select::from(u)
        .column(u.col("id").unwrap())
        .for_share()
        .nowait();
    assert_sql!(
        q,
        Backend::Postgres,
        r#"SELECT "users"."id" FROM "users" FOR SHARE NOWAIT"#
    );
}

#[test]
fn json_operators_per_dialect() {
    let d = || Expr::col("doc").unwrap();
    let q = Select::new()
        .column(d().get("a").label("a").unwrap())
        .column(d().get_text(0).label("b").unwrap())
        .column(d().path(["x", "1", "y"]).label("c").unwrap())
        .column(d().path_text(["x"]).label("e").unwrap())
        .filter(d().has_key("k"))
        .filter(d().has_any_key(["p", "q"]));
    let s = assert_sql!(
        q,
        sqlite = r#"SELECT "doc" -> $1 AS "a", CAST(CASE json_type("doc" -> $2) WHEN 'text' THEN "doc" ->> $3 ELSE nullif("doc" -> $4, 'null') END AS TEXT) AS "b", "doc" -> $5 AS "c", CAST(CASE json_type("doc" -> $6) WHEN 'text' THEN "doc" ->> $7 ELSE nullif("doc" -> $8, 'null') END AS TEXT) AS "e" WHERE json_type("doc", $9) IS NOT NULL AND (json_type("doc", $10) IS NOT NULL OR json_type("doc", $11) IS NOT NULL)"#,
        postgres = r#"SELECT "doc" -> $1::text AS "a", "doc" ->> $2::integer AS "b", "doc" #> $3::text[] AS "c", "doc" #>> $4::text[] AS "e" WHERE "doc" ? $5::text AND "doc" ?| $6::text[]"#
    );
    assert_eq!(s.params()[0], Value::from("a"));
    let sq = dbridge_engine::dialect::compile(&q, Backend::Sqlite).unwrap();
    assert_eq!(sq.params()[0], Value::from("$.\"a\""));
    assert_eq!(sq.params()[4], Value::from("$.\"x\"[1].\"y\""));
    assert_eq!(sq.params()[9], Value::from("$.\"p\""));
    let q = Select::new()
        .column(d())
        .filter(d().contains(serde_json::json!({"a": 1})))
        .filter(d().has_all_keys(["z"]));
    assert_sql!(
        q,
        Backend::Postgres,
        r#"SELECT "doc" WHERE "doc" @> $1::jsonb AND "doc" ?& $2::text[]"#
    );
    assert_eq!(
        dbridge_engine::dialect::compile(&q, Backend::Sqlite)
            .unwrap_err()
            .to_string(),
        "the JSON containment operator @> is not supported on sqlite"
    );
}

#[test]
fn insert_forms() {
    let m = models();
    let u = &m.user;
    let one = Insert::into(u)
        .columns(["name", "karma"])
        .unwrap()
        .values(vec!["Ada".into(), 1.into()])
        .unwrap();
    assert_sql!(
        one,
        both = r#"INSERT INTO "users" ("name", "karma") VALUES ($1, $2)"#
    );
    assert_sql!(
        Insert::into(u).returning([u.col("id").unwrap()]),
        both = r#"INSERT INTO "users" DEFAULT VALUES RETURNING "id""#
    );
    let up = one
        .clone()
        .on_conflict(
            OnConflict::columns(["email"])
                .do_update(["name"])
                .set(
                    "karma",
                    u.col("karma").unwrap() + Expr::excluded("karma").unwrap(),
                )
                .filter(u.col("active").unwrap().eq(true)),
        )
        .unwrap()
        .returning_all();
    assert_sql!(
        up,
        both = r#"INSERT INTO "users" ("name", "karma") VALUES ($1, $2) ON CONFLICT ("email") DO UPDATE SET "name" = excluded."name", "karma" = "users"."karma" + excluded."karma" WHERE "users"."active" = $3 RETURNING "id", "name", "email", "karma", "active", "created_at", "profile""#
    );
    let nothing = one
        .on_conflict(OnConflict::columns(Vec::<String>::new()))
        .unwrap();
    assert_sql!(
        nothing,
        both = r#"INSERT INTO "users" ("name", "karma") VALUES ($1, $2) ON CONFLICT DO NOTHING"#
    );
    let sel = Insert::into(u)
        .columns(["name"])
        .unwrap()
        .from_query(Select::from(&m.emp).column(m.emp.col("name").unwrap()))
        .on_conflict(OnConflict::columns(["email"]))
        .unwrap();
    assert_sql!(
        sel,
        sqlite = r#"INSERT INTO "users" ("name") SELECT * FROM (SELECT "employees"."name" FROM "employees") WHERE true ON CONFLICT ("email") DO NOTHING"#,
        postgres = r#"INSERT INTO "users" ("name") SELECT "employees"."name" FROM "employees" ON CONFLICT ("email") DO NOTHING"#
    );
}

#[test]
fn insert_values_are_coerced_to_column_types() {
    let m = models();
    let ins = Insert::into(&m.user)
        .columns(["id", "karma"])
        .unwrap()
        .values(vec!["12".into(), Value::Int8(3)])
        .unwrap();
    let s = dbridge_engine::dialect::compile(&ins, Backend::Sqlite).unwrap();
    assert_eq!(s.params(), &[Value::Int8(12), Value::Int4(3)]);
    let bad = Insert::into(&m.user)
        .columns(["karma"])
        .unwrap()
        .values(vec!["lots".into()])
        .unwrap();
    let err = dbridge_engine::dialect::compile(&bad, Backend::Sqlite).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for column \"karma\" of model `User`: malformed text for type integer"
    );
}

#[test]
fn update_and_delete() {
    let m = models();
    let u = &m.user;
    let up = Update::table(u)
        .set("karma", u.col("karma").unwrap() + 1)
        .unwrap()
        .set("name", "x")
        .unwrap()
        .filter(u.col("id").unwrap().eq(3))
        .returning([u.col("karma").unwrap().label("k").unwrap()]);
    assert_sql!(
        up,
        both = r#"UPDATE "users" SET "karma" = "users"."karma" + $1, "name" = $2 WHERE "users"."id" = $3 RETURNING "karma" AS "k""#
    );
    let del = Delete::from(u)
        .filter(u.col("active").unwrap().eq(false))
        .filter(u.col("karma").unwrap().lt(5))
        .returning([u.col("id").unwrap()]);
    assert_sql!(
        del,
        both = r#"DELETE FROM "users" WHERE "users"."active" = $1 AND "users"."karma" < $2 RETURNING "id""#
    );
}

#[test]
fn numeric_compares_as_real_on_sqlite() {
    let m = models();
    let e = &m.emp;
    let q = Select::from(e)
        .column(e.col("id").unwrap())
        .filter(
            e.col("salary")
                .unwrap()
                .gt(Value::Numeric("100".parse().unwrap())),
        )
        .order_by(e.col("salary").unwrap());
    assert_sql!(
        q,
        sqlite = r#"SELECT "employees"."id" FROM "employees" WHERE CAST("employees"."salary" AS REAL) > CAST($1 AS REAL) ORDER BY CAST("employees"."salary" AS REAL)"#,
        postgres = r#"SELECT "employees"."id" FROM "employees" WHERE "employees"."salary" > $1 ORDER BY "employees"."salary""#
    );
}

#[test]
fn primary_key_conditions() {
    let m = models();
    let q = Select::from(&m.user)
        .column(m.user.col("id").unwrap())
        .filter(m.user.pk_eq(&[Value::Int8(3)]).unwrap());
    assert_sql!(
        q,
        both = r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = $1"#
    );
    let err = m.user.pk_eq(&[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "model `User` has a primary key of 1 column(s); 0 value(s) given"
    );
}

#[test]
fn grouping_by_an_expression_with_values_uses_its_position() {
    let m = models();
    let e = &m.emp;
    let tier = || Expr::case_when(e.col("dept").unwrap().eq("board"), "top").otherwise("staff");
    let q = Select::from(e)
        .column(tier().label("tier").unwrap())
        .column(func::count_star().label("n").unwrap())
        .group_by([tier(), e.col("dept").unwrap()])
        .order_by(tier().desc());
    assert_sql!(
        q,
        both = r#"SELECT CASE WHEN "employees"."dept" = $1 THEN $2 ELSE $3 END AS "tier", count(*) AS "n" FROM "employees" GROUP BY 1, "employees"."dept" ORDER BY 1 DESC"#
    );
}

#[test]
fn a_table_reached_by_a_join_is_not_also_in_from() {
    // As in SQLAlchemy: FROM lists the tables no join reaches, so a query whose
    // first column is from a joined table names another left side.
    let m = models();
    let (u, p) = (&m.user, &m.post);
    let q = Select::new()
        .column(u.col("name").unwrap())
        .and_from(u)
        .and_from(p)
        .join(u, p.col("author_id").unwrap().eq(u.col("id").unwrap()));
    assert_sql!(
        q,
        both = r#"SELECT "users"."name" FROM "posts" JOIN "users" ON "posts"."author_id" = "users"."id""#
    );
    // The only FROM table stays (joining it again is the caller's mistake).
    let q = Select::from(u)
        .column(u.col("id").unwrap())
        .join(u, Expr::val(true));
    assert_sql!(
        q,
        Backend::Postgres,
        r#"SELECT "users"."id" FROM "users" JOIN "users" ON $1::boolean"#
    );
}
