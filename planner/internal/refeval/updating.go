package refeval

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
)

// The updating operators are evaluated by their final state: the rows a
// sink holds once every change is applied, which is what the logical
// plan's meaning is over bounded input.

// groupAgg is a group_agg's final state: one row per group. A LocalPhase
// aggregate's partials may be split any way; one partial per group is one
// of the ways.
func groupAgg(s *jobgraph.GroupAggSpec, in []Row) ([]Row, error) {
	keys, groups := group(in, func(r Row) string {
		vals := make([]any, len(s.GroupKeys))
		for i, k := range s.GroupKeys {
			vals[i] = r[k]
		}
		return Key(vals...)
	})
	var out []Row
	for _, k := range keys {
		g := groups[k]
		row := make(Row, 0, len(s.GroupKeys)+len(s.Aggs))
		for _, c := range s.GroupKeys {
			row = append(row, g[0][c])
		}
		for _, a := range s.Aggs {
			v, err := aggregate(a, g)
			if err != nil {
				return nil, err
			}
			row = append(row, v)
		}
		out = append(out, row)
	}
	return out, nil
}

// rank is a Top-N's final state: every row ranked N or better.
func rank(s *jobgraph.RankSpec, in []Row) ([]Row, error) {
	numbered, err := rankNumbers(in, s.PartitionKeys, s.OrderBy, string(s.Func))
	if err != nil {
		return nil, err
	}
	var out []Row
	for _, r := range numbered {
		if r[len(r)-1].(int64) <= s.N {
			if !s.EmitRank {
				r = r[:len(r)-1]
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// dedup is a deduplication's final state on event time.
func dedup(s *jobgraph.DedupSpec, in []Row) ([]Row, error) {
	if s.ProcTime {
		return nil, fmt.Errorf("refeval: processing time")
	}
	return rank(&jobgraph.RankSpec{Func: jobgraph.RowNumber, PartitionKeys: s.Keys,
		OrderBy: []jobgraph.SortKey{{Column: s.TimeColumn, Desc: s.KeepLast, NullsFirst: !s.KeepLast}}, N: 1}, in)
}

// keyedJoin joins on key equality (NULL never matches), an optional time
// bound between two time columns and a residual.
func keyedJoin(t jobgraph.JoinType, lk, rk []int, residual *expr.Expr, bound func(Row, int) (bool, error), left, right []Row, op *jobgraph.OperatorSpec) ([]Row, error) {
	nl, nr := 0, 0
	if len(left) > 0 {
		nl = len(left[0])
	}
	if len(right) > 0 {
		nr = len(right[0])
	}
	switch {
	case t == jobgraph.SemiJoin || t == jobgraph.AntiJoin:
		nl = op.Output.Len()
		if nr == 0 {
			nr = 1
		}
	case nl == 0:
		nl = op.Output.Len() - nr
	case nr == 0:
		nr = op.Output.Len() - nl
	}
	match := func(row Row) (bool, error) {
		for i := range lk {
			a, b := row[lk[i]], row[nl+rk[i]]
			if a == nil || b == nil {
				return false, nil
			}
			c, err := Compare(a, b)
			if err != nil || c != 0 {
				return false, err
			}
		}
		if bound != nil {
			if ok, err := bound(row, nl); err != nil || !ok {
				return false, err
			}
		}
		if residual == nil {
			return true, nil
		}
		v, err := Eval(residual, row)
		return v == true, err
	}
	return joinRows(left, right, nl, nr, t, match)
}

// join is a regular join's final state.
func join(s *jobgraph.JoinSpec, left, right []Row, op *jobgraph.OperatorSpec) ([]Row, error) {
	return keyedJoin(s.Type, s.LeftKeys, s.RightKeys, s.Residual, nil, left, right, op)
}

// intervalJoin is an interval join's result.
func intervalJoin(s *jobgraph.IntervalJoinSpec, left, right []Row, op *jobgraph.OperatorSpec) ([]Row, error) {
	bound := func(row Row, nl int) (bool, error) {
		l, ok1 := row[s.LeftTime].(int64)
		r, ok2 := row[nl+s.RightTime].(int64)
		if row[s.LeftTime] == nil || row[nl+s.RightTime] == nil {
			return false, nil
		}
		if !ok1 || !ok2 {
			return false, fmt.Errorf("refeval: interval join times %T and %T", row[s.LeftTime], row[nl+s.RightTime])
		}
		d := l - r
		return s.LowerMs <= d && d <= s.UpperMs, nil
	}
	return keyedJoin(s.Type, s.LeftKeys, s.RightKeys, s.Residual, bound, left, right, op)
}
