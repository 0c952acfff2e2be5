//! Backslash commands (`\dt`, `\c`, `\x`, …): parsing into [`Command`] and the help text.

use crate::print::Expanded;

/// One backslash command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Quit,
    /// `\l`: zones with their table counts.
    Zones,
    /// `\c zone`; `\c` alone shows the current zone.
    Connect(Option<String>),
    /// `\dn`: schemas of the current zone.
    Schemas,
    /// `\dt[+] [pattern]` (and `\d` without a name).
    Tables {
        pattern: Option<String>,
        verbose: bool,
    },
    /// `\d table`; `\d+` adds the Arrow types.
    Describe {
        table: String,
        verbose: bool,
    },
    /// `\timing [on|off]`: toggle, or set.
    Timing(Option<bool>),
    /// `\x [on|off|auto]`: toggle, or set.
    Expanded(Option<Expanded>),
    /// `\pset [option [value]]`: show or change an output setting.
    Pset {
        option: Option<String>,
        value: Option<String>,
    },
    /// `\chart [bar|line|hist] query`: the query's result drawn as a chart; no kind guesses
    /// one from the result's columns.
    Chart {
        kind: Option<String>,
        query: String,
    },
    /// `\o [file]`.
    Output(Option<String>),
    /// `\i file`.
    Include(String),
}

/// The commands, for `\?` and completion: (name, arguments, description).
pub const COMMANDS: [(&str, &str, &str); 16] = [
    ("\\?", "", "show this help"),
    ("\\q", "", "quit (also Ctrl-D)"),
    ("\\l", "", "list zones with their table counts"),
    (
        "\\c",
        "ZONE",
        "change the current zone (raw, sanitized, enhanced)",
    ),
    ("\\dn", "", "list schemas of the current zone"),
    (
        "\\dt",
        "[PATTERN]",
        "list tables of every zone; PATTERN filters zone.schema.table",
    ),
    (
        "\\dt+",
        "[PATTERN]",
        "list tables with files, bytes, rows and description",
    ),
    (
        "\\d",
        "TABLE",
        "describe a table: columns, types, mode, key, ingestion time",
    ),
    (
        "\\d+",
        "TABLE",
        "describe a table, with each column's Arrow type",
    ),
    (
        "\\timing",
        "[on|off]",
        "toggle printing the time each statement takes",
    ),
    (
        "\\x",
        "[on|off|auto]",
        "toggle expanded output (one block per record); auto: when too wide",
    ),
    (
        "\\pset",
        "[NAME [VALUE]]",
        "show or set maxrows, columns, pager (on|off|always), chartrows",
    ),
    (
        "\\chart",
        "[bar|line|hist] QUERY",
        "draw a query's result as a chart sized to the terminal",
    ),
    ("\\o", "[FILE]", "send results to FILE, or back to stdout"),
    ("\\i", "FILE", "run statements and commands from FILE"),
    ("\\h", "", "same as \\?"),
];

pub fn help_text() -> String {
    let mut text = String::from("Backslash commands:\n");
    let usages: Vec<String> = COMMANDS
        .iter()
        .map(|(name, args, _)| format!("{name} {args}"))
        .collect();
    let width = usages.iter().map(|u| u.chars().count()).max().unwrap_or(0);
    for (usage, (_, _, what)) in usages.iter().zip(COMMANDS) {
        text.push_str(&format!("  {usage:<width$} {what}\n"));
    }
    text.push_str(
        "\nSQL statements end with `;` and may span lines. Tables are zone.schema.table;\n\
         `strata.tables` lists every table with its mode, key and ingestion-time source.\n\
         Time travel: SET strata.as_of = '2026-01-31 12:00:00+00'; or\n\
         SELECT … FROM t FOR SYSTEM_TIME AS OF TIMESTAMP '…'. Ctrl-C cancels a running query.\n\
         SUMMARIZE raw.crm.customers; (or SUMMARIZE SELECT …) gives each column's min, max,\n\
         distinct count, mean, quartiles and NULL share; bar(x, min, max) draws inline bars.\n",
    );
    text
}

/// Parses a line starting with `\`.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let body = line.strip_prefix('\\').unwrap_or(line);
    let (name, rest) = match body.find(char::is_whitespace) {
        Some(i) => (&body[..i], body[i..].trim()),
        None => (body, ""),
    };
    // psql accepts `\dt;` typed out of SQL habit.
    let rest = rest.trim_end_matches(';').trim();
    let name = name.trim_end_matches(';');
    let arg = (!rest.is_empty()).then(|| unquote(rest));
    let need = |what: &str| arg.clone().ok_or_else(|| format!("\\{name} needs {what}"));
    Ok(match name {
        "?" | "h" | "help" => Command::Help,
        "q" | "quit" => Command::Quit,
        "l" | "l+" => Command::Zones,
        "c" | "connect" => Command::Connect(arg),
        "dn" | "dn+" => Command::Schemas,
        "dt" | "dt+" => Command::Tables {
            pattern: arg,
            verbose: name.ends_with('+'),
        },
        "d" | "d+" => match arg {
            Some(table) => Command::Describe {
                table,
                verbose: name.ends_with('+'),
            },
            None => Command::Tables {
                pattern: None,
                verbose: name.ends_with('+'),
            },
        },
        "timing" => Command::Timing(switch(arg.as_deref())?),
        "x" => Command::Expanded(match arg.as_deref().map(str::to_ascii_lowercase) {
            Some(a) if a == "auto" => Some(Expanded::Auto),
            _ => switch(arg.as_deref())?.map(|on| match on {
                true => Expanded::On,
                false => Expanded::Off,
            }),
        }),
        "pset" => {
            let mut words = rest.splitn(2, char::is_whitespace);
            let option = words.next().filter(|w| !w.is_empty()).map(str::to_string);
            let value = words.next().map(|v| unquote(v.trim()));
            Command::Pset { option, value }
        }
        "chart" => {
            // The query is the rest of the line, as typed: quotes in it are SQL's.
            let text = body[name.len()..].trim().trim_end_matches(';').trim();
            let (first, after) = match text.find(char::is_whitespace) {
                Some(i) => (&text[..i], text[i..].trim()),
                None => (text, ""),
            };
            let kinds = ["bar", "line", "hist", "histogram"];
            let starts_query = ["select", "with", "values", "from", "table", "summarize"];
            let word = first.to_ascii_lowercase();
            let (kind, query) = if kinds.contains(&word.as_str()) {
                (Some(word), after)
            } else if starts_query.contains(&word.as_str()) || first.starts_with('(') {
                (None, text)
            } else {
                return Err(format!(
                    "\\chart: unknown chart kind \"{first}\"; use bar, line or hist \
                     (or none, to let the result's columns decide)"
                ));
            };
            if query.is_empty() {
                return Err("\\chart needs a query: \\chart [bar|line|hist] SELECT …".into());
            }
            Command::Chart {
                kind,
                query: query.to_string(),
            }
        }
        "o" | "out" => Command::Output(arg),
        "i" | "include" => Command::Include(need("a file name")?),
        _ => {
            return Err(format!(
                "invalid command \\{name}; try \\? for the list of commands"
            ))
        }
    })
}

/// `on`/`off` (psql also takes true/false, 1/0); nothing means toggle.
fn switch(arg: Option<&str>) -> Result<Option<bool>, String> {
    match arg.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("on" | "true" | "1" | "yes") => Ok(Some(true)),
        Some("off" | "false" | "0" | "no") => Ok(Some(false)),
        Some(other) => Err(format!(
            "unrecognized value \"{other}\": expected on or off"
        )),
    }
}

/// Arguments may be quoted to hold spaces: `\o 'my results.csv'`.
fn unquote(arg: &str) -> String {
    for q in ['\'', '"'] {
        if let Some(inner) = arg.strip_prefix(q).and_then(|a| a.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    arg.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse("\\q"), Ok(Command::Quit));
        assert_eq!(parse("\\c raw"), Ok(Command::Connect(Some("raw".into()))));
        assert_eq!(
            parse("\\dt+ raw.*"),
            Ok(Command::Tables {
                pattern: Some("raw.*".into()),
                verbose: true
            })
        );
        assert_eq!(
            parse("\\dt;"),
            Ok(Command::Tables {
                pattern: None,
                verbose: false
            })
        );
        assert_eq!(
            parse("\\d raw.crm.customers"),
            Ok(Command::Describe {
                table: "raw.crm.customers".into(),
                verbose: false
            })
        );
        assert_eq!(
            parse("\\x auto"),
            Ok(Command::Expanded(Some(Expanded::Auto)))
        );
        assert_eq!(
            parse("\\pset maxrows 10"),
            Ok(Command::Pset {
                option: Some("maxrows".into()),
                value: Some("10".into())
            })
        );
        assert_eq!(
            parse("\\chart bar SELECT 'a;b', 1;"),
            Ok(Command::Chart {
                kind: Some("bar".into()),
                query: "SELECT 'a;b', 1".into()
            })
        );
        assert_eq!(
            parse("\\chart select 1"),
            Ok(Command::Chart {
                kind: None,
                query: "select 1".into()
            })
        );
        assert!(parse("\\chart line").unwrap_err().contains("needs a query"));
        assert!(parse("\\chart pie SELECT 1")
            .unwrap_err()
            .contains("unknown chart kind \"pie\""));
        assert_eq!(
            parse("\\o 'a b.csv'"),
            Ok(Command::Output(Some("a b.csv".into())))
        );
        assert_eq!(parse("\\o"), Ok(Command::Output(None)));
        assert!(parse("\\i").is_err());
        assert_eq!(parse("\\x"), Ok(Command::Expanded(None)));
        assert_eq!(parse("\\x off"), Ok(Command::Expanded(Some(Expanded::Off))));
        assert_eq!(parse("\\timing on"), Ok(Command::Timing(Some(true))));
        assert!(parse("\\x sideways").is_err());
        assert!(parse("\\bogus").unwrap_err().contains("\\bogus"));
    }
}
