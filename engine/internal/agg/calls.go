package agg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/udf"
)

// Calls is an operator's list of aggregate calls bound to its input schema:
// what an aggregating operator (window aggregate, session aggregate, group
// aggregate) needs to keep per-group state for all its calls at once. Each
// call reads its own argument column and honours its FILTER clause, so the
// operator hands whole batches over.
type Calls struct {
	calls []jobgraph.AggCall
	in    []arrow.DataType // argument type of each call (nil for COUNT(*))
	funcs *udf.Registry
}

// Bind checks every call against the input schema and returns them bound.
// funcs holds the job's user-defined aggregate functions (may be nil).
func Bind(calls []jobgraph.AggCall, in *arrow.Schema, funcs *udf.Registry) (*Calls, error) {
	c := &Calls{calls: calls, in: make([]arrow.DataType, len(calls)), funcs: funcs}
	for i, call := range calls {
		col := func(what string, k int) error {
			if k < 0 || k >= in.NumFields() {
				return fmt.Errorf("aggregate %d (%s): %s column %d is out of range: input has %d columns", i, call.Name, what, k, in.NumFields())
			}
			return nil
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
		if _, err := New(call, c.in[i]); err != nil {
			return nil, fmt.Errorf("aggregate %d (%s): %w", i, call.Name, err)
		}
	}
	return c, nil
}

// Len returns the number of calls.
func (c *Calls) Len() int { return len(c.calls) }

// NewGroups returns empty per-group state for every call.
func (c *Calls) NewGroups() (*Groups, error) {
	g := &Groups{calls: c, accs: make([]Accumulator, len(c.calls))}
	for i, call := range c.calls {
		a, err := New(call, c.in[i])
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
func (g *Groups) Update(rec arrow.RecordBatch, groups []uint32, sel []int32) error {
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
		if err := g.accs[i].Update(col, gs, ss); err != nil {
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

// Merge folds group sg of src (from the same Calls) into group dst.
func (g *Groups) Merge(dst uint32, src *Groups, sg uint32) error {
	for i, a := range g.accs {
		if err := a.Merge(dst, src.accs[i], sg); err != nil {
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
