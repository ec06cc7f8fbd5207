package blackhole

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

func TestDiscards(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sc := types.Schema{Fields: []types.Field{{Name: "a", Type: types.BigIntType}}}
	info := connectors.TableInfo{Name: "b", Schema: sc, Options: map[string]string{"connector": "blackhole"}}
	sink, err := New().NewSink(info)
	if err != nil {
		t.Fatal(err)
	}
	if err := New().AcceptsUpdates(info); err != nil {
		t.Fatalf("blackhole refuses updates: %v", err)
	}
	w, _ := sink.Writer(context.Background(), connectors.ReaderContext{})
	b := array.NewRecordBuilder(mem, sc.Arrow())
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	if err := w.Write(context.Background(), stream.Batch{Record: rec, Kinds: []stream.RowKind{stream.Insert, stream.Delete, stream.UpdateAfter}}); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	info.Options["rows"] = "5"
	if err := New().ValidateTable(info); err == nil || err.Error() != "unknown option 'rows': the blackhole connector takes no options" {
		t.Fatalf("option accepted: %v", err)
	}
}
