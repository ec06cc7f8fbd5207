package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TestRestoredStateStaysOlder simulates a restart whose clock starts below
// the arrival numbers saved in state: after MergeState, new rows must
// still come after the restored value (LAST_VALUE takes them, FIRST_VALUE
// keeps the restored one).
func TestRestoredStateStaysOlder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	col := func(v int64) arrow.Array {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.Append(v)
		return b.NewArray()
	}
	for _, fn := range []jobgraph.AggFunc{jobgraph.FirstValue, jobgraph.LastValue} {
		call := jobgraph.AggCall{Func: fn, Arg: 0, Type: types.BigIntType}
		before, err := New(call, arrow.PrimitiveTypes.Int64)
		if err != nil {
			t.Fatal(err)
		}
		before.Grow(1)
		old := col(1)
		if err := before.Update(old, []uint32{0}, nil); err != nil {
			t.Fatal(err)
		}
		old.Release()
		saved := before.AppendState(nil, 0)

		// The new process's clock starts well below the saved number.
		seqClock.Store(seqClock.Load() - 1<<40)
		after, err := New(call, arrow.PrimitiveTypes.Int64)
		if err != nil {
			t.Fatal(err)
		}
		after.Grow(1)
		if _, err := after.MergeState(0, saved); err != nil {
			t.Fatal(err)
		}
		now := col(2)
		if err := after.Update(now, []uint32{0}, nil); err != nil {
			t.Fatal(err)
		}
		now.Release()
		b := array.NewInt64Builder(mem)
		if err := after.Build(b); err != nil {
			t.Fatal(err)
		}
		res := b.NewInt64Array()
		b.Release()
		want := int64(1)
		if fn == jobgraph.LastValue {
			want = 2
		}
		if res.Value(0) != want {
			t.Errorf("%s after a restore = %d, want %d", fn, res.Value(0), want)
		}
		res.Release()
	}
}
