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

/// Runs raw SQL: the rows of a query (one statement) become a table; other
/// text runs as a script ([`Database::execute_script`]: one statement or
/// several) and reports the rows affected.
pub async fn sql(db: &Database, sql: &str) -> Result<Output, ScriptError> {
    if returns_rows(sql) {
        let rows = db.fetch_all(sql, &[]).await.map_err(ScriptError::from)?;
        Ok(Output::Table(Table::from_rows(&rows)))
    } else {
        let n = db.execute_script(sql).await.map_err(ScriptError::from)?;
        Ok(Output::Text(format!(
            "OK, {n} row{} affected",
            if n == 1 { "" } else { "s" }
        )))
    }
}

/// Runs every statement of an SQL file ([`Database::execute_script`]).
pub async fn sql_script(db: &Database, sql: &str) -> Result<Output, ScriptError> {
    let n = db.execute_script(sql).await.map_err(ScriptError::from)?;
    Ok(Output::Text(format!(
        "OK, {n} row{} affected",
        if n == 1 { "" } else { "s" }
    )))
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
        });
    }
    Ok(Output::Table(Table::from_rows(&rows)))
}

/// The server's plan for a statement (its parameters bound, so that a query
/// with values explains as it would run).
pub async fn explain(db: &Database, stmt: &Statement) -> Result<Output, ScriptError> {
    let q = match db.backend() {
        Backend::Sqlite => format!("EXPLAIN QUERY PLAN {}", stmt.sql()),
        Backend::Postgres => format!("EXPLAIN {}", stmt.sql()),
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
    use super::returns_rows;

    #[test]
    fn tells_queries_from_commands() {
        assert!(returns_rows("  select 1"));
        assert!(returns_rows("WITH x AS (SELECT 1) SELECT * FROM x"));
        assert!(returns_rows("INSERT INTO t VALUES (1) RETURNING id"));
        assert!(!returns_rows("CREATE TABLE t (n int)"));
        assert!(!returns_rows("update t set n = 1"));
    }
}
