//! Rhai's spelling of declarations: `db.model(#{ ... });`, `["id", "bigint",
//! #{ primary_key: true }]`, `dbridge::belongs_to("albums", #{ ... })`.

use super::{Block, Syntax};

/// Rhai.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rhai;

/// Rhai's keywords and reserved words: a map key among them is quoted.
const RESERVED: &[&str] = &[
    "true",
    "false",
    "let",
    "const",
    "if",
    "else",
    "switch",
    "do",
    "while",
    "until",
    "loop",
    "for",
    "in",
    "continue",
    "break",
    "return",
    "throw",
    "try",
    "catch",
    "fn",
    "private",
    "import",
    "export",
    "as",
    "global",
    "this",
    "is",
    "var",
    "static",
    "shared",
    "goto",
    "exit",
    "match",
    "case",
    "public",
    "protected",
    "new",
    "use",
    "with",
    "module",
    "package",
    "super",
    "spawn",
    "thread",
    "go",
    "sync",
    "async",
    "await",
    "yield",
    "default",
    "void",
    "null",
    "nil",
    "Fn",
    "call",
    "curry",
    "type_of",
    "print",
    "debug",
    "eval",
];

fn key(k: &str) -> String {
    if super::bare_key(k, RESERVED) {
        k.to_owned()
    } else {
        Rhai.string(k)
    }
}

fn pairs(entries: &[(String, String)]) -> Vec<String> {
    entries
        .iter()
        .map(|(k, v)| format!("{}: {v}", key(k)))
        .collect()
}

impl Syntax for Rhai {
    fn comment(&self, text: &str) -> String {
        format!("// {}", super::one_line(text))
    }

    fn string(&self, s: &str) -> String {
        super::quoted(s, |c| match c {
            '\t' => "\\t".into(),
            '\r' => "\\r".into(),
            c => format!("\\x{:02x}", c as u32),
        })
    }

    fn map(&self, entries: &[(String, String)]) -> String {
        if entries.is_empty() {
            return "#{}".into();
        }
        format!("#{{ {} }}", pairs(entries).join(", "))
    }

    fn list(&self, items: &[String]) -> String {
        format!("[{}]", items.join(", "))
    }

    fn column(&self, name: &str, ty: &str, options: &[(String, String)]) -> String {
        if options.is_empty() {
            return format!("[{}, {}]", self.string(name), self.string(ty));
        }
        format!(
            "[{}, {}, {}]",
            self.string(name),
            self.string(ty),
            self.map(options)
        )
    }

    fn index(&self, columns: &[String], name: Option<&str>, unique: bool) -> String {
        let cols: Vec<String> = columns.iter().map(|c| self.string(c)).collect();
        if name.is_none() && !unique {
            return self.list(&cols);
        }
        let mut e = vec![("columns".to_owned(), self.list(&cols))];
        if let Some(n) = name {
            e.push(("name".to_owned(), self.string(n)));
        }
        if unique {
            e.push(("unique".to_owned(), "true".to_owned()));
        }
        self.map(&e)
    }

    fn relation(&self, kind: &str, target: &str, options: &[(String, String)]) -> String {
        format!(
            "dbridge::{kind}({}, {})",
            self.string(target),
            self.map(options)
        )
    }

    fn model(&self, entries: &[(String, Block)]) -> String {
        let mut out = String::from("db.model(#{\n");
        for (k, v) in entries {
            let v = match v {
                Block::Inline(v) => v.clone(),
                Block::Lines(items) => lines('[', ']', items.iter().cloned()),
                Block::MapLines(items) => lines(
                    '{',
                    '}',
                    items.iter().map(|(k, v)| format!("{}: {v}", key(k))),
                )
                .replacen('{', "#{", 1),
            };
            out.push_str(&format!("    {}: {v},\n", key(k)));
        }
        out.push_str("});\n");
        out
    }
}

fn lines(open: char, close: char, items: impl Iterator<Item = String>) -> String {
    let mut out = format!("{open}\n");
    for i in items {
        out.push_str(&format!("        {i},\n"));
    }
    out.push_str(&format!("    {close}"));
    out
}
