package gather

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
)

// Ref is one stored row: row Row of chunk Chunk, or, with Chunk -1, no
// row (NULLs).
type Ref struct {
	Chunk int32
	Row   int32
}

// NullRef pads an unmatched row with NULLs.
var NullRef = Ref{Chunk: -1}

// Column builds the column whose row k is column col of the row refs[k]
// points at (NULL for NullRef), from chunks. It works a column at a time:
// one typed loop per column, no allocation per row. idx is scratch space,
// returned for reuse.
func Column(mem memory.Allocator, dt arrow.DataType, chunks []arrow.RecordBatch, col int, refs []Ref, idx []int32) (arrow.Array, []int32, error) {
	// The common cases: every row from one chunk, none NULL-padded; or
	// every row NULL-padded.
	one, nulls := int32(-2), 0 // one: -2 none seen, -1 several chunks
	for _, r := range refs {
		switch {
		case r.Chunk < 0:
			nulls++
		case one == -2:
			one = r.Chunk
		case one != r.Chunk:
			one = -1
		}
	}
	if nulls == 0 && one >= 0 {
		idx = idx[:0]
		for _, r := range refs {
			idx = append(idx, r.Row)
		}
		a, err := expr.Take(chunks[one].Column(col), idx, mem)
		return a, idx, err
	}
	if nulls == len(refs) {
		return array.MakeArrayOfNull(mem, dt, len(refs)), idx, nil
	}
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	b.Reserve(len(refs))
	var err error
	switch bb := b.(type) {
	case *array.Int32Builder:
		err = gatherValues(bb, chunks, col, refs, (*array.Int32).Int32Values)
	case *array.Int64Builder:
		err = gatherValues(bb, chunks, col, refs, (*array.Int64).Int64Values)
	case *array.Float64Builder:
		err = gatherValues(bb, chunks, col, refs, (*array.Float64).Float64Values)
	case *array.TimestampBuilder:
		err = gatherValues(bb, chunks, col, refs, (*array.Timestamp).TimestampValues)
	case *array.Decimal128Builder:
		err = gatherValues[decimal128.Num](bb, chunks, col, refs, (*array.Decimal128).Values)
	case *array.BooleanBuilder:
		err = gatherAt(bb, chunks, col, refs, (*array.Boolean).Value)
	case *array.StringBuilder:
		err = gatherAt(bb, chunks, col, refs, (*array.String).Value)
	default:
		err = fmt.Errorf("unsupported column type %s", dt)
	}
	if err != nil {
		return nil, idx, err
	}
	return b.NewArray(), idx, nil
}

type appender[T any] interface {
	Append(T)
	AppendNull()
}

// gatherValues gathers from the value slices of fixed-width columns.
func gatherValues[T any, A arrow.Array, B appender[T]](b B, chunks []arrow.RecordBatch, col int, refs []Ref, values func(A) []T) error {
	// The chunk of the previous row is kept at hand: rows come in runs.
	cur, vals := int32(-1), []T(nil)
	var arr arrow.Array
	for _, r := range refs {
		if r.Chunk < 0 {
			b.AppendNull()
			continue
		}
		if r.Chunk != cur {
			a, ok := chunks[r.Chunk].Column(col).(A)
			if !ok {
				return fmt.Errorf("column %d is %s", col, chunks[r.Chunk].Column(col).DataType())
			}
			cur, vals, arr = r.Chunk, values(a), a
		}
		if arr.IsNull(int(r.Row)) {
			b.AppendNull()
			continue
		}
		b.Append(vals[r.Row])
	}
	return nil
}

// gatherAt gathers through a value accessor (booleans, strings).
func gatherAt[T any, A arrow.Array, B appender[T]](b B, chunks []arrow.RecordBatch, col int, refs []Ref, value func(A, int) T) error {
	cur := int32(-1)
	var arr A
	for _, r := range refs {
		if r.Chunk < 0 {
			b.AppendNull()
			continue
		}
		if r.Chunk != cur {
			a, ok := chunks[r.Chunk].Column(col).(A)
			if !ok {
				return fmt.Errorf("column %d is %s", col, chunks[r.Chunk].Column(col).DataType())
			}
			cur, arr = r.Chunk, a
		}
		if arr.IsNull(int(r.Row)) {
			b.AppendNull()
			continue
		}
		b.Append(value(arr, int(r.Row)))
	}
	return nil
}
