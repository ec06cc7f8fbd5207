package dedup

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// The test input: k BIGINT, s STRING, ts TIMESTAMP(3), v INT, all nullable.
var inCols = []types.Field{
	{Name: "k", Type: types.Type{Kind: types.BigInt}},
	{Name: "s", Type: types.Type{Kind: types.String}},
	{Name: "ts", Type: types.Type{Kind: types.Timestamp, Precision: 3}},
	{Name: "v", Type: types.Type{Kind: types.Int}},
}

const tsCol = 2

type row []any

func randRow(r *rand.Rand, base int64) row {
	nullOr := func(n int, v any) any {
		if r.IntN(n) == 0 {
			return nil
		}
		return v
	}
	return row{
		nullOr(8, int64(r.IntN(20))),
		nullOr(8, []string{"x", "y", ""}[r.IntN(3)]),
		nullOr(12, arrow.Timestamp(base+int64(r.IntN(40)))), // out of order, with ties
		nullOr(8, int32(r.IntN(3))),
	}
}

func (x row) text() string {
	parts := make([]string, len(x))
	for i, v := range x {
		parts[i] = optest.Render(v)
	}
	return strings.Join(parts, "|")
}

// ref is the row-at-a-time reference: every row of each key with its
// arrival number; the kept row is the first by the ORDER BY of the spec.
type ref struct {
	spec    *jobgraph.DedupSpec
	rows    map[string][]refRow
	last    map[string]int64
	seq     int
	expired int
}

type refRow struct {
	seq int
	r   row
}

func (f *ref) key(x row) string {
	var b strings.Builder
	for _, c := range f.spec.Keys {
		b.WriteString(optest.Render(x[c]))
		b.WriteByte('/')
	}
	return b.String()
}

func (f *ref) expire(now int64) {
	if f.spec.TTLMs <= 0 {
		return
	}
	for k := range f.rows {
		if f.last[k] <= now-f.spec.TTLMs {
			delete(f.rows, k)
			f.expired++
		}
	}
}

func (f *ref) add(x row, now int64) {
	k := f.key(x)
	f.seq++
	f.rows[k] = append(f.rows[k], refRow{seq: f.seq, r: x})
	f.last[k] = now
}

// kept returns key -> the row ROW_NUMBER() OVER (PARTITION BY keys ORDER BY
// time [DESC]) = 1 picks: proctime orders by arrival; event time by ts ASC
// NULLS FIRST (keep-first) or ts DESC NULLS LAST (keep-last), ties by
// arrival (first for keep-first, last for keep-last).
func (f *ref) kept() map[string]string {
	out := map[string]string{}
	for k, rows := range f.rows {
		rs := slices.Clone(rows)
		sort.SliceStable(rs, func(i, j int) bool {
			a, b := rs[i], rs[j]
			if !f.spec.ProcTime {
				ta, tb := a.r[tsCol], b.r[tsCol]
				if c := cmpTime(ta, tb); c != 0 {
					// ASC NULLS FIRST, or DESC NULLS LAST: the reverse.
					if f.spec.KeepLast {
						return c > 0
					}
					return c < 0
				}
			}
			if f.spec.KeepLast {
				return a.seq > b.seq
			}
			return a.seq < b.seq
		})
		out[k] = rs[0].r.text()
	}
	return out
}

// cmpTime orders times with NULL lowest.
func cmpTime(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	x, y := a.(arrow.Timestamp), b.(arrow.Timestamp)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

type outRow struct {
	kind stream.RowKind
	text string
	key  string
}

type changelog struct {
	rows   []outRow
	keys   []int
	schema *arrow.Schema
}

func (c *changelog) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	if c.schema == nil {
		c.schema = b.Record.Schema()
	} else if !c.schema.Equal(b.Record.Schema()) {
		return fmt.Errorf("schema changed")
	}
	if b.Kinds != nil && len(b.Kinds) != b.NumRows() {
		return fmt.Errorf("%d kinds for %d rows", len(b.Kinds), b.NumRows())
	}
	for i := 0; i < b.NumRows(); i++ {
		cols := make([]string, b.Record.NumCols())
		for j := range cols {
			cols[j] = optest.RenderValue(b.Record.Column(j), i)
		}
		var key strings.Builder
		for _, k := range c.keys {
			key.WriteString(cols[k])
			key.WriteByte('/')
		}
		c.rows = append(c.rows, outRow{kind: b.Kind(i), text: strings.Join(cols, "|"), key: key.String()})
	}
	return nil
}

func buildBatch(t testing.TB, mem memory.Allocator, rows []row) arrow.RecordBatch {
	rb := array.NewRecordBuilder(mem, types.Schema{Fields: inCols}.Arrow())
	defer rb.Release()
	for _, x := range rows {
		for j, v := range x {
			optest.Append(t, rb.Field(j), v)
		}
	}
	return rb.NewRecordBatch()
}

func makeSpec(ds *jobgraph.DedupSpec) *jobgraph.OperatorSpec {
	return &jobgraph.OperatorSpec{ID: "dedup1", Output: types.Schema{Fields: slices.Clone(inCols)}, Dedup: ds}
}

func randomSpec(r *rand.Rand) *jobgraph.DedupSpec {
	keys := [][]int{{0}, {0, 1}, nil, {1, 3}}
	ds := &jobgraph.DedupSpec{
		Keys:     keys[r.IntN(len(keys))],
		KeepLast: r.IntN(2) == 0,
		ProcTime: r.IntN(2) == 0,
		Changes:  jobgraph.Changes{EmitUpdateBefore: r.IntN(2) == 0},
	}
	ds.TimeColumn = tsCol
	if ds.ProcTime {
		ds.TimeColumn = -1
	}
	return ds
}

type clock struct{ now int64 }

func runRandom(t *testing.T, r *rand.Rand, spec *jobgraph.DedupSpec, nrows int) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	op, err := New(makeSpec(spec))
	if err != nil {
		t.Fatal(err)
	}
	oc, metrics := optest.NewContext(mem, nil)
	clk := &clock{now: 5_000_000}
	oc.Now = func() int64 { return clk.now }
	ctx := context.Background()
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	f := &ref{spec: spec, rows: map[string][]refRow{}, last: map[string]int64{}}
	out := &changelog{keys: spec.Keys}
	state := map[string]string{} // the output, materialized by key
	var rows []row
	for i := 0; i < nrows; i++ {
		if i > 0 && r.IntN(4) == 0 {
			// A repeat of an earlier row: equal rows must not update.
			rows = append(rows, rows[max(0, i-1-r.IntN(50))])
			continue
		}
		rows = append(rows, randRow(r, int64(i/4)))
	}
	maxTs := int64(0)
	for lo := 0; lo < len(rows); {
		hi := min(len(rows), lo+optest.RandomBatchSize(r)/6+1)
		if spec.TTLMs > 0 {
			clk.now += int64(r.IntN(int(spec.TTLMs)))
		}
		f.expire(clk.now)
		before := f.kept()
		for _, x := range rows[lo:hi] {
			f.add(x, clk.now)
			if ts, ok := x[tsCol].(arrow.Timestamp); ok {
				maxTs = max(maxTs, int64(ts))
			}
		}
		after := f.kept()
		rec := buildBatch(t, mem, rows[lo:hi])
		n0 := len(out.rows)
		err := op.ProcessBatch(ctx, 0, stream.Batch{Record: rec}, out)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		// (b) The batch's changes are exactly the net change per key.
		var want, got []string
		for k, a := range after {
			b, ok := before[k]
			switch {
			case !ok:
				want = append(want, "+I "+a)
			case a != b:
				if spec.EmitUpdateBefore {
					want = append(want, "-U "+b)
				}
				want = append(want, "+U "+a)
			}
		}
		for _, o := range out.rows[n0:] {
			got = append(got, o.kind.String()+" "+o.text)
		}
		optest.AssertSameRows(t, got, want)
		// (a) The changelog applies cleanly to the materialized output.
		if spec.TTLMs == 0 {
			for _, o := range out.rows[n0:] {
				cur, ok := state[o.key]
				switch o.kind {
				case stream.Insert:
					if ok {
						t.Fatalf("+I %s: key %s already holds %s", o.text, o.key, cur)
					}
				case stream.UpdateBefore:
					if !ok || cur != o.text {
						t.Fatalf("-U %s: key %s holds %q", o.text, o.key, cur)
					}
					delete(state, o.key)
					continue
				case stream.UpdateAfter:
					if ok == spec.EmitUpdateBefore {
						t.Fatalf("+U %s: key %s holds %q", o.text, o.key, cur)
					}
				default:
					t.Fatalf("unexpected %s %s", o.kind, o.text)
				}
				state[o.key] = o.text
			}
		}
		if spec.ProcTime && !spec.KeepLast {
			for _, o := range out.rows[n0:] {
				if o.kind != stream.Insert {
					t.Fatalf("proctime keep-first emitted %s %s", o.kind, o.text)
				}
			}
		}
		if r.IntN(3) == 0 {
			// Watermarks do not make dedup drop later rows.
			if err := op.ProcessWatermark(ctx, maxTs, out); err != nil {
				t.Fatal(err)
			}
		}
		lo = hi
	}
	if spec.TTLMs == 0 {
		want := f.kept()
		if len(state) != len(want) {
			t.Fatalf("materialized output has %d keys, want %d", len(state), len(want))
		}
		for k, v := range want {
			if state[k] != v {
				t.Fatalf("key %s: materialized %q, want %q", k, state[k], v)
			}
		}
	} else {
		clk.now += 2 * spec.TTLMs
		if err := op.ProcessWatermark(ctx, stream.MaxWatermark, out); err != nil {
			t.Fatal(err)
		}
		f.expire(clk.now)
		optest.CheckCounter(t, metrics, ExpiredMetric, f.expired)
	}
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func specName(s *jobgraph.DedupSpec) string {
	return fmt.Sprintf("keys%v_last%v_proc%v_ub%v_ttl%d", s.Keys, s.KeepLast, s.ProcTime, s.EmitUpdateBefore, s.TTLMs)
}

func TestRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 32; i++ {
		spec := randomSpec(r)
		t.Run(fmt.Sprintf("%d_%s", i, specName(spec)), func(t *testing.T) { runRandom(t, r, spec, 2500) })
	}
}

// TestEveryMode runs each keep/time/update-before combination.
func TestEveryMode(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, last := range []bool{false, true} {
		for _, proc := range []bool{false, true} {
			for _, ub := range []bool{false, true} {
				spec := randomSpec(r)
				spec.KeepLast, spec.ProcTime, spec.EmitUpdateBefore = last, proc, ub
				spec.TimeColumn = tsCol
				if proc {
					spec.TimeColumn = -1
				}
				t.Run(specName(spec), func(t *testing.T) { runRandom(t, r, spec, 1500) })
			}
		}
	}
}

// TestTTL drives a fake clock: keys idle for the TTL are dropped and
// counted, and start afresh; tiny limits make compaction and table
// rebuilds happen.
func TestTTL(t *testing.T) {
	defer func(c, k int) { compactMinBytes, rebuildMinKeys = c, k }(compactMinBytes, rebuildMinKeys)
	compactMinBytes, rebuildMinKeys = 64, 2
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 24; i++ {
		spec := randomSpec(r)
		spec.TTLMs = int64(10 + r.IntN(300))
		t.Run(fmt.Sprintf("%d_%s", i, specName(spec)), func(t *testing.T) { runRandom(t, r, spec, 2000) })
	}
}

// TestCompaction exercises compaction without a TTL.
func TestCompaction(t *testing.T) {
	defer func(c int) { compactMinBytes = c }(compactMinBytes)
	compactMinBytes = 64
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 8; i++ {
		spec := randomSpec(r)
		spec.KeepLast = true
		t.Run(specName(spec), func(t *testing.T) { runRandom(t, r, spec, 2000) })
	}
}

func TestErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	base := func() *jobgraph.DedupSpec {
		return &jobgraph.DedupSpec{Keys: []int{0}, TimeColumn: tsCol}
	}
	specErr := func(name string, mod func(*jobgraph.DedupSpec), want string) {
		t.Helper()
		s := base()
		mod(s)
		if _, err := New(makeSpec(s)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", name, err, want)
		}
	}
	specErr("retracting input", func(s *jobgraph.DedupSpec) { s.InputRetracts = true }, "dedup dedup1: deduplication takes append-only input")
	specErr("no time", func(s *jobgraph.DedupSpec) { s.TimeColumn = -1 }, "no time column")
	specErr("ttl", func(s *jobgraph.DedupSpec) { s.TTLMs = -5 }, "state TTL -5 ms is negative")
	if _, err := New(&jobgraph.OperatorSpec{ID: "x"}); err == nil {
		t.Error("no dedup part: no error")
	}

	rec := buildBatch(t, mem, []row{{int64(1), "a", arrow.Timestamp(3), int32(1)}, {int64(1), "a", arrow.Timestamp(4), int32(1)}})
	defer rec.Release()
	run := func(s *jobgraph.DedupSpec, b stream.Batch) error {
		op, err := New(makeSpec(s))
		if err != nil {
			t.Fatal(err)
		}
		oc, _ := optest.NewContext(mem, nil)
		ctx := context.Background()
		if err := op.Open(ctx, oc); err != nil {
			t.Fatal(err)
		}
		defer op.Close(ctx)
		return op.ProcessBatch(ctx, 0, b, &changelog{})
	}
	check := func(name string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", name, err, want)
		}
	}
	check("retraction", run(base(), stream.Batch{Record: rec, Kinds: []stream.RowKind{stream.Insert, stream.UpdateBefore}}),
		"dedup dedup1: row 1 is -U: deduplication takes append-only input")
	s := base()
	s.TimeColumn = 3
	check("time type", run(s, stream.Batch{Record: rec}), "time column 3 (v) is int32, want TIMESTAMP(3)")
	s = base()
	s.TimeColumn = 7
	check("time range", run(s, stream.Batch{Record: rec}), "time column 7 is out of range")
	s = base()
	s.Keys = []int{4}
	check("key range", run(s, stream.Batch{Record: rec}), "key column 4 is out of range")
}

var _ operator.ProcessingTimeHandler = (*ttlOperator)(nil)
