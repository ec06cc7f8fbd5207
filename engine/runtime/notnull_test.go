package runtime

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TestNotNullEnforcer checks both policies of the sink's NOT NULL check:
// ERROR names the table, column and row kind; DROP keeps exactly the rows
// without a NULL in a NOT NULL column, with their kinds.
func TestNotNullEnforcer(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	key := types.BigIntType
	key.NotNull = true
	schema := types.Schema{Fields: []types.Field{{Name: "k", Type: key}, {Name: "n", Type: types.BigIntType}}}
	kb := array.NewInt64Builder(mem)
	nb := array.NewInt64Builder(mem)
	kb.AppendValues([]int64{1, 0, 3, 0}, []bool{true, false, true, false})
	nb.AppendValues([]int64{10, 20, 30, 40}, []bool{true, true, false, true})
	ka, na := kb.NewArray(), nb.NewArray()
	kb.Release()
	nb.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil), []arrow.Array{ka, na}, 4)
	ka.Release()
	na.Release()
	defer rec.Release()
	b := stream.Batch{Record: rec, Kinds: []stream.RowKind{stream.Insert, stream.UpdateAfter, stream.Delete, stream.Delete}}

	e, err := newNotNullEnforcer("out", schema, &operator.Context{Alloc: mem, Config: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.check(b); err == nil || !strings.Contains(err.Error(), "table 'out': column 'k' is NOT NULL, but a +U row has a NULL") {
		t.Fatalf("ERROR policy: got %v", err)
	}

	e, err = newNotNullEnforcer("out", schema, &operator.Context{Alloc: mem, Config: map[string]string{NotNullEnforcerOption: "drop"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.check(b)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if got.NumRows() != 2 || got.Kinds[0] != stream.Insert || got.Kinds[1] != stream.Delete {
		t.Fatalf("DROP policy: %d rows, kinds %v", got.NumRows(), got.Kinds)
	}
	ks := got.Record.Column(0).(*array.Int64)
	if ks.Value(0) != 1 || ks.Value(1) != 3 || !got.Record.Column(1).IsNull(1) {
		t.Fatalf("DROP policy kept the wrong rows: %v", got.Record)
	}

	if _, err := newNotNullEnforcer("out", schema, &operator.Context{Config: map[string]string{NotNullEnforcerOption: "warn"}}); err == nil {
		t.Fatal("an unknown policy was accepted")
	}
	if e, err := newNotNullEnforcer("out", types.Schema{Fields: schema.Fields[1:]}, &operator.Context{}); e != nil || err != nil {
		t.Fatalf("a sink without NOT NULL columns got an enforcer (%v, %v)", e, err)
	}
}
