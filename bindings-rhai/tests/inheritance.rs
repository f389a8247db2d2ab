//! Inheritance from Rhai on both backends: the example of docs/rhai.md
//! ("## Inheritance") as written, relationships to a base and to a subclass,
//! refresh, writes of a subclass, and declaration mistakes.

mod common;

use common::{check, kind, run};
use dbridge_testkit::each_backend;

/// The first ```rhai block after `heading` in docs/rhai.md.
fn doc_block(heading: &str) -> String {
    let doc = include_str!("../../docs/rhai.md");
    let at = doc.find(heading).expect("the heading");
    let rest = &doc[at..];
    let start = rest.find("```rhai\n").expect("a rhai block") + "```rhai\n".len();
    let end = rest[start..].find("\n```").expect("its end");
    rest[start..start + end].to_owned()
}

each_backend!(the_documented_example_runs, |t| async move {
    check(&t, &doc_block("## Inheritance")).await;
});

each_backend!(relationships_refresh_writes_and_mistakes, |t| async move {
    check(
        &t,
        r#"
let Team = db.model(#{
    name: "Team", table: "teams",
    columns: [["id", "integer", #{ primary_key: true }], ["name", "text"]],
    relations: #{
        members: dbridge::has_many("Member", #{ back_populates: "team", order_by: "id" }),
        leads: dbridge::has_many("Lead", #{ order_by: "id" }),
    },
});
let Member = db.model(#{
    name: "Member", table: "members",
    columns: [
        ["id", "integer", #{ primary_key: true }],
        ["name", "text"],
        ["role", "text"],
        ["team_id", "integer", #{ references: "teams.id" }],
    ],
    polymorphic_on: "role", polymorphic_identity: "member",
    relations: #{ team: dbridge::belongs_to("Team", #{ back_populates: "members" }) },
});
let Lead = db.model(#{
    name: "Lead", inherits: Member, polymorphic_identity: "lead",
    columns: [["since", "integer"]],
});
db.create_all();
db.transaction(|s| {
    let t = s.add(Team.build(#{ name: "core" }));
    s.add(Member.build(#{ name: "m1", team: t }));
    s.add(Lead.build(#{ name: "l1", since: 2020, team: t }));
});
let s = db.session();
let t = s.query(Team).one();
assert_eq(t.members.all().map(|m| m.model_name() + ":" + m.name), ["Member:m1", "Lead:l1"]);
assert_eq(t.leads.all().map(|m| m.name), ["l1"]);
let l = s.query(Lead).one();
assert_eq(l.team.name, "core");
s.commit();
db.execute("UPDATE members SET since = 2021 WHERE role = 'lead'", []);
s.refresh(l);
assert_eq(l.since, 2021);
s.delete(l);
s.commit();
assert_eq(db.query(Member).count(), 1);
Lead.insert(#{ name: "l2" });                   // role = "lead"
assert_eq(db.query(Lead).count(), 1);
Lead.update(#{ since: 1 }).execute();
Lead.delete().execute();
assert_eq(db.query(Member).count(), 1);
"#,
    )
    .await;
    let err = run(
        &t,
        r#"
let M = db.model(#{ name: "M", table: "m",
    columns: [["id", "integer", #{ primary_key: true }], ["k", "text"]], polymorphic_on: "k" });
db.model(#{ name: "Bad", inherits: M, columns: [["x", "text"]] });
"#,
    )
    .await
    .unwrap_err();
    assert_eq!(kind(&err), "schema");
    assert!(
        err.to_string().contains("needs a `polymorphic_identity`"),
        "{err}"
    );
});

each_backend!(the_joined_table_example_runs, |t| async move {
    check(&t, &doc_block("### Joined table")).await;
});

const JOINED: &str = r#"
let P = db.model(#{ name: "P", table: "ps", polymorphic_on: "k", polymorphic_identity: "p",
    columns: [["id", "integer", #{ primary_key: true }], ["k", "text"]] });
let Q = db.model(#{ name: "Q", table: "qs", inherits: P, polymorphic_identity: "q",
    columns: [["x", "text"]] });
db.create_all();
"#;

each_backend!(joined_table_writes_and_mistakes, |t| async move {
    // A statement of one table refuses a joined subclass.
    let err = run(
        &t,
        &format!("{JOINED} Q.insert(#{{ k: \"q\", x: \"a\" }});"),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("joined-table subclass"), "{err}");
    // polymorphic_load is inline or selectin.
    let err = run(
        &t,
        r#"
let P = db.model(#{ name: "P", table: "ps", polymorphic_on: "k",
    columns: [["id", "integer", #{ primary_key: true }], ["k", "text"]] });
db.model(#{ name: "Q", table: "qs", inherits: P, polymorphic_identity: "q",
    polymorphic_load: "eager", columns: [["x", "text"]] });
"#,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown polymorphic_load"),
        "{err}"
    );
    // A session writes both rows; a delete cascades in the database too.
    check(
        &t,
        &format!(
            "{JOINED}
db.transaction(|s| {{ s.add(Q.build(#{{ x: \"a\" }})); }});
assert_eq(db.query(Q).one().x, \"a\");
db.execute(\"DELETE FROM ps\");
assert_eq(db.fetch_all(\"SELECT id FROM qs\").len(), 0);"
        ),
    )
    .await;
});

each_backend!(concrete_table_round_trip, |t| async move {
    check(
        &t,
        r#"
let E = db.model(#{ name: "E", table: "es", polymorphic_on: "k", polymorphic_identity: "e",
    columns: [["id", "integer", #{ primary_key: true }], ["name", "text"], ["k", "text"]] });
let C = db.model(#{ name: "C", table: "cs", inherits: E, concrete: true,
    polymorphic_identity: "c", columns: [["rate", "integer", #{ nullable: false }]] });
db.create_all();
db.transaction(|s| {
    s.add(E.build(#{ name: "Ann" }));
    s.add(C.build(#{ name: "Dan", rate: 90 }));
});
assert_eq(db.fetch_all("SELECT name, rate FROM cs").len(), 1);
db.transaction(|s| {
    let ann = s.get(E, 1);
    let dan = s.get(C, 1);                     // same key, two tables
    assert_eq(ann.model_name(), "E");
    assert_eq(dan.model_name(), "C");
    assert_eq(s.query(E).all().len(), 1);      // the base's table only
    dan.rate = 95;
});
assert_eq(db.query(C).one().rate, 95);
db.transaction(|s| { s.delete(s.get(C, 1)); });
assert_eq(db.query(C).count(), 0);
assert_eq(db.query(E).count(), 1);
"#,
    )
    .await;
});

each_backend!(the_concrete_table_example_runs, |t| async move {
    check(&t, &doc_block("### Concrete table")).await;
});

each_backend!(
    polymorphic_union_queries_gets_and_mistakes,
    |t| async move {
        check(
            &t,
            r#"
let Team = db.model(#{ name: "Team", table: "teams",
    columns: [["id", "integer", #{ primary_key: true }]],
    relations: #{ staff: dbridge::has_many("E", #{ order_by: "name" }) } });
let E = db.model(#{ name: "E", table: "es", polymorphic_on: "k", polymorphic_identity: "e",
    polymorphic: "union",
    columns: [["id", "integer", #{ primary_key: true }], ["name", "text"], ["k", "text"],
        ["team_id", "integer", #{ references: "teams.id" }]] });
let M = db.model(#{ name: "M", inherits: E, polymorphic_identity: "m",
    columns: [["budget", "integer"]] });
let C = db.model(#{ name: "C", table: "cs", inherits: E, concrete: true,
    polymorphic_identity: "c", columns: [["rate", "integer", #{ nullable: false }]] });
db.create_all();
db.transaction(|s| {
    s.add(Team.build(#{}));
    s.add(E.build(#{ name: "Ann", team_id: 1 }));
    s.add(M.build(#{ name: "Bob", budget: 7, team_id: 1 }));
    s.add(C.build(#{ name: "Dan", rate: 90, team_id: 1 }));
});
let all = db.query(E).order_by(E.name).all();
assert_eq(all.map(|e| e.model_name()), ["E", "M", "C"]);
assert_eq(all[1].budget, 7);
assert_eq(all[2].rate, 90);
// Key 1 is Ann's and Dan's: the base's own row first.
assert_eq(E.get(1).name, "Ann");
assert_eq(C.get(1).name, "Dan");
let s = db.session();
assert_eq(s.get(E, 1).name, "Ann");
assert_eq(s.get(C, 1).name, "Dan");
assert_eq(s.query(E).count(), 3);
assert_eq(s.query(E).filter_by(#{ rate: 90 }).one().name, "Dan");
// A relationship to the base reads the union, subclass columns included.
let staff = s.query(Team).one().staff.all();
assert_eq(staff.map(|e| e.model_name()), ["E", "M", "C"]);
assert_eq(staff[2].rate, 90);
s.close();
"#,
        )
        .await;
        let err = run(
            &t,
            r#"db.model(#{ name: "Bad", table: "bad", polymorphic: "all",
            columns: [["id", "integer", #{ primary_key: true }]] });"#,
        )
        .await
        .unwrap_err();
        assert_eq!(kind(&err), "configuration");
        assert!(err.to_string().contains("`polymorphic` must be"), "{err}");
        let err = run(
            &t,
            r#"db.model(#{ name: "Bad", table: "bad", polymorphic: "union",
            columns: [["id", "integer", #{ primary_key: true }]] });"#,
        )
        .await
        .unwrap_err();
        assert_eq!(kind(&err), "schema");
    }
);

each_backend!(
    subclass_columns_through_relationship_loaders,
    |t| async move {
        check(
            &t,
            r#"
let Team = db.model(#{ name: "Team", table: "teams",
    columns: [["id", "integer", #{ primary_key: true }], ["name", "text"]],
    relations: #{ members: dbridge::has_many("Member", #{ order_by: "id" }) } });
let Member = db.model(#{ name: "Member", table: "members",
    columns: [["id", "integer", #{ primary_key: true }], ["name", "text"], ["role", "text"],
        ["team_id", "integer", #{ references: "teams.id" }]],
    polymorphic_on: "role", polymorphic_identity: "member" });
let Lead = db.model(#{ name: "Lead", inherits: Member, polymorphic_identity: "lead",
    columns: [["since", "integer"]] });
let Coder = db.model(#{ name: "Coder", inherits: Member, table: "coders",
    polymorphic_identity: "coder", columns: [["lang", "text"]] });
let Tester = db.model(#{ name: "Tester", inherits: Member, table: "testers",
    polymorphic_identity: "tester", polymorphic_load: "selectin",
    columns: [["tool", "text"]] });
db.create_all();
db.transaction(|s| {
    s.add(Team.build(#{ name: "core" }));
    s.add(Lead.build(#{ name: "l", since: 2020, team_id: 1 }));
    s.add(Coder.build(#{ name: "c", lang: "rhai", team_id: 1 }));
    s.add(Tester.build(#{ name: "t", tool: "cargo", team_id: 1 }));
});
let selects = 0;
let off = db.on_statement(|ev| { if ev.sql.starts_with("SELECT") { selects += 1; } });
for opt in ["lazy", "selectinload", "joinedload", "subqueryload"] {
    let s = db.session();
    let q = s.query(Team);
    if opt == "selectinload" { q = q.options(dbridge::selectinload("members")); }
    if opt == "joinedload" { q = q.options(dbridge::joinedload("members")); }
    if opt == "subqueryload" { q = q.options(dbridge::subqueryload("members")); }
    let t = q.all()[0];
    let by = #{};
    for m in t.members { by[m.model_name()] = m; }
    let before = selects;
    // Loaded with the rows: reading them runs no SQL.
    assert_eq(`${by.Lead.since}${by.Coder.lang}${by.Tester.tool}`, "2020rhaicargo");
    assert_eq(`${opt}:${selects - before}`, `${opt}:0`);
    s.close();
}
// The query's own join (contains_eager) reads the base's columns only: a
// subclass's own column loads on access, one SELECT.
let s = db.session();
let t = s.query(Team).join("members").options(dbridge::contains_eager("members")).all()[0];
let lead = ();
for m in t.members { if m.model_name() == "Lead" { lead = m; } }
let before = selects;
assert_eq(lead.since, 2020);
assert_eq(selects - before, 1);
s.close();
// Detached instances of db.query load it through their database.
let t = db.query(Team).join("members").options(dbridge::contains_eager("members")).all()[0];
let coder = ();
for m in t.members { if m.model_name() == "Coder" { coder = m; } }
let before = selects;
assert_eq(coder.lang, "rhai");
assert_eq(selects - before, 1);
off.call();
"#,
        )
        .await;
    }
);

each_backend!(single_table_under_a_joined_subclass, |t| async move {
    check(
        &t,
        r#"
let E = db.model(#{ name: "E", table: "es", polymorphic_on: "k", polymorphic_identity: "e",
    columns: [["id", "integer", #{ primary_key: true }], ["name", "text"], ["k", "text"]] });
let Eng = db.model(#{ name: "Eng", table: "engs", inherits: E, polymorphic_identity: "eng",
    columns: [["lang", "text"]] });
let Senior = db.model(#{ name: "Senior", inherits: Eng, polymorphic_identity: "senior",
    columns: [["level", "integer"]] });
db.create_all();
assert_eq(Senior.table_name(), "engs");
db.transaction(|s| {
    s.add(E.build(#{ name: "Ann" }));
    s.add(Eng.build(#{ name: "Cy", lang: "go" }));
    s.add(Senior.build(#{ name: "Sal", lang: "rhai", level: 3 }));
});
assert_eq(db.fetch_all("SELECT level FROM engs WHERE level IS NOT NULL")[0].level, 3);
let all = db.query(E).order_by(E.id).all();
assert_eq(all.map(|e| e.model_name()), ["E", "Eng", "Senior"]);
assert_eq(all[2].lang, "rhai");
assert_eq(all[2].level, 3);
let again = db.query(E).options(dbridge::selectin_polymorphic()).order_by(E.id).all();
assert_eq(again[2].level, 3);
assert_eq(db.query(Eng).all().map(|e| e.model_name()), ["Eng", "Senior"]);
assert_eq(db.query(Senior).filter_by(#{ level: 3 }).one().name, "Sal");
assert_eq(Senior.get(2), ());
assert_eq(E.get(3).level, 3);
db.transaction(|s| {
    let sal = s.get(E, 3);
    sal.name = "Sally";                        // the es row
    sal.lang = "zig";                          // the engs row
    sal.level = 4;                             // the engs row too
});
let s = db.session();
let sal = s.get(Senior, 3);
assert_eq(`${sal.name} ${sal.lang} ${sal.level}`, "Sally zig 4");
s.commit();
db.execute("UPDATE engs SET level = 5 WHERE level = 4");
s.refresh(sal);
assert_eq(sal.level, 5);
s.delete(sal);
s.commit();
assert_eq(db.fetch_all("SELECT id FROM engs").len(), 1);
assert_eq(db.query(E).count(), 2);
"#,
    )
    .await;
});
