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
//  2. CREATE TABLE, CREATE [TEMPORARY] VIEW, INSERT INTO ... (up to its
//     query), EXPLAIN [PLAN FOR | detail, ...] and SET are parsed here, from
//     tokens: column types, computed columns (name AS expr), WATERMARK FOR,
//     PRIMARY KEY ... NOT ENFORCED, COMMENT, WITH ('k' = 'v', ...), a
//     view's column list, EXPLAIN's details (ESTIMATED_COST,
//     CHANGELOG_MODE, PLAN_ADVICE, JSON_EXECUTION_PLAN).
//  3. Queries (the SELECT of an INSERT, a bare SELECT, a view's query, with
//     or without WITH ... AS (...) common table expressions) and the
//     WATERMARK and computed column expressions are rewritten into text
//     TiDB accepts and parsed by TiDB with the SQL modes PIPES_AS_CONCAT (||
//     concatenates), NO_BACKSLASH_ESCAPES (backslash is an ordinary
//     character in strings) and IGNORE_SPACE (SUM (x) is a call, as in
//     Flink). An expression is parsed as SELECT (expr).
//  4. The TiDB AST is normalized (see below), so that the analyzer sees
//     plain function calls.
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
//   - CAST(x AS TIMESTAMP_LTZ(3)) (or TIMESTAMP(3) WITH LOCAL TIME ZONE):
//     types.Type{Kind: Timestamp, LocalZone: true}, also as a column type.
//   - agg(args) FILTER (WHERE cond): written as __eddy_filter(agg(args),
//     cond) for TiDB and unwrapped after parsing; Query.AggFilter gives the
//     condition of an *ast.AggregateFuncExpr. A user function call with
//     FILTER becomes an *ast.AggregateFuncExpr too (only aggregates take
//     FILTER; the analyzer checks the name).
//   - FIRST_VALUE(x) and LAST_VALUE(x) without OVER (TiDB only knows the
//     window functions): *ast.AggregateFuncExpr with F "FIRST_VALUE" or
//     "LAST_VALUE".
//   - FLOOR(x TO unit) and CEIL(x TO unit) (CEILING too), units SECOND,
//     MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR: the calls
//     __eddy_floor_to(x, 'UNIT') and __eddy_ceil_to(x, 'UNIT'), the unit an
//     upper-case string literal positioned at the user's unit.
//   - [LATERAL] TABLE(f(args)) [[AS] T [(c1, ...)]], a table function call
//     in FROM: written as LATERAL (SELECT __eddy_tfn_N(args)) AS T(c1, ...)
//     (with an alias __eddy_tfa_N when none is written, since TiDB needs
//     one; IsPlaceholder recognizes it). Query.TableFuncOf recognizes the
//     derived table and gives the function's real name.
//   - FULL [OUTER] JOIN ... ON cond: written as LEFT JOIN ... ON
//     __eddy_full(cond) and unwrapped after parsing; Query.IsFullJoin
//     tells. CROSS JOIN ... ON, and FULL JOIN without ON, are errors.
//   - t FOR SYSTEM_TIME AS OF col [[AS] alias] (a temporal join's right
//     side; col a column, possibly qualified): written as t [AS alias] AS
//     OF TIMESTAMP col, which TiDB parses onto the *ast.TableName;
//     Query.SystemTime recognizes it (a user's own AS OF TIMESTAMP stays an
//     error).
//   - Query hints SELECT /*+ NAME(key = 'value', ...) [, ...] */: the lexer
//     keeps the spans of /*+ ... */ comments; one right after a SELECT is
//     parsed here (only STATE_TTL is known) and replaced by TiDB's
//     /*+ QB_NAME(__eddy_qb_N) */, which TiDB keeps on the *ast.SelectStmt;
//     Query.Hints returns the hints of a SELECT. A hint comment anywhere
//     else in a query is an error.
//   - ROW_NUMBER() OVER (...), subqueries without aliases, WITH, UNION,
//     joins, MOD, CASE, comparisons and arithmetic go to TiDB unchanged.
//
// # Normalized calls
//
// After TiDB parsed a query, these forms become plain *ast.FuncCallExpr
// calls (each at the offset of the construct it replaces), so that the
// analyzer binds them like any function:
//
//   - s LIKE p [ESCAPE 'c']: LIKE(s, p [, 'c']) (the third argument only
//     when ESCAPE is written; Flink's default escape is backslash); ILIKE
//     likewise; NOT LIKE is NOT LIKE(...) (an *ast.UnaryOperationExpr).
//   - REGEXP(s, p), and the MySQL operator s [NOT] REGEXP p: [NOT]
//     REGEXP(s, p).
//   - TRIM([BOTH | LEADING | TRAILING] [chars] FROM s), TRIM(s): TiDB's
//     call TRIM(s [, chars [, direction]]) with the direction as the string
//     literal 'BOTH', 'LEADING' or 'TRAILING' (TRIM(LEADING FROM s) has
//     chars ' ').
//   - EXTRACT(unit FROM x), TIMESTAMPDIFF(unit, a, b), TIMESTAMPADD(unit,
//     n, x): the unit is an upper-case string literal ('HOUR').
//   - l IS NOT DISTINCT FROM r is TiDB's null-safe l <=> r (an
//     *ast.BinaryOperationExpr with opcode.NullEQ), and l IS DISTINCT FROM
//     r is NOT (l <=> r).
//   - s || t is CONCAT(s, t); SUBSTRING(s FROM a FOR b) is SUBSTRING(s, a,
//     b); POSITION(a IN b) is POSITION(a, b) (TiDB's own forms).
//
// What Flink has and Eddy does not yet (metadata columns, STATEMENT SET,
// legacy GROUP BY TUMBLE(...), WITH RECURSIVE, column alias lists on
// subqueries, JOIN ... USING, ...) gets an error naming it. A few MySQL forms TiDB accepts but that would change a
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
