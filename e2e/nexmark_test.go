package e2e

import (
	"context"
	csvpkg "encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	conn "github.com/eddy-streaming/eddy/connectors/nexmark"
	"github.com/eddy-streaming/eddy/embedded"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/types"
	nexmark "github.com/eddy-streaming/eddy/examples/nexmark"
)

// nxBid, nxAuction and nxPerson are generated rows, read through the
// connector's public API for the references.
type nxBid struct {
	Auction, Bidder, Price int64
	Channel, URL           string
	Ts                     int64
	Extra                  string
}

type nxAuction struct {
	ID                    int64
	ItemName, Description string
	InitialBid, Reserve   int64
	Ts, Expires           int64
	Seller, Category      int64
	Extra                 string
}

type nxPerson struct {
	ID                int64
	Name, City, State string
	Ts                int64
}

// readNexmark reads every reader's share of a nexmark table at the given
// parallelism, as the job's sources do, and calls row for each row.
func readNexmark(t *testing.T, table string, p nexmark.Params, parallelism int, row func(rec arrow.RecordBatch, i int)) {
	t.Helper()
	cols := conn.Columns(table)
	src, err := conn.New().NewSource(connectors.TableInfo{Name: table, Schema: types.Schema{Fields: cols}, Options: p.TableOptions(table)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for s := 0; s < parallelism; s++ {
		rd, err := src.Reader(ctx, connectors.ReaderContext{Subtask: s, Parallelism: parallelism, BatchSize: 4096, Alloc: memory.DefaultAllocator})
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := rd.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				row(rec, i)
			}
			rec.Release()
		}
		rd.Close()
	}
}

func i64(rec arrow.RecordBatch, c, i int) int64 {
	switch a := rec.Column(c).(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Timestamp:
		return int64(a.Value(i))
	}
	panic(fmt.Sprintf("column %d is %s", c, rec.Column(c).DataType()))
}

func str(rec arrow.RecordBatch, c, i int) string { return rec.Column(c).(*array.String).Value(i) }

func readBids(t *testing.T, p nexmark.Params, parallelism int) []nxBid {
	var out []nxBid
	readNexmark(t, conn.Bid, p, parallelism, func(rec arrow.RecordBatch, i int) {
		out = append(out, nxBid{Auction: i64(rec, 0, i), Bidder: i64(rec, 1, i), Price: i64(rec, 2, i), Channel: str(rec, 3, i),
			URL: str(rec, 4, i), Ts: i64(rec, 5, i), Extra: str(rec, 6, i)})
	})
	return out
}

func readAuctions(t *testing.T, p nexmark.Params, parallelism int) []nxAuction {
	var out []nxAuction
	readNexmark(t, conn.Auction, p, parallelism, func(rec arrow.RecordBatch, i int) {
		out = append(out, nxAuction{ID: i64(rec, 0, i), ItemName: str(rec, 1, i), Description: str(rec, 2, i),
			InitialBid: i64(rec, 3, i), Reserve: i64(rec, 4, i), Ts: i64(rec, 5, i), Expires: i64(rec, 6, i),
			Seller: i64(rec, 7, i), Category: i64(rec, 8, i), Extra: str(rec, 9, i)})
	})
	return out
}

func readPersons(t *testing.T, p nexmark.Params, parallelism int) []nxPerson {
	var out []nxPerson
	readNexmark(t, conn.Person, p, parallelism, func(rec arrow.RecordBatch, i int) {
		out = append(out, nxPerson{ID: i64(rec, 0, i), Name: str(rec, 1, i), City: str(rec, 4, i), State: str(rec, 5, i),
			Ts: i64(rec, 6, i)})
	})
	return out
}

// runNexmark runs a query file of examples/nexmark with params p at the
// given parallelism and a random batch size, its blackhole sink replaced by
// a collecting one (which takes updates), and returns the sink's rows, each
// with its row kind first, in the order they were written.
func runNexmark(t *testing.T, query string, p nexmark.Params, parallelism int, r *rand.Rand) ([]string, *runtime.Result) {
	t.Helper()
	script, err := nexmark.Script(query, p)
	if err != nil {
		t.Fatal(err)
	}
	script = strings.ReplaceAll(script, "'connector' = 'blackhole'", "'connector' = 'collect'")
	reg := builtin.Registry()
	sink := &nxCollectSink{collectSink{rows: map[string][]string{}}}
	if err := reg.Register(sink); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	batch := 1 + r.IntN(3000)
	if r.IntN(4) == 0 {
		batch = 1 + r.IntN(10)
	}
	opts := embedded.Options{JobName: query, Parallelism: parallelism, Connectors: reg, Functions: nexmark.Functions(),
		Logger: slog.New(slog.DiscardHandler), Alloc: mem, BatchSize: batch}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	plan, err := embedded.Compile(ctx, query+".sql", script, opts)
	if err != nil {
		t.Fatalf("compile %s: %v", query, err)
	}
	res, err := embedded.RunPlan(ctx, plan, reg, opts)
	if err != nil {
		t.Fatalf("run %s (batch size %d): %v\nplan:\n%s", query, batch, err, plan.Explain())
	}
	if res.LateRecordsDropped != 0 {
		t.Errorf("%s: %d late records dropped, want none (each reader's events are in order)", query, res.LateRecordsDropped)
	}
	return sink.rows["nexmark_"+query], res
}

// nexmarkCase runs one query at parallelism 1 and 4 against want, the
// reference computed from the rows the connector generates at that
// parallelism.
func nexmarkCase(t *testing.T, query string, p nexmark.Params, want func(t *testing.T, parallelism int) []string) {
	r := rand.New(rand.NewPCG(uint64(len(query)), uint64(p.Seed)))
	for _, parallelism := range []int{1, 4} {
		t.Run(fmt.Sprintf("p%d", parallelism), func(t *testing.T) {
			got, _ := runNexmark(t, query, p, parallelism, r)
			w := want(t, parallelism)
			if len(w) == 0 {
				t.Fatalf("%s: the reference is empty; choose parameters that give output", query)
			}
			assertSameRows(t, got, w)
		})
	}
}

// decimal3 renders 0.908 * price, a DECIMAL(23, 3), exactly (price * 908
// thousandths), as the harness renders decimals: without trailing zeros.
func decimal3(price int64) string {
	v := price * 908
	s := strings.TrimRight(fmt.Sprintf("%d.%03d", v/1000, v%1000), "0")
	return strings.TrimSuffix(s, ".")
}

func TestNexmarkQ0(t *testing.T) {
	p := nexmark.Params{Events: 30_000, Rate: 10_000, Seed: 1}
	nexmarkCase(t, "q0", p, func(t *testing.T, par int) []string {
		var want []string
		for _, b := range readBids(t, p, par) {
			want = append(want, fmt.Sprintf("+I|%d|%d|%d|%d|%s", b.Auction, b.Bidder, b.Price, b.Ts, b.Extra))
		}
		return want
	})
}

func TestNexmarkQ1(t *testing.T) {
	p := nexmark.Params{Events: 30_000, Rate: 10_000, Seed: 2}
	nexmarkCase(t, "q1", p, func(t *testing.T, par int) []string {
		var want []string
		for _, b := range readBids(t, p, par) {
			want = append(want, fmt.Sprintf("+I|%d|%d|%s|%d|%s", b.Auction, b.Bidder, decimal3(b.Price), b.Ts, b.Extra))
		}
		return want
	})
}

func TestNexmarkQ2(t *testing.T) {
	// Half the bids go to one of the last 100 auctions at random, so about
	// 1 in 250 bids qualifies, and the hot auctions (1000 + a multiple of
	// 100) when 123 divides them: 40,000 events give a few hundred rows.
	p := nexmark.Params{Events: 40_000, Rate: 1_000_000, Seed: 3}
	nexmarkCase(t, "q2", p, func(t *testing.T, par int) []string {
		var want []string
		for _, b := range readBids(t, p, par) {
			if b.Auction%123 == 0 {
				want = append(want, fmt.Sprintf("+I|%d|%d", b.Auction, b.Price))
			}
		}
		return want
	})
}

// TestNexmarkQ5 checks the hot items: per HOP window (10 s sliding every
// 2 s) that holds bids, the auctions with the most bids.
func TestNexmarkQ5(t *testing.T) {
	// 500 events a second over 120 s: windows of about 4,600 bids. Without
	// a hot auction ('bid.hot-ratio.auctions' = 1) the bids spread over the
	// ~110 auctions in flight, so the top auction changes from window to
	// window and ties are common.
	p := nexmark.Params{Events: 60_000, Rate: 500, Seed: 5, Options: map[string]string{"bid.hot-ratio.auctions": "1"}}
	nexmarkCase(t, "q5", p, func(t *testing.T, par int) []string {
		const size, slide = 10_000, 2_000
		type key struct{ start, auction int64 }
		counts := map[key]int64{}
		for _, b := range readBids(t, p, par) {
			last := b.Ts - ((b.Ts%slide)+slide)%slide
			for start := last; start > b.Ts-size; start -= slide {
				counts[key{start, b.Auction}]++
			}
		}
		maxn := map[int64]int64{}
		for k, n := range counts {
			maxn[k.start] = max(maxn[k.start], n)
		}
		var want []string
		for k, n := range counts {
			if n >= maxn[k.start] {
				want = append(want, fmt.Sprintf("+I|%d|%d", k.auction, n))
			}
		}
		return want
	})
}

// TestNexmarkQ8 checks the new users: persons who created an auction in the
// 10 s tumbling window they joined in.
func TestNexmarkQ8(t *testing.T) {
	p := nexmark.Params{Events: 60_000, Rate: 1_000, Seed: 8}
	nexmarkCase(t, "q8", p, func(t *testing.T, par int) []string {
		const size = 10_000
		win := func(ts int64) int64 { return ts - ((ts%size)+size)%size }
		type key struct{ seller, start int64 }
		sold := map[key]bool{}
		for _, a := range readAuctions(t, p, par) {
			sold[key{a.Seller, win(a.Ts)}] = true
		}
		var want []string
		for _, pr := range readPersons(t, p, par) {
			if sold[key{pr.ID, win(pr.Ts)}] {
				want = append(want, fmt.Sprintf("+I|%d|%s|%d", pr.ID, pr.Name, win(pr.Ts)))
			}
		}
		return want
	})
}

// TestNexmarkQ11 checks the bids per bidder session (gap 10 s): a bid
// within 10 s of the session's last bid (its window touching the session,
// as Flink merges) extends it.
func TestNexmarkQ11(t *testing.T) {
	// 100 events a second: a hot bidder for 50 s at a time, and other
	// bidders a few bids a minute, so sessions of one and of many bids.
	p := nexmark.Params{Events: 40_000, Rate: 100, Seed: 11}
	nexmarkCase(t, "q11", p, func(t *testing.T, par int) []string {
		const gap = 10_000
		byBidder := map[int64][]int64{}
		for _, b := range readBids(t, p, par) {
			byBidder[b.Bidder] = append(byBidder[b.Bidder], b.Ts)
		}
		var want []string
		for bidder, ts := range byBidder {
			sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
			start, last, n := ts[0], ts[0], 0
			for _, x := range ts {
				if x > last+gap {
					want = append(want, fmt.Sprintf("+I|%d|%d|%d|%d", bidder, n, start, last+gap))
					start, n = x, 0
				}
				last = x
				n++
			}
			want = append(want, fmt.Sprintf("+I|%d|%d|%d|%d", bidder, n, start, last+gap))
		}
		return want
	})
}

// TestNexmarkQ12 checks the bids per bidder per 10 s processing-time
// window. Which window a bid lands in depends on the wall clock, so the
// test checks what does not: every window is a 10 s window aligned to
// 10 s, each (bidder, window) appears once, and each bidder's counts add
// up to their bids.
func TestNexmarkQ12(t *testing.T) {
	p := nexmark.Params{Events: 30_000, Rate: 1_000, Seed: 12}
	r := rand.New(rand.NewPCG(12, 12))
	for _, par := range []int{1, 4} {
		t.Run(fmt.Sprintf("p%d", par), func(t *testing.T) {
			before := time.Now().UnixMilli()
			got, _ := runNexmark(t, "q12", p, par, r)
			after := time.Now().UnixMilli()
			want := map[int64]int64{}
			for _, b := range readBids(t, p, par) {
				want[b.Bidder]++
			}
			sums := map[int64]int64{}
			seen := map[string]bool{}
			for _, row := range got {
				f := strings.Split(row, "|")
				if len(f) != 5 || f[0] != "+I" {
					t.Fatalf("row %q", row)
				}
				bidder, _ := strconv.ParseInt(f[1], 10, 64)
				n, _ := strconv.ParseInt(f[2], 10, 64)
				start, _ := strconv.ParseInt(f[3], 10, 64)
				end, _ := strconv.ParseInt(f[4], 10, 64)
				if end-start != 10_000 || start%10_000 != 0 || start > after || end <= before {
					t.Fatalf("row %q: not a 10 s processing-time window between %d and %d", row, before, after)
				}
				if k := f[1] + "|" + f[3]; seen[k] {
					t.Fatalf("bidder %d has two rows for window %d", bidder, start)
				} else {
					seen[k] = true
				}
				sums[bidder] += n
			}
			var gotS, wantS []string
			for b, n := range sums {
				gotS = append(gotS, fmt.Sprintf("%d|%d", b, n))
			}
			for b, n := range want {
				wantS = append(wantS, fmt.Sprintf("%d|%d", b, n))
			}
			assertSameRows(t, gotS, wantS)
		})
	}
}

// TestNexmarkQ14 checks the price filter, the CASE on HOUR(dateTime) and
// count_char. 60,000 events at one a second span 04:30 to 21:10, so every
// branch of the CASE and every hour at its edges (6, 7, 8, 18, 19, 20) is
// taken.
func TestNexmarkQ14(t *testing.T) {
	p := nexmark.Params{Events: 60_000, Rate: 1, Seed: 14, Options: map[string]string{"base-time": "2026-03-01 04:30:00"}}
	nexmarkCase(t, "q14", p, func(t *testing.T, par int) []string {
		var want []string
		hours := map[int]bool{}
		for _, b := range readBids(t, p, par) {
			// 0.908 * price > 1000000 AND 0.908 * price < 50000000, exactly.
			if v := b.Price * 908; v <= 1_000_000_000 || v >= 50_000_000_000 {
				continue
			}
			kind := "otherTime"
			h := time.UnixMilli(b.Ts).UTC().Hour()
			hours[h] = true
			switch {
			case h >= 8 && h <= 18:
				kind = "dayTime"
			case h <= 6 || h >= 20:
				kind = "nightTime"
			}
			want = append(want, fmt.Sprintf("+I|%d|%d|%s|%s|%d|%s|%d", b.Auction, b.Bidder, decimal3(b.Price), kind, b.Ts, b.Extra,
				strings.Count(b.Extra, "c")))
		}
		for _, h := range []int{6, 7, 8, 18, 19, 20} {
			if !hours[h] {
				t.Fatalf("no bid in hour %d passes the price filter: the data does not test the CASE's edges", h)
			}
		}
		return want
	})
}

// TestNexmarkQ21 checks the channel ids: the hot channels' numbers, or the
// channel_id parameter of the URL.
func TestNexmarkQ21(t *testing.T) {
	p := nexmark.Params{Events: 30_000, Rate: 10_000, Seed: 21}
	re := regexp.MustCompile(`(&|^)channel_id=([^&]*)`)
	hot := map[string]string{"apple": "0", "google": "1", "facebook": "2", "baidu": "3"}
	nexmarkCase(t, "q21", p, func(t *testing.T, par int) []string {
		var want []string
		for _, b := range readBids(t, p, par) {
			m := re.FindStringSubmatch(b.URL)
			id, isHot := hot[strings.ToLower(b.Channel)]
			if !isHot {
				if m == nil {
					continue
				}
				id = m[2]
			}
			want = append(want, fmt.Sprintf("+I|%d|%d|%d|%s|%s", b.Auction, b.Bidder, b.Price, b.Channel, id))
		}
		return want
	})
}

// TestNexmarkQ22 checks SPLIT_INDEX(url, '/', 3..5): the URL's directories.
func TestNexmarkQ22(t *testing.T) {
	p := nexmark.Params{Events: 30_000, Rate: 10_000, Seed: 22}
	nexmarkCase(t, "q22", p, func(t *testing.T, par int) []string {
		var want []string
		for _, b := range readBids(t, p, par) {
			parts := strings.Split(b.URL, "/")
			dir := func(i int) string {
				if i < len(parts) {
					return parts[i]
				}
				return "null"
			}
			want = append(want, fmt.Sprintf("+I|%d|%d|%d|%s|%s|%s|%s", b.Auction, b.Bidder, b.Price, b.Channel, dir(3), dir(4), dir(5)))
		}
		return want
	})
}

// BenchmarkNexmark runs every query on 1,000,000 events (at
// Flink's V1 rate of 10M events per second of event time) at parallelism 1
// into a blackhole (q10: CSV files in a temporary directory, where q13's
// side input is too) and reports Nexmark events per CPU-second, generation
// included. cmd/nexmark prints the same as a table, for any size.
func BenchmarkNexmark(b *testing.B) {
	const events = 1_000_000
	p := nexmark.Params{Events: events, Rate: 10_000_000, Dir: b.TempDir()}
	if err := nexmark.WriteSideInput(p.Dir); err != nil {
		b.Fatal(err)
	}
	for _, q := range nexmark.Queries {
		b.Run(q, func(b *testing.B) {
			script, err := nexmark.Script(q, p)
			if err != nil {
				b.Fatal(err)
			}
			opts := embedded.Options{JobName: q, Parallelism: 1, Functions: nexmark.Functions(), Logger: slog.New(slog.DiscardHandler)}
			plan, err := embedded.Compile(context.Background(), q+".sql", script, opts)
			if err != nil {
				b.Fatalf("%s does not compile: %v", q, err)
			}
			reg := builtin.Registry()
			b.ResetTimer()
			cpu0, wall0 := cpuTime(), time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := embedded.RunPlan(context.Background(), plan, reg, opts); err != nil {
					b.Fatal(err)
				}
			}
			cpu, wall := cpuTime()-cpu0, time.Since(wall0)
			total := float64(events) * float64(b.N)
			b.ReportMetric(total/cpu.Seconds(), "events/cpu-s")
			b.ReportMetric(total/wall.Seconds(), "events/s")
		})
	}
}

// TestNexmarkQ3 checks the local item suggestions: category-10 auctions
// joined with their sellers in OR, ID or CA.
func TestNexmarkQ3(t *testing.T) {
	p := nexmark.Params{Events: 30_000, Rate: 1_000, Seed: 3}
	nexmarkCase(t, "q3", p, func(t *testing.T, par int) []string {
		persons := map[int64]nxPerson{}
		for _, pr := range readPersons(t, p, par) {
			persons[pr.ID] = pr
		}
		var want []string
		for _, a := range readAuctions(t, p, par) {
			pr, ok := persons[a.Seller]
			if ok && a.Category == 10 && (pr.State == "OR" || pr.State == "ID" || pr.State == "CA") {
				want = append(want, fmt.Sprintf("+I|%s|%s|%s|%d", pr.Name, pr.City, pr.State, a.ID))
			}
		}
		return want
	})
}

// TestNexmarkQ7 checks the highest bids: per 10 s tumbling window its
// highest price, and every bid of that price between the window's end
// minus 10 s and its end, both included (the select list puts the price
// in the sink's bidder column and the bidder in its price column, as
// Flink's file does).
func TestNexmarkQ7(t *testing.T) {
	p := nexmark.Params{Events: 20_000, Rate: 100, Seed: 7}
	nexmarkCase(t, "q7", p, func(t *testing.T, par int) []string {
		const size = 10_000
		bids := readBids(t, p, par)
		maxPrice := map[int64]int64{} // window end -> highest price
		for _, b := range bids {
			end := b.Ts - ((b.Ts%size)+size)%size + size
			maxPrice[end] = max(maxPrice[end], b.Price)
		}
		var want []string
		for end, m := range maxPrice {
			for _, b := range bids {
				if b.Price == m && b.Ts >= end-size && b.Ts <= end {
					want = append(want, fmt.Sprintf("+I|%d|%d|%d|%d|%s", b.Auction, b.Price, b.Bidder, b.Ts, b.Extra))
				}
			}
		}
		return want
	})
}

// TestNexmarkQ20 checks the bids joined with their category-10 auctions.
func TestNexmarkQ20(t *testing.T) {
	p := nexmark.Params{Events: 20_000, Rate: 10_000, Seed: 20}
	nexmarkCase(t, "q20", p, func(t *testing.T, par int) []string {
		auctions := map[int64]nxAuction{}
		for _, a := range readAuctions(t, p, par) {
			auctions[a.ID] = a
		}
		var want []string
		for _, b := range readBids(t, p, par) {
			a, ok := auctions[b.Auction]
			if !ok || a.Category != 10 {
				continue
			}
			want = append(want, fmt.Sprintf("+I|%d|%d|%d|%s|%s|%d|%s|%s|%s|%d|%d|%d|%d|%d|%d|%s",
				b.Auction, b.Bidder, b.Price, b.Channel, b.URL, b.Ts, b.Extra,
				a.ItemName, a.Description, a.InitialBid, a.Reserve, a.Ts, a.Expires, a.Seller, a.Category, a.Extra))
		}
		return want
	})
}

// TestNexmarkQ13 checks the bounded side-input join: the test writes a
// side input with random values (commas, quotes and empty strings
// included, in CSV quoting) for a random 70% of the keys, and each bid
// whose MOD(auction, 10000) has a row gets its value.
func TestNexmarkQ13(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	side := map[int64]string{}
	var csv strings.Builder
	for k := int64(0); k < 10_000; k++ {
		if r.IntN(10) >= 7 {
			continue
		}
		v := nxRandomText(r)
		side[k] = v
		fmt.Fprintf(&csv, "%d,%s\n", k, nxCSVQuote(v))
	}
	for _, par := range []int{1, 4} {
		t.Run(fmt.Sprintf("p%d", par), func(t *testing.T) {
			p := nexmark.Params{Events: 20_000, Rate: 10_000, Seed: 13, Dir: t.TempDir()}
			path := nexmark.SideInputPath(p.Dir)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(csv.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			got, _ := runNexmark(t, "q13", p, par, r)
			var want []string
			for _, b := range readBids(t, p, par) {
				if v, ok := side[b.Auction%10_000]; ok {
					want = append(want, fmt.Sprintf("+I|%d|%d|%d|%d|%s", b.Auction, b.Bidder, b.Price, b.Ts, v))
				}
			}
			if len(want) == 0 || len(want) == len(readBids(t, p, par)) {
				t.Fatalf("%d of the bids have a side-input row: the data does not test the join", len(want))
			}
			assertSameRows(t, got, want)
		})
	}
}

// nxRandomText is a short random string, sometimes empty, with commas,
// quotes and spaces.
func nxRandomText(r *rand.Rand) string {
	const alphabet = `abcxyz ,"'`
	n := r.IntN(12)
	if r.IntN(20) == 0 {
		n = 0
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// nxCSVQuote quotes a field as RFC 4180 does when it needs it.
func nxCSVQuote(s string) string {
	if !strings.ContainsAny(s, ",\"\n\r") && strings.TrimSpace(s) == s {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// TestNexmarkQ10 checks the bids logged to CSV files partitioned by their
// day and minute (PARTITIONED BY (dt, hm)): every file lies in a directory
// dt=<day>/hm=<HH%3Amm> (':' escaped as Flink escapes it) and holds the
// other columns; the rows read back with their directories' values are
// the bids. The bids span midnight.
func TestNexmarkQ10(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	for _, par := range []int{1, 4} {
		t.Run(fmt.Sprintf("p%d", par), func(t *testing.T) {
			p := nexmark.Params{Events: 20_000, Rate: 100, Seed: 10, Dir: t.TempDir(),
				Options: map[string]string{"base-time": "2026-03-01 23:58:20"}}
			if rows, _ := runNexmark(t, "q10", p, par, r); len(rows) != 0 {
				t.Fatalf("%d rows reached a collecting sink; q10 writes files", len(rows))
			}
			dir := filepath.Join(p.Dir, "data", "output", "bid")
			var got []string
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, path)
				if strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") {
					t.Fatalf("%s: an in-progress file is left after the job finished", rel)
				}
				parts := strings.Split(filepath.ToSlash(filepath.Dir(rel)), "/")
				if len(parts) != 2 || !strings.HasPrefix(parts[0], "dt=") || !strings.HasPrefix(parts[1], "hm=") {
					t.Fatalf("%s: not in a partition directory dt=.../hm=...", rel)
				}
				dt, err1 := url.PathUnescape(strings.TrimPrefix(parts[0], "dt="))
				hm, err2 := url.PathUnescape(strings.TrimPrefix(parts[1], "hm="))
				if err1 != nil || err2 != nil || strings.Contains(parts[1], ":") {
					t.Fatalf("%s: partition values not escaped as Flink escapes them", rel)
				}
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				recs, err := csvpkg.NewReader(f).ReadAll()
				f.Close()
				if err != nil {
					t.Fatalf("%s: %v", rel, err)
				}
				for _, rec := range recs {
					got = append(got, strings.Join(append(rec, dt, hm), "|"))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			days := map[string]bool{}
			for _, b := range readBids(t, p, par) {
				tm := time.UnixMilli(b.Ts).UTC()
				days[tm.Format("2006-01-02")] = true
				want = append(want, fmt.Sprintf("%d|%d|%d|%s|%s|%s|%s", b.Auction, b.Bidder, b.Price,
					tm.Format("2006-01-02 15:04:05.000"), b.Extra, tm.Format("2006-01-02"), tm.Format("15:04")))
			}
			if len(days) != 2 {
				t.Fatalf("the bids fall on %d nxDay(s); want two", len(days))
			}
			assertSameRows(t, got, want)
		})
	}
}
