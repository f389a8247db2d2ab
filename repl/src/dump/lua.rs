//! Lua's spelling of declarations: `db:model { ... }`, `{ "id", "bigint",
//! primary_key = true }`, `dbridge.belongs_to("albums", { ... })`.

use super::{Block, Syntax};

/// Lua.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lua;

const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

fn key(k: &str) -> String {
    if super::bare_key(k, KEYWORDS) {
        k.to_owned()
    } else {
        format!("[{}]", Lua.string(k))
    }
}

fn pairs(entries: &[(String, String)]) -> Vec<String> {
    entries
        .iter()
        .map(|(k, v)| format!("{} = {v}", key(k)))
        .collect()
}

impl Syntax for Lua {
    fn comment(&self, text: &str) -> String {
        format!("-- {}", super::one_line(text))
    }

    fn string(&self, s: &str) -> String {
        super::quoted(s, |c| format!("\\{:03}", c as u32))
    }

    fn map(&self, entries: &[(String, String)]) -> String {
        if entries.is_empty() {
            return "{}".into();
        }
        format!("{{ {} }}", pairs(entries).join(", "))
    }

    fn list(&self, items: &[String]) -> String {
        if items.is_empty() {
            return "{}".into();
        }
        format!("{{ {} }}", items.join(", "))
    }

    fn column(&self, name: &str, ty: &str, options: &[(String, String)]) -> String {
        let mut parts = vec![self.string(name), self.string(ty)];
        parts.extend(pairs(options));
        format!("{{ {} }}", parts.join(", "))
    }

    fn index(&self, columns: &[String], name: Option<&str>, unique: bool) -> String {
        let mut parts: Vec<String> = columns.iter().map(|c| self.string(c)).collect();
        if let Some(n) = name {
            parts.push(format!("name = {}", self.string(n)));
        }
        if unique {
            parts.push("unique = true".into());
        }
        format!("{{ {} }}", parts.join(", "))
    }

    fn relation(&self, kind: &str, target: &str, options: &[(String, String)]) -> String {
        format!(
            "dbridge.{kind}({}, {})",
            self.string(target),
            self.map(options)
        )
    }

    fn model(&self, entries: &[(String, Block)]) -> String {
        let mut out = String::from("db:model {\n");
        for (k, v) in entries {
            let v = match v {
                Block::Inline(v) => v.clone(),
                Block::Lines(items) => lines(items.iter().cloned()),
                Block::MapLines(items) => {
                    lines(items.iter().map(|(k, v)| format!("{} = {v}", key(k))))
                }
            };
            out.push_str(&format!("  {} = {v},\n", key(k)));
        }
        out.push_str("}\n");
        out
    }
}

fn lines(items: impl Iterator<Item = String>) -> String {
    let mut out = String::from("{\n");
    for i in items {
        out.push_str(&format!("    {i},\n"));
    }
    out.push_str("  }");
    out
}
