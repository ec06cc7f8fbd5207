// Package parse is Eddy's SQL front end: it reads a script of Flink SQL
// statements and returns them as typed statements whose queries are TiDB
// ASTs, with every position pointing at the user's own text.
//
// # Strategy
//
// TiDB's parser (github.com/pingcap/tidb/pkg/parser, MySQL dialect) is the
// SQL parser. It does not know Flink's streaming forms and its scanner is
// not exported, so this package puts a small lexer of its own in front of
// it (identifiers, `backquoted` identifiers, 'strings' in which a doubled
// quote stands for one, numbers, operators, -- and /* */ comments) and
// works on tokens:
//
//  1. Parse lexes the whole script, blanks the comments (so that MySQL's
//     own comment rules, such as /*! executable comments */, never apply)
//     and splits the tokens into statements at ';' outside parentheses.
//     Empty statements are skipped.
//  2. CREATE TABLE, INSERT INTO ... (up to its query) and SET are parsed
//     here, from tokens: column types, WATERMARK FOR, PRIMARY KEY ... NOT
//     ENFORCED, COMMENT and WITH ('k' = 'v', ...).
//  3. Queries (the SELECT of an INSERT, a bare SELECT) and the WATERMARK
//     expression are rewritten into text TiDB accepts and parsed by TiDB
//     with the SQL modes PIPES_AS_CONCAT (|| concatenates),
//     NO_BACKSLASH_ESCAPES (backslash is an ordinary character in strings)
//     and IGNORE_SPACE (SUM (x) is a call, as in Flink). A WATERMARK
//     expression is parsed as SELECT (expr); Watermark.Expr is expr.
//
// # Flink forms handled
//
//   - Window table functions, positional or with named arguments:
//     TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), size [, offset])),
//     TABLE(HOP(TABLE t, DESCRIPTOR(ts), slide, size [, offset])),
//     TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), step, max size [, offset])),
//     TABLE(SESSION(TABLE t [PARTITION BY k | PARTITION BY (k1, k2)],
//     DESCRIPTOR(ts), gap)), and DATA => TABLE t, TIMECOL => DESCRIPTOR(ts),
//     SIZE/SLIDE/STEP/GAP/OFFSET => INTERVAL ... . The whole TABLE(...)
//     becomes a placeholder table name (__eddy_tvf_1, __eddy_tvf_2, ... in
//     order) that TiDB parses as an *ast.TableName; Query.TVFs maps it to
//     the parsed call. The lexer rejects user identifiers starting with
//     __eddy_, so a placeholder cannot collide with a user's name.
//   - INTERVAL 'n' UNIT with Flink's units SECOND(S), MINUTE(S), HOUR(S),
//     DAY(S); plurals are rewritten to TiDB's singular units. Fractions are
//     allowed for SECOND down to milliseconds (INTERVAL '0.5' SECOND). In a
//     window call the interval is converted here (Interval.Ms); in an
//     expression TiDB parses it (ts - INTERVAL '5' SECOND is a DATE_SUB
//     call) and Query.Interval gives its exact milliseconds.
//   - CAST(x AS type) and TRY_CAST(x AS type) with Flink's types: the
//     target is parsed here and replaced by one TiDB accepts (SIGNED,
//     DOUBLE, DECIMAL(p, s), CHAR, DATETIME(3)); TRY_CAST becomes CAST.
//     Query.CastType gives the real target of an *ast.FuncCastExpr. The
//     marker is the cast's own offset in the rewritten text, which TiDB
//     records as the node's OriginTextPosition, so nothing is added to the
//     text and no user SQL can imitate it.
//   - NULLS FIRST / NULLS LAST after an ORDER BY key, which TiDB does not
//     parse: they are removed and recorded in Query.NullsFirst under the
//     rewritten offset of the key expression.
//   - ROW_NUMBER() OVER (...), subqueries without aliases, MOD, CASE,
//     comparisons and arithmetic go to TiDB unchanged.
//
// What Flink has and Eddy does not yet (CREATE VIEW, computed and metadata
// columns, STATEMENT SET, legacy GROUP BY TUMBLE(...), WITH, ...) gets an
// error naming it. A few MySQL forms TiDB accepts but that would change a
// result if ignored (AS OF TIMESTAMP, TABLESAMPLE, PARTITION (p), SELECT
// ... INTO, FOR UPDATE) are rejected after parsing.
//
// # Positions
//
// Every error is an *Error{File, Pos, Msg} whose Pos is a byte offset, a
// 1-based line and a 1-based column in bytes of the user's script; the
// first error of the script wins. TiDB's syntax errors ("line 1 column 23
// near ...") are mapped back through the position map and reworded
// ("syntax error at or near 'FROMM'"); when the offending word is one TiDB
// reserves but Flink users write as a name (rank, key, index, rows, window,
// ...), the error says to backquote it.
//
// The position map of a query is a list of segments of the rewritten text:
// a segment copied from the script maps offset for offset; a segment the
// rewrite wrote (a placeholder, a CAST target, a singular unit) maps every
// offset to the start of the user's construct it stands for. Query.
// PosOfOffset applies it.
//
// After the rewrite, these TiDB AST offsets are usable with
// Query.PosOfOffset:
//
//   - every ast.ExprNode's OriginTextPosition(): the offset of its first
//     token (for a binary operation, its left operand; for a call, the
//     function name; for a column, its qualifier or name; for a CAST, the
//     CAST keyword). Nodes TiDB makes up (the argument of COUNT(*), the
//     ast.TimeUnitExpr of an INTERVAL) have 0, which maps to the start of
//     the query: treat 0 as "not positioned".
//   - ast.SelectField.Offset: the start of the select item.
//
// Other nodes (ast.TableName, ast.TableSource, ast.Join, ast.ByItem,
// ast.ColumnName, window specs, clauses) carry no offset: use Query.Find
// to locate a keyword or name, from a known position on. Node.Text() holds
// rewritten text, not the user's.
//
// Literals are *test_driver.ValueExpr (TiDB's light value driver, registered
// by this package): ast.ValueExpr.GetValue returns int64, uint64, float64,
// string, *test_driver.MyDecimal or nil for NULL.
package parse
