package logical

import (
	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Pos is a position in the user's SQL text (1-based line and column), kept
// on nodes so the planner can point at the SQL an error is about.
type Pos struct {
	Line, Col int
}

// Node is one relational operator.
type Node interface {
	// Schema is the node's output: column names and types.
	Schema() types.Schema
	// Inputs are the node's children, in order.
	Inputs() []Node
	// Position is where the node's SQL begins.
	Position() Pos
}

// Scan reads a catalog table. Its output is the table's physical schema;
// the rowtime column, if any, is marked RowTime.
type Scan struct {
	At    Pos
	Table jobgraph.TableRef
	// Watermark is the table's WATERMARK FOR clause, or nil.
	Watermark *jobgraph.WatermarkSpec
	// DeadLetter is the table bad records go to, or nil
	// (jobgraph.SourceSpec.DeadLetter).
	DeadLetter *jobgraph.TableRef
}

// Filter keeps the rows for which Cond is TRUE (not FALSE, not NULL).
type Filter struct {
	At    Pos
	Input Node
	Cond  *expr.Expr
}

// Project computes one output column per expression.
type Project struct {
	At    Pos
	Input Node
	Exprs []*expr.Expr
	Names []string
}

// WindowTVF is a window table-valued function (TUMBLE, HOP, CUMULATE,
// SESSION) applied to its input. Its output is the input's columns followed
// by window_start, window_end and window_time (TIMESTAMP(3) NOT NULL;
// window_time, which is window_end - 1 ms, is the rowtime attribute; the
// input's time column becomes a plain timestamp).
type WindowTVF struct {
	At     Pos
	Input  Node
	Window jobgraph.WindowSpec
	// PartitionBy holds SESSION's PARTITION BY columns (input indices).
	PartitionBy []int
}

// Aggregate groups its input by GroupKeys and computes Aggs per group. Its
// output is the group key columns, in order, then one column per aggregate.
type Aggregate struct {
	At        Pos
	Input     Node
	GroupKeys []int
	Aggs      []jobgraph.AggCall
	// StateTTLMs is the state TTL a STATE_TTL hint gave this aggregate
	// (0: the job's 'table.exec.state.ttl').
	StateTTLMs int64
}

// RankFunc is a ranking window function.
type RankFunc string

// The ranking functions.
const (
	RowNumber RankFunc = "ROW_NUMBER"
	Rank      RankFunc = "RANK"
	DenseRank RankFunc = "DENSE_RANK"
)

// Over is a ranking function over a window of rows:
// Func() OVER (PARTITION BY PartitionBy ORDER BY OrderBy). Its output is the
// input's columns followed by the rank, named Name (BIGINT NOT NULL).
type Over struct {
	At          Pos
	Input       Node
	Func        RankFunc
	PartitionBy []int
	OrderBy     []jobgraph.SortKey
	Name        string
}

// Sink writes its input into a table. The input schema matches the table's
// physical schema column for column (the analyzer adds the casts).
type Sink struct {
	At    Pos
	Input Node
	Table jobgraph.TableRef
}

// Schema implements Node.
func (n *Scan) Schema() types.Schema {
	s := types.Schema{Fields: append([]types.Field(nil), n.Table.Schema.Fields...)}
	if n.Watermark != nil {
		s.Fields[n.Watermark.Column].Type.RowTime = true
	}
	return s
}

// Schema implements Node.
func (n *Filter) Schema() types.Schema { return n.Input.Schema() }

// Schema implements Node.
func (n *Project) Schema() types.Schema {
	fs := make([]types.Field, len(n.Exprs))
	for i, e := range n.Exprs {
		fs[i] = types.Field{Name: n.Names[i], Type: e.Type}
	}
	return types.Schema{Fields: fs}
}

// WindowColumns are the names of the columns a window TVF adds.
var WindowColumns = [3]string{"window_start", "window_end", "window_time"}

// Schema implements Node.
func (n *WindowTVF) Schema() types.Schema {
	in := n.Input.Schema()
	fs := append([]types.Field(nil), in.Fields...)
	for i := range fs {
		// As in Flink, the input's time attribute becomes a regular
		// timestamp: window_time is the output's time attribute.
		fs[i].Type = fs[i].Type.Plain()
	}
	ts := types.TimestampType
	ts.NotNull = true
	rowtime := ts
	rowtime.RowTime = true
	fs = append(fs,
		types.Field{Name: WindowColumns[0], Type: ts},
		types.Field{Name: WindowColumns[1], Type: ts},
		types.Field{Name: WindowColumns[2], Type: rowtime})
	return types.Schema{Fields: fs}
}

// Schema implements Node. Grouping on a rowtime column does not keep it a
// time attribute (Flink's rule), except that the planner re-marks window
// columns when it recognizes a window aggregate.
func (n *Aggregate) Schema() types.Schema {
	in := n.Input.Schema()
	fs := make([]types.Field, 0, len(n.GroupKeys)+len(n.Aggs))
	for _, k := range n.GroupKeys {
		f := in.Fields[k]
		f.Type = f.Type.Plain()
		fs = append(fs, f)
	}
	for _, a := range n.Aggs {
		fs = append(fs, types.Field{Name: a.Name, Type: a.Type})
	}
	return types.Schema{Fields: fs}
}

// Schema implements Node.
func (n *Over) Schema() types.Schema {
	in := n.Input.Schema()
	fs := append([]types.Field(nil), in.Fields...)
	t := types.BigIntType
	t.NotNull = true
	fs = append(fs, types.Field{Name: n.Name, Type: t})
	return types.Schema{Fields: fs}
}

// Schema implements Node: a sink has no output.
func (n *Sink) Schema() types.Schema { return types.Schema{} }

// Inputs implements Node.
func (n *Scan) Inputs() []Node { return nil }

// Inputs implements Node.
func (n *Filter) Inputs() []Node { return []Node{n.Input} }

// Inputs implements Node.
func (n *Project) Inputs() []Node { return []Node{n.Input} }

// Inputs implements Node.
func (n *WindowTVF) Inputs() []Node { return []Node{n.Input} }

// Inputs implements Node.
func (n *Aggregate) Inputs() []Node { return []Node{n.Input} }

// Inputs implements Node.
func (n *Over) Inputs() []Node { return []Node{n.Input} }

// Inputs implements Node.
func (n *Sink) Inputs() []Node { return []Node{n.Input} }

// Position implements Node.
func (n *Scan) Position() Pos { return n.At }

// Position implements Node.
func (n *Filter) Position() Pos { return n.At }

// Position implements Node.
func (n *Project) Position() Pos { return n.At }

// Position implements Node.
func (n *WindowTVF) Position() Pos { return n.At }

// Position implements Node.
func (n *Aggregate) Position() Pos { return n.At }

// Position implements Node.
func (n *Over) Position() Pos { return n.At }

// Position implements Node.
func (n *Sink) Position() Pos { return n.At }

var (
	_ Node = (*Scan)(nil)
	_ Node = (*Filter)(nil)
	_ Node = (*Project)(nil)
	_ Node = (*WindowTVF)(nil)
	_ Node = (*Aggregate)(nil)
	_ Node = (*Over)(nil)
	_ Node = (*Sink)(nil)
)

// Script is what the analyzer makes of a whole SQL script: the sinks its
// INSERT statements (and bare queries) feed, which run together as one job,
// and the job options its SET statements gave.
type Script struct {
	Sinks []*Sink
	// Config holds SET 'key' = 'value' options, keys as written.
	Config map[string]string
	// Explains are the script's EXPLAIN statements, in order: their plans
	// are shown, and their statements are not run.
	Explains []*Explain
}

// Explain is EXPLAIN [detail, ...] statement. Sinks is the statement's plan
// (a query explains as a print sink); Details are Flink's EXPLAIN details as
// written (CHANGELOG_MODE, ESTIMATED_COST, JSON_EXECUTION_PLAN, ...).
type Explain struct {
	At      Pos
	Sinks   []*Sink
	Details []string
}

// Union is UNION ALL: the rows of every input. The inputs have the same
// column types (the analyzer casts them to common types); the names are
// the first input's.
type Union struct {
	At          Pos
	InputsNodes []Node
}

// Join joins two inputs. Cond is the ON condition over the left columns
// followed by the right columns (nil for a cross join). The output is the
// left columns then the right columns, the side an outer join may miss made
// nullable; SEMI and ANTI joins output the left columns only.
type Join struct {
	At          Pos
	Left, Right Node
	Type        jobgraph.JoinType
	Cond        *expr.Expr
	// AsOf, when set, makes this a temporal join: the right side is a
	// table read FOR SYSTEM_TIME AS OF this column of the left side (a
	// processing-time attribute: a lookup join; an event-time attribute: a
	// join against the versioned table's history).
	AsOf *expr.Expr
	// StateTTLMs are the state TTLs STATE_TTL hints gave the left and
	// right sides (0: the job's 'table.exec.state.ttl').
	LeftTTLMs, RightTTLMs int64
}

// Correlate applies the user-defined table function Function to every row
// of its input (LATERAL TABLE(f(args))). Args are over the input's columns;
// Columns are the function's output columns. The output is the input's
// columns then Columns. With Left, a row the function returns nothing for
// is kept once with NULLs (LEFT JOIN LATERAL ... ON TRUE).
type Correlate struct {
	At       Pos
	Input    Node
	Function string
	Args     []*expr.Expr
	Columns  []types.Field
	Left     bool
}

// WatermarkAssigner declares Column of its input the rowtime attribute, with
// watermarks of bounded out-of-orderness DelayMs: the WATERMARK FOR clause
// of a table whose time column is computed. Its output is its input, with
// Column marked RowTime.
type WatermarkAssigner struct {
	At      Pos
	Input   Node
	Column  int
	DelayMs int64
}

// Schema implements Node.
func (n *Union) Schema() types.Schema { return n.InputsNodes[0].Schema() }

// Schema implements Node.
func (n *Join) Schema() types.Schema {
	l := n.Left.Schema()
	if n.Type == jobgraph.SemiJoin || n.Type == jobgraph.AntiJoin {
		return l
	}
	r := n.Right.Schema()
	fs := make([]types.Field, 0, len(l.Fields)+len(r.Fields))
	for _, f := range l.Fields {
		if n.Type == jobgraph.RightJoin || n.Type == jobgraph.FullJoin {
			f.Type = f.Type.Nullable()
		}
		fs = append(fs, f)
	}
	for _, f := range r.Fields {
		if n.Type == jobgraph.LeftJoin || n.Type == jobgraph.FullJoin {
			f.Type = f.Type.Nullable()
		}
		fs = append(fs, f)
	}
	return types.Schema{Fields: fs}
}

// Schema implements Node.
func (n *Correlate) Schema() types.Schema {
	fs := append([]types.Field(nil), n.Input.Schema().Fields...)
	for _, f := range n.Columns {
		if n.Left {
			f.Type = f.Type.Nullable()
		}
		fs = append(fs, f)
	}
	return types.Schema{Fields: fs}
}

// Schema implements Node.
func (n *WatermarkAssigner) Schema() types.Schema {
	s := n.Input.Schema()
	fs := append([]types.Field(nil), s.Fields...)
	fs[n.Column].Type.RowTime = true
	return types.Schema{Fields: fs}
}

// Inputs implements Node.
func (n *Union) Inputs() []Node { return n.InputsNodes }

// Inputs implements Node.
func (n *Join) Inputs() []Node { return []Node{n.Left, n.Right} }

// Inputs implements Node.
func (n *Correlate) Inputs() []Node { return []Node{n.Input} }

// Inputs implements Node.
func (n *WatermarkAssigner) Inputs() []Node { return []Node{n.Input} }

// Position implements Node.
func (n *Union) Position() Pos { return n.At }

// Position implements Node.
func (n *Join) Position() Pos { return n.At }

// Position implements Node.
func (n *Correlate) Position() Pos { return n.At }

// Position implements Node.
func (n *WatermarkAssigner) Position() Pos { return n.At }

var (
	_ Node = (*Union)(nil)
	_ Node = (*Join)(nil)
	_ Node = (*Correlate)(nil)
	_ Node = (*WatermarkAssigner)(nil)
)
