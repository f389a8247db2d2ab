//! `dbridge-repl models dump`: a database's tables as the `db:model{...}`
//! declarations of a script language, relationships included.
//!
//! The engine describes the schema ([`SchemaSnapshot::declarations`]: models
//! in dependency order, each with only what a declaration must say); this
//! module arranges that description, and a [`Syntax`] per language spells it
//! (`lua.rs`, `rhai.rs`: literals, keys, maps and lists). The engine knows no
//! scripting language, and the bindings have no reason to write their own
//! source, so the writers live here, in the host of both.

mod lua;
mod rhai;

use dbridge_engine::Value;
use dbridge_engine::migrate::{
    ColumnDeclaration, Declarations, ForeignKeyDeclaration, IndexDeclaration, ModelDeclaration,
    RelationDeclaration, SchemaSnapshot,
};
use dbridge_engine::schema::RelationshipKind;

pub use lua::Lua;
pub use rhai::Rhai;

/// How a script language spells the pieces of a declaration.
pub trait Syntax {
    /// A line comment.
    fn comment(&self, text: &str) -> String;
    /// A string literal.
    fn string(&self, s: &str) -> String;
    /// A map (`{ k = v }` / `#{ k: v }`); `entries` are `(key, value text)`.
    fn map(&self, entries: &[(String, String)]) -> String;
    /// A list.
    fn list(&self, items: &[String]) -> String;
    /// A column: name, type and options.
    fn column(&self, name: &str, ty: &str, options: &[(String, String)]) -> String;
    /// An entry of `indexes` or `uniques`: its columns, name and uniqueness.
    fn index(&self, columns: &[String], name: Option<&str>, unique: bool) -> String;
    /// `dbridge.belongs_to("target", { ... })` and its siblings.
    fn relation(&self, kind: &str, target: &str, options: &[(String, String)]) -> String;
    /// A whole `db:model{...}` statement from its top-level entries, one a line.
    fn model(&self, entries: &[(String, Block)]) -> String;
    /// `true` / `false`.
    fn boolean(&self, b: bool) -> String {
        b.to_string()
    }
}

/// The value of a model's top-level entry, as a [`Syntax`] lays it out.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// On the entry's line.
    Inline(String),
    /// A list, one item a line (the columns).
    Lines(Vec<String>),
    /// A map, one entry a line (the relationships).
    MapLines(Vec<(String, String)>),
}

/// The declarations of `schema`, written in `syntax`, with a header.
pub fn dump(schema: &SchemaSnapshot, syntax: &dyn Syntax) -> String {
    let decls = schema.declarations();
    let mut out = header(&decls, schema, syntax);
    for m in &decls.models {
        out.push('\n');
        for n in &m.notes {
            out.push_str(&syntax.comment(&format!("{}: {n}", m.table)));
            out.push('\n');
        }
        out.push_str(&syntax.model(&model_entries(m, syntax)));
    }
    out
}

/// Whether `k` can be written as a bare key: an identifier that is not one
/// of the language's `reserved` words.
fn bare_key(k: &str, reserved: &[&str]) -> bool {
    k.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !reserved.contains(&k)
}

/// Text from the database (a CHECK's expression) as one comment line: every
/// control character becomes a space, so that it never ends the comment.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `s` in double quotes: `"`, `\` and newlines escaped, and every other
/// control character as `control` spells it.
fn quoted(s: &str, control: impl Fn(char) -> String) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&control(c)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn header(d: &Declarations, schema: &SchemaSnapshot, syntax: &dyn Syntax) -> String {
    let mut lines = vec![
        format!(
            "Models of a {} database, written by `dbridge-repl models dump`.",
            schema.backend
        ),
        "Each model is named after its table; db:models() gives them by name.".to_owned(),
        "Relationships come from the foreign keys (see docs/relationships.md).".to_owned(),
    ];
    for (t, why) in &d.left_out {
        lines.push(format!("table `{t}` is left out: {why}"));
    }
    for (t, r, why) in &d.relationships_left_out {
        lines.push(format!("relationship `{r}` of `{t}` is left out: {why}"));
    }
    let mut out = String::new();
    for l in lines {
        out.push_str(&syntax.comment(&l));
        out.push('\n');
    }
    out
}

fn entry(k: &str, v: String) -> (String, String) {
    (k.to_owned(), v)
}

fn model_entries(m: &ModelDeclaration, s: &dyn Syntax) -> Vec<(String, Block)> {
    let inline = |k: &str, v: String| (k.to_owned(), Block::Inline(v));
    let mut e = vec![
        inline("name", s.string(&m.name)),
        inline("table", s.string(&m.table)),
    ];
    let cols: Vec<String> = m.columns.iter().map(|c| column(c, s)).collect();
    e.push(("columns".into(), Block::Lines(cols)));
    if !m.indexes.is_empty() {
        e.push(inline("indexes", indexes(&m.indexes, false, s)));
    }
    if !m.uniques.is_empty() {
        e.push(inline("uniques", indexes(&m.uniques, true, s)));
    }
    if !m.foreign_keys.is_empty() {
        let fks: Vec<String> = m.foreign_keys.iter().map(|f| foreign_key(f, s)).collect();
        e.push(("foreign_keys".into(), Block::Lines(fks)));
    }
    if !m.relations.is_empty() {
        let rels: Vec<(String, String)> = m
            .relations
            .iter()
            .map(|r| (r.name.clone(), relation(r, s)))
            .collect();
        e.push(("relations".into(), Block::MapLines(rels)));
    }
    e
}

fn literal(v: &Value, s: &dyn Syntax) -> String {
    match v {
        Value::Bool(b) => s.boolean(*b),
        Value::Int2(_) | Value::Int4(_) | Value::Int8(_) => v.to_string(),
        // A decimal that a script number holds exactly is written as one (so
        // that the default stays a number); any other as its exact text.
        Value::Numeric(n) => {
            let text = n.to_string();
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() && x.to_string() == text => text,
                _ => s.string(&text),
            }
        }
        other => s.string(&other.to_string()),
    }
}

fn column(c: &ColumnDeclaration, s: &dyn Syntax) -> String {
    let mut o = Vec::new();
    if c.primary_key {
        o.push(entry("primary_key", s.boolean(true)));
    }
    if c.not_null {
        o.push(entry("nullable", s.boolean(false)));
    }
    if let Some(v) = &c.default {
        o.push(entry("default", literal(v, s)));
    }
    if let Some(k) = c.server_default {
        o.push(entry("server_default", s.string(k)));
    }
    match c.identity {
        None => {}
        Some(None) => o.push(entry("identity", s.boolean(false))),
        Some(Some(id)) => o.push(entry("identity", s.string(id.as_str()))),
    }
    if let Some(r) = &c.references {
        o.push(entry("references", s.string(r)));
    }
    if let Some(a) = c.on_delete {
        o.push(entry("on_delete", s.string(a)));
    }
    if let Some(a) = c.on_update {
        o.push(entry("on_update", s.string(a)));
    }
    s.column(&c.name, &c.ty, &o)
}

fn names(cols: &[String], s: &dyn Syntax) -> String {
    let items: Vec<String> = cols.iter().map(|c| s.string(c)).collect();
    s.list(&items)
}

/// `uniques` says unique already: `unique` is written for indexes only.
fn indexes(list: &[IndexDeclaration], constraint: bool, s: &dyn Syntax) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|ix| s.index(&ix.columns, ix.name.as_deref(), ix.unique && !constraint))
        .collect();
    s.list(&items)
}

fn foreign_key(f: &ForeignKeyDeclaration, s: &dyn Syntax) -> String {
    let mut e = vec![
        entry("columns", names(&f.columns, s)),
        entry("references", s.string(&f.references)),
        entry("ref_columns", names(&f.ref_columns, s)),
    ];
    if let Some(n) = &f.name {
        e.push(entry("name", s.string(n)));
    }
    if let Some(a) = f.on_delete {
        e.push(entry("on_delete", s.string(a)));
    }
    if let Some(a) = f.on_update {
        e.push(entry("on_update", s.string(a)));
    }
    s.map(&e)
}

fn relation(r: &RelationDeclaration, s: &dyn Syntax) -> String {
    let mut o = Vec::new();
    if let Some(fk) = &r.foreign_key {
        o.push(entry("foreign_key", s.string(fk)));
    }
    if let Some(b) = &r.back_populates {
        o.push(entry("back_populates", s.string(b)));
    }
    let kind = match r.kind {
        RelationshipKind::BelongsTo => "belongs_to",
        RelationshipKind::HasMany => "has_many",
        RelationshipKind::HasOne => "has_one",
        RelationshipKind::ManyToMany => "many_to_many",
    };
    s.relation(kind, &r.target, &o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn lua_quotes_keywords_and_strings() {
        let s = Lua;
        assert_eq!(s.string("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\001""#);
        assert_eq!(
            s.map(&[pair("end", "1"), pair("odd key", "2"), pair("ok", "3")]),
            r#"{ ["end"] = 1, ["odd key"] = 2, ok = 3 }"#
        );
        assert_eq!(
            s.column("id", "bigint", &[pair("primary_key", "true")]),
            r#"{ "id", "bigint", primary_key = true }"#
        );
        assert_eq!(
            s.index(&["a".into(), "b".into()], Some("ix"), true),
            r#"{ "a", "b", name = "ix", unique = true }"#
        );
        let m = s.model(&[
            pair_block("name", Block::Inline("\"t\"".into())),
            pair_block(
                "columns",
                Block::Lines(vec!["{ \"id\", \"bigint\" }".into()]),
            ),
            pair_block(
                "relations",
                Block::MapLines(vec![pair("then", "dbridge.has_many(\"x\", {})")]),
            ),
        ]);
        assert_eq!(
            m,
            "db:model {\n  name = \"t\",\n  columns = {\n    { \"id\", \"bigint\" },\n  },\n  relations = {\n    [\"then\"] = dbridge.has_many(\"x\", {}),\n  },\n}\n"
        );
    }

    fn pair_block(k: &str, b: Block) -> (String, Block) {
        (k.to_owned(), b)
    }

    #[test]
    fn rhai_quotes_reserved_words_and_strings() {
        let s = Rhai;
        assert_eq!(s.string("a\"b\\c\td\u{1}"), r#""a\"b\\c\td\x01""#);
        assert_eq!(
            s.column(
                "n",
                "integer",
                &[pair("default", "0"), pair("nullable", "false")]
            ),
            r#"["n", "integer", #{ "default": 0, nullable: false }]"#
        );
        assert_eq!(s.column("n", "text", &[]), r#"["n", "text"]"#);
        assert_eq!(s.index(&["a".into()], None, false), r#"["a"]"#);
        assert_eq!(
            s.relation(
                "belongs_to",
                "albums",
                &[pair("foreign_key", "\"album_id\"")]
            ),
            r#"dbridge::belongs_to("albums", #{ foreign_key: "album_id" })"#
        );
        let m = s.model(&[pair_block(
            "relations",
            Block::MapLines(vec![pair("match", "x")]),
        )]);
        assert_eq!(
            m,
            "db.model(#{\n    relations: #{\n        \"match\": x,\n    },\n});\n"
        );
    }

    #[test]
    fn comments_hold_one_line() {
        assert_eq!(Lua.comment("a\r\nos.exit()"), "-- a  os.exit()");
        assert_eq!(Rhai.comment("a\rb\nc"), "// a b c");
    }

    #[test]
    fn decimals_stay_numbers_when_exact() {
        let n = |t: &str| Value::Numeric(t.parse().unwrap());
        assert_eq!(literal(&n("0.99"), &Lua), "0.99");
        assert_eq!(
            literal(&n("12345678901234567890.123"), &Lua),
            "\"12345678901234567890.123\""
        );
        assert_eq!(literal(&Value::Bool(true), &Rhai), "true");
    }
}
