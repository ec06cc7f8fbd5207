package liveroom

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/embedded"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// row is one generated input row, by column name: int64 (BIGINT and
// TIMESTAMP(3) as epoch ms), int32 (INT), string, or nil for NULL.
type row map[string]any

// TestJobs runs every example job on a quarter of its bounded datagen input,
// at parallelism 1 and 4 with random batch sizes, into collecting sinks,
// and compares each sink's rows (as multisets) with a reference computed
// row by row from the generator's rows, read through the connector API.
func TestJobs(t *testing.T) {
	for _, job := range Jobs {
		for _, p := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/p%d", job, p), func(t *testing.T) {
				runJob(t, job, p, uint64(len(job)*31+p))
			})
		}
	}
}

var rowsOption = regexp.MustCompile(`'number-of-rows' = '(\d+)'`)

func runJob(t *testing.T, job string, parallelism int, seed uint64) {
	text, err := Script(job)
	if err != nil {
		t.Fatal(err)
	}
	text = rowsOption.ReplaceAllStringFunc(text, func(m string) string {
		var n int
		fmt.Sscanf(rowsOption.FindStringSubmatch(m)[1], "%d", &n)
		return fmt.Sprintf("'number-of-rows' = '%d'", n/4)
	})
	text = strings.ReplaceAll(text, "'path' = 'examples/live-room/", "'path' = '")
	for _, c := range []string{"print", "blackhole"} {
		text = strings.ReplaceAll(text, "'connector' = '"+c+"'", "'connector' = 'collect'")
	}
	reg := builtin.Registry()
	sink := &collectSink{rows: map[string][]string{}}
	if err := reg.Register(sink); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(seed, 7))
	opts := embedded.Options{Parallelism: parallelism, Connectors: reg, Alloc: mem, BatchSize: 1 + r.IntN(700)}
	ctx := context.Background()
	plan, err := embedded.Compile(ctx, job+".sql", text, opts)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]row{}
	for _, v := range plan.Graph.Vertices {
		if src := v.Ops[0].Source; src != nil {
			if _, done := inputs[src.Table]; !done {
				inputs[src.Table] = readTable(t, reg, connectors.TableInfo{Name: src.Table, Schema: src.Schema, Options: src.Options})
			}
		}
	}
	pks := map[string][]int{}
	for _, v := range plan.Graph.Vertices {
		for _, op := range v.Ops {
			if op.Sink != nil {
				pks[op.Sink.Table] = op.Sink.PrimaryKey
			}
		}
	}
	res, err := embedded.RunPlan(ctx, plan, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.LateRecordsDropped != 0 {
		t.Errorf("%d late records dropped; the watermark delays cover the generator's disorder", res.LateRecordsDropped)
	}
	want := references[job](inputs)
	for table, rows := range want {
		got := materialize(t, table, sink.rows[table], pks[table])
		if check := checks[job]; check != nil {
			got = check(t, inputs, got)
		}
		onlyGot, onlyWant := diff(got, rows)
		if len(onlyGot)+len(onlyWant) > 0 {
			t.Errorf("%s: %d rows, want %d; only in output (%d): %v; only in reference (%d): %v", table, len(got), len(rows),
				len(onlyGot), head(onlyGot), len(onlyWant), head(onlyWant))
		}
		if len(rows) == 0 {
			t.Errorf("%s: the reference has no rows; the test data is too small to test anything", table)
		}
	}
	for table := range sink.rows {
		if _, ok := want[table]; !ok {
			t.Errorf("unexpected sink %s", table)
		}
	}
}

func head(s []string) []string { return s[:min(len(s), 5)] }

// diff returns the rows of got missing from want and vice versa, as
// multisets.
func diff(got, want []string) (onlyGot, onlyWant []string) {
	n := map[string]int{}
	for _, g := range got {
		n[g]++
	}
	for _, w := range want {
		n[w]--
	}
	for k, c := range n {
		for ; c > 0; c-- {
			onlyGot = append(onlyGot, k)
		}
		for ; c < 0; c++ {
			onlyWant = append(onlyWant, k)
		}
	}
	sort.Strings(onlyGot)
	sort.Strings(onlyWant)
	return onlyGot, onlyWant
}

// materialize applies a sink's changelog to a table and returns its final
// rows, each as "+I|v1|v2|...". With a primary key, rows are replaced and
// deleted by key (+I must not hit a present key); without one, the table
// is a multiset and -U/-D must remove a row that is present.
func materialize(t *testing.T, table string, changes []string, pk []int) []string {
	t.Helper()
	byKey := map[string]string{}
	multi := map[string]int{}
	for _, c := range changes {
		kind, vals, _ := strings.Cut(c, "|")
		f := strings.Split(vals, "|")
		key := vals
		if len(pk) > 0 {
			parts := make([]string, len(pk))
			for i, k := range pk {
				parts[i] = f[k]
			}
			key = strings.Join(parts, "|")
		}
		switch kind {
		case "+I", "+U":
			if len(pk) == 0 {
				multi[vals]++
				continue
			}
			if _, ok := byKey[key]; ok && kind == "+I" {
				t.Errorf("%s: +I of key %s, which is present", table, key)
			}
			byKey[key] = vals
		case "-U", "-D":
			if len(pk) == 0 {
				if multi[vals] == 0 {
					t.Errorf("%s: %s of a row that is not present: %s", table, kind, vals)
				}
				multi[vals]--
				continue
			}
			if _, ok := byKey[key]; !ok {
				t.Errorf("%s: %s of key %s, which is not present", table, kind, key)
			}
			delete(byKey, key)
		default:
			t.Fatalf("%s: unknown row kind in %q", table, c)
		}
	}
	var out []string
	for _, v := range byKey {
		out = append(out, "+I|"+v)
	}
	for v, n := range multi {
		for ; n > 0; n-- {
			out = append(out, "+I|"+v)
		}
	}
	return out
}

// readTable reads a whole bounded table through its connector, one reader.
func readTable(t *testing.T, reg *connectors.Registry, info connectors.TableInfo) []row {
	t.Helper()
	f, ok := reg.Lookup(info.Options["connector"])
	if !ok {
		t.Fatalf("table %s: no connector %q", info.Name, info.Options["connector"])
	}
	src, err := f.(connectors.SourceFactory).NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rd, err := src.Reader(ctx, connectors.ReaderContext{Parallelism: 1, BatchSize: 4096, Alloc: memory.DefaultAllocator})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []row
	for {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil {
			continue
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			rw := row{}
			for c, fld := range rec.Schema().Fields() {
				rw[fld.Name] = value(rec.Column(c), i)
			}
			out = append(out, rw)
		}
		rec.Release()
	}
}

func value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Timestamp:
		return int64(a.Value(i))
	}
	return a.ValueStr(i)
}

// render renders an output row as the collecting sink does.
func render(vals ...any) string {
	var sb strings.Builder
	sb.WriteString("+I")
	for _, v := range vals {
		sb.WriteByte('|')
		if v == nil {
			sb.WriteString("null")
		} else {
			fmt.Fprint(&sb, v)
		}
	}
	return sb.String()
}

const (
	second = int64(1000)
	minute = 60 * second
	day    = 24 * 60 * minute
)

func floorTo(ts, unit int64) int64 { return ts - ((ts%unit)+unit)%unit }

// references computes, per job, the rows each sink should receive.
var references = map[string]func(in map[string][]row) map[string][]string{
	"top_gifts":          refTopGifts,
	"revenue_today":      refRevenueToday,
	"comment_trends":     refCommentTrends,
	"watch_sessions":     refWatchSessions,
	"hot_rooms":          refHotRooms,
	"top_gifters":        refTopGifters,
	"first_gift_per_day": refFirstGiftPerDay,
	"enriched_gifts":     refEnrichedGifts,
}

// checks post-process a job's final rows where ties make a value
// ambiguous: they check the value the job chose and blank it ("?") as the
// reference does.
var checks = map[string]func(t *testing.T, in map[string][]row, got []string) []string{
	"top_gifts": func(t *testing.T, in map[string][]row, got []string) []string {
		return checkTopGifts(t, in["gifts"], got)
	},
	"top_gifters":        checkTopGifters,
	"first_gift_per_day": checkFirstGifts,
}

type windowKey struct {
	start, end int64
	key        any
}

// topGiftsTotals sums amount per (minute, room, gift).
func topGiftsTotals(gifts []row) map[windowKey]map[int32]int64 {
	totals := map[windowKey]map[int32]int64{}
	for _, g := range gifts {
		s := floorTo(g["ts"].(int64), minute)
		k := windowKey{s, s + minute, g["room_id"]}
		if totals[k] == nil {
			totals[k] = map[int32]int64{}
		}
		totals[k][g["gift_id"].(int32)] += g["amount"].(int64)
	}
	return totals
}

// refTopGifts: the top 3 (room, gift) totals per room and minute. Ties make
// the gift id of a rank ambiguous, so the reference leaves gift_id out
// ("?"); checkTopGifts checks the gift ids the job chose and blanks them.
func refTopGifts(in map[string][]row) map[string][]string {
	var out []string
	for k, byGift := range topGiftsTotals(in["gifts"]) {
		var totals []int64
		for _, v := range byGift {
			totals = append(totals, v)
		}
		slices.SortFunc(totals, func(a, b int64) int { return cmp.Compare(b, a) })
		for i := 0; i < len(totals) && i < 3; i++ {
			out = append(out, render(k.start, k.end, k.key, "?", totals[i], i+1))
		}
	}
	return map[string][]string{"top_gifts": out}
}

// checkTopGifts checks that every output row's gift really has its total
// in its window and room, and that no gift appears twice in one ranking;
// it returns the rows with the gift id replaced by "?".
func checkTopGifts(t *testing.T, gifts []row, got []string) []string {
	totals := topGiftsTotals(gifts)
	seen := map[string]bool{}
	out := make([]string, len(got))
	for i, g := range got {
		f := strings.Split(g, "|")
		var start, end, room, total int64
		var gift int32
		fmt.Sscan(f[1], &start)
		fmt.Sscan(f[2], &end)
		fmt.Sscan(f[3], &room)
		fmt.Sscan(f[4], &gift)
		fmt.Sscan(f[5], &total)
		if v, ok := totals[windowKey{start, end, room}][gift]; !ok || v != total {
			t.Errorf("top_gifts row %s: gift %d of room %d totals %d in that window", g, gift, room, v)
		}
		if k := strings.Join(f[1:5], "|"); seen[k] {
			t.Errorf("top_gifts: gift ranked twice: %s", g)
		} else {
			seen[k] = true
		}
		f[4] = "?"
		out[i] = strings.Join(f, "|")
	}
	return out
}

// refRevenueToday: per room and day, for every minute m of the day, the
// revenue and gift count of the day up to the end of m, once the day has a
// gift by then.
func refRevenueToday(in map[string][]row) map[string][]string {
	type dayKey struct {
		day  int64
		room int64
	}
	sums, counts := map[dayKey]*[1440]int64{}, map[dayKey]*[1440]int64{}
	for _, g := range in["gifts"] {
		ts := g["ts"].(int64)
		k := dayKey{floorTo(ts, day), g["room_id"].(int64)}
		if sums[k] == nil {
			sums[k], counts[k] = new([1440]int64), new([1440]int64)
		}
		m := (ts - k.day) / minute
		sums[k][m] += g["amount"].(int64)
		counts[k][m]++
	}
	var out []string
	for k := range sums {
		var sum, n int64
		for m := 0; m < 1440; m++ {
			sum, n = sum+sums[k][m], n+counts[k][m]
			if n > 0 {
				out = append(out, render(k.day, k.day+int64(m+1)*minute, k.room, sum, n))
			}
		}
	}
	return map[string][]string{"revenue_today": out}
}

// hopStarts returns the starts of the HOP windows (slide, size, no offset)
// that hold time ts.
func hopStarts(ts, slide, size int64) []int64 {
	var out []int64
	for s := floorTo(ts, slide); s > ts-size; s -= slide {
		out = append(out, s)
	}
	return out
}

var topicRE = regexp.MustCompile(`#([^#]+)#`)

// refCommentTrends: comments per room per 5-minute window sliding by 10 s,
// and the top 5 topics per window by mentions, then topic.
func refCommentTrends(in map[string][]row) map[string][]string {
	const slide, size = 10 * second, 5 * minute
	volume := map[windowKey]int64{}
	mentions := map[windowKey]int64{}
	for _, c := range in["comments"] {
		ts := c["ts"].(int64)
		var topic any
		if c["content"] != nil {
			if m := topicRE.FindStringSubmatch(c["content"].(string)); m != nil {
				topic = m[1]
			}
		}
		for _, s := range hopStarts(ts, slide, size) {
			volume[windowKey{s, s + size, c["room_id"]}]++
			if topic != nil {
				mentions[windowKey{s, s + size, topic}]++
			}
		}
	}
	var vol []string
	for k, n := range volume {
		vol = append(vol, render(k.start, k.end, k.key, n))
	}
	type entry struct {
		topic string
		n     int64
	}
	byWindow := map[[2]int64][]entry{}
	for k, n := range mentions {
		w := [2]int64{k.start, k.end}
		byWindow[w] = append(byWindow[w], entry{k.key.(string), n})
	}
	var top []string
	for w, es := range byWindow {
		slices.SortFunc(es, func(a, b entry) int {
			return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.topic, b.topic))
		})
		for i := 0; i < len(es) && i < 5; i++ {
			top = append(top, render(w[0], w[1], es[i].topic, es[i].n, i+1))
		}
	}
	return map[string][]string{"comment_volume": vol, "hot_topics": top}
}

// refWatchSessions: per (room, user), events sorted by time form sessions
// that end two minutes after their last event.
func refWatchSessions(in map[string][]row) map[string][]string {
	const gap = 2 * minute
	type viewer struct{ room, user int64 }
	events := map[viewer][]row{}
	for _, e := range in["room_events"] {
		v := viewer{e["room_id"].(int64), e["user_id"].(int64)}
		events[v] = append(events[v], e)
	}
	var out []string
	for v, es := range events {
		slices.SortStableFunc(es, func(a, b row) int { return cmp.Compare(a["ts"].(int64), b["ts"].(int64)) })
		for i := 0; i < len(es); {
			first, last, beats := es[i]["ts"].(int64), es[i]["ts"].(int64), int64(0)
			j := i
			for ; j < len(es) && es[j]["ts"].(int64) < last+gap; j++ {
				last = es[j]["ts"].(int64)
				if es[j]["kind"] == "heartbeat" {
					beats++
				}
			}
			out = append(out, render(v.room, v.user, first, last+gap, first, last, (last-first)/1000, beats))
			i = j
		}
	}
	return map[string][]string{"watch_sessions": out}
}

// refHotRooms: interactions (a gift or comment counts 1, a like its count)
// per room per 1-minute window sliding by 10 s; the top 10 rooms per window
// by interactions, then room id.
func refHotRooms(in map[string][]row) map[string][]string {
	const slide, size = 10 * second, minute
	sums := map[windowKey]int64{}
	add := func(rows []row, weight func(row) int64) {
		for _, r := range rows {
			for _, s := range hopStarts(r["ts"].(int64), slide, size) {
				sums[windowKey{s, s + size, r["room_id"]}] += weight(r)
			}
		}
	}
	one := func(row) int64 { return 1 }
	add(in["gifts"], one)
	add(in["comments"], one)
	add(in["likes"], func(r row) int64 { return int64(r["count"].(int32)) })
	type entry struct{ room, n int64 }
	byWindow := map[[2]int64][]entry{}
	for k, n := range sums {
		w := [2]int64{k.start, k.end}
		byWindow[w] = append(byWindow[w], entry{k.key.(int64), n})
	}
	var out []string
	for w, es := range byWindow {
		slices.SortFunc(es, func(a, b entry) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.room, b.room)) })
		for i := 0; i < len(es) && i < 10; i++ {
			out = append(out, render(w[0], w[1], es[i].room, es[i].n, i+1))
		}
	}
	return map[string][]string{"hot_rooms": out}
}

// collectSink is a sink connector ('connector' = 'collect') that keeps
// every row written to each table, rendered as "kind|v1|v2|...".
type collectSink struct {
	mu   sync.Mutex
	rows map[string][]string
}

func (c *collectSink) Name() string                              { return "collect" }
func (c *collectSink) Options() []connectors.OptionSpec          { return nil }
func (c *collectSink) AcceptsUpdates(connectors.TableInfo) error { return nil }
func (c *collectSink) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	return collectTable{c, info.Name}, nil
}

type collectTable struct {
	c    *collectSink
	name string
}

func (t collectTable) Writer(context.Context, connectors.ReaderContext) (connectors.Writer, error) {
	return t, nil
}

func (t collectTable) Write(_ context.Context, b stream.Batch) error {
	rec := b.Record
	rows := make([]string, rec.NumRows())
	for i := range rows {
		var sb strings.Builder
		sb.WriteString(b.Kind(i).String())
		for c := 0; c < int(rec.NumCols()); c++ {
			sb.WriteByte('|')
			if v := value(rec.Column(c), i); v == nil {
				sb.WriteString("null")
			} else {
				fmt.Fprint(&sb, v)
			}
		}
		rows[i] = sb.String()
	}
	t.c.mu.Lock()
	t.c.rows[t.name] = append(t.c.rows[t.name], rows...)
	t.c.mu.Unlock()
	return nil
}

func (t collectTable) Close(context.Context) error { return nil }
func (t collectTable) Abort(context.Context) error { return nil }

// gifterTotals sums amount per (room, user).
func gifterTotals(gifts []row) map[[2]int64]int64 {
	totals := map[[2]int64]int64{}
	for _, g := range gifts {
		totals[[2]int64{g["room_id"].(int64), g["user_id"].(int64)}] += g["amount"].(int64)
	}
	return totals
}

// refTopGifters: the final leaderboard, the top 3 users per room by total
// amount; the user of a rank is "?" (ties make it ambiguous; see
// checkTopGifters).
func refTopGifters(in map[string][]row) map[string][]string {
	byRoom := map[int64][]int64{}
	for k, total := range gifterTotals(in["gifts"]) {
		byRoom[k[0]] = append(byRoom[k[0]], total)
	}
	var out []string
	for room, totals := range byRoom {
		slices.SortFunc(totals, func(a, b int64) int { return cmp.Compare(b, a) })
		for i := 0; i < len(totals) && i < 3; i++ {
			out = append(out, render(room, i+1, "?", totals[i]))
		}
	}
	return map[string][]string{"top_gifters": out}
}

// checkTopGifters checks that each leaderboard row's user has that total in
// that room, and blanks the user.
func checkTopGifters(t *testing.T, in map[string][]row, got []string) []string {
	totals := gifterTotals(in["gifts"])
	out := make([]string, len(got))
	for i, g := range got {
		f := strings.Split(g, "|")
		var room, user, total int64
		fmt.Sscan(f[1], &room)
		fmt.Sscan(f[3], &user)
		fmt.Sscan(f[4], &total)
		if v := totals[[2]int64{room, user}]; v != total {
			t.Errorf("top_gifters row %s: user %d of room %d gave %d in total", g, user, room, v)
		}
		f[3] = "?"
		out[i] = strings.Join(f, "|")
	}
	return out
}

// dayOf renders an epoch-ms time's UTC day as DATE_FORMAT(ts, 'yyyy-MM-dd').
func dayOf(ts int64) string { return time.UnixMilli(ts).UTC().Format("2006-01-02") }

// refFirstGiftPerDay: per (room, user, day), the earliest gift; gift_id and
// amount are "?" since gifts at the same millisecond tie (checkFirstGifts
// checks them).
func refFirstGiftPerDay(in map[string][]row) map[string][]string {
	type key struct {
		room, user int64
		day        string
	}
	first := map[key]int64{}
	for _, g := range in["gifts"] {
		ts := g["ts"].(int64)
		k := key{g["room_id"].(int64), g["user_id"].(int64), dayOf(ts)}
		if old, ok := first[k]; !ok || ts < old {
			first[k] = ts
		}
	}
	var out []string
	for k, ts := range first {
		out = append(out, render(k.room, k.user, k.day, "?", "?", ts))
	}
	return map[string][]string{"first_gifts": out}
}

// checkFirstGifts checks that each row's gift and amount are those of a
// gift of that viewer in that room at that time, and blanks them.
func checkFirstGifts(t *testing.T, in map[string][]row, got []string) []string {
	gifts := map[string]bool{}
	for _, g := range in["gifts"] {
		gifts[fmt.Sprint(g["room_id"], "|", g["user_id"], "|", g["gift_id"], "|", g["amount"], "|", g["ts"])] = true
	}
	out := make([]string, len(got))
	for i, g := range got {
		f := strings.Split(g, "|")
		if !gifts[strings.Join([]string{f[1], f[2], f[4], f[5], f[6]}, "|")] {
			t.Errorf("first_gifts row %s is no gift of the input", g)
		}
		f[4], f[5] = "?", "?"
		out[i] = strings.Join(f, "|")
	}
	return out
}

// refEnrichedGifts: every gift with its catalogue entry's name and tier,
// the catalogue read from gift_catalog.csv with encoding/csv.
func refEnrichedGifts(in map[string][]row) map[string][]string {
	f, err := os.Open("gift_catalog.csv")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		panic(err)
	}
	names, tiers := map[string]string{}, map[string]string{}
	for _, r := range recs {
		names[r[0]], tiers[r[0]] = r[1], r[3]
	}
	var out []string
	for _, g := range in["gifts"] {
		id := fmt.Sprint(g["gift_id"])
		if name, ok := names[id]; ok {
			out = append(out, render(g["room_id"], g["user_id"], g["gift_id"], name, tiers[id], g["quantity"], g["amount"], g["ts"]))
		}
	}
	return map[string][]string{"enriched_gifts": out}
}
