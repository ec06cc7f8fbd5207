package physical

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/internal/exprutil"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// The job options the planner reads.
const (
	// OptStateTTL bounds the state of updating operators.
	OptStateTTL = "table.exec.state.ttl"
	// OptAggPhase is Flink's aggregation phase strategy: TWO_PHASE splits
	// a group aggregate over append-only input into a local and a global
	// half.
	OptAggPhase = "table.optimizer.agg-phase-strategy"
	// OptSplitDistinct rewrites DISTINCT aggregates into two levels of
	// aggregation, the inner one grouped by a hash bucket of the argument.
	OptSplitDistinct = "table.optimizer.distinct-agg.split.enabled"
	// OptSplitBuckets is the number of buckets a split DISTINCT
	// aggregate spreads each group's distinct values over (1024 by
	// default).
	OptSplitBuckets = "table.optimizer.distinct-agg.split.bucket-num"
	// OptMiniBatch, OptMiniBatchLatency and OptMiniBatchSize make group
	// aggregates fold their input in mini-batches.
	OptMiniBatch        = "table.exec.mini-batch.enabled"
	OptMiniBatchLatency = "table.exec.mini-batch.allow-latency"
	OptMiniBatchSize    = "table.exec.mini-batch.size"
)

// defaultSplitBuckets is Flink's default 'table.optimizer.distinct-agg.split.bucket-num'.
const defaultSplitBuckets = 1024

// jobOptions are the SET options planning depends on.
type jobOptions struct {
	ttlMs    int64
	twoPhase bool
	// splitDistinct asks for DISTINCT aggregates in two levels, over
	// buckets hash buckets.
	splitDistinct bool
	buckets       int64
	// miniBatch is set by 'table.exec.mini-batch.enabled' = 'true'.
	miniBatch *jobgraph.MiniBatch
}

// OptionError is a SET option planning cannot use. planner.Compile
// positions it at the option's value in the script.
type OptionError struct {
	// Key and Value are the option as written.
	Key, Value string
	// Why says what is wrong and what is expected.
	Why string
}

// Error renders "planner: SET 'key' = 'value': why".
func (e *OptionError) Error() string {
	return fmt.Sprintf("planner: SET '%s' = '%s': %s", e.Key, e.Value, e.Why)
}

func optionError(k, v, why string) error { return &OptionError{Key: k, Value: v, Why: why} }

// readOptions reads the options planning depends on from a script's SET
// statements (keys are case-insensitive).
func readOptions(cfg map[string]string) (jobOptions, error) {
	o := jobOptions{buckets: defaultSplitBuckets}
	mini, miniOn := jobgraph.MiniBatch{Size: 10000, LatencyMs: 1000}, false
	for k, v := range cfg {
		switch strings.ToLower(strings.TrimSpace(k)) {
		case OptStateTTL:
			d, err := connectors.ParseDuration(v)
			if err != nil || d < 0 {
				return o, optionError(k, v, "not a duration (e.g. '1 h', '30 min', '90s')")
			}
			o.ttlMs = d.Milliseconds()
		case OptAggPhase:
			switch strings.ToUpper(strings.TrimSpace(v)) {
			case "TWO_PHASE":
				o.twoPhase = true
			case "ONE_PHASE", "AUTO":
			default:
				return o, optionError(k, v, "want 'AUTO', 'ONE_PHASE' or 'TWO_PHASE'")
			}
		case OptSplitDistinct:
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				o.splitDistinct = true
			case "false":
			default:
				return o, optionError(k, v, "want 'true' or 'false'")
			}
		case OptSplitBuckets:
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil || n < 1 {
				return o, optionError(k, v, "want a positive number of buckets (e.g. '1024')")
			}
			o.buckets = n
		case OptMiniBatch:
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				miniOn = true
			case "false":
			default:
				return o, optionError(k, v, "want 'true' or 'false'")
			}
		case OptMiniBatchLatency:
			d, err := connectors.ParseDuration(v)
			if err != nil || d <= 0 {
				return o, optionError(k, v, "want a positive duration (e.g. '1 s', '500ms')")
			}
			mini.LatencyMs = max(d.Milliseconds(), 1)
		case OptMiniBatchSize:
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				return o, optionError(k, v, "want a positive number of rows (e.g. '5000')")
			}
			mini.Size = n
		}
	}
	if miniOn {
		o.miniBatch = &mini
	}
	return o, nil
}

// ttl returns the state TTL of an operator whose hint gave hintMs (0: none):
// the hint, or the job's 'table.exec.state.ttl'.
func (b *builder) ttl(hintMs int64) jobgraph.StateTTL {
	if hintMs > 0 {
		return jobgraph.StateTTL{TTLMs: hintMs}
	}
	return jobgraph.StateTTL{TTLMs: b.opts.ttlMs}
}

// groupAgg plans a non-windowed Aggregate as a group_agg: its input hashed
// on the group keys (all rows in one subtask without keys), one
// accumulator row per group, updated results. With TWO_PHASE over an
// append-only input, a local pre-aggregation chained before the exchange
// feeds it.
func (b *builder) groupAgg(a *logical.Aggregate, r *rel, inNeed []bool) (*rel, error) {
	r, err := b.applyTVF(r, inNeed, a.At)
	if err != nil {
		return nil, err
	}
	pb := newProjBuilder()
	keyAt := make([]int, len(a.GroupKeys))
	for i, k := range a.GroupKeys {
		keyAt[i] = pb.add(r.cols[k], r.names[k])
	}
	calls := aggInputsAt(pb, r, a.Aggs)
	bucketAt := -1
	if b.opts.splitDistinct {
		if arg, ok := splitArg(a.Aggs, calls, r); ok {
			bucketAt = pb.add(b.bucketOf(r.cols[arg]), "$bucket")
		}
	}
	reqOf := func(from *Node, at []int) requirement {
		keys := make([]int, len(keyAt))
		for i, c := range keyAt {
			keys[i] = at[c]
		}
		keys = b.orderLike(from, unique(keys))
		if len(keys) == 0 {
			return requirement{kind: DistSingle}
		}
		return requirement{kind: DistHash, keys: keys}
	}
	pre, at := b.feed(r, pb.exprs, pb.names, a.At, reqOf, true)
	aggs := remapCalls(a.Aggs, calls, at)
	keys := make([]int, len(keyAt))
	for i, c := range keyAt {
		keys[i] = at[c]
	}
	if bucketAt >= 0 {
		return b.splitDistinct(a, pre, keys, aggs, at[bucketAt]), nil
	}
	if b.opts.twoPhase && !b.updating(pre) {
		if n, ok := b.twoPhase(a, pre, keys, aggs); ok {
			return n, nil
		}
	}
	req := reqOf(pre, at)
	edge, par, _ := b.connect(pre, req)
	groupKeys := req.keys
	if req.kind != DistHash {
		groupKeys = unique(keys)
	}
	node := b.groupAggNode(a, pre, edge, par, groupKeys, aggs, jobgraph.OnePhase)
	return b.aggResult(a, node, groupKeys, keys), nil
}

// callAt is where an aggregate call's inputs are in a projection.
type callAt struct {
	arg    int
	args   []int
	filter int
}

// aggInputsAt adds the inputs of calls (over r) to pb.
func aggInputsAt(pb *projBuilder, r *rel, aggs []jobgraph.AggCall) []callAt {
	calls := make([]callAt, len(aggs))
	for j, c := range aggs {
		calls[j] = callAt{arg: -1, filter: -1}
		if c.Arg >= 0 {
			calls[j].arg = pb.add(r.cols[c.Arg], r.names[c.Arg])
		}
		for _, x := range c.Args {
			calls[j].args = append(calls[j].args, pb.add(r.cols[x], r.names[x]))
		}
		if c.Filter != nil {
			calls[j].filter = pb.add(r.cols[*c.Filter], r.names[*c.Filter])
		}
	}
	return calls
}

// remapCalls returns aggs reading their inputs at at[calls[j]...].
func remapCalls(aggs []jobgraph.AggCall, calls []callAt, at []int) []jobgraph.AggCall {
	out := make([]jobgraph.AggCall, len(aggs))
	for j, c := range aggs {
		out[j] = c
		out[j].Arg = -1
		if calls[j].arg >= 0 {
			out[j].Arg = at[calls[j].arg]
		}
		out[j].Args = nil
		for _, x := range calls[j].args {
			out[j].Args = append(out[j].Args, at[x])
		}
		out[j].Filter = nil
		if calls[j].filter >= 0 {
			f := at[calls[j].filter]
			out[j].Filter = &f
		}
	}
	return out
}

// groupAggNode returns a group_agg over pre (through edge), grouping by
// groupKeys (pre's columns) and computing aggs: output the keys, then one
// column per call.
func (b *builder) groupAggNode(a *logical.Aggregate, pre *Node, edge *Input, par int, groupKeys []int, aggs []jobgraph.AggCall, phase jobgraph.AggPhase) *Node {
	fields := make([]types.Field, 0, len(groupKeys)+len(aggs))
	for _, c := range groupKeys {
		f := pre.Op.Output.Fields[c]
		f.Type = f.Type.Plain()
		fields = append(fields, f)
	}
	for _, c := range aggs {
		fields = append(fields, types.Field{Name: c.Name, Type: c.Type})
	}
	spec := &jobgraph.GroupAggSpec{GroupKeys: append([]int{}, groupKeys...), Aggs: aggs, Phase: phase}
	if phase == jobgraph.OnePhase {
		spec.StateTTL = b.ttl(a.StateTTLMs)
		spec.MiniBatch = b.opts.miniBatch
	}
	node := &Node{
		Op:          &jobgraph.OperatorSpec{Output: types.Schema{Fields: fields}, GroupAgg: spec},
		Inputs:      []*Input{edge},
		Parallelism: par,
		Cols:        make([]ColInfo, len(fields)),
		Pos:         a.At,
		Dist:        Distribution{Kind: DistSingle},
	}
	if phase == jobgraph.LocalPhase {
		node.name = "LocalGroupAggregate"
		node.Dist = pre.Dist
	} else if par > 1 {
		keys := make([]int, len(groupKeys))
		for i := range keys {
			keys[i] = i
		}
		node.Dist = Distribution{Kind: DistHash, Keys: keys}
	}
	return node
}

// aggResult maps the Aggregate's columns onto a group aggregate's output
// whose group keys are groupKeys (of its input), keys[i] being the input
// column of the Aggregate's group key i.
func (b *builder) aggResult(a *logical.Aggregate, node *Node, groupKeys, keys []int) *rel {
	out := a.Schema()
	posOf := map[int]int{}
	for i, c := range groupKeys {
		posOf[c] = i
	}
	fields := node.Op.Output.Fields
	res := &rel{in: node, cols: make([]*expr.Expr, out.Len()), names: make([]string, out.Len())}
	for i := range a.GroupKeys {
		res.names[i] = out.Fields[i].Name
		p := posOf[keys[i]]
		res.cols[i] = expr.Col(p, fields[p].Type)
	}
	nk := len(groupKeys)
	for j := range a.Aggs {
		i := len(a.GroupKeys) + j
		res.names[i] = out.Fields[i].Name
		res.cols[i] = expr.Col(nk+j, fields[nk+j].Type)
	}
	return res
}

// rankFunc maps a logical ranking function onto the engine's.
func rankFunc(f logical.RankFunc) jobgraph.RankFunc {
	switch f {
	case logical.Rank:
		return jobgraph.Rank
	case logical.DenseRank:
		return jobgraph.DenseRank
	}
	return jobgraph.RowNumber
}

// rank plans a Filter on a ranking function over a partition without
// window columns: a regular Top-N (rank), or a deduplication (dedup) when
// it keeps the first row of each partition by a time attribute alone,
// without selecting the row number, over append-only input. The input is
// hashed on the partition keys (all rows in one subtask without any).
func (b *builder) rank(o *logical.Over, r *rel, inNeed []bool, limit int64, emitRank bool, restCond *expr.Expr) (*rel, error) {
	width := o.Input.Schema().Len()
	rn := width
	isTime := len(o.OrderBy) == 1 && isTimeAttribute(r, o, o.OrderBy[0].Column)
	r, err := b.applyTVF(r, inNeed, o.At)
	if err != nil {
		return nil, err
	}
	idx := atLeastOne(indicesOf(inNeed), width)
	exprs := make([]*expr.Expr, len(idx))
	names := make([]string, len(idx))
	j := make([]int, width)
	for n, i := range idx {
		exprs[n], names[n], j[i] = r.cols[i], r.names[i], n
	}
	reqOf := func(from *Node, at []int) requirement {
		var cols []int
		for _, k := range o.PartitionBy {
			cols = append(cols, at[j[k]])
		}
		cols = b.orderLike(from, unique(cols))
		if len(cols) == 0 {
			return requirement{kind: DistSingle}
		}
		return requirement{kind: DistHash, keys: cols}
	}
	// The operator keeps rows in state: prune first.
	pre, atPre := b.feed(r, exprs, names, o.At, reqOf, false)
	at := make([]int, width)
	for _, i := range idx {
		at[i] = atPre[j[i]]
	}
	req := reqOf(pre, atPre)
	edge, par, dist := b.connect(pre, req)
	partKeys := req.keys
	if partKeys == nil {
		partKeys = []int{}
	}
	if par == 1 {
		dist = Distribution{Kind: DistSingle}
	}
	fields := append([]types.Field(nil), pre.Op.Output.Fields...)
	cols := make([]ColInfo, len(fields))
	op := &jobgraph.OperatorSpec{}
	name := ""
	dedup := o.Func == logical.RowNumber && limit == 1 && !emitRank && isTime && !b.updating(pre)
	if dedup {
		k := o.OrderBy[0]
		t := pre.Op.Output.Fields[at[k.Column]].Type
		spec := &jobgraph.DedupSpec{Keys: partKeys, KeepLast: k.Desc, TimeColumn: at[k.Column], StateTTL: b.ttl(0)}
		keep := "first"
		if k.Desc {
			keep = "last"
		}
		if t.ProcTime {
			spec.ProcTime, spec.TimeColumn = true, -1
			name = "Deduplicate: keep " + keep + " (processing time)"
		} else {
			name = "Deduplicate: keep " + keep
		}
		op.Dedup = spec
	} else {
		order := make([]jobgraph.SortKey, len(o.OrderBy))
		for i, k := range o.OrderBy {
			order[i] = k
			order[i].Column = at[k.Column]
		}
		if emitRank {
			t := types.BigIntType
			t.NotNull = true
			fields = append(fields, types.Field{Name: o.Name, Type: t})
			cols = append(cols, ColInfo{})
		}
		op.Rank = &jobgraph.RankSpec{Func: rankFunc(o.Func), PartitionKeys: partKeys, OrderBy: order, N: limit, EmitRank: emitRank, StateTTL: b.ttl(0)}
		name = fmt.Sprintf("Rank: %s <= %d", o.Func, limit)
	}
	op.Output = types.Schema{Fields: fields}
	node := &Node{name: name, Op: op, Inputs: []*Input{edge}, Parallelism: par, Dist: dist, Cols: cols, Pos: o.At}
	res := &rel{in: node, cols: make([]*expr.Expr, width+1), names: make([]string, width+1)}
	for i, f := range o.Schema().Fields {
		res.names[i] = f.Name
	}
	for _, i := range idx {
		res.cols[i] = expr.Col(at[i], fields[at[i]].Type)
	}
	if emitRank {
		res.cols[rn] = expr.Col(len(fields)-1, fields[len(fields)-1].Type)
	}
	if restCond != nil {
		res.filter = exprutil.Substitute(restCond, res.cols)
	}
	return res, nil
}

// splitsInTwo reports whether a call's partial results can be merged by a
// global aggregate: COUNT, SUM, MIN, MAX, and AVG of BIGINT or DOUBLE (as
// a SUM and a COUNT; INT sums would wrap and DECIMAL averages round, so
// those stay whole).
func splitsInTwo(c jobgraph.AggCall, in types.Schema) bool {
	if c.Distinct || c.UDF != "" || len(c.Args) > 1 {
		return false
	}
	switch c.Func {
	case jobgraph.CountStar, jobgraph.Count, jobgraph.Sum, jobgraph.Min, jobgraph.Max:
		return true
	case jobgraph.Avg:
		k := in.Fields[c.Arg].Type.Kind
		return k == types.BigInt || k == types.Double
	}
	return false
}

// twoPhase plans a group aggregate over append-only input in two phases:
// a LocalPhase group_agg chained after pre, folding rows into partial
// results, then, behind the exchange, a OnePhase group_agg merging them
// (COUNT by SUM, SUM by SUM, MIN by MIN, MAX by MAX, AVG as a SUM and a
// COUNT divided in a Calc above). keys and aggs are over pre's columns. It
// declines (false) when a call cannot be split.
func (b *builder) twoPhase(a *logical.Aggregate, pre *Node, keys []int, aggs []jobgraph.AggCall) (*rel, bool) {
	in := pre.Op.Output
	for _, c := range aggs {
		if !splitsInTwo(c, in) {
			return nil, false
		}
	}
	all := keys
	keys = unique(keys)
	count := types.BigIntType
	count.NotNull = true
	var local []jobgraph.AggCall
	first := make([]int, len(aggs)) // the local column of each call's first partial
	for j, c := range aggs {
		first[j] = len(keys) + len(local)
		switch c.Func {
		case jobgraph.Avg:
			sum := c
			sum.Func, sum.Name, sum.Type = jobgraph.Sum, c.Name+"$sum", in.Fields[c.Arg].Type.Plain().Nullable()
			cnt := c
			cnt.Func, cnt.Name, cnt.Type = jobgraph.Count, c.Name+"$count", count
			local = append(local, sum, cnt)
		default:
			local = append(local, c)
		}
	}
	localNode := b.groupAggNode(a, pre, &Input{From: pre, Exchange: jobgraph.Forward}, pre.Parallelism, keys, local, jobgraph.LocalPhase)
	nk := len(keys)
	gkeys := make([]int, nk)
	for i := range gkeys {
		gkeys[i] = i
	}
	var global []jobgraph.AggCall
	for j, c := range local {
		g := jobgraph.AggCall{Func: c.Func, Arg: nk + j, Type: c.Type, Name: c.Name}
		if c.Func == jobgraph.Count || c.Func == jobgraph.CountStar {
			g.Func = jobgraph.Sum
		}
		global = append(global, g)
	}
	req := requirement{kind: DistSingle}
	if nk > 0 {
		req = requirement{kind: DistHash, keys: gkeys}
	}
	edge, par, _ := b.connect(localNode, req)
	g := b.groupAggNode(a, localNode, edge, par, gkeys, global, jobgraph.OnePhase)
	return mergedResult(a, g, keys, all, aggs, first), true
}

// mergedResult maps the Aggregate's columns onto g, the upper level of a
// split aggregate, whose output is the distinct group keys (keys, of the
// level below; all[i] is the key column of the Aggregate's group key i)
// and then merged partial results: call j's first partial at first[j], an
// AVG's SUM followed by its COUNT, divided in a Calc above.
func mergedResult(a *logical.Aggregate, g *Node, keys, all []int, aggs []jobgraph.AggCall, first []int) *rel {
	count := types.BigIntType
	count.NotNull = true
	// The Aggregate's columns over the global aggregate's output.
	out := a.Schema()
	fields := g.Op.Output.Fields
	res := &rel{in: g, cols: make([]*expr.Expr, out.Len()), names: make([]string, out.Len())}
	posOf := map[int]int{}
	for i, c := range keys {
		posOf[c] = i
	}
	for i := range a.GroupKeys {
		res.names[i] = out.Fields[i].Name
		p := posOf[all[i]]
		res.cols[i] = expr.Col(p, fields[p].Type)
	}
	for j, c := range aggs {
		i := len(a.GroupKeys) + j
		res.names[i] = out.Fields[i].Name
		p := first[j]
		col := expr.Col(p, fields[p].Type)
		if c.Func != jobgraph.Avg {
			res.cols[i] = col
			continue
		}
		cnt := expr.Col(p+1, fields[p+1].Type)
		t := c.Type.Plain().Nullable()
		zero := expr.Lit("0", count)
		boolT := types.BooleanType
		boolT.NotNull = true
		div := expr.Call(expr.FuncDiv, t, expr.Call(expr.FuncCast, t, col), expr.Call(expr.FuncCast, t, cnt))
		null := &expr.Expr{Kind: expr.KindLiteral, Literal: &expr.Literal{Null: true}, Type: t}
		res.cols[i] = expr.Call(expr.FuncCase, t, expr.Call(expr.FuncEq, boolT, cnt, zero), null, div)
	}
	return res
}
