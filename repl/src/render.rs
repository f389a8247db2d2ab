//! Rendering results for a person: tables, CSV, JSON, or one `column = value`
//! line per field. Pure functions of their input; nothing here prints.

use std::fmt::Write as _;

use comfy_table::{ContentArrangement, Table as Grid, presets::UTF8_FULL_CONDENSED};
use dbridge_engine::{Row, Value};

/// How results are printed (`.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A bordered table with headers.
    #[default]
    Table,
    /// RFC 4180 CSV with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
    /// One `column = value` line per field, records separated by a blank line.
    Line,
}

impl Mode {
    /// Parses a mode name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "table" => Self::Table,
            "csv" => Self::Csv,
            "json" => Self::Json,
            "line" => Self::Line,
            _ => return None,
        })
    }

    /// The mode's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Line => "line",
        }
    }
}

/// A cell: a value or NULL, already in display form.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// NULL, printed distinctly.
    Null,
    /// A value's text.
    Text(String),
    /// A number (unquoted in JSON).
    Number(String),
    /// A boolean (unquoted in JSON).
    Bool(bool),
    /// JSON (kept structured in JSON mode).
    Json(serde_json::Value),
}

impl Cell {
    /// The cell of an engine value.
    pub fn of(v: &Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Int2(_)
            | Value::Int4(_)
            | Value::Int8(_)
            | Value::Float4(_)
            | Value::Float8(_) => Self::Number(v.to_string()),
            Value::Json(j) | Value::Jsonb(j) => Self::Json(j.clone()),
            other => Self::Text(other.to_string()),
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Null => "NULL".into(),
            Self::Text(s) | Self::Number(s) => s.clone(),
            Self::Bool(b) => b.to_string(),
            Self::Json(j) => j.to_string(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Text(s) => s.clone().into(),
            Self::Number(s) => s
                .parse::<serde_json::Number>()
                .map_or_else(|_| s.clone().into(), Into::into),
            Self::Bool(b) => (*b).into(),
            Self::Json(j) => j.clone(),
        }
    }
}

/// Rows of cells under column names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table from engine rows (the columns of the first row).
    pub fn from_rows(rows: &[Row]) -> Self {
        let columns = rows
            .first()
            .map(|r| r.columns().names().iter().map(|n| n.to_string()).collect())
            .unwrap_or_default();
        let rows = rows
            .iter()
            .map(|r| r.values().iter().map(Cell::of).collect())
            .collect();
        Self { columns, rows }
    }
}

/// Limits that keep a huge result readable.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rows shown before the rest are counted and hidden (`None`: all, as
    /// when a pager shows the result).
    pub max_rows: Option<usize>,
    /// Characters shown of one cell before it is cut with `…`.
    pub max_cell: usize,
    /// Terminal width for tables, if known: a table wider than this prints
    /// vertically, one `column | value` line per field.
    pub width: Option<u16>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_rows: Some(200),
            max_cell: 60,
            width: None,
        }
    }
}

impl Limits {
    fn rows(&self, total: usize) -> usize {
        self.max_rows.map_or(total, |m| m.min(total))
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Renders a table in `mode`. Table and line modes hide rows past
/// `limits.max_rows` and cut long cells, saying so; CSV and JSON are complete.
/// A table wider than `limits.width` prints vertically (as psql's `\x auto`).
pub fn render(t: &Table, mode: Mode, limits: Limits) -> String {
    match mode {
        Mode::Table => match render_grid(t, limits) {
            Some(grid) => grid,
            None => render_vertical(t, limits),
        },
        Mode::Csv => render_csv(t),
        Mode::Json => render_json(t),
        Mode::Line => render_lines(t, limits),
    }
}

/// Renders one record: a single JSON object in JSON mode, one field a line
/// in table and line modes, a header and a line in CSV.
pub fn render_record(t: &Table, mode: Mode, limits: Limits) -> String {
    match mode {
        Mode::Json => match t.rows.first() {
            Some(row) => format!("{}\n", json_object(&t.columns, row, "")),
            None => "{}\n".into(),
        },
        Mode::Table | Mode::Line => render_lines(t, limits),
        Mode::Csv => render_csv(t),
    }
}

fn hidden_note(total: usize, shown: usize) -> String {
    let hidden = total - shown;
    format!("({total} rows, {hidden} not shown; use .mode csv or json for all)\n")
}

fn count_note(n: usize) -> String {
    format!("({n} row{})\n", if n == 1 { "" } else { "s" })
}

/// The bordered table, or `None` when it would be wider than the terminal.
fn render_grid(t: &Table, limits: Limits) -> Option<String> {
    let mut grid = Grid::new();
    grid.load_preset(UTF8_FULL_CONDENSED);
    grid.set_content_arrangement(ContentArrangement::Disabled);
    grid.set_header(t.columns.iter().map(|c| cut(c, limits.max_cell)));
    let shown = limits.rows(t.rows.len());
    for row in t.rows.iter().take(shown) {
        grid.add_row(row.iter().map(|c| cut(&c.text(), limits.max_cell)));
    }
    let mut out = grid.to_string();
    let widest = out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    if limits.width.is_some_and(|w| widest > usize::from(w)) && !t.rows.is_empty() {
        return None;
    }
    out.push('\n');
    if shown < t.rows.len() {
        out.push_str(&hidden_note(t.rows.len(), shown));
    } else {
        out.push_str(&count_note(t.rows.len()));
    }
    Some(out)
}

/// One block per record, headed `-[ RECORD n ]-`, one `column | value` line
/// per field; values wrap at the terminal's width.
fn render_vertical(t: &Table, limits: Limits) -> String {
    let name_width = t
        .columns
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0);
    let width = limits.width.map_or(usize::MAX, usize::from);
    let value_width = width.saturating_sub(name_width + 3).max(20);
    let shown = limits.rows(t.rows.len());
    let mut out = String::new();
    for (i, row) in t.rows.iter().take(shown).enumerate() {
        let head = format!("-[ RECORD {} ]", i + 1);
        let rule = width.min(name_width + 3 + value_width).min(80);
        let _ = writeln!(out, "{head}{}", "-".repeat(rule.saturating_sub(head.len())));
        for (name, cell) in t.columns.iter().zip(row) {
            let text = cut(&cell.text(), limits.max_cell.max(2000));
            let mut chunks = wrap(&text, value_width).into_iter();
            let first = chunks.next().unwrap_or_default();
            let _ = writeln!(out, "{name:<name_width$} | {first}");
            for more in chunks {
                let _ = writeln!(out, "{:<name_width$} | {more}", "");
            }
        }
    }
    if shown < t.rows.len() {
        out.push_str(&hidden_note(t.rows.len(), shown));
    } else {
        out.push_str(&count_note(t.rows.len()));
    }
    out
}

/// `text` in pieces of at most `width` characters (lines of the text kept).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.split('\n') {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            out.push(String::new());
        }
        for piece in chars.chunks(width.max(1)) {
            out.push(piece.iter().collect());
        }
    }
    out
}

fn render_csv(t: &Table) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(&t.columns);
    for row in &t.rows {
        let _ = w.write_record(row.iter().map(|c| match c {
            Cell::Null => String::new(),
            other => other.text(),
        }));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A JSON array of objects, each with its keys in column order (a
/// `serde_json` map would sort them).
fn render_json(t: &Table) -> String {
    if t.rows.is_empty() {
        return "[]\n".into();
    }
    let items: Vec<String> = t
        .rows
        .iter()
        .map(|row| format!("  {}", json_object(&t.columns, row, "  ")))
        .collect();
    format!("[\n{}\n]\n", items.join(",\n"))
}

/// One record as a pretty JSON object, its keys in column order; `indent`
/// is the indentation of its braces.
fn json_object(columns: &[String], row: &[Cell], indent: &str) -> String {
    let fields: Vec<String> = columns
        .iter()
        .zip(row)
        .map(|(name, cell)| {
            let key = serde_json::Value::from(name.as_str());
            let value = serde_json::to_string(&cell.json()).unwrap_or_else(|_| "null".into());
            format!("{indent}  {key}: {value}")
        })
        .collect();
    if fields.is_empty() {
        return "{}".into();
    }
    format!("{{\n{}\n{indent}}}", fields.join(",\n"))
}

fn render_lines(t: &Table, limits: Limits) -> String {
    let width = t
        .columns
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let shown = limits.rows(t.rows.len());
    for (i, row) in t.rows.iter().take(shown).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (name, cell) in t.columns.iter().zip(row) {
            let _ = writeln!(
                out,
                "{name:>width$} = {}",
                cut(&cell.text(), limits.max_cell.max(200))
            );
        }
    }
    if shown < t.rows.len() {
        out.push_str(&hidden_note(t.rows.len(), shown));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table {
            columns: vec!["id".into(), "name".into(), "meta".into()],
            rows: vec![
                vec![
                    Cell::Number("1".into()),
                    Cell::Text("Ada, \"the first\"".into()),
                    Cell::Json(serde_json::json!({"k": 1})),
                ],
                vec![Cell::Number("2".into()), Cell::Null, Cell::Null],
            ],
        }
    }

    #[test]
    fn table_shows_headers_null_and_count() {
        let out = render(&sample(), Mode::Table, Limits::default());
        assert!(out.contains("id") && out.contains("name"), "{out}");
        assert!(out.contains("NULL"), "{out}");
        assert!(out.ends_with("(2 rows)\n"), "{out}");
    }

    #[test]
    fn csv_quotes_and_leaves_null_empty() {
        let out = render(&sample(), Mode::Csv, Limits::default());
        assert_eq!(
            out,
            "id,name,meta\n1,\"Ada, \"\"the first\"\"\",\"{\"\"k\"\":1}\"\n2,,\n"
        );
    }

    #[test]
    fn json_keeps_types() {
        let out = render(&sample(), Mode::Json, Limits::default());
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[0]["id"], 1);
        assert_eq!(v[0]["meta"]["k"], 1);
        assert!(v[1]["name"].is_null());
    }

    #[test]
    fn line_mode_aligns_names() {
        let out = render(&sample(), Mode::Line, Limits::default());
        assert!(
            out.starts_with("  id = 1\nname = Ada, \"the first\"\n"),
            "{out}"
        );
        assert!(out.contains("\n\n  id = 2\nname = NULL\n"), "{out}");
    }

    #[test]
    fn long_results_are_truncated_with_a_note() {
        let t = Table {
            columns: vec!["n".into()],
            rows: (0..10).map(|i| vec![Cell::Number(i.to_string())]).collect(),
        };
        let out = render(
            &t,
            Mode::Table,
            Limits {
                max_rows: Some(3),
                ..Limits::default()
            },
        );
        assert!(out.contains("(10 rows, 7 not shown"), "{out}");
        assert!(!out.contains(" 5 "), "{out}");
        let csv = render(
            &t,
            Mode::Csv,
            Limits {
                max_rows: Some(3),
                ..Limits::default()
            },
        );
        assert_eq!(csv.lines().count(), 11, "csv is never truncated");
    }

    #[test]
    fn wide_cells_are_cut() {
        let t = Table {
            columns: vec!["s".into()],
            rows: vec![vec![Cell::Text("x".repeat(500))]],
        };
        let out = render(&t, Mode::Table, Limits::default());
        assert!(out.contains('…'), "{out}");
        assert!(!out.contains(&"x".repeat(100)), "{out}");
    }

    #[test]
    fn a_table_wider_than_the_terminal_prints_vertically() {
        let narrow = Limits {
            width: Some(20),
            ..Limits::default()
        };
        let out = render(&sample(), Mode::Table, narrow);
        assert!(out.starts_with("-[ RECORD 1 ]"), "{out}");
        assert!(out.contains("\nname | Ada, \"the first\"\n"), "{out}");
        assert!(out.ends_with("(2 rows)\n"), "{out}");
        let wide = Limits {
            width: Some(200),
            ..Limits::default()
        };
        assert!(render(&sample(), Mode::Table, wide).contains("│ id"));
    }

    #[test]
    fn an_empty_result_keeps_its_header() {
        let t = Table {
            columns: vec!["id".into(), "name".into()],
            rows: Vec::new(),
        };
        let out = render(&t, Mode::Table, Limits::default());
        assert!(out.contains("│ id ┆ name │"), "{out}");
        assert!(out.ends_with("(0 rows)\n"), "{out}");
        assert_eq!(render(&t, Mode::Json, Limits::default()), "[]\n");
    }

    #[test]
    fn json_keeps_column_order_and_one_record_is_an_object() {
        let t = Table {
            columns: vec!["zeta".into(), "alpha".into()],
            rows: vec![vec![Cell::Number("1".into()), Cell::Text("a".into())]],
        };
        let out = render(&t, Mode::Json, Limits::default());
        assert!(
            out.find("zeta").unwrap() < out.find("alpha").unwrap(),
            "{out}"
        );
        let rec = render_record(&t, Mode::Json, Limits::default());
        let v: serde_json::Value = serde_json::from_str(&rec).unwrap();
        assert_eq!(v, serde_json::json!({"zeta": 1, "alpha": "a"}));
        assert!(
            rec.find("zeta").unwrap() < rec.find("alpha").unwrap(),
            "{rec}"
        );
    }
}
