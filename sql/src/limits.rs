//! How deep a statement may nest, checked on its tokens before it is parsed, and the stack a
//! deep statement is parsed, planned, run and dropped on (docs/server.md, "Statement limits").
//!
//! Parsing, planning, evaluating and even dropping a syntax tree recurse once per level, and a
//! few kilobytes of SQL (`1+1+…+1`, `ARRAY[ARRAY[…]]`) nest thousands of levels. A thread's stack
//! (2 MB for tokio's workers) overflows long before that, and an overflow aborts the process.
//! So the depth is bounded from the tokens alone (an upper bound of the tree's depth), and a
//! statement deeper than [`SHALLOW`] runs on a stack grown for its depth ([`stacker`]).
use crate::{Result, SqlError};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::Token;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Default for [`StatementLimits::max_expression_depth`].
pub const DEFAULT_MAX_EXPRESSION_DEPTH: usize = 10_000;

/// The highest placeholder number a statement may use: Bind carries an Int16 count, so no
/// client can supply more values than this.
pub const MAX_PARAMETER: u64 = u16::MAX as u64;

/// Statements no deeper than this run on the stack they were called on.
const SHALLOW: usize = 128;

/// Stack per level of nesting, measured with debug builds of the deepest path (DataFusion's
/// optimizer and physical expression evaluation), with room to spare.
const STACK_PER_LEVEL: usize = 16 * 1024;

/// Limits on a statement's shape: settings of the engine.
#[derive(Debug, Clone, Copy)]
pub struct StatementLimits {
    /// Deepest nesting a statement may have (an upper bound from its tokens: brackets,
    /// parentheses, CASE, and chained operators such as `+`, `AND`, `::`, `UNION`); deeper
    /// ones are refused with SQLSTATE 54001 before they are parsed.
    pub max_expression_depth: usize,
}

impl StatementLimits {
    /// sqlparser's recursion limit: above what the depth check lets through (a nesting level
    /// costs the parser a few recursions), so that check, not the parser, is what refuses. The
    /// parser's own error on the way back from its limit is what made 48 nested `ARRAY[` spin.
    pub fn parser_recursion_limit(&self) -> usize {
        self.max_expression_depth
            .saturating_mul(4)
            .saturating_add(64)
    }
}

impl Default for StatementLimits {
    fn default() -> Self {
        StatementLimits {
            max_expression_depth: DEFAULT_MAX_EXPRESSION_DEPTH,
        }
    }
}

/// What the tokens tell of a statement before it is parsed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// An upper bound of the syntax tree's depth.
    pub depth: usize,
}

impl Shape {
    /// The shape of one statement's tokens; an error if it nests deeper than the limit.
    pub fn of(tokens: &[Token], limits: &StatementLimits) -> Result<Shape> {
        // Each open group (parenthesis, bracket, CASE) holds the operators chained in its
        // current comma-separated item; the depth at a token is the sum over the open groups.
        let mut groups: Vec<usize> = vec![0];
        let mut depth = 0usize;
        let mut deepest = 0usize;
        for t in tokens {
            match t {
                Token::LParen | Token::LBracket | Token::LBrace => {
                    groups.push(0);
                    depth += 1;
                }
                Token::Word(w) if w.keyword == Keyword::CASE => {
                    groups.push(0);
                    depth += 1;
                }
                Token::RParen | Token::RBracket | Token::RBrace => {
                    close(&mut groups, &mut depth);
                }
                Token::Word(w) if w.keyword == Keyword::END => close(&mut groups, &mut depth),
                Token::Comma => {
                    let top = groups.last_mut().expect("the statement's own group");
                    depth -= *top;
                    *top = 0;
                }
                Token::Whitespace(_) | Token::SemiColon | Token::Period => {}
                Token::Word(w) if !chains(w.keyword) => {}
                Token::Number(..)
                | Token::SingleQuotedString(_)
                | Token::DoubleQuotedString(_)
                | Token::NationalStringLiteral(_)
                | Token::EscapedStringLiteral(_)
                | Token::HexStringLiteral(_)
                | Token::Placeholder(_) => {}
                _ => {
                    *groups.last_mut().expect("the statement's own group") += 1;
                    depth += 1;
                }
            }
            deepest = deepest.max(depth);
            if deepest > limits.max_expression_depth {
                return Err(SqlError::new(
                    crate::ErrorKind::TooComplex,
                    format!(
                        "stack depth limit exceeded: the statement nests more than {} levels \
                         deep (max_expression_depth)",
                        limits.max_expression_depth
                    ),
                ));
            }
        }
        Ok(Shape { depth: deepest })
    }

    /// Whether it is deep enough to need a stack of its own.
    pub fn is_deep(&self) -> bool {
        self.depth > SHALLOW
    }

    /// Runs `f` on a stack deep enough for this statement.
    pub fn grow<R>(&self, f: impl FnOnce() -> R) -> R {
        if !self.is_deep() {
            return f();
        }
        let need = self.depth.saturating_mul(STACK_PER_LEVEL);
        stacker::maybe_grow(need, need + (1 << 20), f)
    }
}

fn close(groups: &mut Vec<usize>, depth: &mut usize) {
    // An unbalanced closer is the parser's to report; the statement's own group stays.
    if groups.len() > 1 {
        let top = groups.pop().expect("more than one group");
        *depth -= top + 1;
    }
}

/// Keywords that chain one expression or query onto another, each adding a level.
fn chains(k: Keyword) -> bool {
    matches!(
        k,
        Keyword::AND
            | Keyword::OR
            | Keyword::NOT
            | Keyword::IS
            | Keyword::LIKE
            | Keyword::ILIKE
            | Keyword::SIMILAR
            | Keyword::BETWEEN
            | Keyword::IN
            | Keyword::COLLATE
            | Keyword::AT
            | Keyword::UNION
            | Keyword::EXCEPT
            | Keyword::INTERSECT
            | Keyword::JOIN
            | Keyword::WHEN
            | Keyword::SELECT
    )
}

/// A future or stream polled (and dropped) on a stack deep enough for its statement.
pub struct Grown<T> {
    inner: Option<T>,
    shape: Shape,
}

impl<T> Grown<T> {
    pub fn new(inner: T, shape: Shape) -> Self {
        Grown {
            inner: Some(inner),
            shape,
        }
    }
}

impl<T> Drop for Grown<T> {
    fn drop(&mut self) {
        let inner = self.inner.take();
        self.shape.grow(move || drop(inner));
    }
}

impl<F: Future + Unpin> Future for Grown<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let shape = self.shape;
        let inner = self.inner.as_mut().expect("polled after drop");
        shape.grow(|| Pin::new(inner).poll(cx))
    }
}

impl<S: futures::Stream + Unpin> futures::Stream for Grown<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let shape = self.shape;
        let inner = self.inner.as_mut().expect("polled after drop");
        shape.grow(|| Pin::new(inner).poll_next(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::StrataDialect;
    use datafusion::sql::sqlparser::tokenizer::Tokenizer;

    fn depth(sql: &str) -> Result<usize> {
        let tokens = Tokenizer::new(&StrataDialect::default(), sql)
            .tokenize()
            .unwrap();
        Shape::of(&tokens, &StatementLimits::default()).map(|s| s.depth)
    }

    #[test]
    fn chains_nesting_and_lists_count_as_they_recurse() {
        assert_eq!(depth("select 1").unwrap(), 1);
        let sum = format!("select 1{}", "+1".repeat(2000));
        assert_eq!(depth(&sum).unwrap(), 2001);
        // Siblings in a list do not add up.
        let list = format!("select 1 where x in ({})", vec!["1"; 50_000].join(","));
        assert!(depth(&list).unwrap() < 10);
        let columns = vec!["a+b"; 5000].join(", ");
        assert!(depth(&format!("select {columns} from t")).unwrap() < 10);
        let arrays = format!("select {}1{}", "ARRAY[".repeat(48), "]".repeat(48));
        assert_eq!(depth(&arrays).unwrap(), 49);
    }

    #[test]
    fn deeper_than_the_limit_is_54001_before_parsing() {
        let casts = format!("select 1{}", "::int8".repeat(20_000));
        match depth(&casts) {
            Err(SqlError::Failed { kind, message }) => {
                assert_eq!(kind, crate::ErrorKind::TooComplex);
                assert!(message.contains("max_expression_depth"), "{message}");
            }
            other => panic!("expected 54001, got {other:?}"),
        }
    }
}
