//! The dot-commands: one table describes them all, `.help` is generated from
//! it, and parsing a line into a [`Command`] is a pure function.

use crate::render::Mode;

/// One row of the command table.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The name without the dot.
    pub name: &'static str,
    /// The arguments, as shown in `.help`.
    pub args: &'static str,
    /// What it does.
    pub help: &'static str,
}

/// Every dot-command, in `.help` order.
pub const COMMANDS: &[Spec] = &[
    Spec {
        name: "help",
        args: "",
        help: "show this help",
    },
    Spec {
        name: "tables",
        args: "",
        help: "list the tables of the database",
    },
    Spec {
        name: "schema",
        args: "[NAME]",
        help: "show the columns of a table (all tables without NAME)",
    },
    Spec {
        name: "models",
        args: "",
        help: "list the declared and reflected models",
    },
    Spec {
        name: "describe",
        args: "MODEL",
        help: "show a model's columns, keys and relations",
    },
    Spec {
        name: "sql",
        args: "STATEMENT",
        help: "run raw SQL: a query's rows, or one or more other statements",
    },
    Spec {
        name: "explain",
        args: "EXPR",
        help: "show the SQL a query would run, and the server's plan",
    },
    Spec {
        name: "mode",
        args: "table|csv|json|line",
        help: "how results are printed (a table too wide for the screen prints one field a line)",
    },
    Spec {
        name: "pager",
        args: "on|off|COMMAND",
        help: "show results taller than the screen through $PAGER (default less -SRXF)",
    },
    Spec {
        name: "timing",
        args: "on|off",
        help: "print how long each statement took",
    },
    Spec {
        name: "traceback",
        args: "on|off",
        help: "print the script traceback with errors",
    },
    Spec {
        name: "import",
        args: "FILE TABLE",
        help: "load a CSV file (header row = column names) into a table",
    },
    Spec {
        name: "read",
        args: "FILE",
        help: "run a script file in this session (a .sql file: its statements, in order)",
    },
    Spec {
        name: "quit",
        args: "",
        help: "leave (also .exit and Ctrl-D)",
    },
];

/// A parsed dot-command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `.help`
    Help,
    /// `.tables`
    Tables,
    /// `.schema [NAME]`
    Schema(Option<String>),
    /// `.models`
    Models,
    /// `.describe MODEL`
    Describe(String),
    /// `.sql STATEMENT`
    Sql(String),
    /// `.explain EXPR`
    Explain(String),
    /// `.mode MODE` (`None`: show the current mode)
    Mode(Option<Mode>),
    /// `.timing on|off`
    Timing(bool),
    /// `.pager on|off|COMMAND` (`None`: show the current setting)
    Pager(Option<crate::terminal::Pager>),
    /// `.traceback on|off`
    Traceback(bool),
    /// `.import FILE TABLE`
    Import {
        /// The CSV file.
        file: String,
        /// The table to load.
        table: String,
    },
    /// `.read FILE`
    Read(String),
    /// `.quit` / `.exit`
    Quit,
}

fn on_off(arg: &str, name: &str) -> Result<bool, String> {
    match arg {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("usage: .{name} on|off")),
    }
}

fn required(arg: &str, spec: &str) -> Result<String, String> {
    if arg.is_empty() {
        Err(format!("usage: {spec}"))
    } else {
        Ok(arg.to_owned())
    }
}

/// Parses a line that starts with `.`.
///
/// # Errors
/// A one-line message for an unknown command or missing argument.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let body = line
        .strip_prefix('.')
        .ok_or_else(|| "not a dot-command".to_string())?;
    let (name, arg) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
    let arg = arg.trim();
    Ok(match name {
        "help" => Command::Help,
        "tables" => Command::Tables,
        "schema" => Command::Schema((!arg.is_empty()).then(|| arg.to_owned())),
        "models" => Command::Models,
        "describe" => Command::Describe(required(arg, ".describe MODEL")?),
        "sql" => Command::Sql(required(arg, ".sql STATEMENT")?),
        "explain" => Command::Explain(required(arg, ".explain EXPR")?),
        "mode" if arg.is_empty() => Command::Mode(None),
        "mode" => Command::Mode(Some(
            Mode::parse(arg).ok_or_else(|| "usage: .mode table|csv|json|line".to_string())?,
        )),
        "timing" => Command::Timing(on_off(arg, "timing")?),
        "pager" => Command::Pager(match arg {
            "" => None,
            "on" => Some(crate::terminal::Pager::Default),
            "off" => Some(crate::terminal::Pager::Off),
            cmd => Some(crate::terminal::Pager::Command(cmd.to_owned())),
        }),
        "traceback" => Command::Traceback(on_off(arg, "traceback")?),
        "import" => {
            let usage = || "usage: .import FILE TABLE".to_string();
            let (file, table) = arg.rsplit_once(char::is_whitespace).ok_or_else(usage)?;
            let file = file.trim();
            if file.is_empty() {
                return Err(usage());
            }
            Command::Import {
                file: file.to_owned(),
                table: table.to_owned(),
            }
        }
        "read" => Command::Read(required(arg, ".read FILE")?),
        "quit" | "exit" | "q" => Command::Quit,
        other => return Err(format!("unknown command .{other} (try .help)")),
    })
}

/// The dot-command a bare word at the prompt means, when the session has no
/// global of that name: `help`, `exit`, `quit` and `tables` (which would
/// otherwise print `nil` or fail as unknown variables).
pub fn bare_word(input: &str) -> Option<Command> {
    Some(match input.trim().trim_end_matches(';').trim() {
        "help" => Command::Help,
        "exit" | "quit" => Command::Quit,
        "tables" => Command::Tables,
        _ => return None,
    })
}

/// The text of `.help`.
pub fn help() -> String {
    let width = COMMANDS
        .iter()
        .map(|c| c.name.len() + c.args.len() + 2)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for c in COMMANDS {
        let usage = if c.args.is_empty() {
            format!(".{}", c.name)
        } else {
            format!(".{} {}", c.name, c.args)
        };
        out.push_str(&format!("{usage:<width$}  {}\n", c.help));
    }
    out
}

/// The command names (with the dot) that start with `prefix`, for completion.
pub fn complete(prefix: &str) -> Vec<String> {
    COMMANDS
        .iter()
        .map(|c| format!(".{}", c.name))
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        assert_eq!(parse(".help"), Ok(Command::Help));
        assert_eq!(
            parse("  .schema users "),
            Ok(Command::Schema(Some("users".into())))
        );
        assert_eq!(parse(".schema"), Ok(Command::Schema(None)));
        assert_eq!(
            parse(".sql SELECT 1,  2"),
            Ok(Command::Sql("SELECT 1,  2".into()))
        );
        assert_eq!(parse(".mode csv"), Ok(Command::Mode(Some(Mode::Csv))));
        assert_eq!(parse(".timing on"), Ok(Command::Timing(true)));
        assert_eq!(parse(".exit"), Ok(Command::Quit));
        assert_eq!(
            parse(".pager off"),
            Ok(Command::Pager(Some(crate::terminal::Pager::Off)))
        );
        assert_eq!(
            parse(".pager most -s"),
            Ok(Command::Pager(Some(crate::terminal::Pager::Command(
                "most -s".into()
            ))))
        );
        assert_eq!(bare_word(" help "), Some(Command::Help));
        assert_eq!(bare_word("quit"), Some(Command::Quit));
        assert_eq!(bare_word("helper"), None);
        assert_eq!(
            parse(".import data/my users.csv  users"),
            Ok(Command::Import {
                file: "data/my users.csv".into(),
                table: "users".into()
            })
        );
    }

    #[test]
    fn errors_say_how_to_use_it() {
        assert_eq!(
            parse(".mode fancy"),
            Err("usage: .mode table|csv|json|line".into())
        );
        assert_eq!(parse(".describe"), Err("usage: .describe MODEL".into()));
        assert_eq!(parse(".timing maybe"), Err("usage: .timing on|off".into()));
        assert_eq!(
            parse(".import users.csv"),
            Err("usage: .import FILE TABLE".into())
        );
        assert_eq!(
            parse(".frobnicate"),
            Err("unknown command .frobnicate (try .help)".into())
        );
    }

    #[test]
    fn help_lists_every_command_from_the_table() {
        let h = help();
        for c in COMMANDS {
            assert!(h.contains(&format!(".{}", c.name)), "{h}");
            assert!(h.contains(c.help));
        }
    }

    #[test]
    fn completes_command_names() {
        assert_eq!(complete(".t"), vec![".tables", ".timing", ".traceback"]);
        assert_eq!(complete(".p"), vec![".pager"]);
        assert!(complete(".zz").is_empty());
    }
}
