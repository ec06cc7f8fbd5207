package lookupjoin_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/filesystem"
	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/lookupjoin"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

var (
	inSchema = types.Schema{Fields: []types.Field{
		{Name: "id", Type: types.BigIntType}, {Name: "k", Type: types.IntType}, {Name: "x", Type: types.BigIntType},
	}}
	dimSchema = types.Schema{Fields: []types.Field{
		{Name: "dk", Type: types.IntType}, {Name: "name", Type: types.StringType}, {Name: "price", Type: types.BigIntType},
	}}
)

// Reference rows: nil is NULL.
type inRow struct {
	id   int64
	k    *int32
	x    int64
	kind stream.RowKind
}

type dimRow struct {
	dk    *int32
	name  *string
	price int64
}

func ip(v int32) *int32   { return &v }
func sp(v string) *string { return &v }

func render(v any) string {
	switch v := v.(type) {
	case *int32:
		if v == nil {
			return "null"
		}
		return strconv.Itoa(int(*v))
	case *string:
		if v == nil {
			return "null"
		}
		return strconv.Quote(*v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return "null"
}

// reference joins every input row with the dimension rows of equal key
// (a nested loop over the rows that share the key's low bits, to stay fast
// on big tables), in input order then dimension order.
func reference(in []inRow, dim []dimRow, left, residual bool) []string {
	var out []string
	var buckets [1024][]dimRow
	for _, d := range dim {
		if d.dk != nil {
			buckets[*d.dk&1023] = append(buckets[*d.dk&1023], d)
		}
	}
	for _, r := range in {
		head := fmt.Sprintf("%s %d|%s|%d", r.kind, r.id, render(r.k), r.x)
		matched := false
		var cands []dimRow
		if r.k != nil {
			cands = buckets[*r.k&1023]
		}
		for _, d := range cands {
			if r.k == nil || d.dk == nil || *r.k != *d.dk {
				continue
			}
			if residual && !(d.price > r.x) {
				continue
			}
			matched = true
			out = append(out, head+"|"+render(d.dk)+"|"+render(d.name)+"|"+render(d.price))
		}
		if !matched && left {
			out = append(out, head+"|null|null|null")
		}
	}
	return out
}

// collector renders every emitted row with its kind.
type collector struct{ rows []string }

func (c *collector) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	for i := 0; i < b.NumRows(); i++ {
		cols := make([]string, b.Record.NumCols())
		for j := range cols {
			cols[j] = optest.RenderValue(b.Record.Column(j), i)
		}
		c.rows = append(c.rows, b.Kind(i).String()+" "+strings.Join(cols, "|"))
	}
	return nil
}

func inBatch(mem memory.Allocator, rows []inRow) stream.Batch {
	b := array.NewRecordBuilder(mem, inSchema.Arrow())
	defer b.Release()
	kinds := make([]stream.RowKind, len(rows))
	for i, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.id)
		if r.k == nil {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Int32Builder).Append(*r.k)
		}
		b.Field(2).(*array.Int64Builder).Append(r.x)
		kinds[i] = r.kind
	}
	return stream.Batch{Record: b.NewRecordBatch(), Kinds: kinds}
}

// fakeLookup is a lookup connector over dim rows that counts its calls.
type fakeLookup struct {
	t     *testing.T
	mem   memory.Allocator
	dim   []dimRow
	calls int
	keys  map[int32]int // times each key was looked up
	index map[int32][]int
}

func (f *fakeLookup) Name() string                     { return "fake" }
func (f *fakeLookup) Options() []connectors.OptionSpec { return nil }
func (f *fakeLookup) NewLookup(ctx context.Context, info connectors.TableInfo, keys []int, rc connectors.ReaderContext) (connectors.Lookuper, error) {
	if len(keys) != 1 || keys[0] != 0 {
		return nil, fmt.Errorf("keys %v", keys)
	}
	return f, nil
}
func (f *fakeLookup) Close() error { return nil }

func (f *fakeLookup) Lookup(ctx context.Context, keys arrow.RecordBatch) (arrow.RecordBatch, []int32, error) {
	f.calls++
	kc := keys.Column(0).(*array.Int32)
	seen := map[int32]bool{}
	b := array.NewRecordBuilder(f.mem, dimSchema.Arrow())
	defer b.Release()
	var keyRow []int32
	for i := 0; i < kc.Len(); i++ {
		if kc.IsNull(i) {
			f.t.Errorf("NULL key looked up")
			continue
		}
		k := kc.Value(i)
		if seen[k] {
			f.t.Errorf("key %d twice in one lookup", k)
		}
		seen[k] = true
		f.keys[k]++
		if f.index == nil {
			f.index = map[int32][]int{}
			for j, d := range f.dim {
				if d.dk != nil {
					f.index[*d.dk] = append(f.index[*d.dk], j)
				}
			}
		}
		for _, j := range f.index[k] {
			if d := f.dim[j]; d.dk != nil && *d.dk == k {
				b.Field(0).(*array.Int32Builder).Append(*d.dk)
				if d.name == nil {
					b.Field(1).AppendNull()
				} else {
					b.Field(1).(*array.StringBuilder).Append(*d.name)
				}
				b.Field(2).(*array.Int64Builder).Append(d.price)
				keyRow = append(keyRow, int32(i))
			}
		}
	}
	return b.NewRecordBatch(), keyRow, nil
}

func spec(left, residual bool, ttl, maxRows int64, conn string) *jobgraph.OperatorSpec {
	out := types.Schema{Fields: append(append([]types.Field{}, inSchema.Fields...), dimSchema.Fields...)}
	ls := &jobgraph.LookupJoinSpec{
		Left: left, Keys: []int{1}, DimKeys: []int{0}, CacheTTLMs: ttl, CacheMaxRows: maxRows,
		Dim: jobgraph.TableRef{Table: "dim", Connector: conn, Schema: dimSchema, Options: map[string]string{}},
	}
	if residual {
		ls.Residual = expr.Call(expr.FuncGt, types.BooleanType, expr.Col(5, types.BigIntType), expr.Col(2, types.BigIntType))
	}
	return &jobgraph.OperatorSpec{ID: "lj", Output: out, LookupJoin: ls}
}

func randomDim(r *rand.Rand, keys int) []dimRow {
	var dim []dimRow
	for i := 0; i < keys*2; i++ {
		d := dimRow{price: r.Int64N(100)}
		if r.IntN(10) != 0 {
			d.dk = ip(int32(r.IntN(keys)))
		}
		if r.IntN(5) != 0 {
			d.name = sp(fmt.Sprintf("g%d", r.IntN(1000)))
		}
		dim = append(dim, d)
	}
	return dim
}

func randomInput(r *rand.Rand, n, keys int) []inRow {
	in := make([]inRow, n)
	for i := range in {
		in[i] = inRow{id: int64(i), x: r.Int64N(100), kind: stream.RowKind(r.IntN(4))}
		if r.IntN(8) != 0 {
			in[i].k = ip(int32(r.IntN(keys + 5))) // some keys the table lacks
		}
	}
	return in
}

type harness struct {
	t   *testing.T
	mem *memory.CheckedAllocator
	op  operator.Operator
	out *collector
	m   *optest.Metrics
	now int64
}

func open(t *testing.T, mem *memory.CheckedAllocator, sp *jobgraph.OperatorSpec, factory connectors.Factory) *harness {
	t.Helper()
	op, err := lookupjoin.New(sp)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, mem: mem, op: op, out: &collector{}}
	oc, m := optest.NewContext(mem, nil)
	h.m = m
	oc.Now = func() int64 { return h.now }
	oc.Connector = func(name string) (any, bool) {
		if name == factory.Name() {
			return factory, true
		}
		return nil, false
	}
	if err := op.Open(context.Background(), oc); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) feed(rows []inRow) {
	h.t.Helper()
	b := inBatch(h.mem, rows)
	err := h.op.ProcessBatch(context.Background(), 0, b, h.out)
	b.Release()
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) close() {
	h.t.Helper()
	if err := h.op.Close(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func same(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		n := 0
		for n < len(got) && n < len(want) && got[n] == want[n] {
			n++
		}
		t.Fatalf("got %d rows, want %d; first difference at row %d:\ngot  %v\nwant %v", len(got), len(want), n,
			got[n:min(n+3, len(got))], want[n:min(n+3, len(want))])
	}
}

// TestLookupRandom joins random changelog input (NULL keys, keys the
// table lacks, several rows per key) against a fake lookup connector with
// random cache settings and checks the rows, in order, against a nested
// loop over the dimension rows; the cache must never look a key up twice
// while it holds it.
func TestLookupRandom(t *testing.T) {
	for seed := uint64(0); seed < 24; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		left, residual := r.IntN(2) == 0, r.IntN(2) == 0
		ttl := []int64{0, 0, 50, 1000}[r.IntN(4)]
		maxRows := []int64{0, 0, 3, 20}[r.IntN(4)]
		t.Run(fmt.Sprintf("seed=%d/left=%v/residual=%v/ttl=%d/max=%d", seed, left, residual, ttl, maxRows), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			keys := 1 + r.IntN(40)
			f := &fakeLookup{t: t, mem: mem, dim: randomDim(r, keys), keys: map[int32]int{}}
			h := open(t, mem, spec(left, residual, ttl, maxRows, "fake"), f)
			in := randomInput(r, 300+r.IntN(1500), keys)
			batches := 0
			for rest := in; len(rest) > 0; batches++ {
				n := min(len(rest), optest.RandomBatchSize(r)%300+1)
				h.feed(rest[:n])
				rest = rest[n:]
				h.now += r.Int64N(20)
			}
			h.close()
			same(t, h.out.rows, reference(in, f.dim, left, residual))
			if f.calls > batches {
				t.Fatalf("%d lookups for %d batches", f.calls, batches)
			}
			if ttl == 0 && maxRows == 0 {
				for k, n := range f.keys {
					if n != 1 {
						t.Fatalf("key %d looked up %d times with an unbounded cache", k, n)
					}
				}
			}
			hits, misses := h.m.Value(lookupjoin.CacheHitsMetric), h.m.Value(lookupjoin.CacheMissesMetric)
			nonNull := 0
			for _, row := range in {
				if row.k != nil {
					nonNull++
				}
			}
			if int(hits+misses) != nonNull || h.m.Value(lookupjoin.LookupsMetric) != float64(f.calls) {
				t.Fatalf("hits %v + misses %v != %d rows with a key, or lookups %v != %d calls", hits, misses, nonNull, h.m.Value(lookupjoin.LookupsMetric), f.calls)
			}
		})
	}
}

// TestLookupCacheTTLAndSize checks expire-after-write with a fake clock and
// the bound on cached keys.
func TestLookupCacheTTLAndSize(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f := &fakeLookup{t: t, mem: mem, dim: []dimRow{{ip(1), sp("rose"), 10}, {ip(2), sp("car"), 20}, {ip(3), sp("ship"), 30}}, keys: map[int32]int{}}
	h := open(t, mem, spec(false, false, 100, 2, "fake"), f)
	row := func(id int64, k int32) inRow { return inRow{id: id, k: ip(k), x: 0} }
	h.feed([]inRow{row(1, 1), row(2, 1)}) // one lookup of key 1
	f.dim[0].price = 11                   // the table changes
	h.now = 99
	h.feed([]inRow{row(3, 1)}) // cached: still 10
	h.now = 100
	h.feed([]inRow{row(4, 1)}) // expired: 11
	h.feed([]inRow{row(5, 2), row(6, 3)})
	h.feed([]inRow{row(7, 1)}) // evicted: three keys, at most two
	h.close()
	same(t, h.out.rows, []string{
		`+I 1|1|0|1|"rose"|10`, `+I 2|1|0|1|"rose"|10`, `+I 3|1|0|1|"rose"|10`, `+I 4|1|0|1|"rose"|11`,
		`+I 5|2|0|2|"car"|20`, `+I 6|3|0|3|"ship"|30`, `+I 7|1|0|1|"rose"|11`,
	})
	optest.CheckCounter(t, h.m, lookupjoin.LookupsMetric, 4)
	optest.CheckCounter(t, h.m, lookupjoin.CacheHitsMetric, 1)
	optest.CheckCounter(t, h.m, lookupjoin.CacheMissesMetric, 6)
}

// writeCSV writes the dimension rows as a csv file.
func writeCSV(t *testing.T, path string, dim []dimRow) {
	t.Helper()
	var sb strings.Builder
	for _, d := range dim {
		if d.dk != nil {
			sb.WriteString(strconv.Itoa(int(*d.dk)))
		}
		sb.WriteByte(',')
		if d.name != nil {
			sb.WriteString(*d.name)
		}
		fmt.Fprintf(&sb, ",%d\n", d.price)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLookupFilesystemTable joins against a csv file on disk through the
// filesystem connector (read whole, no lookup support), and reloads it
// when the TTL passes.
func TestLookupFilesystemTable(t *testing.T) {
	for seed := uint64(0); seed < 8; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		left, residual := r.IntN(2) == 0, r.IntN(2) == 0
		t.Run(fmt.Sprintf("seed=%d/left=%v/residual=%v", seed, left, residual), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := filepath.Join(t.TempDir(), "catalog.csv")
			keys := 1 + r.IntN(50)
			dim := randomDim(r, keys)
			for i := range dim {
				if dim[i].name == nil {
					dim[i].name = sp("") // csv reads an empty STRING field as ''
				}
			}
			writeCSV(t, path, dim)
			sp := spec(left, residual, 1000, 0, "filesystem")
			sp.LookupJoin.Dim.Options = map[string]string{"connector": "filesystem", "path": path, "format": "csv"}
			h := open(t, mem, sp, filesystem.New())
			in := randomInput(r, 500+r.IntN(1000), keys)
			half := len(in) / 2
			for rest := in[:half]; len(rest) > 0; {
				n := min(len(rest), 1+r.IntN(200))
				h.feed(rest[:n])
				rest = rest[n:]
			}
			want := reference(in[:half], dim, left, residual)
			// A new version of the file is seen after the TTL only.
			dim2 := randomDim(r, keys)
			for i := range dim2 {
				if dim2[i].name == nil {
					dim2[i].name = sp2("")
				}
			}
			writeCSV(t, path, dim2)
			h.now = 999
			h.feed(in[half : half+1])
			want = append(want, reference(in[half:half+1], dim, left, residual)...)
			h.now = 1000
			h.feed(in[half+1:])
			want = append(want, reference(in[half+1:], dim2, left, residual)...)
			h.close()
			same(t, h.out.rows, want)
			optest.CheckCounter(t, h.m, lookupjoin.ReloadsMetric, 2)
		})
	}
}

func sp2(v string) *string { return &v }

// TestLookupManyKeys streams far more keys than the cache may hold, so
// that evicted keys are compacted away and the hash table is rebuilt.
func TestLookupManyKeys(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(5, 5))
	const keys = 30000
	var dim []dimRow
	for k := 0; k < keys; k++ {
		for j := 0; j < 1+k%3; j++ {
			dim = append(dim, dimRow{dk: ip(int32(k)), name: sp(fmt.Sprint(j)), price: int64(k % 97)})
		}
	}
	f := &fakeLookup{t: t, mem: mem, dim: dim, keys: map[int32]int{}}
	h := open(t, mem, spec(true, true, 0, 500, "fake"), f)
	in := randomInput(r, 60000, keys)
	for i := range in {
		if i%3 == 0 && in[i].k != nil {
			in[i].k = ip(int32(i % 700)) // a hot set that stays cached
		}
	}
	for rest := in; len(rest) > 0; {
		n := min(len(rest), 1+r.IntN(1000))
		h.feed(rest[:n])
		rest = rest[n:]
	}
	h.close()
	same(t, h.out.rows, reference(in, dim, true, true))
	if h.m.Value(lookupjoin.CacheHitsMetric) == 0 {
		t.Fatal("no cache hits")
	}
}
