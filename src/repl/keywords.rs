//! SQL keywords offered by completion: the ones people type, not sqlparser's full list.

pub const KEYWORDS: &[&str] = &[
    "ALL", "ALTER", "ANALYZE", "AND", "ANTI", "ARRAY", "AS", "AS OF", "ASC", "AVG", "BETWEEN",
    "BIGINT", "BOOLEAN", "BY", "CASE", "CAST", "COALESCE", "COUNT", "CREATE", "CROSS", "CURRENT_DATE",
    "CURRENT_TIMESTAMP", "DATE", "DATE_TRUNC", "DECIMAL", "DESC", "DESCRIBE", "DISTINCT", "DOUBLE",
    "DROP", "ELSE", "END", "EXCEPT", "EXISTS", "EXPLAIN", "EXTRACT", "FALSE", "FILTER", "FIRST",
    "FOR", "FOR SYSTEM_TIME AS OF", "FROM", "FULL", "GROUP BY", "HAVING", "ILIKE", "IN", "INNER",
    "INTERSECT", "INTERVAL", "INT", "INTEGER", "IS", "JOIN", "LAST", "LEFT", "LIKE", "LIMIT", "MAX",
    "MIN", "NOT", "NOW", "NULL", "NULLS", "OFFSET", "ON", "OR", "ORDER BY", "OUTER", "OVER",
    "PARTITION BY", "QUALIFY", "RANGE", "RECURSIVE", "REFRESH", "RESET", "RIGHT", "ROW_NUMBER",
    "ROWS", "SELECT", "SEMI", "SET", "SHOW", "SHOW TABLES", "SMALLINT", "SUM",
    "SYSTEM_TIME", "TABLE", "TABLES", "THEN", "TIMESTAMP", "TIMESTAMP AS OF", "TRUE", "UNION",
    "UNNEST", "USING", "VALUES", "VARCHAR", "VIEW", "WHEN", "WHERE", "WINDOW", "WITH",
];
