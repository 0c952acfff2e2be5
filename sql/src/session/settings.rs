//! Session settings Strata answers itself: `SET/SHOW/RESET strata.as_of`, `SET search_path`,
//! the session time zone and `\c zone` — the session's as-of bound and the zone and schema
//! names resolve in (docs/time-travel.md).
use crate::session::{Output, Session};
use crate::{suggest, ErrorKind, Missing, Result, SqlError};
use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::error::DataFusionError;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{self, Set};
use std::sync::Arc;
use strata_catalog::{StrataOptions, ZONES};

impl Session {
    /// `\c zone`: makes `zone` (schema `public`) the default.
    pub fn set_zone(&self, zone: &str) -> Result<()> {
        self.set_search_path(zone, "public")
    }

    pub(crate) fn set_search_path(&self, zone: &str, schema: &str) -> Result<()> {
        if !ZONES.contains(&zone) {
            let hint = suggest::closest(zone, ZONES)
                .map(|z| format!(" (did you mean {z}?)"))
                .unwrap_or_default();
            return Err(SqlError::NotFound {
                what: Missing::Object,
                message: format!("unknown zone '{zone}'{hint}; zones are raw, sanitized, enhanced"),
            });
        }
        let state = self.ctx.state_ref();
        let mut state = state.write();
        let opts = state.config_mut().options_mut();
        opts.catalog.default_catalog = zone.to_string();
        opts.catalog.default_schema = schema.to_string();
        Ok(())
    }

    /// Sets (or with None resets) the session's `strata.as_of`.
    pub fn set_as_of(&self, value: Option<&str>) -> Result<()> {
        let state = self.ctx.state_ref();
        let mut state = state.write();
        let ext = state
            .config_mut()
            .options_mut()
            .extensions
            .get_mut::<StrataOptions>()
            .expect("StrataOptions registered by Engine::new");
        ext.set_as_of(value)?;
        Ok(())
    }

    pub(crate) fn as_of_text(&self) -> String {
        let state = self.ctx.state();
        match StrataOptions::as_of_from(state.config_options()) {
            None => "now".into(),
            Some(us) => chrono::DateTime::from_timestamp_micros(us)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S%.f+00").to_string())
                .unwrap_or_default(),
        }
    }

    /// Statements Strata answers itself: `SET/SHOW/RESET strata.as_of` and `search_path`.
    pub(crate) fn strata_statement(&self, ast: &DFStatement) -> Result<Option<Output>> {
        match ast {
            DFStatement::Statement(s) => match s.as_ref() {
                ast::Statement::Set(Set::SingleAssignment {
                    variable, values, ..
                }) => {
                    let var = variable.to_string().to_lowercase();
                    let texts: Vec<String> = values.iter().map(value_text).collect();
                    if var == "strata.as_of" {
                        let v = texts
                            .first()
                            .map(String::as_str)
                            .filter(|v| !v.eq_ignore_ascii_case("default"));
                        self.set_as_of(v)?;
                        return Ok(Some(Output::Status("SET".into())));
                    }
                    if var == "search_path" {
                        self.apply_search_path(&texts)?;
                        return Ok(Some(Output::Status("SET".into())));
                    }
                    Ok(None)
                }
                ast::Statement::ShowVariable { variable } => {
                    let var = setting_name(variable);
                    let value = match var.as_str() {
                        "strata.as_of" => self.as_of_text(),
                        "search_path" => {
                            format!("{}.{}", self.current_zone(), self.current_schema())
                        }
                        _ => return Ok(None),
                    };
                    Ok(Some(one_value(&var, value)?))
                }
                _ => Ok(None),
            },
            DFStatement::Reset(datafusion::sql::parser::ResetStatement::Variable(name))
                if name.to_string().eq_ignore_ascii_case("strata.as_of") =>
            {
                self.set_as_of(None)?;
                Ok(Some(Output::Status("RESET".into())))
            }
            _ => Ok(None),
        }
    }

    /// The session time zone: how `timestamp with time zone` values are shown and which zone
    /// a zoneless timestamp literal is cast from. `default` and `local` mean UTC.
    pub fn set_time_zone(&self, zone: &str) -> Result<()> {
        let zone = match zone.trim() {
            z if z.eq_ignore_ascii_case("default") || z.eq_ignore_ascii_case("local") => "UTC",
            z => z,
        };
        if zone
            .parse::<datafusion::arrow::array::timezone::Tz>()
            .is_err()
        {
            return Err(SqlError::new(
                ErrorKind::InvalidValue,
                format!("invalid value for parameter \"TimeZone\": \"{zone}\""),
            ));
        }
        let state = self.ctx.state_ref();
        state.write().config_mut().options_mut().execution.time_zone = Some(zone.to_string());
        Ok(())
    }

    pub(crate) fn apply_search_path(&self, values: &[String]) -> Result<()> {
        for v in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
            let v = v.trim_matches('"');
            if v.is_empty() || v == "$user" {
                continue;
            }
            return match v.split_once('.') {
                Some((z, s)) => self.set_search_path(z, s),
                None if ZONES.contains(&v) => self.set_search_path(v, "public"),
                None => self.set_search_path(&self.current_zone(), v),
            };
        }
        Ok(())
    }
}

/// Whether a setting (as [`setting_name`] spells it) is one Strata answers itself, in every
/// session: front ends' hooks leave SET and SHOW of these to the session.
pub fn is_strata_setting(name: &str) -> bool {
    matches!(name, "strata.as_of" | "search_path")
}

/// The one spelling of a setting's name in SET and SHOW, for answering and for describing
/// alike: lower case, parts joined by dots, and the multi-word forms PostgreSQL accepts
/// (`SHOW TIME ZONE`, `SHOW TRANSACTION ISOLATION LEVEL`) as their one-word names.
pub fn setting_name(variable: &[ast::Ident]) -> String {
    let name = variable
        .iter()
        .map(|i| i.value.to_lowercase())
        .collect::<Vec<_>>()
        .join(".");
    match name.as_str() {
        "transaction.isolation.level" => "transaction_isolation".into(),
        "time.zone" => "timezone".into(),
        "session.authorization" => "session_authorization".into(),
        _ => name,
    }
}

/// The text of a SET value: string contents, identifier names, else the SQL.
pub fn value_text(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        ast::Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

/// A one-row, one-column result: what SHOW answers.
pub fn one_value(name: &str, value: String) -> Result<Output> {
    let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, false)]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(StringArray::from(vec![value]))],
    )
    .map_err(DataFusionError::from)?;
    let stream = futures::stream::iter(vec![Ok(batch)]);
    Ok(Output::Rows(Box::pin(RecordBatchStreamAdapter::new(
        schema, stream,
    ))))
}
