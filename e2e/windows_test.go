package e2e

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// End-to-end reference tests for every window kind (TUMBLE with and without
// offset, HOP with offset, CUMULATE with offset, SESSION with and without
// PARTITION BY) crossed with every windowed operator (window aggregation,
// window Top-N, window deduplication ASC and DESC, window join INNER and
// LEFT, plain TVF output, a UNION ALL feeding a window aggregate). Each job
// runs the whole path (SQL, planner, exchanges, operators) at parallelism 1
// and 4 on random out-of-order data, with random batch sizes, and is
// compared with a row-at-a-time reference written from Flink's documented
// semantics (windows_ref_test.go).

// wrow is one row of the test tables (k BIGINT, u BIGINT, v INT, amt BIGINT,
// ts TIMESTAMP(3)).
type wrow struct {
	K     int64
	KNull bool
	U     int64
	V     int32
	VNull bool
	Amt   int64
	Ts    int64 // event time, ms
}

// wDelayMs is the tables' watermark delay; the generator's disorder stays
// strictly below it, so no row is late and no row can arrive exactly at the
// end of a session that has already fired (W = max − delay − 1 < ts − 1).
const wDelayMs = 2000

// genWRows makes n rows with skewed keys (a few NULL), small user ids,
// values in [-3, 5] (a few NULL), amounts with ties, and event times that
// are distinct, advance with quiet periods (so sessions end) and are out of
// order by at most maxDelay ms.
func genWRows(r *rand.Rand, n, keys int, maxDelay int64) []wrow {
	out := make([]wrow, 0, n)
	seen := make(map[int64]bool, n)
	base := int64(1_767_225_600_000) // 2026-01-01 00:00:00 UTC
	for len(out) < n {
		base += r.Int64N(100)
		if r.IntN(60) == 0 {
			base += 300 + r.Int64N(4000) // a quiet period
		}
		w := wrow{
			K:     1 + int64(float64(keys)*r.Float64()*r.Float64()),
			KNull: r.IntN(25) == 0,
			U:     r.Int64N(40),
			V:     int32(r.IntN(9) - 3),
			VNull: r.IntN(12) == 0,
			Amt:   1 + r.Int64N(300),
			Ts:    base - r.Int64N(maxDelay+1),
		}
		if len(out) > 0 && r.IntN(20) == 0 {
			// Exactly a session gap after a recent row of the same key:
			// its window touches that row's, which merges them (Flink's
			// TimeWindow.intersects counts touching).
			e := out[len(out)-1-r.IntN(min(len(out), 50))]
			gap := []int64{1500, 800}[r.IntN(2)]
			if t := e.Ts + gap; t <= base && t >= base-maxDelay {
				w.K, w.KNull, w.Ts = e.K, e.KNull, t
			}
		}
		if seen[w.Ts] {
			continue
		}
		seen[w.Ts] = true
		out = append(out, w)
	}
	return out
}

// wRecord turns test rows into one Arrow record with the tables' schema.
func wRecord(mem memory.Allocator, rows []wrow) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "u", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "v", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "amt", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "ts", Type: types.TimestampType.Arrow(), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, w := range rows {
		if w.KNull {
			b.Field(0).(*array.Int64Builder).AppendNull()
		} else {
			b.Field(0).(*array.Int64Builder).Append(w.K)
		}
		b.Field(1).(*array.Int64Builder).Append(w.U)
		if w.VNull {
			b.Field(2).(*array.Int32Builder).AppendNull()
		} else {
			b.Field(2).(*array.Int32Builder).Append(w.V)
		}
		b.Field(3).(*array.Int64Builder).Append(w.Amt)
		b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(w.Ts))
	}
	return b.NewRecordBatch()
}

// wTableDDL declares a test table over an in-memory dataset.
func wTableDDL(name, dataset string) string {
	return fmt.Sprintf(`CREATE TABLE %s (
  k BIGINT, u BIGINT, v INT, amt BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'memory', 'dataset' = '%s');
`, name, dataset)
}

// winKind is a window TVF: its SQL (a format taking the table name) and the
// parameters its reference assigns windows with.
type winKind struct {
	name string
	tvf  string
	kind string // tumble, hop, cumulate, session
	// size is the TUMBLE/HOP size, the CUMULATE max size or the SESSION gap;
	// slide the HOP slide or CUMULATE step; offset the TUMBLE/HOP/CUMULATE
	// offset, all in ms.
	size, slide, offset int64
	partitioned         bool // SESSION ... PARTITION BY k
}

func (wk winKind) on(table string) string { return fmt.Sprintf(wk.tvf, table) }

var winKinds = []winKind{
	{name: "tumble", tvf: "TUMBLE(TABLE %s, DESCRIPTOR(ts), INTERVAL '2' SECOND)", kind: "tumble", size: 2000},
	{name: "tumble_offset", tvf: "TUMBLE(TABLE %s, DESCRIPTOR(ts), INTERVAL '3' SECOND, INTERVAL '1.2' SECOND)",
		kind: "tumble", size: 3000, offset: 1200},
	{name: "hop_offset", tvf: "HOP(TABLE %s, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '4' SECOND, INTERVAL '2.25' SECOND)",
		kind: "hop", size: 4000, slide: 1000, offset: 2250},
	{name: "cumulate_offset", tvf: "CUMULATE(TABLE %s, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '4' SECOND, INTERVAL '0.5' SECOND)",
		kind: "cumulate", size: 4000, slide: 1000, offset: 500},
	{name: "session_partitioned", tvf: "SESSION(TABLE %s PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1.5' SECOND)",
		kind: "session", size: 1500, partitioned: true},
	{name: "session_global", tvf: "SESSION(TABLE %s, DESCRIPTOR(ts), INTERVAL '0.8' SECOND)",
		kind: "session", size: 800},
}

// wCase is one operator, run over each window kind: its job (over tables
// lt, on dataset "a", and rt, on dataset "b" or, with sameRight, "a") and
// its reference.
type wCase struct {
	name string
	// p1Only marks a query whose result depends on arrival order, which is
	// the data's order only at parallelism 1.
	p1Only bool
	// sameRight makes rt read dataset "a" too (SESSION joins: both sides
	// then have the same sessions).
	sameRight bool
	sql       func(wk winKind) string
	ref       func(wk winKind, a, b []wrow) []string
}

// spills reports whether the job buffers rows or groups in an operator
// with a buffer limit (window aggregate, Top-N, SESSION TVF), which tiny
// buffers must push into keyed state.
func (c wCase) spills(wk winKind) bool {
	switch {
	case strings.HasPrefix(c.name, "agg"), c.name == "topn", strings.HasPrefix(c.name, "dedup"), c.name == "union_agg":
		return true
	}
	return wk.kind == "session" // the SESSION TVF holds its rows
}

func (c wCase) script(wk winKind) string {
	right := "b"
	if c.sameRight {
		right = "a"
	}
	return wTableDDL("lt", "a") + wTableDDL("rt", right) + c.sql(wk)
}

const aggSinkDDL = `
CREATE TABLE out_agg (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), k BIGINT,
  n BIGINT, nv BIGINT, total BIGINT, lo INT, hi BIGINT, avg_v INT, users BIGINT, vals BIGINT,
  big_total BIGINT, big_n BIGINT, fk BIGINT, lk BIGINT%s
) WITH ('connector' = 'collect');
`

func aggSQL(ordered bool) func(wk winKind) string {
	return func(wk winKind) string {
		cols, aggs := "", ""
		if ordered {
			cols, aggs = ", fu BIGINT, lv INT", ", FIRST_VALUE(u), LAST_VALUE(v)"
		}
		return fmt.Sprintf(aggSinkDDL, cols) + fmt.Sprintf(`
INSERT INTO out_agg
SELECT window_start, window_end, k,
       COUNT(*), COUNT(v), SUM(amt), MIN(v), MAX(amt), AVG(v), COUNT(DISTINCT u), COUNT(DISTINCT v),
       SUM(amt) FILTER (WHERE v > 2), COUNT(*) FILTER (WHERE amt >= 150),
       FIRST_VALUE(k + v * 0), LAST_VALUE(k + v * 0)%s
FROM TABLE(%s)
GROUP BY window_start, window_end, k;
`, aggs, wk.on("lt"))
	}
}

func topNSQL(wk winKind) string {
	return `
CREATE TABLE out_topn (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), k BIGINT, u BIGINT, v INT, amt BIGINT, ts TIMESTAMP(3), rn BIGINT
) WITH ('connector' = 'collect');
` + fmt.Sprintf(`
INSERT INTO out_topn
SELECT window_start, window_end, k, u, v, amt, ts, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k
                               ORDER BY amt DESC, v ASC NULLS LAST, ts) AS rn
  FROM TABLE(%s))
WHERE rn <= 3;
`, wk.on("lt"))
}

func dedupSQL(dir string) func(wk winKind) string {
	return func(wk winKind) string {
		return `
CREATE TABLE out_dedup (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), k BIGINT, u BIGINT, v INT, amt BIGINT, ts TIMESTAMP(3)
) WITH ('connector' = 'collect');
` + fmt.Sprintf(`
INSERT INTO out_dedup
SELECT window_start, window_end, k, u, v, amt, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k ORDER BY ts %s) AS rn
  FROM TABLE(%s))
WHERE rn = 1;
`, dir, wk.on("lt"))
	}
}

// joinRightMod keeps one right row in joinRightMod (by user): the right
// side's filter, applied after its window TVF.
const joinRightMod = 8

func joinSQL(how string) func(wk winKind) string {
	return func(wk winKind) string {
		return `
CREATE TABLE out_join (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), k BIGINT, lu BIGINT, lts TIMESTAMP(3), ru BIGINT, rts TIMESTAMP(3)
) WITH ('connector' = 'collect');
` + fmt.Sprintf(`
INSERT INTO out_join
SELECT A.window_start, A.window_end, A.k, A.u, A.ts, B.u, B.ts
FROM (SELECT * FROM TABLE(%s)) A
%s JOIN (SELECT * FROM TABLE(%s) WHERE MOD(u, %d) = 0) B
  ON A.window_start = B.window_start AND A.window_end = B.window_end AND A.k = B.k;
`, wk.on("lt"), how, wk.on("rt"), joinRightMod)
	}
}

func plainSQL(wk winKind) string {
	return `
CREATE TABLE out_plain (
  k BIGINT, u BIGINT, amt BIGINT, ts TIMESTAMP(3), window_start TIMESTAMP(3), window_end TIMESTAMP(3), window_time TIMESTAMP(3)
) WITH ('connector' = 'collect');
` + fmt.Sprintf(`
INSERT INTO out_plain
SELECT k, u, amt, ts, window_start, window_end, window_time FROM TABLE(%s) WHERE amt >= 100;
`, wk.on("lt"))
}

func unionSQL(wk winKind) string {
	return `
CREATE VIEW both_sides AS
SELECT k, u, v, amt, ts FROM lt
UNION ALL
SELECT k, u, v, amt, ts FROM rt WHERE amt > 20;

CREATE TABLE out_union (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), k BIGINT, n BIGINT, total BIGINT, hi INT, users BIGINT
) WITH ('connector' = 'collect');
` + fmt.Sprintf(`
INSERT INTO out_union
SELECT window_start, window_end, k, COUNT(*), SUM(amt), MAX(v), COUNT(DISTINCT u)
FROM TABLE(%s)
GROUP BY window_start, window_end, k;
`, wk.on("both_sides"))
}

// wCases lists the operators every window kind is tested with.
var wCases = []wCase{
	{name: "agg", sql: aggSQL(false), ref: func(wk winKind, a, _ []wrow) []string { return refWinAgg(a, wk.assign(a), false) }},
	{name: "agg_arrival_order", p1Only: true, sql: aggSQL(true), ref: func(wk winKind, a, _ []wrow) []string { return refWinAgg(a, wk.assign(a), true) }},
	{name: "topn", sql: topNSQL, ref: func(wk winKind, a, _ []wrow) []string { return refWinTopN(a, wk.assign(a), 3) }},
	{name: "dedup_asc", sql: dedupSQL("ASC"), ref: func(wk winKind, a, _ []wrow) []string { return refWinDedup(a, wk.assign(a), false) }},
	{name: "dedup_desc", sql: dedupSQL("DESC"), ref: func(wk winKind, a, _ []wrow) []string { return refWinDedup(a, wk.assign(a), true) }},
	{name: "join_inner", sql: joinSQL("INNER"), ref: func(wk winKind, a, b []wrow) []string { return refWinJoin(wk, a, b, false) }},
	{name: "join_left", sql: joinSQL("LEFT"), ref: func(wk winKind, a, b []wrow) []string { return refWinJoin(wk, a, b, true) }},
	{name: "plain_tvf", sql: plainSQL, ref: func(wk winKind, a, _ []wrow) []string { return refPlainWin(a, wk.assign(a), 100) }},
	{name: "union_agg", sql: unionSQL, ref: func(wk winKind, a, b []wrow) []string { return refUnionAgg(wk, a, b) }},
}

// TestWindowKindsTimesOperatorsMatchReference runs every operator over every
// window kind at parallelism 1 and 4, a few seeds each, and compares the
// sink's rows with the reference. The data's disorder is within the
// watermark delay, so no record may be dropped as late.
func TestWindowKindsTimesOperatorsMatchReference(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, wk := range winKinds {
		for _, c := range wCases {
			if c.p1Only && wk.kind != "tumble" {
				continue // arrival order is only well defined per window for TUMBLE
			}
			// SESSION joins need the same sessions on both sides.
			c.sameRight = wk.kind == "session" && strings.HasPrefix(c.name, "join")
			for _, p := range []int{1, 4} {
				if c.p1Only && p != 1 {
					continue
				}
				for si, s := range seeds {
					seed := s*1_000_003 + uint64(p)*7 + uint64(len(wk.name)*31+len(c.name))
					// Every other seed runs with buffers of a few entries,
					// so the operators' keyed-state (spill) paths run too.
					tiny := si%2 == 1
					name := fmt.Sprintf("%s/%s/p%d/seed%d", wk.name, c.name, p, seed)
					if tiny {
						name += "/tiny_buffers"
					}
					t.Run(name, func(t *testing.T) {
						runWindowCase(t, wk, c, p, seed, tiny, nil)
					})
				}
			}
		}
	}
}

// tinyBuffersSQL sets the window buffers to a few entries.
const tinyBuffersSQL = `SET 'table.exec.window-agg.buffer-size-limit' = '3';
SET 'table.exec.window-rank.buffer-size-limit' = '3';
SET 'table.exec.window-tvf.buffer-size-limit' = '3';
`

func runWindowCase(t *testing.T, wk winKind, c wCase, p int, seed uint64, tiny bool, edit func([]wrow)) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(seed, 17))
	keys := 2 + r.IntN(10)
	a := genWRows(r, 1000+r.IntN(2000), keys, wDelayMs-1)
	b := genWRows(r, 1000+r.IntN(2000), keys, wDelayMs-1)
	if edit != nil {
		edit(a)
		edit(b)
	}
	if c.sameRight {
		b = a
	}
	recA, recB := wRecord(mem, a), wRecord(mem, b)
	defer recA.Release()
	defer recB.Release()
	want := c.ref(wk, a, b)
	if len(want) == 0 {
		t.Fatal("reference is empty: test data is broken")
	}
	script := c.script(wk)
	if tiny {
		script = tinyBuffersSQL + script
	}
	rows, res := runSQL(t, script, p, map[string]arrow.RecordBatch{"a": recA, "b": recB}, seed, mem)
	if res.LateRecordsDropped != 0 {
		t.Errorf("late records dropped = %d, want 0 (disorder is within the watermark delay)", res.LateRecordsDropped)
	}
	if tiny && c.spills(wk) {
		var spilled int64
		for _, op := range res.Operators {
			spilled += op.Counters["state_spilled_entries"]
		}
		if spilled == 0 {
			t.Errorf("no operator spilled to state with buffers of 3 entries")
		}
	}
	if len(rows) > 1 {
		t.Fatalf("rows for %d sinks, want 1", len(rows))
	}
	var got []string
	for _, rs := range rows {
		got = rs
	}
	if !sameMultiset(got, want) {
		t.Logf("script:\n%s", script)
	}
	assertSameRows(t, got, want)
}

// TestWindowJoinNullKeyOnlyWindows runs the window joins on data whose
// keys are all NULL in every third 10-second block of event time (the
// first block included), so some windows hold only NULL keys on both
// sides. NULL never equals NULL: INNER must pair none of those rows, LEFT
// must pad each of its left rows with NULLs.
func TestWindowJoinNullKeyOnlyWindows(t *testing.T) {
	nullBlocks := func(rows []wrow) {
		for i := range rows {
			if (rows[i].Ts/10_000)%3 == 0 {
				rows[i].KNull = true
			}
		}
	}
	for _, wk := range winKinds {
		for _, c := range wCases {
			if !strings.HasPrefix(c.name, "join") {
				continue
			}
			c.sameRight = wk.kind == "session"
			for _, p := range []int{1, 4} {
				seed := uint64(4242 + p + len(c.name))
				t.Run(fmt.Sprintf("%s/%s/p%d/seed%d", wk.name, c.name, p, seed), func(t *testing.T) {
					runWindowCase(t, wk, c, p, seed, false, nullBlocks)
				})
			}
		}
	}
}

// sameMultiset reports whether got and want hold the same rows.
func sameMultiset(got, want []string) bool {
	onlyGot, onlyWant := diffMultisets(got, want)
	return len(onlyGot)+len(onlyWant) == 0
}

// TestWindowReferenceSanity checks the reference's window assignment on
// hand-picked times, so a reference bug cannot hide an engine bug.
func TestWindowReferenceSanity(t *testing.T) {
	byName := map[string]winKind{}
	for _, wk := range winKinds {
		byName[wk.name] = wk
	}
	spansOf := func(wk winKind, ts ...int64) [][]span {
		rows := make([]wrow, len(ts))
		for i, x := range ts {
			rows[i] = wrow{K: 1, Ts: x}
		}
		return wk.assign(rows)
	}
	check := func(name string, got [][]span, want [][]span) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	check("tumble_offset", spansOf(byName["tumble_offset"], 1199, 1200, 4199), [][]span{{{-1800, 1200}}, {{1200, 4200}}, {{1200, 4200}}})
	check("hop_offset", spansOf(byName["hop_offset"], 250), [][]span{{{-2750, 1250}, {-1750, 2250}, {-750, 3250}, {250, 4250}}})
	check("cumulate_offset", spansOf(byName["cumulate_offset"], 1600), [][]span{{{500, 2500}, {500, 3500}, {500, 4500}}})
	// Rows 0 and 1 touch (1500 = 0 + gap): one session; 3100 is 100 ms past
	// 1500 + 1500, a session of its own.
	check("session", spansOf(byName["session_partitioned"], 1500, 0, 3100), [][]span{{{0, 3000}}, {{0, 3000}}, {{3100, 4600}}})
}
