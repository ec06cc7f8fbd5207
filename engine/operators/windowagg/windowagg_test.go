package windowagg_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operators/windowagg"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// trow is one input row of the test schema.
type trow struct {
	k1   int64
	k2   string
	vi   int32
	vb   int64
	vd   float64
	vdec int64 // unscaled, scale 2
	vs   string
	vbo  bool
	vts  int64
	ts   int64
	// null flags, by column index
	null [10]bool
}

// Input columns.
const (
	cK1 = iota
	cK2
	cVI
	cVB
	cVD
	cVDec
	cVS
	cVBo
	cVTs
	cTs
)

var inTypes = []types.Type{
	types.BigIntType, types.StringType, types.IntType, types.BigIntType, types.DoubleType,
	types.DecimalType(10, 2), types.StringType, types.BooleanType, types.TimestampType, types.TimestampType,
}

var inNames = []string{"k1", "k2", "vi", "vb", "vd", "vdec", "vs", "vbo", "vts", "ts"}

func inSchema() types.Schema {
	var s types.Schema
	for i, t := range inTypes {
		s.Fields = append(s.Fields, types.Field{Name: inNames[i], Type: t})
	}
	return s
}

// testAggs is every aggregate function over every type it accepts.
var testAggs = []jobgraph.AggCall{
	{Func: jobgraph.CountStar, Arg: -1, Type: types.Type{Kind: types.BigInt, NotNull: true}, Name: "cnt"},
	{Func: jobgraph.Count, Arg: cVI, Type: types.Type{Kind: types.BigInt, NotNull: true}, Name: "cnt_vi"},
	{Func: jobgraph.Count, Arg: cVS, Type: types.Type{Kind: types.BigInt, NotNull: true}, Name: "cnt_vs"},
	{Func: jobgraph.Sum, Arg: cVI, Type: types.IntType, Name: "sum_vi"},
	{Func: jobgraph.Sum, Arg: cVI, Type: types.BigIntType, Name: "sum_vi_big"},
	{Func: jobgraph.Sum, Arg: cVB, Type: types.BigIntType, Name: "sum_vb"},
	{Func: jobgraph.Sum, Arg: cVD, Type: types.DoubleType, Name: "sum_vd"},
	{Func: jobgraph.Sum, Arg: cVDec, Type: types.DecimalType(38, 2), Name: "sum_vdec"},
	{Func: jobgraph.Avg, Arg: cVI, Type: types.IntType, Name: "avg_vi"},
	{Func: jobgraph.Avg, Arg: cVB, Type: types.BigIntType, Name: "avg_vb"},
	{Func: jobgraph.Avg, Arg: cVD, Type: types.DoubleType, Name: "avg_vd"},
	{Func: jobgraph.Avg, Arg: cVDec, Type: types.DecimalType(38, 6), Name: "avg_vdec"},
	{Func: jobgraph.Min, Arg: cVI, Type: types.IntType, Name: "min_vi"},
	{Func: jobgraph.Max, Arg: cVI, Type: types.IntType, Name: "max_vi"},
	{Func: jobgraph.Min, Arg: cVB, Type: types.BigIntType, Name: "min_vb"},
	{Func: jobgraph.Max, Arg: cVB, Type: types.BigIntType, Name: "max_vb"},
	{Func: jobgraph.Min, Arg: cVD, Type: types.DoubleType, Name: "min_vd"},
	{Func: jobgraph.Max, Arg: cVD, Type: types.DoubleType, Name: "max_vd"},
	{Func: jobgraph.Min, Arg: cVDec, Type: types.DecimalType(10, 2), Name: "min_vdec"},
	{Func: jobgraph.Max, Arg: cVDec, Type: types.DecimalType(10, 2), Name: "max_vdec"},
	{Func: jobgraph.Min, Arg: cVS, Type: types.StringType, Name: "min_vs"},
	{Func: jobgraph.Max, Arg: cVS, Type: types.StringType, Name: "max_vs"},
	{Func: jobgraph.Min, Arg: cVBo, Type: types.BooleanType, Name: "min_vbo"},
	{Func: jobgraph.Max, Arg: cVBo, Type: types.BooleanType, Name: "max_vbo"},
	{Func: jobgraph.Min, Arg: cVTs, Type: types.TimestampType, Name: "min_vts"},
	{Func: jobgraph.Max, Arg: cVTs, Type: types.TimestampType, Name: "max_vts"},
}

func makeSpec(keys []int, aggs []jobgraph.AggCall, w jobgraph.WindowSpec) *jobgraph.OperatorSpec {
	var out types.Schema
	for _, k := range keys {
		out.Fields = append(out.Fields, types.Field{Name: inNames[k], Type: inTypes[k]})
	}
	ts := types.Type{Kind: types.Timestamp, Precision: 3, NotNull: true}
	out.Fields = append(out.Fields, types.Field{Name: "window_start", Type: ts}, types.Field{Name: "window_end", Type: ts})
	for _, a := range aggs {
		out.Fields = append(out.Fields, types.Field{Name: a.Name, Type: a.Type})
	}
	return &jobgraph.OperatorSpec{ID: "agg1", Name: "window agg", Output: out,
		WindowAgg: &jobgraph.WindowAggSpec{Window: w, GroupKeys: keys, Aggs: aggs}}
}

var k2Values = []string{"", "a", "b", "ab", "é", "a|b", "x\x00y", "long string value number seven"}

// gen makes rows whose rowtimes advance from *base with disorder up to
// delay, plus some NULL rowtimes and some rows far behind the watermark.
type gen struct {
	r        *rand.Rand
	base     int64
	step     int64
	delay    int64
	keys     int
	nullRate int // percent
	lateRate int // percent
	size     int64
}

func (g *gen) row(wm int64) trow {
	r := g.r
	var t trow
	g.base += r.Int64N(g.step + 1)
	t.ts = g.base - r.Int64N(g.delay+1)
	if wm != stream.MinWatermark && r.IntN(100) < g.lateRate {
		t.ts = wm - r.Int64N(3*g.size)
	}
	t.k1 = int64(r.IntN(g.keys))
	t.k2 = k2Values[r.IntN(len(k2Values))]
	t.vi = int32(r.Int64N(1<<31) - 1<<30)
	t.vb = r.Int64N(2_000_000) - 1_000_000
	if r.IntN(50) == 0 {
		t.vb = r.Int64N(1<<62) * int64(1-2*r.IntN(2)) // sums wrap
	}
	t.vd = float64(r.IntN(4_000_000)-2_000_000) * 0.25
	t.vdec = r.Int64N(2_000_000_000) - 1_000_000_000
	t.vs = strconv.Itoa(r.IntN(1000)) + "ü"[:r.IntN(2)*2]
	t.vbo = r.IntN(3) == 0
	t.vts = g.base + r.Int64N(1_000_000) - 500_000
	for c := range t.null {
		if c == cTs {
			t.null[c] = r.IntN(100) == 0
		} else {
			t.null[c] = r.IntN(100) < g.nullRate
		}
	}
	return t
}

// record builds an Arrow record of rows.
func record(t testing.TB, mem memory.Allocator, rows []trow) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, inSchema().Arrow())
	defer b.Release()
	for _, row := range rows {
		for c := range inTypes {
			optest.Append(t, b.Field(c), row.value(c))
		}
	}
	return b.NewRecordBatch()
}

// reference is the row-at-a-time model of the operator: rows are kept per
// (group key, window) and aggregated at the end with plain loops. A row
// joins every window holding its rowtime that has not fired (end - 1 >
// watermark) when it arrives; a row that joins none is late.
type reference struct {
	w           jobgraph.WindowSpec
	keys        []int
	groups      map[string][]trow
	late, nulls int
}

func newReference(w jobgraph.WindowSpec, keys []int) *reference {
	return &reference{w: w, keys: keys, groups: map[string][]trow{}}
}

func floorMod(a, b int64) int64 { return ((a % b) + b) % b }

// windowsOf lists the windows [start, end) holding time ts, straight from
// the definitions of the window kinds.
func windowsOf(w jobgraph.WindowSpec, ts int64) [][2]int64 {
	var out [][2]int64
	switch w.Kind {
	case jobgraph.Tumble:
		start := ts - floorMod(ts-w.OffsetMs, w.SizeMs)
		out = append(out, [2]int64{start, start + w.SizeMs})
	case jobgraph.Hop:
		// Windows start at offset + k*slide; those with start <= ts <
		// start + size hold ts.
		for a := ts - floorMod(ts-w.OffsetMs, w.SlideMs); a+w.SizeMs > ts; a -= w.SlideMs {
			out = append(out, [2]int64{a, a + w.SizeMs})
		}
	case jobgraph.Cumulate:
		// Periods start at offset + k*max; their windows end every step.
		p := ts - floorMod(ts-w.OffsetMs, w.SizeMs)
		for e := p + w.SlideMs; e <= p+w.SizeMs; e += w.SlideMs {
			if e > ts {
				out = append(out, [2]int64{p, e})
			}
		}
	}
	return out
}

func (m *reference) add(t trow, wm int64) {
	if t.null[cTs] {
		m.nulls++
		return
	}
	var key []string
	for _, k := range m.keys {
		key = append(key, cell(t, k))
	}
	joined := false
	for _, w := range windowsOf(m.w, t.ts) {
		if w[1]-1 <= wm {
			continue // fired
		}
		id := strings.Join(append(key[:len(key):len(key)], strconv.FormatInt(w[0], 10), strconv.FormatInt(w[1], 10)), "|")
		m.groups[id] = append(m.groups[id], t)
		joined = true
	}
	if !joined {
		m.late++
	}
}

// value returns column c of t as optest.Append takes it (nil for NULL).
func (t trow) value(c int) any {
	if t.null[c] {
		return nil
	}
	switch c {
	case cK1:
		return t.k1
	case cK2:
		return t.k2
	case cVI:
		return t.vi
	case cVB:
		return t.vb
	case cVD:
		return t.vd
	case cVDec:
		return optest.Dec{Unscaled: t.vdec, Scale: 2}
	case cVS:
		return t.vs
	case cVBo:
		return t.vbo
	case cVTs:
		return arrow.Timestamp(t.vts)
	case cTs:
		return arrow.Timestamp(t.ts)
	}
	panic("bad column")
}

// cell renders column c of t as optest.RenderValue does.
func cell(t trow, c int) string { return optest.Render(t.value(c)) }

// aggregate computes one aggregate over rows, row by row.
func aggregate(c jobgraph.AggCall, rows []trow) string {
	if c.Filter != nil {
		var kept []trow
		for _, t := range rows {
			if !t.null[*c.Filter] && t.value(*c.Filter).(bool) {
				kept = append(kept, t)
			}
		}
		rows = kept
	}
	if c.Func == jobgraph.CountStar {
		return strconv.Itoa(len(rows))
	}
	var vals []trow
	seen := map[string]bool{}
	for _, t := range rows {
		if t.null[c.Arg] {
			continue
		}
		if c.Distinct || c.Func == jobgraph.ApproxCountDistinct {
			if v := cell(t, c.Arg); seen[v] {
				continue
			} else {
				seen[v] = true
			}
		}
		vals = append(vals, t)
	}
	switch c.Func {
	case jobgraph.FirstValue, jobgraph.LastValue:
		if len(vals) == 0 {
			return "null"
		}
		if c.Func == jobgraph.FirstValue {
			return cell(vals[0], c.Arg)
		}
		return cell(vals[len(vals)-1], c.Arg)
	case jobgraph.ApproxCountDistinct:
		return strconv.Itoa(len(vals))
	}
	if c.Func == jobgraph.Count {
		return strconv.Itoa(len(vals))
	}
	if len(vals) == 0 {
		return "null"
	}
	n := int64(len(vals))
	switch c.Func {
	case jobgraph.Sum, jobgraph.Avg:
		avg := c.Func == jobgraph.Avg
		switch c.Arg {
		case cVI:
			var s32 int32
			var s64 int64
			for _, t := range vals {
				s32 += t.vi
				s64 += int64(t.vi)
			}
			switch {
			case avg:
				return strconv.FormatInt(int64(int32(s64/n)), 10)
			case c.Type.Kind == types.Int:
				return strconv.FormatInt(int64(s32), 10)
			}
			return strconv.FormatInt(s64, 10)
		case cVB:
			var s int64
			for _, t := range vals {
				s += t.vb
			}
			if avg {
				s /= n
			}
			return strconv.FormatInt(s, 10)
		case cVD:
			var s float64
			for _, t := range vals {
				s += t.vd
			}
			if avg {
				s /= float64(n)
			}
			return optest.Float(s)
		case cVDec:
			s := new(big.Int)
			for _, t := range vals {
				s.Add(s, big.NewInt(t.vdec))
			}
			if avg {
				return new(big.Rat).SetFrac(s, big.NewInt(n*100)).FloatString(6)
			}
			return optest.Decimal(s, 2)
		}
	case jobgraph.Min, jobgraph.Max:
		best := vals[0]
		for _, t := range vals[1:] {
			if less(t, best, c.Arg) == (c.Func == jobgraph.Min) && !equal(t, best, c.Arg) {
				best = t
			}
		}
		return cell(best, c.Arg)
	}
	panic("unknown aggregate")
}

func less(a, b trow, c int) bool {
	switch c {
	case cVI:
		return a.vi < b.vi
	case cVB:
		return a.vb < b.vb
	case cVD:
		return a.vd < b.vd
	case cVDec:
		return a.vdec < b.vdec
	case cVS:
		return a.vs < b.vs
	case cVBo:
		return !a.vbo && b.vbo
	case cVTs:
		return a.vts < b.vts
	}
	panic("bad column")
}

func equal(a, b trow, c int) bool { return !less(a, b, c) && !less(b, a, c) }

func (m *reference) rows(aggs []jobgraph.AggCall) []string {
	var out []string
	for id, rows := range m.groups {
		parts := []string{id}
		for _, c := range aggs {
			parts = append(parts, aggregate(c, rows))
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

// randomWindow returns a random window of kind (TUMBLE when empty): sizes
// from 1 s to 1 min, 2 to 12 slides (steps) per window, and half the time
// an offset, possibly negative or larger than the slide.
func randomWindow(r *rand.Rand, kind jobgraph.WindowKind) jobgraph.WindowSpec {
	sizes := []int64{1000, 7000, 60_000}
	w := jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: cTs, SizeMs: sizes[r.IntN(len(sizes))]}
	if kind == jobgraph.Hop || kind == jobgraph.Cumulate {
		w.Kind = kind
		w.SlideMs = w.SizeMs
		w.SizeMs *= []int64{2, 3, 4, 12}[r.IntN(4)]
	}
	if r.IntN(2) == 0 && kind != jobgraph.Cumulate || r.IntN(4) == 0 {
		w.OffsetMs = r.Int64N(2*w.SizeMs-1) - w.SizeMs + 1
	}
	return w
}

type runConfig struct {
	kind   jobgraph.WindowKind // of the random window, when window is zero
	seed   uint64
	limit  int // buffer limit; 0 = default
	keys   []int
	aggs   []jobgraph.AggCall
	owned  keygroup.Range // zero = all key groups
	steps  int
	window jobgraph.WindowSpec
}

// runRandom drives the operator with random batches and watermarks and
// checks it against the reference: same rows (as multisets), each emitted
// by the first watermark that completes its window, in window-end order,
// and exact late and NULL-rowtime counts.
func runRandom(t *testing.T, rc runConfig) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(rc.seed, 99))

	w := rc.window
	if w.Kind == "" {
		w = randomWindow(r, rc.kind)
	}
	spec := makeSpec(rc.keys, rc.aggs, w)
	op, err := windowagg.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	if rc.limit > 0 {
		cfg[windowagg.BufferLimitOption] = strconv.Itoa(rc.limit)
	}
	oc, metrics := optest.NewContext(mem, cfg)
	if rc.owned != (keygroup.Range{}) {
		oc.KeyGroups = rc.owned
	}
	d := optest.NewDriver(t, op, oc)
	ref := newReference(w, rc.keys)
	g := &gen{r: r, base: r.Int64N(2_000_000_000_000) - 1_000_000_000_000, step: 1 + r.Int64N(w.SizeMs/50+1),
		delay: r.Int64N(3 * w.SizeMs), keys: 1 + r.IntN([]int{5, 50, 300}[r.IntN(3)]), nullRate: r.IntN(20), lateRate: r.IntN(5), size: w.SizeMs}
	kgCache := map[string]int{}
	maxTs := stream.MinWatermark
	// Half the runs come in bursts, with gaps of up to 20 windows between
	// them.
	bursts := r.IntN(2) == 0
	for step := 0; step < rc.steps; step++ {
		if bursts && r.IntN(3) == 0 {
			g.base += r.Int64N(20 * w.SizeMs)
		}
		n := optest.RandomBatchSize(r)
		rows := make([]trow, 0, n)
		for len(rows) < n {
			row := g.row(d.Watermark())
			if rc.owned != (keygroup.Range{}) {
				id := fmt.Sprint(cell(row, cK1), cell(row, cK2))
				kg, ok := kgCache[id]
				if !ok {
					kg = keyGroupOf(t, mem, row, rc.keys)
					kgCache[id] = kg
				}
				if !rc.owned.Contains(kg) {
					continue
				}
			}
			rows = append(rows, row)
		}
		for _, row := range rows {
			ref.add(row, d.Watermark())
			if !row.null[cTs] {
				maxTs = max(maxTs, row.ts)
			}
		}
		d.Batch(record(t, mem, rows))
		// Sometimes a watermark, and sometimes one that does not advance.
		if r.IntN(3) == 0 && maxTs != stream.MinWatermark {
			if next := maxTs - g.delay - 1; next > d.Watermark() || r.IntN(4) == 0 {
				d.Advance(next)
			}
		}
	}
	d.Advance(stream.MaxWatermark)
	if left := windowagg.Leftovers(op); left != "" {
		t.Errorf("after the final watermark the operator still holds %s", left)
	}
	if err := op.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	want := ref.rows(rc.aggs)
	if len(want) == 0 {
		t.Fatal("reference produced no rows: test data is broken")
	}
	optest.AssertSameRows(t, d.Out.Texts(), want)
	d.CheckWindowTiming(len(rc.keys) + 1)
	optest.CheckCounter(t, metrics, windowagg.LateRecordsMetric, ref.late)
	optest.CheckCounter(t, metrics, windowagg.NullRowtimeMetric, ref.nulls)
	t.Logf("%d rows out, %d late, %d null rowtime, window %+v", len(want), ref.late, ref.nulls, w)
}

// keyGroupOf computes a row's key group the way the hash exchange does.
func keyGroupOf(t *testing.T, mem memory.Allocator, row trow, keys []int) int {
	rec := record(t, mem, []trow{row})
	defer rec.Release()
	cols := make([]arrow.Array, len(keys))
	for i, k := range keys {
		cols[i] = rec.Column(k)
	}
	h := []uint64{0}
	if err := keygroup.HashColumns(cols, h); err != nil {
		t.Fatal(err)
	}
	return keygroup.Of(h[0], optest.MaxParallelism)
}

func TestRandomAgainstReference(t *testing.T) {
	for i := 0; i < 5; i++ {
		for _, limit := range []int{0, 1 + i%10} {
			seed := uint64(100 + i)
			t.Run(fmt.Sprintf("seed%d/limit%d", seed, limit), func(t *testing.T) {
				runRandom(t, runConfig{seed: seed, limit: limit, keys: []int{cK1, cK2}, aggs: testAggs, steps: 20})
			})
		}
	}
}

// filterAggs are aggregates with FILTER (WHERE vbo), next to the same
// calls without it.
var filterAggs = func() []jobgraph.AggCall {
	f := cVBo
	var out []jobgraph.AggCall
	for _, i := range []int{0, 1, 5, 6, 7, 9, 12, 17, 20} {
		c := testAggs[i]
		out = append(out, c)
		c.Filter = &f
		c.Name += "_f"
		out = append(out, c)
	}
	return out
}()

// TestWindowKindsAgainstReference runs every window kind, with and without
// offsets, at buffer limits 1 to 10 (spilling slices and, for HOP, suffix
// aggregates all the time) and the default.
func TestWindowKindsAgainstReference(t *testing.T) {
	for _, kind := range []jobgraph.WindowKind{jobgraph.Tumble, jobgraph.Hop, jobgraph.Cumulate} {
		for limit := 0; limit <= 10; limit++ {
			seed := uint64(300 + limit)
			t.Run(fmt.Sprintf("%s/limit%d", kind, limit), func(t *testing.T) {
				t.Parallel()
				runRandom(t, runConfig{kind: kind, seed: seed, limit: limit, keys: []int{cK1, cK2}, aggs: testAggs, steps: 10})
			})
		}
	}
}

// TestFilter checks FILTER (WHERE ...) on every window kind.
func TestFilter(t *testing.T) {
	for i, kind := range []jobgraph.WindowKind{jobgraph.Tumble, jobgraph.Hop, jobgraph.Cumulate} {
		for _, limit := range []int{0, 4} {
			t.Run(fmt.Sprintf("%s/limit%d", kind, limit), func(t *testing.T) {
				runRandom(t, runConfig{kind: kind, seed: uint64(400 + i), limit: limit, keys: []int{cK1}, aggs: filterAggs, steps: 12})
			})
		}
	}
}

func TestKeyTypes(t *testing.T) {
	aggs := []jobgraph.AggCall{testAggs[0], testAggs[5], testAggs[20]}
	for i, keys := range [][]int{{}, {cVI}, {cVDec}, {cVBo, cVS}, {cVD}, {cVTs, cK1}} {
		for _, limit := range []int{0, 3} {
			t.Run(fmt.Sprintf("keys%v/limit%d", keys, limit), func(t *testing.T) {
				runRandom(t, runConfig{seed: uint64(200 + i), limit: limit, keys: keys, aggs: aggs, steps: 15})
			})
		}
	}
}

// TestOwnedKeyGroups runs a subtask that owns a quarter of the key groups,
// fed only its own keys, through the state path.
func TestOwnedKeyGroups(t *testing.T) {
	runRandom(t, runConfig{seed: 7, limit: 5, keys: []int{cK1, cK2}, aggs: testAggs,
		owned: keygroup.Range{Start: 32, End: 64}, steps: 15})
}

// TestForeignKeyGroups feeds keys outside the owned key groups (an input
// partitioned on other columns): results must still be right.
func TestForeignKeyGroups(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w := jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: cTs, SizeMs: 1000}
	aggs := testAggs[:6]
	op, err := windowagg.New(makeSpec([]int{cK1}, aggs, w))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, map[string]string{windowagg.BufferLimitOption: "2"})
	oc.KeyGroups = keygroup.Range{Start: 0, End: 1}
	d := optest.NewDriver(t, op, oc)
	g := &gen{r: rand.New(rand.NewPCG(1, 2)), base: 0, step: 10, delay: 0, keys: 50, size: 1000}
	ref := newReference(w, []int{cK1})
	var rows []trow
	for i := 0; i < 3000; i++ {
		row := g.row(stream.MinWatermark)
		row.null[cTs] = false
		rows = append(rows, row)
		ref.add(row, stream.MinWatermark)
	}
	for lo := 0; lo < len(rows); lo += 100 {
		d.Batch(record(t, mem, rows[lo:lo+100]))
	}
	d.Finish()
	optest.AssertSameRows(t, d.Out.Texts(), ref.rows(aggs))
}

// TestSpecErrors checks New's errors on bad windows.
func TestSpecErrors(t *testing.T) {
	aggs := testAggs[:2]
	for _, tc := range []struct {
		w    jobgraph.WindowSpec
		want string
	}{
		{jobgraph.WindowSpec{Kind: jobgraph.Tumble, SizeMs: 0}, "agg1: window_agg: TUMBLE size 0 ms must be positive"},
		{jobgraph.WindowSpec{Kind: jobgraph.Tumble, SizeMs: -5}, "TUMBLE size -5 ms must be positive"},
		{jobgraph.WindowSpec{Kind: jobgraph.Tumble, SizeMs: 1000, OffsetMs: 1 << 62}, "TUMBLE offset 4611686018427387904 ms is out of range"},
		{jobgraph.WindowSpec{Kind: jobgraph.Hop, SizeMs: 1000}, "HOP slide 0 ms must be positive"},
		{jobgraph.WindowSpec{Kind: jobgraph.Hop, SizeMs: -1000, SlideMs: 10}, "HOP size -1000 ms must be positive"},
		{jobgraph.WindowSpec{Kind: jobgraph.Hop, SizeMs: 1000, SlideMs: 300}, "HOP size 1000 ms must be a whole multiple of the slide 300 ms"},
		{jobgraph.WindowSpec{Kind: jobgraph.Hop, SizeMs: 1000, SlideMs: 2000}, "HOP size 1000 ms must be a whole multiple of the slide 2000 ms"},
		{jobgraph.WindowSpec{Kind: jobgraph.Cumulate, SizeMs: 1000, SlideMs: 0}, "CUMULATE step 0 ms must be positive"},
		{jobgraph.WindowSpec{Kind: jobgraph.Cumulate, SizeMs: 0, SlideMs: 10}, "CUMULATE max size 0 ms must be positive"},
		{jobgraph.WindowSpec{Kind: jobgraph.Cumulate, SizeMs: 1000, SlideMs: 400}, "CUMULATE max size 1000 ms must be a whole multiple of the step 400 ms"},
		{jobgraph.WindowSpec{Kind: jobgraph.Session, SizeMs: 1000}, "SESSION windows are aggregated by the session aggregate, not window_agg"},
		{jobgraph.WindowSpec{Kind: "sliding", SizeMs: 1000}, `unknown window kind "sliding"`},
	} {
		tc.w.TimeColumn = cTs
		_, err := windowagg.New(makeSpec([]int{cK1}, aggs, tc.w))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.w, err, tc.want)
		}
	}
	// HOP with size = slide and CUMULATE with max size = step are TUMBLE.
	for _, w := range []jobgraph.WindowSpec{
		{Kind: jobgraph.Hop, SizeMs: 1000, SlideMs: 1000, TimeColumn: cTs},
		{Kind: jobgraph.Cumulate, SizeMs: 1000, SlideMs: 1000, TimeColumn: cTs},
	} {
		if _, err := windowagg.New(makeSpec([]int{cK1}, aggs, w)); err != nil {
			t.Errorf("New(%+v) = %v", w, err)
		}
	}
}

// TestSingleSliceWindows runs HOP with size = slide and CUMULATE with max
// size = step, which are TUMBLE by another name.
func TestSingleSliceWindows(t *testing.T) {
	for i, kind := range []jobgraph.WindowKind{jobgraph.Hop, jobgraph.Cumulate} {
		w := jobgraph.WindowSpec{Kind: kind, TimeColumn: cTs, SizeMs: 7000, SlideMs: 7000, OffsetMs: 1234}
		runRandom(t, runConfig{window: w, seed: uint64(600 + i), limit: 3, keys: []int{cK1}, aggs: testAggs[:8], steps: 10})
	}
}

// newAggs are FIRST_VALUE, LAST_VALUE, DISTINCT aggregates and
// APPROX_COUNT_DISTINCT (exact at these small cardinalities), one with
// FILTER.
var newAggs = func() []jobgraph.AggCall {
	f := cVBo
	notNull := types.Type{Kind: types.BigInt, NotNull: true}
	return []jobgraph.AggCall{
		{Func: jobgraph.FirstValue, Arg: cVI, Type: types.IntType, Name: "first_vi"},
		{Func: jobgraph.LastValue, Arg: cVS, Type: types.StringType, Name: "last_vs"},
		{Func: jobgraph.FirstValue, Arg: cVDec, Type: types.DecimalType(10, 2), Name: "first_vdec"},
		{Func: jobgraph.LastValue, Arg: cVTs, Type: types.TimestampType, Name: "last_vts"},
		{Func: jobgraph.LastValue, Arg: cVBo, Type: types.BooleanType, Name: "last_vbo"},
		{Func: jobgraph.FirstValue, Arg: cVD, Type: types.DoubleType, Name: "first_vd_f", Filter: &f},
		{Func: jobgraph.Count, Arg: cK2, Type: notNull, Name: "cnt_distinct_k2", Distinct: true},
		{Func: jobgraph.Count, Arg: cVS, Type: notNull, Name: "cnt_distinct_vs", Distinct: true},
		{Func: jobgraph.Sum, Arg: cVB, Type: types.BigIntType, Name: "sum_distinct_vb", Distinct: true},
		{Func: jobgraph.Avg, Arg: cVD, Type: types.DoubleType, Name: "avg_distinct_vd", Distinct: true},
		{Func: jobgraph.ApproxCountDistinct, Arg: cK2, Type: notNull, Name: "approx_k2"},
	}
}()

// TestNewAggregates runs FIRST_VALUE, LAST_VALUE (in arrival order, through
// slices merged in any order), DISTINCT aggregates and
// APPROX_COUNT_DISTINCT over every window kind.
func TestNewAggregates(t *testing.T) {
	for i, kind := range []jobgraph.WindowKind{jobgraph.Tumble, jobgraph.Hop, jobgraph.Cumulate} {
		for _, limit := range []int{0, 2} {
			t.Run(fmt.Sprintf("%s/limit%d", kind, limit), func(t *testing.T) {
				runRandom(t, runConfig{kind: kind, seed: uint64(700 + 10*i + limit), limit: limit, keys: []int{cK1}, aggs: newAggs, steps: 12})
			})
		}
	}
}
