//! The rustyline helper: multi-line input decided by parsing, and completion of keywords,
//! zones, schemas, tables and columns. Hints and highlighting are off.

use super::keywords::KEYWORDS;
use super::meta::COMMANDS;
use crate::script;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper, Highlighter, Hinter};
use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use strata_catalog::{TableName, ZONES};

/// What completion offers; tables are refreshed before every prompt, columns in the background
/// (reading every table's schema is too slow to do while the user waits for a prompt).
#[derive(Default)]
pub struct Names {
    pub zone: String,
    pub tables: Vec<TableName>,
    pub columns: BTreeSet<String>,
}

#[derive(Helper, Hinter, Highlighter)]
pub struct StrataHelper {
    pub names: Arc<RwLock<Names>>,
    files: FilenameCompleter,
    /// Whether rustyline edits multi-line input itself. On terminals it cannot drive it reads
    /// plain lines, and would also apply the validator there but without any prompt; the
    /// REPL loop then continues the statement itself, showing psql's continuation prompt.
    editing: bool,
}

impl StrataHelper {
    pub fn new(names: Arc<RwLock<Names>>) -> Self {
        StrataHelper {
            names,
            files: FilenameCompleter::new(),
            editing: !plain_terminal(),
        }
    }
}

/// rustyline's list of terminals it does not drive (`tty::UNSUPPORTED_TERM`, private there).
pub fn plain_terminal() -> bool {
    let term = std::env::var("TERM").unwrap_or_default();
    ["dumb", "cons25", "emacs"]
        .iter()
        .any(|t| term.eq_ignore_ascii_case(t))
}

impl Validator for StrataHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if !self.editing || script::is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Completer for StrataHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = line[..pos]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '.')
            .last()
            .map_or(pos, |(i, _)| i);
        let prefix = &line[start..pos];
        let before = line[..start].trim_end();
        let trimmed = line.trim_start();

        if trimmed.starts_with('\\') {
            let command = trimmed.split_whitespace().next().unwrap_or("\\");
            if before.ends_with('\\')
                && !before[..before.len() - 1].contains(|c: char| !c.is_whitespace())
            {
                let cands = COMMANDS
                    .iter()
                    .filter_map(|(name, _, _)| name.strip_prefix('\\'))
                    .filter(|n| n.starts_with(prefix))
                    .map(pair)
                    .collect();
                return Ok((start, cands));
            }
            return match command {
                "\\i" | "\\o" => self.files.complete(line, pos, ctx),
                "\\c" => Ok((start, matching(ZONES.iter().map(|z| z.to_string()), prefix))),
                "\\d" | "\\d+" | "\\dt" | "\\dt+" => {
                    let names = self.names.read().unwrap();
                    Ok((start, table_candidates(&names, prefix)))
                }
                _ => Ok((start, Vec::new())),
            };
        }

        let names = self.names.read().unwrap();
        if prefix.is_empty() {
            // An empty word only completes where a table name is expected; elsewhere a list of
            // every keyword and column would be noise.
            let last = before
                .rsplit(|c: char| c.is_whitespace() || c == '(' || c == ',')
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            if ["FROM", "JOIN", "TABLE", "DESCRIBE", "INTO", "UPDATE"].contains(&last.as_str()) {
                return Ok((start, table_candidates(&names, prefix)));
            }
            return Ok((start, Vec::new()));
        }
        if prefix.contains('.') {
            let mut cands = table_candidates(&names, prefix);
            if cands.is_empty() {
                // `alias.col`: the qualifier is not a zone or schema, so offer columns.
                let (qualifier, col) = prefix.rsplit_once('.').unwrap_or(("", prefix));
                cands = matching(names.columns.iter().cloned(), col)
                    .into_iter()
                    .map(|p| pair(&format!("{qualifier}.{}", p.replacement)))
                    .collect();
            }
            return Ok((start, cands));
        }

        let upper = prefix.chars().any(|c| c.is_uppercase());
        let keywords = KEYWORDS.iter().map(|k| {
            if upper {
                k.to_string()
            } else {
                k.to_ascii_lowercase()
            }
        });
        let mut all: BTreeSet<String> = keywords.collect();
        all.extend(ZONES.iter().map(|z| z.to_string()));
        for t in &names.tables {
            all.insert(t.table.clone());
            if t.zone == names.zone {
                all.insert(t.schema.clone());
            }
        }
        all.extend(names.columns.iter().cloned());
        Ok((start, matching(all.into_iter(), prefix)))
    }
}

fn pair(s: &str) -> Pair {
    Pair {
        display: s.to_string(),
        replacement: s.to_string(),
    }
}

/// Case-insensitive prefix matches, sorted and without duplicates.
fn matching(candidates: impl Iterator<Item = String>, prefix: &str) -> Vec<Pair> {
    let lower = prefix.to_lowercase();
    let set: BTreeSet<String> = candidates
        .filter(|c| c.to_lowercase().starts_with(&lower))
        .collect();
    set.iter().map(|s| pair(s)).collect()
}

/// Table names at the depth being typed: `r` → zones and bare tables, `raw.` → `raw.crm`,
/// `raw.crm.` → `raw.crm.customers`; `crm.` → `crm.customers` in the current zone.
fn table_candidates(names: &Names, prefix: &str) -> Vec<Pair> {
    let depth = prefix.matches('.').count();
    let mut all = Vec::new();
    for t in &names.tables {
        match depth {
            0 => {
                all.push(t.zone.clone());
                all.push(t.table.clone());
                if t.zone == names.zone {
                    all.push(t.schema.clone());
                }
            }
            1 => {
                all.push(format!("{}.{}", t.zone, t.schema));
                if t.zone == names.zone {
                    all.push(format!("{}.{}", t.schema, t.table));
                }
            }
            2 => all.push(format!("{}.{}.{}", t.zone, t.schema, t.table)),
            _ => {}
        }
    }
    matching(all.into_iter(), prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::history::DefaultHistory;

    fn helper() -> StrataHelper {
        let t = |z: &str, s: &str, n: &str| TableName {
            zone: z.into(),
            schema: s.into(),
            table: n.into(),
        };
        let names = Names {
            zone: "enhanced".into(),
            tables: vec![
                t("raw", "crm", "customers"),
                t("enhanced", "public", "orders"),
            ],
            columns: ["customer_id".to_string()].into_iter().collect(),
        };
        StrataHelper::new(Arc::new(RwLock::new(names)))
    }

    fn complete(line: &str) -> Vec<String> {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let (_, cands) = helper().complete(line, line.len(), &ctx).unwrap();
        cands.into_iter().map(|p| p.replacement).collect()
    }

    #[test]
    fn completes() {
        assert_eq!(complete("SEL"), vec!["SELECT"]);
        assert_eq!(complete("sel"), vec!["select"]);
        assert_eq!(complete("select * from raw.c"), vec!["raw.crm"]);
        assert_eq!(
            complete("select * from raw.crm.c"),
            vec!["raw.crm.customers"]
        );
        assert_eq!(complete("select cust"), vec!["customer_id", "customers"]);
        assert_eq!(complete("select c.cust"), vec!["c.customer_id"]);
        assert_eq!(
            complete("select * from "),
            vec!["customers", "enhanced", "orders", "public", "raw"]
        );
        assert_eq!(complete("\\c r"), vec!["raw"]);
        assert_eq!(complete("\\ti"), vec!["timing"]);
        assert_eq!(complete("\\d raw.crm."), vec!["raw.crm.customers"]);
    }
}
