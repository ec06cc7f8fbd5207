package rank

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

// The test input: p BIGINT, s BIGINT, t STRING, u INT, all nullable, over
// small domains so that there are ties, duplicates and NULLs everywhere.
var inCols = []types.Field{
	{Name: "p", Type: types.Type{Kind: types.BigInt}},
	{Name: "s", Type: types.Type{Kind: types.BigInt}},
	{Name: "t", Type: types.Type{Kind: types.String}},
	{Name: "u", Type: types.Type{Kind: types.Int}},
}

type row []any

func randRow(r *rand.Rand) row {
	nullOr := func(v any) any {
		if r.IntN(8) == 0 {
			return nil
		}
		return v
	}
	return row{
		nullOr(int64(r.IntN(6))),
		nullOr(int64(r.IntN(8) - 2)),
		nullOr([]string{"a", "b", "cc", ""}[r.IntN(4)]),
		nullOr(int32(r.IntN(3))),
	}
}

func (x row) text() string {
	parts := make([]string, len(x))
	for i, v := range x {
		parts[i] = optest.Render(v)
	}
	return strings.Join(parts, "|")
}

// cmpSQL compares two non-NULL values of one column.
func cmpSQL(a, b any) int {
	switch a := a.(type) {
	case int64:
		return cmpOrd(a, b.(int64))
	case int32:
		return cmpOrd(a, b.(int32))
	case string:
		return strings.Compare(a, b.(string))
	}
	panic(fmt.Sprintf("cmpSQL: %T", a))
}

func cmpOrd[T int64 | int32](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// orderCmp is ORDER BY keys on two rows: NULLs first or last as each key
// says, then the direction.
func orderCmp(keys []jobgraph.SortKey, a, b row) int {
	for _, k := range keys {
		va, vb := a[k.Column], b[k.Column]
		var c int
		switch {
		case va == nil && vb == nil:
			c = 0
		case va == nil:
			c = 1
			if k.NullsFirst {
				c = -1
			}
		case vb == nil:
			c = -1
			if k.NullsFirst {
				c = 1
			}
		default:
			c = cmpSQL(va, vb)
			if k.Desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// ref is the row-at-a-time reference: every live row per partition, in
// arrival order.
type ref struct {
	spec    *jobgraph.RankSpec
	parts   map[string][]refRow
	last    map[string]int64
	seq     int
	expired int
	ignored int
}

type refRow struct {
	seq int
	r   row
}

func newRef(spec *jobgraph.RankSpec) *ref {
	return &ref{spec: spec, parts: map[string][]refRow{}, last: map[string]int64{}}
}

func (f *ref) partKey(x row) string {
	var b strings.Builder
	for _, c := range f.spec.PartitionKeys {
		b.WriteString(optest.Render(x[c]))
		b.WriteByte('/')
	}
	return b.String()
}

// expire drops partitions not accessed for the TTL as of now.
func (f *ref) expire(now int64) {
	if f.spec.TTLMs <= 0 {
		return
	}
	for k, rows := range f.parts {
		if len(rows) > 0 && f.last[k] <= now-f.spec.TTLMs {
			delete(f.parts, k)
			f.expired++
		}
	}
}

func (f *ref) apply(kind stream.RowKind, x row, now int64) {
	k := f.partKey(x)
	f.last[k] = now
	if !kind.IsRetract() {
		f.seq++
		f.parts[k] = append(f.parts[k], refRow{seq: f.seq, r: x})
		return
	}
	rows := f.parts[k]
	for i, rr := range rows { // arrival order: the earliest equal row
		if rr.r.text() == x.text() {
			f.parts[k] = slices.Delete(rows, i, i+1)
			return
		}
	}
	f.ignored++
}

// visible returns the visible rows: "partition key#rank" -> row text for
// ROW_NUMBER with EmitRank, else row text (+"|rank") -> count.
func (f *ref) visible() map[string]int {
	out := map[string]int{}
	for k, rows := range f.parts {
		rs := slices.Clone(rows)
		sort.SliceStable(rs, func(i, j int) bool {
			if c := orderCmp(f.spec.OrderBy, rs[i].r, rs[j].r); c != 0 {
				return c < 0
			}
			return rs[i].seq < rs[j].seq
		})
		rank, dense := int64(0), int64(0)
		for i, rr := range rs {
			tie := i > 0 && orderCmp(f.spec.OrderBy, rs[i-1].r, rr.r) == 0
			if !tie {
				dense++
			}
			switch f.spec.Func {
			case jobgraph.RowNumber:
				rank = int64(i + 1)
			case jobgraph.Rank:
				if !tie {
					rank = int64(i + 1)
				}
			case jobgraph.DenseRank:
				rank = dense
			}
			if rank > f.spec.N {
				break
			}
			out[f.visKey(k, rr.r, rank)]++
		}
	}
	return out
}

func (f *ref) keyed() bool { return f.spec.EmitRank && f.spec.Func == jobgraph.RowNumber }

// visKey is how a visible row is identified: keyed outputs by
// "partition#rank=row", others by the output row.
func (f *ref) visKey(part string, x row, rank int64) string {
	if f.keyed() {
		return fmt.Sprintf("%s#%d=%s", part, rank, x.text())
	}
	if f.spec.EmitRank {
		return fmt.Sprintf("%s|%d", x.text(), rank)
	}
	return x.text()
}

// outRow is an emitted row.
type outRow struct {
	kind stream.RowKind
	text string // all output columns
	row  string // the input columns
	rank string
}

// changelog collects emitted rows with their kinds.
type changelog struct {
	rows    []outRow
	schema  *arrow.Schema
	nInputs int
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
		o := outRow{kind: b.Kind(i), text: strings.Join(cols, "|"), row: strings.Join(cols[:c.nInputs], "|")}
		if len(cols) > c.nInputs {
			o.rank = cols[c.nInputs]
		}
		c.rows = append(c.rows, o)
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

func makeSpec(rs *jobgraph.RankSpec) *jobgraph.OperatorSpec {
	out := slices.Clone(inCols)
	if rs.EmitRank {
		out = append(out, types.Field{Name: "rk", Type: types.Type{Kind: types.BigInt}})
	}
	return &jobgraph.OperatorSpec{ID: "rank1", Output: types.Schema{Fields: out}, Rank: rs}
}

// randomSpec picks a ranking, partitioning and ordering.
func randomSpec(r *rand.Rand, retract bool) *jobgraph.RankSpec {
	asc := func(c int) jobgraph.SortKey { return jobgraph.SortKey{Column: c, NullsFirst: true} }
	desc := func(c int) jobgraph.SortKey { return jobgraph.SortKey{Column: c, Desc: true} }
	orders := [][]jobgraph.SortKey{{asc(1)}, {desc(1)}, {asc(1), desc(2)}, {desc(2), asc(3)}, {desc(1), desc(3)}}
	partitions := [][]int{{0}, {0, 2}, nil, {3}}
	return &jobgraph.RankSpec{
		Func:          []jobgraph.RankFunc{jobgraph.RowNumber, jobgraph.Rank, jobgraph.DenseRank}[r.IntN(3)],
		PartitionKeys: partitions[r.IntN(len(partitions))],
		OrderBy:       orders[r.IntN(len(orders))],
		N:             int64(1 + r.IntN(5)),
		EmitRank:      r.IntN(2) == 0,
		Changes:       jobgraph.Changes{InputRetracts: retract, EmitUpdateBefore: r.IntN(2) == 0},
	}
}

// changelogInput makes a valid changelog of rows: inserts, and with
// retract, deletes and updates (-U then +U) of rows inserted before.
func changelogInput(r *rand.Rand, n int, retract bool) ([]stream.RowKind, []row) {
	var kinds []stream.RowKind
	var rows, live []row
	for len(rows) < n {
		if !retract || len(live) == 0 || r.IntN(5) < 3 {
			x := randRow(r)
			kinds, rows, live = append(kinds, stream.Insert), append(rows, x), append(live, x)
			continue
		}
		i := r.IntN(len(live))
		old := live[i]
		live = slices.Delete(live, i, i+1)
		if r.IntN(2) == 0 {
			kinds, rows = append(kinds, stream.Delete), append(rows, old)
			continue
		}
		x := randRow(r)
		kinds, rows, live = append(kinds, stream.UpdateBefore, stream.UpdateAfter), append(rows, old, x), append(live, x)
	}
	return kinds, rows
}

// materialized applies an output changelog, checking that every -U/-D
// removes a visible row.
type materialized struct {
	keyed bool
	rows  map[string]int    // multiset outputs
	byKey map[string]string // keyed outputs: partition#rank -> row
}

func (m *materialized) apply(t *testing.T, f *ref, o outRow) {
	t.Helper()
	if !m.keyed {
		k := o.text
		if o.kind.IsRetract() {
			if m.rows[k] == 0 {
				t.Fatalf("%s %s removes a row that is not visible", o.kind, k)
			}
			m.rows[k]--
			if m.rows[k] == 0 {
				delete(m.rows, k)
			}
			return
		}
		m.rows[k]++
		return
	}
	cells := strings.Split(o.row, "|")
	part := ""
	for _, c := range f.spec.PartitionKeys {
		part += cells[c] + "/"
	}
	k := part + "#" + o.rank
	cur, ok := m.byKey[k]
	switch o.kind {
	case stream.Insert:
		if ok {
			t.Fatalf("+I %s: key %s already holds %s", o.text, k, cur)
		}
		m.byKey[k] = o.row
	case stream.UpdateAfter:
		if !ok && !f.spec.EmitUpdateBefore {
			t.Fatalf("+U %s: key %s holds nothing", o.text, k)
		}
		m.byKey[k] = o.row
	case stream.UpdateBefore, stream.Delete:
		if !ok || cur != o.row {
			t.Fatalf("%s %s: key %s holds %q", o.kind, o.text, k, cur)
		}
		delete(m.byKey, k)
	}
}

func (m *materialized) snapshot() map[string]int {
	if !m.keyed {
		return m.rows
	}
	out := map[string]int{}
	for k, v := range m.byKey {
		out[k+"="+v]++
	}
	return out
}

// checkDiff checks that the changes one batch emitted are exactly the
// difference between the reference's visible rows before and after it.
func checkDiff(t *testing.T, f *ref, before, after map[string]int, got []outRow) {
	t.Helper()
	spec := f.spec
	if f.keyed() {
		split := func(m map[string]int) map[string]string {
			out := map[string]string{}
			for k := range m {
				i := strings.Index(k, "=")
				out[k[:i]] = k[i+1:]
			}
			return out
		}
		b, a := split(before), split(after)
		var want []string
		for k, br := range b {
			ar, ok := a[k]
			switch {
			case !ok:
				want = append(want, "-D "+k+"="+br)
			case ar != br:
				if spec.EmitUpdateBefore {
					want = append(want, "-U "+k+"="+br)
				}
				want = append(want, "+U "+k+"="+ar)
			}
		}
		for k, ar := range a {
			if _, ok := b[k]; !ok {
				want = append(want, "+I "+k+"="+ar)
			}
		}
		var have []string
		for _, o := range got {
			cells := strings.Split(o.row, "|")
			part := ""
			for _, c := range spec.PartitionKeys {
				part += cells[c] + "/"
			}
			have = append(have, fmt.Sprintf("%s %s#%s=%s", o.kind, part, o.rank, o.row))
		}
		optest.AssertSameRows(t, have, want)
		return
	}
	// Multiset outputs: removals and additions, with -U/+U pairs for rows
	// that only changed rank.
	var wantRm, wantAdd []string
	rmByRow, addByRow := map[string]int{}, map[string]int{}
	rowOf := func(k string) string {
		if spec.EmitRank {
			return k[:strings.LastIndex(k, "|")]
		}
		return k
	}
	for k, n := range before {
		for i := after[k]; i < n; i++ {
			wantRm = append(wantRm, k)
			rmByRow[rowOf(k)]++
		}
	}
	for k, n := range after {
		for i := before[k]; i < n; i++ {
			wantAdd = append(wantAdd, k)
			addByRow[rowOf(k)]++
		}
	}
	var haveRm, haveAdd []string
	ub, ua := map[string]int{}, map[string]int{}
	for _, o := range got {
		switch o.kind {
		case stream.UpdateBefore:
			ub[o.row]++
			haveRm = append(haveRm, o.text)
		case stream.Delete:
			haveRm = append(haveRm, o.text)
		case stream.UpdateAfter:
			ua[o.row]++
			haveAdd = append(haveAdd, o.text)
		case stream.Insert:
			haveAdd = append(haveAdd, o.text)
		}
	}
	optest.AssertSameRows(t, haveRm, wantRm)
	optest.AssertSameRows(t, haveAdd, wantAdd)
	for r := range mergeKeys(rmByRow, addByRow, ub, ua) {
		pairs := 0
		if spec.EmitRank {
			pairs = min(rmByRow[r], addByRow[r])
		}
		if ub[r] != pairs || ua[r] != pairs {
			t.Fatalf("row %s: %d -U and %d +U, want %d of each (%d leaving, %d entering)", r, ub[r], ua[r], pairs, rmByRow[r], addByRow[r])
		}
	}
}

func mergeKeys(ms ...map[string]int) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

type clock struct{ now int64 }

// runRandom runs spec over a random changelog against the reference.
func runRandom(t *testing.T, r *rand.Rand, spec *jobgraph.RankSpec, nrows int) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	op, err := New(makeSpec(spec))
	if err != nil {
		t.Fatal(err)
	}
	oc, metrics := optest.NewContext(mem, nil)
	clk := &clock{now: 1_000_000}
	oc.Now = func() int64 { return clk.now }
	ctx := context.Background()
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	f := newRef(spec)
	m := &materialized{keyed: f.keyed(), rows: map[string]int{}, byKey: map[string]string{}}
	out := &changelog{nInputs: len(inCols)}
	kinds, rows := changelogInput(r, nrows, spec.InputRetracts)
	for lo := 0; lo < len(rows); {
		hi := min(len(rows), lo+optest.RandomBatchSize(r)/8+1)
		if spec.TTLMs > 0 {
			clk.now += int64(r.IntN(int(spec.TTLMs)))
		}
		f.expire(clk.now)
		before := f.visible()
		for i := lo; i < hi; i++ {
			f.apply(kinds[i], rows[i], clk.now)
		}
		after := f.visible()
		rec := buildBatch(t, mem, rows[lo:hi])
		b := stream.Batch{Record: rec, Kinds: kinds[lo:hi]}
		if !spec.InputRetracts {
			b.Kinds = nil
		}
		n0 := len(out.rows)
		err := op.ProcessBatch(ctx, 0, b, out)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		checkDiff(t, f, before, after, out.rows[n0:])
		if spec.TTLMs == 0 {
			// Expiry drops state without output, so only then is the
			// output a consistent changelog on its own.
			for _, o := range out.rows[n0:] {
				m.apply(t, f, o)
			}
		}
		if r.IntN(4) == 0 {
			if err := op.ProcessWatermark(ctx, int64(hi), out); err != nil {
				t.Fatal(err)
			}
		}
		lo = hi
	}
	if spec.TTLMs == 0 {
		// Without expiry the materialized output is the reference's top N.
		want := f.visible()
		got := m.snapshot()
		optest.AssertSameRows(t, expand(got), expand(want))
	} else {
		clk.now += 2 * spec.TTLMs
		if err := op.ProcessWatermark(ctx, stream.MaxWatermark, out); err != nil {
			t.Fatal(err)
		}
		f.expire(clk.now)
		optest.CheckCounter(t, metrics, ExpiredMetric, f.expired)
	}
	optest.CheckCounter(t, metrics, IgnoredRetractionsMetric, f.ignored)
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func expand(m map[string]int) []string {
	var out []string
	for k, n := range m {
		for range n {
			out = append(out, k)
		}
	}
	return out
}

func specName(s *jobgraph.RankSpec) string {
	return fmt.Sprintf("%s_N%d_part%v_order%v_rank%v_ub%v_retract%v_ttl%d", s.Func, s.N, s.PartitionKeys, s.OrderBy, s.EmitRank, s.EmitUpdateBefore, s.InputRetracts, s.TTLMs)
}

func TestRandomAppend(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 24; i++ {
		spec := randomSpec(r, false)
		t.Run(fmt.Sprintf("%d_%s", i, specName(spec)), func(t *testing.T) { runRandom(t, r, spec, 1500) })
	}
}

func TestRandomRetract(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 24; i++ {
		spec := randomSpec(r, true)
		t.Run(fmt.Sprintf("%d_%s", i, specName(spec)), func(t *testing.T) { runRandom(t, r, spec, 1500) })
	}
}

// TestEveryCombination runs every function with and without the rank,
// -U rows and retracting input once.
func TestEveryCombination(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, fn := range []jobgraph.RankFunc{jobgraph.RowNumber, jobgraph.Rank, jobgraph.DenseRank} {
		for _, emit := range []bool{false, true} {
			for _, ub := range []bool{false, true} {
				for _, retract := range []bool{false, true} {
					spec := randomSpec(r, retract)
					spec.Func, spec.EmitRank, spec.EmitUpdateBefore = fn, emit, ub
					t.Run(specName(spec), func(t *testing.T) { runRandom(t, r, spec, 800) })
				}
			}
		}
	}
}

// TestCompaction runs with tiny arena and partition-table limits, so that
// compaction and rebuilding happen all the time.
func TestCompaction(t *testing.T) {
	defer func(c, p int) { compactMinBytes, rebuildMinParts = c, p }(compactMinBytes, rebuildMinParts)
	compactMinBytes, rebuildMinParts = 64, 1
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 12; i++ {
		spec := randomSpec(r, i%2 == 0)
		if i%3 == 0 {
			spec.TTLMs = 50
		}
		t.Run(specName(spec), func(t *testing.T) { runRandom(t, r, spec, 1200) })
	}
}

// TestTTL drives a fake clock: partitions idle for the TTL are dropped
// (and counted), and later rows start them afresh.
func TestTTL(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 16; i++ {
		spec := randomSpec(r, i%2 == 0)
		spec.TTLMs = int64(20 + r.IntN(200))
		t.Run(specName(spec), func(t *testing.T) { runRandom(t, r, spec, 1500) })
	}
}

// TestLargeN checks partitions that hold many rows (N above the batch).
func TestLargeN(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 6; i++ {
		spec := randomSpec(r, i%2 == 0)
		spec.N = int64(50 + r.IntN(300))
		t.Run(specName(spec), func(t *testing.T) { runRandom(t, r, spec, 2000) })
	}
}

func TestSpecErrors(t *testing.T) {
	ok := func() *jobgraph.RankSpec {
		return &jobgraph.RankSpec{Func: jobgraph.RowNumber, PartitionKeys: []int{0}, OrderBy: []jobgraph.SortKey{{Column: 1}}, N: 3}
	}
	cases := []struct {
		name string
		mod  func(*jobgraph.RankSpec)
		want string
	}{
		{"func", func(s *jobgraph.RankSpec) { s.Func = "ntile" }, `unknown ranking function "ntile"`},
		{"n", func(s *jobgraph.RankSpec) { s.N = 0 }, "N = 0: want 1 <= N"},
		{"ttl", func(s *jobgraph.RankSpec) { s.TTLMs = -1 }, "state TTL -1 ms is negative"},
	}
	for _, c := range cases {
		s := ok()
		c.mod(s)
		if _, err := New(makeSpec(s)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
		}
	}
	// EmitRank without a BIGINT last column.
	s := ok()
	spec := makeSpec(s)
	s.EmitRank = true
	if _, err := New(spec); err == nil || !strings.Contains(err.Error(), "last output column must be the BIGINT rank") {
		t.Errorf("emit rank: got %v", err)
	}
	if _, err := New(&jobgraph.OperatorSpec{ID: "x"}); err == nil {
		t.Error("no rank part: no error")
	}
}

func TestInputErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	run := func(spec *jobgraph.RankSpec, b stream.Batch) error {
		op, err := New(makeSpec(spec))
		if err != nil {
			t.Fatal(err)
		}
		oc, _ := optest.NewContext(mem, nil)
		ctx := context.Background()
		if err := op.Open(ctx, oc); err != nil {
			t.Fatal(err)
		}
		defer op.Close(ctx)
		return op.ProcessBatch(ctx, 0, b, &changelog{nInputs: len(inCols)})
	}
	base := func() *jobgraph.RankSpec {
		return &jobgraph.RankSpec{Func: jobgraph.Rank, PartitionKeys: []int{0}, OrderBy: []jobgraph.SortKey{{Column: 1}}, N: 3}
	}
	rec := buildBatch(t, mem, []row{{int64(1), int64(2), "a", int32(3)}, {int64(1), int64(2), "a", int32(3)}})
	defer rec.Release()
	check := func(name string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", name, err, want)
		}
	}
	check("retraction into append-only", run(base(), stream.Batch{Record: rec, Kinds: []stream.RowKind{stream.Insert, stream.Delete}}),
		"rank rank1: row 1 is -D: the input is declared append-only")
	check("kinds length", run(base(), stream.Batch{Record: rec, Kinds: []stream.RowKind{stream.Insert}}), "2 rows but 1 row kinds")
	s := base()
	s.OrderBy[0].Column = 9
	check("order by range", run(s, stream.Batch{Record: rec}), "order by column 9 is out of range")
	s = base()
	s.PartitionKeys = []int{-1}
	check("partition range", run(s, stream.Batch{Record: rec}), "partition key column -1 is out of range")
}

// TestIdenticalRowsRetractEarliest pins the retraction rule for equal rows
// under ROW_NUMBER: the earliest equal row goes, so a tie between equal
// rows and another row keeps arrival order.
func TestIdenticalRowsRetractEarliest(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	spec := &jobgraph.RankSpec{Func: jobgraph.RowNumber, PartitionKeys: []int{0}, OrderBy: []jobgraph.SortKey{{Column: 1}}, N: 2,
		EmitRank: true, Changes: jobgraph.Changes{InputRetracts: true, EmitUpdateBefore: true}}
	op, err := New(makeSpec(spec))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, nil)
	ctx := context.Background()
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	out := &changelog{nInputs: len(inCols)}
	a, b := row{int64(1), int64(5), "a", int32(0)}, row{int64(1), int64(5), "b", int32(0)}
	send := func(kinds []stream.RowKind, rows ...row) {
		rec := buildBatch(t, mem, rows)
		defer rec.Release()
		if err := op.ProcessBatch(ctx, 0, stream.Batch{Record: rec, Kinds: kinds}, out); err != nil {
			t.Fatal(err)
		}
	}
	send([]stream.RowKind{stream.Insert, stream.Insert, stream.Insert}, a, b, a) // a b a: visible a(1) b(2)
	send([]stream.RowKind{stream.Delete}, a)                                     // b a: -U a(1) +U b(1) -U b(2) +U a(2)
	var got []string
	for _, o := range out.rows {
		got = append(got, o.kind.String()+" "+o.text)
	}
	want := []string{`+I 1|5|"a"|0|1`, `+I 1|5|"b"|0|2`, `-U 1|5|"a"|0|1`, `+U 1|5|"b"|0|1`, `-U 1|5|"b"|0|2`, `+U 1|5|"a"|0|2`}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

var _ operator.ProcessingTimeHandler = (*ttlOperator)(nil)
