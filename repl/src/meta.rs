//! Dot-commands that talk to the database directly: `.sql`, `.tables`,
//! `.schema`, `.explain`; and the tables `.models` and `.describe` print.

use dbridge_engine::db::Statement;
use dbridge_engine::schema::Model;
use dbridge_engine::{Backend, Database, Value};

use crate::lang::{Output, ScriptError};
use crate::render::{Cell, Table};

/// Whether a statement returns rows (so it is fetched rather than executed).
pub fn returns_rows(sql: &str) -> bool {
    let head = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        head.as_str(),
        "select" | "with" | "values" | "show" | "explain" | "pragma" | "table"
    ) || sql.to_ascii_lowercase().contains("returning")
}

/// Words that start an SQL statement: `.explain` and `.sql` read text that
/// starts with one (any case) as SQL rather than as a script expression.
const SQL_KEYWORDS: &[&str] = &[
    "select", "with", "values", "table", "insert", "update", "delete", "merge", "show", "pragma",
    "explain", "analyze", "analyse", "verbose", "create", "drop", "alter",
];

/// Whether `text` is SQL for `.explain`: it starts with an SQL keyword
/// followed by a space or `(`, or with `(` (PostgreSQL's option list).
pub fn is_sql(text: &str) -> bool {
    let t = text.trim_start();
    if t.starts_with('(') {
        return true;
    }
    let word: String = t.chars().take_while(char::is_ascii_alphabetic).collect();
    let next = t[word.len()..].chars().next();
    SQL_KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
        && matches!(next, Some(c) if c.is_whitespace() || c == '(' || c == '*')
}

/// Splits `.explain`'s text into EXPLAIN options (`ANALYZE`, `VERBOSE`, a
/// parenthesised list) and the statement.
pub fn explain_options(text: &str) -> (String, &str) {
    let mut rest = text.trim_start();
    let mut options = Vec::new();
    loop {
        if rest.starts_with('(') {
            let Some(end) = rest.find(')') else { break };
            options.push(&rest[..=end]);
            rest = rest[end + 1..].trim_start();
            continue;
        }
        let word: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        match word.to_ascii_lowercase().as_str() {
            "analyze" | "analyse" | "verbose" => {
                options.push(&rest[..word.len()]);
                rest = rest[word.len()..].trim_start();
            }
            _ => break,
        }
    }
    (options.join(" "), rest)
}

/// One statement of `.sql`: a query's rows as a table (its header also when
/// no row came back), other statements the rows they affected.
pub async fn sql(db: &Database, sql: &str) -> Result<Output, ScriptError> {
    if returns_rows(sql) {
        let rows = db.fetch_all(sql, &[]).await.map_err(ScriptError::from)?;
        if rows.is_empty() {
            return Ok(Output::Table(Table {
                columns: columns_of(db, sql).await,
                rows: Vec::new(),
            }));
        }
        Ok(Output::Table(Table::from_rows(&rows)))
    } else {
        let n = db.execute(sql, &[]).await.map_err(ScriptError::from)?;
        Ok(Output::Text(format!(
            "OK, {n} row{} affected",
            if n == 1 { "" } else { "s" }
        )))
    }
}

/// The column names of a query that returned no row: the query wrapped so
/// that it returns one row of NULLs under its own names (a `LEFT JOIN` onto
/// one row). Empty when the wrap does not apply (a `PRAGMA`, a `SHOW`).
async fn columns_of(db: &Database, sql: &str) -> Vec<String> {
    let body = sql.trim().trim_end_matches(';');
    let head = body
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if !matches!(head.as_str(), "select" | "with" | "values" | "table") {
        return Vec::new();
    }
    let wrapped = format!(
        "SELECT dbridge_q.* FROM (SELECT 1 AS dbridge_one) AS dbridge_o \
         LEFT JOIN ({body}) AS dbridge_q ON 1 = 1"
    );
    match db.fetch_all(&wrapped, &[]).await {
        Ok(rows) => Table::from_rows(&rows).columns,
        Err(_) => Vec::new(),
    }
}

/// Whether a statement begins, ends or marks a transaction (`BEGIN`,
/// `COMMIT`, `SAVEPOINT`...): such statements must share one connection.
pub fn is_transaction_control(sql: &str) -> bool {
    let head = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches(';')
        .to_ascii_lowercase();
    matches!(
        head.as_str(),
        "begin" | "start" | "commit" | "end" | "rollback" | "abort" | "savepoint" | "release"
    )
}

/// Runs every statement of an SQL file ([`Database::execute_script`]).
pub async fn sql_script(db: &Database, sql: &str) -> Result<Output, ScriptError> {
    let n = db.execute_script(sql).await.map_err(ScriptError::from)?;
    Ok(Output::Text(format!(
        "OK, {n} row{} affected",
        if n == 1 { "" } else { "s" }
    )))
}

/// The names of the tables of the connected database.
///
/// # Errors
/// The catalog query's error.
pub async fn table_names(db: &Database) -> Result<Vec<String>, ScriptError> {
    let q = match db.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1"
        }
    };
    let rows = db.fetch_all(q, &[]).await.map_err(ScriptError::from)?;
    Ok(rows
        .iter()
        .filter_map(|r| r.get(0).ok()?.as_str().map(str::to_owned))
        .collect())
}

/// The names of every column of every table (for "did you mean").
///
/// # Errors
/// The catalog query's error.
pub async fn column_names(db: &Database) -> Result<Vec<String>, ScriptError> {
    let q = match db.backend() {
        Backend::Sqlite => {
            "SELECT DISTINCT p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
        Backend::Postgres => {
            "SELECT DISTINCT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema()"
        }
    };
    let rows = db.fetch_all(q, &[]).await.map_err(ScriptError::from)?;
    Ok(rows
        .iter()
        .filter_map(|r| r.get(0).ok()?.as_str().map(str::to_owned))
        .collect())
}

/// The tables of the connected database.
pub async fn tables(db: &Database) -> Result<Output, ScriptError> {
    let q = match db.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    let rows = db.fetch_all(q, &[]).await.map_err(ScriptError::from)?;
    let names: Vec<String> = rows
        .iter()
        .filter_map(|r| r.get(0).ok()?.as_str().map(str::to_owned))
        .collect();
    Ok(Output::Text(if names.is_empty() {
        "(no tables)".into()
    } else {
        names.join("\n")
    }))
}

/// The columns of one table (or of all tables), from the database's catalog.
pub async fn schema(db: &Database, table: Option<&str>) -> Result<Output, ScriptError> {
    let filter = table.map(Value::from);
    let (q, params): (&str, Vec<Value>) = match (db.backend(), filter) {
        (Backend::Sqlite, f) => (
            "SELECT m.name AS \"table\", p.name AS \"column\", p.type AS \"type\",
                    CASE WHEN p.\"notnull\" = 1 THEN 'no' ELSE 'yes' END AS \"nullable\",
                    p.dflt_value AS \"default\", CASE WHEN p.pk > 0 THEN 'yes' ELSE '' END AS \"pk\"
             FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND ($1 IS NULL OR m.name = $1)
             ORDER BY m.name, p.cid",
            vec![f.unwrap_or(Value::Null)],
        ),
        (Backend::Postgres, f) => (
            "SELECT c.table_name::text AS \"table\", c.column_name::text AS \"column\",
                    format_type(a.atttypid, a.atttypmod) AS \"type\",
                    CASE WHEN c.is_nullable = 'YES' THEN 'yes' ELSE 'no' END AS \"nullable\",
                    c.column_default::text AS \"default\"
             FROM information_schema.columns c
             JOIN pg_attribute a ON a.attrelid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass
                                AND a.attname = c.column_name
             WHERE c.table_schema = current_schema() AND ($1::text IS NULL OR c.table_name = $1)
             ORDER BY c.table_name, c.ordinal_position",
            vec![f.unwrap_or(Value::Null)],
        ),
    };
    let rows = db.fetch_all(q, &params).await.map_err(ScriptError::from)?;
    if rows.is_empty() {
        return Err(ScriptError {
            kind: "not_found".into(),
            message: match table {
                Some(t) => format!("no table named `{t}`"),
                None => "no tables".into(),
            },
            traceback: None,
            notes: Vec::new(),
        });
    }
    Ok(Output::Table(Table::from_rows(&rows)))
}

/// The server's plan for a statement (its parameters bound, so that a query
/// with values explains as it would run); `options` are PostgreSQL's
/// (`ANALYZE`, `VERBOSE`, `(BUFFERS)`), which SQLite has not.
pub async fn explain(
    db: &Database,
    stmt: &Statement,
    options: &str,
) -> Result<Output, ScriptError> {
    let q = match db.backend() {
        Backend::Sqlite if !options.is_empty() => {
            return Err(ScriptError::from(dbridge_engine::Error::Unsupported {
                backend: Backend::Sqlite,
                feature: format!(
                    "EXPLAIN {options} (SQLite shows only the plan: `.explain SELECT ...`)"
                ),
            }));
        }
        Backend::Sqlite => format!("EXPLAIN QUERY PLAN {}", stmt.sql()),
        Backend::Postgres if options.is_empty() => format!("EXPLAIN {}", stmt.sql()),
        Backend::Postgres => format!("EXPLAIN {options} {}", stmt.sql()),
    };
    let rows = db
        .fetch_all(&q, stmt.params())
        .await
        .map_err(ScriptError::from)?;
    let mut table = Table::from_rows(&rows);
    if db.backend() == Backend::Sqlite {
        // Keep only the plan text.
        if let Some(i) = table.columns.iter().position(|c| c == "detail") {
            table.rows = table
                .rows
                .into_iter()
                .map(|r| vec![r.get(i).cloned().unwrap_or(Cell::Null)])
                .collect();
            table.columns = vec!["detail".into()];
        }
    }
    Ok(Output::Table(table))
}

fn text_or_null(s: Option<String>) -> Cell {
    s.map_or(Cell::Null, Cell::Text)
}

/// `.models`: one row a model, with its table and columns.
pub fn models(models: &[Model]) -> Output {
    let rows = models
        .iter()
        .map(|m| {
            let columns: Vec<&str> = m.columns().iter().map(|c| c.name().as_str()).collect();
            vec![
                Cell::Text(m.name().as_str().to_owned()),
                Cell::Text(m.table().as_str().to_owned()),
                Cell::Text(columns.join(", ")),
            ]
        })
        .collect();
    Output::Table(Table {
        columns: vec!["model".into(), "table".into(), "columns".into()],
        rows,
    })
}

/// `.describe`: the model's columns, one a row, in column order.
pub fn describe(model: &Model) -> Output {
    let rows = model
        .column_summaries()
        .into_iter()
        .map(|c| {
            vec![
                Cell::Text(c.name),
                Cell::Text(c.sql_type),
                Cell::Bool(c.nullable),
                Cell::Bool(c.primary_key),
                text_or_null(c.default),
                text_or_null(c.references),
            ]
        })
        .collect();
    Output::Table(Table {
        columns: [
            "column",
            "type",
            "nullable",
            "primary_key",
            "default",
            "references",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::{explain_options, is_sql, returns_rows};

    #[test]
    fn explain_reads_keywords_as_sql() {
        assert!(is_sql("ANALYZE SELECT 1"));
        assert!(is_sql("select * from t"));
        assert!(is_sql("(ANALYZE, BUFFERS) SELECT 1"));
        assert!(!is_sql("db:query(track)"));
        assert!(!is_sql("selection"));
        assert_eq!(
            explain_options("ANALYZE VERBOSE SELECT 1"),
            ("ANALYZE VERBOSE".to_string(), "SELECT 1")
        );
        assert_eq!(
            explain_options("(ANALYZE, BUFFERS) SELECT 1"),
            ("(ANALYZE, BUFFERS)".to_string(), "SELECT 1")
        );
        assert_eq!(explain_options("SELECT 1"), (String::new(), "SELECT 1"));
    }

    #[test]
    fn tells_queries_from_commands() {
        assert!(returns_rows("  select 1"));
        assert!(returns_rows("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(returns_rows("INSERT INTO t VALUES (1) RETURNING id"));
        assert!(!returns_rows("CREATE TABLE t (n int)"));
        assert!(!returns_rows("update t set n = 1"));
        assert!(super::is_transaction_control("BEGIN"));
        assert!(super::is_transaction_control("commit;"));
        assert!(!super::is_transaction_control("beginning()"));
    }
}
