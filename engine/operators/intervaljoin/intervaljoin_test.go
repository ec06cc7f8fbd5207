package intervaljoin_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operators/intervaljoin"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// The left input is (lk, lv, lts), the right one (rts, rk, rv).
const width = 3

var (
	leftTypes  = []types.Type{types.BigIntType, types.BigIntType, types.TimestampType}
	leftNames  = []string{"lk", "lv", "lts"}
	rightTypes = []types.Type{types.TimestampType, types.BigIntType, types.BigIntType}
	rightNames = []string{"rts", "rk", "rv"}
)

func schema(names []string, ts []types.Type) types.Schema {
	var s types.Schema
	for i, t := range ts {
		s.Fields = append(s.Fields, types.Field{Name: names[i], Type: t})
	}
	return s
}

// lvLessRv is the residual lv < rv over the joined row.
var lvLessRv = expr.Call(expr.FuncLt, types.BooleanType, expr.Col(1, types.BigIntType), expr.Col(width+2, types.BigIntType))

func makeSpec(typ jobgraph.JoinType, lower, upper int64, residual bool) *jobgraph.OperatorSpec {
	out := schema(leftNames, leftTypes)
	if typ != jobgraph.SemiJoin && typ != jobgraph.AntiJoin {
		out.Fields = append(out.Fields, schema(rightNames, rightTypes).Fields...)
	}
	js := &jobgraph.IntervalJoinSpec{Type: typ, LeftKeys: []int{0}, RightKeys: []int{1}, LeftTime: 2, RightTime: 0, LowerMs: lower, UpperMs: upper}
	if residual {
		js.Residual = lvLessRv
	}
	return &jobgraph.OperatorSpec{ID: "ij1", Name: "interval join", Output: out, IntervalJoin: js}
}

// irow is a row of either side; nil cells are NULL.
type irow struct {
	k, v any // int64 or nil
	t    any // arrow.Timestamp or nil
}

func (r irow) cells(side int) []any {
	if side == 0 {
		return []any{r.k, r.v, r.t}
	}
	return []any{r.t, r.k, r.v}
}

func (r irow) text(side int) string {
	var out []string
	for _, c := range r.cells(side) {
		out = append(out, optest.Render(c))
	}
	return strings.Join(out, "|")
}

const nullSide = "null|null|null"

func record(t testing.TB, mem memory.Allocator, side int, rows []irow) arrow.RecordBatch {
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

// sqlMatch is the join condition of SQL, row at a time.
func sqlMatch(l, r irow, lower, upper int64, residual bool) bool {
	if l.k == nil || r.k == nil || l.t == nil || r.t == nil || l.k != r.k {
		return false
	}
	d := int64(l.t.(arrow.Timestamp)) - int64(r.t.(arrow.Timestamp))
	if d < lower || d > upper {
		return false
	}
	return !residual || (l.v != nil && r.v != nil && l.v.(int64) < r.v.(int64))
}

// keeps reports whether side s of typ is preserved.
func keeps(typ jobgraph.JoinType, s int) bool {
	switch typ {
	case jobgraph.FullJoin:
		return true
	case jobgraph.LeftJoin, jobgraph.AntiJoin:
		return s == 0
	case jobgraph.RightJoin:
		return s == 1
	}
	return false
}

func semi(typ jobgraph.JoinType) bool { return typ == jobgraph.SemiJoin || typ == jobgraph.AntiJoin }

// alone renders a row of side s emitted without partner.
func alone(typ jobgraph.JoinType, s int, r irow) string {
	if semi(typ) {
		return r.text(0)
	}
	if s == 0 {
		return r.text(0) + "|" + nullSide
	}
	return nullSide + "|" + r.text(1)
}

// sqlJoin is the nested-loop join of all rows, from SQL alone.
func sqlJoin(typ jobgraph.JoinType, lower, upper int64, residual bool, rows [2][]irow) []string {
	var out []string
	rm := make([]bool, len(rows[1]))
	for _, l := range rows[0] {
		any := false
		for j, r := range rows[1] {
			if sqlMatch(l, r, lower, upper, residual) {
				any, rm[j] = true, true
				if !semi(typ) {
					out = append(out, l.text(0)+"|"+r.text(1))
				}
			}
		}
		if (typ == jobgraph.SemiJoin && any) || (keeps(typ, 0) && !any) {
			out = append(out, alone(typ, 0, l))
		}
	}
	for j, r := range rows[1] {
		if keeps(typ, 1) && !rm[j] {
			out = append(out, alone(typ, 1, r))
		}
	}
	return out
}

// model is the streaming semantics, row at a time: the rows each side
// keeps, joined by every arriving row, dropped by the watermark.
type model struct {
	typ          jobgraph.JoinType
	lower, upper int64
	residual     bool
	wm           int64
	kept         [2][]*mrow
	out          []string
	late         [2]int
}

type mrow struct {
	r       irow
	matched bool
}

func (m *model) time(r irow) int64 { return int64(r.t.(arrow.Timestamp)) }

// expired reports whether a row of side s with time t is out of the
// state at watermark wm: no row with time > wm can match it.
func (m *model) expired(s int, t, wm int64) bool {
	if s == 0 {
		return t-m.lower <= wm
	}
	return t+m.upper <= wm
}

func (m *model) add(s int, r irow) {
	if r.k == nil || r.t == nil {
		if keeps(m.typ, s) {
			m.out = append(m.out, alone(m.typ, s, r))
		}
		return
	}
	t := m.time(r)
	// Late: no row the other side keeps could match it, whatever its key.
	var late bool
	if s == 0 {
		late = !(t-m.lower+m.upper > m.wm) // kept rights have time > wm - upper; it wants time <= t - lower
	} else {
		late = !(t+m.upper-m.lower > m.wm) // kept lefts have time > wm + lower; it wants time <= t + upper
	}
	if late {
		m.late[s]++
		return
	}
	matched := false
	for _, y := range m.kept[1-s] {
		l, rr := r, y.r
		if s == 1 {
			l, rr = y.r, r
		}
		if !sqlMatch(l, rr, m.lower, m.upper, m.residual) {
			continue
		}
		matched = true
		if !semi(m.typ) {
			m.out = append(m.out, l.text(0)+"|"+rr.text(1))
		} else if m.typ == jobgraph.SemiJoin && s == 1 && !y.matched {
			m.out = append(m.out, y.r.text(0))
		}
		y.matched = true
	}
	if m.typ == jobgraph.SemiJoin && s == 0 && matched {
		m.out = append(m.out, r.text(0))
	}
	if m.expired(s, t, m.wm) {
		if keeps(m.typ, s) && !matched {
			m.out = append(m.out, alone(m.typ, s, r))
		}
		return
	}
	m.kept[s] = append(m.kept[s], &mrow{r: r, matched: matched})
}

func (m *model) watermark(wm int64) {
	if wm <= m.wm {
		return
	}
	m.wm = wm
	for s := range m.kept {
		var keep []*mrow
		for _, y := range m.kept[s] {
			if !m.expired(s, m.time(y.r), wm) {
				keep = append(keep, y)
				continue
			}
			if keeps(m.typ, s) && !y.matched {
				m.out = append(m.out, alone(m.typ, s, y.r))
			}
		}
		m.kept[s] = keep
	}
}

var allTypes = []jobgraph.JoinType{jobgraph.InnerJoin, jobgraph.LeftJoin, jobgraph.RightJoin, jobgraph.FullJoin, jobgraph.SemiJoin, jobgraph.AntiJoin}

var bounds = [][2]int64{{-10, 10}, {0, 20}, {-30, -5}, {5, 40}, {0, 0}, {-20, 3}}

func TestAgainstReference(t *testing.T) {
	for _, typ := range allTypes {
		for _, bd := range bounds {
			for _, lateRows := range []bool{false, true} {
				name := fmt.Sprintf("%s/bounds=%d,%d/late=%v", typ, bd[0], bd[1], lateRows)
				t.Run(name, func(t *testing.T) {
					for trial := 0; trial < 3; trial++ {
						r := rand.New(rand.NewPCG(uint64(trial), uint64(len(name)*7+int(bd[0]))))
						runRandom(t, r, typ, bd[0], bd[1], trial%2 == 1, lateRows)
					}
				})
			}
		}
	}
}

func runRandom(t *testing.T, r *rand.Rand, typ jobgraph.JoinType, lower, upper int64, residual, lateRows bool) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	op, err := intervaljoin.New(makeSpec(typ, lower, upper, residual))
	if err != nil {
		t.Fatal(err)
	}
	oc, metrics := optest.NewContext(mem, nil)
	d := optest.NewDriver(t, op, oc)
	ij := op.(*intervaljoin.Operator)
	m := &model{typ: typ, lower: lower, upper: upper, residual: residual, wm: stream.MinWatermark}
	const delay = 20
	keys := 1 + r.IntN(8)
	var all [2][]irow
	maxSeen := [2]int64{-1 << 40, -1 << 40}
	cur := int64(1000)
	ctx := context.Background()
	for step := 0; step < 60; step++ {
		s := r.IntN(2)
		n := 1 + r.IntN(30)
		if r.IntN(4) == 0 {
			n = 1 + r.IntN(3)
		}
		rows := make([]irow, n)
		for i := range rows {
			cur += int64(r.IntN(4))
			ts := cur - int64(r.IntN(delay+1)) // within the delay
			if lateRows && r.IntN(8) == 0 {
				ts = cur - delay - 1 - int64(r.IntN(80))
			}
			row := irow{k: int64(r.IntN(keys)), v: int64(r.IntN(5)), t: arrow.Timestamp(ts)}
			switch r.IntN(15) {
			case 0:
				row.k = nil
			case 1:
				row.v = nil
			case 2:
				row.t = nil
			}
			if i > 0 && r.IntN(6) == 0 {
				row = rows[r.IntN(i)] // duplicates
			}
			rows[i] = row
			if row.t != nil {
				maxSeen[s] = max(maxSeen[s], int64(row.t.(arrow.Timestamp)))
			}
		}
		for _, row := range rows {
			m.add(s, row)
		}
		all[s] = append(all[s], rows...)
		rec := record(t, mem, s, rows)
		err := op.ProcessBatch(ctx, s, stream.Batch{Record: rec}, d.Out)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		if r.IntN(2) == 0 {
			wm := min(maxSeen[0], maxSeen[1]) - delay - 1
			m.watermark(wm)
			d.Advance(wm)
		}
		optest.AssertSameRows(t, d.Out.Texts(), m.out)
		for s := range m.kept {
			if got, want := ij.StoredRows(s), len(m.kept[s]); got != want {
				t.Fatalf("%s side stores %d rows, want %d", []string{"left", "right"}[s], got, want)
			}
		}
	}
	m.watermark(stream.MaxWatermark)
	d.Finish()
	optest.AssertSameRows(t, d.Out.Texts(), m.out)
	optest.CheckCounter(t, metrics, intervaljoin.LateRecordsMetric, m.late[0]+m.late[1])
	optest.CheckCounter(t, metrics, intervaljoin.LeftLateRecordsMetric, m.late[0])
	optest.CheckCounter(t, metrics, intervaljoin.RightLateRecordsMetric, m.late[1])
	if !lateRows {
		// Nothing arrived behind the watermark: the result is SQL's.
		if m.late[0]+m.late[1] != 0 {
			t.Fatalf("rows within the delay counted late: %v", m.late)
		}
		optest.AssertSameRows(t, d.Out.Texts(), sqlJoin(typ, lower, upper, residual, all))
	}
}

// TestStateBounded streams many rows of ever new keys with an advancing
// watermark: the stored rows stay within the bounds' reach, the arena and
// key table are compacted on the way, and the result stays the model's.
func TestStateBounded(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	typ := jobgraph.FullJoin
	const lower, upper = -50, 30
	op, err := intervaljoin.New(makeSpec(typ, lower, upper, true))
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := optest.NewContext(mem, nil)
	d := optest.NewDriver(t, op, oc)
	ij := op.(*intervaljoin.Operator)
	m := &model{typ: typ, lower: lower, upper: upper, residual: true, wm: stream.MinWatermark}
	r := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	maxStored := 0
	for step := 0; step < 200; step++ {
		for s := 0; s < 2; s++ {
			rows := make([]irow, 100)
			for i := range rows {
				ts := int64(step*100+i) - int64(r.IntN(10))
				rows[i] = irow{k: int64((step*100 + i) / 10), v: int64(r.IntN(4)), t: arrow.Timestamp(ts)}
				m.add(s, rows[i])
			}
			rec := record(t, mem, s, rows)
			err := op.ProcessBatch(ctx, s, stream.Batch{Record: rec}, d.Out)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		wm := int64(step*100+99) - 10
		m.watermark(wm)
		d.Advance(wm)
		for s := 0; s < 2; s++ {
			if got, want := ij.StoredRows(s), len(m.kept[s]); got != want {
				t.Fatalf("step %d: %d rows stored, want %d", step, got, want)
			}
			maxStored = max(maxStored, ij.StoredRows(s))
		}
	}
	// Each side keeps at most the rows of the last upper-lower+delay ms.
	if maxStored > 200 {
		t.Fatalf("up to %d rows stored per side", maxStored)
	}
	m.watermark(stream.MaxWatermark)
	d.Finish()
	optest.AssertSameRows(t, d.Out.Texts(), m.out)
}

func TestErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	if _, err := intervaljoin.New(makeSpec(jobgraph.InnerJoin, 10, -10, false)); err == nil || !strings.Contains(err.Error(), "interval_join ij1: lower bound 10 ms is above upper bound -10 ms") {
		t.Fatalf("got %v", err)
	}
	run := func(spec *jobgraph.OperatorSpec, side int, b stream.Batch, want string) {
		t.Helper()
		defer b.Release()
		op, err := intervaljoin.New(spec)
		if err != nil {
			t.Fatal(err)
		}
		oc, _ := optest.NewContext(mem, nil)
		if err := op.Open(ctx, oc); err != nil {
			t.Fatal(err)
		}
		defer op.Close(ctx)
		err = op.ProcessBatch(ctx, side, b, optest.NewCollector())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want %q", err, want)
		}
	}
	row := irow{k: int64(1), v: int64(1), t: arrow.Timestamp(5)}
	run(makeSpec(jobgraph.InnerJoin, 0, 1, false), 0, stream.Batch{Record: record(t, mem, 0, []irow{row, row}), Kinds: []stream.RowKind{stream.Insert, stream.Delete}},
		"interval_join ij1: left input: row 1 is -D: an interval join takes append-only input (inserts only)")
	bad := makeSpec(jobgraph.InnerJoin, 0, 1, false)
	bad.IntervalJoin.LeftTime = 1
	run(bad, 0, stream.Batch{Record: record(t, mem, 0, []irow{row})}, "left input: time column 1 (lv) is int64, want TIMESTAMP(3)")
}
