//! A table's expectations as `strata.toml` writes them (`[tables."z.s.t".expect]`,
//! docs/quality.md#expectations), checked when the file loads: a regex that does not compile,
//! bounds in the wrong order or an empty list are refused with the table's name and line.
//! Columns are checked against the table's schema when the gate is built (gate.rs).
use serde::Deserialize;
use std::collections::BTreeMap;

/// What a write does when its batch breaks an expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Nothing commits; the error lists each broken expectation.
    #[default]
    Reject,
    /// Rows breaking a row-level expectation go to `t_quarantine`; the rest commit.
    Quarantine,
}

/// A value a table's expectation compares with: bounds of `between`, members of `in_set`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl std::fmt::Display for Literal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Float(v) => write!(f, "{v}"),
            Literal::Bool(v) => write!(f, "{v}"),
            Literal::Text(v) => write!(f, "'{v}'"),
        }
    }
}

/// A table's expectations, validated (docs/quality.md#expectations).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectations {
    pub not_null: Vec<String>,
    /// Column sets whose values (together) occur once in the table's rows after a write.
    pub unique: Vec<Vec<String>>,
    /// Inclusive bounds per column; NULLs pass.
    pub between: Vec<(String, Literal, Literal)>,
    pub in_set: Vec<(String, Vec<Literal>)>,
    /// A regex (DataFusion's `regexp_like`, the `regex` crate's syntax) every value matches.
    pub matches: Vec<(String, String)>,
    /// Rows one batch may have, inclusive.
    pub rows: Option<(u64, u64)>,
    pub on_failure: OnFailure,
}

/// One element of `unique`: a column, or a list of columns unique together.
#[derive(Deserialize)]
#[serde(untagged)]
enum ColumnSet {
    One(String),
    Many(Vec<String>),
}

/// `[tables."…".expect]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpect {
    #[serde(default)]
    not_null: Vec<String>,
    #[serde(default)]
    unique: Vec<ColumnSet>,
    #[serde(default)]
    between: BTreeMap<String, Vec<Literal>>,
    #[serde(default)]
    in_set: BTreeMap<String, Vec<Literal>>,
    #[serde(default)]
    matches: BTreeMap<String, String>,
    rows: Option<Vec<i64>>,
    #[serde(default)]
    on_failure: OnFailure,
}

impl RawExpect {
    /// The validated expectations, or what is wrong (the caller adds file, line and table).
    pub(crate) fn validate(self) -> Result<Expectations, String> {
        let named = |c: &String, what: &str| match c.trim().is_empty() {
            true => Err(format!("{what} names an empty column")),
            false => Ok(()),
        };
        for c in &self.not_null {
            named(c, "not_null")?;
        }
        let unique: Vec<Vec<String>> = self
            .unique
            .into_iter()
            .map(|s| match s {
                ColumnSet::One(c) => vec![c],
                ColumnSet::Many(cs) => cs,
            })
            .collect();
        for set in &unique {
            if set.is_empty() {
                return Err("unique has an empty column list".into());
            }
            for c in set {
                named(c, "unique")?;
            }
        }
        let mut between = vec![];
        for (c, bounds) in self.between {
            named(&c, "between")?;
            let [lo, hi] = <[Literal; 2]>::try_from(bounds)
                .map_err(|b| format!("between.{c} needs [lower, upper], not {} values", b.len()))?;
            if !in_order(&lo, &hi)? {
                return Err(format!(
                    "between.{c}: lower bound {lo} is above upper bound {hi}"
                ));
            }
            between.push((c, lo, hi));
        }
        let mut in_set = vec![];
        for (c, values) in self.in_set {
            named(&c, "in_set")?;
            if values.is_empty() {
                return Err(format!("in_set.{c} is empty: no value could pass"));
            }
            in_set.push((c, values));
        }
        let mut matches = vec![];
        for (c, pattern) in self.matches {
            named(&c, "matches")?;
            if let Err(e) = regex::Regex::new(&pattern) {
                return Err(format!("matches.{c}: the regex does not compile: {e}"));
            }
            matches.push((c, pattern));
        }
        let rows = match self.rows.as_deref() {
            None => None,
            Some([lo, hi]) if *lo >= 0 && lo <= hi => Some((*lo as u64, *hi as u64)),
            Some([lo, hi]) if *lo >= 0 => {
                return Err(format!("rows: lower bound {lo} is above upper bound {hi}"))
            }
            Some(_) => return Err("rows needs [min, max], two counts of 0 or more".into()),
        };
        Ok(Expectations {
            not_null: self.not_null,
            unique,
            between,
            in_set,
            matches,
            rows,
            on_failure: self.on_failure,
        })
    }
}

/// True when `lo <= hi`; bounds of different kinds (a number and a text) are refused.
fn in_order(lo: &Literal, hi: &Literal) -> Result<bool, String> {
    use Literal::*;
    let number = |l: &Literal| match l {
        Int(v) => Some(*v as f64),
        Float(v) => Some(*v),
        _ => None,
    };
    match (lo, hi) {
        (Text(a), Text(b)) => Ok(a <= b),
        (Bool(a), Bool(b)) => Ok(a <= b),
        _ => match (number(lo), number(hi)) {
            (Some(a), Some(b)) if a.is_nan() || b.is_nan() => Err("a bound is NaN".into()),
            (Some(a), Some(b)) => Ok(a <= b),
            _ => Err(format!("bounds {lo} and {hi} are not of one kind")),
        },
    }
}

impl Expectations {
    /// Every column an expectation names, once each, in the order written.
    pub fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = vec![];
        let all = self
            .not_null
            .iter()
            .chain(self.unique.iter().flatten())
            .chain(self.between.iter().map(|(c, ..)| c))
            .chain(self.in_set.iter().map(|(c, _)| c))
            .chain(self.matches.iter().map(|(c, _)| c));
        for c in all {
            if !out.contains(&c.as_str()) {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Expectations, String> {
        toml::from_str::<RawExpect>(text)
            .map_err(|e| e.message().to_string())?
            .validate()
    }

    #[test]
    fn every_kind_of_expectation_parses() {
        let e = parse(
            r#"
            not_null = ["country", "dt"]
            unique = [["country", "dt"], "id"]
            between = { revenue = [0, 1e9], dt = ["2024-01-01", "2024-12-31"] }
            in_set = { country = ["FR", "DE", "US"] }
            matches = { email = '^[^@]+@[^@]+$' }
            rows = [1, 1000000]
            on_failure = "quarantine"
            "#,
        )
        .unwrap();
        assert_eq!(e.unique, vec![vec!["country", "dt"], vec!["id"]]);
        assert_eq!(
            e.between[1],
            ("revenue".into(), Literal::Int(0), Literal::Float(1e9))
        );
        assert_eq!(e.rows, Some((1, 1_000_000)));
        assert_eq!(e.on_failure, OnFailure::Quarantine);
        assert_eq!(e.columns(), vec!["country", "dt", "id", "revenue", "email"]);
    }

    #[test]
    fn bad_expectations_are_refused_saying_why() {
        let cases = [
            ("matches = { email = '^[a-' }", "regex does not compile"),
            (
                "between = { x = [10, 1] }",
                "lower bound 10 is above upper bound 1",
            ),
            ("between = { x = [1] }", "needs [lower, upper]"),
            ("between = { x = [1, 'a'] }", "not of one kind"),
            ("in_set = { x = [] }", "empty"),
            ("rows = [5, 1]", "lower bound 5"),
            ("rows = [-1, 1]", "two counts"),
            ("unique = [[]]", "empty column list"),
            ("not_null = ['']", "empty column"),
        ];
        for (text, wanted) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.contains(wanted), "{text}: {e}");
        }
        let e = parse("on_failure = 'drop'").unwrap_err();
        assert!(e.contains("reject") && e.contains("quarantine"), "{e}");
        let e = parse("not_nul = ['x']").unwrap_err();
        assert!(e.contains("not_nul"), "{e}");
    }

    #[test]
    fn an_expect_section_alone_configures_its_table_and_errors_name_file_and_line() {
        use crate::config::LakeConfig;
        let text =
            "[lake]\nrefresh = \"1s\"\n\n[tables.\"enhanced.s.t\".expect]\nnot_null = [\"a\"]\n";
        let config = LakeConfig::parse("strata.toml", text).unwrap();
        let t = &config.tables["enhanced.s.t"];
        assert_eq!(t.expect.as_ref().unwrap().not_null, vec!["a"]);
        assert_eq!(t.line, 4);
        let bad = text.replace("not_null = [\"a\"]", "matches = { a = '(' }");
        let e = LakeConfig::parse("strata.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("strata.toml: line 4: table \"enhanced.s.t\": expect: matches.a: the regex does not compile"),
            "{e}"
        );
    }
}
