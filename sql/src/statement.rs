//! A parsed statement and how SQL text becomes one: split at semicolons, bounded in depth
//! before sqlparser sees it (see [`crate::limits`]), parsed with Strata's dialect or by the
//! session's hook. A statement knows what it is ([`Kind`], [`Statement::rows_tag`],
//! [`Statement::transaction`]): no front end reads SQL text to find out.
use crate::hook::StatementHook;
use crate::limits::{Shape, StatementLimits};
use crate::split::split_statements;
use crate::{dialect::StrataDialect, Missing, Result, SqlError};
use datafusion::error::DataFusionError;
use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::parser::ParserError;

/// Splits SQL text into statements and parses each. A statement nesting deeper than
/// `max_expression_depth` is refused (54001) before it is parsed, and one naming a placeholder
/// no client could bind (`$0`, `$99999999999`) after (42P02).
pub(crate) fn parse(
    sql: &str,
    hook: Option<&dyn StatementHook>,
    limits: &StatementLimits,
) -> Result<Vec<Statement>> {
    let pieces = split_statements(sql).map_err(SqlError::Syntax)?;
    pieces
        .into_iter()
        .map(|(text, tokens)| {
            let shape = Shape::of(&tokens, limits)?;
            drop(tokens);
            shape.grow(|| {
                let mut stmt = match hook {
                    Some(hook) => hook.parse(text, limits, shape.depth)?,
                    None => Statement::parse(text, limits)?,
                };
                stmt.shape = shape;
                check_placeholders(&stmt)?;
                Ok(stmt)
            })
        })
        .collect()
}

/// One parsed statement, ready for [`crate::Session::execute`].
#[derive(Debug)]
pub struct Statement {
    pub(crate) text: String,
    pub(crate) kind: Kind,
    /// How deep it nests: deep statements are cloned, planned, run and dropped on a stack
    /// grown for them (see [`crate::limits`]).
    pub(crate) shape: Shape,
}

impl Clone for Statement {
    fn clone(&self) -> Self {
        self.shape.grow(|| Statement {
            text: self.text.clone(),
            kind: self.kind.clone(),
            shape: self.shape,
        })
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        let kind = std::mem::replace(&mut self.kind, Kind::Refresh);
        self.shape.grow(move || drop(kind));
    }
}

/// What a statement is, decided when it is parsed.
#[derive(Debug, Clone)]
pub enum Kind {
    /// `REFRESH`: list the lake again now.
    Refresh,
    /// SQL for the hook, Strata's settings and DataFusion, in that order.
    Sql(Box<DFStatement>),
    /// `COPY … TO STDOUT`: the query, and how the front end writes its rows.
    CopyOut(Box<DFStatement>, crate::copy::CopyOptions),
    /// A statement accepted without effect, with its command tag (LISTEN/UNLISTEN on a lake
    /// without notifications).
    Accepted(String),
    /// `MOVE …`: a FETCH whose rows are skipped (cursors only move forward).
    Move(Box<DFStatement>),
    /// `OPTIMIZE`, `VACUUM`, `CONVERT TO DELTA`: Delta table maintenance.
    Maintain(crate::maintenance::Maintenance),
    /// `SUMMARIZE <table or query>`: the query whose columns are summarized.
    Summarize(Box<DFStatement>),
}

/// What a statement does to a transaction block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    /// BEGIN, START TRANSACTION.
    Begin,
    /// COMMIT, END, ROLLBACK, ABORT: the block ends (an aborted one too).
    End,
    /// ROLLBACK TO SAVEPOINT: the block goes on, no longer aborted.
    Resume,
}

impl Statement {
    /// A statement of the given kind (for hooks that parse their own statements).
    pub fn new(text: String, kind: Kind) -> Self {
        Statement {
            text,
            kind,
            shape: Shape::default(),
        }
    }

    /// Parses one statement's text with Strata's dialect: `REFRESH`, or SQL for DataFusion.
    pub fn parse(text: String, limits: &StatementLimits) -> Result<Statement> {
        parse_one(text, limits)
    }

    /// A statement made from part of this one (a cursor's query), as deep as this one.
    pub fn derived(&self, text: String, kind: Kind) -> Statement {
        Statement {
            text,
            kind,
            shape: self.shape,
        }
    }

    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The syntax tree of a SQL statement; None for the other kinds.
    pub fn ast(&self) -> Option<&DFStatement> {
        match &self.kind {
            Kind::Sql(ast) => Some(ast),
            _ => None,
        }
    }

    /// The statement itself when it is an ordinary SQL one (not EXPLAIN, COPY TO a file…).
    fn sql(&self) -> Option<&ast::Statement> {
        match self.ast()? {
            DFStatement::Statement(s) => Some(s),
            _ => None,
        }
    }

    /// The command tag of the rows it returns (PostgreSQL's CommandComplete: `SELECT 3`).
    pub fn rows_tag(&self) -> &'static str {
        match (self.ast(), self.sql()) {
            (Some(DFStatement::Explain(_)), _) | (_, Some(ast::Statement::Explain { .. })) => {
                "EXPLAIN"
            }
            (_, Some(ast::Statement::Fetch { .. })) => "FETCH",
            (
                _,
                Some(
                    ast::Statement::ShowVariable { .. }
                    | ast::Statement::ShowVariables { .. }
                    | ast::Statement::ShowTables { .. }
                    | ast::Statement::ShowColumns { .. }
                    | ast::Statement::ShowFunctions { .. },
                ),
            ) => "SHOW",
            _ => "SELECT",
        }
    }

    /// Whether it starts or ends a transaction block.
    pub fn transaction(&self) -> Option<Transaction> {
        match self.sql()? {
            ast::Statement::StartTransaction { .. } => Some(Transaction::Begin),
            ast::Statement::Commit { .. }
            | ast::Statement::Rollback {
                savepoint: None, ..
            } => Some(Transaction::End),
            ast::Statement::Rollback { .. } => Some(Transaction::Resume),
            _ => None,
        }
    }

    /// The cursor a `DECLARE … CURSOR` opens.
    pub fn declared_cursor(&self) -> Option<&str> {
        match self.sql()? {
            ast::Statement::Declare { stmts } => {
                stmts.first()?.names.first().map(|n| n.value.as_str())
            }
            _ => None,
        }
    }

    /// Types a client declared for `$1`, `$2`… (the extended protocol's Parse): each declared
    /// placeholder becomes `CAST($n AS type)`, so planning and [`crate::Session::describe`] know it.
    /// `types` are SQL type names such as `int4` or `text[]`; None leaves a placeholder as is.
    pub fn declare_param_types(&mut self, types: &[Option<String>]) {
        use datafusion::sql::sqlparser::ast::{Expr, VisitMut, VisitorMut};
        struct Declare<'a>(&'a [Option<ast::DataType>]);
        impl VisitorMut for Declare<'_> {
            type Break = ();
            fn post_visit_expr(&mut self, e: &mut Expr) -> std::ops::ControlFlow<()> {
                if let Expr::Value(v) = e {
                    if let ast::Value::Placeholder(p) = &v.value {
                        let n = p.trim_start_matches('$').parse::<usize>().unwrap_or(0);
                        if let Some(Some(t)) = n.checked_sub(1).and_then(|i| self.0.get(i)) {
                            *e = Expr::Cast {
                                kind: ast::CastKind::Cast,
                                expr: Box::new(e.clone()),
                                data_type: t.clone(),
                                array: false,
                                format: None,
                            };
                        }
                    }
                }
                std::ops::ControlFlow::Continue(())
            }
        }
        let dialect = StrataDialect::default();
        let parsed: Vec<Option<ast::DataType>> = types
            .iter()
            .map(|t| {
                t.as_ref().and_then(|t| {
                    datafusion::sql::sqlparser::parser::Parser::new(&dialect)
                        .try_with_sql(t)
                        .and_then(|mut p| p.parse_data_type())
                        .ok()
                })
            })
            .collect();
        if parsed.iter().all(Option::is_none) {
            return;
        }
        let shape = self.shape;
        if let Kind::Sql(ast) = &mut self.kind {
            if let DFStatement::Statement(s) = ast.as_mut() {
                let _ = shape.grow(|| s.visit(&mut Declare(&parsed)));
            }
        }
    }
}

/// The SQL type names placeholders are cast to in the statement's text, by position.
pub(crate) fn placeholder_sql_types(ast: &DFStatement, count: usize) -> Vec<Option<String>> {
    use datafusion::sql::sqlparser::ast::{Expr, Visit, Visitor};
    struct Find(Vec<Option<String>>);
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
            if let Expr::Cast {
                expr, data_type, ..
            } = e
            {
                if let Expr::Value(v) = expr.as_ref() {
                    if let ast::Value::Placeholder(p) = &v.value {
                        let n = p.trim_start_matches('$').parse::<usize>().unwrap_or(0);
                        if let Some(slot) = n.checked_sub(1).and_then(|i| self.0.get_mut(i)) {
                            slot.get_or_insert_with(|| data_type.to_string().to_lowercase());
                        }
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut find = Find(vec![None; count]);
    if let DFStatement::Statement(s) = ast {
        let _ = s.visit(&mut find);
    }
    find.0
}

impl Statement {
    /// Whether the statement is a query that names relations and only ones `wanted` accepts
    /// (the server asks this of catalog queries, to run them apart from lake queries).
    pub fn reads_only(&self, wanted: impl Fn(&ast::ObjectName) -> bool) -> bool {
        let Some(s @ ast::Statement::Query(_)) = self.sql() else {
            return false;
        };
        let mut any = false;
        let all = self.shape.grow(|| {
            ast::visit_relations(s, |name| {
                any = true;
                match wanted(name) {
                    true => std::ops::ControlFlow::Continue(()),
                    false => std::ops::ControlFlow::Break(()),
                }
            })
        });
        any && all.is_continue()
    }
}

impl std::fmt::Display for Statement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_one(text: String, limits: &StatementLimits) -> Result<Statement> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    if words == ["REFRESH"] {
        return Ok(Statement::new(text, Kind::Refresh));
    }
    if let Some(query) = crate::summarize::query_text(&text) {
        let query = parse_one(query?, limits).map_err(|e| {
            SqlError::Syntax(format!(
                "SUMMARIZE needs a table or a query: SUMMARIZE raw.crm.customers, or \
                 SUMMARIZE SELECT …; here: {e}"
            ))
        })?;
        return match (query.ast(), query.sql()) {
            (Some(ast), Some(ast::Statement::Query(_))) => {
                let ast = Box::new(ast.clone());
                Ok(Statement::new(text, Kind::Summarize(ast)))
            }
            _ => Err(SqlError::Syntax(format!(
                "SUMMARIZE needs a table or a query, not: {query}"
            ))),
        };
    }
    if let Some(m) = crate::maintenance::parse(&text)? {
        return Ok(Statement::new(text, Kind::Maintain(m)));
    }
    let dialect = StrataDialect::default();
    let syntax = |e: DataFusionError| match e {
        DataFusionError::SQL(e, _) => SqlError::Syntax(match *e {
            ParserError::ParserError(m) | ParserError::TokenizerError(m) => m,
            other => other.to_string(),
        }),
        other => other.into(),
    };
    let mut parser = DFParserBuilder::new(text.as_str())
        .with_dialect(&dialect)
        .with_recursion_limit(recursion_limit(limits))
        .build()
        .map_err(syntax)?;
    let mut stmts = parser.parse_statements().map_err(syntax)?;
    let ast = match (stmts.pop_front(), stmts.is_empty()) {
        (Some(s), true) => s,
        _ => return Err(DataFusionError::Plan(format!("expected one statement: {text}")).into()),
    };
    Ok(Statement::new(text, Kind::Sql(Box::new(ast))))
}

fn recursion_limit(limits: &StatementLimits) -> usize {
    limits.parser_recursion_limit()
}

/// Placeholders a client can bind: `$1` to `$65535` (Bind's count is an Int16). A larger
/// number would have sized the parameter list it is planned with (PostgreSQL: 42P02).
fn check_placeholders(stmt: &Statement) -> Result<()> {
    use datafusion::sql::sqlparser::ast::{Expr, Visit, Visitor};
    struct Find(Option<String>);
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
            if let Expr::Value(v) = e {
                if let ast::Value::Placeholder(p) = &v.value {
                    let number = p.strip_prefix('$').map(|n| n.parse::<u64>());
                    if let Some(n) = number {
                        if !matches!(n, Ok(1..=crate::limits::MAX_PARAMETER)) {
                            self.0 = Some(p.clone());
                            return std::ops::ControlFlow::Break(());
                        }
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let ast = match &stmt.kind {
        Kind::Sql(ast) | Kind::CopyOut(ast, _) | Kind::Move(ast) | Kind::Summarize(ast) => ast,
        Kind::Refresh | Kind::Accepted(_) | Kind::Maintain(_) => return Ok(()),
    };
    let DFStatement::Statement(s) = ast.as_ref() else {
        return Ok(());
    };
    let mut find = Find(None);
    let _ = s.visit(&mut find);
    match find.0 {
        Some(p) => Err(SqlError::NotFound {
            what: Missing::Parameter,
            message: format!("there is no parameter {p}"),
        }),
        None => Ok(()),
    }
}
