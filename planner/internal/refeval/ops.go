package refeval

import (
	"fmt"
	"sort"
	"strings"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
)

// filter keeps the rows for which cond is TRUE.
func filter(rows []Row, cond *expr.Expr) ([]Row, error) {
	if cond == nil {
		return rows, nil
	}
	var out []Row
	for _, r := range rows {
		v, err := Eval(cond, r)
		if err != nil {
			return nil, err
		}
		if v == true {
			out = append(out, r)
		}
	}
	return out, nil
}

func project(rows []Row, exprs []*expr.Expr) ([]Row, error) {
	out := make([]Row, len(rows))
	for i, r := range rows {
		o := make(Row, len(exprs))
		for j, e := range exprs {
			v, err := Eval(e, r)
			if err != nil {
				return nil, err
			}
			o[j] = v
		}
		out[i] = o
	}
	return out, nil
}

// windowStart is the start of the tumbling window holding ts.
func windowStart(ts int64, w jobgraph.WindowSpec) int64 {
	m := ((ts-w.OffsetMs)%w.SizeMs + w.SizeMs) % w.SizeMs
	return ts - m
}

// aggregate computes one aggregate over the rows of a group, in their
// order: only the rows whose FILTER column is TRUE, and with DISTINCT each
// distinct non-NULL value once.
func aggregate(a jobgraph.AggCall, rows []Row) (any, error) {
	if a.Filter != nil {
		var kept []Row
		for _, r := range rows {
			if r[*a.Filter] == true {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	if a.Func == jobgraph.UDAF {
		return nil, fmt.Errorf("refeval: user-defined aggregate %s", a.UDF)
	}
	if a.Func == jobgraph.CountStar {
		return int64(len(rows)), nil
	}
	var vals []any
	seen := map[string]bool{}
	for _, r := range rows {
		v := r[a.Arg]
		if v == nil {
			continue
		}
		if a.Distinct || a.Func == jobgraph.ApproxCountDistinct {
			k := Key(v)
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		vals = append(vals, v)
	}
	switch a.Func {
	case jobgraph.Count, jobgraph.ApproxCountDistinct:
		// APPROX_COUNT_DISTINCT is estimated by the engine; a plan is
		// checked against the exact count, which both sides compute.
		return int64(len(vals)), nil
	}
	if len(vals) == 0 {
		return nil, nil
	}
	switch a.Func {
	case jobgraph.FirstValue:
		return vals[0], nil
	case jobgraph.LastValue:
		return vals[len(vals)-1], nil
	case jobgraph.Min, jobgraph.Max:
		best := vals[0]
		for _, v := range vals[1:] {
			c, err := Compare(v, best)
			if err != nil {
				return nil, err
			}
			if (a.Func == jobgraph.Min && c < 0) || (a.Func == jobgraph.Max && c > 0) {
				best = v
			}
		}
		return best, nil
	case jobgraph.Sum, jobgraph.Avg:
		var si int64
		var sf float64
		isFloat := false
		for _, v := range vals {
			switch x := v.(type) {
			case int64:
				si += x
				sf += float64(x)
			case float64:
				sf += x
				isFloat = true
			default:
				return nil, fmt.Errorf("refeval: %s of %v", a.Func, v)
			}
		}
		if isFloat {
			if a.Func == jobgraph.Avg {
				return sf / float64(len(vals)), nil
			}
			return sf, nil
		}
		if a.Func == jobgraph.Avg {
			return wrap(si/int64(len(vals)), a.Type), nil
		}
		return wrap(si, a.Type), nil
	}
	return nil, fmt.Errorf("refeval: aggregate %s", a.Func)
}

// group splits rows by key (in first-seen order).
func group(rows []Row, key func(Row) string) ([]string, map[string][]Row) {
	groups := map[string][]Row{}
	var order []string
	for _, r := range rows {
		k := key(r)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	return order, groups
}

// sortRows orders rows by keys: NULLs placed as each key says, ties kept in
// input order.
func sortRows(rows []Row, keys []jobgraph.SortKey) error {
	var err error
	sort.SliceStable(rows, func(i, j int) bool {
		for _, k := range keys {
			a, b := rows[i][k.Column], rows[j][k.Column]
			switch {
			case a == nil && b == nil:
				continue
			case a == nil:
				return k.NullsFirst
			case b == nil:
				return !k.NullsFirst
			}
			c, e := Compare(a, b)
			if e != nil {
				err = e
				return false
			}
			if c != 0 {
				return (c < 0) != k.Desc
			}
		}
		return false
	})
	return err
}

// rowNumbers ranks each partition of rows (by partition columns) in order
// and returns the rows with their row number appended.
func rowNumbers(rows []Row, partition []int, order []jobgraph.SortKey) ([]Row, error) {
	keys, groups := group(rows, func(r Row) string {
		vals := make([]any, len(partition))
		for i, c := range partition {
			vals[i] = r[c]
		}
		return Key(vals...)
	})
	var out []Row
	for _, k := range keys {
		g := groups[k]
		if err := sortRows(g, order); err != nil {
			return nil, err
		}
		for i, r := range g {
			out = append(out, append(append(Row(nil), r...), int64(i+1)))
		}
	}
	return out, nil
}

// rankNumbers is rowNumbers for any ranking function: ROW_NUMBER numbers
// rows (ties in input order), RANK gives tied rows (equal on every ORDER
// BY column, NULLs equal) the number of the first of them, DENSE_RANK
// counts the distinct orderings before a row, plus one.
func rankNumbers(rows []Row, partition []int, order []jobgraph.SortKey, fn string) ([]Row, error) {
	fn = strings.ToUpper(fn)
	numbered, err := rowNumbers(rows, partition, order)
	if err != nil || fn == "ROW_NUMBER" || len(numbered) == 0 {
		return numbered, err
	}
	if fn != "RANK" && fn != "DENSE_RANK" {
		return nil, fmt.Errorf("refeval: ranking function %s", fn)
	}
	tied := func(a, b Row) (bool, error) {
		for _, k := range order {
			x, y := a[k.Column], b[k.Column]
			if x == nil || y == nil {
				if (x == nil) != (y == nil) {
					return false, nil
				}
				continue
			}
			c, err := Compare(x, y)
			if err != nil || c != 0 {
				return false, err
			}
		}
		return true, nil
	}
	last := len(numbered[0]) - 1
	var prev Row
	rank, dense := int64(0), int64(0)
	for _, r := range numbered {
		rn := r[last].(int64)
		if rn == 1 {
			prev, rank, dense = nil, 0, 0
		}
		same := false
		if prev != nil {
			if same, err = tied(prev, r); err != nil {
				return nil, err
			}
		}
		if !same {
			rank, dense = rn, dense+1
		}
		prev = r
		if fn == "RANK" {
			r[last] = rank
		} else {
			r[last] = dense
		}
	}
	return numbered, nil
}
