package datagen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
)

func tableOf(stream string, cols []types.Field, opts map[string]string) connectors.TableInfo {
	o := map[string]string{"connector": "datagen", "stream": stream}
	for k, v := range opts {
		o[k] = v
	}
	return connectors.TableInfo{Name: "t_" + stream, Schema: types.Schema{Fields: cols}, Options: o}
}

// readRows reads every reader of a bounded table at the given parallelism
// with random batch sizes, and returns the rows by index (the index of a
// reader's k-th row is subtask + k*parallelism).
func readRows(t *testing.T, info connectors.TableInfo, parallelism int, r *rand.Rand) map[int64][]string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := New().NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	if !src.Bounded() {
		t.Fatal("expected a bounded source")
	}
	out := map[int64][]string{}
	for s := 0; s < parallelism; s++ {
		bs := 1 + r.IntN(3000)
		rd, err := src.Reader(context.Background(), connectors.ReaderContext{Subtask: s, Parallelism: parallelism, BatchSize: bs, Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		idx := int64(s)
		for {
			if p := rd.(*Reader).NextRow(); p != idx {
				t.Fatalf("position %d, want %d", p, idx)
			}
			rec, err := rd.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.NumRows() == 0 || int(rec.NumRows()) > bs {
				t.Fatalf("batch of %d rows, batch size %d", rec.NumRows(), bs)
			}
			if !rec.Schema().Equal(info.Schema.Arrow()) {
				t.Fatalf("schema %s, want %s", rec.Schema(), info.Schema.Arrow())
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				vals := make([]string, rec.NumCols())
				for c := range vals {
					vals[c] = cell(rec.Column(c), i)
				}
				if _, dup := out[idx]; dup {
					t.Fatalf("row %d produced twice", idx)
				}
				out[idx] = vals
				idx += int64(parallelism)
			}
			rec.Release()
		}
		rd.Close()
	}
	return out
}

func cell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch a := a.(type) {
	case *array.Int32:
		return fmt.Sprint(a.Value(i))
	case *array.Int64:
		return fmt.Sprint(a.Value(i))
	case *array.String:
		return a.Value(i)
	case *array.Timestamp:
		return fmt.Sprint(int64(a.Value(i)))
	}
	return "?"
}

var baseOpts = map[string]string{"rooms": "37", "users": "500", "skew": "1.1", "max-out-of-orderness": "3 s",
	"event-time.rows-per-second": "700", "seed": "12345"}

func withOpts(extra map[string]string) map[string]string {
	o := map[string]string{}
	for k, v := range baseOpts {
		o[k] = v
	}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// TestSameSeedSameRowsAtAnyParallelism is the determinism contract: row
// i is a function of (seed, i) only.
func TestSameSeedSameRowsAtAnyParallelism(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, stream := range StreamNames {
		t.Run(stream, func(t *testing.T) {
			opts := withOpts(map[string]string{"number-of-rows": "20011"})
			if stream == GiftCatalog {
				opts = nil
			}
			info := tableOf(stream, StreamColumns(stream), opts)
			ref := readRows(t, info, 1, r)
			want := 20011
			if stream == GiftCatalog {
				want = len(catalog)
			}
			if len(ref) != want {
				t.Fatalf("%d rows, want exactly %d", len(ref), want)
			}
			for p := 2; p <= 3; p++ {
				got := readRows(t, info, p, r)
				if len(got) != len(ref) {
					t.Fatalf("p=%d: %d rows, want %d", p, len(got), len(ref))
				}
				for i, v := range ref {
					if fmt.Sprint(got[i]) != fmt.Sprint(v) {
						t.Fatalf("p=%d: row %d = %v, at p=1 %v", p, i, got[i], v)
					}
				}
			}
			if stream == GiftCatalog {
				return
			}
			// A different seed gives different rows.
			other := readRows(t, tableOf(stream, StreamColumns(stream), withOpts(map[string]string{"number-of-rows": "20011", "seed": "54321"})), 1, r)
			same := 0
			for i, v := range ref {
				if fmt.Sprint(other[i]) == fmt.Sprint(v) {
					same++
				}
			}
			if same > len(ref)/10 {
				t.Fatalf("seeds 12345 and 54321 agree on %d of %d rows", same, len(ref))
			}
		})
	}
}

// TestRowsAreWellFormed checks every stream's value domains and the event
// time contract against an independent computation of nominal times.
func TestRowsAreWellFormed(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const n = 30000
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC).UnixMilli()
	prices := map[int64]int64{}
	for _, g := range Catalog() {
		prices[int64(g.ID)] = g.Price
	}
	vocab := map[string]bool{}
	for _, w := range append(append([]string{}, words...), topics...) {
		vocab[w] = true
	}
	for _, stream := range []string{Gifts, Comments, Likes, RoomEvents} {
		t.Run(stream, func(t *testing.T) {
			info := tableOf(stream, StreamColumns(stream), withOpts(map[string]string{"number-of-rows": fmt.Sprint(n), "start-time": "2026-03-04 05:06:07"}))
			rows := readRows(t, info, 2, r)
			var maxDelay int64
			for i, v := range rows {
				room, user := atoi(v[0]), atoi(v[1])
				if room < 1 || room > 37 || user < 1 || user > 500 {
					t.Fatalf("row %d: room %d user %d out of range", i, room, user)
				}
				ts := atoi(v[len(v)-1])
				nominal := start + i*1000/700
				if ts > nominal || ts < nominal-3000 {
					t.Fatalf("row %d: ts %d not within 3 s before its nominal time %d", i, ts, nominal)
				}
				maxDelay = max(maxDelay, nominal-ts)
				switch stream {
				case Gifts:
					gift, qty, amount := atoi(v[2]), atoi(v[3]), atoi(v[4])
					price, ok := prices[gift]
					if !ok || qty < 1 || amount != price*qty {
						t.Fatalf("row %d: gift %d quantity %d amount %d (price %d)", i, gift, qty, amount, price)
					}
				case Comments:
					if v[2] == "" || strings.TrimSpace(v[2]) != v[2] {
						t.Fatalf("row %d: comment %q", i, v[2])
					}
					for _, w := range strings.Split(v[2], " ") {
						if !vocab[w] {
							t.Fatalf("row %d: comment %q has %q", i, v[2], w)
						}
					}
				case Likes:
					if c := atoi(v[2]); c < 1 || c > 100 {
						t.Fatalf("row %d: like count %d", i, c)
					}
				case RoomEvents:
					if k := v[2]; k != "enter" && k != "leave" && k != "heartbeat" {
						t.Fatalf("row %d: kind %q", i, k)
					}
				}
			}
			if maxDelay < 2500 {
				t.Fatalf("largest delay %d ms: out-of-orderness not exercised", maxDelay)
			}
		})
	}
}

func atoi(s string) int64 {
	var v int64
	fmt.Sscan(s, &v)
	return v
}

// TestRoomEventsFormSessions checks that each viewer slot's events form
// sessions: enter, heartbeats, leave, with one user and room throughout.
func TestRoomEventsFormSessions(t *testing.T) {
	const users, eps, n = 300, 20, 60000 // 200 slots (users < 10*eps)
	info := tableOf(RoomEvents, StreamColumns(RoomEvents), map[string]string{"number-of-rows": fmt.Sprint(n),
		"users": fmt.Sprint(users), "event-time.rows-per-second": fmt.Sprint(eps), "rooms": "10", "seed": "3"})
	rows := readRows(t, info, 3, rand.New(rand.NewPCG(3, 3)))
	slots := int64(min(users, eps*10))
	sessions, enters, leaves := 0, 0, 0
	for slot := int64(0); slot < slots; slot++ {
		var cur []string
		for i := slot; i < n; i += slots {
			v := rows[i]
			switch v[2] {
			case "enter":
				enters++
				sessions++
				cur = v
			case "heartbeat", "leave":
				if cur == nil || cur[0] != v[0] || cur[1] != v[1] {
					t.Fatalf("slot %d row %d: %v outside the session %v", slot, i, v, cur)
				}
				if v[2] == "leave" {
					leaves++
					cur = nil
				}
			}
		}
	}
	if sessions < 100 || leaves < sessions/2 || enters != sessions {
		t.Fatalf("%d sessions, %d leaves: not session-like", sessions, leaves)
	}
}

// TestSkewFollowsZipf checks the hottest rooms' shares against the Zipf
// law, and that skew 0 is uniform.
func TestSkewFollowsZipf(t *testing.T) {
	const n, rooms = 200000, 50
	for _, skew := range []float64{0, 0.8, 1.2, 2} {
		info := tableOf(Likes, StreamColumns(Likes)[:1], map[string]string{"number-of-rows": fmt.Sprint(n), "rooms": fmt.Sprint(rooms), "skew": fmt.Sprint(skew)})
		counts := make([]float64, rooms+1)
		src, err := New().NewSource(info)
		if err != nil {
			t.Fatal(err)
		}
		for sub := 0; sub < 2; sub++ {
			rd, _ := src.Reader(context.Background(), connectors.ReaderContext{Subtask: sub, Parallelism: 2, BatchSize: 4096})
			for {
				rec, err := rd.Next(context.Background())
				if err != nil {
					break
				}
				for _, room := range rec.Column(0).(*array.Int64).Int64Values() {
					counts[room]++
				}
				rec.Release()
			}
			rd.Close()
		}
		var h float64
		for k := 1; k <= rooms; k++ {
			h += math.Pow(float64(k), -skew)
		}
		for k := 1; k <= 3; k++ {
			p := math.Pow(float64(k), -skew) / h
			sigma := math.Sqrt(n * p * (1 - p))
			if d := math.Abs(counts[k] - n*p); d > 5*sigma+1 {
				t.Errorf("skew %v: room %d has %v rows, Zipf expects %.0f (±%.0f)", skew, k, counts[k], n*p, sigma)
			}
		}
		if skew == 0 {
			for k := 1; k <= rooms; k++ {
				if math.Abs(counts[k]-n/rooms) > 6*math.Sqrt(n/rooms) {
					t.Errorf("uniform: room %d has %v rows", k, counts[k])
				}
			}
		}
	}
}

// TestColumnSubsetsAndOrders declares random subsets of a stream's
// columns in random orders: each row is the projection of the full row.
func TestColumnSubsetsAndOrders(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, stream := range StreamNames {
		opts := withOpts(map[string]string{"number-of-rows": "3001"})
		if stream == GiftCatalog {
			opts = nil
		}
		cols := StreamColumns(stream)
		full := readRows(t, tableOf(stream, cols, opts), 1, r)
		for iter := 0; iter < 6; iter++ {
			perm := r.Perm(len(cols))[:1+r.IntN(len(cols))]
			var decl []types.Field
			for _, c := range perm {
				f := cols[c]
				if r.IntN(2) == 0 {
					f.Name = strings.ToUpper(f.Name) // names are case-insensitive
				}
				if r.IntN(3) == 0 {
					f.Type.NotNull = true
				}
				decl = append(decl, f)
			}
			info := tableOf(stream, decl, opts)
			if err := New().ValidateTable(info); err != nil {
				t.Fatal(err)
			}
			got := readRows(t, info, 1+r.IntN(3), r)
			for i, v := range got {
				for k, c := range perm {
					if v[k] != full[i][c] {
						t.Fatalf("%s %v: row %d column %s = %s, full row has %s", stream, perm, i, cols[c].Name, v[k], full[i][c])
					}
				}
			}
		}
	}
}

func TestGiftCatalog(t *testing.T) {
	rows := readRows(t, tableOf(GiftCatalog, StreamColumns(GiftCatalog), nil), 3, rand.New(rand.NewPCG(6, 6)))
	cat := Catalog()
	if len(cat) != 200 || len(rows) != 200 {
		t.Fatalf("%d catalogue entries, %d rows", len(cat), len(rows))
	}
	names := map[string]bool{}
	tiers := map[string]int{}
	for i, g := range cat {
		v := rows[int64(i)]
		if fmt.Sprint(v) != fmt.Sprint([]string{fmt.Sprint(g.ID), g.Name, fmt.Sprint(g.Price), g.Tier}) {
			t.Fatalf("row %d = %v, catalogue %v", i, v, g)
		}
		if names[g.Name] {
			t.Fatalf("duplicate gift name %s", g.Name)
		}
		names[g.Name] = true
		tiers[g.Tier]++
	}
	if !(tiers["basic"] > tiers["premium"] && tiers["premium"] > tiers["luxury"] && tiers["luxury"] > tiers["legendary"]) {
		t.Fatalf("tiers %v: expected many cheap gifts and few expensive ones", tiers)
	}
}

// TestUnboundedAndResume: without number-of-rows the source never ends,
// and a reader moved to a position continues exactly as the original.
func TestUnboundedAndResume(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	info := tableOf(Gifts, StreamColumns(Gifts), withOpts(nil))
	src, err := New().NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	if src.Bounded() {
		t.Fatal("unbounded source reports bounded")
	}
	ctx := context.Background()
	rc := connectors.ReaderContext{Subtask: 1, Parallelism: 3, BatchSize: 100, Alloc: mem}
	a, _ := src.Reader(ctx, rc)
	var seen []string
	var pos int64
	for i := 0; i < 50; i++ {
		rec, err := a.Next(ctx)
		if err != nil || rec == nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if i == 20 {
			pos = a.(*Reader).NextRow()
		}
		if i > 20 {
			for j := 0; j < int(rec.NumRows()); j++ {
				seen = append(seen, cell(rec.Column(0), j)+cell(rec.Column(5), j))
			}
		}
		rec.Release()
	}
	b, _ := src.Reader(ctx, rc)
	if err := b.(*Reader).SetNextRow(pos); err != nil {
		t.Fatal(err)
	}
	if err := b.(*Reader).SetNextRow(pos + 1); err == nil {
		t.Fatal("a row of another reader was accepted as a position")
	}
	b.(*Reader).SetNextRow(pos)
	var again []string
	for len(again) < len(seen) {
		rec, err := b.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < int(rec.NumRows()); j++ {
			again = append(again, cell(rec.Column(0), j)+cell(rec.Column(5), j))
		}
		rec.Release()
	}
	if fmt.Sprint(again[:len(seen)]) != fmt.Sprint(seen) {
		t.Fatal("resumed reader diverges")
	}
	a.Close()
	b.Close()
}

// TestRateLimit checks that rows-per-second paces the readers (a rate
// limit, not a speed measurement: only a lower bound on the duration).
func TestRateLimit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	info := tableOf(Likes, StreamColumns(Likes), map[string]string{"number-of-rows": "600", "rows-per-second": "2000"})
	src, err := New().NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	rows := 0
	ctx := context.Background()
	for s := 0; s < 2; s++ {
		rd, _ := src.Reader(ctx, connectors.ReaderContext{Subtask: s, Parallelism: 2, BatchSize: 1000, Alloc: mem})
		for {
			rec, err := rd.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec != nil {
				rows += int(rec.NumRows())
				rec.Release()
			}
		}
		rd.Close()
	}
	// Each reader makes 300 rows at 1000 rows/s; they run one after the
	// other here, so at least ~0.6 s minus the first batch of each.
	if el := time.Since(begin); rows != 600 || el < 400*time.Millisecond {
		t.Fatalf("%d rows in %v: not rate limited", rows, el)
	}
	// A cancelled context ends a waiting reader.
	ctx2, cancel := context.WithCancel(ctx)
	rd, _ := src.Reader(ctx2, connectors.ReaderContext{Subtask: 0, Parallelism: 1, BatchSize: 1000, Alloc: mem})
	rec, _ := rd.Next(ctx2)
	if rec != nil {
		rec.Release()
	}
	cancel()
	if _, err := rd.Next(ctx2); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v", err)
	}
	rd.Close()
}

func TestSchemaAndOptionErrors(t *testing.T) {
	cols := StreamColumns(Gifts)
	cases := []struct {
		cols []types.Field
		opts map[string]string
		want string
	}{
		{[]types.Field{{Name: "nope", Type: types.BigIntType}}, nil, "column 'nope' is not a column of datagen stream 'gifts' (its columns: room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3))"},
		{[]types.Field{{Name: "amount", Type: types.IntType}}, nil, "column 'amount' is declared INT, but datagen stream 'gifts' produces BIGINT"},
		{[]types.Field{{Name: "content", Type: types.StringType}}, nil, "column 'content' is not a column of datagen stream 'gifts'"},
		{cols, map[string]string{"rooms": "0"}, "option 'rooms': '0' is out of range (1 to 10000000)"},
		{cols, map[string]string{"skew": "-1"}, "option 'skew': '-1' is out of range (0 to 10)"},
		{cols, map[string]string{"skew": "abc"}, "option 'skew': 'abc' is not a valid float"},
		{cols, map[string]string{"number-of-rows": "-5"}, "option 'number-of-rows': '-5' is out of range"},
		{cols, map[string]string{"max-out-of-orderness": "forever"}, "option 'max-out-of-orderness': 'forever' is not a valid duration"},
		{cols, map[string]string{"start-time": "yesterday"}, "option 'start-time': 'yesterday' is not a timestamp"},
		{cols, map[string]string{"event-time.rows-per-second": "0"}, "option 'event-time.rows-per-second': '0' is out of range"},
		{cols, map[string]string{"rows-per-second": "-1"}, "option 'rows-per-second': '-1' must be 0 (unlimited) or a positive rate"},
		{cols, map[string]string{"colour": "red"}, "unknown option 'colour'"},
	}
	for _, c := range cases {
		err := New().ValidateTable(tableOf(Gifts, c.cols, c.opts))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	err := New().ValidateTable(tableOf(GiftCatalog, StreamColumns(GiftCatalog), map[string]string{"rooms": "3"}))
	if err == nil || !strings.Contains(err.Error(), "option 'rooms' does not apply to stream 'gift_catalog'") {
		t.Errorf("gift_catalog with rooms: %v", err)
	}
	err = New().ValidateTable(connectors.TableInfo{Name: "x", Options: map[string]string{"connector": "datagen"}})
	if err == nil || !strings.Contains(err.Error(), "missing required option 'stream'") {
		t.Errorf("no stream: %v", err)
	}
	err = New().ValidateTable(tableOf("dislikes", cols, nil))
	if err == nil || !strings.Contains(err.Error(), "option 'stream': 'dislikes' is not one of gifts, comments, likes, room_events, gift_catalog") {
		t.Errorf("bad stream: %v", err)
	}
	if _, err := New().NewSource(tableOf(Gifts, []types.Field{{Name: "nope", Type: types.BigIntType}}, nil)); err == nil || !strings.Contains(err.Error(), "table 't_gifts'") {
		t.Errorf("NewSource error lacks the table: %v", err)
	}
}

func TestAliasTableMatchesWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	w := []float64{5, 0, 1, 3, 0.5, 10}
	tab := newAlias(w)
	counts := make([]float64, len(w))
	const n = 1_000_000
	for i := 0; i < n; i++ {
		counts[tab.sample(r.Uint64())]++
	}
	var sum float64
	for _, x := range w {
		sum += x
	}
	for i, x := range w {
		p := x / sum
		if d := math.Abs(counts[i] - n*p); d > 5*math.Sqrt(n*p*(1-p))+1 {
			t.Errorf("index %d: %v draws, expected %.0f", i, counts[i], n*p)
		}
	}
}
