package exchange

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// collectSender keeps what it is sent.
type collectSender struct {
	msgs []stream.Message
	fail error
}

func (c *collectSender) Send(ctx context.Context, m stream.Message) error {
	if c.fail != nil {
		m.Batch.Release()
		return c.fail
	}
	c.msgs = append(c.msgs, m)
	return nil
}

func (c *collectSender) release() {
	for _, m := range c.msgs {
		m.Batch.Release()
	}
}

func senders(cs []*collectSender) []Sender {
	out := make([]Sender, len(cs))
	for i, c := range cs {
		out[i] = c
	}
	return out
}

func newCollectors(n int) []*collectSender {
	cs := make([]*collectSender, n)
	for i := range cs {
		cs[i] = &collectSender{}
	}
	return cs
}

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "d", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true},
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// randomBatch makes n rows with random values (some NULL), a unique id
// column, and random row kinds half of the time.
func randomBatch(r *rand.Rand, mem memory.Allocator, n int, firstID int64) stream.Batch {
	b := array.NewRecordBuilder(mem, testSchema)
	defer b.Release()
	null := func() bool { return r.IntN(8) == 0 }
	for i := 0; i < n; i++ {
		if null() {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.Int64Builder).Append(r.Int64N(50))
		}
		if null() {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("k%d", r.IntN(30)))
		}
		if null() {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Int32Builder).Append(int32(r.IntN(40)))
		}
		b.Field(3).(*array.Float64Builder).Append(float64(r.IntN(20)) / 4)
		b.Field(4).(*array.Decimal128Builder).Append(decimal128.FromI64(r.Int64N(1000)))
		b.Field(5).(*array.BooleanBuilder).Append(r.IntN(2) == 0)
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(r.Int64N(10)))
		b.Field(7).(*array.Int64Builder).Append(firstID + int64(i))
	}
	batch := stream.Batch{Record: b.NewRecordBatch()}
	if r.IntN(2) == 0 {
		batch.Kinds = make([]stream.RowKind, n)
		for i := range batch.Kinds {
			batch.Kinds[i] = stream.RowKind(r.IntN(4))
		}
	}
	return batch
}

// renderRow renders row i of b, with its kind, as text.
func renderRow(b stream.Batch, i int) string {
	var sb strings.Builder
	sb.WriteString(b.Kind(i).String())
	for c := 0; c < int(b.Record.NumCols()); c++ {
		sb.WriteString("|")
		sb.WriteString(b.Record.Column(c).ValueStr(i))
	}
	return sb.String()
}

// rowHash hashes one row's key columns on its own (a one-row slice), the
// reference for the router's vectorized routing.
func rowHash(t *testing.T, rec arrow.RecordBatch, keys []int, i int) uint64 {
	one := rec.NewSlice(int64(i), int64(i+1))
	defer one.Release()
	cols := make([]arrow.Array, len(keys))
	for k, c := range keys {
		cols[k] = one.Column(c)
	}
	h := []uint64{0}
	if err := keygroup.HashColumns(cols, h); err != nil {
		t.Fatal(err)
	}
	return h[0]
}

func TestHashRouterRandom(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	keySets := [][]int{{0}, {1}, {2, 1}, {3}, {4}, {5, 0}, {6}, {0, 1, 2, 3, 4, 5, 6}}
	for seed := uint64(0); seed < 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		p := 1 + r.IntN(5)
		maxP := []int{p, 7, 128, 1000}[r.IntN(4)]
		keys := keySets[r.IntN(len(keySets))]
		cs := newCollectors(p)
		rt, err := NewRouter(RouterConfig{Kind: jobgraph.Hash, Targets: senders(cs), Keys: keys, MaxParallelism: maxP, Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		want := make([][]string, p)
		id := int64(0)
		for range 1 + r.IntN(8) {
			n := r.IntN(300)
			b := randomBatch(r, mem, n, id)
			id += int64(n)
			if n > 0 && r.IntN(3) == 0 { // a slice, with an offset
				lo := int64(r.IntN(n))
				s := stream.Batch{Record: b.Record.NewSlice(lo, int64(n))}
				if b.Kinds != nil {
					s.Kinds = b.Kinds[lo:]
				}
				b.Release()
				b = s
			}
			for i := 0; i < b.NumRows(); i++ {
				target := keygroup.Subtask(keygroup.Of(rowHash(t, b.Record, keys, i), maxP), maxP, p)
				want[target] = append(want[target], renderRow(b, i))
			}
			if err := rt.Route(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		for target, c := range cs {
			var got []string
			for _, m := range c.msgs {
				if m.Kind != stream.Data {
					t.Fatalf("got a %v message", m.Kind)
				}
				for i := 0; i < m.Batch.NumRows(); i++ {
					got = append(got, renderRow(m.Batch, i))
				}
			}
			sort.Strings(got)
			sort.Strings(want[target])
			if strings.Join(got, "\n") != strings.Join(want[target], "\n") {
				t.Fatalf("seed %d p %d maxP %d keys %v: subtask %d got %d rows, want %d\ngot %v\nwant %v",
					seed, p, maxP, keys, target, len(got), len(want[target]), got, want[target])
			}
			c.release()
		}
	}
}

func TestHashRouterErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	cs := newCollectors(3)
	if _, err := NewRouter(RouterConfig{Kind: jobgraph.Hash, Targets: senders(cs), MaxParallelism: 128}); err == nil {
		t.Fatal("hash router without keys accepted")
	}
	if _, err := NewRouter(RouterConfig{Kind: jobgraph.Hash, Targets: senders(cs), Keys: []int{0}, MaxParallelism: 2}); err == nil {
		t.Fatal("parallelism above max parallelism accepted")
	}
	rt, err := NewRouter(RouterConfig{Kind: jobgraph.Hash, Targets: senders(cs), Keys: []int{42}, MaxParallelism: 128, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	if err := rt.Route(ctx, randomBatch(r, mem, 10, 0)); err == nil || !strings.Contains(err.Error(), "column 42") {
		t.Fatalf("out-of-range key column: %v", err)
	}
	// A failing target: the error comes back and nothing leaks.
	boom := errors.New("boom")
	cs[1].fail = boom
	rt, _ = NewRouter(RouterConfig{Kind: jobgraph.Hash, Targets: senders(cs), Keys: []int{7}, MaxParallelism: 128, Alloc: mem})
	if err := rt.Route(ctx, randomBatch(r, mem, 500, 0)); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	for _, c := range cs {
		c.release()
	}
}

func TestOtherRouters(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(2, 2))

	// Rebalance: whole batches round-robin, starting at the producer's index.
	cs := newCollectors(3)
	rt, err := NewRouter(RouterConfig{Kind: jobgraph.Rebalance, Producer: 1, Targets: senders(cs)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if err := rt.Route(ctx, randomBatch(r, mem, 5, int64(i*5))); err != nil {
			t.Fatal(err)
		}
	}
	for ti, want := range []int{2, 3, 2} {
		if len(cs[ti].msgs) != want {
			t.Fatalf("rebalance: target %d got %d batches, want %d", ti, len(cs[ti].msgs), want)
		}
	}
	if firstID := cs[1].msgs[0].Batch.Record.Column(7).(*array.Int64).Value(0); firstID != 0 {
		t.Fatalf("rebalance: first batch went elsewhere")
	}
	for _, c := range cs {
		c.release()
	}

	// Broadcast: every batch to every target, plus control messages.
	cs = newCollectors(4)
	rt, _ = NewRouter(RouterConfig{Kind: jobgraph.Broadcast, Targets: senders(cs)})
	b := randomBatch(r, mem, 9, 0)
	want := renderRow(b, 3)
	if err := rt.Route(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := rt.Broadcast(ctx, stream.WatermarkMessage(42)); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if len(c.msgs) != 2 || renderRow(c.msgs[0].Batch, 3) != want || c.msgs[1].Watermark != 42 {
			t.Fatalf("broadcast: got %+v", c.msgs)
		}
		c.release()
	}
	// A broadcast that fails halfway releases every reference it made.
	cs = newCollectors(4)
	cs[1].fail = errors.New("boom")
	rt, _ = NewRouter(RouterConfig{Kind: jobgraph.Broadcast, Targets: senders(cs)})
	if err := rt.Route(ctx, randomBatch(r, mem, 9, 0)); err == nil {
		t.Fatal("failing target not reported")
	}
	if len(cs[0].msgs) != 1 || mem.CurrentAlloc() == 0 {
		t.Fatal("the batch was freed while target 0 still holds it")
	}
	for _, c := range cs {
		c.release()
	}
	if err := rt.Broadcast(ctx, stream.DataMessage(randomBatch(r, mem, 1, 0))); err == nil {
		t.Fatal("data message broadcast accepted")
	}

	// Forward and single take exactly one target.
	for _, kind := range []jobgraph.ExchangeKind{jobgraph.Forward, jobgraph.Single} {
		if _, err := NewRouter(RouterConfig{Kind: kind, Targets: senders(newCollectors(2))}); err == nil {
			t.Fatalf("%s router with two targets accepted", kind)
		}
		cs = newCollectors(1)
		rt, _ = NewRouter(RouterConfig{Kind: kind, Targets: senders(cs)})
		if err := rt.Route(ctx, randomBatch(r, mem, 3, 0)); err != nil || len(cs[0].msgs) != 1 {
			t.Fatalf("%s: %v", kind, err)
		}
		cs[0].release()
	}
	if _, err := NewRouter(RouterConfig{Kind: "zigzag", Targets: senders(newCollectors(1))}); err == nil {
		t.Fatal("unknown kind accepted")
	}
}
