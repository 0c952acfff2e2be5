//! The one extension point of a session: a front end's own statements. The Postgres server's
//! (client settings, transactions, cursors, COPY TO STDOUT, catalog-query rewrites) come in
//! through it; a Flight SQL server or a write path would add theirs the same way, and every
//! front end then shares one parser, one dispatcher and one set of errors
//! (docs/architecture.md).
use crate::limits::StatementLimits;
use crate::session::{Described, Output, Session};
use crate::statement::Statement;
use crate::Result;
use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::sql::parser::Statement as DFStatement;

/// A front end's statements, installed on a session with [`Session::set_hook`]. One hook value
/// belongs to one session, so it may keep that session's state (settings, open cursors).
#[async_trait]
pub trait StatementHook: Send + Sync {
    /// Parses the text of one statement (already split from the others and within the depth
    /// limit). The default is Strata's own parse; a hook may recognise statements of its own,
    /// or rewrite what Strata parsed, and builds on [`Statement::parse`].
    fn parse(&self, text: String, limits: &StatementLimits, depth: usize) -> Result<Statement> {
        let _ = depth;
        Statement::parse(text, limits)
    }

    /// Answers a statement before Strata and DataFusion do; `Ok(None)` leaves it to them. It may
    /// change `ast` and still return None (to plan a rewritten statement).
    async fn execute(
        &self,
        session: &Session,
        ast: &mut DFStatement,
        params: Option<&ParamValues>,
    ) -> Result<Option<Output>>;

    /// Describes a statement the hook answers itself; `Ok(None)` leaves it to the session.
    async fn describe(
        &self,
        session: &Session,
        stmt: &Statement,
        ast: &DFStatement,
    ) -> Result<Option<Described>> {
        let _ = (session, stmt, ast);
        Ok(None)
    }
}
