package expr

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// Selection is the set of rows of a batch that a predicate kept.
type Selection struct {
	// All reports that every row was kept; Indices is then nil.
	All bool
	// Indices lists the kept rows in ascending order when All is false
	// (empty when no row was kept).
	Indices []int32
}

// Len returns the number of kept rows of an n-row batch.
func (s Selection) Len(n int) int {
	if s.All {
		return n
	}
	return len(s.Indices)
}

// Select evaluates the BOOLEAN predicate pred over rec and returns the rows
// where it is TRUE; NULL and FALSE rows are dropped. It does not copy data
// and is cheap when all or none of the rows pass.
func Select(ctx context.Context, pred Evaluator, rec arrow.RecordBatch, mem memory.Allocator) (Selection, error) {
	if rec == nil {
		return Selection{}, fmt.Errorf("expr: select: nil record batch")
	}
	return SelectColumns(ctx, pred, rec.Columns(), int(rec.NumRows()), mem)
}

// SelectColumns is Select over n rows given as columns (see
// Evaluator.EvalColumns).
func SelectColumns(ctx context.Context, pred Evaluator, cols []arrow.Array, n int, mem memory.Allocator) (Selection, error) {
	if k := pred.Type().Kind; k != types.Boolean && k != types.Null {
		return Selection{}, fmt.Errorf("expr: filter predicate is %s, want BOOLEAN", pred.Type())
	}
	if ev, ok := pred.(*evaluator); ok && ev.root.konst != nil {
		// A constant predicate: all or nothing, no evaluation needed.
		if !ev.root.konst.null && ev.root.konst.b {
			return Selection{All: true}, nil
		}
		return Selection{Indices: []int32{}}, nil
	}
	arr, err := pred.EvalColumns(ctx, cols, n, mem)
	if err != nil {
		return Selection{}, err
	}
	defer arr.Release()
	all, idx := selectionOf(trueBits(value{arr: arr}, n), n)
	return Selection{All: all, Indices: idx}, nil
}

// Take gathers rows idx (each in [0, arr.Len())) of arr into a new array
// allocated from mem; the caller releases it.
func Take(arr arrow.Array, idx []int32, mem memory.Allocator) (arrow.Array, error) {
	n := int32(arr.Len())
	for _, i := range idx {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("expr: take: row %d out of range [0, %d)", i, n)
		}
	}
	return takeArray(mem, arr, idx)
}

// TakeRecord gathers rows idx of every column of rec into a new record
// batch allocated from mem; the caller releases it.
func TakeRecord(rec arrow.RecordBatch, idx []int32, mem memory.Allocator) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		c, err := Take(rec.Column(i), idx, mem)
		if err != nil {
			return nil, fmt.Errorf("column %d (%s): %w", i, rec.ColumnName(i), err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(idx))), nil
}

// Filter keeps the rows of rec where pred is TRUE. It returns rec itself
// (retained) when every row passes and nil when none does; otherwise a new
// record batch. The Selection says which rows were kept.
func Filter(ctx context.Context, pred Evaluator, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, Selection, error) {
	sel, err := Select(ctx, pred, rec, mem)
	if err != nil {
		return nil, Selection{}, err
	}
	switch {
	case sel.All:
		rec.Retain()
		return rec, sel, nil
	case len(sel.Indices) == 0:
		return nil, sel, nil
	}
	out, err := TakeRecord(rec, sel.Indices, mem)
	if err != nil {
		return nil, Selection{}, err
	}
	return out, sel, nil
}
