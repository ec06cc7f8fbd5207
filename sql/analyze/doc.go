// Package analyze binds and type-checks a parsed SQL script against the
// catalog its CREATE TABLE and CREATE VIEW statements build and turns its
// queries into a logical plan (planner/logical), with Flink's semantics.
//
// Binding resolves names case-insensitively, qualified by the FROM item
// they come from (a table, view, common table expression, subquery or
// table function alias); typing follows Flink's rules (LogicalTypeMerging
// for common types and decimal arithmetic, integer division for integers,
// SQL NULL semantics) and makes every implicit cast explicit in the
// engine/expr trees it produces. Anything not supported is rejected with an
// error that names the construct and points at it in the user's text,
// rather than planned wrongly.
//
// # What the plans look like
//
//   - A table is a Scan; with computed columns, Scan -> Project (every
//     column in declared order, computed ones bound over the physical ones)
//     -> WatermarkAssigner when the WATERMARK is on a computed column. A
//     PROCTIME() column is a processing-time attribute (ProcTime), and a
//     window TVF on it a processing-time window (WindowSpec.ProcTime).
//   - Views and WITH ... AS (...) expressions expand where they are used:
//     each use is a fresh plan of their query (checked once where they are
//     defined), renamed by their column lists.
//   - JOIN, LEFT/RIGHT/FULL [OUTER] JOIN, CROSS JOIN and comma joins are
//     logical.Join with the ON condition over the left then the right
//     columns (the planner decides which joins it can run: window joins);
//     x IN (SELECT ...) and x NOT IN (SELECT ...) conjuncts of WHERE are
//     SEMI and (NULL-aware) ANTI joins. [LATERAL] TABLE(f(args)) is a
//     logical.Correlate of a udf.Table from Env.Functions.
//   - A regular join's output has no time attributes (Flink's rule): a
//     Project right above the Join passes every column through with its
//     time attribute made plain. Interval joins (the condition bounds one
//     side's time attribute by the other's from below and above) and window
//     joins (window_start and window_end equated) keep their columns as
//     they are. WHERE conjuncts over both sides of a comma or CROSS join
//     are put into its condition.
//   - JOIN t FOR SYSTEM_TIME AS OF l.col is a logical.Join with AsOf (a
//     time attribute column of the left side: processing time for a lookup
//     join, event time for a versioned table, which needs a primary key and
//     a watermark); its right side is t's scan (through its computed-column
//     Project and WatermarkAssigner), whose time attributes are made plain
//     above the join.
//   - STATE_TTL hints set Join.LeftTTLMs/RightTTLMs and
//     Aggregate.StateTTLMs of the SELECT they are written in.
//   - Scans and sinks carry the table's PRIMARY KEY (TableRef.PrimaryKey).
//   - UNION ALL is logical.Union, every input cast to the common types;
//     UNION and SELECT DISTINCT are an Aggregate grouped on every column.
//   - Aggregates: COUNT, SUM, AVG, MIN, MAX (with DISTINCT), FIRST_VALUE,
//     LAST_VALUE, APPROX_COUNT_DISTINCT and udf.Aggregate functions, each
//     with an optional FILTER (WHERE ...) whose condition is a BOOLEAN
//     column of the Aggregate's input.
//   - EXPLAIN statements plan their statement into Script.Explains instead
//     of Script.Sinks.
package analyze
