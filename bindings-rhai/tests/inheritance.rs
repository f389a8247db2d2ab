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
