package e2e

import (
	"fmt"
	"sort"
	"strconv"
)

// Row-at-a-time references for windows_test.go, written from Flink's
// documented semantics: maps, sorting and loops over the generated rows, in
// the data's own order (which is arrival order at parallelism 1).

// span is a window [s, e).
type span struct{ s, e int64 }

// nk is a nullable key.
type nk struct {
	v    int64
	null bool
}

func (w wrow) key() nk {
	if w.KNull {
		return nk{null: true}
	}
	return nk{v: w.K}
}

func (k nk) String() string {
	if k.null {
		return "null"
	}
	return strconv.FormatInt(k.v, 10)
}

func (w wrow) vText() string {
	if w.VNull {
		return "null"
	}
	return strconv.Itoa(int(w.V))
}

// assign returns the windows of each row, in ascending start (then end)
// order.
func (wk winKind) assign(rows []wrow) [][]span {
	out := make([][]span, len(rows))
	switch wk.kind {
	case "tumble":
		for i, w := range rows {
			s := tumbleStartRef(w.Ts, wk.size, wk.offset)
			out[i] = []span{{s, s + wk.size}}
		}
	case "hop":
		// Every window [offset + j*slide, + size) that holds ts.
		for i, w := range rows {
			last := tumbleStartRef(w.Ts, wk.slide, wk.offset%wk.slide)
			for s := last - wk.size + wk.slide; s <= last; s += wk.slide {
				if s <= w.Ts && w.Ts < s+wk.size {
					out[i] = append(out[i], span{s, s + wk.size})
				}
			}
		}
	case "cumulate":
		// The period [p, p + max) holding ts, and each of its windows
		// [p, p + j*step) that holds ts.
		for i, w := range rows {
			p := tumbleStartRef(w.Ts, wk.size, wk.offset)
			for e := p + wk.slide; e <= p+wk.size; e += wk.slide {
				if w.Ts < e {
					out[i] = append(out[i], span{p, e})
				}
			}
		}
	case "session":
		// Per partition, windows [ts, ts + gap) that intersect or touch
		// merge (Flink's TimeWindow.intersects: start <= other end), so a
		// session is a maximal run of times, sorted, no two consecutive
		// ones more than gap apart: [first, last + gap).
		parts := map[nk][]int{}
		for i, w := range rows {
			var p nk
			if wk.partitioned {
				p = w.key()
			}
			parts[p] = append(parts[p], i)
		}
		for _, idx := range parts {
			sort.Slice(idx, func(x, y int) bool { return rows[idx[x]].Ts < rows[idx[y]].Ts })
			for lo := 0; lo < len(idx); {
				hi := lo + 1
				for hi < len(idx) && rows[idx[hi]].Ts <= rows[idx[hi-1]].Ts+wk.size {
					hi++
				}
				sp := span{rows[idx[lo]].Ts, rows[idx[hi-1]].Ts + wk.size}
				for _, i := range idx[lo:hi] {
					out[i] = []span{sp}
				}
				lo = hi
			}
		}
	default:
		panic("unknown window kind " + wk.kind)
	}
	return out
}

// wgroup is a window and a key.
type wgroup struct {
	sp span
	k  nk
}

// groupRows puts the indexes of rows, in data order, into their (window,
// key) groups.
func groupRows(rows []wrow, spans [][]span) map[wgroup][]int {
	g := map[wgroup][]int{}
	for i, w := range rows {
		for _, sp := range spans[i] {
			k := wgroup{sp, w.key()}
			g[k] = append(g[k], i)
		}
	}
	return g
}

// refWinAgg is the reference for aggSQL: Flink's aggregate semantics
// (NULLs ignored; an aggregate over no non-NULL value is NULL, COUNT is 0;
// AVG of INT is the truncated INT quotient; FILTER drops rows before the
// aggregate). FIRST_VALUE/LAST_VALUE(k + v * 0) are the group's key if any
// of its rows has a value, whatever the arrival order; with ordered, it adds
// FIRST_VALUE(u) and LAST_VALUE(v) in data order.
func refWinAgg(rows []wrow, spans [][]span, ordered bool) []string {
	var out []string
	for g, idx := range groupRows(rows, spans) {
		var n, nv, total, hi, bigN, vsum int64
		var lo int32
		var bigTotal int64
		bigAny, anyV := false, false
		users, vals := map[int64]bool{}, map[int32]bool{}
		fu, lv := "null", "null"
		for j, i := range idx {
			w := rows[i]
			n++
			total += w.Amt
			if j == 0 || w.Amt > hi {
				hi = w.Amt
			}
			users[w.U] = true
			if j == 0 {
				fu = strconv.FormatInt(w.U, 10)
			}
			if !w.VNull {
				if !anyV || w.V < lo {
					lo = w.V
				}
				anyV = true
				nv++
				vsum += int64(w.V)
				vals[w.V] = true
				lv = w.vText()
				if w.V > 2 {
					bigTotal += w.Amt
					bigAny = true
				}
			}
			if w.Amt >= 150 {
				bigN++
			}
		}
		loText, avgText, bigText, fk := "null", "null", "null", "null"
		if anyV {
			loText = strconv.Itoa(int(lo))
			avgText = strconv.FormatInt(vsum/nv, 10) // Go, like Java, truncates towards zero
			if !g.k.null {
				fk = g.k.String()
			}
		}
		if bigAny {
			bigText = strconv.FormatInt(bigTotal, 10)
		}
		row := fmt.Sprintf("+I|%d|%d|%s|%d|%d|%d|%s|%d|%s|%d|%d|%s|%d|%s|%s",
			g.sp.s, g.sp.e, g.k, n, nv, total, loText, hi, avgText, len(users), len(vals), bigText, bigN, fk, fk)
		if ordered {
			row += "|" + fu + "|" + lv
		}
		out = append(out, row)
	}
	return out
}

// refWinTopN is the reference for topNSQL: per window and key, the first n
// rows by amt DESC, v ASC NULLS LAST, ts ASC (a total order: times are
// distinct), numbered from 1.
func refWinTopN(rows []wrow, spans [][]span, n int) []string {
	var out []string
	for g, idx := range groupRows(rows, spans) {
		sort.Slice(idx, func(x, y int) bool {
			a, b := rows[idx[x]], rows[idx[y]]
			switch {
			case a.Amt != b.Amt:
				return a.Amt > b.Amt
			case a.VNull != b.VNull:
				return b.VNull // NULLS LAST
			case !a.VNull && a.V != b.V:
				return a.V < b.V
			}
			return a.Ts < b.Ts
		})
		for j := 0; j < len(idx) && j < n; j++ {
			w := rows[idx[j]]
			out = append(out, fmt.Sprintf("+I|%d|%d|%s|%d|%s|%d|%d|%d", g.sp.s, g.sp.e, g.k, w.U, w.vText(), w.Amt, w.Ts, j+1))
		}
	}
	return out
}

// refWinDedup is the reference for dedupSQL: per window and key, the row
// with the smallest (or, desc, the largest) time.
func refWinDedup(rows []wrow, spans [][]span, desc bool) []string {
	var out []string
	for g, idx := range groupRows(rows, spans) {
		best := idx[0]
		for _, i := range idx[1:] {
			if (rows[i].Ts < rows[best].Ts) != desc {
				best = i
			}
		}
		w := rows[best]
		out = append(out, fmt.Sprintf("+I|%d|%d|%s|%d|%s|%d|%d", g.sp.s, g.sp.e, g.k, w.U, w.vText(), w.Amt, w.Ts))
	}
	return out
}

// refWinJoin is the reference for joinSQL: each left row in each of its
// windows pairs with every right row of the same window (windows assigned
// on the right's own, unfiltered rows, then filtered on MOD(u, 8) = 0) and
// an equal, non-NULL key; with left, a left row with no partner there is
// kept once with NULLs.
func refWinJoin(wk winKind, a, b []wrow, left bool) []string {
	spansB := wk.assign(b)
	right := map[wgroup][]int{}
	for i, w := range b {
		if w.U%joinRightMod != 0 || w.KNull {
			continue
		}
		for _, sp := range spansB[i] {
			k := wgroup{sp, w.key()}
			right[k] = append(right[k], i)
		}
	}
	spansA := wk.assign(a)
	var out []string
	for i, w := range a {
		for _, sp := range spansA[i] {
			partners := right[wgroup{sp, w.key()}]
			if w.KNull {
				partners = nil
			}
			for _, j := range partners {
				out = append(out, fmt.Sprintf("+I|%d|%d|%s|%d|%d|%d|%d", sp.s, sp.e, w.key(), w.U, w.Ts, b[j].U, b[j].Ts))
			}
			if left && len(partners) == 0 {
				out = append(out, fmt.Sprintf("+I|%d|%d|%s|%d|%d|null|null", sp.s, sp.e, w.key(), w.U, w.Ts))
			}
		}
	}
	return out
}

// refPlainWin is the reference for plainSQL: a row per row and window (for
// SESSION, windows of the unfiltered rows), filtered on amt >= minAmt, with
// window_time = window_end - 1.
func refPlainWin(rows []wrow, spans [][]span, minAmt int64) []string {
	var out []string
	for i, w := range rows {
		if w.Amt < minAmt {
			continue
		}
		for _, sp := range spans[i] {
			out = append(out, fmt.Sprintf("+I|%s|%d|%d|%d|%d|%d|%d", w.key(), w.U, w.Amt, w.Ts, sp.s, sp.e, sp.e-1))
		}
	}
	return out
}

// refUnionAgg is the reference for unionSQL: a window aggregate over the
// left rows and the right rows with amt > 20, together (sessions span
// both).
func refUnionAgg(wk winKind, a, b []wrow) []string {
	rows := append([]wrow(nil), a...)
	for _, w := range b {
		if w.Amt > 20 {
			rows = append(rows, w)
		}
	}
	var out []string
	for g, idx := range groupRows(rows, wk.assign(rows)) {
		var total int64
		hi, anyV := int32(0), false
		users := map[int64]bool{}
		for _, i := range idx {
			w := rows[i]
			total += w.Amt
			users[w.U] = true
			if !w.VNull && (!anyV || w.V > hi) {
				hi, anyV = w.V, true
			}
		}
		hiText := "null"
		if anyV {
			hiText = strconv.Itoa(int(hi))
		}
		out = append(out, fmt.Sprintf("+I|%d|%d|%s|%d|%d|%s|%d", g.sp.s, g.sp.e, g.k, len(idx), total, hiText, len(users)))
	}
	return out
}
