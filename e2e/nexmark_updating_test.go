package e2e

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/connectors"
	nexmark "github.com/eddy-streaming/eddy/examples/nexmark"
)

// nxCollectSink is collectSink for updating queries: it accepts retract
// and upsert streams, and keeps each row with its kind.
type nxCollectSink struct{ collectSink }

// AcceptsUpdates accepts every table.
func (c *nxCollectSink) AcceptsUpdates(connectors.TableInfo) error { return nil }

// nxMaterialize applies a changelog, rows rendered "kind|v1|v2|..." in the
// order they were written, to an empty table: +I and +U add a row, -U and
// -D remove one that must be there. It returns the final rows (without
// kinds) and how many rows were retracted.
func nxMaterialize(t *testing.T, rows []string) (final []string, retracted int) {
	t.Helper()
	table := map[string]int{}
	for i, row := range rows {
		kind, rest, ok := strings.Cut(row, "|")
		if !ok {
			t.Fatalf("changelog row %d: %q has no kind", i, row)
		}
		switch kind {
		case "+I", "+U":
			table[rest]++
		case "-U", "-D":
			if table[rest] == 0 {
				t.Fatalf("changelog row %d: %s of a row that is not in the table: %q", i, kind, rest)
			}
			table[rest]--
			retracted++
		default:
			t.Fatalf("changelog row %d: unknown kind %q", i, kind)
		}
	}
	for row, n := range table {
		for ; n > 0; n-- {
			final = append(final, row)
		}
	}
	return final, retracted
}

// nexmarkFinalCase runs an updating query at parallelism 1 and 4, applies
// its changelog and checks the final table against want (rows rendered
// "v1|v2|...", without kinds), computed from the rows the connector
// generates at that parallelism. The changelog must retract something, or
// the test would not test the updates.
func nexmarkFinalCase(t *testing.T, query string, p nexmark.Params, want func(t *testing.T, parallelism int) []string) {
	nexmarkFinalCheck(t, query, p, func(t *testing.T, par int, got []string) {
		w := want(t, par)
		if len(w) == 0 {
			t.Fatalf("%s: the reference is empty; choose parameters that give output", query)
		}
		assertSameRows(t, got, w)
	})
}

// nexmarkFinalCheck is nexmarkFinalCase with a check of its own.
func nexmarkFinalCheck(t *testing.T, query string, p nexmark.Params, check func(t *testing.T, parallelism int, final []string)) {
	r := rand.New(rand.NewPCG(uint64(len(query))*7, uint64(p.Seed)))
	for _, parallelism := range []int{1, 4} {
		t.Run(fmt.Sprintf("p%d", parallelism), func(t *testing.T) {
			rows, _ := runNexmark(t, query, p, parallelism, r)
			final, retracted := nxMaterialize(t, rows)
			if retracted == 0 {
				t.Fatalf("%s: %d changelog rows and none retracts: the data does not test the updates", query, len(rows))
			}
			check(t, parallelism, final)
		})
	}
}

// nxDay and nxMinute render an event time as DATE_FORMAT(ts, 'yyyy-MM-dd')
// and DATE_FORMAT(ts, 'HH:mm') do (TIMESTAMP(3) has no time zone: UTC).
func nxDay(ts int64) string    { return time.UnixMilli(ts).UTC().Format("2006-01-02") }
func nxMinute(ts int64) string { return time.UnixMilli(ts).UTC().Format("15:04") }

// nxWinningBids joins auctions and bids as q4, q6 and q9 do (A.id =
// B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires) and returns,
// per auction id, its bids in that interval.
func nxWinningBids(auctions []nxAuction, bids []nxBid) map[int64][]nxBid {
	byID := map[int64]nxAuction{}
	for _, a := range auctions {
		byID[a.ID] = a
	}
	out := map[int64][]nxBid{}
	for _, b := range bids {
		if a, ok := byID[b.Auction]; ok && b.Ts >= a.Ts && b.Ts <= a.Expires {
			out[a.ID] = append(out[a.ID], b)
		}
	}
	return out
}

// TestNexmarkQ4 checks the average winning price per category: the
// highest in-interval bid per auction, averaged (BIGINT, truncated) per
// category. New maxima retract old ones through both aggregates.
func TestNexmarkQ4(t *testing.T) {
	p := nexmark.Params{Events: 10_000, Rate: 10_000, Seed: 4}
	nexmarkFinalCase(t, "q4", p, func(t *testing.T, par int) []string {
		auctions := readAuctions(t, p, par)
		in := nxWinningBids(auctions, readBids(t, p, par))
		sum, n := map[int64]int64{}, map[int64]int64{}
		for _, a := range auctions {
			bs := in[a.ID]
			if len(bs) == 0 {
				continue
			}
			m := bs[0].Price
			for _, b := range bs {
				m = max(m, b.Price)
			}
			sum[a.Category] += m
			n[a.Category]++
		}
		var want []string
		for c := range sum {
			want = append(want, fmt.Sprintf("%d|%d", c, sum[c]/n[c]))
		}
		return want
	})
}

// TestNexmarkQ6 checks what q6 computes in Eddy: per seller, the average
// winning price of their 10 auctions with the latest expiry (ties by
// auction id) among those with an in-interval bid.
func TestNexmarkQ6(t *testing.T) {
	p := nexmark.Params{Events: 30_000, Rate: 1_000, Seed: 6}
	nexmarkFinalCase(t, "q6", p, func(t *testing.T, par int) []string {
		auctions := readAuctions(t, p, par)
		in := nxWinningBids(auctions, readBids(t, p, par))
		type won struct{ id, expires, price int64 }
		bySeller := map[int64][]won{}
		for _, a := range auctions {
			bs := in[a.ID]
			if len(bs) == 0 {
				continue
			}
			m := bs[0].Price
			for _, b := range bs {
				m = max(m, b.Price)
			}
			bySeller[a.Seller] = append(bySeller[a.Seller], won{a.ID, a.Expires, m})
		}
		var want []string
		truncated := 0
		for s, ws := range bySeller {
			sort.Slice(ws, func(i, j int) bool {
				if ws[i].expires != ws[j].expires {
					return ws[i].expires > ws[j].expires
				}
				return ws[i].id > ws[j].id
			})
			if len(ws) > 10 {
				ws = ws[:10]
				truncated++
			}
			var sum int64
			for _, w := range ws {
				sum += w.price
			}
			want = append(want, fmt.Sprintf("%d|%d", s, sum/int64(len(ws))))
		}
		if truncated == 0 {
			t.Fatal("no seller has more than 10 auctions: the data does not test the Top-10")
		}
		return want
	})
}

// TestNexmarkQ9 checks the winning bid of each auction: the highest
// in-interval bid, the earliest among equal prices, with the auction's
// columns.
func TestNexmarkQ9(t *testing.T) {
	p := nexmark.Params{Events: 10_000, Rate: 1_000, Seed: 9}
	nexmarkFinalCase(t, "q9", p, func(t *testing.T, par int) []string {
		auctions := readAuctions(t, p, par)
		in := nxWinningBids(auctions, readBids(t, p, par))
		var want []string
		for _, a := range auctions {
			bs := in[a.ID]
			if len(bs) == 0 {
				continue
			}
			w := bs[0]
			for _, b := range bs[1:] {
				if b.Price > w.Price || b.Price == w.Price && b.Ts < w.Ts {
					w = b
				}
			}
			for _, b := range bs {
				if b != w && b.Price == w.Price && b.Ts == w.Ts {
					t.Fatalf("auction %d: two winning bids tie on price and time; choose other parameters", a.ID)
				}
			}
			want = append(want, fmt.Sprintf("%d|%s|%s|%d|%d|%d|%d|%d|%d|%s|%d|%d|%d|%d|%s",
				a.ID, a.ItemName, a.Description, a.InitialBid, a.Reserve, a.Ts, a.Expires, a.Seller, a.Category, a.Extra,
				w.Auction, w.Bidder, w.Price, w.Ts, w.Extra))
		}
		return want
	})
}

// nxPriceStats are the counts and distinct sets q15 and q16 compute for a
// group, by price rank (0: all bids, 1: < 10,000, 2: < 1,000,000, 3: the
// rest).
type nxPriceStats struct {
	bids              [4]int64
	bidders, auctions [4]map[int64]bool
	maxMinute         string
}

func (s *nxPriceStats) add(b nxBid) {
	rank := 3
	switch {
	case b.Price < 10_000:
		rank = 1
	case b.Price < 1_000_000:
		rank = 2
	}
	for _, r := range []int{0, rank} {
		if s.bidders[r] == nil {
			s.bidders[r], s.auctions[r] = map[int64]bool{}, map[int64]bool{}
		}
		s.bids[r]++
		s.bidders[r][b.Bidder] = true
		s.auctions[r][b.Auction] = true
	}
	s.maxMinute = max(s.maxMinute, nxMinute(b.Ts))
}

func (s *nxPriceStats) String() string {
	var f []string
	for r := 0; r < 4; r++ {
		f = append(f, strconv.FormatInt(s.bids[r], 10))
	}
	for r := 0; r < 4; r++ {
		f = append(f, strconv.Itoa(len(s.bidders[r])))
	}
	for r := 0; r < 4; r++ {
		f = append(f, strconv.Itoa(len(s.auctions[r])))
	}
	return strings.Join(f, "|")
}

// nxMidnight is a base time 100 s before midnight: at 100 events a second
// of event time the bids of 20,000 events fall on two days.
var nxMidnight = map[string]string{"base-time": "2026-03-01 23:58:20"}

// TestNexmarkQ15 checks the per-day bid statistics: counts and distinct
// bidders and auctions, overall and by price rank, on bids that span
// nxMidnight.
func TestNexmarkQ15(t *testing.T) {
	p := nexmark.Params{Events: 20_000, Rate: 100, Seed: 15, Options: nxMidnight}
	nexmarkFinalCase(t, "q15", p, func(t *testing.T, par int) []string {
		stats := map[string]*nxPriceStats{}
		for _, b := range readBids(t, p, par) {
			d := nxDay(b.Ts)
			if stats[d] == nil {
				stats[d] = &nxPriceStats{}
			}
			stats[d].add(b)
		}
		if len(stats) < 2 {
			t.Fatalf("the bids fall on %d nxDay(s); want two", len(stats))
		}
		var want []string
		for d, s := range stats {
			want = append(want, d+"|"+s.String())
		}
		return want
	})
}

// TestNexmarkQ16 checks q15's statistics per channel and day, with the
// latest minute of each.
func TestNexmarkQ16(t *testing.T) {
	p := nexmark.Params{Events: 20_000, Rate: 100, Seed: 16, Options: nxMidnight}
	nexmarkFinalCase(t, "q16", p, func(t *testing.T, par int) []string {
		type key struct{ channel, day string }
		stats := map[key]*nxPriceStats{}
		for _, b := range readBids(t, p, par) {
			k := key{b.Channel, nxDay(b.Ts)}
			if stats[k] == nil {
				stats[k] = &nxPriceStats{}
			}
			stats[k].add(b)
		}
		var want []string
		for k, s := range stats {
			want = append(want, k.channel+"|"+k.day+"|"+s.maxMinute+"|"+s.String())
		}
		return want
	})
}

// TestNexmarkQ17 checks the per (auction, day) statistics: counts by
// price rank, MIN, MAX, AVG (BIGINT, truncated) and SUM of the price.
func TestNexmarkQ17(t *testing.T) {
	p := nexmark.Params{Events: 20_000, Rate: 100, Seed: 17, Options: nxMidnight}
	nexmarkFinalCase(t, "q17", p, func(t *testing.T, par int) []string {
		type key struct {
			auction int64
			day     string
		}
		type agg struct{ n, r1, r2, r3, lo, hi, sum int64 }
		aggs := map[key]*agg{}
		for _, b := range readBids(t, p, par) {
			k := key{b.Auction, nxDay(b.Ts)}
			a := aggs[k]
			if a == nil {
				a = &agg{lo: b.Price, hi: b.Price}
				aggs[k] = a
			}
			a.n++
			switch {
			case b.Price < 10_000:
				a.r1++
			case b.Price < 1_000_000:
				a.r2++
			default:
				a.r3++
			}
			a.lo, a.hi, a.sum = min(a.lo, b.Price), max(a.hi, b.Price), a.sum+b.Price
		}
		var want []string
		for k, a := range aggs {
			want = append(want, fmt.Sprintf("%d|%s|%d|%d|%d|%d|%d|%d|%d|%d", k.auction, k.day, a.n, a.r1, a.r2, a.r3, a.lo, a.hi, a.sum/a.n, a.sum))
		}
		return want
	})
}

// TestNexmarkQ18 checks the last bid of each (bidder, auction).
func TestNexmarkQ18(t *testing.T) {
	p := nexmark.Params{Events: 20_000, Rate: 1_000, Seed: 18}
	nexmarkFinalCase(t, "q18", p, func(t *testing.T, par int) []string {
		type key struct{ bidder, auction int64 }
		last := map[key]nxBid{}
		ties := map[key]bool{}
		for _, b := range readBids(t, p, par) {
			k := key{b.Bidder, b.Auction}
			l, ok := last[k]
			switch {
			case !ok || b.Ts > l.Ts:
				last[k], ties[k] = b, false
			case b.Ts == l.Ts:
				ties[k] = true
			}
		}
		var want []string
		for k, b := range last {
			if ties[k] {
				t.Fatalf("bidder %d bids twice on auction %d at %d; choose other parameters", k.bidder, k.auction, b.Ts)
			}
			want = append(want, fmt.Sprintf("%d|%d|%d|%s|%s|%d|%s", b.Auction, b.Bidder, b.Price, b.Channel, b.URL, b.Ts, b.Extra))
		}
		return want
	})
}

// TestNexmarkQ19 checks the Top-10 bids by price per auction, with their
// row numbers. Bids of equal price may take their ranks in any order, so
// the check is: each auction has ranks 1 to min(10, its bids), the bid at
// rank k has the auction's k-th highest price, and every row is one of the
// auction's bids, none twice.
func TestNexmarkQ19(t *testing.T) {
	p := nexmark.Params{Events: 20_000, Rate: 1_000, Seed: 19}
	nexmarkFinalCheck(t, "q19", p, func(t *testing.T, par int, final []string) {
		bidRows := map[string]int{}
		prices := map[int64][]int64{}
		for _, b := range readBids(t, p, par) {
			bidRows[fmt.Sprintf("%d|%d|%d|%s|%s|%d|%s", b.Auction, b.Bidder, b.Price, b.Channel, b.URL, b.Ts, b.Extra)]++
			prices[b.Auction] = append(prices[b.Auction], b.Price)
		}
		ranks := map[int64]map[int64]int64{} // auction -> rank -> price
		for _, row := range final {
			i := strings.LastIndexByte(row, '|')
			bid, rankText := row[:i], row[i+1:]
			f := strings.Split(bid, "|")
			auction, err1 := strconv.ParseInt(f[0], 10, 64)
			price, err2 := strconv.ParseInt(f[2], 10, 64)
			rank, err3 := strconv.ParseInt(rankText, 10, 64)
			if len(f) != 7 || err1 != nil || err2 != nil || err3 != nil {
				t.Fatalf("row %q", row)
			}
			if bidRows[bid] == 0 {
				t.Fatalf("row %q: not a bid, or a bid that appears more often than generated", row)
			}
			bidRows[bid]--
			if ranks[auction] == nil {
				ranks[auction] = map[int64]int64{}
			}
			if _, dup := ranks[auction][rank]; dup {
				t.Fatalf("auction %d has two rows of rank %d", auction, rank)
			}
			ranks[auction][rank] = price
		}
		ties := 0
		for auction, ps := range prices {
			sort.Slice(ps, func(i, j int) bool { return ps[i] > ps[j] })
			n := min(10, len(ps))
			if n < len(ps) && ps[n-1] == ps[n] {
				ties++
			}
			got := ranks[auction]
			if len(got) != n {
				t.Fatalf("auction %d: %d ranked rows, want %d (prices %v)", auction, len(got), n, ps[:n])
			}
			for k := 1; k <= n; k++ {
				if pr, ok := got[int64(k)]; !ok || pr != ps[k-1] {
					t.Fatalf("auction %d: rank %d has price %d (present %v), want %d", auction, k, pr, ok, ps[k-1])
				}
			}
		}
		if len(ranks) != len(prices) {
			t.Fatalf("%d auctions ranked, want %d", len(ranks), len(prices))
		}
		t.Logf("%d auctions, %d with a tie at rank 10", len(prices), ties)
	})
}
