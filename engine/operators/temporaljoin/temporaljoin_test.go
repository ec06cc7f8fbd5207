package temporaljoin_test

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

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/temporaljoin"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

var (
	leftSchema = types.Schema{Fields: []types.Field{
		{Name: "id", Type: types.BigIntType}, {Name: "k", Type: types.IntType},
		{Name: "lt", Type: types.TimestampType}, {Name: "x", Type: types.BigIntType},
	}}
	rightSchema = types.Schema{Fields: []types.Field{
		{Name: "rk", Type: types.IntType}, {Name: "name", Type: types.StringType},
		{Name: "price", Type: types.BigIntType}, {Name: "rt", Type: types.TimestampType},
	}}
)

// event is one reference row of either side; nil pointers are NULL.
type event struct {
	right bool
	kind  stream.RowKind
	id    int64 // left: id; right: the row's sequence number
	k     *int32
	t     *int64
	x     int64  // left
	name  string // right
	price int64  // right
}

func i32(v int32) *int32 { return &v }
func i64(v int64) *int64 { return &v }

func str[T any](p *T) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func leftText(e event) string {
	return fmt.Sprintf("%d|%s|%s|%d", e.id, str(e.k), str(e.t), e.x)
}

func rightText(e event) string {
	return fmt.Sprintf("%s|%s|%d|%s", str(e.k), strconv.Quote(e.name), e.price, str(e.t))
}

// reference joins every left row with the right row valid at its time: of
// the key's +I, +U and -D rows (in arrival order) with a time at or before
// the left row's, the one with the largest time, the last of equal times;
// a -D or none means no match.
func reference(events []event, left, residual bool) []string {
	var out []string
	for _, l := range events {
		if l.right || l.t == nil || (l.k == nil && !left) {
			continue
		}
		var best *event
		if l.k != nil {
			for i := range events {
				r := &events[i]
				if !r.right || r.kind == stream.UpdateBefore || r.k == nil || r.t == nil || *r.k != *l.k || *r.t > *l.t {
					continue
				}
				if best == nil || *r.t >= *best.t {
					best = r
				}
			}
		}
		if best != nil && best.kind != stream.Delete && (!residual || best.price > l.x) {
			out = append(out, leftText(l)+"|"+rightText(*best))
		} else if left {
			out = append(out, leftText(l)+"|null|null|null|null")
		}
	}
	return out
}

// generate makes a random interleaving of left rows and the right
// changelog, in nominal time order, each time up to delay earlier than its
// nominal one; it returns the events and each one's nominal time.
func generate(r *rand.Rand, n, keys int, delay int64) ([]event, []int64) {
	var events []event
	var nominal []int64
	cur := map[int32]*event{} // the right rows currently present
	now := int64(1_700_000_000_000)
	for i := 0; i < n; i++ {
		now += r.Int64N(30)
		t := now - r.Int64N(delay+1)
		k := int32(r.IntN(keys))
		if r.IntN(3) != 0 {
			e := event{kind: stream.Insert, id: int64(i), k: i32(k + int32(r.IntN(2))), t: i64(t), x: r.Int64N(100)}
			if r.IntN(15) == 0 {
				e.k = nil
			}
			if r.IntN(40) == 0 {
				e.t = nil
			}
			events, nominal = append(events, e), append(nominal, now)
			continue
		}
		e := event{right: true, id: int64(i), k: i32(k), t: i64(t), name: fmt.Sprintf("v%d", i), price: r.Int64N(100)}
		if r.IntN(40) == 0 {
			e.t = nil
		}
		old := cur[k]
		switch {
		case old == nil:
			e.kind = stream.Insert
			cur[k] = &e
		case r.IntN(4) == 0:
			d := *old
			d.kind, d.t, d.id = stream.Delete, e.t, e.id
			e = d
			cur[k] = nil
		default:
			ub := *old
			ub.kind, ub.t = stream.UpdateBefore, e.t
			events, nominal = append(events, ub), append(nominal, now)
			e.kind = stream.UpdateAfter
			cur[k] = &e
		}
		events, nominal = append(events, e), append(nominal, now)
	}
	return events, nominal
}

func batch(mem memory.Allocator, events []event) stream.Batch {
	right := events[0].right
	sc := leftSchema
	if right {
		sc = rightSchema
	}
	b := array.NewRecordBuilder(mem, sc.Arrow())
	defer b.Release()
	kinds := make([]stream.RowKind, len(events))
	for i, e := range events {
		kinds[i] = e.kind
		ki, ti := 1, 2
		if right {
			ki, ti = 0, 3
		}
		if e.k == nil {
			b.Field(ki).AppendNull()
		} else {
			b.Field(ki).(*array.Int32Builder).Append(*e.k)
		}
		if e.t == nil {
			b.Field(ti).AppendNull()
		} else {
			b.Field(ti).(*array.TimestampBuilder).Append(arrow.Timestamp(*e.t))
		}
		if right {
			b.Field(1).(*array.StringBuilder).Append(e.name)
			b.Field(2).(*array.Int64Builder).Append(e.price)
		} else {
			b.Field(0).(*array.Int64Builder).Append(e.id)
			b.Field(3).(*array.Int64Builder).Append(e.x)
		}
	}
	return stream.Batch{Record: b.NewRecordBatch(), Kinds: kinds}
}

func spec(left, residual bool, ttl int64) *jobgraph.OperatorSpec {
	out := types.Schema{Fields: append(append([]types.Field{}, leftSchema.Fields...), rightSchema.Fields...)}
	ts := &jobgraph.TemporalJoinSpec{Left: left, LeftKeys: []int{1}, RightKeys: []int{0}, LeftTime: 2, RightTime: 3}
	ts.TTLMs = ttl
	if residual {
		ts.Residual = expr.Call(expr.FuncGt, types.BooleanType, expr.Col(6, types.BigIntType), expr.Col(3, types.BigIntType))
	}
	return &jobgraph.OperatorSpec{ID: "tj", Output: out, TemporalJoin: ts}
}

// collector records the rows and the watermark that emitted them.
type collector struct {
	rows []string
	wms  []int64
	cur  int64
}

func (c *collector) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	for i := 0; i < b.NumRows(); i++ {
		if b.Kind(i) != stream.Insert {
			return fmt.Errorf("row kind %s: the output is append-only", b.Kind(i))
		}
		cols := make([]string, b.Record.NumCols())
		for j := range cols {
			cols[j] = optest.RenderValue(b.Record.Column(j), i)
		}
		c.rows = append(c.rows, strings.Join(cols, "|"))
		c.wms = append(c.wms, c.cur)
	}
	return nil
}

type harness struct {
	t   *testing.T
	mem memory.Allocator
	op  operator.Operator
	out *collector
	m   *optest.Metrics
	now int64
}

func open(t *testing.T, mem memory.Allocator, sp *jobgraph.OperatorSpec) *harness {
	t.Helper()
	op, err := temporaljoin.New(sp)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, mem: mem, op: op, out: &collector{cur: stream.MinWatermark}}
	oc, m := optest.NewContext(mem, nil)
	oc.Now = func() int64 { return h.now }
	h.m = m
	if err := op.Open(context.Background(), oc); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) feed(events []event) {
	h.t.Helper()
	input := 0
	if events[0].right {
		input = 1
	}
	b := batch(h.mem, events)
	err := h.op.ProcessBatch(context.Background(), input, b, h.out)
	b.Release()
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) watermark(wm int64) {
	h.t.Helper()
	h.out.cur = wm
	if err := h.op.ProcessWatermark(context.Background(), wm, h.out); err != nil {
		h.t.Fatal(err)
	}
}

// TestTemporalRandom joins random left rows with a random versioned
// table's changelog, both out of order within the watermark delay, and
// checks the rows against the reference, and that each row was emitted by
// the first watermark that passed its time.
func TestTemporalRandom(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		left, residual := r.IntN(2) == 0, r.IntN(2) == 0
		t.Run(fmt.Sprintf("seed=%d/left=%v/residual=%v", seed, left, residual), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			if seed%2 == 1 {
				defer temporaljoin.SetCompactRows(0)()
			}
			delay := []int64{0, 50, 500}[r.IntN(3)]
			events, nominal := generate(r, 500+r.IntN(3000), 1+r.IntN(30), delay)
			h := open(t, mem, spec(left, residual, 0))
			maxNominal := int64(0)
			wmOf := map[int64]int64{} // each watermark -> the one before
			prev := stream.MinWatermark
			for i := 0; i < len(events); {
				// A run of one side's events, then maybe a watermark.
				j := i + 1
				limit := i + 1 + r.IntN(40)
				for j < len(events) && j < limit && events[j].right == events[i].right {
					j++
				}
				h.feed(events[i:j])
				maxNominal = max(maxNominal, nominal[j-1])
				i = j
				if r.IntN(3) == 0 {
					if wm := maxNominal - delay - 1; wm > prev {
						wmOf[wm] = prev
						h.watermark(wm)
						prev = wm
					}
				}
			}
			// Of the versions at or before the watermark, each key keeps
			// only the one valid at it.
			if v, k, _, _ := temporaljoin.StateSize(h.op); v-k > countAfter(events, prev) {
				t.Fatalf("%d versions of %d keys, but only %d changes are after the watermark %d", v, k, countAfter(events, prev), prev)
			}
			wmOf[stream.MaxWatermark] = prev
			h.watermark(stream.MaxWatermark)
			if v, k, p, c := temporaljoin.StateSize(h.op); v != k || p != 0 || c != 0 {
				t.Fatalf("after the last watermark: %d versions of %d keys, %d left rows in %d chunks", v, k, p, c)
			}
			if err := h.op.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := reference(events, left, residual)
			got := append([]string(nil), h.out.rows...)
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				n := 0
				for n < len(got) && n < len(want) && got[n] == want[n] {
					n++
				}
				t.Fatalf("got %d rows, want %d; first difference at %d:\ngot  %v\nwant %v", len(got), len(want), n,
					got[n:min(n+2, len(got))], want[n:min(n+2, len(want))])
			}
			// Timing: emitted by the first watermark at or past the row's
			// time, in time order.
			lastT := int64(-1 << 63)
			for i, row := range h.out.rows {
				lt, _ := strconv.ParseInt(strings.Split(row, "|")[2], 10, 64)
				wm := h.out.wms[i]
				if lt > wm || lt <= wmOf[wm] {
					t.Fatalf("row %s emitted at watermark %d (previous %d)", row, wm, wmOf[wm])
				}
				if lt < lastT {
					t.Fatalf("row %s emitted after a row of time %d", row, lastT)
				}
				lastT = lt
			}
			optest.CheckCounter(t, h.m, temporaljoin.NullRowtimeMetric, countNullTimes(events))
		})
	}
}

// countAfter counts the right changes later than wm.
func countAfter(events []event, wm int64) int {
	n := 0
	for _, e := range events {
		if e.right && e.t != nil && *e.t > wm {
			n++
		}
	}
	return n
}

func countNullTimes(events []event) int {
	n := 0
	for _, e := range events {
		if e.t == nil && !(e.right && e.kind == stream.UpdateBefore) {
			n++
		}
	}
	return n
}

// TestTemporalStateTTL checks that an idle key's versions are dropped and
// counted after the TTL, and that versions superseded before the
// watermark are dropped without changing results.
func TestTemporalStateTTL(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	h := open(t, mem, spec(true, false, 1000))
	ins := func(k int32, t int64, name string) event {
		return event{right: true, kind: stream.Insert, k: i32(k), t: i64(t), name: name, price: 1}
	}
	upd := func(k int32, t int64, name string) event {
		e := ins(k, t, name)
		e.kind = stream.UpdateAfter
		return e
	}
	l := func(id int64, k int32, t int64) event {
		return event{kind: stream.Insert, id: id, k: i32(k), t: i64(t)}
	}
	h.feed([]event{ins(1, 100, "a"), ins(2, 100, "b"), upd(1, 200, "a2")})
	h.feed([]event{l(1, 1, 150), l(2, 1, 250), l(3, 2, 120)})
	h.watermark(300)
	h.now = 999
	h.watermark(301)
	h.feed([]event{l(4, 1, 400)})
	h.now = 1500 // key 1 was used at 999 (a left row for it arrived), key 2 at 0
	h.watermark(302)
	optest.CheckCounter(t, h.m, temporaljoin.StateExpiredMetric, 1) // key 2's version
	h.now = 2999
	h.watermark(500)
	h.now = 5000
	h.watermark(501)
	optest.CheckCounter(t, h.m, temporaljoin.StateExpiredMetric, 2) // and key 1's last
	h.feed([]event{l(5, 1, 600)})
	h.watermark(stream.MaxWatermark)
	h.op.Close(context.Background())
	want := []string{
		`1|1|150|0|1|"a"|1|100`, `3|2|120|0|2|"b"|1|100`, `2|1|250|0|1|"a2"|1|200`,
		`4|1|400|0|1|"a2"|1|200`, `5|1|600|0|null|null|null|null`,
	}
	sort.Strings(want)
	got := append([]string(nil), h.out.rows...)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
