package nexmark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
)

// row is one generated row: its values rendered as text, by column name.
type row map[string]string

// readAll reads every reader of a bounded table at parallelism p with
// random batch sizes, and returns each reader's rows in order.
func readAll(t testing.TB, info connectors.TableInfo, p int, r *rand.Rand) [][]row {
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
	out := make([][]row, p)
	for s := 0; s < p; s++ {
		bs := 1 + r.IntN(3000)
		if r.IntN(4) == 0 {
			bs = 1 + r.IntN(7)
		}
		rd, err := src.Reader(context.Background(), connectors.ReaderContext{Subtask: s, Parallelism: p, BatchSize: bs, Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		for {
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
			out[s] = append(out[s], rowsOf(rec)...)
			rec.Release()
		}
		if err := rd.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func rowsOf(rec arrow.RecordBatch) []row {
	rows := make([]row, rec.NumRows())
	for i := range rows {
		rows[i] = row{}
		for c := 0; c < int(rec.NumCols()); c++ {
			rows[i][rec.ColumnName(c)] = cell(rec.Column(c), i)
		}
	}
	return rows
}

func cell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch a := a.(type) {
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Timestamp:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.String:
		return a.Value(i)
	}
	return a.ValueStr(i)
}

func num(t testing.TB, r row, col string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(r[col], 10, 64)
	if err != nil {
		t.Fatalf("column %s: %v", col, err)
	}
	return v
}

// refEvent is what the reference simulation knows of an event: upstream's
// deterministic facts.
type refEvent struct {
	id, num, ts int64
	kind        int
	persons     int64 // persons with ids <= id (so the last person's base-0 index is persons-1)
	auctions    int64 // auctions with ids <= id
}

// simulate walks upstream's generators one event at a time: generator i
// of p gets events.num/p events (the last the remainder), event ids from
// 1 + i·(events.num/p) + 1 on, event numbers from 1, each event's time
// base + ⌊number · 1e6·p/rate⌋/1000 ms. Person and auction counts are
// kept by walking every id from 0, not by the generator's formulas.
func simulate(events, p, rate, base int64, props [3]int64) [][]refEvent {
	total := props[0] + props[1] + props[2]
	kind := func(id int64) int {
		switch r := id % total; {
		case r < props[0]:
			return kindPerson
		case r < props[0]+props[1]:
			return kindAuction
		}
		return kindBid
	}
	// Counts of persons and auctions among ids 0..id.
	var persons, auctions []int64
	var np, na int64
	for id := int64(0); id <= events+1; id++ {
		switch kind(id) {
		case kindPerson:
			np++
		case kindAuction:
			na++
		}
		persons, auctions = append(persons, np), append(auctions, na)
	}
	delay := 1e6 / float64(rate) * float64(p)
	out := make([][]refEvent, p)
	first := int64(1)
	for i := int64(0); i < p; i++ {
		n := events / p
		if i == p-1 {
			n = events - (events/p)*(p-1)
		}
		for k := int64(0); k < n; k++ {
			number := 1 + k
			id := first + number
			ts := base + int64(float64(number)*delay)/1000
			out[i] = append(out[i], refEvent{id: id, num: number, ts: ts, kind: kind(id), persons: persons[id], auctions: auctions[id]})
		}
		first += events / p
	}
	return out
}

func ofKind(evs []refEvent, k int) []refEvent {
	var out []refEvent
	for _, e := range evs {
		if e.kind == k {
			out = append(out, e)
		}
	}
	return out
}

// TestAgainstUpstreamArithmetic checks every deterministic field (person
// and auction ids, event times, the number of rows of each kind per
// reader) against the simulation, and the random ids against the ranges
// upstream draws them from, at several parallelisms, rates and proportions.
func TestAgainstUpstreamArithmetic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 12; trial++ {
		events := int64(1 + r.IntN(30_000))
		p := int64(1 + r.IntN(5))
		rate := []int64{1, 7, 1000, 10_000, 3_000_000}[r.IntN(5)]
		props := [3]int64{1, 3, 46}
		if trial%3 == 2 {
			props = [3]int64{int64(1 + r.IntN(4)), int64(1 + r.IntN(4)), int64(1 + r.IntN(10))}
		}
		base := int64(1_700_000_000_000 + r.IntN(1_000_000))
		opts := map[string]string{
			"events.num": fmt.Sprint(events), "first-event.rate": fmt.Sprint(rate), "base-time": fmt.Sprint(base),
			"person.proportion": fmt.Sprint(props[0]), "auction.proportion": fmt.Sprint(props[1]), "bid.proportion": fmt.Sprint(props[2]),
			"seed": fmt.Sprint(trial),
		}
		t.Run(fmt.Sprintf("n%d_p%d_rate%d_%v", events, p, rate, props), func(t *testing.T) {
			ref := simulate(events, p, rate, base, props)
			total := props[0] + props[1] + props[2]
			persons := readAll(t, tableOf(Person, Columns(Person), opts), int(p), r)
			auctions := readAll(t, tableOf(Auction, Columns(Auction), opts), int(p), r)
			bids := readAll(t, tableOf(Bid, Columns(Bid), opts), int(p), r)
			for i := range ref {
				want := ofKind(ref[i], kindPerson)
				if len(persons[i]) != len(want) {
					t.Fatalf("reader %d: %d persons, want %d", i, len(persons[i]), len(want))
				}
				for j, e := range want {
					got := persons[i][j]
					if id := num(t, got, "id"); id != e.persons-1+1000 {
						t.Fatalf("reader %d person %d (event %d): id %d, want %d", i, j, e.id, id, e.persons-1+1000)
					}
					if ts := num(t, got, "dateTime"); ts != e.ts {
						t.Fatalf("person of event %d: dateTime %d, want %d", e.id, ts, e.ts)
					}
				}
				want = ofKind(ref[i], kindAuction)
				if len(auctions[i]) != len(want) {
					t.Fatalf("reader %d: %d auctions, want %d", i, len(auctions[i]), len(want))
				}
				ahead := 100 * total / props[1]
				delay := 1e6 / float64(rate) * float64(p)
				for j, e := range want {
					got := auctions[i][j]
					if id := num(t, got, "id"); id != e.auctions-1+1000 {
						t.Fatalf("auction of event %d: id %d, want %d", e.id, id, e.auctions-1+1000)
					}
					if ts := num(t, got, "dateTime"); ts != e.ts {
						t.Fatalf("auction of event %d: dateTime %d, want %d", e.id, ts, e.ts)
					}
					horizon := base + int64(float64(e.num+ahead)*delay)/1000 - e.ts
					if x := num(t, got, "expires"); x < e.ts+1 || x > e.ts+max(2*horizon, 1) {
						t.Fatalf("auction of event %d: expires %d outside [%d, %d]", e.id, x, e.ts+1, e.ts+max(2*horizon, 1))
					}
					checkPersonRef(t, "seller", num(t, got, "seller"), e, 0)
					if c := num(t, got, "category"); c < 10 || c > 14 {
						t.Fatalf("category %d", c)
					}
					ib, rs := num(t, got, "initialBid"), num(t, got, "reserve")
					if ib < 100 || ib > 100_000_000 || rs-ib < 100 || rs-ib > 100_000_000 {
						t.Fatalf("initialBid %d reserve %d", ib, rs)
					}
				}
				want = ofKind(ref[i], kindBid)
				if len(bids[i]) != len(want) {
					t.Fatalf("reader %d: %d bids, want %d", i, len(bids[i]), len(want))
				}
				for j, e := range want {
					got := bids[i][j]
					if ts := num(t, got, "dateTime"); ts != e.ts {
						t.Fatalf("bid of event %d: dateTime %d, want %d", e.id, ts, e.ts)
					}
					checkPersonRef(t, "bidder", num(t, got, "bidder"), e, 1)
					last := e.auctions - 1
					a := num(t, got, "auction") - 1000
					if hot := last / 100 * 100; a != hot && (a < max(last-100, 0) || a > last+10) {
						t.Fatalf("bid of event %d: auction %d is neither hot (%d) nor in flight [%d, %d]", e.id, a+1000, hot+1000, max(last-100, 0)+1000, last+1010)
					}
					if pr := num(t, got, "price"); pr < 100 || pr > 100_000_000 {
						t.Fatalf("price %d", pr)
					}
				}
			}
		})
	}
}

// checkPersonRef checks a seller (hot = first person of the block, +0) or
// bidder (+1) id: the hot person of the event's block of 100 people, or
// one of the last 1000 people or 10 ahead.
func checkPersonRef(t *testing.T, what string, id int64, e refEvent, hotOffset int64) {
	t.Helper()
	last := e.persons - 1
	p := id - 1000
	hot := last/100*100 + hotOffset
	lo := e.persons - min(e.persons, 1000)
	if p != hot && (p < lo || p > e.persons+9) {
		t.Fatalf("%s of event %d: %d is neither hot (%d) nor active [%d, %d]", what, e.id, id, hot+1000, lo+1000, e.persons+9+1000)
	}
}

// TestDistributions checks the random fields' distributions on 200,000
// events: hot shares, categories, prices, channels and URLs, and the sizes
// 'extra' pads to.
func TestDistributions(t *testing.T) {
	const events = 200_000
	opts := map[string]string{"events.num": fmt.Sprint(events), "seed": "42"}
	r := rand.New(rand.NewPCG(3, 4))
	bids := readAll(t, tableOf(Bid, Columns(Bid), opts), 1, r)[0]
	auctions := readAll(t, tableOf(Auction, Columns(Auction), opts), 1, r)[0]
	persons := readAll(t, tableOf(Person, Columns(Person), opts), 1, r)[0]
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.4f, want %.4f ± %.4f", what, got, want, tol)
		}
	}
	near("bid share", float64(len(bids))/events, 46.0/50, 0.001)
	near("auction share", float64(len(auctions))/events, 3.0/50, 0.001)
	near("person share", float64(len(persons))/events, 1.0/50, 0.001)

	// Bids. Block-of-100 hot values: hot auction = first of the block of
	// the latest auction, hot bidder = second of the block of the latest
	// person. Reconstruct the latest auction/person from the running ids.
	var hotAuc, hotBidder, hotSeller, hotChan, withID, plainChan int
	var logPrice, extraLen float64
	urlRe := regexp.MustCompile(`^https://www\.nexmark\.com/[a-z_]{3,4}/[a-z_]{3,4}/[a-z_]{3,4}/item\.htm\?query=1(&channel_id=(-?\d+))?$`)
	hotURL := map[string]string{}
	var latestPerson, latestAuction int64 = 999, 999
	pi, ai := 0, 0
	ref := simulate(events, 1, 10_000, 0, [3]int64{1, 3, 46})[0]
	bi := 0
	for _, e := range ref {
		switch e.kind {
		case kindPerson:
			latestPerson = num(t, persons[pi], "id")
			pi++
			continue
		case kindAuction:
			latestAuction = num(t, auctions[ai], "id")
			if num(t, auctions[ai], "seller") == (e.persons-1)/100*100+1000 {
				hotSeller++
			}
			ai++
			continue
		}
		b := bids[bi]
		bi++
		lastP, lastA := max(e.persons-1, 0)+1000, e.auctions-1+1000
		if pi > 0 && lastP != latestPerson || ai > 0 && lastA != latestAuction {
			t.Fatalf("event %d: latest person/auction %d/%d, generated %d/%d", e.id, lastP, lastA, latestPerson, latestAuction)
		}
		if num(t, b, "auction") == (lastA-1000)/100*100+1000 {
			hotAuc++
		}
		if num(t, b, "bidder") == (lastP-1000)/100*100+1001 {
			hotBidder++
		}
		logPrice += math.Log10(float64(num(t, b, "price")) / 100)
		l := len(b["extra"])
		if l < 54 || l >= 82 || strings.Trim(b["extra"], "abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("bid extra %q: want 54 to 81 lowercase letters", b["extra"])
		}
		extraLen += float64(l)
		m := urlRe.FindStringSubmatch(b["url"])
		if m == nil {
			t.Fatalf("url %q", b["url"])
		}
		switch ch := b["channel"]; ch {
		case "Google", "Facebook", "Baidu", "Apple":
			hotChan++
			if m[1] != "" {
				t.Fatalf("hot channel %s with url %q", ch, b["url"])
			}
			if u, ok := hotURL[ch]; ok && u != b["url"] {
				t.Fatalf("hot channel %s has urls %q and %q", ch, u, b["url"])
			}
			hotURL[ch] = b["url"]
		default:
			plainChan++
			i, err := strconv.Atoi(strings.TrimPrefix(ch, "channel-"))
			if err != nil || i < 0 || i >= 10_000 {
				t.Fatalf("channel %q", ch)
			}
			if m[1] != "" {
				withID++
				// Java's Math.abs(Integer.reverse(i)), written out.
				rev := int32(0)
				for bit := 0; bit < 32; bit++ {
					if i>>bit&1 == 1 {
						rev |= int32(uint32(1) << (31 - bit))
					}
				}
				if rev < 0 {
					rev = -rev
				}
				if m[2] != fmt.Sprint(rev) {
					t.Fatalf("channel %d: channel_id %s, want %d", i, m[2], rev)
				}
			}
		}
	}
	n := float64(len(bids))
	// The hot value may also be drawn at random, so the share is a little
	// above 1 - 1/ratio.
	near("hot auction share", float64(hotAuc)/n, 0.5+0.5/111, 0.01)
	near("hot bidder share", float64(hotBidder)/n, 0.75+0.25/1010, 0.01)
	near("mean log10(price/100)", logPrice/n, 3, 0.02)
	near("mean bid extra length", extraLen/n, 67.5, 0.2)
	near("hot channel share", float64(hotChan)/n, 0.5, 0.01)
	near("channel_id share of other channels", float64(withID)/float64(plainChan), 0.9, 0.05)
	if len(hotURL) != 4 {
		t.Errorf("hot channels seen: %v", hotURL)
	}

	// Auctions and persons: categories, sizes.
	cats := map[string]int{}
	near("hot seller share", float64(hotSeller)/float64(len(auctions)), 0.75+0.25/1010, 0.02)
	var aucSize float64
	for _, a := range auctions {
		cats[a["category"]]++
		aucSize += float64(6*8 + len(a["itemName"]) + len(a["description"]) + len(a["extra"]))
		if l := len(a["itemName"]); l > 19 || strings.TrimSpace(a["itemName"]) != a["itemName"] {
			t.Fatalf("itemName %q", a["itemName"])
		}
		if len(a["description"]) > 99 {
			t.Fatalf("description %q", a["description"])
		}
	}
	for c := 10; c <= 14; c++ {
		near(fmt.Sprintf("category %d share", c), float64(cats[fmt.Sprint(c)])/float64(len(auctions)), 0.2, 0.02)
	}
	if len(cats) != 5 {
		t.Errorf("categories %v", cats)
	}
	near("mean auction size", aucSize/float64(len(auctions)), 500, 3)
	// Both parts of an e-mail address are trimmed random words (which may
	// be empty after trimming): 0-6 and 0-4 characters.
	emailRe := regexp.MustCompile(`^([a-z]([a-z ]{0,4}[a-z])?)?@([a-z]([a-z ]{0,2}[a-z])?)?\.com$`)
	cardRe := regexp.MustCompile(`^\d{4} \d{4} \d{4} \d{4}$`)
	var perSize float64
	for _, p := range persons {
		if !emailRe.MatchString(p["emailAddress"]) || !cardRe.MatchString(p["creditCard"]) {
			t.Fatalf("person %v", p)
		}
		f, l, _ := strings.Cut(p["name"], " ")
		if !contains(firstNames, f) || !contains(lastNames, l) || !contains(usCities, p["city"]) || !contains(usStates, p["state"]) {
			t.Fatalf("person %v", p)
		}
		perSize += float64(8 + len(p["name"]) + len(p["emailAddress"]) + len(p["creditCard"]) + len(p["city"]) + len(p["state"]) + len(p["extra"]))
	}
	near("mean person size", perSize/float64(len(persons)), 200, 2)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestReproducible checks that the same seed gives the same rows, another
// seed other rows, and that an event's random fields do not depend on the
// parallelism (only its event time does).
func TestReproducible(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	opts := map[string]string{"events.num": "20000", "seed": "7"}
	a := flatten(readAll(t, tableOf(Bid, Columns(Bid), opts), 1, r))
	b := flatten(readAll(t, tableOf(Bid, Columns(Bid), opts), 1, r))
	if !equalRows(a, b, "") {
		t.Fatal("same seed, different rows")
	}
	c := flatten(readAll(t, tableOf(Bid, Columns(Bid), opts), 3, r))
	if !equalRows(a, c, "dateTime") {
		t.Fatal("the rows (dateTime aside) differ between parallelism 1 and 3")
	}
	if equalRows(a, c, "") {
		t.Fatal("event times should differ between parallelism 1 and 3 (each reader has its own timeline)")
	}
	opts["seed"] = "8"
	d := flatten(readAll(t, tableOf(Bid, Columns(Bid), opts), 1, r))
	same := 0
	for i := range a {
		if a[i]["extra"] == d[i]["extra"] {
			same++
		}
	}
	if same > len(a)/100 {
		t.Fatalf("seeds 7 and 8 share %d of %d extras", same, len(a))
	}
}

func flatten(rs [][]row) []row {
	var out []row
	for _, r := range rs {
		out = append(out, r...)
	}
	return out
}

func equalRows(a, b []row, ignore string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		for k, v := range a[i] {
			if k != ignore && b[i][k] != v {
				return false
			}
		}
	}
	return true
}

// TestProjection reads random subsets of every table's columns, in random
// order, and checks them against a full read; the empty projection still
// counts the rows.
func TestProjection(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	opts := map[string]string{"events.num": "30000", "seed": "3", "first-event.rate": "50"}
	for _, table := range TableNames {
		full := flatten(readAll(t, tableOf(table, Columns(table), opts), 2, r))
		for trial := 0; trial < 6; trial++ {
			var cols []types.Field
			for _, f := range Columns(table) {
				if r.IntN(2) == 0 {
					cols = append(cols, f)
				}
			}
			r.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
			info := tableOf(table, cols, opts)
			if len(cols) == 0 {
				src, err := New().NewSource(info)
				if err != nil {
					t.Fatal(err)
				}
				rows := 0
				for s := 0; s < 2; s++ {
					rd, err := src.Reader(context.Background(), connectors.ReaderContext{Subtask: s, Parallelism: 2, BatchSize: 999})
					if err != nil {
						t.Fatal(err)
					}
					for {
						rec, err := rd.Next(context.Background())
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil {
							t.Fatal(err)
						}
						if rec.NumCols() != 0 {
							t.Fatalf("%d columns, want none", rec.NumCols())
						}
						rows += int(rec.NumRows())
						rec.Release()
					}
				}
				if rows != len(full) {
					t.Fatalf("%s, no columns: %d rows, want %d", table, rows, len(full))
				}
				continue
			}
			got := flatten(readAll(t, info, 2, r))
			if len(got) != len(full) {
				t.Fatalf("%s %v: %d rows, want %d", table, cols, len(got), len(full))
			}
			for i := range got {
				for _, f := range cols {
					if got[i][f.Name] != full[i][f.Name] {
						t.Fatalf("%s row %d column %s: %q, full read %q", table, i, f.Name, got[i][f.Name], full[i][f.Name])
					}
				}
			}
		}
	}
}

// TestPosition stops a reader at a random position and resumes a new one
// from it: together they produce the rows of one uninterrupted reader.
func TestPosition(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	opts := map[string]string{"events.num": "10000", "seed": "11"}
	for _, table := range TableNames {
		full := readAll(t, tableOf(table, Columns(table), opts), 2, r)
		src, err := New().NewSource(tableOf(table, Columns(table), opts))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		rc := connectors.ReaderContext{Subtask: 1, Parallelism: 2, BatchSize: 1 + r.IntN(200)}
		rd, _ := src.Reader(ctx, rc)
		var got []row
		for stop := 1 + r.IntN(5); stop > 0; stop-- {
			rec, err := rd.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rowsOf(rec)...)
			rec.Release()
		}
		pos := rd.(*Reader).EventsPassed()
		rd2, _ := src.Reader(ctx, rc)
		if err := rd2.(*Reader).SetEventsPassed(pos); err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := rd2.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rowsOf(rec)...)
			rec.Release()
		}
		if !equalRows(got, full[1], "") {
			t.Fatalf("%s: resumed rows differ (%d rows vs %d)", table, len(got), len(full[1]))
		}
		if err := rd2.(*Reader).SetEventsPassed(-1); err == nil {
			t.Fatal("SetEventsPassed(-1) succeeded")
		}
	}
}

// TestUnbounded checks that without 'events.num' the source is unbounded
// and keeps producing.
func TestUnbounded(t *testing.T) {
	src, err := New().NewSource(tableOf(Person, Columns(Person), nil))
	if err != nil {
		t.Fatal(err)
	}
	if src.Bounded() {
		t.Fatal("bounded without events.num")
	}
	rd, _ := src.Reader(context.Background(), connectors.ReaderContext{Subtask: 3, Parallelism: 4, BatchSize: 100})
	for i := 0; i < 50; i++ {
		rec, err := rd.Next(context.Background())
		if err != nil || rec == nil || rec.NumRows() != 100 {
			t.Fatalf("batch %d: %v %v", i, rec, err)
		}
		rec.Release()
	}
}

// TestPaced checks 'max-emit-speed' = 'false': event time follows the wall
// clock from the first batch.
func TestPaced(t *testing.T) {
	const rate = 2000
	src, err := New().NewSource(tableOf(Bid, Columns(Bid)[5:6], map[string]string{"first-event.rate": fmt.Sprint(rate), "max-emit-speed": "false", "base-time": "0"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rd, _ := src.Reader(ctx, connectors.ReaderContext{Subtask: 0, Parallelism: 1, BatchSize: 10_000})
	start := time.Now()
	rows := 0
	for time.Since(start) < 300*time.Millisecond {
		rec, err := rd.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil {
			continue
		}
		ts := rec.Column(0).(*array.Timestamp)
		if last := int64(ts.Value(ts.Len() - 1)); last > time.Since(start).Milliseconds()+5 {
			t.Fatalf("event time %d ms is ahead of the wall clock (%v)", last, time.Since(start))
		}
		rows += int(rec.NumRows())
		rec.Release()
	}
	// A loaded machine may fall behind the clock, but the reader must
	// never run ahead of it.
	el := time.Since(start).Seconds()
	if most := el*rate*46/50 + 50; rows == 0 || float64(rows) > most {
		t.Fatalf("%d bids in %.3fs, want some, at most %.0f", rows, el, most)
	}
}

// TestChannelID checks Java's Math.abs(Integer.reverse(i)) on a few values
// worked out by hand.
func TestChannelID(t *testing.T) {
	for i, want := range map[int]int32{0: 0, 1: math.MinInt32, 2: 1 << 30, 3: 1 << 30, 6: 1<<30 + 1<<29, 4: 1 << 29} {
		if got := channelID(i); got != want {
			t.Errorf("channelID(%d) = %d, want %d", i, got, want)
		}
	}
	// Odd i: the top bit is set, so the value is negated.
	if got := channelID(5); got != -int32(bits.Reverse32(5)) {
		t.Errorf("channelID(5) = %d", got)
	}
}

// TestErrors checks the errors for bad tables and options.
func TestErrors(t *testing.T) {
	bid := Columns(Bid)
	cases := []struct {
		cols []types.Field
		opts map[string]string
		want string
	}{
		{bid, map[string]string{"table": "bids"}, "option 'table': 'bids' is not one of person, auction, bid"},
		{nil, nil, "the table declares no columns; nexmark table 'bid' has auction BIGINT, bidder BIGINT"},
		{[]types.Field{{Name: "bidder", Type: types.IntType}}, nil, "column 'bidder' is declared INT, but nexmark table 'bid' produces BIGINT"},
		{[]types.Field{{Name: "name", Type: types.StringType}}, nil, "column 'name' is not a column of nexmark table 'bid'"},
		{[]types.Field{bid[0], bid[0]}, nil, "column 'auction' is declared twice"},
		{bid, map[string]string{"events.num": "-1"}, "option 'events.num': '-1' is out of range (0 to 9223372036854775807)"},
		{bid, map[string]string{"first-event.rate": "0"}, "option 'first-event.rate': '0' is out of range"},
		{bid, map[string]string{"auction.proportion": "0"}, "option 'auction.proportion': '0' is out of range (1 to 1000000)"},
		{bid, map[string]string{"bid.hot-ratio.bidders": "0"}, "option 'bid.hot-ratio.bidders': '0' is out of range"},
		{bid, map[string]string{"bid.avg-size": "10 parsecs"}, "option 'bid.avg-size': '10 parsecs' is not a size in bytes"},
		{bid, map[string]string{"base-time": "yesterday"}, "option 'base-time': 'yesterday' is not a timestamp"},
		{bid, map[string]string{"rate.shape": "sine"}, "unknown option 'rate.shape'"},
		{bid, map[string]string{"max-emit-speed": "fast"}, "option 'max-emit-speed': 'fast' is not a valid bool"},
	}
	for _, c := range cases {
		opts := map[string]string{"table": "bid"}
		for k, v := range c.opts {
			opts[k] = v
		}
		info := connectors.TableInfo{Name: "b", Schema: types.Schema{Fields: c.cols}, Options: opts}
		err := New().ValidateTable(info)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: error %v, want %q", c.cols, c.opts, err, c.want)
		}
	}
	// Sizes accept Flink's units.
	for s, want := range map[string]int64{"100b": 100, "100": 100, "1kb": 1024, " 2 k": 2048} {
		if v, ok := parseBytes(s); !ok || v != want {
			t.Errorf("parseBytes(%q) = %d, %v", s, v, ok)
		}
	}
	src, err := New().NewSource(tableOf(Bid, bid, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Reader(context.Background(), connectors.ReaderContext{Subtask: 2, Parallelism: 2}); err == nil {
		t.Fatal("reader 2 of 2 opened")
	}
}

// TestConcurrentReaders reads the readers of one source from several
// goroutines at once, as the runtime does (run with -race), and checks
// they give what sequential reads give.
func TestConcurrentReaders(t *testing.T) {
	opts := map[string]string{"events.num": "20000", "seed": "13"}
	info := tableOf(Bid, Columns(Bid), opts)
	want := readAll(t, info, 4, rand.New(rand.NewPCG(1, 1)))
	src, err := New().NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	got := make([][]row, 4)
	errs := make(chan error, 4)
	for s := 0; s < 4; s++ {
		go func() {
			rd, err := src.Reader(context.Background(), connectors.ReaderContext{Subtask: s, Parallelism: 4, BatchSize: 100 + 50*s})
			if err != nil {
				errs <- err
				return
			}
			defer rd.Close()
			for {
				rec, err := rd.Next(context.Background())
				if errors.Is(err, io.EOF) {
					errs <- nil
					return
				}
				if err != nil {
					errs <- err
					return
				}
				got[s] = append(got[s], rowsOf(rec)...)
				rec.Release()
			}
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for s := range got {
		if !equalRows(got[s], want[s], "") {
			t.Fatalf("reader %d: concurrent rows differ from sequential ones", s)
		}
	}
}

// TestLargeExtra checks 'extra' with a large average size: lengths within
// ±20 % of the padding, and different texts.
func TestLargeExtra(t *testing.T) {
	opts := map[string]string{"events.num": "2000", "bid.avg-size": "50kb"}
	bids := flatten(readAll(t, tableOf(Bid, Columns(Bid)[6:], opts), 1, rand.New(rand.NewPCG(2, 2))))
	d := int64(50*1024 - 32)
	delta := int64(math.Floor(float64(d)*0.2 + 0.5))
	seen := map[string]bool{}
	for _, b := range bids {
		if l := int64(len(b["extra"])); l < d-delta || l >= d+delta {
			t.Fatalf("extra of %d bytes, want [%d, %d)", l, d-delta, d+delta)
		}
		seen[b["extra"][:64]] = true
	}
	if len(seen) < len(bids)/2 {
		t.Fatalf("%d distinct extras of %d", len(seen), len(bids))
	}
}
