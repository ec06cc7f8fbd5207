package windowassign_test

import (
	"context"
	"fmt"
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
	"github.com/eddy-streaming/eddy/engine/operators/windowassign"
	"github.com/eddy-streaming/eddy/engine/operators/windowtopn"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Input columns.
const (
	cK1 = iota
	cK2
	cID
	cVD
	cTs
	nIn
)

var inTypes = []types.Type{types.BigIntType, types.StringType, types.BigIntType, types.DoubleType, types.TimestampType}
var inNames = []string{"k1", "k2", "id", "vd", "ts"}

func inSchema() types.Schema {
	var s types.Schema
	for i, t := range inTypes {
		s.Fields = append(s.Fields, types.Field{Name: inNames[i], Type: t})
	}
	return s
}

func makeSpec(w jobgraph.WindowSpec) *jobgraph.OperatorSpec {
	out := inSchema()
	ts := types.Type{Kind: types.Timestamp, Precision: 3, NotNull: true}
	out.Fields = append(out.Fields, types.Field{Name: "window_start", Type: ts}, types.Field{Name: "window_end", Type: ts},
		types.Field{Name: "window_time", Type: types.Type{Kind: types.Timestamp, Precision: 3, NotNull: true, RowTime: true}})
	return &jobgraph.OperatorSpec{ID: "tvf1", Name: "window tvf", Output: out, WindowAssign: &jobgraph.WindowAssignSpec{Window: w}}
}

// trow is one input row; id numbers rows in arrival order.
type trow struct {
	k1   int64
	k2   string
	id   int64
	vd   float64
	ts   int64
	null [nIn]bool
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
	case cID:
		return t.id
	case cVD:
		return t.vd
	case cTs:
		return arrow.Timestamp(t.ts)
	}
	panic("bad column")
}

// text renders t followed by window bounds as the operator's output row.
func (t trow) text(start, end int64) string {
	var cols []string
	for c := 0; c < nIn; c++ {
		cols = append(cols, optest.Render(t.value(c)))
	}
	cols = append(cols, strconv.FormatInt(start, 10), strconv.FormatInt(end, 10), strconv.FormatInt(end-1, 10))
	return strings.Join(cols, "|")
}

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

// gen makes rows whose times advance with bounded disorder and pauses,
// with NULL keys and values and a few NULL times and rows far behind the
// watermark.
type gen struct {
	r           *rand.Rand
	id          int64
	base, step  int64
	delay, span int64
	keys        int
	late        int // percent
	unique      map[int64]bool
}

func (g *gen) row(wm int64) trow {
	r := g.r
	g.id++
	t := trow{id: g.id, k1: int64(r.IntN(g.keys)), k2: []string{"", "a", "é"}[r.IntN(3)], vd: float64(r.IntN(1000)) / 4}
	g.base += r.Int64N(g.step + 1)
	if r.IntN(50) == 0 {
		g.base += r.Int64N(4 * g.span)
	}
	t.ts = g.base - r.Int64N(g.delay+1)
	if wm != stream.MinWatermark && r.IntN(100) < g.late {
		t.ts = wm - r.Int64N(3*g.span)
	}
	if g.unique != nil {
		for g.unique[t.ts] {
			t.ts++
		}
		g.unique[t.ts] = true
	}
	t.null[cK1] = r.IntN(30) == 0
	t.null[cK2] = r.IntN(10) == 0
	t.null[cVD] = r.IntN(10) == 0
	t.null[cTs] = r.IntN(100) == 0
	return t
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// refWindows lists the windows holding ts, in the order Flink emits them,
// by testing every candidate window for membership.
func refWindows(w jobgraph.WindowSpec, ts int64) [][2]int64 {
	var out [][2]int64
	switch w.Kind {
	case jobgraph.Tumble:
		s := w.OffsetMs + floorDiv(ts-w.OffsetMs, w.SizeMs)*w.SizeMs
		out = append(out, [2]int64{s, s + w.SizeMs})
	case jobgraph.Hop:
		hi := floorDiv(ts-w.OffsetMs, w.SlideMs) + 1
		for j := hi; j >= floorDiv(ts-w.SizeMs-w.OffsetMs, w.SlideMs)-1; j-- {
			s := w.OffsetMs + j*w.SlideMs
			if s <= ts && ts < s+w.SizeMs {
				out = append(out, [2]int64{s, s + w.SizeMs})
			}
		}
	case jobgraph.Cumulate:
		s := w.OffsetMs + floorDiv(ts-w.OffsetMs, w.SizeMs)*w.SizeMs
		for e := s + w.SlideMs; e <= s+w.SizeMs; e += w.SlideMs {
			if ts < e {
				out = append(out, [2]int64{s, e})
			}
		}
	}
	return out
}

func randomAligned(r *rand.Rand) jobgraph.WindowSpec {
	switch r.IntN(3) {
	case 0:
		w := jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: cTs, SizeMs: []int64{7, 100, 1000}[r.IntN(3)]}
		if r.IntN(2) == 0 {
			w.OffsetMs = r.Int64N(2*w.SizeMs-1) - w.SizeMs + 1
		}
		return w
	case 1:
		slide := []int64{5, 30, 100}[r.IntN(3)]
		w := jobgraph.WindowSpec{Kind: jobgraph.Hop, TimeColumn: cTs, SlideMs: slide, SizeMs: slide * (1 + r.Int64N(6))}
		if r.IntN(3) == 0 {
			w.SizeMs = 1 + r.Int64N(4*slide) // not a multiple; possibly smaller than the slide
		}
		if r.IntN(2) == 0 {
			w.OffsetMs = r.Int64N(2*slide) - slide
		}
		return w
	}
	step := []int64{5, 30, 100}[r.IntN(3)]
	w := jobgraph.WindowSpec{Kind: jobgraph.Cumulate, TimeColumn: cTs, SlideMs: step, SizeMs: step * (1 + r.Int64N(6))}
	if r.IntN(2) == 0 {
		w.OffsetMs = r.Int64N(2*w.SizeMs) - w.SizeMs
	}
	return w
}

// TestAlignedAgainstReference checks TUMBLE, HOP and CUMULATE: every row
// emitted at once, once per window, in Flink's order.
func TestAlignedAgainstReference(t *testing.T) {
	for seed := uint64(0); seed < 18; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		w := randomAligned(r)
		t.Run(fmt.Sprintf("%d/%s", seed, w.Kind), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			op, err := windowassign.New(makeSpec(w))
			if err != nil {
				t.Fatal(err)
			}
			oc, metrics := optest.NewContext(mem, nil)
			d := optest.NewDriver(t, op, oc)
			g := &gen{r: r, base: r.Int64N(1_000_000) - 500_000, step: 3, delay: 50, span: w.SizeMs, keys: 5, late: 5}
			var want []string
			nulls := 0
			for step := 0; step < 30; step++ {
				n := optest.RandomBatchSize(r)
				if n > 300 {
					n /= 4
				}
				rows := make([]trow, n)
				for i := range rows {
					rows[i] = g.row(d.Watermark())
					if rows[i].null[cTs] {
						nulls++
						continue
					}
					for _, win := range refWindows(w, rows[i].ts) {
						want = append(want, rows[i].text(win[0], win[1]))
					}
				}
				d.Batch(record(t, mem, rows))
				if r.IntN(3) == 0 {
					d.Advance(g.base - 60)
				}
			}
			d.Finish()
			got := d.Out.Texts()
			if len(want) == 0 {
				t.Fatal("reference produced no rows")
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				optest.AssertSameRows(t, got, want)
				t.Fatalf("same rows in another order")
			}
			for _, row := range d.Out.Rows {
				if row.Watermark != optest.NoWatermark {
					t.Fatalf("row %s emitted by a watermark, want at once", row.Text)
				}
			}
			optest.CheckCounter(t, metrics, windowassign.NullRowtimeMetric, nulls)
			optest.CheckCounter(t, metrics, windowassign.LateRecordsMetric, 0)
			t.Logf("%d rows out, window %+v", len(want), w)
		})
	}
}

// refSession is a session of the reference model with its rows in arrival
// order.
type refSession struct {
	start, end int64
	rows       []trow
}

// sessionRef is the row-at-a-time model of the SESSION TVF: per partition
// a list of open sessions; a row merges every session its window
// [ts, ts+gap) touches, or opens one unless that window is complete.
type sessionRef struct {
	gap         int64
	parts       []int
	open        map[string][]*refSession
	out         []string
	late, nulls int
	fired       func(s *refSession, part string)
}

func partOf(t trow, cols []int) string {
	var p []string
	for _, c := range cols {
		p = append(p, optest.Render(t.value(c)))
	}
	return strings.Join(p, "|")
}

func (m *sessionRef) add(t trow, wm int64) {
	if t.null[cTs] {
		m.nulls++
		return
	}
	p := partOf(t, m.parts)
	merged := &refSession{start: t.ts, end: t.ts + m.gap}
	var rest []*refSession
	touched := false
	for _, s := range m.open[p] {
		if s.start <= t.ts+m.gap && s.end >= t.ts {
			touched = true
			merged.start, merged.end = min(merged.start, s.start), max(merged.end, s.end)
			merged.rows = append(merged.rows, s.rows...)
		} else {
			rest = append(rest, s)
		}
	}
	if !touched && t.ts+m.gap-1 <= wm {
		m.late++
		return
	}
	merged.rows = append(merged.rows, t)
	sort.Slice(merged.rows, func(i, j int) bool { return merged.rows[i].id < merged.rows[j].id })
	m.open[p] = append(rest, merged)
}

func (m *sessionRef) fire(wm int64) {
	for p, ss := range m.open {
		var keep []*refSession
		for _, s := range ss {
			if s.end-1 > wm {
				keep = append(keep, s)
				continue
			}
			for _, t := range s.rows {
				m.out = append(m.out, t.text(s.start, s.end))
			}
			if m.fired != nil {
				m.fired(s, p)
			}
		}
		m.open[p] = keep
	}
}

type sessionConfig struct {
	seed  uint64
	parts []int
	limit int
	owned keygroup.Range
}

func runSession(t *testing.T, sc sessionConfig) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(sc.seed, 5))
	gap := []int64{10, 100, 1000}[r.IntN(3)]
	w := jobgraph.WindowSpec{Kind: jobgraph.Session, TimeColumn: cTs, SizeMs: gap, PartitionBy: sc.parts}
	op, err := windowassign.New(makeSpec(w))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	if sc.limit > 0 {
		cfg[windowassign.BufferLimitOption] = strconv.Itoa(sc.limit)
	}
	oc, metrics := optest.NewContext(mem, cfg)
	if sc.owned != (keygroup.Range{}) {
		oc.KeyGroups = sc.owned
	}
	d := optest.NewDriver(t, op, oc)
	ref := &sessionRef{gap: gap, parts: sc.parts, open: map[string][]*refSession{}}
	g := &gen{r: r, base: r.Int64N(1_000_000_000) - 500_000_000, step: gap / (1 + r.Int64N(10)), delay: r.Int64N(3 * gap),
		span: gap, keys: 1 + r.IntN(40), late: r.IntN(6)}
	maxTs := stream.MinWatermark
	for step := 0; step < 30; step++ {
		n := optest.RandomBatchSize(r)
		rows := make([]trow, 0, n)
		for len(rows) < n {
			row := g.row(d.Watermark())
			if sc.owned != (keygroup.Range{}) && !sc.owned.Contains(keyGroupOf(t, mem, row, sc.parts)) {
				continue
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
	d.CheckWindowTiming(nIn + 1)
	// Within a session, rows come out in arrival order.
	last := map[string]int64{}
	for _, row := range d.Out.Rows {
		key := partOf(trowOf(row.Cols), sc.parts) + "|" + row.Cols[nIn] + "|" + row.Cols[nIn+1]
		id, _ := strconv.ParseInt(row.Cols[cID], 10, 64)
		if id <= last[key] {
			t.Fatalf("row %s after row id %d of its session", row.Text, last[key])
		}
		last[key] = id
	}
	optest.CheckCounter(t, metrics, windowassign.LateRecordsMetric, ref.late)
	optest.CheckCounter(t, metrics, windowassign.NullRowtimeMetric, ref.nulls)
	if sc.limit > 0 && len(ref.out) > 40*sc.limit && metrics.Value(windowassign.SpilledMetric) == 0 {
		t.Error("a tiny buffer limit spilled nothing")
	}
	t.Logf("%d rows out, %d late, %d null, gap %d, spilled %v", len(ref.out), ref.late, ref.nulls, gap, metrics.Value(windowassign.SpilledMetric))
}

// trowOf reads back the partition columns of an output row (enough for
// partOf).
func trowOf(cols []string) trow {
	var t trow
	if cols[cK1] == "null" {
		t.null[cK1] = true
	} else {
		t.k1, _ = strconv.ParseInt(cols[cK1], 10, 64)
	}
	if cols[cK2] == "null" {
		t.null[cK2] = true
	} else {
		t.k2, _ = strconv.Unquote(cols[cK2])
	}
	return t
}

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

func TestSessionAgainstReference(t *testing.T) {
	defer windowassign.SetPageBytes(200)()
	for i := 0; i < 4; i++ {
		for _, parts := range [][]int{{cK1}, {cK2, cK1}, nil} {
			for _, limit := range []int{0, 2 + i} {
				seed := uint64(40 + i)
				t.Run(fmt.Sprintf("seed%d/parts%v/limit%d", seed, parts, limit), func(t *testing.T) {
					runSession(t, sessionConfig{seed: seed, parts: parts, limit: limit})
				})
			}
		}
	}
}

func TestSessionOwnedKeyGroups(t *testing.T) {
	runSession(t, sessionConfig{seed: 9, parts: []int{cK1, cK2}, limit: 4, owned: keygroup.Range{Start: 64, End: 96}})
}

// chain feeds whatever an operator emits into the next operator.
type chain struct {
	next operator.Operator
	out  operator.Collector
}

func (c *chain) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	return c.next.ProcessBatch(ctx, 0, b, c.out)
}

// TestWindowDeduplication checks that window_topn with N = 1 ordered by the
// time column over this operator's output is Flink's window deduplication
// (keep the first row per window and key, or the last with DESC: the row
// with the smallest, or largest, time; on ties Flink keeps the first row to
// arrive for ASC and the last one for DESC).
func TestWindowDeduplication(t *testing.T) {
	for seed := uint64(0); seed < 5; seed++ {
		for _, kind := range []jobgraph.WindowKind{jobgraph.Hop, jobgraph.Session} {
			for _, desc := range []bool{false, true} {
				t.Run(fmt.Sprintf("%d/%s/desc=%v", seed, kind, desc), func(t *testing.T) { runDedup(t, seed, kind, desc) })
			}
		}
	}
}

func runDedup(t *testing.T, seed uint64, kind jobgraph.WindowKind, desc bool) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(seed, 11))
	w := jobgraph.WindowSpec{Kind: kind, TimeColumn: cTs, SizeMs: 100, SlideMs: 25}
	if kind == jobgraph.Session {
		w = jobgraph.WindowSpec{Kind: kind, TimeColumn: cTs, SizeMs: 30, PartitionBy: []int{cK1}}
	}
	spec := makeSpec(w)
	tvf, err := windowassign.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	topn, err := windowtopn.New(&jobgraph.OperatorSpec{ID: "dedup", Output: spec.Output, WindowTopN: &jobgraph.WindowTopNSpec{
		WindowStart: nIn, WindowEnd: nIn + 1, PartitionKeys: []int{nIn, nIn + 1, cK1},
		OrderBy: []jobgraph.SortKey{{Column: cTs, Desc: desc}}, N: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	oc1, _ := optest.NewContext(mem, nil)
	oc2, _ := optest.NewContext(mem, map[string]string{windowtopn.BufferLimitOption: "3"})
	if err := tvf.Open(ctx, oc1); err != nil {
		t.Fatal(err)
	}
	if err := topn.Open(ctx, oc2); err != nil {
		t.Fatal(err)
	}
	out := optest.NewCollector()
	link := &chain{next: topn, out: out}

	// The reference: every (window, k1) group's rows in arrival order, as
	// the windows they belong to complete.
	type group struct{ rows []trow }
	groups := map[string]*group{}
	keyOf := func(row trow, start, end int64) string {
		return fmt.Sprintf("%d|%d|%s", start, end, optest.Render(row.value(cK1)))
	}
	ref := &sessionRef{gap: w.SizeMs, parts: []int{cK1}, open: map[string][]*refSession{}}
	ref.fired = func(s *refSession, _ string) {
		for _, row := range s.rows {
			k := keyOf(row, s.start, s.end)
			if groups[k] == nil {
				groups[k] = &group{}
			}
			groups[k].rows = append(groups[k].rows, row)
		}
	}
	g := &gen{r: r, base: r.Int64N(1_000_000), step: 2, delay: 40, span: 100, keys: 4, late: 3}
	if desc {
		// Flink keeps the last of tied rows with DESC, window_topn the first
		// (ties rank by arrival): only untied times are compared.
		g.unique = map[int64]bool{}
	}
	wm := stream.MinWatermark
	advance := func(next int64) {
		if err := tvf.ProcessWatermark(ctx, next, link); err != nil {
			t.Fatal(err)
		}
		if err := topn.ProcessWatermark(ctx, next, out); err != nil {
			t.Fatal(err)
		}
		wm = max(wm, next)
		if kind == jobgraph.Session {
			ref.fire(wm)
		}
	}
	for step := 0; step < 40; step++ {
		rows := make([]trow, 1+r.IntN(60))
		for i := range rows {
			rows[i] = g.row(wm)
			row := rows[i]
			if kind == jobgraph.Session {
				ref.add(row, wm)
				continue
			}
			if row.null[cTs] {
				continue
			}
			for _, win := range refWindows(w, row.ts) {
				if win[1]-1 <= wm {
					continue // late at the Top-N
				}
				k := keyOf(row, win[0], win[1])
				if groups[k] == nil {
					groups[k] = &group{}
				}
				groups[k].rows = append(groups[k].rows, row)
			}
		}
		rec := record(t, mem, rows)
		err := tvf.ProcessBatch(ctx, 0, stream.Batch{Record: rec}, link)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		if r.IntN(3) == 0 {
			advance(g.base - 45)
		}
	}
	advance(stream.MaxWatermark)
	if err := tvf.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := topn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var want []string
	for k, grp := range groups {
		best := grp.rows[0]
		for _, row := range grp.rows[1:] {
			if (!desc && row.ts < best.ts) || (desc && row.ts >= best.ts) {
				best = row
			}
		}
		parts := strings.SplitN(k, "|", 3)
		start, _ := strconv.ParseInt(parts[0], 10, 64)
		end, _ := strconv.ParseInt(parts[1], 10, 64)
		want = append(want, best.text(start, end))
	}
	if len(want) == 0 {
		t.Fatal("reference produced no rows")
	}
	optest.AssertSameRows(t, out.Texts(), want)
	t.Logf("%d windows and keys", len(want))
}

func TestSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		w    jobgraph.WindowSpec
		want string
	}{
		{jobgraph.WindowSpec{Kind: jobgraph.Hop, TimeColumn: cTs, SizeMs: 10}, "slide 0 ms must be positive"},
		{jobgraph.WindowSpec{Kind: jobgraph.Cumulate, TimeColumn: cTs, SizeMs: 10, SlideMs: 3}, "must be a multiple of step"},
		{jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: cTs, SizeMs: -1}, "size -1 ms must be positive"},
		{jobgraph.WindowSpec{Kind: jobgraph.Session, TimeColumn: cTs}, "gap 0 ms must be positive"},
		{jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: cTs, SizeMs: 10, PartitionBy: []int{0}}, "PARTITION BY is only supported in SESSION"},
		{jobgraph.WindowSpec{Kind: "spiral", TimeColumn: cTs, SizeMs: 10}, "unknown window kind"},
	} {
		_, err := windowassign.New(makeSpec(tc.w))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error containing %q", tc.w, err, tc.want)
		}
	}
	// A time column that is not a timestamp fails on the first batch.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	op, err := windowassign.New(makeSpec(jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: cK1, SizeMs: 10}))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, nil)
	if err := op.Open(context.Background(), oc); err != nil {
		t.Fatal(err)
	}
	rec := record(t, mem, []trow{{ts: 1}})
	defer rec.Release()
	err = op.ProcessBatch(context.Background(), 0, stream.Batch{Record: rec}, optest.NewCollector())
	if err == nil || !strings.Contains(err.Error(), "time column 0 (k1) is int64, want TIMESTAMP(3)") {
		t.Errorf("got %v", err)
	}
}

func TestProcessingTimeSession(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	op, err := windowassign.New(makeSpec(jobgraph.WindowSpec{Kind: jobgraph.Session, TimeColumn: -1, SizeMs: 10, PartitionBy: []int{cK1}, ProcTime: true}))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, nil)
	now := int64(500)
	oc.Now = func() int64 { return now }
	d := optest.NewDriver(t, op, oc)
	d.Batch(record(t, mem, []trow{{k1: 1, id: 1}, {k1: 2, id: 2}}))
	now = 505
	d.Batch(record(t, mem, []trow{{k1: 1, id: 3}}))
	d.Advance(10_000)
	pt := op.(operator.ProcessingTimeHandler)
	if err := pt.OnProcessingTime(context.Background(), 509, d.Out); err != nil {
		t.Fatal(err)
	}
	d.Finish()
	want := []string{
		trow{k1: 2, id: 2}.text(500, 510),
		trow{k1: 1, id: 1}.text(500, 515), trow{k1: 1, id: 3}.text(500, 515),
	}
	if got := d.Out.Texts(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
