package agg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
)

// GroupAccumulator is an Accumulator whose groups live on and die one by
// one, as the groups of a non-windowed aggregate do: Clear empties one
// group, and BuildGroups builds the results of a few groups only.
type GroupAccumulator interface {
	Accumulator
	// Clear empties group g: it holds no row any more.
	Clear(g uint32)
	// BuildGroups appends the results of groups, in that order, to b, a
	// builder of the call's result type.
	BuildGroups(b array.Builder, groups []uint32) error
}

// RetractAccumulator is a GroupAccumulator that also takes rows back out
// of its groups (the -U and -D rows of a retracting input).
type RetractAccumulator interface {
	GroupAccumulator
	// Retract takes rows of col back out of their groups, as Update put
	// them in: groups[k] is the group of row k (sel nil) or of row sel[k].
	// Every retracted row must have been folded in before; a value a group
	// does not hold is ignored where the accumulator can tell.
	Retract(col arrow.Array, groups []uint32, sel []int32) error
}

// GroupState is the state of every call of a non-windowed group aggregate
// for a dense range of groups 0..Len()-1 whose groups come and go: unlike
// Groups it clears single groups, builds the results of chosen groups and,
// when made to retract, takes rows back out (NewGroupState).
type GroupState struct {
	calls   *Calls
	accs    []GroupAccumulator
	retract bool
	n       int

	// Scratch for FILTER: the rows (and their groups) a filter keeps.
	fsel    []int32
	fgroups []uint32
}

// NewGroupState returns empty group state for every call. With retract,
// every call takes rows back out (RetractAccumulator): MIN and MAX keep an
// ordered multiset of each group's values, FIRST_VALUE and LAST_VALUE
// keep the live values with their arrival numbers, DISTINCT keeps (group,
// value) reference counts and SUM and AVG of DOUBLE keep NaN and
// infinities apart. APPROX_COUNT_DISTINCT and user-defined aggregates
// cannot retract: NewGroupState refuses them, naming the call. Without
// retract, every call is as in NewGroups, except that DISTINCT keeps
// reference counts so that groups can be cleared.
func (c *Calls) NewGroupState(retract bool) (*GroupState, error) {
	s := &GroupState{calls: c, accs: make([]GroupAccumulator, len(c.calls)), retract: retract}
	for i, call := range c.calls {
		a, err := c.newGroupAccumulator(i, retract)
		if err != nil {
			return nil, fmt.Errorf("aggregate %d (%s): %w", i, call.Name, err)
		}
		s.accs[i] = a
	}
	return s, nil
}

func (c *Calls) newGroupAccumulator(i int, retract bool) (GroupAccumulator, error) {
	call := c.calls[i]
	if retract || call.Distinct && (call.Func == jobgraph.Count || call.Func == jobgraph.Sum || call.Func == jobgraph.Avg) {
		if c.udafs[i] != nil {
			return nil, fmt.Errorf("user-defined aggregate %q cannot retract its input: it has no retract method", call.UDF)
		}
		return NewRetracting(call, c.in[i])
	}
	a, err := c.newAccumulator(i)
	if err != nil {
		return nil, err
	}
	ga, ok := a.(GroupAccumulator)
	if !ok {
		return nil, fmt.Errorf("%s cannot keep per-group state that comes and goes (%T)", call.Func, a)
	}
	return ga, nil
}

// Retracts reports whether s takes rows back out (NewGroupState's retract).
func (s *GroupState) Retracts() bool { return s.retract }

// Len returns the number of groups.
func (s *GroupState) Len() int { return s.n }

// Grow makes groups up to n-1 exist; new groups are empty.
func (s *GroupState) Grow(n int) {
	if n <= s.n {
		return
	}
	for _, a := range s.accs {
		a.Grow(n)
	}
	s.n = n
}

// Update folds rows of rec into their groups: groups[k] is the group of row
// k (sel nil) or of row sel[k]. Groups must exist (Grow first). Each call
// numbers its rows afresh for FIRST_VALUE and LAST_VALUE: rows of later
// calls arrive later.
func (s *GroupState) Update(rec arrow.RecordBatch, groups []uint32, sel []int32) error {
	var base uint64
	if s.calls.ordered {
		base = reserveSeq(int(rec.NumRows()))
	}
	return s.each(rec, groups, sel, func(i int, a GroupAccumulator, col arrow.Array, gs []uint32, ss []int32) error {
		if q, ok := a.(sequenced); ok {
			q.setSeqBase(base)
		}
		if u, ok := a.(recUpdater); ok {
			return u.updateRecord(rec, gs, ss)
		}
		return a.Update(col, gs, ss)
	})
}

// Retract takes rows of rec back out of their groups, as Update put them
// in (FILTER applies the same way). Only for a GroupState made to retract.
func (s *GroupState) Retract(rec arrow.RecordBatch, groups []uint32, sel []int32) error {
	if !s.retract {
		return fmt.Errorf("agg: this group state does not retract")
	}
	return s.each(rec, groups, sel, func(i int, a GroupAccumulator, col arrow.Array, gs []uint32, ss []int32) error {
		r, ok := a.(RetractAccumulator)
		if !ok {
			return fmt.Errorf("%s cannot retract", s.calls.calls[i].Func)
		}
		return r.Retract(col, gs, ss)
	})
}

// each calls fn for every call with its argument column and the rows its
// FILTER keeps.
func (s *GroupState) each(rec arrow.RecordBatch, groups []uint32, sel []int32, fn func(i int, a GroupAccumulator, col arrow.Array, gs []uint32, ss []int32) error) error {
	for i, call := range s.calls.calls {
		var col arrow.Array
		if call.Arg >= 0 {
			col = rec.Column(call.Arg)
		}
		gs, ss := groups, sel
		if call.Filter != nil {
			f, ok := rec.Column(*call.Filter).(*array.Boolean)
			if !ok {
				return fmt.Errorf("aggregate %d (%s): FILTER column %d is %s, want BOOLEAN", i, call.Name, *call.Filter, rec.Column(*call.Filter).DataType())
			}
			gs, ss = s.filter(f, groups, sel)
			if len(gs) == 0 {
				continue
			}
		}
		if err := fn(i, s.accs[i], col, gs, ss); err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, call.Name, err)
		}
	}
	return nil
}

// filter narrows (groups, sel) to the rows where f is TRUE.
func (s *GroupState) filter(f *array.Boolean, groups []uint32, sel []int32) ([]uint32, []int32) {
	s.fsel, s.fgroups = s.fsel[:0], s.fgroups[:0]
	for k, grp := range groups {
		row := rowOf(sel, k)
		if f.IsValid(row) && f.Value(row) {
			s.fsel = append(s.fsel, int32(row))
			s.fgroups = append(s.fgroups, grp)
		}
	}
	return s.fgroups, s.fsel
}

// Clear empties group g of every call.
func (s *GroupState) Clear(g uint32) {
	for _, a := range s.accs {
		a.Clear(g)
	}
}

// Merge folds group sg of src (from the same Calls, made the same way)
// into group dst, which must exist.
func (s *GroupState) Merge(dst uint32, src *GroupState, sg uint32) error {
	for i, a := range s.accs {
		if err := a.Merge(dst, src.accs[i], sg); err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, s.calls.calls[i].Name, err)
		}
	}
	return nil
}

// AppendState appends the encoded state of group g, every call in turn.
func (s *GroupState) AppendState(dst []byte, g uint32) []byte {
	for _, a := range s.accs {
		dst = a.AppendState(dst, g)
	}
	return dst
}

// MergeState folds a state written by AppendState into group g, which must
// exist.
func (s *GroupState) MergeState(g uint32, v []byte) error {
	for i, a := range s.accs {
		var err error
		if v, err = a.MergeState(g, v); err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, s.calls.calls[i].Name, err)
		}
	}
	if len(v) != 0 {
		return fmt.Errorf("aggregate state has %d trailing bytes", len(v))
	}
	return nil
}

// BuildGroups appends the results of groups, in order, of call i to
// builders[i] (builders of the calls' result types).
func (s *GroupState) BuildGroups(builders []array.Builder, groups []uint32) error {
	for i, a := range s.accs {
		if err := a.BuildGroups(builders[i], groups); err != nil {
			return fmt.Errorf("aggregate %d (%s): %w", i, s.calls.calls[i].Name, err)
		}
	}
	return nil
}

// Reset drops every group, keeping memory for reuse.
func (s *GroupState) Reset() {
	for _, a := range s.accs {
		a.Reset()
	}
	s.n = 0
}
