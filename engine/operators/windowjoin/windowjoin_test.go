package windowjoin_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operators/windowjoin"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// The left input is (lk1, lk2, lv, lws, lwe), the right one (rws, rwe, rk1,
// rv, rk2): the window columns sit at different places on each side.
const (
	lK1, lK2, lV, lWS, lWE = 0, 1, 2, 3, 4
	rWS, rWE, rK1, rV, rK2 = 0, 1, 2, 3, 4
	width                  = 5
)

var (
	leftTypes  = []types.Type{types.BigIntType, types.StringType, types.BigIntType, types.TimestampType, types.TimestampType}
	leftNames  = []string{"lk1", "lk2", "lv", "lws", "lwe"}
	rightTypes = []types.Type{types.TimestampType, types.TimestampType, types.BigIntType, types.BigIntType, types.StringType}
	rightNames = []string{"rws", "rwe", "rk1", "rv", "rk2"}
)

func schema(names []string, ts []types.Type) types.Schema {
	var s types.Schema
	for i, t := range ts {
		s.Fields = append(s.Fields, types.Field{Name: names[i], Type: t})
	}
	return s
}

func makeSpec(typ jobgraph.JoinType, lkeys, rkeys []int, residual *expr.Expr) *jobgraph.OperatorSpec {
	out := schema(leftNames, leftTypes)
	if typ != jobgraph.SemiJoin && typ != jobgraph.AntiJoin {
		out.Fields = append(out.Fields, schema(rightNames, rightTypes).Fields...)
	}
	return &jobgraph.OperatorSpec{ID: "join1", Name: "window join", Output: out, WindowJoin: &jobgraph.WindowJoinSpec{
		Type: typ, LeftWindowStart: lWS, LeftWindowEnd: lWE, RightWindowStart: rWS, RightWindowEnd: rWE,
		LeftKeys: lkeys, RightKeys: rkeys, Residual: residual}}
}

// lvLessRv is the residual lv < rv over the joined row.
var lvLessRv = expr.Call(expr.FuncLt, types.BooleanType, expr.Col(lV, types.BigIntType), expr.Col(width+rV, types.BigIntType))

// jrow is a row of either side: keys, value, window; nil cells are NULL.
type jrow struct {
	k1         any // int64 or nil
	k2         any // string or nil
	v          any // int64 or nil
	start, end any // arrow.Timestamp or nil
}

// cells returns the row's cells in its side's column order.
func (r jrow) cells(side int) []any {
	if side == 0 {
		return []any{r.k1, r.k2, r.v, r.start, r.end}
	}
	return []any{r.start, r.end, r.k1, r.v, r.k2}
}

func (r jrow) text(side int) string {
	var out []string
	for _, c := range r.cells(side) {
		out = append(out, optest.Render(c))
	}
	return strings.Join(out, "|")
}

var nullSide = strings.Repeat("null|", width-1) + "null"

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

// window is the reference's buffer of one window.
type window struct {
	start, end int64
	rows       [2][]jrow
}

// reference is the row-at-a-time model: rows buffered per window, and at
// each watermark a nested-loop join of every completed window.
type reference struct {
	typ            jobgraph.JoinType
	keys, residual bool
	oneKey         bool
	wins           map[[2]int64]*window
	out            []string
	late           [2]int
	nulls          int
}

func (m *reference) add(side int, r jrow, wm int64) {
	if r.start == nil || r.end == nil {
		m.nulls++
		return
	}
	k := [2]int64{int64(r.start.(arrow.Timestamp)), int64(r.end.(arrow.Timestamp))}
	if k[1]-1 <= wm {
		m.late[side]++
		return
	}
	w := m.wins[k]
	if w == nil {
		w = &window{start: k[0], end: k[1]}
		m.wins[k] = w
	}
	w.rows[side] = append(w.rows[side], r)
}

func (m *reference) match(l, r jrow) bool {
	if m.keys {
		if l.k1 == nil || r.k1 == nil || l.k1 != r.k1 {
			return false
		}
		if !m.oneKey && (l.k2 == nil || r.k2 == nil || l.k2 != r.k2) {
			return false
		}
	}
	if m.residual {
		if l.v == nil || r.v == nil || l.v.(int64) >= r.v.(int64) {
			return false
		}
	}
	return true
}

func (m *reference) fire(wm int64) {
	for k, w := range m.wins {
		if w.end-1 > wm {
			continue
		}
		delete(m.wins, k)
		L, R := w.rows[0], w.rows[1]
		hitR := make([]bool, len(R))
		for _, l := range L {
			hit := false
			for j, r := range R {
				if m.match(l, r) {
					hit = true
					hitR[j] = true
					switch m.typ {
					case jobgraph.InnerJoin, jobgraph.LeftJoin, jobgraph.RightJoin, jobgraph.FullJoin:
						m.out = append(m.out, l.text(0)+"|"+r.text(1))
					}
				}
			}
			switch {
			case !hit && (m.typ == jobgraph.LeftJoin || m.typ == jobgraph.FullJoin):
				m.out = append(m.out, l.text(0)+"|"+nullSide)
			case hit && m.typ == jobgraph.SemiJoin, !hit && m.typ == jobgraph.AntiJoin:
				m.out = append(m.out, l.text(0))
			}
		}
		if m.typ == jobgraph.RightJoin || m.typ == jobgraph.FullJoin {
			for j, r := range R {
				if !hitR[j] {
					m.out = append(m.out, nullSide+"|"+r.text(1))
				}
			}
		}
	}
}

type config struct {
	seed     uint64
	typ      jobgraph.JoinType
	keys     int // 0, 1 or 2 equi keys
	residual bool
}

func runRandom(t *testing.T, c config) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(c.seed, 21))
	lkeys, rkeys := []int{lK1, lK2}[:c.keys], []int{rK1, rK2}[:c.keys]
	var res *expr.Expr
	if c.residual {
		res = lvLessRv
	}
	op, err := windowjoin.New(makeSpec(c.typ, lkeys, rkeys, res))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	oc, metrics := optest.NewContext(mem, nil)
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	out := optest.NewCollector()
	ref := &reference{typ: c.typ, keys: c.keys > 0, oneKey: c.keys == 1, residual: c.residual, wins: map[[2]int64]*window{}}
	size := []int64{10, 50, 200}[r.IntN(3)]
	base := r.Int64N(1_000_000) - 500_000
	wm := stream.MinWatermark
	prev := map[int64]int64{}
	row := func() jrow {
		base += r.Int64N(3)
		ts := base - r.Int64N(2*size)
		if wm != stream.MinWatermark && r.IntN(30) == 0 {
			ts = wm - r.Int64N(3*size) // late, probably
		}
		start := ts - ((ts%size)+size)%size
		j := jrow{k1: int64(r.IntN(4)), k2: []string{"a", "b"}[r.IntN(2)], v: int64(r.IntN(100)),
			start: arrow.Timestamp(start), end: arrow.Timestamp(start + size)}
		if r.IntN(10) == 0 {
			j.k1 = nil
		}
		if r.IntN(10) == 0 {
			j.k2 = nil
		}
		if r.IntN(10) == 0 {
			j.v = nil
		}
		if r.IntN(100) == 0 {
			j.start = nil
		}
		return j
	}
	for step := 0; step < 120; step++ {
		side := r.IntN(2)
		n := 1 + r.IntN(40)
		if r.IntN(10) == 0 {
			n = 300
		}
		rows := make([]jrow, n)
		for i := range rows {
			rows[i] = row()
			ref.add(side, rows[i], wm)
		}
		rec := record(t, mem, side, rows)
		err := op.ProcessBatch(ctx, side, stream.Batch{Record: rec}, out)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		if r.IntN(4) == 0 {
			next := base - 2*size - r.Int64N(size)
			if next > wm {
				prev[next] = wm
				wm = next
			}
			out.Current = next
			if err := op.ProcessWatermark(ctx, next, out); err != nil {
				t.Fatal(err)
			}
			ref.fire(wm)
		}
	}
	prev[stream.MaxWatermark] = wm
	out.Current = stream.MaxWatermark
	if err := op.ProcessWatermark(ctx, stream.MaxWatermark, out); err != nil {
		t.Fatal(err)
	}
	ref.fire(stream.MaxWatermark)
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ref.out) == 0 {
		t.Fatal("reference produced no rows: test data is broken")
	}
	optest.AssertSameRows(t, out.Texts(), ref.out)
	// Every row comes out at the first watermark that completes its window.
	for _, row := range out.Rows {
		end := row.Cols[lWE]
		if end == "null" {
			end = row.Cols[width+rWE]
		}
		e, err := strconv.ParseInt(end, 10, 64)
		if err != nil {
			t.Fatalf("row %s: window end %q", row.Text, end)
		}
		if p, ok := prev[row.Watermark]; !ok || e-1 > row.Watermark || e-1 <= p {
			t.Fatalf("row %s emitted at watermark %d (previous %d)", row.Text, row.Watermark, p)
		}
	}
	optest.CheckCounter(t, metrics, windowjoin.LeftLateRecordsMetric, ref.late[0])
	optest.CheckCounter(t, metrics, windowjoin.RightLateRecordsMetric, ref.late[1])
	optest.CheckCounter(t, metrics, windowjoin.LateRecordsMetric, ref.late[0]+ref.late[1])
	optest.CheckCounter(t, metrics, windowjoin.NullRowtimeMetric, ref.nulls)
	t.Logf("%d rows out, late %v, %d null windows, window size %d", len(ref.out), ref.late, ref.nulls, size)
}

func TestRandomAgainstReference(t *testing.T) {
	types := []jobgraph.JoinType{jobgraph.InnerJoin, jobgraph.LeftJoin, jobgraph.RightJoin, jobgraph.FullJoin, jobgraph.SemiJoin, jobgraph.AntiJoin}
	for _, typ := range types {
		for _, keys := range []int{2, 1, 0} {
			for _, residual := range []bool{false, true} {
				for seed := uint64(0); seed < 2; seed++ {
					c := config{seed: seed + 10*uint64(keys), typ: typ, keys: keys, residual: residual}
					t.Run(fmt.Sprintf("%s/keys%d/residual=%v/%d", typ, keys, residual, seed), func(t *testing.T) { runRandom(t, c) })
				}
			}
		}
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	if _, err := windowjoin.New(makeSpec("sideways", nil, nil, nil)); err == nil || !strings.Contains(err.Error(), `unknown join type "sideways"`) {
		t.Errorf("got %v", err)
	}
	if _, err := windowjoin.New(makeSpec(jobgraph.InnerJoin, []int{lK1}, nil, nil)); err == nil || !strings.Contains(err.Error(), "1 left keys but 0 right keys") {
		t.Errorf("got %v", err)
	}
	// Keys of different types fail when both sides are known.
	op, err := windowjoin.New(makeSpec(jobgraph.InnerJoin, []int{lK1}, []int{rK2}, nil))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, nil)
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	w := jrow{k1: int64(1), k2: "a", v: int64(1), start: arrow.Timestamp(0), end: arrow.Timestamp(10)}
	for side := 0; side < 2; side++ {
		rec := record(t, mem, side, []jrow{w})
		err = op.ProcessBatch(ctx, side, stream.Batch{Record: rec}, optest.NewCollector())
		rec.Release()
	}
	if err == nil || !strings.Contains(err.Error(), "join key 0: left column lk1 is int64 but right column rk2 is utf8") {
		t.Errorf("got %v", err)
	}
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// A residual that is not a predicate.
	op, err = windowjoin.New(makeSpec(jobgraph.InnerJoin, nil, nil, expr.Col(lV, types.BigIntType)))
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Open(ctx, oc); err != nil {
		t.Fatal(err)
	}
	for side := 0; side < 2; side++ {
		rec := record(t, mem, side, []jrow{w})
		err = op.ProcessBatch(ctx, side, stream.Batch{Record: rec}, optest.NewCollector())
		rec.Release()
	}
	if err == nil || !strings.Contains(err.Error(), "residual condition is BIGINT, want BOOLEAN") {
		t.Errorf("got %v", err)
	}
	if err := op.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestOneSideOnly feeds only one input (the other never sends a batch):
// outer joins pad, ANTI keeps every left row, INNER and SEMI emit nothing.
func TestOneSideOnly(t *testing.T) {
	all := []jobgraph.JoinType{jobgraph.InnerJoin, jobgraph.LeftJoin, jobgraph.RightJoin, jobgraph.FullJoin, jobgraph.SemiJoin, jobgraph.AntiJoin}
	for _, typ := range all {
		for side := 0; side < 2; side++ {
			if side == 1 && (typ == jobgraph.SemiJoin || typ == jobgraph.AntiJoin) {
				continue // the output is the left side's: nothing to pad
			}
			t.Run(fmt.Sprintf("%s/side%d", typ, side), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				op, err := windowjoin.New(makeSpec(typ, []int{lK1}, []int{rK1}, lvLessRv))
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				oc, _ := optest.NewContext(mem, nil)
				if err := op.Open(ctx, oc); err != nil {
					t.Fatal(err)
				}
				ref := &reference{typ: typ, keys: true, oneKey: true, residual: true, wins: map[[2]int64]*window{}}
				var rows []jrow
				for i := 0; i < 50; i++ {
					s := int64(i/10) * 100
					rows = append(rows, jrow{k1: int64(i % 3), k2: "a", v: int64(i), start: arrow.Timestamp(s), end: arrow.Timestamp(s + 100)})
					ref.add(side, rows[i], stream.MinWatermark)
				}
				rec := record(t, mem, side, rows)
				err = op.ProcessBatch(ctx, side, stream.Batch{Record: rec}, optest.NewCollector())
				rec.Release()
				if err != nil {
					t.Fatal(err)
				}
				out := optest.NewCollector()
				if err := op.ProcessWatermark(ctx, stream.MaxWatermark, out); err != nil {
					t.Fatal(err)
				}
				if err := op.Close(ctx); err != nil {
					t.Fatal(err)
				}
				ref.fire(stream.MaxWatermark)
				optest.AssertSameRows(t, out.Texts(), ref.out)
				kept := map[jobgraph.JoinType][2]bool{jobgraph.LeftJoin: {true, false}, jobgraph.RightJoin: {false, true},
					jobgraph.FullJoin: {true, true}, jobgraph.AntiJoin: {true, false}}
				if kept[typ][side] != (len(ref.out) > 0) {
					t.Fatalf("reference gave %d rows", len(ref.out))
				}
			})
		}
	}
}
