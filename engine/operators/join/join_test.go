package join_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/join"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// The left input is (lk1, lv, lk2), the right one (rk2, rv, rk1): the keys
// sit at different places on each side.
const width = 3

var (
	leftTypes  = []types.Type{types.BigIntType, types.BigIntType, types.StringType}
	leftNames  = []string{"lk1", "lv", "lk2"}
	rightTypes = []types.Type{types.StringType, types.BigIntType, types.BigIntType}
	rightNames = []string{"rk2", "rv", "rk1"}
	leftKeys   = []int{0, 2}
	rightKeys  = []int{2, 0}
)

func schema(names []string, ts []types.Type) types.Schema {
	var s types.Schema
	for i, t := range ts {
		s.Fields = append(s.Fields, types.Field{Name: names[i], Type: t})
	}
	return s
}

// lvLessRv is the residual lv < rv over the joined row.
var lvLessRv = expr.Call(expr.FuncLt, types.BooleanType, expr.Col(1, types.BigIntType), expr.Col(width+1, types.BigIntType))

func makeSpec(typ jobgraph.JoinType, residual bool, retracts [2]bool, ebu bool, ttl int64) *jobgraph.OperatorSpec {
	out := schema(leftNames, leftTypes)
	if typ != jobgraph.SemiJoin && typ != jobgraph.AntiJoin {
		out.Fields = append(out.Fields, schema(rightNames, rightTypes).Fields...)
	}
	js := &jobgraph.JoinSpec{Type: typ, LeftKeys: leftKeys, RightKeys: rightKeys,
		LeftRetracts: retracts[0], RightRetracts: retracts[1], EmitUpdateBefore: ebu}
	js.TTLMs = ttl
	if residual {
		js.Residual = lvLessRv
	}
	return &jobgraph.OperatorSpec{ID: "join1", Name: "join", Output: out, Join: js}
}

// jrow is a row of either side; nil cells are NULL.
type jrow struct {
	k1 any // int64 or nil
	k2 any // string or nil
	v  any // int64 or nil
}

func (r jrow) cells(side int) []any {
	if side == 0 {
		return []any{r.k1, r.v, r.k2}
	}
	return []any{r.k2, r.v, r.k1}
}

func (r jrow) text(side int) string {
	var out []string
	for _, c := range r.cells(side) {
		out = append(out, optest.Render(c))
	}
	return strings.Join(out, "|")
}

var nullSide = "null|null|null"

func record(t testing.TB, mem memory.Allocator, side int, rows []jrow) arrow.RecordBatch {
	s := schema(leftNames, leftTypes)
	if side == 1 {
		s = schema(rightNames, rightTypes)
	}
	b := array.NewRecordBuilder(mem, s.Arrow())
	defer b.Release()
	for _, row := range rows {
		for c, v := range row.cells(side) {
			optest.Append(t, b.Field(c), v)
		}
	}
	return b.NewRecordBatch()
}

// event is one changelog row of an input.
type event struct {
	kind stream.RowKind
	row  jrow
}

// changelog is a materialized output: the multiset of its live rows.
type changelog struct {
	t     testing.TB
	live  map[string]int
	kinds map[stream.RowKind]int
}

func newChangelog(t testing.TB) *changelog {
	return &changelog{t: t, live: map[string]int{}, kinds: map[stream.RowKind]int{}}
}

// Emit implements operator.Collector: it applies the batch's changes,
// failing on a retraction of a row that is not live.
func (c *changelog) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	if len(b.Kinds) != 0 && len(b.Kinds) != b.NumRows() {
		return fmt.Errorf("batch of %d rows has %d kinds", b.NumRows(), len(b.Kinds))
	}
	for i := 0; i < b.NumRows(); i++ {
		cols := make([]string, b.Record.NumCols())
		for j := range cols {
			cols[j] = optest.RenderValue(b.Record.Column(j), i)
		}
		text := strings.Join(cols, "|")
		k := b.Kind(i)
		c.kinds[k]++
		if k.IsRetract() {
			if c.live[text] == 0 {
				return fmt.Errorf("%s %s retracts a row that is not in the output", k, text)
			}
			c.live[text]--
			if c.live[text] == 0 {
				delete(c.live, text)
			}
		} else {
			c.live[text]++
		}
	}
	return nil
}

func (c *changelog) rows() []string {
	var out []string
	for r, n := range c.live {
		for ; n > 0; n-- {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// matches is SQL's join condition, row at a time.
func matches(l, r jrow, residual bool) bool {
	if l.k1 == nil || l.k2 == nil || r.k1 == nil || r.k2 == nil || l.k1 != r.k1 || l.k2 != r.k2 {
		return false
	}
	if residual {
		return l.v != nil && r.v != nil && l.v.(int64) < r.v.(int64)
	}
	return true
}

// referenceJoin is the nested-loop join of the live rows of both sides.
func referenceJoin(typ jobgraph.JoinType, residual bool, left, right []jrow) []string {
	var out []string
	rmatched := make([]bool, len(right))
	for _, l := range left {
		any := false
		for j, r := range right {
			if matches(l, r, residual) {
				any = true
				rmatched[j] = true
				if typ != jobgraph.SemiJoin && typ != jobgraph.AntiJoin {
					out = append(out, l.text(0)+"|"+r.text(1))
				}
			}
		}
		switch typ {
		case jobgraph.LeftJoin, jobgraph.FullJoin:
			if !any {
				out = append(out, l.text(0)+"|"+nullSide)
			}
		case jobgraph.SemiJoin:
			if any {
				out = append(out, l.text(0))
			}
		case jobgraph.AntiJoin:
			if !any {
				out = append(out, l.text(0))
			}
		}
	}
	if typ == jobgraph.RightJoin || typ == jobgraph.FullJoin {
		for j, r := range right {
			if !rmatched[j] {
				out = append(out, nullSide+"|"+r.text(1))
			}
		}
	}
	sort.Strings(out)
	return out
}

// genRow returns a random row: small key and value universes (duplicate
// rows are common) and some NULLs.
func genRow(r *rand.Rand, keys int) jrow {
	row := jrow{k1: int64(r.IntN(keys)), k2: fmt.Sprintf("k%d", r.IntN(2)), v: int64(r.IntN(6))}
	switch r.IntN(12) {
	case 0:
		row.k1 = nil
	case 1:
		row.k2 = nil
	case 2:
		row.v = nil
	}
	return row
}

// genChangelog returns a random valid changelog of n events and the rows
// it leaves live: inserts (often of a row already live), and with
// retracts also deletes and updates (-U old, +U new) of live rows.
func genChangelog(r *rand.Rand, n, keys int, retracts bool) ([]event, []jrow) {
	return genChangelogWith(r, n, retracts, func() jrow { return genRow(r, keys) })
}

// genChangelogWith is genChangelog with new rows from gen.
func genChangelogWith(r *rand.Rand, n int, retracts bool, gen func() jrow) ([]event, []jrow) {
	var evs []event
	var live []jrow
	for len(evs) < n {
		if retracts && len(live) > 0 && r.IntN(5) < 2 {
			i := r.IntN(len(live))
			old := live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			if r.IntN(2) == 0 {
				evs = append(evs, event{stream.Delete, old})
				continue
			}
			nw := old
			nw.v = int64(r.IntN(6))
			if r.IntN(3) == 0 {
				nw = gen()
			}
			evs = append(evs, event{stream.UpdateBefore, old}, event{stream.UpdateAfter, nw})
			live = append(live, nw)
			continue
		}
		row := gen()
		if len(live) > 0 && r.IntN(5) == 0 {
			row = live[r.IntN(len(live))]
		}
		evs = append(evs, event{stream.Insert, row})
		live = append(live, row)
	}
	return evs, live
}

// liveAfter returns the live rows after the first n events.
func liveAfter(evs []event) []jrow {
	count := map[jrow]int{}
	var order []jrow
	for _, e := range evs {
		if e.kind.IsRetract() {
			count[e.row]--
		} else {
			if count[e.row] == 0 {
				order = append(order, e.row)
			}
			count[e.row]++
		}
	}
	var out []jrow
	seen := map[jrow]bool{}
	for _, row := range order {
		if seen[row] {
			continue
		}
		seen[row] = true
		for n := count[row]; n > 0; n-- {
			out = append(out, row)
		}
	}
	return out
}

func batch(t testing.TB, mem memory.Allocator, side int, evs []event) stream.Batch {
	rows := make([]jrow, len(evs))
	var kinds []stream.RowKind
	for i, e := range evs {
		rows[i] = e.row
		if e.kind != stream.Insert && kinds == nil {
			kinds = make([]stream.RowKind, len(evs))
		}
	}
	if kinds != nil {
		for i, e := range evs {
			kinds[i] = e.kind
		}
	}
	return stream.Batch{Record: record(t, mem, side, rows), Kinds: kinds}
}

var allTypes = []jobgraph.JoinType{jobgraph.InnerJoin, jobgraph.LeftJoin, jobgraph.RightJoin, jobgraph.FullJoin, jobgraph.SemiJoin, jobgraph.AntiJoin}

func TestAgainstReference(t *testing.T) {
	for _, typ := range allTypes {
		for _, retracts := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, residual := range []bool{false, true} {
				name := fmt.Sprintf("%s/retracts=%v,%v/residual=%v", typ, retracts[0], retracts[1], residual)
				t.Run(name, func(t *testing.T) {
					for trial := 0; trial < 3; trial++ {
						seed := uint64(trial)*1000 + uint64(len(name))
						runRandom(t, rand.New(rand.NewPCG(seed, uint64(trial))), typ, residual, retracts)
					}
				})
			}
		}
	}
}

func runRandom(t *testing.T, r *rand.Rand, typ jobgraph.JoinType, residual bool, retracts [2]bool) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ebu := r.IntN(2) == 0
	keys := []int{2, 5, 30}[r.IntN(3)]
	op, err := join.New(makeSpec(typ, residual, retracts, ebu, 0))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, nil)
	ctx := context.Background()
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	out := newChangelog(t)
	var evs [2][]event
	for s := range evs {
		evs[s], _ = genChangelog(r, 50+r.IntN(300), keys, retracts[s])
	}
	var pos [2]int
	for pos[0] < len(evs[0]) || pos[1] < len(evs[1]) {
		s := r.IntN(2)
		if pos[s] == len(evs[s]) {
			s = 1 - s
		}
		n := min(len(evs[s])-pos[s], 1+r.IntN(40))
		if r.IntN(4) == 0 {
			n = min(len(evs[s])-pos[s], 1+r.IntN(3))
		}
		b := batch(t, mem, s, evs[s][pos[s]:pos[s]+n])
		pos[s] += n
		err := op.ProcessBatch(ctx, s, b, out)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
		if r.IntN(3) == 0 {
			if err := op.ProcessWatermark(ctx, int64(pos[0]+pos[1]), out); err != nil {
				t.Fatal(err)
			}
		}
		want := referenceJoin(typ, residual, liveAfter(evs[0][:pos[0]]), liveAfter(evs[1][:pos[1]]))
		optest.AssertSameRows(t, out.rows(), want)
		jop := op.(*join.Operator)
		for side := range pos {
			if got, want := jop.StoredRows(side), int64(len(liveAfter(evs[side][:pos[side]]))); got != want {
				t.Fatalf("%s side stores %d rows, want %d", []string{"left", "right"}[side], got, want)
			}
		}
	}
	// Kinds: -U/+U only when asked for, and an INNER join of append-only
	// inputs only inserts.
	if !ebu && out.kinds[stream.UpdateBefore]+out.kinds[stream.UpdateAfter] > 0 {
		t.Fatalf("update kinds without EmitUpdateBefore: %v", out.kinds)
	}
	if typ == jobgraph.InnerJoin && !retracts[0] && !retracts[1] && len(out.kinds) > 1 {
		t.Fatalf("append-only inner join emitted %v", out.kinds)
	}
	if err := op.ProcessWatermark(ctx, stream.MaxWatermark, out); err != nil {
		t.Fatal(err)
	}
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestChurnCompacts inserts and deletes many distinct rows, so that the
// tables are rebuilt several times, and checks the result stays right.
func TestChurnCompacts(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(7, 7))
	for _, typ := range []jobgraph.JoinType{jobgraph.FullJoin, jobgraph.AntiJoin} {
		op, err := join.New(makeSpec(typ, true, [2]bool{true, true}, true, 0))
		if err != nil {
			t.Fatal(err)
		}
		oc, _ := optest.NewContext(mem, nil)
		ctx := context.Background()
		if err := op.Open(ctx, oc); err != nil {
			t.Fatal(err)
		}
		out := newChangelog(t)
		var all [2][]event
		for round := 0; round < 40; round++ {
			for s := 0; s < 2; s++ {
				// Fresh distinct rows, then delete most of them.
				var evs []event
				for i := 0; i < 200; i++ {
					row := jrow{k1: int64(r.IntN(50)), k2: "k", v: int64(round*1000 + i)}
					evs = append(evs, event{stream.Insert, row})
					if r.IntN(10) != 0 {
						evs = append(evs, event{stream.Delete, row})
					}
				}
				b := batch(t, mem, s, evs)
				err := op.ProcessBatch(ctx, s, b, out)
				b.Release()
				if err != nil {
					t.Fatal(err)
				}
				all[s] = append(all[s], evs...)
			}
		}
		want := referenceJoin(typ, true, liveAfter(all[0]), liveAfter(all[1]))
		optest.AssertSameRows(t, out.rows(), want)
		if err := op.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStateTTL drives the clock: rows untouched for the TTL are dropped
// and counted; a row read by a probe stays.
func TestStateTTL(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	op, err := join.New(makeSpec(jobgraph.LeftJoin, false, [2]bool{true, true}, false, 1000))
	if err != nil {
		t.Fatal(err)
	}
	now := int64(0)
	oc, m := optest.NewContext(mem, nil)
	oc.Now = func() int64 { return now }
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	jop := op.(*join.Operator)
	out := newChangelog(t)
	feed := func(s int, evs ...event) {
		t.Helper()
		b := batch(t, mem, s, evs)
		err := op.ProcessBatch(ctx, s, b, out)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	a := jrow{k1: int64(1), k2: "x", v: int64(1)}
	b := jrow{k1: int64(2), k2: "x", v: int64(2)}
	ra := jrow{k1: int64(1), k2: "x", v: int64(10)}
	rb := jrow{k1: int64(2), k2: "x", v: int64(20)}
	feed(0, event{stream.Insert, a}, event{stream.Insert, a}, event{stream.Insert, b})
	now = 600
	feed(1, event{stream.Insert, ra}) // reads both copies of a: they stay
	now = 1500                        // b untouched for 1500 ms, a for 900
	feed(1, event{stream.Insert, rb}) // b has expired: no match
	if got := m.Value(join.StateExpiredMetric); got != 1 {
		t.Fatalf("state_expired = %v, want 1", got)
	}
	if got := jop.StoredRows(0); got != 2 {
		t.Fatalf("left stores %d rows, want 2", got)
	}
	// rb matched nothing: NULL-padded? No: RIGHT rows are not preserved in
	// a LEFT join, so rb only sits in state.
	want := []string{
		a.text(0) + "|" + ra.text(1), a.text(0) + "|" + ra.text(1),
		b.text(0) + "|" + nullSide,
	}
	sort.Strings(want)
	optest.AssertSameRows(t, out.rows(), want)
	// Much later, a sweep drops everything; a retraction of a dropped row
	// is counted and ignored.
	now = 10000
	for i := 0; i < 10; i++ {
		feed(1, event{stream.Insert, jrow{k1: int64(100 + i), k2: "y", v: int64(0)}})
	}
	if got := jop.StoredRows(0); got != 0 {
		t.Fatalf("left stores %d rows after the TTL, want 0", got)
	}
	optest.CheckCounter(t, m, join.StateExpiredMetric, 5)
	feed(0, event{stream.Delete, a})
	optest.CheckCounter(t, m, join.RetractMissMetric, 1)
	optest.AssertSameRows(t, out.rows(), want)
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestErrors checks that bad specs and inputs get clear errors.
func TestErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	if _, err := join.New(makeSpec("cross", false, [2]bool{}, false, 0)); err == nil || !strings.Contains(err.Error(), `unknown join type "cross"`) {
		t.Fatalf("got %v", err)
	}
	bad := makeSpec(jobgraph.InnerJoin, false, [2]bool{}, false, 0)
	bad.Join.RightKeys = []int{2}
	if _, err := join.New(bad); err == nil || !strings.Contains(err.Error(), "2 left keys but 1 right keys") {
		t.Fatalf("got %v", err)
	}
	run := func(spec *jobgraph.OperatorSpec, side int, b stream.Batch, want string) {
		t.Helper()
		defer b.Release()
		op, err := join.New(spec)
		if err != nil {
			t.Fatal(err)
		}
		oc, _ := optest.NewContext(mem, nil)
		if err := op.Open(ctx, oc); err != nil {
			t.Fatal(err)
		}
		defer op.Close(ctx)
		err = op.ProcessBatch(ctx, side, b, newChangelog(t))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want %q", err, want)
		}
	}
	spec := makeSpec(jobgraph.InnerJoin, false, [2]bool{false, true}, false, 0)
	run(spec, 0, batch(t, mem, 0, []event{{stream.Insert, jrow{}}, {stream.Delete, jrow{}}}),
		"join join1: left input: row 1 is -D: this side of the join (declared append-only) takes append-only input")
	run(spec, 2, batch(t, mem, 0, []event{{stream.Insert, jrow{}}}), "input 2: the join has inputs 0 (left) and 1 (right)")
	run(spec, 1, batch(t, mem, 0, []event{{stream.Insert, jrow{}}}), "right input: input column 0 (lk1) is int64 but output column 3 (rk2) is utf8")
}

var _ operator.Collector = (*changelog)(nil)
