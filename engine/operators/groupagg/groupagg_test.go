package groupagg_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/groupagg"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Input columns.
const (
	cK   = iota // BIGINT key
	cS          // STRING key
	cX          // BIGINT value
	cD          // DOUBLE value
	cStr        // STRING value
	cF          // BOOLEAN filter
)

var inFields = []types.Field{
	{Name: "k", Type: types.BigIntType}, {Name: "s", Type: types.StringType},
	{Name: "x", Type: types.BigIntType}, {Name: "d", Type: types.DoubleType},
	{Name: "str", Type: types.StringType}, {Name: "f", Type: types.BooleanType},
}

var inSchema = types.Schema{Fields: inFields}.Arrow()

// row is one input row; nil is NULL.
type row struct {
	k    *int64
	s    *string
	x    *int64
	d    *float64
	str  *string
	f    *bool
	kind stream.RowKind
}

func ptr[T any](v T) *T { return &v }

func randRow(r *rand.Rand, keys int) row {
	var w row
	if r.IntN(10) > 0 {
		w.k = ptr(int64(r.IntN(keys)))
	}
	if r.IntN(10) > 0 {
		w.s = ptr([]string{"a", "b"}[r.IntN(2)])
	}
	if r.IntN(5) > 0 {
		w.x = ptr(int64(r.IntN(41) - 20))
	}
	switch n := r.IntN(40); {
	case n == 0:
		w.d = ptr(math.NaN())
	case n == 1:
		w.d = ptr(math.Inf(1))
	case n == 2:
		w.d = ptr(math.Inf(-1))
	case n < 8:
	default:
		v := float64(r.IntN(81)-40) / 4
		if v == 0 {
			v = 0.5
		}
		w.d = ptr(v)
	}
	if r.IntN(5) > 0 {
		w.str = ptr(string(rune('a' + r.IntN(6))))
	}
	if r.IntN(6) > 0 {
		w.f = ptr(r.IntN(3) > 0)
	}
	return w
}

func same[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if af, ok := any(*a).(float64); ok { // NaN is one value
		bf := any(*b).(float64)
		return af == bf || af != af && bf != bf
	}
	return *a == *b
}

func (w row) sameAs(o row) bool {
	return same(w.k, o.k) && same(w.s, o.s) && same(w.x, o.x) && same(w.d, o.d) && same(w.str, o.str) && same(w.f, o.f)
}

func record(mem memory.Allocator, rows []row) stream.Batch {
	b := array.NewRecordBuilder(mem, inSchema)
	defer b.Release()
	kinds := make([]stream.RowKind, len(rows))
	for i, w := range rows {
		appendOpt(b.Field(cK).(*array.Int64Builder), w.k)
		if w.s == nil {
			b.Field(cS).AppendNull()
		} else {
			b.Field(cS).(*array.StringBuilder).Append(*w.s)
		}
		appendOpt(b.Field(cX).(*array.Int64Builder), w.x)
		if w.d == nil {
			b.Field(cD).AppendNull()
		} else {
			b.Field(cD).(*array.Float64Builder).Append(*w.d)
		}
		if w.str == nil {
			b.Field(cStr).AppendNull()
		} else {
			b.Field(cStr).(*array.StringBuilder).Append(*w.str)
		}
		if w.f == nil {
			b.Field(cF).AppendNull()
		} else {
			b.Field(cF).(*array.BooleanBuilder).Append(*w.f)
		}
		kinds[i] = w.kind
	}
	return stream.Batch{Record: b.NewRecordBatch(), Kinds: kinds}
}

func appendOpt(b *array.Int64Builder, v *int64) {
	if v == nil {
		b.AppendNull()
	} else {
		b.Append(*v)
	}
}

// call is an aggregate call of the test with its reference.
type call struct {
	fn       jobgraph.AggFunc
	arg      int
	distinct bool
	filter   bool
	typ      types.Type
}

func (c call) name() string {
	s := fmt.Sprintf("%s(%d)", c.fn, c.arg)
	if c.distinct {
		s += " DISTINCT"
	}
	if c.filter {
		s += " FILTER"
	}
	return s
}

var allCalls = []call{
	{fn: jobgraph.CountStar, arg: -1, typ: types.BigIntType},
	{fn: jobgraph.Count, arg: cX, typ: types.BigIntType},
	{fn: jobgraph.Sum, arg: cX, typ: types.BigIntType},
	{fn: jobgraph.Avg, arg: cX, typ: types.BigIntType},
	{fn: jobgraph.Sum, arg: cD, typ: types.DoubleType},
	{fn: jobgraph.Avg, arg: cD, typ: types.DoubleType},
	{fn: jobgraph.Min, arg: cX, typ: types.BigIntType},
	{fn: jobgraph.Max, arg: cX, typ: types.BigIntType},
	{fn: jobgraph.Min, arg: cD, typ: types.DoubleType},
	{fn: jobgraph.Max, arg: cD, typ: types.DoubleType},
	{fn: jobgraph.Min, arg: cStr, typ: types.StringType},
	{fn: jobgraph.Max, arg: cStr, typ: types.StringType},
	{fn: jobgraph.FirstValue, arg: cX, typ: types.BigIntType},
	{fn: jobgraph.LastValue, arg: cStr, typ: types.StringType},
	{fn: jobgraph.FirstValue, arg: cStr, typ: types.StringType},
	{fn: jobgraph.LastValue, arg: cD, typ: types.DoubleType},
	{fn: jobgraph.Count, arg: cX, distinct: true, typ: types.BigIntType},
	{fn: jobgraph.Sum, arg: cX, distinct: true, typ: types.BigIntType},
	{fn: jobgraph.Avg, arg: cD, distinct: true, typ: types.DoubleType},
	{fn: jobgraph.Count, arg: cStr, distinct: true, typ: types.BigIntType},
	{fn: jobgraph.Count, arg: cX, filter: true, typ: types.BigIntType},
	{fn: jobgraph.Max, arg: cX, filter: true, typ: types.BigIntType},
	{fn: jobgraph.Sum, arg: cX, distinct: true, filter: true, typ: types.BigIntType},
	{fn: jobgraph.FirstValue, arg: cStr, filter: true, typ: types.StringType},
}

func newOp(t testing.TB, keys []int, calls []call, changes jobgraph.Changes, ttl int64, phase jobgraph.AggPhase) operator.Operator {
	t.Helper()
	op, err := groupagg.New(specFor(keys, calls, changes, ttl, phase))
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// specFor is the operator spec newOp builds.
func specFor(keys []int, calls []call, changes jobgraph.Changes, ttl int64, phase jobgraph.AggPhase) *jobgraph.OperatorSpec {
	spec := &jobgraph.GroupAggSpec{GroupKeys: keys, Changes: changes, StateTTL: jobgraph.StateTTL{TTLMs: ttl}, Phase: phase}
	var out types.Schema
	for _, k := range keys {
		out.Fields = append(out.Fields, inFields[k])
	}
	for i, c := range calls {
		ac := jobgraph.AggCall{Func: c.fn, Arg: c.arg, Type: c.typ, Name: c.name(), Distinct: c.distinct}
		if c.filter {
			ac.Filter = ptr(cF)
		}
		spec.Aggs = append(spec.Aggs, ac)
		out.Fields = append(out.Fields, types.Field{Name: fmt.Sprintf("a%d", i), Type: c.typ})
	}
	return &jobgraph.OperatorSpec{ID: "agg", Output: out, GroupAgg: spec}
}

// The reference: a row at a time, from the SQL semantics.

// arrival is a value of a live row with its arrival number, for the
// reference FIRST_VALUE and LAST_VALUE.
type arrival struct {
	w   row
	seq int
}

// refGroup holds the live rows of a group in arrival order.
type refGroup struct {
	rows []arrival
	// per FIRST/LAST call: the live instances that call sees, in arrival
	// order (a retraction takes out the earliest instance of its value).
	picks map[int][]arrival
}

type reference struct {
	keys   []int
	calls  []call
	groups map[string]*refGroup
	seq    int
}

func newReference(keys []int, calls []call) *reference {
	return &reference{keys: keys, calls: calls, groups: map[string]*refGroup{}}
}

func colVal(w row, c int) any {
	switch c {
	case cK:
		if w.k != nil {
			return *w.k
		}
	case cS:
		if w.s != nil {
			return *w.s
		}
	case cX:
		if w.x != nil {
			return *w.x
		}
	case cD:
		if w.d != nil {
			return *w.d
		}
	case cStr:
		if w.str != nil {
			return *w.str
		}
	}
	return nil
}

func (ref *reference) keyText(w row) string {
	parts := make([]string, len(ref.keys))
	for i, k := range ref.keys {
		parts[i] = optest.Render(colVal(w, k))
	}
	return strings.Join(parts, "|")
}

func passes(c call, w row) bool { return !c.filter || w.f != nil && *w.f }

func sameVal(a, b any) bool {
	if af, ok := a.(float64); ok {
		bf := b.(float64)
		return af == bf || af != af && bf != bf
	}
	return a == b
}

// apply applies one row; it reports whether it was applied (a retraction
// of a group without rows is ignored, as the operator does).
func (ref *reference) apply(w row) {
	key := ref.keyText(w)
	g := ref.groups[key]
	if w.kind.IsRetract() {
		if g == nil {
			return
		}
		i := slices.IndexFunc(g.rows, func(a arrival) bool { return a.w.sameAs(w) })
		if i < 0 {
			panic("test generated a retraction of a row that is not live")
		}
		g.rows = slices.Delete(g.rows, i, i+1)
		for ci, c := range ref.calls {
			v := colVal(w, c.arg)
			if (c.fn != jobgraph.FirstValue && c.fn != jobgraph.LastValue) || v == nil || !passes(c, w) {
				continue
			}
			ps := g.picks[ci]
			if j := slices.IndexFunc(ps, func(a arrival) bool { return sameVal(colVal(a.w, c.arg), v) }); j >= 0 {
				g.picks[ci] = slices.Delete(ps, j, j+1)
			}
		}
		if len(g.rows) == 0 {
			delete(ref.groups, key)
		}
		return
	}
	if g == nil {
		g = &refGroup{picks: map[int][]arrival{}}
		ref.groups[key] = g
	}
	ref.seq++
	a := arrival{w: w, seq: ref.seq}
	g.rows = append(g.rows, a)
	for ci, c := range ref.calls {
		if (c.fn == jobgraph.FirstValue || c.fn == jobgraph.LastValue) && colVal(w, c.arg) != nil && passes(c, w) {
			g.picks[ci] = append(g.picks[ci], a)
		}
	}
}

// result renders the output row of group key.
func (ref *reference) result(key string) string {
	g := ref.groups[key]
	parts := []string{}
	if len(ref.keys) > 0 {
		parts = append(parts, key)
	}
	for ci, c := range ref.calls {
		var vals []any
		for _, a := range g.rows {
			if !passes(c, a.w) {
				continue
			}
			if c.fn == jobgraph.CountStar {
				vals = append(vals, int64(1))
				continue
			}
			if v := colVal(a.w, c.arg); v != nil {
				if c.distinct && slices.ContainsFunc(vals, func(u any) bool { return sameVal(u, v) }) {
					continue
				}
				vals = append(vals, v)
			}
		}
		parts = append(parts, optest.Render(aggregate(c, vals, g.picks[ci])))
	}
	return strings.Join(parts, "|")
}

func aggregate(c call, vals []any, picks []arrival) any {
	switch c.fn {
	case jobgraph.CountStar, jobgraph.Count:
		return int64(len(vals))
	case jobgraph.FirstValue, jobgraph.LastValue:
		if len(picks) == 0 {
			return nil
		}
		if c.fn == jobgraph.FirstValue {
			return colVal(picks[0].w, c.arg)
		}
		return colVal(picks[len(picks)-1].w, c.arg)
	}
	if len(vals) == 0 {
		return nil
	}
	switch c.fn {
	case jobgraph.Sum, jobgraph.Avg:
		if c.arg == cD {
			var s float64
			for _, v := range vals {
				s += v.(float64)
			}
			if c.fn == jobgraph.Avg {
				return s / float64(len(vals))
			}
			return s
		}
		var s int64
		for _, v := range vals {
			s += v.(int64)
		}
		if c.fn == jobgraph.Avg {
			return s / int64(len(vals))
		}
		return s
	case jobgraph.Min, jobgraph.Max:
		best := vals[0]
		for _, v := range vals[1:] {
			if c.fn == jobgraph.Max && less(best, v) || c.fn == jobgraph.Min && less(v, best) {
				best = v
			}
		}
		return best
	}
	panic("unknown aggregate " + string(c.fn))
}

// less orders values as SQL's MIN and MAX: NaN above every number.
func less(a, b any) bool {
	switch a := a.(type) {
	case int64:
		return a < b.(int64)
	case string:
		return a < b.(string)
	case float64:
		bf := b.(float64)
		return a < bf || a == a && bf != bf
	}
	panic("bad value")
}

// results renders every group's row.
func (ref *reference) results() map[string]string {
	m := make(map[string]string, len(ref.groups))
	for k := range ref.groups {
		m[k] = ref.result(k)
	}
	return m
}

// Capturing the output changelog.

type change struct {
	kind stream.RowKind
	key  string
	text string
}

type collector struct {
	nk      int
	changes []change
}

func (c *collector) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	for i := 0; i < b.NumRows(); i++ {
		cols := make([]string, b.Record.NumCols())
		for j := range cols {
			cols[j] = optest.RenderValue(b.Record.Column(j), i)
		}
		c.changes = append(c.changes, change{kind: b.Kind(i), key: strings.Join(cols[:c.nk], "|"), text: strings.Join(cols, "|")})
	}
	return nil
}

// materialize applies changes to view, checking that each is consistent
// with what the view holds.
func materialize(t *testing.T, view map[string]string, changes []change, retract bool) {
	t.Helper()
	pendingU := map[string]bool{}
	for _, c := range changes {
		old, has := view[c.key]
		switch c.kind {
		case stream.Insert:
			if has {
				t.Fatalf("+I %s hits the visible row %s", c.text, old)
			}
			view[c.key] = c.text
		case stream.UpdateBefore, stream.Delete:
			if !has || old != c.text {
				t.Fatalf("%s %s, but the visible row is %q", c.kind, c.text, old)
			}
			delete(view, c.key)
			if c.kind == stream.UpdateBefore {
				pendingU[c.key] = true
			}
		case stream.UpdateAfter:
			if retract {
				if has || !pendingU[c.key] {
					t.Fatalf("+U %s without its -U (visible: %q)", c.text, old)
				}
			} else if !has {
				t.Fatalf("+U %s of a key without a visible row", c.text)
			}
			delete(pendingU, c.key)
			view[c.key] = c.text
		}
	}
	if len(pendingU) > 0 {
		t.Fatalf("-U without +U for %v", pendingU)
	}
}

// changelog generates a random valid changelog: inserts, and retractions
// of live rows (-D, -U followed by its +U, or -U alone, +U alone).
type changelog struct {
	r    *rand.Rand
	keys int
	live []row
}

func (g *changelog) next(n int, retract bool) []row {
	var out []row
	for len(out) < n {
		if !retract || len(g.live) == 0 || g.r.IntN(5) < 3 {
			w := randRow(g.r, g.keys)
			w.kind = stream.Insert
			if retract && g.r.IntN(6) == 0 {
				w.kind = stream.UpdateAfter
			}
			g.live = append(g.live, w)
			out = append(out, w)
			continue
		}
		i := g.r.IntN(len(g.live))
		w := g.live[i]
		g.live = slices.Delete(g.live, i, i+1)
		switch g.r.IntN(3) {
		case 0:
			w.kind = stream.Delete
			out = append(out, w)
		case 1:
			w.kind = stream.UpdateBefore
			out = append(out, w)
			nw := randRow(g.r, g.keys)
			nw.k, nw.s, nw.kind = w.k, w.s, stream.UpdateAfter
			g.live = append(g.live, nw)
			out = append(out, nw)
		default:
			w.kind = stream.UpdateBefore
			out = append(out, w)
		}
	}
	return out
}

func TestAgainstReference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, keys := range [][]int{{cK, cS}, {cS}, nil} {
		for _, retract := range []bool{true, false} {
			for _, before := range []bool{true, false} {
				name := fmt.Sprintf("keys=%v/retract=%v/update_before=%v", keys, retract, before)
				t.Run(name, func(t *testing.T) {
					seed := uint64(len(keys))*4 + uint64(b2i(retract))*2 + uint64(b2i(before))
					runReference(t, mem, rand.New(rand.NewPCG(seed, 7)), keys, retract, before)
				})
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func runReference(t *testing.T, mem memory.Allocator, r *rand.Rand, keys []int, retract, before bool) {
	h := newHarness(t, mem, keys, allCalls, jobgraph.Changes{InputRetracts: retract, EmitUpdateBefore: before}, 0, nil)
	defer h.close()
	gen := &changelog{r: r, keys: 8}
	for batch := 0; batch < 40; batch++ {
		n := max(1, optest.RandomBatchSize(r)/4)
		h.step(gen.next(n, retract))
		if batch%10 == 0 {
			h.out.changes = h.out.changes[:0]
			if err := h.op.ProcessWatermark(h.ctx, int64(batch), h.out); err != nil {
				t.Fatal(err)
			}
			if len(h.out.changes) > 0 {
				t.Fatalf("a watermark emitted %d rows", len(h.out.changes))
			}
		}
	}
	if len(h.view) == 0 {
		t.Fatal("the test ended with no group: it checks too little")
	}
}

// harness runs an operator next to the reference, checking each batch.
type harness struct {
	t      *testing.T
	mem    memory.Allocator
	op     operator.Operator
	oc     *operator.Context
	m      *optest.Metrics
	ctx    context.Context
	ref    *reference
	out    *collector
	view   map[string]string
	before bool
}

func newHarness(t *testing.T, mem memory.Allocator, keys []int, calls []call, ch jobgraph.Changes, ttl int64, now func() int64) *harness {
	op := newOp(t, keys, calls, ch, ttl, jobgraph.OnePhase)
	oc, m := optest.NewContext(mem, nil)
	oc.Now = now
	h := &harness{t: t, mem: mem, op: op, oc: oc, m: m, ctx: context.Background(), ref: newReference(keys, calls),
		out: &collector{nk: len(keys)}, view: map[string]string{}, before: ch.EmitUpdateBefore}
	if err := op.Open(h.ctx, oc); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) close() {
	if err := h.op.Close(h.ctx); err != nil {
		h.t.Fatal(err)
	}
}

// step feeds rows to the operator and the reference and checks (a) that
// the materialized output equals the reference and (b) that the groups
// emitting changes are exactly those whose result changed, with the kinds
// EmitUpdateBefore asks for.
func (h *harness) step(rows []row) {
	t := h.t
	t.Helper()
	prev := h.ref.results()
	for _, w := range rows {
		h.ref.apply(w)
	}
	now := h.ref.results()
	h.out.changes = h.out.changes[:0]
	b := record(h.mem, rows)
	err := h.op.ProcessBatch(h.ctx, 0, b, h.out)
	b.Release()
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string][]stream.RowKind{}
	for _, c := range h.out.changes {
		byKey[c.key] = append(byKey[c.key], c.kind)
	}
	want := map[string][]stream.RowKind{}
	for k, v := range now {
		switch old, ok := prev[k]; {
		case !ok:
			want[k] = []stream.RowKind{stream.Insert}
		case old != v && h.before:
			want[k] = []stream.RowKind{stream.UpdateBefore, stream.UpdateAfter}
		case old != v:
			want[k] = []stream.RowKind{stream.UpdateAfter}
		}
	}
	for k := range prev {
		if _, ok := now[k]; !ok {
			want[k] = []stream.RowKind{stream.Delete}
		}
	}
	if fmt.Sprint(sortedMap(byKey)) != fmt.Sprint(sortedMap(want)) {
		t.Fatalf("changes by key\n got %v\nwant %v", sortedMap(byKey), sortedMap(want))
	}
	materialize(t, h.view, h.out.changes, h.before)
	if fmt.Sprint(sortedMap(h.view)) != fmt.Sprint(sortedMap(now)) {
		t.Fatalf("materialized output\n got %v\nwant %v", sortedMap(h.view), sortedMap(now))
	}
}

type kv[V any] struct {
	k string
	v V
}

func sortedMap[V any](m map[string]V) []kv[V] {
	out := make([]kv[V], 0, len(m))
	for k, v := range m {
		out = append(out, kv[V]{k, v})
	}
	slices.SortFunc(out, func(a, b kv[V]) int { return strings.Compare(a.k, b.k) })
	return out
}
