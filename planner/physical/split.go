package physical

import (
	"strconv"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// Split distinct aggregation ('table.optimizer.distinct-agg.split.enabled'),
// as Flink rewrites it: a hot group's DISTINCT values are spread over
// buckets, MOD(HASH_CODE(x), buckets), so that no single subtask keeps the
// whole distinct set of a hot key.
//
//	inner group_agg BY keys, $bucket: the DISTINCT aggregates per bucket
//	  (a value falls in one bucket only, so per-bucket distinct results
//	  add up), and partial results of the other aggregates
//	outer group_agg BY keys, over the inner's updates: COUNT DISTINCT and
//	  COUNT by SUM, SUM by SUM, MIN by MIN, MAX by MAX, AVG as a SUM and a
//	  COUNT divided in a Calc above
//
// The outer aggregate retracts: MIN and MAX keep every inner value. A
// query is split when all its DISTINCT aggregates take one argument (Flink
// expands the input once per distinct argument; Eddy has no Expand yet)
// and every aggregate can be merged this way (COUNT, SUM, MIN, MAX, and
// AVG of BIGINT or DOUBLE); otherwise it is planned unsplit.

// splitArg returns the input column (of r) of the one argument every
// DISTINCT call of aggs takes, when the aggregate can be split.
func splitArg(aggs []jobgraph.AggCall, calls []callAt, r *rel) (int, bool) {
	arg, at := -1, -1
	for j, c := range aggs {
		if c.UDF != "" || len(c.Args) > 1 {
			return 0, false
		}
		switch c.Func {
		case jobgraph.CountStar, jobgraph.Count, jobgraph.Sum, jobgraph.Min, jobgraph.Max:
		case jobgraph.Avg:
			k := r.cols[c.Arg].Type.Kind
			if k != types.BigInt && k != types.Double {
				return 0, false
			}
		default:
			return 0, false
		}
		if !c.Distinct {
			continue
		}
		if c.Func == jobgraph.CountStar || c.Arg < 0 {
			return 0, false
		}
		switch r.cols[c.Arg].Type.Kind {
		case types.Boolean, types.Int, types.BigInt, types.Timestamp, types.Interval, types.Double, types.Decimal, types.String:
		default:
			return 0, false
		}
		if at >= 0 && calls[j].arg != at {
			return 0, false
		}
		arg, at = c.Arg, calls[j].arg
	}
	return arg, arg >= 0
}

// bucketOf is MOD(HASH_CODE(x), buckets): NULL for a NULL x, which
// DISTINCT aggregates skip anyway.
func (b *builder) bucketOf(x *expr.Expr) *expr.Expr {
	t := types.IntType
	t.NotNull = x.Type.NotNull
	n := types.IntType
	n.NotNull = true
	hash := expr.Call(expr.FuncHashCode, t, x)
	return expr.Call(expr.FuncMod, t, hash, expr.Lit(strconv.FormatInt(b.opts.buckets, 10), n))
}

// splitDistinct plans a group aggregate with DISTINCT calls in two levels
// (see above). keys and aggs are over pre's columns, bucket is pre's
// bucket column.
func (b *builder) splitDistinct(a *logical.Aggregate, pre *Node, keys []int, aggs []jobgraph.AggCall, bucket int) *rel {
	in := pre.Op.Output
	all := keys
	keys = unique(keys)
	count := types.BigIntType
	count.NotNull = true
	innerKeys := unique(append(append([]int(nil), keys...), bucket))
	var inner []jobgraph.AggCall
	first := make([]int, len(aggs)) // where each call's first partial is
	for j, c := range aggs {
		first[j] = len(keys) + len(inner)
		switch c.Func {
		case jobgraph.Avg:
			sum := c
			sum.Func, sum.Name, sum.Type = jobgraph.Sum, c.Name+"$sum", in.Fields[c.Arg].Type.Plain().Nullable()
			cnt := c
			cnt.Func, cnt.Name, cnt.Type = jobgraph.Count, c.Name+"$count", count
			inner = append(inner, sum, cnt)
		default:
			inner = append(inner, c)
		}
	}
	edge, par, _ := b.connect(pre, requirement{kind: DistHash, keys: innerKeys})
	innerNode := b.groupAggNode(a, pre, edge, par, innerKeys, inner, jobgraph.OnePhase)
	nk, nik := len(keys), len(innerKeys)
	gkeys := make([]int, nk)
	for i := range gkeys {
		gkeys[i] = i
	}
	var outer []jobgraph.AggCall
	for j, c := range inner {
		g := jobgraph.AggCall{Func: c.Func, Arg: nik + j, Type: c.Type, Name: c.Name}
		if c.Func == jobgraph.Count || c.Func == jobgraph.CountStar {
			g.Func = jobgraph.Sum
		}
		outer = append(outer, g)
	}
	req := requirement{kind: DistSingle}
	if nk > 0 {
		req = requirement{kind: DistHash, keys: gkeys}
	}
	edge, par, _ = b.connect(innerNode, req)
	g := b.groupAggNode(a, innerNode, edge, par, gkeys, outer, jobgraph.OnePhase)
	return mergedResult(a, g, keys, all, aggs, first)
}
