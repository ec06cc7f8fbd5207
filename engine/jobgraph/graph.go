package jobgraph

import (
	"encoding/json"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
)

// DefaultMaxParallelism is the number of key groups when a job sets none.
const DefaultMaxParallelism = 128

// Graph is a whole job.
type Graph struct {
	Name string `json:"name"`
	// MaxParallelism is the number of key groups keyed state is split into.
	MaxParallelism int               `json:"max_parallelism"`
	Vertices       []*Vertex         `json:"vertices"`
	Edges          []*Edge           `json:"edges"`
	Config         map[string]string `json:"config,omitempty"`
}

// Vertex is a chain of operators that run in one subtask, connected by
// forward edges inside the chain. Ops[0] reads the vertex's inputs (or is a
// source); each later op consumes the output of the one before it.
type Vertex struct {
	// ID is stable across runs of the same SQL: it comes from the plan, not
	// from creation order, so restored state finds its operator.
	ID          string          `json:"id"`
	Parallelism int             `json:"parallelism"`
	Ops         []*OperatorSpec `json:"ops"`
}

// ExchangeKind is how rows move from one vertex's subtasks to the next's.
type ExchangeKind string

// The exchange kinds.
const (
	// Forward sends subtask i's output to subtask i (equal parallelism).
	Forward ExchangeKind = "forward"
	// Hash sends each row to the subtask owning the key group of its Keys.
	Hash ExchangeKind = "hash"
	// Rebalance spreads batches round-robin.
	Rebalance ExchangeKind = "rebalance"
	// Broadcast sends every row to every subtask.
	Broadcast ExchangeKind = "broadcast"
	// Single sends everything to subtask 0 of a parallelism-1 vertex.
	Single ExchangeKind = "single"
)

// Edge connects the output of vertex From to input Input of vertex To.
type Edge struct {
	From     string       `json:"from"`
	To       string       `json:"to"`
	Input    int          `json:"input"`
	Exchange ExchangeKind `json:"exchange"`
	// Keys are column indices, in From's output schema, that Hash partitions on.
	Keys []int `json:"keys,omitempty"`
}

// OperatorSpec describes one operator. Exactly one of the spec pointers is set.
type OperatorSpec struct {
	// ID is the stable operator identity (see Vertex.ID).
	ID string `json:"id"`
	// Name is a short human-readable description, for EXPLAIN and metrics.
	Name string `json:"name"`
	// Output is the schema of the rows the operator emits.
	Output types.Schema `json:"output"`

	Source     *SourceSpec     `json:"source,omitempty"`
	Calc       *CalcSpec       `json:"calc,omitempty"`
	WindowAgg  *WindowAggSpec  `json:"window_agg,omitempty"`
	WindowTopN *WindowTopNSpec `json:"window_topn,omitempty"`
	Sink       *SinkSpec       `json:"sink,omitempty"`

	// WatermarkAssigner generates watermarks from a (computed) column in
	// the middle of a chain; the runtime drives it, like sources and sinks.
	WatermarkAssigner *WatermarkSpec `json:"watermark_assigner,omitempty"`
	// Union passes the rows of all its inputs through unchanged.
	Union *UnionSpec `json:"union,omitempty"`
	// WindowAssign is a window TVF whose rows are not absorbed by an
	// aggregate: HOP and CUMULATE copy each row into every window it falls
	// in; SESSION holds rows until their session closes.
	WindowAssign *WindowAssignSpec `json:"window_assign,omitempty"`
	// WindowJoin joins two windowed inputs on the same window plus keys.
	WindowJoin *WindowJoinSpec `json:"window_join,omitempty"`
	// Correlate applies a table function to every row (LATERAL TABLE).
	Correlate *CorrelateSpec `json:"correlate,omitempty"`

	// The updating operators.
	GroupAgg     *GroupAggSpec     `json:"group_agg,omitempty"`
	Rank         *RankSpec         `json:"rank,omitempty"`
	Dedup        *DedupSpec        `json:"dedup,omitempty"`
	Join         *JoinSpec         `json:"join,omitempty"`
	IntervalJoin *IntervalJoinSpec `json:"interval_join,omitempty"`
	LookupJoin   *LookupJoinSpec   `json:"lookup_join,omitempty"`
	TemporalJoin *TemporalJoinSpec `json:"temporal_join,omitempty"`

	// Changelog is the changelog mode of the operator's output (empty:
	// append-only), and UniqueKey the output columns an upsert stream is
	// keyed by.
	Changelog ChangelogMode `json:"changelog,omitempty"`
	UniqueKey []int         `json:"unique_key,omitempty"`
}

// kinds pairs every spec field with its kind name, in one place, so that
// Kind and Validate cannot disagree.
func (o *OperatorSpec) kinds() [17]struct {
	name string
	set  bool
} {
	type k = struct {
		name string
		set  bool
	}
	return [17]k{
		{"source", o.Source != nil}, {"calc", o.Calc != nil}, {"window_agg", o.WindowAgg != nil},
		{"window_topn", o.WindowTopN != nil}, {"sink", o.Sink != nil},
		{"watermark_assigner", o.WatermarkAssigner != nil}, {"union", o.Union != nil},
		{"window_assign", o.WindowAssign != nil}, {"window_join", o.WindowJoin != nil},
		{"correlate", o.Correlate != nil}, {"group_agg", o.GroupAgg != nil}, {"rank", o.Rank != nil},
		{"dedup", o.Dedup != nil}, {"join", o.Join != nil}, {"interval_join", o.IntervalJoin != nil},
		{"lookup_join", o.LookupJoin != nil}, {"temporal_join", o.TemporalJoin != nil},
	}
}

// Kind returns the name of the spec that is set, e.g. "window_agg".
func (o *OperatorSpec) Kind() string {
	for _, k := range o.kinds() {
		if k.set {
			return k.name
		}
	}
	return "unknown"
}

// TableRef names a catalog table and the connector that serves it.
type TableRef struct {
	Table     string            `json:"table"`
	Connector string            `json:"connector"`
	Options   map[string]string `json:"options"`
	// Schema is the table's physical schema: what the connector reads or writes.
	Schema types.Schema `json:"schema"`
	// PrimaryKey lists the columns of PRIMARY KEY (...) NOT ENFORCED, or
	// none.
	PrimaryKey []int `json:"primary_key,omitempty"`
	// PartitionKeys lists the columns of PARTITIONED BY (...), or none
	// (connectors.TableInfo.PartitionKeys).
	PartitionKeys []int `json:"partition_keys,omitempty"`
}

// SourceSpec reads a table. Its output is the table's physical schema.
type SourceSpec struct {
	TableRef
	// Projection, when set, lists the columns of TableRef.Schema the job
	// reads, in table order; the source then emits only those (its Output).
	// The planner sets it only for connectors that implement
	// connectors.ProjectableSource. Watermark.Column then indexes the
	// projected columns (Output), which the watermarks are read from.
	Projection []int `json:"projection,omitempty"`
	// Watermark, when set, makes the source emit event-time watermarks.
	Watermark *WatermarkSpec `json:"watermark,omitempty"`
	// DeadLetter is the table the source writes the records it cannot
	// parse to ('bad-records.policy' = 'dead-letter'): a sink table of
	// some of the STRING columns connectors.DeadLetterColumns.
	DeadLetter *TableRef `json:"dead_letter,omitempty"`
}

// WatermarkSpec is WATERMARK FOR col AS col - INTERVAL 'd': bounded
// out-of-orderness. Each source subtask emits W = max(event time seen) -
// Delay - 1 ms, as Flink does; a watermark W promises that no later row has
// an event time <= W, so a window [start, end) fires once W >= end - 1.
type WatermarkSpec struct {
	// Column is the index of the TIMESTAMP(3) rowtime column.
	Column int `json:"column"`
	// DelayMs is the allowed out-of-orderness in milliseconds.
	DelayMs int64 `json:"delay_ms"`
}

// CalcSpec filters rows then projects them. A nil Filter keeps every row.
// Output column i is Projections[i].
type CalcSpec struct {
	Filter      *expr.Expr   `json:"filter,omitempty"`
	Projections []*expr.Expr `json:"projections"`
}

// WindowKind is the window TVF.
type WindowKind string

// The window kinds.
const (
	Tumble   WindowKind = "tumble"
	Hop      WindowKind = "hop"
	Cumulate WindowKind = "cumulate"
	Session  WindowKind = "session"
)

// WindowSpec assigns rows to event-time windows [start, end).
type WindowSpec struct {
	Kind WindowKind `json:"kind"`
	// TimeColumn is the input column holding the rowtime.
	TimeColumn int `json:"time_column"`
	// SizeMs is the window size (TUMBLE, HOP), max size (CUMULATE) or gap (SESSION).
	SizeMs int64 `json:"size_ms"`
	// SlideMs is HOP's slide or CUMULATE's step; 0 otherwise.
	SlideMs int64 `json:"slide_ms,omitempty"`
	// OffsetMs shifts window boundaries (TUMBLE and HOP's optional offset).
	OffsetMs int64 `json:"offset_ms,omitempty"`
	// PartitionBy are SESSION's PARTITION BY columns: sessions are tracked
	// per distinct value of these columns (none: one global session stream).
	PartitionBy []int `json:"partition_by,omitempty"`
	// ProcTime makes this a processing-time window: rows are assigned to
	// windows by the wall clock when they reach the operator (TimeColumn is
	// the PROCTIME() column and is not read), and windows fire when the wall
	// clock passes their end (operator.ProcessingTimeHandler), or at end of
	// input. Watermarks are ignored and no row is ever late.
	ProcTime bool `json:"proc_time,omitempty"`
}

// AggFunc is an aggregate function.
type AggFunc string

// The aggregate functions.
const (
	CountStar AggFunc = "count_star" // COUNT(*)
	Count     AggFunc = "count"      // COUNT(col): non-NULL values
	Sum       AggFunc = "sum"
	Min       AggFunc = "min"
	Max       AggFunc = "max"
	Avg       AggFunc = "avg"
	// FirstValue and LastValue are the first and last non-NULL values of
	// the group in the order rows reach the operator (Flink's semantics).
	FirstValue AggFunc = "first_value"
	LastValue  AggFunc = "last_value"
	// ApproxCountDistinct estimates COUNT(DISTINCT arg) with HyperLogLog;
	// its result is BIGINT NOT NULL.
	ApproxCountDistinct AggFunc = "approx_count_distinct"
	// UDAF is a user-defined aggregate function, named by AggCall.UDF.
	UDAF AggFunc = "udaf"
)

// AggCall is one aggregate. Arg is the input column (-1 for COUNT(*)).
// Type is the result type, as Flink derives it: COUNT is BIGINT NOT NULL;
// SUM keeps the input type (INT stays INT and wraps on overflow, as in
// Flink), except DECIMAL(p,s) sums to DECIMAL(38,s); MIN/MAX keep the input
// type; AVG keeps the input type for INT, BIGINT and DOUBLE (integer AVG is
// the sum divided by the count, truncated) and gives DECIMAL(38, max(6,s))
// for DECIMAL(p,s), rounded half up. SUM/MIN/MAX/AVG of no non-NULL value is
// NULL. The engine computes whatever Type says.
type AggCall struct {
	Func AggFunc    `json:"func"`
	Arg  int        `json:"arg"`
	Type types.Type `json:"type"`
	Name string     `json:"name"`
	// Args lists every argument column of a call with several (a UDAF);
	// Arg is Args[0] then. Empty for the built-in single-argument calls.
	Args []int `json:"args,omitempty"`
	// Distinct applies the aggregate to the distinct non-NULL values of
	// its argument in the group (COUNT(DISTINCT x), SUM(DISTINCT x), ...).
	Distinct bool `json:"distinct,omitempty"`
	// Filter, when set, is the index of a BOOLEAN input column: only rows
	// where it is TRUE reach this aggregate (FILTER (WHERE ...)).
	Filter *int `json:"filter,omitempty"`
	// UDF names the user-defined aggregate function when Func is UDAF.
	UDF string `json:"udf,omitempty"`
}

// WindowAggSpec is a window aggregation (GROUP BY window_start, window_end, keys).
// A window fires once, when the watermark reaches its end - 1; rows whose
// every window has already fired are late: dropped and counted.
// Output columns: GroupKeys (in order), then window_start, window_end
// (TIMESTAMP(3)), then one column per Aggs entry.
type WindowAggSpec struct {
	Window    WindowSpec `json:"window"`
	GroupKeys []int      `json:"group_keys"`
	Aggs      []AggCall  `json:"aggs"`
}

// SortKey orders rows by a column.
type SortKey struct {
	Column     int  `json:"column"`
	Desc       bool `json:"desc,omitempty"`
	NullsFirst bool `json:"nulls_first,omitempty"`
}

// WindowTopNSpec keeps the first N rows by OrderBy of every partition of a
// window (ROW_NUMBER() OVER (PARTITION BY window_start, window_end, keys
// ORDER BY ...) <= N). Input rows carry window columns WindowStart and
// WindowEnd; a window's partitions are ranked and emitted when the watermark
// reaches WindowEnd - 1. Output: the input columns, then the row number
// (BIGINT NOT NULL) if EmitRank is set. Ties are broken by arrival order:
// the first row wins, or the last with LastOnTies.
type WindowTopNSpec struct {
	WindowStart   int       `json:"window_start"`
	WindowEnd     int       `json:"window_end"`
	PartitionKeys []int     `json:"partition_keys"`
	OrderBy       []SortKey `json:"order_by"`
	N             int64     `json:"n"`
	EmitRank      bool      `json:"emit_rank"`
	// LastOnTies breaks ties in OrderBy in favour of the row that arrived
	// last instead of first: Flink's keep-last window deduplication (ORDER
	// BY the time attribute DESC, rn = 1) keeps the latest of equal times.
	LastOnTies bool `json:"last_on_ties,omitempty"`
}

// UnionSpec is UNION ALL: every input's rows pass through unchanged (all
// inputs have the operator's Output schema). Its inputs are the edges into
// its vertex, Input 0..Inputs-1.
type UnionSpec struct {
	Inputs int `json:"inputs"`
}

// WindowAssignSpec is a window TVF evaluated on its own: the output is the
// input's columns followed by window_start, window_end and window_time
// (TIMESTAMP(3) NOT NULL; window_time = window_end - 1 ms). HOP and
// CUMULATE emit one row per window a row falls in; SESSION (per
// Window.PartitionBy) holds rows until the watermark passes their session's
// end (last row + gap) and then emits them with the session's bounds. Rows
// whose time is NULL are dropped and counted; with SESSION, rows arriving
// after their session closed are late (dropped and counted).
type WindowAssignSpec struct {
	Window WindowSpec `json:"window"`
}

// JoinType is the kind of a join.
type JoinType string

// The join types.
const (
	InnerJoin JoinType = "inner"
	LeftJoin  JoinType = "left"
	RightJoin JoinType = "right"
	FullJoin  JoinType = "full"
	// SemiJoin keeps left rows with a match (IN / EXISTS); AntiJoin those
	// without one (NOT IN / NOT EXISTS). Their output is the left columns.
	SemiJoin JoinType = "semi"
	AntiJoin JoinType = "anti"
)

// WindowJoinSpec joins two windowed inputs (input 0 left, input 1 right) on
// equal window_start and window_end plus LeftKeys[i] = RightKeys[i] (SQL
// equality: NULL keys never match) and the optional Residual condition over
// the joined row. A window's rows are joined and emitted once, when the
// combined watermark reaches window_end - 1; rows of windows already joined
// are late (dropped and counted). Output: the left columns then the right
// columns (outer joins fill the missing side with NULLs), or the left
// columns alone for SEMI and ANTI.
type WindowJoinSpec struct {
	Type JoinType `json:"type"`
	// The window columns of each side.
	LeftWindowStart  int `json:"left_window_start"`
	LeftWindowEnd    int `json:"left_window_end"`
	RightWindowStart int `json:"right_window_start"`
	RightWindowEnd   int `json:"right_window_end"`
	// The equi-join keys, pairwise.
	LeftKeys  []int `json:"left_keys,omitempty"`
	RightKeys []int `json:"right_keys,omitempty"`
	// Residual is an extra join condition over the left columns followed by
	// the right columns, or nil.
	Residual *expr.Expr `json:"residual,omitempty"`
}

// CorrelateSpec applies the user-defined table function Function to every
// input row (FROM t, LATERAL TABLE(f(args))): each input row is joined with
// the rows the function returns for it. Output: the input columns then the
// function's columns. With Left (LEFT JOIN LATERAL ... ON TRUE) an input row
// for which the function returns nothing is kept once, with NULLs.
type CorrelateSpec struct {
	Function string       `json:"function"`
	Args     []*expr.Expr `json:"args"`
	Left     bool         `json:"left,omitempty"`
}

// SinkSpec writes rows into a table. Its input schema is the table's physical
// schema, in order.
type SinkSpec struct {
	TableRef
	// Changelog is the mode of the rows the sink receives: append-only,
	// retract, or upsert by the table's PrimaryKey.
	Changelog ChangelogMode `json:"changelog,omitempty"`
}

// Marshal renders g as indented JSON.
func (g *Graph) Marshal() ([]byte, error) { return json.MarshalIndent(g, "", "  ") }

// Unmarshal parses a graph written by Marshal and validates it.
func Unmarshal(data []byte) (*Graph, error) {
	var g Graph
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("jobgraph: decode: %w", err)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return &g, nil
}

// Vertex returns the vertex with the given id, or nil.
func (g *Graph) Vertex(id string) *Vertex {
	for _, v := range g.Vertices {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// Inputs returns the edges into vertex id, ordered by Input.
func (g *Graph) Inputs(id string) []*Edge {
	var in []*Edge
	for _, e := range g.Edges {
		if e.To == id {
			in = append(in, e)
		}
	}
	for i := 1; i < len(in); i++ {
		for j := i; j > 0 && in[j].Input < in[j-1].Input; j-- {
			in[j], in[j-1] = in[j-1], in[j]
		}
	}
	return in
}

// Outputs returns the edges out of vertex id.
func (g *Graph) Outputs(id string) []*Edge {
	var out []*Edge
	for _, e := range g.Edges {
		if e.From == id {
			out = append(out, e)
		}
	}
	return out
}

// Validate checks the graph's structure: unique ids, known edge endpoints,
// one spec per operator, forward edges between equal parallelism, and no
// cycles.
func (g *Graph) Validate() error {
	if len(g.Vertices) == 0 {
		return fmt.Errorf("jobgraph: graph %q has no vertices", g.Name)
	}
	seen := map[string]bool{}
	for _, v := range g.Vertices {
		if v.ID == "" || seen[v.ID] {
			return fmt.Errorf("jobgraph: vertex id %q is empty or repeated", v.ID)
		}
		seen[v.ID] = true
		if v.Parallelism < 1 {
			return fmt.Errorf("jobgraph: vertex %s: parallelism %d < 1", v.ID, v.Parallelism)
		}
		if len(v.Ops) == 0 {
			return fmt.Errorf("jobgraph: vertex %s has no operators", v.ID)
		}
		for i, op := range v.Ops {
			n := 0
			for _, k := range op.kinds() {
				if k.set {
					n++
				}
			}
			if n != 1 {
				return fmt.Errorf("jobgraph: vertex %s op %d (%s): want exactly one spec, have %d", v.ID, i, op.ID, n)
			}
			if op.Source != nil && i != 0 {
				return fmt.Errorf("jobgraph: vertex %s: source %s must be first in its chain", v.ID, op.ID)
			}
		}
	}
	for _, e := range g.Edges {
		from, to := g.Vertex(e.From), g.Vertex(e.To)
		if from == nil || to == nil {
			return fmt.Errorf("jobgraph: edge %s -> %s names an unknown vertex", e.From, e.To)
		}
		switch e.Exchange {
		case Forward:
			if from.Parallelism != to.Parallelism {
				return fmt.Errorf("jobgraph: forward edge %s -> %s joins parallelism %d to %d", e.From, e.To, from.Parallelism, to.Parallelism)
			}
		case Hash:
			if len(e.Keys) == 0 {
				return fmt.Errorf("jobgraph: hash edge %s -> %s has no keys", e.From, e.To)
			}
		case Rebalance, Broadcast, Single:
		default:
			return fmt.Errorf("jobgraph: edge %s -> %s: unknown exchange %q", e.From, e.To, e.Exchange)
		}
	}
	// Cycle check (Kahn).
	indeg := map[string]int{}
	for _, e := range g.Edges {
		indeg[e.To]++
	}
	var queue []string
	for _, v := range g.Vertices {
		if indeg[v.ID] == 0 {
			queue = append(queue, v.ID)
		}
	}
	visited := 0
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		visited++
		for _, e := range g.Outputs(id) {
			indeg[e.To]--
			if indeg[e.To] == 0 {
				queue = append(queue, e.To)
			}
		}
	}
	if visited != len(g.Vertices) {
		return fmt.Errorf("jobgraph: graph %q has a cycle", g.Name)
	}
	return nil
}
