package agg

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

// Calls is an operator's list of aggregate calls bound to its input schema:
// what an aggregating operator (window aggregate, session aggregate, group
// aggregate) needs to keep per-group state for all its calls at once. Each
// call reads its own argument column(s) and honours its FILTER clause, so
// the operator hands whole batches over.
//
// A Calls may be shared by the Groups of many windows or slices of one
// operator subtask; Groups.Update numbers rows in arrival order for
// FIRST_VALUE and LAST_VALUE through it (see Groups.Update).
type Calls struct {
	calls []jobgraph.AggCall
	in    []arrow.DataType // argument type of each call (nil for COUNT(*))
	funcs *udf.Registry

	// For user-defined aggregates: the function, its argument columns and
	// their types, by call.
	udafs    []udf.Aggregate
	args     [][]int
	argTypes [][]types.Type

	// ordered says a call is FIRST_VALUE or LAST_VALUE. The record last
	// numbered and the number of its row 0, so the rows of one record keep
	// their numbers over the windows or slices they are split into.
	ordered  bool
	mu       sync.Mutex
	lastRec  unsafe.Pointer
	lastBase uint64
}

// Bind checks every call against the input schema and returns them bound.
// funcs holds the job's user-defined aggregate functions (may be nil). A
// user-defined aggregate (Func UDAF) must name an aggregate function of
// funcs whose ResultType, for the argument columns' types, has the Arrow
// type of call.Type (the columns tell the values' types, not VARCHAR
// lengths, TIMESTAMP_LTZ or NOT NULL, so those are not compared).
func Bind(calls []jobgraph.AggCall, in *arrow.Schema, funcs *udf.Registry) (*Calls, error) {
	n := len(calls)
	c := &Calls{calls: calls, in: make([]arrow.DataType, n), funcs: funcs,
		udafs: make([]udf.Aggregate, n), args: make([][]int, n), argTypes: make([][]types.Type, n)}
	for i, call := range calls {
		col := func(what string, k int) error {
			if k < 0 || k >= in.NumFields() {
				return fmt.Errorf("aggregate %d (%s): %s column %d is out of range: input has %d columns", i, call.Name, what, k, in.NumFields())
			}
			return nil
		}
		if call.Type.Kind > types.Interval {
			return nil, fmt.Errorf("aggregate %d (%s): unknown result type (kind %d)", i, call.Name, call.Type.Kind)
		}
		if call.Arg >= 0 {
			if err := col("argument", call.Arg); err != nil {
				return nil, err
			}
			c.in[i] = in.Field(call.Arg).Type
		}
		if call.Filter != nil {
			if err := col("FILTER", *call.Filter); err != nil {
				return nil, err
			}
			if t := in.Field(*call.Filter).Type; t.ID() != arrow.BOOL {
				return nil, fmt.Errorf("aggregate %d (%s): FILTER column %d is %s, want BOOLEAN", i, call.Name, *call.Filter, t)
			}
		}
		switch {
		case call.Func == jobgraph.UDAF:
			args := call.Args
			if len(args) == 0 && call.Arg >= 0 {
				args = []int{call.Arg}
			}
			if len(call.Args) > 0 && call.Arg != call.Args[0] {
				return nil, fmt.Errorf("aggregate %d (%s): argument column %d is not the first of its argument columns %v", i, call.Name, call.Arg, call.Args)
			}
			ts := make([]types.Type, len(args))
			for k, a := range args {
				if err := col(fmt.Sprintf("argument %d", k+1), a); err != nil {
					return nil, err
				}
				t, err := logicalType(in.Field(a).Type)
				if err != nil {
					return nil, fmt.Errorf("aggregate %d (%s): argument %d: %w", i, call.Name, k+1, err)
				}
				ts[k] = t
			}
			fn, err := bindUDAF(call, funcs, ts)
			if err != nil {
				return nil, fmt.Errorf("aggregate %d (%s): %w", i, call.Name, err)
			}
			c.udafs[i], c.args[i], c.argTypes[i] = fn, args, ts
		case len(call.Args) > 1:
			return nil, fmt.Errorf("aggregate %d (%s): %s takes one argument, got columns %v", i, call.Name, call.Func, call.Args)
		case len(call.Args) == 1 && call.Args[0] != call.Arg:
			return nil, fmt.Errorf("aggregate %d (%s): argument column %d is not its argument columns %v", i, call.Name, call.Arg, call.Args)
		}
		if call.Func == jobgraph.FirstValue || call.Func == jobgraph.LastValue {
			c.ordered = true
		}
		if _, err := c.newAccumulator(i); err != nil {
			return nil, fmt.Errorf("aggregate %d (%s): %w", i, call.Name, err)
		}
	}
	return c, nil
}

// newAccumulator returns an empty accumulator for call i.
func (c *Calls) newAccumulator(i int) (Accumulator, error) {
	if fn := c.udafs[i]; fn != nil {
		return &udaf{name: c.calls[i].UDF, fn: fn, args: c.args[i], argTypes: c.argTypes[i]}, nil
	}
	return New(c.calls[i], c.in[i])
}

// Invertible reports whether every call can take rows back out of a group
// (Groups.Subtract): COUNT(*), COUNT, and SUM and AVG over INT, BIGINT and
// DECIMAL, none with DISTINCT. FILTER does not matter.
func (c *Calls) Invertible() bool {
	for i, call := range c.calls {
		if call.Distinct {
			return false
		}
		switch call.Func {
		case jobgraph.CountStar, jobgraph.Count:
		case jobgraph.Sum, jobgraph.Avg:
			if c.in[i].ID() == arrow.FLOAT64 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// seqBase returns the arrival number of row 0 of rec: fresh numbers for a
// record not seen last, the same ones when the operator updates several
// windows or slices from one record in turn.
func (c *Calls) seqBase(rec arrow.RecordBatch) uint64 {
	var id unsafe.Pointer
	if v := reflect.ValueOf(rec); v.Kind() == reflect.Pointer {
		id = v.UnsafePointer()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if id == nil || id != c.lastRec {
		c.lastRec, c.lastBase = id, reserveSeq(int(rec.NumRows()))
	}
	return c.lastBase
}

// Len returns the number of calls.
func (c *Calls) Len() int { return len(c.calls) }

// NewGroups returns empty per-group state for every call.
func (c *Calls) NewGroups() (*Groups, error) {
	g := &Groups{calls: c, accs: make([]Accumulator, len(c.calls))}
	for i, call := range c.calls {
		a, err := c.newAccumulator(i)
		if err != nil {
			return nil, fmt.Errorf("aggregate %d (%s): %w", i, call.Name, err)
		}
		g.accs[i] = a
	}
	return g, nil
}

// Groups is the state of every call for a dense range of groups
// 0..Len()-1 (one window's or slice's groups, say).
type Groups struct {
	calls *Calls
	accs  []Accumulator
	n     int

	// Scratch for FILTER: the rows (and their groups) a filter keeps.
	fsel    []int32
	fgroups []uint32
}

// Len returns the number of groups.
func (g *Groups) Len() int { return g.n }

// Grow makes groups up to n-1 exist; new groups are empty.
func (g *Groups) Grow(n int) {
	if n <= g.n {
		return
	}
	for _, a := range g.accs {
		a.Grow(n)
	}
	g.n = n
}

// Update folds rows of rec into their groups: groups[k] is the group of row
// k (sel nil) or of row sel[k]. Groups must exist (Grow first).
//
// Rows arrive in the order of the Update calls and, within one, of their
// row numbers; FIRST_VALUE and LAST_VALUE follow that order. An operator
// that splits one record over several windows or slices may update them
// from the same record one after the other: the record's rows keep one
// numbering (the record is recognized by identity, so pass the same
// arrow.RecordBatch, not a copy or a slice of it).
func (g *Groups) Update(rec arrow.RecordBatch, groups []uint32, sel []int32) error {
	var base uint64
	if g.calls.ordered {
		base = g.calls.seqBase(rec)
	}
	for i, call := range g.calls.calls {
		var col arrow.Array
		if call.Arg >= 0 {
			col = rec.Column(call.Arg)
		}
		gs, ss := groups, sel
		if call.Filter != nil {
			gs, ss = g.filter(rec.Column(*call.Filter).(*array.Boolean), groups, sel)
			if len(gs) == 0 {
				continue
			}
		}
		a := g.accs[i]
		if s, ok := a.(sequenced); ok {
			s.setSeqBase(base)
		}
		var err error
		if u, ok := a.(recUpdater); ok {
			err = u.updateRecord(rec, gs, ss)
		} else {
			err = a.Update(col, gs, ss)
		}
		if err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, call.Name, err)
		}
	}
	return nil
}

// filter narrows (groups, sel) to the rows where f is TRUE.
func (g *Groups) filter(f *array.Boolean, groups []uint32, sel []int32) ([]uint32, []int32) {
	g.fsel, g.fgroups = g.fsel[:0], g.fgroups[:0]
	for k, grp := range groups {
		row := k
		if sel != nil {
			row = int(sel[k])
		}
		if f.IsValid(row) && f.Value(row) {
			g.fsel = append(g.fsel, int32(row))
			g.fgroups = append(g.fgroups, grp)
		}
	}
	return g.fgroups, g.fsel
}

// Merge folds group sg of src (from the same Calls) into group dst. The
// order of merges does not matter: merging partial groups in any order, or
// their encoded states (MergeState), gives the result of one group that
// saw all their rows.
func (g *Groups) Merge(dst uint32, src *Groups, sg uint32) error {
	for i, a := range g.accs {
		if err := a.Merge(dst, src.accs[i], sg); err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, g.calls.calls[i].Name, err)
		}
	}
	return nil
}

// Subtract takes group sg of src (from the same Calls), merged into group
// dst before, back out of it: dst is then as if sg's rows had never
// reached it. Only for Calls that are Invertible.
func (g *Groups) Subtract(dst uint32, src *Groups, sg uint32) error {
	for i, a := range g.accs {
		r, ok := a.(Retractable)
		if !ok {
			return fmt.Errorf("aggregate %d (%s): %s cannot subtract", i, g.calls.calls[i].Name, g.calls.calls[i].Func)
		}
		if err := r.Subtract(dst, src.accs[i], sg); err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, g.calls.calls[i].Name, err)
		}
	}
	return nil
}

// AppendState appends the encoded state of group grp, every call in turn.
func (g *Groups) AppendState(dst []byte, grp uint32) []byte {
	for _, a := range g.accs {
		dst = a.AppendState(dst, grp)
	}
	return dst
}

// MergeState folds a state written by AppendState into group grp, which
// must exist.
func (g *Groups) MergeState(grp uint32, v []byte) error {
	for i, a := range g.accs {
		var err error
		if v, err = a.MergeState(grp, v); err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, g.calls.calls[i].Name, err)
		}
	}
	if len(v) != 0 {
		return fmt.Errorf("aggregate state has %d trailing bytes", len(v))
	}
	return nil
}

// Build appends every group's result of call i, in group order, to
// builders[i] (builders of the calls' result types).
func (g *Groups) Build(builders []array.Builder) error {
	for i, a := range g.accs {
		if err := a.Build(builders[i]); err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, g.calls.calls[i].Name, err)
		}
	}
	return nil
}

// Reset drops every group, keeping memory for reuse.
func (g *Groups) Reset() {
	for _, a := range g.accs {
		a.Reset()
	}
	g.n = 0
}
