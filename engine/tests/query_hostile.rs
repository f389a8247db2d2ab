//! Property tests: hostile strings as values only ever reach the parameter list
//! (or, in DDL, a literal that round-trips exactly); hostile names are rejected,
//! never emitted.

mod common;

use dbridge_engine::dialect::compile;
use dbridge_engine::query::{Expr, Insert, Run, Select, TableRef, func};
use dbridge_engine::schema::{Column, Metadata, Model};
use dbridge_engine::{Backend, Database, Ident, Value};
use proptest::prelude::*;

/// Strings built from the characters injection needs: quotes (also full-width
/// look-alikes), comment markers, semicolons, backslashes, NUL, whitespace.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_\"'`;\\-/*\\\\\\x00 \\n\\t$().,=\u{FF02}\u{FF07}\u{FF1B}\u{2019}\u{200B}ａｂ]{0,16}",
        any::<String>(),
        Just("x'); DROP TABLE users; --".to_string()),
        Just("\" OR 1=1 --".to_string()),
        Just("a\u{0}b".to_string()),
        Just("Robert'); DROP TABLE students;--".to_string()),
    ]
}

fn model() -> Model {
    Model::builder("User")
        .table("users")
        .column(Column::new("id", "bigint").primary_key())
        .column(Column::new("name", "text"))
        .build()
        .unwrap()
}

fn is_plain_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn values_only_reach_the_parameters(v in hostile()) {
        let user = model();
        let build = |s: &str| {
            Select::from(&user)
                .filter(user.col("name").unwrap().eq(s))
                .filter(user.col("name").unwrap().like(s).or(user.col("name").unwrap().ilike(s)))
                .column(Expr::val(s).label("echo").unwrap())
        };
        for b in [Backend::Sqlite, Backend::Postgres] {
            let hostile = compile(&build(&v), b).unwrap();
            let plain = compile(&build("x"), b).unwrap();
            // The text does not depend on the value; the value is passed as is.
            prop_assert_eq!(hostile.sql(), plain.sql());
            prop_assert!(hostile.params().iter().all(|p| p == &Value::from(v.as_str())));
            let ins = Insert::into(&user).columns(["name"]).unwrap().values(vec![v.as_str().into()]).unwrap();
            let ins_plain = Insert::into(&user).columns(["name"]).unwrap().values(vec!["x".into()]).unwrap();
            let (a, p) = (compile(&ins, b).unwrap(), compile(&ins_plain, b).unwrap());
            prop_assert_eq!(a.sql(), p.sql());
            prop_assert_eq!(a.params(), &[Value::from(v.as_str())]);
        }
    }

    #[test]
    fn hostile_names_are_rejected_or_plain(name in hostile()) {
        let results = [
            Model::builder(name.as_str()).column(Column::new("id", "int")).build().map(|m| m.name().to_string()),
            Model::builder("M").table(name.as_str()).column(Column::new("id", "int")).build().map(|m| m.table().to_string()),
            Model::builder("M").column(Column::new(name.as_str(), "int")).build().map(|m| m.columns()[0].name().to_string()),
            Expr::col(&name).map(|e| e.as_column().unwrap().name.to_string()),
            TableRef::named(&name, []).map(|t| t.qualifier().to_string()),
            model().alias(&name).map(|t| t.qualifier().to_string()),
            func::call(&name, [Expr::val(1)]).map(|_| Ident::new(&name).unwrap().to_string()),
            Expr::val(1).label(&name).map(|i| i.label.unwrap().to_string()),
        ];
        for r in results {
            match r {
                Ok(accepted) => {
                    prop_assert!(is_plain_ident(&accepted), "accepted {:?} as {:?}", name, accepted);
                    // Emitted only quoted, as its normalised self.
                    let q = Select::new().column(Expr::col(&accepted).unwrap());
                    let sql = compile(&q, Backend::Postgres).unwrap();
                    prop_assert_eq!(sql.sql().to_string(), format!("SELECT \"{accepted}\""));
                }
                Err(e) => {
                    let kind = e.kind().as_str();
                    prop_assert!(kind == "invalid_identifier" || kind == "schema", "{}", kind);
                }
            }
        }
        let unknown = model().col(&name);
        prop_assert!(unknown.is_err() || name == "id" || name == "name" || Ident::new(&name).is_ok_and(|i| i.as_str() == "id" || i.as_str() == "name"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// DDL literals cannot be parameters: a hostile default must come back exactly.
    #[test]
    fn hostile_defaults_round_trip_through_ddl(v in hostile()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let meta = Metadata::new();
            let m = meta.add(
                Model::builder("T")
                    .table("t")
                    .column(Column::new("id", "bigint").primary_key())
                    .column(Column::new("s", "text").default(v.as_str()))
                    .build()
                    .unwrap(),
            ).unwrap();
            let db = Database::connect("sqlite::memory:").await.unwrap();
            match meta.create_all(&db).await {
                Ok(()) => {
                    let row = Insert::into(&m).returning_all().fetch_one(&db).await.unwrap();
                    assert_eq!(row.get("s").unwrap(), &Value::from(v.as_str()));
                    // The value as a bound parameter finds the row.
                    let found = Select::from(&m).filter(m.col("s").unwrap().eq(v.as_str())).fetch_all(&db).await.unwrap();
                    assert_eq!(found.len(), 1);
                }
                Err(e) => {
                    // Only NUL is refused.
                    assert!(v.contains('\0'), "{e}");
                    assert_eq!(e.kind().as_str(), "invalid_value");
                }
            }
            let tables = db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'", &[]).await.unwrap();
            assert!(tables.len() <= 1);
        });
    }
}
