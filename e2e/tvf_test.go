package e2e

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

	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner"
)

// Window TVFs that no window aggregate absorbs: a window Top-N directly over
// TUMBLE (the top 3 single gifts per room per minute), and the TVF's rows
// themselves, filtered and projected on window columns too.

const tvfGiftsDDL = `
CREATE TABLE gifts (
  room_id  BIGINT,
  user_id  BIGINT,
  gift_id  INT,
  quantity INT,
  amount   BIGINT,
  ts       TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'memory', 'dataset' = 'gifts');
`

// The top 3 single gifts per room per minute, exactly as the issue writes
// it: ranked by amount alone, so ties may be broken either way.
const topSingleGiftsSQL = `
CREATE TABLE top_single (
  room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3),
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), window_time TIMESTAMP(3), rn BIGINT
) WITH ('connector' = 'collect');

INSERT INTO top_single
SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, room_id ORDER BY amount DESC) AS rn
  FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '1' MINUTE)))
WHERE rn <= 3;
`

// The same ranking made total by every other column, so the rows are
// exactly determined.
const topSingleGiftsTotalSQL = `
CREATE TABLE top_single_total (
  window_start TIMESTAMP(3), room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3), rn BIGINT
) WITH ('connector' = 'collect');

INSERT INTO top_single_total
SELECT window_start, room_id, user_id, gift_id, quantity, amount, ts, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, room_id
                               ORDER BY amount DESC, ts, user_id, gift_id, quantity) AS rn
  FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '1' MINUTE)))
WHERE rn <= 3;
`

// Plain TVF output with an offset window, filtered on a window column and
// projected with window arithmetic.
const plainTVFSQL = `
CREATE TABLE windowed (
  room_id BIGINT, amount BIGINT, ts TIMESTAMP(3),
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), window_time TIMESTAMP(3), next_end TIMESTAMP(3)
) WITH ('connector' = 'collect');

INSERT INTO windowed
SELECT room_id, amount, ts, window_start, window_end, window_time, window_end + INTERVAL '10' SECOND
FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '3' SECOND))
WHERE amount >= 40 AND window_start >= TIMESTAMP '2026-01-01 00:01:00';
`

// tvfGift is a test gift whose event time may be missing.
type tvfGift struct {
	gift
	NoTime bool
}

// genTVFGifts makes random gifts (see genGifts), one in fifty without an
// event time.
func genTVFGifts(r *rand.Rand, n, rooms, giftKinds int, maxDelay int64) []tvfGift {
	gs := genGifts(r, n, rooms, giftKinds, maxDelay)
	out := make([]tvfGift, len(gs))
	for i, g := range gs {
		out[i] = tvfGift{gift: g, NoTime: r.IntN(50) == 0}
	}
	return out
}

// tvfGiftsRecord turns test gifts into one Arrow record with the gifts
// schema, NULL times included.
func tvfGiftsRecord(mem memory.Allocator, gs []tvfGift) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "room_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "gift_id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "quantity", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "ts", Type: types.TimestampType.Arrow(), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, g := range gs {
		b.Field(0).(*array.Int64Builder).Append(g.Room)
		b.Field(1).(*array.Int64Builder).Append(g.User)
		b.Field(2).(*array.Int32Builder).Append(g.Gift)
		if g.QtyNull {
			b.Field(3).(*array.Int32Builder).AppendNull()
		} else {
			b.Field(3).(*array.Int32Builder).Append(g.Qty)
		}
		b.Field(4).(*array.Int64Builder).Append(g.Amount)
		if g.NoTime {
			b.Field(5).(*array.TimestampBuilder).AppendNull()
		} else {
			b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(g.Ts))
		}
	}
	return b.NewRecordBatch()
}

// tumbleStartRef is the start of the window [offset + k*size, offset +
// (k+1)*size) holding ts, by floor division.
func tumbleStartRef(ts, size, offset int64) int64 {
	k := (ts - offset) / size
	if (ts-offset)%size < 0 {
		k--
	}
	return offset + k*size
}

func qtyText(g tvfGift) string {
	if g.QtyNull {
		return "null"
	}
	return strconv.Itoa(int(g.Qty))
}

// byWindowRoom groups the gifts that have a time (those without are in no
// window) by 1-minute window start and room.
type windowRoom struct{ ws, room int64 }

func byWindowRoom(gs []tvfGift) map[windowRoom][]tvfGift {
	parts := map[windowRoom][]tvfGift{}
	for _, g := range gs {
		if g.NoTime {
			continue
		}
		k := windowRoom{tumbleStartRef(g.Ts, 60_000, 0), g.Room}
		parts[k] = append(parts[k], g)
	}
	return parts
}

// lessTotal is ORDER BY amount DESC, ts, user_id, gift_id, quantity (NULLS
// FIRST ascending, Flink's default).
func lessTotal(a, b tvfGift) bool {
	switch {
	case a.Amount != b.Amount:
		return a.Amount > b.Amount
	case a.Ts != b.Ts:
		return a.Ts < b.Ts
	case a.User != b.User:
		return a.User < b.User
	case a.Gift != b.Gift:
		return a.Gift < b.Gift
	case a.QtyNull != b.QtyNull:
		return a.QtyNull
	}
	return !a.QtyNull && a.Qty < b.Qty
}

// refTopSingleTotal is the reference for topSingleGiftsTotalSQL.
func refTopSingleTotal(gs []tvfGift, n int) []string {
	var out []string
	for k, p := range byWindowRoom(gs) {
		sort.SliceStable(p, func(i, j int) bool { return lessTotal(p[i], p[j]) })
		for i := 0; i < len(p) && i < n; i++ {
			g := p[i]
			out = append(out, fmt.Sprintf("+I|%d|%d|%d|%d|%s|%d|%d|%d", k.ws, g.Room, g.User, g.Gift, qtyText(g), g.Amount, g.Ts, i+1))
		}
	}
	return out
}

// refPlainTVF is the reference for plainTVFSQL.
func refPlainTVF(gs []tvfGift) []string {
	const size, offset = 10_000, 3_000
	from := int64(1_767_225_660_000) // 2026-01-01 00:01:00 UTC
	var out []string
	for _, g := range gs {
		if g.NoTime || g.Amount < 40 {
			continue
		}
		ws := tumbleStartRef(g.Ts, size, offset)
		if ws < from {
			continue
		}
		out = append(out, fmt.Sprintf("+I|%d|%d|%d|%d|%d|%d|%d", g.Room, g.Amount, g.Ts, ws, ws+size, ws+size-1, ws+size+10_000))
	}
	return out
}

// checkTopSingleWithTies checks the rows of topSingleGiftsSQL, which ranks
// by amount alone: in every window and room, the rows are rn 1..k (k =
// min(n, gifts there)), their amounts ranked by rn are the k largest
// amounts in descending order, and they are k distinct gifts of that
// window and room. Which of several gifts tied on amount is kept is not
// checked: the engine breaks ties by arrival.
func checkTopSingleWithTies(t *testing.T, got []string, gs []tvfGift, n int) {
	t.Helper()
	parts := byWindowRoom(gs)
	type row struct {
		rn   int
		gift string // the gift's own columns, as the sink renders them
		amt  int64
	}
	gotParts := map[windowRoom][]row{}
	for _, line := range got {
		f := strings.Split(line, "|")
		if len(f) != 11 || f[0] != "+I" {
			t.Fatalf("malformed row %q", line)
		}
		num := func(i int) int64 {
			v, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil {
				t.Fatalf("row %q: column %d: %v", line, i, err)
			}
			return v
		}
		ws, we, wt := num(7), num(8), num(9)
		if we != ws+60_000 || wt != we-1 {
			t.Fatalf("row %q: window [%d, %d) with window_time %d is not a 1-minute window", line, ws, we, wt)
		}
		k := windowRoom{ws, num(1)}
		gotParts[k] = append(gotParts[k], row{rn: int(num(10)), gift: strings.Join(f[1:7], "|"), amt: num(5)})
	}
	for k := range gotParts {
		if _, ok := parts[k]; !ok {
			t.Fatalf("rows for window %d room %d, which has no gifts", k.ws, k.room)
		}
	}
	for k, p := range parts {
		rows := gotParts[k]
		want := min(n, len(p))
		if len(rows) != want {
			t.Fatalf("window %d room %d: %d rows, want %d", k.ws, k.room, len(rows), want)
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].rn < rows[j].rn })
		amounts := make([]int64, len(p))
		avail := map[string]int{}
		for i, g := range p {
			amounts[i] = g.Amount
			avail[fmt.Sprintf("%d|%d|%d|%s|%d|%d", g.Room, g.User, g.Gift, qtyText(g), g.Amount, g.Ts)]++
		}
		sort.Slice(amounts, func(i, j int) bool { return amounts[i] > amounts[j] })
		for i, r := range rows {
			if r.rn != i+1 {
				t.Fatalf("window %d room %d: row numbers %v, want 1..%d", k.ws, k.room, rows, want)
			}
			if r.amt != amounts[i] {
				t.Fatalf("window %d room %d: rn %d has amount %d, want %d (amounts there: %v)", k.ws, k.room, r.rn, r.amt, amounts[i], amounts[:want])
			}
			if avail[r.gift] == 0 {
				t.Fatalf("window %d room %d: rn %d is %s, not a (remaining) gift of that window and room", k.ws, k.room, r.rn, r.gift)
			}
			avail[r.gift]--
		}
	}
}

// TestWindowTVFQueriesMatchReference runs the top 3 single gifts per room
// per minute (a window Top-N directly over TUMBLE, as the issue writes it
// and with a total order) and a plain, filtered TVF query, at parallelism 1
// and 4 with random batch sizes, and checks each against a row-at-a-time
// reference. Gifts are out of order within the watermark delay, so nothing
// is late; gifts without a time are in no window. (Each query runs as a job
// of its own: a script of several INSERTs shares the source batches between
// goroutines, which the runtime does not make race-free yet.)
func TestWindowTVFQueriesMatchReference(t *testing.T) {
	for _, parallelism := range []int{1, 4} {
		for trial := 0; trial < 3; trial++ {
			seed := uint64(500*parallelism + trial)
			t.Run(fmt.Sprintf("p%d/seed%d", parallelism, seed), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				r := rand.New(rand.NewPCG(seed, 13))
				gs := genTVFGifts(r, 2000+r.IntN(20000), 1+r.IntN(40), 1+r.IntN(30), 5000)
				rec := tvfGiftsRecord(mem, gs)
				defer rec.Release()
				total := refTopSingleTotal(gs, 3)
				plain := refPlainTVF(gs)
				if len(total) == 0 || len(plain) == 0 {
					t.Fatal("reference is empty: test data is broken")
				}
				data := map[string]arrow.RecordBatch{"gifts": rec}
				for _, q := range []struct {
					sql   string
					check func(rows []string)
				}{
					{topSingleGiftsSQL, func(rows []string) { checkTopSingleWithTies(t, rows, gs, 3) }},
					{topSingleGiftsTotalSQL, func(rows []string) { assertSameRows(t, rows, total) }},
					{plainTVFSQL, func(rows []string) { assertSameRows(t, rows, plain) }},
				} {
					rows, res := runSQL(t, tvfGiftsDDL+q.sql, parallelism, data, seed, mem)
					if res.LateRecordsDropped != 0 {
						t.Errorf("late records dropped = %d, want 0 (disorder is within the watermark delay)", res.LateRecordsDropped)
					}
					if len(rows) != 1 {
						t.Fatalf("rows for %d sinks, want 1", len(rows))
					}
					for _, got := range rows {
						q.check(got)
					}
				}
			})
		}
	}
}

// TestLateEventsOverWindowTVF feeds gifts far behind the watermark: the
// window Top-N over the TVF drops and counts them (their windows have
// fired: the Top-N fires a window once the watermark reaches window_time,
// window_end - 1), while the plain TVF query, which keeps no windows open,
// passes them through, as Flink's window TVF does. It runs at parallelism 1:
// with several source subtasks, whether a row is late depends on how far
// the others have got.
func TestLateEventsOverWindowTVF(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(9, 9))
	gs := genTVFGifts(r, 30000, 5, 5, 2000) // about 10 minutes of event time
	// Late gifts, 5 minutes behind the last event time (a batch spans at
	// most ~80 s).
	last := gs[len(gs)-1].Ts
	const late = 40
	for i := 0; i < late; i++ {
		g := gs[r.IntN(len(gs))]
		g.NoTime = false
		g.Ts = last - 300_000 - r.Int64N(10_000)
		g.Amount = 1_000_000 // would top any window if ranked
		gs = append(gs, g)
	}
	rec := tvfGiftsRecord(mem, gs)
	defer rec.Release()
	data := map[string]arrow.RecordBatch{"gifts": rec}
	rows, res := runSQL(t, tvfGiftsDDL+topSingleGiftsTotalSQL, 1, data, 9, mem)
	if res.LateRecordsDropped != late {
		t.Errorf("Top-N: late records dropped = %d, want %d", res.LateRecordsDropped, late)
	}
	assertSameRows(t, rows["top_single_total"], refTopSingleTotal(gs[:len(gs)-late], 3))
	rows, res = runSQL(t, tvfGiftsDDL+plainTVFSQL, 1, data, 9, mem)
	if res.LateRecordsDropped != 0 {
		t.Errorf("plain TVF: late records dropped = %d, want 0", res.LateRecordsDropped)
	}
	want := refPlainTVF(gs)
	if n := len(refPlainTVF(gs[:len(gs)-late])); n == len(want) {
		t.Fatal("no late gift passes the plain query's filter: test data is broken")
	}
	assertSameRows(t, rows["windowed"], want)
}

// BenchmarkTopSingleGiftsOverTVF is the Top-N directly over the
// window TVF: 1M in-memory gifts over 1,000 skewed rooms, the top 3 single
// gifts per room per minute by amount, into blackhole, at parallelism 1.
// It reports events per CPU-second.
func BenchmarkTopSingleGiftsOverTVF(b *testing.B) {
	const events = 1_000_000
	r := rand.New(rand.NewPCG(42, 42))
	gs := genGifts(r, events, 1000, 200, 5000)
	rec := giftsRecord(memory.DefaultAllocator, gs)
	defer rec.Release()
	script := strings.Replace(tvfGiftsDDL+topSingleGiftsSQL, "'connector' = 'collect'", "'connector' = 'blackhole'", 1)
	reg := builtin.Registry()
	if err := reg.Register(&memSource{data: map[string]arrow.RecordBatch{"gifts": rec}, seed: 1}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	plan, err := planner.Compile(ctx, "bench.sql", script, planner.Options{JobName: "bench", Parallelism: 1, Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := runtime.Run(ctx, plan.Graph, runtime.Options{Connectors: reg, Operators: operators.Factories()}); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(events)*float64(b.N)/cpu.Seconds(), "events/cpu-s")
}
