//! Running backslash commands. Listings are SQL over `information_schema` and `strata.tables`
//! run through the session, so they see exactly what queries see (as-of included) and print
//! in the current output format.

use super::meta::{self, Command};
use crate::print::Expanded;
use crate::shell::{Flow, Shell};
use anyhow::{anyhow, bail, Result};
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::sync::Arc;
use strata_catalog::{TableName, ZONES};
use strata_sql::sql_type_display;

impl Shell {
    /// Runs one backslash command line.
    pub async fn run_meta_line(&mut self, line: &str) -> Result<Flow> {
        let command = meta::parse(line).map_err(|e| anyhow!(e))?;
        self.run_meta(command).await
    }

    pub async fn run_meta(&mut self, command: Command) -> Result<Flow> {
        match command {
            Command::Help => print!("{}", meta::help_text()),
            Command::Quit => return Ok(Flow::Quit),
            Command::Zones => self.run_query(&zones_sql()).await?,
            Command::Connect(None) => println!(
                "You are in zone \"{}\", schema \"{}\".",
                self.session.current_zone(),
                self.session.current_schema()
            ),
            Command::Connect(Some(zone)) => self.session.set_zone(&zone)?,
            Command::Schemas => {
                let zone = self.session.current_zone();
                self.run_query(&schemas_sql(&zone)).await?
            }
            Command::Tables { pattern, verbose } => {
                self.run_query(&tables_sql(pattern.as_deref(), verbose))
                    .await?
            }
            Command::Describe { table, verbose } => self.describe(&table, verbose).await?,
            Command::Timing(set) => {
                self.timing = set.unwrap_or(!self.timing);
                println!("Timing is {}.", on_off(self.timing));
            }
            Command::Expanded(set) => {
                self.style.expanded = set.unwrap_or(match self.style.expanded {
                    Expanded::Off => Expanded::On,
                    Expanded::On | Expanded::Auto => Expanded::Off,
                });
                let state = match self.style.expanded {
                    Expanded::On => "on",
                    Expanded::Off => "off",
                    Expanded::Auto => "used automatically",
                };
                println!("Expanded display is {state}.");
            }
            Command::Pset { option, value } => self.pset(option.as_deref(), value.as_deref())?,
            Command::Chart { kind, query } => self.chart(kind.as_deref(), &query).await?,
            Command::Output(path) => self.set_output(path.as_deref())?,
            Command::Include(path) => return self.run_file(path.as_ref()).await,
        }
        Ok(Flow::Continue)
    }

    /// `\d table`: its columns with their SQL types (`\d+`: and Arrow types), then what
    /// Strata knows about it (mode, key, ingestion time).
    async fn describe(&mut self, name: &str, verbose: bool) -> Result<()> {
        let table = self.resolve(name)?;
        // The columns as a query sees them; a table that does not exist gets the session's
        // own error, with its closest-name suggestion.
        let probe = format!("SELECT * FROM {} LIMIT 0", quoted(&table));
        let columns = self.session.sql(&probe).await?.schema().as_arrow().clone();

        writeln!(
            self.out(),
            "Table \"{}.{}.{}\"",
            table.zone,
            table.schema,
            table.table
        )?;
        self.write_batch(columns_batch(&columns, verbose)?)?;

        // `_history` tables are described by the table they belong to.
        let base = table.table.strip_suffix("_history").unwrap_or(&table.table);
        let info = self
            .collect(&info_sql(&table.zone, &table.schema, base))
            .await?;
        let Some(row) = info.first() else {
            return Ok(());
        };
        let mut out = Vec::new();
        if base != table.table {
            out.push(format!(
                "History of: {}.{}.{} (every row)",
                table.zone, table.schema, base
            ));
        }
        for (label, value) in row {
            if value != "NULL" && !value.is_empty() && !(label == "Key" && value == "[]") {
                out.push(format!("{label}: {value}"));
            }
        }
        let sink = self.out();
        for line in out {
            writeln!(sink, "{line}")?;
        }
        sink.flush()?;
        Ok(())
    }

    /// `zone.schema.table`, `schema.table` (current zone) or `table`: the current zone and
    /// schema first, else the only table of that name in the current zone, else in the lake.
    fn resolve(&self, name: &str) -> Result<TableName> {
        let parts: Vec<String> = name
            .split('.')
            .map(|p| p.trim().trim_matches('"').to_string())
            .collect();
        let zone = self.session.current_zone();
        let schema = self.session.current_schema();
        let make = |zone: &str, schema: &str, table: &str| TableName {
            zone: zone.to_string(),
            schema: schema.to_string(),
            table: table.to_string(),
        };
        Ok(match parts.as_slice() {
            [z, s, t] => make(z, s, t),
            [s, t] => make(&zone, s, t),
            [t] => {
                let all = self.session.lake().table_names();
                let named: Vec<&TableName> = all.iter().filter(|n| &n.table == t).collect();
                let here: Vec<&&TableName> = named.iter().filter(|n| n.zone == zone).collect();
                if named.iter().any(|n| n.zone == zone && n.schema == schema) {
                    make(&zone, &schema, t)
                } else if let [only] = here.as_slice() {
                    (**only).clone()
                } else if let [only] = named.as_slice() {
                    (*only).clone()
                } else if named.len() > 1 {
                    let list: Vec<String> = named.iter().map(|n| quoted(n)).collect();
                    bail!("\"{t}\" is ambiguous: {}", list.join(", "))
                } else {
                    make(&zone, &schema, t)
                }
            }
            _ => bail!("\"{name}\" is not a table name (use zone.schema.table)"),
        })
    }

    /// Runs a small query and returns its rows as (column name, displayed value) pairs.
    async fn collect(&self, sql: &str) -> Result<Vec<Vec<(String, String)>>> {
        let batches: Vec<RecordBatch> = self.session.sql(sql).await?.collect().await?;
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let schema = batch.schema();
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()?;
            for i in 0..batch.num_rows() {
                let row = schema
                    .fields()
                    .iter()
                    .zip(&formatters)
                    .map(|(f, fmt)| (f.name().clone(), fmt.value(i).to_string()))
                    .collect();
                rows.push(row);
            }
        }
        Ok(rows)
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// A SQL string literal.
fn lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A SQL identifier, quoted so names with capitals or odd characters survive.
fn ident(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn quoted(t: &TableName) -> String {
    format!(
        "{}.{}.{}",
        ident(&t.zone),
        ident(&t.schema),
        ident(&t.table)
    )
}

/// Zones in their lake order rather than alphabetically.
fn zone_order(column: &str) -> String {
    let arms: Vec<String> = ZONES
        .iter()
        .enumerate()
        .map(|(i, z)| format!("WHEN {} THEN {i}", lit(z)))
        .collect();
    format!("CASE {column} {} ELSE {} END", arms.join(" "), ZONES.len())
}

fn zones_sql() -> String {
    let values: Vec<String> = ZONES
        .iter()
        .enumerate()
        .map(|(i, z)| format!("({}, {i})", lit(z)))
        .collect();
    format!(
        "SELECT z.zone, count(t.\"name\") AS tables \
         FROM (VALUES {}) AS z(zone, ord) LEFT JOIN strata.tables t ON t.zone = z.zone \
         GROUP BY z.zone, z.ord ORDER BY z.ord",
        values.join(", ")
    )
}

fn schemas_sql(zone: &str) -> String {
    format!(
        "SELECT \"schema\", count(*) AS tables FROM strata.tables WHERE zone = {} \
         GROUP BY \"schema\" ORDER BY \"schema\"",
        lit(zone)
    )
}

fn tables_sql(pattern: Option<&str>, verbose: bool) -> String {
    let columns = if verbose {
        "zone, \"schema\", \"name\", \"mode\", files, bytes, \"rows\", description"
    } else {
        "zone, \"schema\", \"name\", \"mode\""
    };
    let filter = match pattern {
        Some(p) => format!(
            " WHERE regexp_like(zone || '.' || \"schema\" || '.' || \"name\", {}, 'i')",
            lit(&pattern_regex(p))
        ),
        None => String::new(),
    };
    format!(
        "SELECT {columns} FROM strata.tables{filter} ORDER BY {}, \"schema\", \"name\"",
        zone_order("zone")
    )
}

/// A `\dt` pattern as a regex over `zone.schema.table`. With `*`/`?` it is a glob matching the
/// full name or its last components (`crm.*` and `cust*` work as in psql); without, a
/// substring.
fn pattern_regex(pattern: &str) -> String {
    let mut re = String::new();
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c if "\\.+()|[]{}^$#&-~".contains(c) => {
                re.push('\\');
                re.push(c);
            }
            c => re.push(c),
        }
    }
    if pattern.contains(['*', '?']) {
        format!("^(?:[^.]*\\.){{0,2}}{re}$")
    } else {
        re
    }
}

/// `\d`'s column list: name, the SQL type psql shows for it over the server, nullable; with
/// `\d+`, the Arrow type too.
fn columns_batch(schema: &Schema, verbose: bool) -> Result<RecordBatch> {
    let fields = schema.fields();
    let text = |values: Vec<String>| Arc::new(StringArray::from(values)) as ArrayRef;
    let mut columns = vec![
        (
            "column",
            text(fields.iter().map(|f| f.name().clone()).collect()),
        ),
        (
            "type",
            text(
                fields
                    .iter()
                    .map(|f| sql_type_display(f.data_type()))
                    .collect(),
            ),
        ),
        (
            "nullable",
            text(
                fields
                    .iter()
                    .map(|f| if f.is_nullable() { "YES" } else { "NO" }.to_string())
                    .collect(),
            ),
        ),
    ];
    if verbose {
        columns.push((
            "arrow type",
            text(fields.iter().map(|f| f.data_type().to_string()).collect()),
        ));
    }
    Ok(RecordBatch::try_from_iter(columns)?)
}

fn info_sql(zone: &str, schema: &str, table: &str) -> String {
    format!(
        "SELECT \"mode\" AS \"Mode\", \"key\" AS \"Key\", ingested_at_source AS \"Ingestion time\", \
         format AS \"Format\", description AS \"Description\", tags AS \"Tags\" \
         FROM strata.tables WHERE zone = {} AND \"schema\" = {} AND \"name\" = {}",
        lit(zone),
        lit(schema),
        lit(table)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(pattern_regex("cust"), "cust");
        assert_eq!(
            pattern_regex("raw.crm.*"),
            "^(?:[^.]*\\.){0,2}raw\\.crm\\..*$"
        );
        assert_eq!(pattern_regex("a_b?"), "^(?:[^.]*\\.){0,2}a_b.$");
    }

    #[test]
    fn literals() {
        assert_eq!(lit("it's"), "'it''s'");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }
}
