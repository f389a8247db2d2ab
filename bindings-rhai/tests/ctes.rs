//! CTEs from Rhai on both backends: `q.cte(name)` as a table to select from,
//! join (from a model query too: instances) and use in a subquery, the WITH
//! coming with it; `q.cte(name, |t| member)` a recursive CTE (a tree walk);
//! errors for a bad name and a member that is not a query.

mod common;

use common::{check, run};
use dbridge_testkit::each_backend;

const EMPS: &str = r#"
    let Emp = db.model(#{ name: "Emp", table: "emps", columns: [
        ["id", "integer", #{ primary_key: true }], ["name", "text"], ["salary", "integer"],
        ["boss_id", "integer", #{ references: "emps.id" }] ] });
    db.create_all();
    Emp.insert([#{ id: 1, name: "Eve", salary: 300 }]);
    Emp.insert([#{ id: 2, name: "Bob", salary: 200, boss_id: 1 }, #{ id: 3, name: "Dan", salary: 150, boss_id: 1 }]);
    Emp.insert([#{ id: 4, name: "Fay", salary: 100, boss_id: 2 }]);
    fn names(rows) { let out = []; for r in rows { out.push(r.name); } out }
"#;

each_backend!(a_cte_is_a_table_that_brings_its_with, |t| async move {
    check(
        &t,
        &format!(
            r#"{EMPS}
        let rich = db.query([Emp.id, Emp.name]).where(Emp.salary.ge(150)).cte("rich");
        // A column query of it: FROM the CTE, WITH in front.
        let q = db.query(rich.name).order_by(rich.id);
        assert(q.sql().starts_with("WITH \"rich\" AS (SELECT"));
        assert_eq(names(q.all()), ["Eve", "Bob", "Dan"]);
        // The whole CTE, counted.
        assert_eq(db.query(rich).count(), 3);
        // Joined from a model query: instances.
        let joined = db.query(Emp).join(rich, Emp.boss_id.eq(rich.id)).order_by(Emp.id).all();
        assert_eq(names(joined), ["Bob", "Dan", "Fay"]);
        // In a subquery.
        assert_eq(db.query(Emp).where(Emp.id.not_in(db.query(rich.id))).one().name, "Fay");
        // In a session.
        let s = db.session();
        assert_eq(s.query([rich.id, rich.name]).all().len(), 3);
        s.close();
        // A CTE over another CTE.
        let top = db.query([rich.id, rich.name]).order_by(rich.id).limit(1).cte("top");
        assert_eq(db.query(top.col("name")).one().name, "Eve");
    "#
        ),
    )
    .await;
});

each_backend!(a_recursive_cte_walks_a_tree, |t| async move {
    check(
        &t,
        &format!(
            r#"{EMPS}
        // Everyone under Eve, with their depth.
        // The anchor first, in a variable: a chain that starts with `db`
        // holds it while the closure (which uses `db`) runs.
        let top = db.query([Emp.id, Emp.name, dbridge::literal(0).label("depth")])
            .where(Emp.boss_id.is_null());
        let chain = top.cte("chain", |chain| db.query([Emp.id, Emp.name, chain.depth + 1])
            .join(chain, Emp.boss_id.eq(chain.id)));
        let q = db.query([chain.name, chain.depth]).order_by([chain.depth, chain.name]);
        assert(q.sql().starts_with("WITH RECURSIVE \"chain\" (\"id\", \"name\", \"depth\")"));
        let out = [];
        for r in q.all() {{ out.push(`${{r.name}}:${{r.depth}}`); }}
        assert_eq(out, ["Eve:0", "Bob:1", "Dan:1", "Fay:2"]);
        // Counting to 5, with a CTE of no table.
        let one = db.query(dbridge::literal(1).label("x"));
        let n = one.cte("n", |n| db.query(n.x + 1).where(n.x.lt(5)));
        assert_eq(db.query(dbridge::func("max", [n.x]).label("top")).one().top, 5);
    "#
        ),
    )
    .await;
});

each_backend!(cte_errors, |t| async move {
    const EMP: &str = r#"let Emp = db.model(#{ name: "Emp", table: "emps", columns: [
        ["id", "integer", #{ primary_key: true }] ] });"#;
    let e = run(&t, &format!(r#"{EMP} db.query(Emp.id).cte("bad name")"#))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("invalid_identifier"), "{e}");
    let e = run(&t, &format!(r#"{EMP} db.query(Emp.id).cte("t", |t| 1)"#))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("fn must return the recursive member, a query"),
        "{e}"
    );
});
