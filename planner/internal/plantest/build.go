package plantest

import (
	"fmt"
	"strconv"
	"time"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// B builds logical nodes, giving each the next source line as its position
// (line 1, 2, ...), so tests can tell which node an error points at.
type B struct {
	line int
}

// New returns a builder whose first node is at line 1.
func New() *B { return &B{} }

func (b *B) pos() logical.Pos {
	b.line++
	return logical.Pos{Line: b.line, Col: 1}
}

// Table returns a table reference with the given columns ("name TYPE"
// pairs given as fields).
func Table(name, connector string, fields ...types.Field) jobgraph.TableRef {
	return jobgraph.TableRef{
		Table:     name,
		Connector: connector,
		Options:   map[string]string{"connector": connector},
		Schema:    types.Schema{Fields: fields},
	}
}

// F is a field.
func F(name string, t types.Type) types.Field { return types.Field{Name: name, Type: t} }

// Gifts is the live-room gifts table.
var Gifts = Table("gifts", "datagen",
	F("room_id", types.BigIntType),
	F("user_id", types.BigIntType),
	F("gift_id", types.IntType),
	F("quantity", types.IntType),
	F("amount", types.BigIntType),
	F("ts", types.TimestampType),
)

// GiftsWatermark is WATERMARK FOR ts AS ts - INTERVAL '5' SECOND on Gifts.
func GiftsWatermark() *jobgraph.WatermarkSpec {
	return &jobgraph.WatermarkSpec{Column: 5, DelayMs: 5000}
}

// Scan reads t.
func (b *B) Scan(t jobgraph.TableRef, wm *jobgraph.WatermarkSpec) *logical.Scan {
	return &logical.Scan{At: b.pos(), Table: t, Watermark: wm}
}

// Col references the column called name of n's output.
func Col(n logical.Node, name string) *expr.Expr {
	s := n.Schema()
	i := s.Index(name)
	if i < 0 {
		panic(fmt.Sprintf("plantest: no column %q in %s", name, s))
	}
	return expr.Col(i, s.Fields[i].Type)
}

// Idx returns the index of the column called name of n's output.
func Idx(n logical.Node, name string) int {
	i := n.Schema().Index(name)
	if i < 0 {
		panic(fmt.Sprintf("plantest: no column %q in %s", name, n.Schema()))
	}
	return i
}

// Int is an INT literal.
func Int(v int) *expr.Expr { return expr.Lit(strconv.Itoa(v), notNull(types.IntType)) }

// BigInt is a BIGINT literal.
func BigInt(v int64) *expr.Expr {
	return expr.Lit(strconv.FormatInt(v, 10), notNull(types.BigIntType))
}

// Str is a STRING literal.
func Str(v string) *expr.Expr { return expr.Lit(v, notNull(types.StringType)) }

// Interval is an INTERVAL literal.
func Interval(d time.Duration) *expr.Expr {
	return expr.Lit(strconv.FormatInt(d.Milliseconds(), 10), notNull(types.IntervalType))
}

func notNull(t types.Type) types.Type { t.NotNull = true; return t }

// Bool is a boolean-valued call of fn (eq, lt, and, not, ...).
func Bool(fn string, args ...*expr.Expr) *expr.Expr {
	t := types.BooleanType
	t.NotNull = true
	for _, a := range args {
		t.NotNull = t.NotNull && a.Type.NotNull
	}
	return expr.Call(fn, t, args...)
}

// Arith is an arithmetic call whose type is that of its first argument,
// nullable when any argument is.
func Arith(fn string, args ...*expr.Expr) *expr.Expr {
	t := args[0].Type.Plain()
	for _, a := range args {
		t.NotNull = t.NotNull && a.Type.NotNull
	}
	return expr.Call(fn, t, args...)
}

// Cast converts e to t.
func Cast(e *expr.Expr, t types.Type) *expr.Expr {
	t.NotNull = e.Type.NotNull
	return expr.Call(expr.FuncCast, t, e)
}

// CaseWhen is CASE WHEN cond THEN a ELSE b END.
func CaseWhen(cond, a, b *expr.Expr) *expr.Expr {
	t := a.Type.Plain()
	t.NotNull = a.Type.NotNull && b.Type.NotNull
	return expr.Call(expr.FuncCase, t, cond, a, b)
}

// Filter keeps rows where cond holds.
func (b *B) Filter(in logical.Node, cond *expr.Expr) *logical.Filter {
	return &logical.Filter{At: b.pos(), Input: in, Cond: cond}
}

// Project computes columns from name/expression pairs; a string alone
// (followed by another string or nothing) selects that input column.
func (b *B) Project(in logical.Node, items ...any) *logical.Project {
	p := &logical.Project{At: b.pos(), Input: in}
	for i := 0; i < len(items); i++ {
		name, ok := items[i].(string)
		if !ok {
			panic(fmt.Sprintf("plantest: Project item %d is %T, want a name", i, items[i]))
		}
		if i+1 < len(items) {
			if e, ok := items[i+1].(*expr.Expr); ok {
				p.Exprs = append(p.Exprs, e)
				p.Names = append(p.Names, name)
				i++
				continue
			}
		}
		p.Exprs = append(p.Exprs, Col(in, name))
		p.Names = append(p.Names, name)
	}
	return p
}

// Star is SELECT * over in: an identity projection.
func (b *B) Star(in logical.Node) *logical.Project {
	var items []any
	for _, f := range in.Schema().Fields {
		items = append(items, f.Name)
	}
	return b.Project(in, items...)
}

// Window applies a window TVF of kind over in's time column.
func (b *B) Window(in logical.Node, kind jobgraph.WindowKind, timeCol string, size, slide, offset time.Duration) *logical.WindowTVF {
	return &logical.WindowTVF{At: b.pos(), Input: in, Window: jobgraph.WindowSpec{
		Kind: kind, TimeColumn: Idx(in, timeCol), SizeMs: size.Milliseconds(),
		SlideMs: slide.Milliseconds(), OffsetMs: offset.Milliseconds(),
	}}
}

// Tumble is TUMBLE(TABLE in, DESCRIPTOR(timeCol), size).
func (b *B) Tumble(in logical.Node, timeCol string, size time.Duration) *logical.WindowTVF {
	return b.Window(in, jobgraph.Tumble, timeCol, size, 0, 0)
}

// Hop is HOP(TABLE in, DESCRIPTOR(timeCol), slide, size).
func (b *B) Hop(in logical.Node, timeCol string, slide, size time.Duration) *logical.WindowTVF {
	return b.Window(in, jobgraph.Hop, timeCol, size, slide, 0)
}

// Cumulate is CUMULATE(TABLE in, DESCRIPTOR(timeCol), step, maxSize).
func (b *B) Cumulate(in logical.Node, timeCol string, step, maxSize time.Duration) *logical.WindowTVF {
	return b.Window(in, jobgraph.Cumulate, timeCol, maxSize, step, 0)
}

// Session is SESSION(TABLE in PARTITION BY partition, DESCRIPTOR(timeCol), gap).
func (b *B) Session(in logical.Node, timeCol string, gap time.Duration, partition ...string) *logical.WindowTVF {
	w := b.Window(in, jobgraph.Session, timeCol, gap, 0, 0)
	for _, p := range partition {
		w.PartitionBy = append(w.PartitionBy, Idx(in, p))
	}
	return w
}

// Union is UNION ALL of ins.
func (b *B) Union(ins ...logical.Node) *logical.Union {
	return &logical.Union{At: b.pos(), InputsNodes: ins}
}

// Join joins l and r on cond, over l's columns then r's (see JCol).
func (b *B) Join(l, r logical.Node, t jobgraph.JoinType, cond *expr.Expr) *logical.Join {
	return &logical.Join{At: b.pos(), Left: l, Right: r, Type: t, Cond: cond}
}

// JCol references column name of a join's left input (side "L") or right
// input (side "R"), in the join condition's numbering.
func JCol(l, r logical.Node, side, name string) *expr.Expr {
	if side == "L" {
		return Col(l, name)
	}
	c := Col(r, name)
	return expr.Col(l.Schema().Len()+c.Column, c.Type)
}

// WindowJoinCond is L.window_start = R.window_start AND L.window_end =
// R.window_end AND the given terms.
func WindowJoinCond(l, r logical.Node, terms ...*expr.Expr) *expr.Expr {
	c := Bool(expr.FuncAnd,
		Bool(expr.FuncEq, JCol(l, r, "L", "window_start"), JCol(l, r, "R", "window_start")),
		Bool(expr.FuncEq, JCol(l, r, "L", "window_end"), JCol(l, r, "R", "window_end")))
	for _, t := range terms {
		c = Bool(expr.FuncAnd, c, t)
	}
	return c
}

// Correlate is in, LATERAL TABLE(fn(args)) with the function's columns.
func (b *B) Correlate(in logical.Node, fn string, args []*expr.Expr, cols []types.Field, left bool) *logical.Correlate {
	return &logical.Correlate{At: b.pos(), Input: in, Function: fn, Args: args, Columns: cols, Left: left}
}

// WatermarkAssigner declares column col of in the rowtime attribute, with
// watermarks delay behind the largest time seen.
func (b *B) WatermarkAssigner(in logical.Node, col string, delay time.Duration) *logical.WatermarkAssigner {
	return &logical.WatermarkAssigner{At: b.pos(), Input: in, Column: Idx(in, col), DelayMs: delay.Milliseconds()}
}

// ProcTime is PROCTIME(): TIMESTAMP_LTZ(3) NOT NULL, a processing-time
// attribute.
func ProcTime() *expr.Expr {
	t := types.TimestampType
	t.NotNull, t.LocalZone, t.ProcTime = true, true, true
	return expr.Call(expr.FuncProcTime, t)
}

// A describes one aggregate call: Func over the column Arg ("" for
// COUNT(*)), named Name; Distinct and Filter (a BOOLEAN column's name, or
// "") as in COUNT(DISTINCT x) FILTER (WHERE f).
type A struct {
	Func     jobgraph.AggFunc
	Arg      string
	Name     string
	Distinct bool
	Filter   string
}

// Aggregate groups in by keys and computes aggs, with Flink's result types.
func (b *B) Aggregate(in logical.Node, keys []string, aggs ...A) *logical.Aggregate {
	a := &logical.Aggregate{At: b.pos(), Input: in}
	for _, k := range keys {
		a.GroupKeys = append(a.GroupKeys, Idx(in, k))
	}
	for _, c := range aggs {
		call := jobgraph.AggCall{Func: c.Func, Arg: -1, Name: c.Name, Distinct: c.Distinct}
		if c.Filter != "" {
			f := Idx(in, c.Filter)
			call.Filter = &f
		}
		if c.Func == jobgraph.CountStar || c.Func == jobgraph.Count || c.Func == jobgraph.ApproxCountDistinct {
			call.Type = notNull(types.BigIntType)
		}
		if c.Func != jobgraph.CountStar {
			call.Arg = Idx(in, c.Arg)
			if c.Func != jobgraph.Count && c.Func != jobgraph.ApproxCountDistinct {
				t := in.Schema().Fields[call.Arg].Type.Plain().Nullable()
				if t.Kind == types.Decimal && (c.Func == jobgraph.Sum || c.Func == jobgraph.Avg) {
					t = types.DecimalType(38, max(t.Scale, map[bool]int{true: 6, false: 0}[c.Func == jobgraph.Avg]))
				}
				call.Type = t
			}
		}
		a.Aggs = append(a.Aggs, call)
	}
	return a
}

// S is one ORDER BY key of an OVER clause.
type S struct {
	Col  string
	Desc bool
}

// Over is ROW_NUMBER() OVER (PARTITION BY partition ORDER BY order) AS name.
func (b *B) Over(in logical.Node, fn logical.RankFunc, partition []string, order []S, name string) *logical.Over {
	o := &logical.Over{At: b.pos(), Input: in, Func: fn, Name: name}
	for _, p := range partition {
		o.PartitionBy = append(o.PartitionBy, Idx(in, p))
	}
	for _, s := range order {
		o.OrderBy = append(o.OrderBy, jobgraph.SortKey{Column: Idx(in, s.Col), Desc: s.Desc, NullsFirst: !s.Desc})
	}
	return o
}

// Sink writes in into t.
func (b *B) Sink(in logical.Node, t jobgraph.TableRef) *logical.Sink {
	return &logical.Sink{At: b.pos(), Input: in, Table: t}
}

// SinkTable returns a table with in's columns, as a CREATE TABLE for the
// query's result would declare them.
func SinkTable(name, connector string, in logical.Node) jobgraph.TableRef {
	var fs []types.Field
	for _, f := range in.Schema().Fields {
		fs = append(fs, F(f.Name, f.Type.Plain().Nullable()))
	}
	return Table(name, connector, fs...)
}
