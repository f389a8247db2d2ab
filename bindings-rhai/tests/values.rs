//! Values both ways on both backends: every documented mapping round-trips,
//! and both backends give a script the same values.

mod common;

use common::{check, kind, run};
use dbridge_engine::{SqlType, dialect::column_type};
use dbridge_testkit::{TestDb, each_backend};

const COLUMNS: &[(&str, &str)] = &[
    ("b", "boolean"),
    ("i2", "smallint"),
    ("i4", "integer"),
    ("i8", "bigint"),
    ("f4", "real"),
    ("f8", "double precision"),
    ("num", "numeric"),
    ("t", "text"),
    ("by", "bytea"),
    ("u", "uuid"),
    ("j", "jsonb"),
    ("js", "json"),
    ("d", "date"),
    ("ts", "timestamp"),
    ("tz", "timestamptz"),
    ("iv", "interval"),
    ("ip", "inet"),
    ("arr", "integer[]"),
    ("tarr", "text[]"),
];

/// A table with one column of each type (declared per backend), and the
/// script-side `types` list to read it back typed.
fn setup(t: &TestDb) -> String {
    let cols: Vec<String> = COLUMNS
        .iter()
        .map(|(n, ty)| {
            let ty: SqlType = ty.parse().unwrap();
            format!("{n} {}", column_type(t.backend(), &ty))
        })
        .collect();
    let names: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
    let types: Vec<String> = COLUMNS
        .iter()
        .map(|(n, ty)| format!("{n}: \"{ty}\""))
        .collect();
    let placeholders: Vec<String> = (1..=COLUMNS.len()).map(|i| format!("${i}")).collect();
    format!(
        r#"
        db.execute("CREATE TABLE v (id INTEGER PRIMARY KEY, {cols})");
        let insert = "INSERT INTO v (id, {names}) VALUES ($0, {ph})";
        let select = "SELECT {names} FROM v WHERE id = $1";
        let types = #{{ types: #{{ {types} }} }};
        "#,
        cols = cols.join(", "),
        names = names.join(", "),
        ph = placeholders.join(", "),
        types = types.join(", "),
    )
    // `$0` is not a placeholder: the id goes last.
    .replace("$0", &format!("${}", COLUMNS.len() + 1))
}

each_backend!(every_type_round_trips, |t| async move {
    check(
        &t,
        &format!(
            r#"{setup}
        let input = [
            true, 7, 70000, 9000000000, 1.5, 2.25, "12.50", "héllo", "hi".to_blob(),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            #{{ name: "Ada", tags: ["x", 2, 2.5, (), true], nested: #{{ k: () }} }},
            [1, "two", #{{ three: 3 }}],
            "2024-05-01", "2024-05-01 12:30:00.25", "2024-05-01 12:30:00+00:00",
            "P1M2DT3S", "192.168.0.1",
            [1, 2, ()], ["a", "b"],
        ];
        input.push(1);
        db.execute(insert, input);
        let row = db.fetch_one(select, [1], types);

        assert_eq(row.b, true);
        assert_eq(row.i2, 7);
        assert_eq(row.i4, 70000);
        assert_eq(row.i8, 9000000000);
        assert_eq(row.f4, 1.5);
        assert_eq(row.f8, 2.25);
        assert_eq(row.num, "12.50");
        assert_eq(row.t, "héllo");
        assert_eq(row.by, "hi".to_blob());
        assert_eq(row.u, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
        assert_eq(row.j, #{{ name: "Ada", tags: ["x", 2, 2.5, (), true], nested: #{{ k: () }} }});
        assert_eq(row.js, [1, "two", #{{ three: 3 }}]);
        assert_eq(row.d, "2024-05-01");
        assert_eq(row.ts, "2024-05-01 12:30:00.250");
        assert_eq(row.tz, "2024-05-01 12:30:00+00:00");
        assert_eq(row.iv, "P1M2DT3S");
        assert_eq(row.ip, "192.168.0.1");
        assert_eq(row.arr, [1, 2, ()]);
        assert_eq(row.tarr, ["a", "b"]);
    "#,
            setup = setup(&t)
        ),
    )
    .await;
});

each_backend!(null_is_unit_both_ways, |t| async move {
    let nulls = vec!["()"; COLUMNS.len()].join(", ");
    check(
        &t,
        &format!(
            r#"{setup}
        db.execute(insert, [{nulls}, 1]);
        let row = db.fetch_one(select, [1], types);
        for k in row.keys() {{ assert_eq(row[k], ()); }}
        assert_eq(row.len(), {n});
    "#,
            setup = setup(&t),
            n = COLUMNS.len()
        ),
    )
    .await;
});

each_backend!(timestamps_are_normalised_to_utc, |t| async move {
    check(
        &t,
        &format!(
            r#"{setup}
        db.execute("INSERT INTO v (id, tz) VALUES ($1, $2)", [1, "2024-05-01T14:30:00+02:00"]);
        let row = db.fetch_one("SELECT tz FROM v WHERE id = 1", [], #{{ types: #{{ tz: "timestamptz" }} }});
        assert_eq(row.tz, "2024-05-01 12:30:00+00:00");
    "#,
            setup = setup(&t)
        ),
    )
    .await;
});

each_backend!(json_forces_jsonb_for_any_shape, |t| async move {
    check(&t, &format!(r#"{setup}
        db.execute("INSERT INTO v (id, j, js) VALUES ($1, $2, $3)", [1, dbridge::json([1, 2]), dbridge::json("text")]);
        let row = db.fetch_one("SELECT j, js FROM v", [], #{{ types: #{{ j: "jsonb", js: "json" }} }});
        assert_eq(row.j, [1, 2]);
        assert_eq(row.js, "text");
        assert_eq(type_of(dbridge::json(#{{}})), "Json");
    "#, setup = setup(&t))).await;
});

each_backend!(unbindable_values_are_type_mismatches, |t| async move {
    let err = run(&t, "db.execute(\"SELECT $1\", [db])")
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "type_mismatch");
    assert!(err.to_string().contains("parameter $1"), "{err}");
    let err = run(&t, "db.execute(\"SELECT $1\", [#{ f: || 1 }])")
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "type_mismatch");
    let err = run(&t, "dbridge::json(#{ x: 0.0 / 0.0 })")
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "invalid_value");
    let err = run(
        &t,
        "db.fetch_all(\"SELECT 1\", [], #{ types: #{ one: \"no_such_type\" } })",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(kind(&err).as_str(), "configuration" | "invalid_value"),
        "{err}"
    );
});

each_backend!(raw_reads_are_by_storage_class_on_sqlite, |t| async move {
    // Without `types`, SQLite gives what it stored (json as its text);
    // PostgreSQL always knows the column type.
    let v = run(
        &t,
        &format!(
            r#"{setup}
        db.execute("INSERT INTO v (id, j) VALUES ($1, $2)", [1, #{{ a: 1 }}]);
        type_of(db.fetch_one("SELECT j FROM v").j)
    "#,
            setup = setup(&t)
        ),
    )
    .await
    .unwrap();
    let expected = match t.backend() {
        dbridge_engine::Backend::Sqlite => "string",
        dbridge_engine::Backend::Postgres => "map",
    };
    assert_eq!(v.into_string().unwrap(), expected);
});
