package refeval

import (
	"fmt"
	"sort"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
)

// span is one window [start, end).
type span struct{ start, end int64 }

// windowsOf returns the windows of a TUMBLE, HOP or CUMULATE that hold
// time ts, in order of their end.
func windowsOf(ts int64, w jobgraph.WindowSpec) ([]span, error) {
	mod := func(a, m int64) int64 { return ((a % m) + m) % m }
	switch w.Kind {
	case jobgraph.Tumble:
		ws := windowStart(ts, w)
		return []span{{ws, ws + w.SizeMs}}, nil
	case jobgraph.Hop:
		if w.SlideMs <= 0 || w.SizeMs <= 0 {
			return nil, fmt.Errorf("refeval: HOP slide %d, size %d", w.SlideMs, w.SizeMs)
		}
		last := ts - mod(ts-w.OffsetMs, w.SlideMs) // the latest start <= ts
		var out []span
		for s := last; s > ts-w.SizeMs; s -= w.SlideMs {
			out = append(out, span{s, s + w.SizeMs})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].end < out[j].end })
		return out, nil
	case jobgraph.Cumulate:
		if w.SlideMs <= 0 || w.SizeMs <= 0 {
			return nil, fmt.Errorf("refeval: CUMULATE step %d, max size %d", w.SlideMs, w.SizeMs)
		}
		base := ts - mod(ts-w.OffsetMs, w.SizeMs)
		var out []span
		for e := base + w.SlideMs; e <= base+w.SizeMs; e += w.SlideMs {
			if e > ts {
				out = append(out, span{base, e})
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("refeval: %s windows are not assigned per row", w.Kind)
}

// sessions returns each row's SESSION window (nil for a row without a
// time): per partition (the values of columns part), rows whose windows
// [ts, ts + gap) intersect or touch (Flink's TimeWindow.intersects) belong
// to one session [first ts, last ts + gap).
func sessions(rows []Row, timeCol int, part []int, gap int64) ([]*span, error) {
	if gap <= 0 {
		return nil, fmt.Errorf("refeval: SESSION gap %d", gap)
	}
	out := make([]*span, len(rows))
	byPart := map[string][]int{}
	var order []string
	for i, r := range rows {
		if _, ok := r[timeCol].(int64); !ok {
			continue
		}
		vals := make([]any, len(part))
		for j, c := range part {
			vals[j] = r[c]
		}
		k := Key(vals...)
		if _, ok := byPart[k]; !ok {
			order = append(order, k)
		}
		byPart[k] = append(byPart[k], i)
	}
	for _, k := range order {
		idx := byPart[k]
		sort.SliceStable(idx, func(a, b int) bool { return rows[idx[a]][timeCol].(int64) < rows[idx[b]][timeCol].(int64) })
		for lo := 0; lo < len(idx); {
			hi := lo + 1
			end := rows[idx[lo]][timeCol].(int64) + gap
			for hi < len(idx) && rows[idx[hi]][timeCol].(int64) <= end {
				end = max(end, rows[idx[hi]][timeCol].(int64)+gap)
				hi++
			}
			s := &span{rows[idx[lo]][timeCol].(int64), end}
			for _, i := range idx[lo:hi] {
				out[i] = s
			}
			lo = hi
		}
	}
	return out, nil
}

// assignWindows returns, per row, the windows it belongs to under w
// (SESSION per the partition columns part).
func assignWindows(rows []Row, w jobgraph.WindowSpec, part []int) ([][]span, error) {
	out := make([][]span, len(rows))
	if w.Kind == jobgraph.Session {
		ss, err := sessions(rows, w.TimeColumn, part, w.SizeMs)
		if err != nil {
			return nil, err
		}
		for i, s := range ss {
			if s != nil {
				out[i] = []span{*s}
			}
		}
		return out, nil
	}
	for i, r := range rows {
		ts, ok := r[w.TimeColumn].(int64)
		if !ok {
			continue // no event time, no window
		}
		ws, err := windowsOf(ts, w)
		if err != nil {
			return nil, err
		}
		out[i] = ws
	}
	return out, nil
}

// windowed returns every row followed by window_start, window_end and
// window_time, once per window it belongs to.
func windowed(rows []Row, w jobgraph.WindowSpec, part []int) ([]Row, error) {
	wins, err := assignWindows(rows, w, part)
	if err != nil {
		return nil, err
	}
	var out []Row
	for i, r := range rows {
		for _, s := range wins[i] {
			out = append(out, append(append(Row(nil), r...), s.start, s.end, s.end-1))
		}
	}
	return out, nil
}

// joinRows joins left and right rows of a join of type t: match says
// whether a pair (left row ++ right row) matches. Unmatched rows of an
// outer join's preserved side get NULLs; SEMI and ANTI keep left rows.
func joinRows(left, right []Row, nl, nr int, t jobgraph.JoinType, match func(Row) (bool, error)) ([]Row, error) {
	var out []Row
	rightHit := make([]bool, len(right))
	for _, l := range left {
		hit := false
		for j, r := range right {
			row := append(append(Row(nil), l...), r...)
			ok, err := match(row)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			hit, rightHit[j] = true, true
			if t != jobgraph.SemiJoin && t != jobgraph.AntiJoin {
				out = append(out, row)
			}
		}
		switch {
		case t == jobgraph.SemiJoin && hit, t == jobgraph.AntiJoin && !hit:
			out = append(out, append(Row(nil), l...))
		case !hit && (t == jobgraph.LeftJoin || t == jobgraph.FullJoin):
			out = append(out, append(append(Row(nil), l...), make(Row, nr)...))
		}
	}
	if t == jobgraph.RightJoin || t == jobgraph.FullJoin {
		for j, r := range right {
			if !rightHit[j] {
				out = append(out, append(make(Row, nl), r...))
			}
		}
	}
	return out, nil
}
