package e2e

import (
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Row-at-a-time references for updating_test.go, written from Flink's
// documented semantics: they compute each query's final result (the table
// its changelog materializes to) with maps, sorting and loops over the
// generated rows. Rows render as renderRows renders them, without the kind:
// values joined by '|', timestamps in ms, NULL as "null".

// join renders values as a row.
func joinVals(vs ...string) string { return strings.Join(vs, "|") }

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }

// optI64 renders a nullable BIGINT.
func optI64(v int64, ok bool) string {
	if !ok {
		return "null"
	}
	return itoa64(v)
}

// aggAcc accumulates the aggregates of aggCalls over one group, ignoring
// NULLs as SQL does.
type aggAcc struct {
	n, nv, total, hi, vsum, bigTotal, bigN int64
	lo                                     int32
	anyV, bigAny                           bool
	users                                  map[int64]bool
}

func (a *aggAcc) add(w wrow) {
	if a.users == nil {
		a.users = map[int64]bool{}
	}
	if a.n == 0 || w.Amt > a.hi {
		a.hi = w.Amt
	}
	a.n++
	a.total += w.Amt
	a.users[w.U] = true
	if !w.VNull {
		if !a.anyV || w.V < a.lo {
			a.lo = w.V
		}
		a.anyV = true
		a.nv++
		a.vsum += int64(w.V)
		if w.V > 2 {
			a.bigTotal += w.Amt
			a.bigAny = true
		}
	}
	if w.Amt >= 150 {
		a.bigN++
	}
}

// aggCalls is the aggregate list the reference aggAcc.render follows.
const aggCalls = `COUNT(*), COUNT(v), SUM(amt), MIN(v), MAX(amt), AVG(v), COUNT(DISTINCT u),
       SUM(amt) FILTER (WHERE v > 2), COUNT(*) FILTER (WHERE amt >= 150)`

// aggCols are the sink columns of aggCalls.
const aggCols = `n BIGINT, nv BIGINT, total BIGINT, lo INT, hi BIGINT, avg_v INT, users BIGINT, big_total BIGINT, big_n BIGINT`

// render renders the group's aggCalls results (AVG of INT truncates, as
// Go and Java do).
func (a *aggAcc) render() string {
	lo, avg := "null", "null"
	if a.anyV {
		lo, avg = strconv.Itoa(int(a.lo)), itoa64(a.vsum/a.nv)
	}
	return joinVals(itoa64(a.n), itoa64(a.nv), itoa64(a.total), lo, itoa64(a.hi), avg, strconv.Itoa(len(a.users)),
		optI64(a.bigTotal, a.bigAny), itoa64(a.bigN))
}

// groupBy puts rows into groups by a rendered key, keeping data order.
func groupBy(rows []wrow, key func(wrow) string) map[string][]wrow {
	g := map[string][]wrow{}
	for _, w := range rows {
		k := key(w)
		g[k] = append(g[k], w)
	}
	return g
}

func byK(w wrow) string { return w.key().String() }
func byU(w wrow) string { return itoa64(w.U) }

// bySecond is (k, FLOOR(ts TO SECOND)); times are positive.
func bySecond(w wrow) string { return w.key().String() + "|" + itoa64(w.Ts/1000) }

// refGroupAgg is GROUP BY key with aggCalls; having, if set, keeps a
// group's row only when it holds.
func refGroupAgg(rows []wrow, key func(wrow) string, having func(*aggAcc) bool) []string {
	var out []string
	for k, ws := range groupBy(rows, key) {
		var a aggAcc
		for _, w := range ws {
			a.add(w)
		}
		if having != nil && !having(&a) {
			continue
		}
		out = append(out, joinVals(k, a.render()))
	}
	return out
}

// havingSumV is HAVING SUM(v) > 0 (a NULL sum fails it).
func havingSumV(a *aggAcc) bool { return a.anyV && a.vsum > 0 }

// refGlobalAgg is the no-key aggregate of globalSQL: COUNT(*), SUM(amt),
// MIN(v), MAX(v), AVG(amt), COUNT(DISTINCT k).
func refGlobalAgg(rows []wrow) []string {
	var n, total int64
	var lo, hi int32
	anyV := false
	ks := map[int64]bool{}
	for _, w := range rows {
		n++
		total += w.Amt
		if !w.VNull {
			if !anyV || w.V < lo {
				lo = w.V
			}
			if !anyV || w.V > hi {
				hi = w.V
			}
			anyV = true
		}
		if !w.KNull {
			ks[w.K] = true
		}
	}
	loT, hiT := "null", "null"
	if anyV {
		loT, hiT = strconv.Itoa(int(lo)), strconv.Itoa(int(hi))
	}
	return []string{joinVals(itoa64(n), itoa64(total), loT, hiT, itoa64(total/n), strconv.Itoa(len(ks)))}
}

// kuGroup is one (k, u) group of an inner aggregate: SUM(v) (NULL when no
// v) and COUNT(*).
type kuGroup struct {
	k     nk
	u     int64
	sv    int64
	anySV bool
	n     int64
	total int64
}

// refInnerKU aggregates rows by (k, u): SUM(v), COUNT(*), SUM(amt).
func refInnerKU(rows []wrow) []*kuGroup {
	type key struct {
		k nk
		u int64
	}
	idx := map[key]*kuGroup{}
	var out []*kuGroup
	for _, w := range rows {
		kk := key{w.key(), w.U}
		g := idx[kk]
		if g == nil {
			g = &kuGroup{k: w.key(), u: w.U}
			idx[kk] = g
			out = append(out, g)
		}
		g.n++
		g.total += w.Amt
		if !w.VNull {
			g.sv += int64(w.V)
			g.anySV = true
		}
	}
	return out
}

// refAggOverAgg is the outer aggregate of aggOverAggSQL over the (k, u)
// groups, grouped by key: MAX(sv), MIN(sv), SUM(n), COUNT(*), COUNT(sv).
func refAggOverAgg(gs []*kuGroup, key func(*kuGroup) string) []string {
	type acc struct {
		hi, lo, n, cnt, csv int64
	}
	accs := map[string]*acc{}
	for _, g := range gs {
		k := key(g)
		a := accs[k]
		if a == nil {
			a = &acc{}
			accs[k] = a
		}
		if g.anySV {
			if a.csv == 0 || g.sv > a.hi {
				a.hi = g.sv
			}
			if a.csv == 0 || g.sv < a.lo {
				a.lo = g.sv
			}
			a.csv++
		}
		a.n += g.n
		a.cnt++
	}
	var out []string
	for k, a := range accs {
		out = append(out, joinVals(k, optI64(a.hi, a.csv > 0), optI64(a.lo, a.csv > 0), itoa64(a.n), itoa64(a.cnt), itoa64(a.csv)))
	}
	return out
}

// dedupRows returns, per key, the row with the smallest (or, last, the
// largest) time. Times are distinct except between exact copies, so the
// tie rule does not matter.
func dedupRows(rows []wrow, key func(wrow) string, last bool) map[string]wrow {
	best := map[string]wrow{}
	for _, w := range rows {
		k := key(w)
		b, ok := best[k]
		if !ok || (last && w.Ts > b.Ts) || (!last && w.Ts < b.Ts) {
			best[k] = w
		}
	}
	return best
}

// full renders all of a row's columns (k, u, v, amt, ts).
func (w wrow) full() string {
	return joinVals(w.key().String(), itoa64(w.U), w.vText(), itoa64(w.Amt), itoa64(w.Ts))
}

// refDedup is dedupSQL's result: the kept row per key, whole.
func refDedup(rows []wrow, key func(wrow) string, last bool) []string {
	var out []string
	for _, w := range dedupRows(rows, key, last) {
		out = append(out, w.full())
	}
	return out
}

// refAggOverDedup is aggOverDedupCase's: the last row per user, grouped by
// k: COUNT(*), SUM(amt), MIN(amt), MAX(v), SUM(v), AVG(v), COUNT(DISTINCT
// v), COUNT(*) FILTER (WHERE amt >= 150).
func refAggOverDedup(rows []wrow) []string {
	var kept []wrow
	for _, w := range dedupRows(rows, byU, true) {
		kept = append(kept, w)
	}
	var out []string
	for k, ws := range groupBy(kept, byK) {
		var total, lo int64
		var hi int32
		anyV := false
		for i, w := range ws {
			total += w.Amt
			if i == 0 || w.Amt < lo {
				lo = w.Amt
			}
			if !w.VNull && (!anyV || w.V > hi) {
				hi, anyV = w.V, true
			}
		}
		var sv, nv, bigN int64
		dv := map[int32]bool{}
		for _, w := range ws {
			if !w.VNull {
				sv += int64(w.V)
				nv++
				dv[w.V] = true
			}
			if w.Amt >= 150 {
				bigN++
			}
		}
		hiT, svT, avgT := "null", "null", "null"
		if anyV {
			hiT, svT, avgT = strconv.Itoa(int(hi)), itoa64(sv), itoa64(sv/nv)
		}
		out = append(out, joinVals(k, strconv.Itoa(len(ws)), itoa64(total), itoa64(lo), hiT, svT, avgT, strconv.Itoa(len(dv)), itoa64(bigN)))
	}
	return out
}

// rankedRow is a candidate of a Top-N with its rendered output and sort
// fields.
type rankedRow struct {
	part string
	out  string // the row's rendered output columns (without the rank)
	less func(o *rankedRow) int
}

// refTopN ranks each partition's rows by cmp (negative: a before b) with
// fn ("row_number", "rank" or "dense_rank") and keeps those ranked <= n.
// With rankAt >= 0 the rank is rendered as output column rankAt.
// ROW_NUMBER needs cmp to be a total order on distinct rows (rows equal
// under cmp must render the same), so the result does not depend on
// arrival order.
func refTopN[T any](rows []T, part func(T) string, render func(T) []string, cmp func(a, b T) int, fn string, n int, rankAt int) []string {
	parts := map[string][]T{}
	for _, w := range rows {
		parts[part(w)] = append(parts[part(w)], w)
	}
	var out []string
	for _, ws := range parts {
		sort.SliceStable(ws, func(i, j int) bool { return cmp(ws[i], ws[j]) < 0 })
		rank, dense := 0, 0
		for i, w := range ws {
			tie := i > 0 && cmp(ws[i-1], w) == 0
			switch fn {
			case "row_number":
				rank = i + 1
			case "rank":
				if !tie {
					rank = i + 1
				}
			case "dense_rank":
				if !tie {
					dense++
				}
				rank = dense
			}
			if rank > n {
				break
			}
			vs := render(w)
			if rankAt >= 0 {
				vs = append(vs[:rankAt:rankAt], append([]string{strconv.Itoa(rank)}, vs[rankAt:]...)...)
			}
			out = append(out, joinVals(vs...))
		}
	}
	return out
}

// cmpInt orders integers ascending.
func cmpInt[T int64 | int32 | int](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpAmtDescTs is ORDER BY amt DESC, ts (exact copies tie).
func cmpAmtDescTs(a, b wrow) int {
	if c := cmpInt(b.Amt, a.Amt); c != 0 {
		return c
	}
	return cmpInt(a.Ts, b.Ts)
}

// bySV is ORDER BY sv DESC NULLS LAST over (k, u) groups, then (withU) u.
func bySV(withU bool) func(a, b *kuGroup) int {
	return func(a, b *kuGroup) int {
		switch {
		case a.anySV != b.anySV:
			if a.anySV {
				return -1
			}
			return 1
		case a.anySV && a.sv != b.sv:
			return cmpInt(b.sv, a.sv)
		case withU:
			return cmpInt(a.u, b.u)
		}
		return 0
	}
}

// cmpVDescNullsLast is ORDER BY v DESC NULLS LAST.
func cmpVDescNullsLast(a, b wrow) int {
	switch {
	case a.VNull && b.VNull:
		return 0
	case a.VNull:
		return 1
	case b.VNull:
		return -1
	}
	return cmpInt(b.V, a.V)
}

// refJoin is a nested-loop regular join of a and b on a.k = b.k AND a.u =
// b.u AND a.v < b.v (NULL never matches), as INNER, LEFT, RIGHT or FULL:
// outer sides keep each unmatched row once, NULL-padded. Rows render as
// a.full() then b.full().
func refJoin(a, b []wrow, how string) []string {
	const pad = "null|null|null|null|null"
	match := func(x, y wrow) bool {
		return !x.KNull && !y.KNull && x.K == y.K && x.U == y.U && !x.VNull && !y.VNull && x.V < y.V
	}
	var out []string
	bMatched := make([]bool, len(b))
	for _, x := range a {
		hit := false
		for j, y := range b {
			if match(x, y) {
				out = append(out, joinVals(x.full(), y.full()))
				hit = true
				bMatched[j] = true
			}
		}
		if !hit && (how == "LEFT" || how == "FULL") {
			out = append(out, joinVals(x.full(), pad))
		}
	}
	if how == "RIGHT" || how == "FULL" {
		for j, y := range b {
			if !bMatched[j] {
				out = append(out, joinVals(pad, y.full()))
			}
		}
	}
	return out
}

// sideAgg is one group of joinAggSQL's per-key aggregates: k, COUNT(*) and
// SUM(amt) (left) or MAX(v) (right; NULL without a v).
type sideAgg struct {
	k    nk
	n    int64
	x    int64
	xSet bool
}

func refSideAggs(rows []wrow, right bool) []sideAgg {
	var out []sideAgg
	for _, ws := range groupBy(rows, byK) {
		s := sideAgg{k: ws[0].key()}
		for _, w := range ws {
			s.n++
			switch {
			case !right:
				s.x += w.Amt
				s.xSet = true
			case !w.VNull && (!s.xSet || int64(w.V) > s.x):
				s.x, s.xSet = int64(w.V), true
			}
		}
		out = append(out, s)
	}
	return out
}

func (s sideAgg) render() string {
	return joinVals(s.k.String(), itoa64(s.n), optI64(s.x, s.xSet))
}

// refJoinAggs is joinAggSQL's result: the left and right per-key
// aggregates joined on la.k = ra.k AND la.n > ra.n.
func refJoinAggs(a, b []wrow, how string) []string {
	const pad = "null|null|null"
	l, r := refSideAggs(a, false), refSideAggs(b, true)
	var out []string
	rMatched := make([]bool, len(r))
	for _, x := range l {
		hit := false
		for j, y := range r {
			if !x.k.null && !y.k.null && x.k.v == y.k.v && x.n > y.n {
				out = append(out, joinVals(x.render(), y.render()))
				hit, rMatched[j] = true, true
			}
		}
		if !hit && (how == "LEFT" || how == "FULL") {
			out = append(out, joinVals(x.render(), pad))
		}
	}
	if how == "RIGHT" || how == "FULL" {
		for j, y := range r {
			if !rMatched[j] {
				out = append(out, joinVals(pad, y.render()))
			}
		}
	}
	return out
}

// refIntervalJoin is intervalSQL's result: a and b rows with equal,
// non-NULL k and b.ts - 1000 <= a.ts <= b.ts + 500 (and, with residual,
// a.v <> b.v, which NULL fails), as INNER, LEFT, RIGHT or FULL. Rows
// render as a's k, u, ts then b's k, u, ts.
func refIntervalJoin(a, b []wrow, how string, residual bool) []string {
	side := func(w wrow) string { return joinVals(w.key().String(), itoa64(w.U), itoa64(w.Ts)) }
	const pad = "null|null|null"
	var out []string
	bMatched := make([]bool, len(b))
	for _, x := range a {
		hit := false
		for j, y := range b {
			if x.KNull || y.KNull || x.K != y.K || x.Ts < y.Ts-1000 || x.Ts > y.Ts+500 {
				continue
			}
			if residual && (x.VNull || y.VNull || x.V == y.V) {
				continue
			}
			out = append(out, joinVals(side(x), side(y)))
			hit, bMatched[j] = true, true
		}
		if !hit && (how == "LEFT" || how == "FULL") {
			out = append(out, joinVals(side(x), pad))
		}
	}
	if how == "RIGHT" || how == "FULL" {
		for j, y := range b {
			if !bMatched[j] {
				out = append(out, joinVals(pad, side(y)))
			}
		}
	}
	return out
}

// dimRow is a row of the lookup join's dimension table.
type dimRow struct {
	id     int64
	name   string
	weight int32
	wNull  bool
}

// refLookupJoin is lookupSQL's result: every row of a (k, u, amt) with
// every dim row whose id = k and weight > 2 (a NULL weight fails); with
// left, a row without such a dim row once, NULL-padded.
func refLookupJoin(a []wrow, dim []dimRow, left bool) []string {
	var out []string
	for _, w := range a {
		hit := false
		for _, d := range dim {
			if w.KNull || d.id != w.K || d.wNull || d.weight <= 2 {
				continue
			}
			out = append(out, joinVals(w.key().String(), itoa64(w.U), itoa64(w.Amt), d.name, strconv.Itoa(int(d.weight))))
			hit = true
		}
		if !hit && left {
			out = append(out, joinVals(w.key().String(), itoa64(w.U), itoa64(w.Amt), "null", "null"))
		}
	}
	return out
}

// version is one change of the versioned table of the temporal join: from
// ts on, id's rate is rate, or id has no row (deleted).
type version struct {
	id      int64
	rate    int32
	ts      int64
	deleted bool
	op      string
}

// refTemporalJoin is temporalSQL's result: each row of a with the version
// of its key valid at its time (the latest change with ts <= a.ts, if not
// a delete); with left, a row without one is kept NULL-padded. Rows render
// as a's k, u, ts, then the version's rate and time.
func refTemporalJoin(a []wrow, vs []version, left bool) []string {
	byID := map[int64][]version{}
	for _, v := range vs {
		byID[v.id] = append(byID[v.id], v)
	}
	for _, h := range byID {
		sort.SliceStable(h, func(i, j int) bool { return h[i].ts < h[j].ts })
	}
	var out []string
	for _, w := range a {
		var cur *version
		if !w.KNull {
			for i, v := range byID[w.K] {
				if v.ts <= w.Ts {
					cur = &byID[w.K][i]
				}
			}
		}
		lhs := joinVals(w.key().String(), itoa64(w.U), itoa64(w.Ts))
		switch {
		case cur != nil && !cur.deleted:
			out = append(out, joinVals(lhs, strconv.Itoa(int(cur.rate)), itoa64(cur.ts)))
		case left:
			out = append(out, joinVals(lhs, "null", "null"))
		}
	}
	return out
}

// TestTopNReferenceSanity checks refTopN's ranking functions on a
// hand-ranked partition, so a reference bug cannot hide an engine bug.
func TestTopNReferenceSanity(t *testing.T) {
	vals := []int{7, 9, 7, 5, 9, 3, 5}
	render := func(v int) []string { return []string{strconv.Itoa(v)} }
	desc := func(a, b int) int { return cmpInt(b, a) }
	one := func(int) string { return "" }
	for _, c := range []struct {
		fn   string
		n    int
		want []string
	}{
		{"row_number", 3, []string{"9|1", "9|2", "7|3"}},
		{"rank", 3, []string{"9|1", "9|1", "7|3", "7|3"}},
		{"rank", 4, []string{"9|1", "9|1", "7|3", "7|3"}},
		{"rank", 5, []string{"9|1", "9|1", "7|3", "7|3", "5|5", "5|5"}},
		{"dense_rank", 2, []string{"9|1", "9|1", "7|2", "7|2"}},
		{"dense_rank", 3, []string{"9|1", "9|1", "7|2", "7|2", "5|3", "5|3"}},
	} {
		if got := refTopN(vals, one, render, desc, c.fn, c.n, 1); !sameMultiset(got, c.want) {
			t.Errorf("%s <= %d: got %v, want %v", c.fn, c.n, got, c.want)
		}
	}
}
