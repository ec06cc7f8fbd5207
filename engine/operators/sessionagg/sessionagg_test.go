package sessionagg_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/sessionagg"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Input columns.
const (
	cK1 = iota
	cK2
	cVI
	cVB
	cVD
	cVDec
	cVS
	cFlag
	cTs
	numCols
)

var inTypes = []types.Type{
	types.BigIntType, types.StringType, types.IntType, types.BigIntType, types.DoubleType,
	types.DecimalType(10, 2), types.StringType, types.BooleanType, types.TimestampType,
}

var inNames = []string{"k1", "k2", "vi", "vb", "vd", "vdec", "vs", "flag", "ts"}

func inSchema() types.Schema {
	var s types.Schema
	for i, t := range inTypes {
		s.Fields = append(s.Fields, types.Field{Name: inNames[i], Type: t})
	}
	return s
}

func flagCol() *int { c := cFlag; return &c }

var bigNN = types.Type{Kind: types.BigInt, NotNull: true}

// testAggs covers every built-in function over a few types, and FILTER.
var testAggs = []jobgraph.AggCall{
	{Func: jobgraph.CountStar, Arg: -1, Type: bigNN, Name: "cnt"},
	{Func: jobgraph.Count, Arg: cVS, Type: bigNN, Name: "cnt_vs"},
	{Func: jobgraph.CountStar, Arg: -1, Type: bigNN, Name: "cnt_flag", Filter: flagCol()},
	{Func: jobgraph.Sum, Arg: cVI, Type: types.IntType, Name: "sum_vi"},
	{Func: jobgraph.Sum, Arg: cVB, Type: types.BigIntType, Name: "sum_vb"},
	{Func: jobgraph.Sum, Arg: cVD, Type: types.DoubleType, Name: "sum_vd"},
	{Func: jobgraph.Sum, Arg: cVDec, Type: types.DecimalType(38, 2), Name: "sum_vdec"},
	{Func: jobgraph.Sum, Arg: cVB, Type: types.BigIntType, Name: "sum_vb_flag", Filter: flagCol()},
	{Func: jobgraph.Avg, Arg: cVI, Type: types.IntType, Name: "avg_vi"},
	{Func: jobgraph.Avg, Arg: cVD, Type: types.DoubleType, Name: "avg_vd"},
	{Func: jobgraph.Avg, Arg: cVDec, Type: types.DecimalType(38, 6), Name: "avg_vdec"},
	{Func: jobgraph.Min, Arg: cVB, Type: types.BigIntType, Name: "min_vb"},
	{Func: jobgraph.Max, Arg: cVD, Type: types.DoubleType, Name: "max_vd"},
	{Func: jobgraph.Min, Arg: cVS, Type: types.StringType, Name: "min_vs"},
	{Func: jobgraph.Max, Arg: cVS, Type: types.StringType, Name: "max_vs"},
	{Func: jobgraph.Max, Arg: cTs, Type: types.TimestampType, Name: "max_ts"},
	{Func: jobgraph.FirstValue, Arg: cVS, Type: types.StringType, Name: "first_vs"},
	{Func: jobgraph.LastValue, Arg: cVB, Type: types.BigIntType, Name: "last_vb"},
	{Func: jobgraph.LastValue, Arg: cVD, Type: types.DoubleType, Name: "last_vd_flag", Filter: flagCol()},
	{Func: jobgraph.Count, Arg: cVS, Type: bigNN, Name: "cnt_distinct_vs", Distinct: true},
	{Func: jobgraph.Sum, Arg: cVI, Type: types.BigIntType, Name: "sum_distinct_vi", Distinct: true},
}

func makeSpec(keys, parts []int, aggs []jobgraph.AggCall, gap int64) *jobgraph.OperatorSpec {
	var out types.Schema
	for _, k := range keys {
		out.Fields = append(out.Fields, types.Field{Name: inNames[k], Type: inTypes[k]})
	}
	ts := types.Type{Kind: types.Timestamp, Precision: 3, NotNull: true}
	out.Fields = append(out.Fields, types.Field{Name: "window_start", Type: ts}, types.Field{Name: "window_end", Type: ts})
	for _, a := range aggs {
		out.Fields = append(out.Fields, types.Field{Name: a.Name, Type: a.Type})
	}
	return &jobgraph.OperatorSpec{ID: "sess1", Name: "session agg", Output: out,
		WindowAgg: &jobgraph.WindowAggSpec{
			Window:    jobgraph.WindowSpec{Kind: jobgraph.Session, TimeColumn: cTs, SizeMs: gap, PartitionBy: parts},
			GroupKeys: keys, Aggs: aggs}}
}

// trow is one input row.
type trow struct {
	k1   int64
	k2   string
	vi   int32
	vb   int64
	vd   float64
	vdec int64 // unscaled, scale 2
	vs   string
	flag bool
	ts   int64
	seq  int // arrival order
	null [numCols]bool
}

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
	case cFlag:
		return t.flag
	case cTs:
		return arrow.Timestamp(t.ts)
	}
	panic("bad column")
}

func cell(t trow, c int) string { return optest.Render(t.value(c)) }

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

// gen makes rows whose times advance with bounded disorder, some NULL keys
// and values, a few NULL times and a few rows far behind the watermark.
type gen struct {
	r               *rand.Rand
	base, step      int64
	delay, gap      int64
	k1s, k2s        int
	nullRate        int // percent
	lateRate        int // percent
	k2Values        []string
	nullKeys        bool
	nullTimePercent int
	pausePercent    int
	seq             int
}

func (g *gen) row(wm int64) trow {
	r := g.r
	var t trow
	g.seq++
	t.seq = g.seq
	g.base += r.Int64N(g.step + 1)
	if r.IntN(100) < g.pausePercent {
		g.base += r.Int64N(4 * g.gap) // a pause: sessions end
	}
	t.ts = g.base - r.Int64N(g.delay+1)
	if wm != stream.MinWatermark && r.IntN(100) < g.lateRate {
		t.ts = wm - r.Int64N(3*g.gap)
	}
	t.k1 = int64(r.IntN(g.k1s))
	t.k2 = g.k2Values[r.IntN(g.k2s)]
	t.vi = int32(r.Int64N(1<<31) - 1<<30)
	if r.IntN(2) == 0 {
		t.vi = int32(r.IntN(20)) // duplicates for DISTINCT
	}
	t.vb = r.Int64N(2_000_000) - 1_000_000
	t.vd = float64(r.IntN(4_000_000)-2_000_000) * 0.25
	t.vdec = r.Int64N(2_000_000_000) - 1_000_000_000
	t.vs = strconv.Itoa(r.IntN(50))
	t.flag = r.IntN(3) == 0
	for c := range t.null {
		switch c {
		case cTs:
			t.null[c] = r.IntN(100) < g.nullTimePercent
		case cK1, cK2:
			t.null[c] = g.nullKeys && r.IntN(40) == 0
		default:
			t.null[c] = r.IntN(100) < g.nullRate
		}
	}
	return t
}

// refSession is a session of the reference model with its rows.
type refSession struct {
	start, end int64
	rows       []trow
}

// reference is the row-at-a-time model of the operator: per partition the
// list of open sessions; a row merges every open session its window
// [ts, ts+gap) touches, or opens one unless that window is complete; a
// watermark closes the sessions it completes, and their rows are grouped by
// the group keys and aggregated with plain loops.
type reference struct {
	gap         int64
	keys, parts []int
	aggs        []jobgraph.AggCall
	open        map[string][]*refSession
	out         []string
	late, nulls int
}

func keyOf(t trow, cols []int) string {
	var parts []string
	for _, c := range cols {
		parts = append(parts, cell(t, c))
	}
	return strings.Join(parts, "|")
}

func (m *reference) add(t trow, wm int64) {
	if t.null[cTs] {
		m.nulls++
		return
	}
	p := keyOf(t, m.parts)
	merged := &refSession{start: t.ts, end: t.ts + m.gap, rows: []trow{t}}
	var rest []*refSession
	touched := false
	for _, s := range m.open[p] {
		if s.start <= t.ts+m.gap && s.end >= t.ts {
			touched = true
			merged.start, merged.end = min(merged.start, s.start), max(merged.end, s.end)
			merged.rows = append(s.rows, merged.rows...)
		} else {
			rest = append(rest, s)
		}
	}
	if !touched && t.ts+m.gap-1 <= wm {
		m.late++
		return
	}
	m.open[p] = append(rest, merged)
}

func (m *reference) fire(wm int64) {
	for p, ss := range m.open {
		var keep []*refSession
		for _, s := range ss {
			if s.end-1 > wm {
				keep = append(keep, s)
				continue
			}
			groups := map[string][]trow{}
			for _, t := range s.rows {
				k := keyOf(t, m.keys)
				groups[k] = append(groups[k], t)
			}
			for _, rows := range groups {
				var cols []string
				for _, c := range m.keys {
					cols = append(cols, cell(rows[0], c))
				}
				cols = append(cols, strconv.FormatInt(s.start, 10), strconv.FormatInt(s.end, 10))
				for _, a := range m.aggs {
					cols = append(cols, aggregate(a, rows))
				}
				m.out = append(m.out, strings.Join(cols, "|"))
			}
		}
		m.open[p] = keep
	}
}

// aggregate computes one aggregate over rows, row by row.
func aggregate(c jobgraph.AggCall, rows []trow) string {
	rows = append([]trow(nil), rows...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
	if c.Filter != nil {
		var kept []trow
		for _, t := range rows {
			if !t.null[*c.Filter] && t.flag {
				kept = append(kept, t)
			}
		}
		rows = kept
	}
	if c.Func == jobgraph.CountStar {
		return strconv.Itoa(len(rows))
	}
	var vals []trow
	for _, t := range rows {
		if !t.null[c.Arg] {
			vals = append(vals, t)
		}
	}
	if c.Distinct {
		seen := map[string]bool{}
		var dv []trow
		for _, t := range vals {
			if k := cell(t, c.Arg); !seen[k] {
				seen[k] = true
				dv = append(dv, t)
			}
		}
		vals = dv
	}
	if c.Func == jobgraph.Count {
		return strconv.Itoa(len(vals))
	}
	if len(vals) == 0 {
		return "null"
	}
	switch c.Func {
	case jobgraph.FirstValue:
		return cell(vals[0], c.Arg)
	case jobgraph.LastValue:
		return cell(vals[len(vals)-1], c.Arg)
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
			case c.Type.Kind == types.BigInt:
				return strconv.FormatInt(s64, 10)
			}
			return strconv.FormatInt(int64(s32), 10)
		case cVB:
			var s int64
			for _, t := range vals {
				s += t.vb
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
			if less(t, best, c.Arg) == (c.Func == jobgraph.Min) && cell(t, c.Arg) != cell(best, c.Arg) {
				best = t
			}
		}
		return cell(best, c.Arg)
	}
	panic("unknown aggregate " + string(c.Func))
}

func less(a, b trow, c int) bool {
	switch c {
	case cVB:
		return a.vb < b.vb
	case cVD:
		return a.vd < b.vd
	case cVS:
		return a.vs < b.vs
	case cTs:
		return a.ts < b.ts
	}
	panic("bad column")
}

type runConfig struct {
	seed        uint64
	keys, parts []int
	aggs        []jobgraph.AggCall
	limit       int            // buffer limit; 0 = default
	owned       keygroup.Range // zero: every key group
	steps       int
	nullKeys    bool
}

// runRandom drives the operator with random batches and watermarks and
// checks it against the reference: the same rows, each emitted by the
// first watermark that completes its session, in end order, and exact late
// and NULL-time counts.
func runRandom(t *testing.T, rc runConfig) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(rc.seed, 17))
	gap := []int64{10, 100, 1000}[r.IntN(3)]
	op, err := sessionagg.New(makeSpec(rc.keys, rc.parts, rc.aggs, gap))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	if rc.limit > 0 {
		cfg[sessionagg.BufferLimitOption] = strconv.Itoa(rc.limit)
	}
	oc, metrics := optest.NewContext(mem, cfg)
	if rc.owned != (keygroup.Range{}) {
		oc.KeyGroups = rc.owned
	}
	d := optest.NewDriver(t, op, oc)
	ref := &reference{gap: gap, keys: rc.keys, parts: rc.parts, aggs: rc.aggs, open: map[string][]*refSession{}}
	g := &gen{r: r, base: r.Int64N(2_000_000_000_000) - 1_000_000_000_000, step: gap / (1 + r.Int64N(20)),
		delay: r.Int64N(3 * gap), gap: gap, k1s: 1 + r.IntN([]int{3, 30, 300}[r.IntN(3)]), k2s: 1 + r.IntN(4),
		nullRate: r.IntN(20), lateRate: r.IntN(6), k2Values: []string{"", "a", "é", "x\x00y"},
		nullKeys: rc.nullKeys, nullTimePercent: 1, pausePercent: 1 + r.IntN(5)}
	kgCache := map[string]int{}
	maxTs := stream.MinWatermark
	for step := 0; step < rc.steps; step++ {
		n := optest.RandomBatchSize(r)
		rows := make([]trow, 0, n)
		for len(rows) < n {
			row := g.row(d.Watermark())
			if rc.owned != (keygroup.Range{}) {
				id := keyOf(row, rc.parts)
				kg, ok := kgCache[id]
				if !ok {
					kg = keyGroupOf(t, mem, row, rc.parts)
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
		if r.IntN(3) == 0 && maxTs != stream.MinWatermark {
			if next := maxTs - g.delay - 1; next > d.Watermark() || r.IntN(4) == 0 {
				d.Advance(next)
				ref.fire(d.Watermark())
			}
		}
	}
	d.Finish()
	ref.fire(stream.MaxWatermark)
	if len(ref.out) == 0 {
		t.Fatal("reference produced no rows: test data is broken")
	}
	optest.AssertSameRows(t, d.Out.Texts(), ref.out)
	d.CheckWindowTiming(len(rc.keys) + 1)
	optest.CheckCounter(t, metrics, sessionagg.LateRecordsMetric, ref.late)
	optest.CheckCounter(t, metrics, sessionagg.NullRowtimeMetric, ref.nulls)
	if rc.limit > 0 && len(ref.out) > 20*rc.limit && metrics.Value(sessionagg.SpilledMetric) == 0 {
		t.Error("a tiny buffer limit spilled nothing")
	}
	t.Logf("%d rows out, %d late, %d null time, gap %d, spilled %v", len(ref.out), ref.late, ref.nulls, gap, metrics.Value(sessionagg.SpilledMetric))
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
	defer sessionagg.SetCompactMin(16)()
	shapes := []struct {
		name        string
		keys, parts []int
	}{
		{"same", []int{cK1, cK2}, []int{cK1, cK2}},
		{"permuted", []int{cK2, cK1}, []int{cK1, cK2}},
		{"sub", []int{cK1, cK2}, []int{cK1}},
		{"sub-global", []int{cK2}, nil},
		{"global", nil, nil},
	}
	for _, sh := range shapes {
		for i := 0; i < 2; i++ {
			for _, limit := range []int{0, 1 + i*4} {
				seed := uint64(100 + i)
				t.Run(fmt.Sprintf("%s/seed%d/limit%d", sh.name, seed, limit), func(t *testing.T) {
					runRandom(t, runConfig{seed: seed, keys: sh.keys, parts: sh.parts, aggs: testAggs, limit: limit, steps: 25, nullKeys: true})
				})
			}
		}
	}
}

// TestOwnedKeyGroups runs a subtask that owns a quarter of the key groups,
// fed only its own partitions, through the state path.
func TestOwnedKeyGroups(t *testing.T) {
	runRandom(t, runConfig{seed: 7, keys: []int{cK1, cK2}, parts: []int{cK1}, aggs: testAggs, limit: 3,
		owned: keygroup.Range{Start: 32, End: 64}, steps: 20})
	runRandom(t, runConfig{seed: 8, keys: []int{cK1}, parts: []int{cK1}, aggs: testAggs, limit: 3,
		owned: keygroup.Range{Start: 96, End: 128}, steps: 20})
}

// scripted runs the operator over explicit batches of (k1, ts) rows with a
// watermark after each batch and returns its output as "k1|start|end|count".
func scripted(t *testing.T, gap int64, limit int, batches [][][2]int64, wms []int64) ([]string, *optest.Metrics) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	op, err := sessionagg.New(makeSpec([]int{cK1}, []int{cK1}, testAggs[:1], gap))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	if limit > 0 {
		cfg[sessionagg.BufferLimitOption] = strconv.Itoa(limit)
	}
	oc, metrics := optest.NewContext(mem, cfg)
	d := optest.NewDriver(t, op, oc)
	for i, b := range batches {
		rows := make([]trow, len(b))
		for j, kt := range b {
			rows[j] = trow{k1: kt[0], ts: kt[1]}
		}
		d.Batch(record(t, mem, rows))
		d.Advance(wms[i])
	}
	d.Finish()
	out := d.Out.Texts()
	sort.Strings(out)
	return out, metrics
}

// TestBridgeAcrossBatches: a row between two sessions of earlier batches
// merges them; another partition is unaffected.
func TestBridgeAcrossBatches(t *testing.T) {
	for _, limit := range []int{0, 1} {
		got, _ := scripted(t, 10, limit, [][][2]int64{
			{{1, 100}, {1, 120}, {2, 110}},
			{{1, 110}}, // touches [100,110) and [120,130)
			{{1, 140}}, // touches [100,130)? no: 140 > 130
		}, []int64{0, 0, 0})
		want := []string{"1|100|130|3", "1|140|150|1", "2|110|120|1"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("limit %d: got %v, want %v", limit, got, want)
		}
	}
}

// TestLateRows pins Flink's rule: a row whose own window is complete is
// dropped unless it touches an open session, which it then joins.
func TestLateRows(t *testing.T) {
	got, m := scripted(t, 10, 0, [][][2]int64{
		{{1, 100}, {2, 100}},
		// watermark 105: [100,110) is open. Row 1@95 has window [95,105),
		// complete, but touches the open session: it joins. Row 2@80
		// ([80,90), complete) touches nothing: late.
		{{1, 95}, {2, 80}},
		{{1, 108}},
	}, []int64{105, 105, 200})
	want := []string{"1|95|118|3", "2|100|110|1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
	optest.CheckCounter(t, m, sessionagg.LateRecordsMetric, 1)
}

// TestSessionClosedForGood: once fired, a session never takes more rows.
func TestSessionClosedForGood(t *testing.T) {
	got, _ := scripted(t, 10, 0, [][][2]int64{
		{{1, 100}},
		{{1, 110}}, // after the watermark fired [100,110): a new session
	}, []int64{109, 109})
	want := []string{"1|100|110|1", "1|110|120|1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestProcessingTime(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	spec := makeSpec([]int{cK1}, []int{cK1}, testAggs[:1], 10)
	spec.WindowAgg.Window.ProcTime = true
	spec.WindowAgg.Window.TimeColumn = -1
	op, err := sessionagg.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	oc, metrics := optest.NewContext(mem, nil)
	now := int64(1000)
	oc.Now = func() int64 { return now }
	d := optest.NewDriver(t, op, oc)
	batch := func(k1 ...int64) {
		rows := make([]trow, len(k1))
		for i, k := range k1 {
			rows[i] = trow{k1: k, ts: -5}
			rows[i].null[cTs] = i%2 == 0 // the time column is not read
		}
		d.Batch(record(t, mem, rows))
	}
	pt := op.(operator.ProcessingTimeHandler)
	tick := func(ms int64) {
		if err := pt.OnProcessingTime(context.Background(), ms, d.Out); err != nil {
			t.Fatal(err)
		}
	}
	batch(1, 2)
	now = 1005
	batch(1)
	d.Advance(5000) // watermarks do not fire processing-time sessions
	tick(1008)
	if len(d.Out.Rows) != 0 {
		t.Fatalf("fired early: %v", d.Out.Texts())
	}
	tick(1009)
	if got := strings.Join(d.Out.Texts(), " "); got != "2|1000|1010|1" {
		t.Fatalf("at 1009: %s", got)
	}
	tick(1014)
	now = 1020
	batch(1)
	d.Finish()
	want := []string{"2|1000|1010|1", "1|1000|1015|2", "1|1020|1030|1"}
	if got := d.Out.Texts(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v, want %v", got, want)
	}
	optest.CheckCounter(t, metrics, sessionagg.LateRecordsMetric, 0)
	optest.CheckCounter(t, metrics, sessionagg.NullRowtimeMetric, 0)
}

func TestSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		spec *jobgraph.OperatorSpec
		want string
	}{
		{makeSpec([]int{cK2}, []int{cK1}, testAggs[:1], 10), "must include every PARTITION BY column"},
		{makeSpec([]int{cK1}, []int{cK1}, testAggs[:1], 0), "gap 0 ms must be positive"},
		{makeSpec([]int{cK1, cK1}, []int{cK1}, testAggs[:1], 10), "listed twice"},
	} {
		_, err := sessionagg.New(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", err, tc.want)
		}
	}
	spec := makeSpec([]int{cK1}, []int{cK1}, testAggs[:1], 10)
	spec.WindowAgg.Window.Kind = jobgraph.Tumble
	if _, err := sessionagg.New(spec); err == nil || !strings.Contains(err.Error(), "want SESSION") {
		t.Errorf("got %v", err)
	}
	op, err := sessionagg.New(makeSpec([]int{cK1}, []int{cK1}, testAggs[:1], 10))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(memory.DefaultAllocator, map[string]string{sessionagg.BufferLimitOption: "0"})
	if err := op.Open(context.Background(), oc); err == nil || !strings.Contains(err.Error(), "want a positive integer") {
		t.Errorf("got %v", err)
	}
}
