package union

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

func field(name string, t types.Type) types.Field { return types.Field{Name: name, Type: t} }

// unionSpec is a union of n inputs of (id BIGINT, name STRING, ts TIMESTAMP(3)).
func unionSpec(n int) *jobgraph.OperatorSpec {
	return &jobgraph.OperatorSpec{
		ID:   "union-1",
		Name: "Union",
		Output: types.Schema{Fields: []types.Field{
			field("id", types.BigIntType), field("name", types.StringType), field("ts", types.TimestampType),
		}},
		Union: &jobgraph.UnionSpec{Inputs: n},
	}
}

// inputSchema is input i's schema: the union's types, its own names (as
// the second query of a UNION ALL names its columns), NOT NULL ids.
func inputSchema(i int) types.Schema {
	id := types.BigIntType
	id.NotNull = i%2 == 1
	return types.Schema{Fields: []types.Field{
		field(fmt.Sprintf("id%d", i), id), field(fmt.Sprintf("name%d", i), types.StringType), field("ts", types.TimestampType),
	}}
}

// randomBatch builds a batch of input i's schema and returns its rows as
// rendered by optest.
func randomBatch(t testing.TB, r *rand.Rand, mem memory.Allocator, i, n int) (arrow.RecordBatch, []string) {
	s := inputSchema(i)
	b := array.NewRecordBuilder(mem, s.Arrow())
	defer b.Release()
	var rows []string
	for k := 0; k < n; k++ {
		vals := []any{r.Int64N(100), fmt.Sprintf("n%d-%d", i, r.IntN(5)), arrow.Timestamp(1_700_000_000_000 + r.Int64N(60_000))}
		if i%2 == 0 && r.IntN(5) == 0 {
			vals[0] = nil
		}
		if r.IntN(6) == 0 {
			vals[1] = nil
		}
		if r.IntN(7) == 0 {
			vals[2] = nil
		}
		parts := make([]string, len(vals))
		for c, v := range vals {
			optest.Append(t, b.Field(c), v)
			parts[c] = optest.Render(v)
		}
		rows = append(rows, strings.Join(parts, "|"))
	}
	return b.NewRecordBatch(), rows
}

// TestUnionPassesEveryInputsRowsThrough feeds random batches from every
// input in a random order and checks the output is the multiset of all
// input rows, in batches of the union's schema, with nothing retained.
func TestUnionPassesEveryInputsRowsThrough(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		n := 1 + r.IntN(4)
		op, err := New(unionSpec(n))
		if err != nil {
			t.Fatal(err)
		}
		oc, _ := optest.NewContext(mem, nil)
		d := optest.NewDriver(t, op, oc)
		var want []string
		for k := r.IntN(30); k > 0; k-- {
			in := r.IntN(n)
			rec, rows := randomBatch(t, r, mem, in, optest.RandomBatchSize(r)%50)
			want = append(want, rows...)
			if err := op.ProcessBatch(context.Background(), in, stream.Batch{Record: rec}, d.Out); err != nil {
				t.Fatal(err)
			}
			rec.Release()
			if r.IntN(4) == 0 {
				d.Advance(1_700_000_000_000 + r.Int64N(60_000))
			}
		}
		d.Finish()
		optest.AssertSameRows(t, d.Out.Texts(), want)
		if d.Out.Schema != nil && !d.Out.Schema.Equal(unionSpec(n).Output.Arrow()) {
			t.Fatalf("output schema %s, want the union's", d.Out.Schema)
		}
		mem.AssertSize(t, 0)
	}
}

func TestUnionKeepsRowKinds(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	op, err := New(unionSpec(2))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := randomBatch(t, rand.New(rand.NewPCG(1, 1)), mem, 1, 3)
	defer rec.Release()
	kinds := []stream.RowKind{stream.Insert, stream.Delete, stream.UpdateAfter}
	var got []stream.RowKind
	out := collect(func(b stream.Batch) {
		got = append(got, b.Kinds...)
		if b.Record.Schema().Field(0).Name != "id" {
			t.Errorf("output column 0 is %s, want the union's name id", b.Record.Schema().Field(0).Name)
		}
	})
	if err := op.ProcessBatch(context.Background(), 1, stream.Batch{Record: rec, Kinds: kinds}, out); err != nil {
		t.Fatal(err)
	}
	kinds[1] = stream.Insert // the operator must not share the caller's slice
	if len(got) != 3 || got[1] != stream.Delete || got[2] != stream.UpdateAfter {
		t.Fatalf("row kinds %v", got)
	}
}

type collect func(stream.Batch)

func (c collect) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	c(b)
	return nil
}

func TestUnionRejectsBadSpecsAndInputs(t *testing.T) {
	for _, spec := range []*jobgraph.OperatorSpec{
		nil,
		{ID: "u", Calc: &jobgraph.CalcSpec{}},
		{ID: "u", Output: unionSpec(1).Output, Union: &jobgraph.UnionSpec{Inputs: 0}},
		{ID: "u", Union: &jobgraph.UnionSpec{Inputs: 2}},
		{ID: "u", Output: types.Schema{Fields: []types.Field{field("i", types.IntervalType)}}, Union: &jobgraph.UnionSpec{Inputs: 2}},
	} {
		if _, err := New(spec); err == nil {
			t.Errorf("New(%+v) accepted a bad spec", spec)
		}
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	op, err := New(unionSpec(2))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := randomBatch(t, rand.New(rand.NewPCG(1, 2)), mem, 0, 4)
	defer rec.Release()
	out := optest.NewCollector()
	for _, in := range []int{-1, 2} {
		if err := op.ProcessBatch(context.Background(), in, stream.Batch{Record: rec}, out); err == nil || !strings.Contains(err.Error(), "input") {
			t.Errorf("input %d: error %v", in, err)
		}
	}
	// A batch of other columns.
	b := array.NewRecordBuilder(mem, types.Schema{Fields: []types.Field{field("id", types.IntType), field("name", types.StringType), field("ts", types.TimestampType)}}.Arrow())
	defer b.Release()
	b.Field(0).AppendNull()
	b.Field(1).AppendNull()
	b.Field(2).AppendNull()
	bad := b.NewRecordBatch()
	defer bad.Release()
	if err := op.ProcessBatch(context.Background(), 1, stream.Batch{Record: bad}, out); err == nil || !strings.Contains(err.Error(), "column 0") {
		t.Errorf("mistyped batch: error %v", err)
	}
	if len(out.Rows) != 0 {
		t.Errorf("rows emitted on errors: %v", out.Texts())
	}
}

// BenchmarkUnion measures rows per CPU-second through a union of two
// inputs whose names differ from the union's (the re-labelling path).
func BenchmarkUnion(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	var recs []arrow.RecordBatch
	for i := 0; i < 64; i++ {
		rec, _ := randomBatch(b, r, memory.DefaultAllocator, i%2, 1024)
		recs = append(recs, rec)
	}
	op, err := New(unionSpec(2))
	if err != nil {
		b.Fatal(err)
	}
	out := &optest.Discard{}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := optest.CPUTime()
	for i := 0; i < b.N; i++ {
		for j, rec := range recs {
			if err := op.ProcessBatch(ctx, j%2, stream.Batch{Record: rec}, out); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(out.Rows)/(optest.CPUTime()-cpu0).Seconds(), "rows/cpu-s")
}
