//! The hints under an error: [`crate::diagnose`] reads what is missing from
//! the error's text, this module gathers the names it could have meant (the
//! session's globals and members, its models, the catalog's tables and
//! columns) and [`crate::suggest`] picks the nearest.

use dbridge_engine::Database;
use tokio::runtime::Handle;

use crate::diagnose::{self, Missing};
use crate::helper::Shared;
use crate::lang::ScriptError;
use crate::meta;
use crate::suggest;

/// Adds the hints that say how to fix `e`, raised by `input`: the `.sql`
/// line for SQL typed at the prompt, "did you mean" for a mistyped global,
/// method, model, table or column.
pub fn add(e: &mut ScriptError, input: &str, interp: &Shared, db: &Database, runtime: &Handle) {
    if e.kind == "syntax" && diagnose::looks_like_sql(input) {
        e.notes
            .push("hint: that is SQL, not a script; run it with:".to_owned());
        e.notes.push(format!("  {}", diagnose::sql_command(input)));
        return;
    }
    let missing = diagnose::missing(&e.kind, &e.message)
        .or_else(|| diagnose::uncalled_method(&e.kind, &e.message, input));
    let Some(missing) = missing else {
        return;
    };
    let hint = match missing {
        Missing::Global(name) => {
            let globals = interp.borrow().complete("");
            suggest::hint(&name, globals.iter().map(String::as_str))
        }
        Missing::Member { sep, name } => {
            let receiver = diagnose::receiver(input, sep, &name).unwrap_or_default();
            let members = interp.borrow().complete(&format!("{receiver}{sep}"));
            if members.contains(&name) {
                // `db:fetch_all` without its call.
                Some(format!(
                    "hint: a method is called: `{receiver}{sep}{name}(...)`"
                ))
            } else {
                suggest::hint(&name, members.iter().map(String::as_str))
            }
        }
        Missing::Model(name) => {
            let models = interp.borrow_mut().models().unwrap_or_default();
            let mut names: Vec<String> = models
                .iter()
                .flat_map(|m| [m.name().as_str().to_owned(), m.table().as_str().to_owned()])
                .collect();
            names.extend(interp.borrow().complete(""));
            suggest::hint(&name, names.iter().map(String::as_str))
        }
        Missing::ModelColumn { model, column } => {
            let models = interp.borrow_mut().models().unwrap_or_default();
            let columns: Vec<String> = models
                .iter()
                .filter(|m| m.name().as_str() == model || m.table().as_str() == model)
                .flat_map(|m| m.columns().iter().map(|c| c.name().as_str().to_owned()))
                .collect();
            suggest::hint(&column, columns.iter().map(String::as_str))
        }
        Missing::Table(name) => {
            let names = runtime.block_on(meta::table_names(db)).unwrap_or_default();
            suggest::hint(&name, names.iter().map(String::as_str))
        }
        Missing::Column(name) => {
            let names = runtime.block_on(meta::column_names(db)).unwrap_or_default();
            suggest::hint(&name, names.iter().map(String::as_str))
        }
    };
    e.notes.extend(hint);
}
