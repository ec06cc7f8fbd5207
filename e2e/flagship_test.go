package e2e

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const giftsDDL = `
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

const topGiftsSQL = giftsDDL + `
CREATE TABLE top_gifts (
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3),
  room_id      BIGINT,
  gift_id      INT,
  total_amount BIGINT,
  rn           BIGINT
) WITH ('connector' = 'collect');

INSERT INTO top_gifts
SELECT window_start, window_end, room_id, gift_id, total_amount, rn
FROM (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY window_start, window_end, room_id
                       ORDER BY total_amount DESC, gift_id ASC) AS rn
  FROM (
    SELECT window_start, window_end, room_id, gift_id, SUM(amount) AS total_amount
    FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
    GROUP BY window_start, window_end, room_id, gift_id
  )
)
WHERE rn <= 3;
`

// refTopGifts is the reference for topGiftsSQL, a row at a time.
func refTopGifts(gs []gift, windowMs int64, n int) []string {
	type key struct {
		ws, room int64
		gift     int32
	}
	sums := map[key]int64{}
	for _, g := range gs {
		ws := g.Ts - ((g.Ts%windowMs)+windowMs)%windowMs
		sums[key{ws, g.Room, g.Gift}] += g.Amount
	}
	type part struct{ ws, room int64 }
	type cand struct {
		gift  int32
		total int64
	}
	parts := map[part][]cand{}
	for k, s := range sums {
		parts[part{k.ws, k.room}] = append(parts[part{k.ws, k.room}], cand{k.gift, s})
	}
	var out []string
	for p, cs := range parts {
		sort.Slice(cs, func(i, j int) bool {
			if cs[i].total != cs[j].total {
				return cs[i].total > cs[j].total
			}
			return cs[i].gift < cs[j].gift
		})
		for i := 0; i < len(cs) && i < n; i++ {
			out = append(out, fmt.Sprintf("+I|%d|%d|%d|%d|%d|%d", p.ws, p.ws+windowMs, p.room, cs[i].gift, cs[i].total, i+1))
		}
	}
	return out
}

func TestFlagshipTopGiftsMatchesReference(t *testing.T) {
	for _, parallelism := range []int{1, 4} {
		for trial := 0; trial < 3; trial++ {
			seed := uint64(1000*parallelism + trial)
			t.Run(fmt.Sprintf("p%d/seed%d", parallelism, seed), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				r := rand.New(rand.NewPCG(seed, 7))
				gs := genGifts(r, 2000+r.IntN(20000), 1+r.IntN(40), 1+r.IntN(30), 5000)
				rec := giftsRecord(mem, gs)
				defer rec.Release()
				rows, res := runSQL(t, topGiftsSQL, parallelism, map[string]arrow.RecordBatch{"gifts": rec}, seed, mem)
				if res.LateRecordsDropped != 0 {
					t.Errorf("late records dropped = %d, want 0 (disorder is within the watermark delay)", res.LateRecordsDropped)
				}
				want := refTopGifts(gs, 60_000, 3)
				if len(want) == 0 {
					t.Fatal("reference is empty: test data is broken")
				}
				assertSameRows(t, rows["top_gifts"], want)
			})
		}
	}
}

const roomStatsSQL = giftsDDL + `
CREATE TABLE room_stats (
  window_start TIMESTAMP(3),
  window_end   TIMESTAMP(3),
  room_id      BIGINT,
  n            BIGINT,
  nq           BIGINT,
  total        BIGINT,
  lo           BIGINT,
  hi           BIGINT,
  avg_qty      INT,
  big          BIGINT
) WITH ('connector' = 'collect');

INSERT INTO room_stats
SELECT window_start, window_end, room_id,
       COUNT(*), COUNT(quantity), SUM(amount), MIN(amount), MAX(amount), AVG(quantity),
       SUM(CASE WHEN amount >= 100 THEN 1 ELSE 0 END)
FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '10' SECOND))
WHERE MOD(user_id, 7) <> 3 AND NOT (gift_id = 2)
GROUP BY window_start, window_end, room_id;
`

// refRoomStats is the reference for roomStatsSQL.
func refRoomStats(gs []gift, windowMs int64) []string {
	type key struct{ ws, room int64 }
	type acc struct {
		n, nq, total, lo, hi, qsum, big int64
	}
	accs := map[key]*acc{}
	for _, g := range gs {
		if g.User%7 == 3 || g.Gift == 2 {
			continue
		}
		ws := g.Ts - ((g.Ts%windowMs)+windowMs)%windowMs
		k := key{ws, g.Room}
		a := accs[k]
		if a == nil {
			a = &acc{lo: g.Amount, hi: g.Amount}
			accs[k] = a
		}
		a.n++
		if !g.QtyNull {
			a.nq++
			a.qsum += int64(g.Qty)
		}
		a.total += g.Amount
		a.lo = min(a.lo, g.Amount)
		a.hi = max(a.hi, g.Amount)
		if g.Amount >= 100 {
			a.big++
		}
	}
	var out []string
	for k, a := range accs {
		avg := "null"
		if a.nq > 0 {
			avg = fmt.Sprint(a.qsum / a.nq)
		}
		out = append(out, fmt.Sprintf("+I|%d|%d|%d|%d|%d|%d|%d|%d|%s|%d", k.ws, k.ws+windowMs, k.room, a.n, a.nq, a.total, a.lo, a.hi, avg, a.big))
	}
	return out
}

func TestTumblingAggregatesMatchReference(t *testing.T) {
	for _, parallelism := range []int{1, 4} {
		for trial := 0; trial < 3; trial++ {
			seed := uint64(77*parallelism + trial)
			t.Run(fmt.Sprintf("p%d/seed%d", parallelism, seed), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				r := rand.New(rand.NewPCG(seed, 11))
				gs := genGifts(r, 1000+r.IntN(15000), 1+r.IntN(60), 1+r.IntN(10), 5000)
				rec := giftsRecord(mem, gs)
				defer rec.Release()
				rows, _ := runSQL(t, roomStatsSQL, parallelism, map[string]arrow.RecordBatch{"gifts": rec}, seed, mem)
				assertSameRows(t, rows["room_stats"], refRoomStats(gs, 10_000))
			})
		}
	}
}

// TestLateEventsAreDroppedAndCounted feeds events far behind the watermark:
// they must not change any result, and the engine must count them.
func TestLateEventsAreDroppedAndCounted(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(5, 5))
	gs := genGifts(r, 5000, 5, 5, 2000)
	// Append late events: 5 minutes behind the last event time (a batch spans at most ~80 s).
	last := gs[len(gs)-1].Ts
	late := 0
	for i := 0; i < 50; i++ {
		g := gs[r.IntN(len(gs))]
		g.Ts = last - 300_000 - r.Int64N(10_000)
		g.Amount = 1_000_000 // would dominate any top-N if counted
		gs = append(gs, g)
		late++
	}
	rec := giftsRecord(mem, gs)
	defer rec.Release()
	rows, res := runSQL(t, topGiftsSQL, 1, map[string]arrow.RecordBatch{"gifts": rec}, 5, mem)
	if res.LateRecordsDropped != int64(late) {
		t.Errorf("late records dropped = %d, want %d", res.LateRecordsDropped, late)
	}
	assertSameRows(t, rows["top_gifts"], refTopGifts(gs[:len(gs)-late], 60_000, 3))
}

// TestSeveralInsertsRunAsOneJob runs the flagship Top-N and the tumbling
// aggregates as two INSERTs of one script: one job, one shared source whose
// batches fan out to both pipelines (concurrently: run with -race), each
// result equal to its reference.
func TestSeveralInsertsRunAsOneJob(t *testing.T) {
	// qty_counts reads quantity, which has NULLs, as room_stats does: two
	// consumers of one batch then compute its lazy null count concurrently.
	script := topGiftsSQL + strings.TrimPrefix(roomStatsSQL, giftsDDL) + `
CREATE TABLE qty_counts (room_id BIGINT, n BIGINT) WITH ('connector' = 'collect');
INSERT INTO qty_counts
SELECT room_id, COUNT(quantity) FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, room_id;
`
	for _, parallelism := range []int{1, 3} {
		t.Run(fmt.Sprintf("p%d", parallelism), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(uint64(parallelism), 99))
			gs := genGifts(r, 5000+r.IntN(10000), 1+r.IntN(30), 1+r.IntN(20), 5000)
			rec := giftsRecord(mem, gs)
			defer rec.Release()
			rows, _ := runSQL(t, script, parallelism, map[string]arrow.RecordBatch{"gifts": rec}, uint64(parallelism)*31, mem)
			assertSameRows(t, rows["top_gifts"], refTopGifts(gs, 60_000, 3))
			assertSameRows(t, rows["room_stats"], refRoomStats(gs, 10_000))
			assertSameRows(t, rows["qty_counts"], refQtyCounts(gs, 60_000))
		})
	}
}

// refQtyCounts is the reference for qty_counts: non-NULL quantities per room
// and window.
func refQtyCounts(gs []gift, windowMs int64) []string {
	type key struct{ ws, room int64 }
	counts := map[key]int64{}
	for _, g := range gs {
		ws := g.Ts - ((g.Ts%windowMs)+windowMs)%windowMs
		k := key{ws, g.Room}
		counts[k] += 0
		if !g.QtyNull {
			counts[k]++
		}
	}
	var out []string
	for k, n := range counts {
		out = append(out, fmt.Sprintf("+I|%d|%d", k.room, n))
	}
	return out
}

// TestTinyBuffersSpillThroughState runs the flagship Top-N and the tumbling
// aggregates with window buffers of a few groups, so nearly every group
// goes through keyed state (spilled, then merged back when its window
// fires), and checks that the results do not change.
func TestTinyBuffersSpillThroughState(t *testing.T) {
	for _, parallelism := range []int{1, 2, 4} {
		limit := 1 + parallelism*3
		t.Run(fmt.Sprintf("p%d/limit%d", parallelism, limit), func(t *testing.T) {
			script := fmt.Sprintf("SET 'table.exec.window-agg.buffer-size-limit' = '%d';\n"+
				"SET 'table.exec.window-rank.buffer-size-limit' = '%d';\n", limit, limit) +
				topGiftsSQL + strings.TrimPrefix(roomStatsSQL, giftsDDL)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(uint64(limit), 5))
			gs := genGifts(r, 3000+r.IntN(6000), 1+r.IntN(40), 1+r.IntN(20), 5000)
			rec := giftsRecord(mem, gs)
			defer rec.Release()
			rows, res := runSQL(t, script, parallelism, map[string]arrow.RecordBatch{"gifts": rec}, uint64(limit), mem)
			assertSameRows(t, rows["top_gifts"], refTopGifts(gs, 60_000, 3))
			assertSameRows(t, rows["room_stats"], refRoomStats(gs, 10_000))
			for _, op := range res.Operators {
				if (op.Kind == "window_agg" || op.Kind == "window_topn") && op.Counters["state_spilled_entries"] == 0 {
					t.Errorf("%s spilled nothing to state with a buffer of %d", op.OperatorID, limit)
				}
			}
		})
	}
}
