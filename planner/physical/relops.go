package physical

import (
	"fmt"
	"strings"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/planner/explain"
	"github.com/eddy-streaming/eddy/planner/internal/exprutil"
	"github.com/eddy-streaming/eddy/planner/internal/planerr"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// sameWindows reports whether a and b assign the same windows (their time
// columns and partition keys aside).
func sameWindows(a, b jobgraph.WindowSpec) bool {
	return a.Kind == b.Kind && a.SizeMs == b.SizeMs && a.SlideMs == b.SlideMs && a.OffsetMs == b.OffsetMs && a.ProcTime == b.ProcTime
}

// atLeastOne returns idx, or the first of width columns when idx is empty:
// an operator's rows keep at least one column, so they can be counted.
func atLeastOne(idx []int, width int) []int {
	if len(idx) == 0 && width > 0 {
		return []int{0}
	}
	return idx
}

// union plans UNION ALL: every input computes the needed columns in the
// same order, and a union operator, the first of its vertex, takes them
// all. Inputs of the union's parallelism are forwarded; a parallelism-1
// input feeding a parallel union is rebalanced. The rows keep a hash
// distribution all inputs share, and window columns all inputs agree on.
func (b *builder) union(u *logical.Union, need []bool) (*rel, error) {
	if len(u.InputsNodes) == 1 {
		return b.build(u.InputsNodes[0], need)
	}
	schema := u.Schema()
	width := schema.Len()
	if need == nil {
		need = all(width)
	}
	idx := atLeastOne(indicesOf(need[:min(len(need), width)]), width)
	inNeed := make([]bool, width)
	for _, i := range idx {
		inNeed[i] = true
	}
	nodes := make([]*Node, len(u.InputsNodes))
	refs := make([][]winRef, len(u.InputsNodes))
	par := 1
	for k, in := range u.InputsNodes {
		r, err := b.build(in, inNeed)
		if err != nil {
			return nil, err
		}
		refs[k] = make([]winRef, len(idx))
		for n, i := range idx {
			refs[k][n] = winOf(r, i)
		}
		if nodes[k], err = b.materialize(r, idx, u.At); err != nil {
			return nil, err
		}
		if nodes[k].Parallelism > 1 {
			par = b.p
		}
	}
	fields := make([]types.Field, len(idx))
	for n, i := range idx {
		t := nodes[0].Op.Output.Fields[n].Type
		rowtime := true
		for k, node := range nodes {
			f := node.Op.Output.Fields[n].Type
			if !f.SameValues(t) {
				return nil, fmt.Errorf("planner: internal error: UNION input %d column %d is %s, input 0's is %s", k, n, f, t)
			}
			t.NotNull = t.NotNull && f.NotNull
			rowtime = rowtime && f.RowTime
		}
		t = t.Plain()
		t.RowTime = rowtime
		fields[n] = types.Field{Name: schema.Fields[i].Name, Type: t}
	}
	node := &Node{
		Op: &jobgraph.OperatorSpec{
			Output: types.Schema{Fields: fields},
			Union:  &jobgraph.UnionSpec{Inputs: len(nodes)},
		},
		Parallelism: par,
		Cols:        make([]ColInfo, len(idx)),
		Pos:         u.At,
	}
	forward := true
	for _, in := range nodes {
		ex := jobgraph.Forward
		if in.Parallelism != par {
			ex, forward = jobgraph.Rebalance, false
		}
		node.Inputs = append(node.Inputs, &Input{From: in, Exchange: ex})
	}
	node.Dist = Distribution{Kind: DistAny}
	switch d := nodes[0].Dist; {
	case par == 1:
		node.Dist = Distribution{Kind: DistSingle}
	case forward && d.Kind == DistHash:
		same := true
		for _, in := range nodes[1:] {
			same = same && in.Dist.Kind == DistHash && equalInts(in.Dist.Keys, d.Keys)
		}
		if same {
			node.Dist = Distribution{Kind: DistHash, Keys: append([]int(nil), d.Keys...)}
		}
	}
	// Window columns every input agrees on stay window columns.
	starts, ends := []int{}, []int{}
	var spec jobgraph.WindowSpec
	for n := range idx {
		w := refs[0][n]
		agree := w.role != RoleNone
		for k := range nodes {
			o := refs[k][n]
			agree = agree && o.role == w.role && sameWindows(o.spec, w.spec)
		}
		if agree {
			spec = w.spec
			if w.role == RoleStart {
				starts = append(starts, n)
			} else {
				ends = append(ends, n)
			}
		}
	}
	if len(starts) == 1 && len(ends) == 1 {
		node.Cols[starts[0]] = ColInfo{Role: RoleStart, Window: node}
		node.Cols[ends[0]] = ColInfo{Role: RoleEnd, Window: node}
		node.window = &spec
	}
	out := &rel{in: node, cols: make([]*expr.Expr, width), names: make([]string, width)}
	for i, f := range schema.Fields {
		out.names[i] = f.Name
	}
	for n, i := range idx {
		out.cols[i] = expr.Col(n, fields[n].Type)
	}
	return out, nil
}

// correlate plans LATERAL TABLE(f(args)): a correlate operator over the
// needed input columns, forwarded, whose function columns follow them.
func (b *builder) correlate(c *logical.Correlate, need []bool) (*rel, error) {
	width := c.Input.Schema().Len()
	total := width + len(c.Columns)
	if need == nil {
		need = all(total)
	}
	inNeed := make([]bool, width)
	copy(inNeed, need[:min(len(need), width)])
	for _, a := range c.Args {
		exprutil.AddRefs(inNeed, a)
	}
	r, err := b.build(c.Input, inNeed)
	if err != nil {
		return nil, err
	}
	if r, err = b.applyTVF(r, inNeed, c.At); err != nil {
		return nil, err
	}
	idx := atLeastOne(indicesOf(inNeed), width)
	exprs := make([]*expr.Expr, len(idx))
	names := make([]string, len(idx))
	for n, i := range idx {
		exprs[n], names[n] = r.cols[i], r.names[i]
	}
	// The function multiplies rows: prune first.
	pre, at := b.feed(r, exprs, names, c.At, func(*Node, []int) requirement { return requirement{kind: DistAny} }, false)
	in := pre.Op.Output
	cols := make([]*expr.Expr, width)
	for n, i := range idx {
		cols[i] = expr.Col(at[n], in.Fields[at[n]].Type)
	}
	args := make([]*expr.Expr, len(c.Args))
	for i, a := range c.Args {
		args[i] = exprutil.Substitute(a, cols)
	}
	fields := append([]types.Field(nil), in.Fields...)
	for _, f := range c.Columns {
		if c.Left {
			f.Type = f.Type.Nullable()
		}
		f.Type = f.Type.Plain()
		fields = append(fields, f)
	}
	node := &Node{
		Op: &jobgraph.OperatorSpec{
			Output:    types.Schema{Fields: fields},
			Correlate: &jobgraph.CorrelateSpec{Function: c.Function, Args: args, Left: c.Left},
		},
		Inputs:      []*Input{{From: pre, Exchange: jobgraph.Forward}},
		Parallelism: pre.Parallelism,
		Dist:        pre.Dist,
		Cols:        append(append([]ColInfo(nil), pre.Cols...), make([]ColInfo, len(c.Columns))...),
		Pos:         c.At,
	}
	out := &rel{in: node, cols: make([]*expr.Expr, total), names: make([]string, total)}
	for i, f := range c.Schema().Fields {
		out.names[i] = f.Name
	}
	for n, i := range idx {
		out.cols[i] = expr.Col(at[n], fields[at[n]].Type)
	}
	for j := range c.Columns {
		p := in.Len() + j
		out.cols[width+j] = expr.Col(p, fields[p].Type)
	}
	return out, nil
}

// watermarkAssigner plans a WATERMARK FOR a computed column: the Calc
// computing the needed columns, then a watermark_assigner operator chained
// right after it, which generates the watermarks from then on.
func (b *builder) watermarkAssigner(w *logical.WatermarkAssigner, need []bool) (*rel, error) {
	width := w.Input.Schema().Len()
	if need == nil {
		need = all(width)
	}
	inNeed := make([]bool, width)
	copy(inNeed, need[:min(len(need), width)])
	inNeed[w.Column] = true
	r, err := b.build(w.Input, inNeed)
	if err != nil {
		return nil, err
	}
	if r, err = b.applyTVF(r, inNeed, w.At); err != nil {
		return nil, err
	}
	idx := indicesOf(inNeed)
	exprs := make([]*expr.Expr, len(idx))
	names := make([]string, len(idx))
	col := -1
	for n, i := range idx {
		exprs[n], names[n] = r.cols[i], r.names[i]
		if i == w.Column {
			col = n
		}
	}
	pre, at := b.feed(r, exprs, names, w.At, func(*Node, []int) requirement { return requirement{kind: DistAny} }, false)
	fields := append([]types.Field(nil), pre.Op.Output.Fields...)
	fields[at[col]].Type.RowTime = true
	fields[at[col]].Type.ProcTime = false
	node := &Node{
		Op: &jobgraph.OperatorSpec{
			Output:            types.Schema{Fields: fields},
			WatermarkAssigner: &jobgraph.WatermarkSpec{Column: at[col], DelayMs: w.DelayMs},
		},
		Inputs:      []*Input{{From: pre, Exchange: jobgraph.Forward}},
		Parallelism: pre.Parallelism,
		Dist:        pre.Dist,
		Cols:        append([]ColInfo(nil), pre.Cols...),
		Pos:         w.At,
	}
	out := &rel{in: node, cols: make([]*expr.Expr, width), names: make([]string, width)}
	for i, f := range w.Schema().Fields {
		out.names[i] = f.Name
	}
	for n, i := range idx {
		out.cols[i] = expr.Col(at[n], fields[at[n]].Type)
	}
	return out, nil
}

// eqSides returns the two sides of an equality whose one side reads only
// left columns (below nl) and the other only right columns, left first.
func eqSides(t *expr.Expr, nl int) (l, r *expr.Expr, ok bool) {
	if t.Kind != expr.KindCall || t.Func != expr.FuncEq || len(t.Args) != 2 {
		return nil, nil, false
	}
	side := func(e *expr.Expr) int { // 0: none, 1: left only, 2: right only, 3: both
		s := 0
		exprutil.Walk(e, func(x *expr.Expr) bool {
			if x.Kind == expr.KindColumn {
				if x.Column < nl {
					s |= 1
				} else {
					s |= 2
				}
			}
			return true
		})
		return s
	}
	a, c := t.Args[0], t.Args[1]
	switch {
	case side(a) == 1 && side(c) == 2:
		return a, c, true
	case side(a) == 2 && side(c) == 1:
		return c, a, true
	}
	return nil, nil, false
}

// hashable reports whether columns of t can be hash-partitioned.
func hashable(t types.Type) bool {
	switch t.Kind {
	case types.Boolean, types.Int, types.BigInt, types.Double, types.Decimal, types.String, types.Timestamp:
		return true
	}
	return false
}

// join plans a Join. Only window joins are supported: the condition
// equates the window_start and the window_end of both inputs, which carry
// the same windows (a pending window TVF, made real on each side, or an
// operator whose rows carry windows). Other equalities between a left and
// a right expression of the same type are the join keys, which both sides
// are hashed on (on their window_end when there are none); the rest of the
// condition is the residual.
func (b *builder) join(j *logical.Join, need []bool) (*rel, error) {
	nl, nr := j.Left.Schema().Len(), j.Right.Schema().Len()
	semi := j.Type == jobgraph.SemiJoin || j.Type == jobgraph.AntiJoin
	width := nl + nr
	if semi {
		width = nl
	}
	if need == nil {
		need = all(width)
	}
	regular := func(why string) error {
		return planerr.At(j.At, "this window join cannot be planned%s", why)
	}
	if j.AsOf != nil {
		return b.asOfJoin(j, need)
	}
	if j.Cond == nil {
		return nil, planerr.At(j.At, "a cross join of two unbounded streams is not supported: it would keep and match every row forever; join ON an equality between them")
	}
	condNeed := make([]bool, nl+nr)
	exprutil.AddRefs(condNeed, j.Cond)
	lNeed, rNeed := make([]bool, nl), make([]bool, nr)
	for i := range lNeed {
		lNeed[i] = condNeed[i] || (i < len(need) && need[i])
	}
	for i := range rNeed {
		rNeed[i] = condNeed[nl+i] || (!semi && nl+i < len(need) && need[nl+i])
	}
	lr, err := b.build(j.Left, lNeed)
	if err != nil {
		return nil, err
	}
	rr, err := b.build(j.Right, rNeed)
	if err != nil {
		return nil, err
	}
	// Find the window equalities and the keys.
	type pair struct{ l, r *expr.Expr } // over the left, and the right input's columns
	var keys []pair
	var rest []*expr.Expr
	var ws, we [2]int // left and right columns of window_start and window_end
	var wsRef, weRef [2]winRef
	found := [2]bool{}
	seen := map[string]bool{}
	shiftRight := make([]int, nl+nr)
	for i := range shiftRight {
		shiftRight[i] = i - nl
	}
	for _, t := range exprutil.Conjuncts(j.Cond) {
		l, r, ok := eqSides(t, nl)
		if !ok {
			rest = append(rest, t)
			continue
		}
		r = exprutil.Remap(r, shiftRight)
		lc, lok := exprutil.IsColumn(l)
		rc, rok := exprutil.IsColumn(r)
		if lok && rok {
			lw, rw := winOf(lr, lc), winOf(rr, rc)
			if lw.role != RoleNone && lw.role == rw.role {
				k := 0
				if lw.role == RoleEnd {
					k = 1
				}
				if !found[k] {
					found[k] = true
					if k == 0 {
						ws, wsRef = [2]int{lc, rc}, [2]winRef{lw, rw}
					} else {
						we, weRef = [2]int{lc, rc}, [2]winRef{lw, rw}
					}
					continue
				}
			}
		}
		if !l.Type.SameValues(r.Type) || !hashable(l.Type) {
			rest = append(rest, t)
			continue
		}
		fp := exprutil.Fingerprint(l) + "=" + exprutil.Fingerprint(r)
		if !seen[fp] {
			seen[fp] = true
			keys = append(keys, pair{l, r})
		}
	}
	if !found[0] || !found[1] {
		// Not a window join.
		return b.regularJoin(j, lr, rr, lNeed, rNeed, need)
	}
	if wsRef[0].src != weRef[0].src || wsRef[1].src != weRef[1].src {
		return nil, regular(" (window_start and window_end of an input come from different windows)")
	}
	spec := wsRef[0].spec
	if !sameWindows(spec, wsRef[1].spec) {
		return nil, planerr.At(j.At, "a window join needs the same windows on both inputs, but they differ: %s and %s", windowName(spec), windowName(wsRef[1].spec))
	}
	if spec.ProcTime {
		return nil, planerr.At(j.At, "window joins over processing-time windows are not supported yet: use an event-time attribute")
	}

	// Each side: the needed columns and the key expressions, hashed on the
	// keys (or window_end).
	type side struct {
		r    *rel
		need []bool
		at   []int // logical column -> position in pre
		pre  *Node
		req  requirement
		edge *Input
		par  int
	}
	sides := [2]*side{{r: lr, need: lNeed}, {r: rr, need: rNeed}}
	for s, sd := range sides {
		if sd.r, err = b.applyTVF(sd.r, sd.need, j.At); err != nil {
			return nil, err
		}
		pb := newProjBuilder()
		idx := atLeastOne(indicesOf(sd.need), len(sd.need))
		colAt := make([]int, len(sd.need))
		for _, i := range idx {
			colAt[i] = pb.add(sd.r.cols[i], sd.r.names[i])
		}
		keyAt := make([]int, len(keys))
		for k, p := range keys {
			e := p.l
			if s == 1 {
				e = p.r
			}
			keyAt[k] = pb.add(exprutil.Substitute(e, sd.r.cols), fmt.Sprintf("$k%d", k))
		}
		endAt := colAt[we[s]]
		reqOf := func(_ *Node, at []int) requirement {
			cols := make([]int, len(keyAt))
			for k, c := range keyAt {
				cols[k] = at[c]
			}
			if len(cols) == 0 {
				cols = []int{at[endAt]}
			}
			return requirement{kind: DistHash, keys: cols}
		}
		// Rows wait for their window: prune first.
		pre, at := b.feed(sd.r, pb.exprs, pb.names, j.At, reqOf, false)
		sd.pre, sd.req = pre, reqOf(pre, at)
		sd.at = make([]int, len(sd.need))
		for _, i := range idx {
			sd.at[i] = at[colAt[i]]
		}
		sd.edge, sd.par, _ = b.connect(pre, sd.req)
	}
	left, right := sides[0], sides[1]
	if left.par != right.par {
		return nil, fmt.Errorf("planner: internal error: window join inputs at parallelism %d and %d", left.par, right.par)
	}
	nlPre := left.pre.Op.Output.Len()
	fields := make([]types.Field, 0, nlPre+right.pre.Op.Output.Len())
	for _, f := range left.pre.Op.Output.Fields {
		if j.Type == jobgraph.RightJoin || j.Type == jobgraph.FullJoin {
			f.Type = f.Type.Nullable().Plain()
		}
		fields = append(fields, f)
	}
	joined := append([]types.Field(nil), fields...)
	for _, f := range right.pre.Op.Output.Fields {
		g := f
		if j.Type == jobgraph.LeftJoin || j.Type == jobgraph.FullJoin {
			g.Type = g.Type.Nullable().Plain()
		}
		joined = append(joined, g)
	}
	if !semi {
		fields = joined
	}
	// The residual reads the left columns then the right columns.
	cols := make([]*expr.Expr, nl+nr)
	for i, ok := range lNeed {
		if ok {
			p := left.at[i]
			cols[i] = expr.Col(p, left.pre.Op.Output.Fields[p].Type)
		}
	}
	for i, ok := range rNeed {
		if ok {
			p := right.at[i]
			cols[nl+i] = expr.Col(nlPre+p, right.pre.Op.Output.Fields[p].Type)
		}
	}
	spec2 := &jobgraph.WindowJoinSpec{
		Type:             j.Type,
		LeftWindowStart:  left.at[ws[0]],
		LeftWindowEnd:    left.at[we[0]],
		RightWindowStart: right.at[ws[1]],
		RightWindowEnd:   right.at[we[1]],
		Residual:         exprutil.Substitute(exprutil.And(rest...), cols),
	}
	if len(keys) > 0 {
		spec2.LeftKeys = append([]int(nil), left.req.keys...)
		spec2.RightKeys = append([]int(nil), right.req.keys...)
	}
	node := &Node{
		Op: &jobgraph.OperatorSpec{
			Output:     types.Schema{Fields: fields},
			WindowJoin: spec2,
		},
		Inputs:      []*Input{left.edge, right.edge},
		Parallelism: left.par,
		Cols:        make([]ColInfo, len(fields)),
		Pos:         j.At,
	}
	w := spec
	node.window = &w
	keepLeft := j.Type != jobgraph.RightJoin && j.Type != jobgraph.FullJoin
	keepRight := j.Type == jobgraph.InnerJoin || j.Type == jobgraph.RightJoin
	if keepLeft {
		node.Cols[left.at[ws[0]]] = ColInfo{Role: RoleStart, Window: node}
		node.Cols[left.at[we[0]]] = ColInfo{Role: RoleEnd, Window: node}
	}
	if keepRight {
		node.Cols[nlPre+right.at[ws[1]]] = ColInfo{Role: RoleStart, Window: node}
		node.Cols[nlPre+right.at[we[1]]] = ColInfo{Role: RoleEnd, Window: node}
	}
	switch {
	case node.Parallelism == 1:
		node.Dist = Distribution{Kind: DistSingle}
	case keepLeft:
		node.Dist = Distribution{Kind: DistHash, Keys: append([]int(nil), left.req.keys...)}
	case keepRight:
		keys := make([]int, len(right.req.keys))
		for i, k := range right.req.keys {
			keys[i] = nlPre + k
		}
		node.Dist = Distribution{Kind: DistHash, Keys: keys}
	default:
		node.Dist = Distribution{Kind: DistAny}
	}
	out := &rel{in: node, cols: make([]*expr.Expr, width), names: make([]string, width)}
	for i, f := range j.Schema().Fields {
		out.names[i] = f.Name
	}
	for i := 0; i < width; i++ {
		if i < nl {
			if i < len(need) && need[i] {
				p := left.at[i]
				out.cols[i] = expr.Col(p, fields[p].Type)
			}
		} else if need[i] {
			p := nlPre + right.at[i-nl]
			out.cols[i] = expr.Col(p, fields[p].Type)
		}
	}
	return out, nil
}

// windowName renders a window for an error message, e.g.
// HOP(slide INTERVAL '5' SECOND, size INTERVAL '1' MINUTE).
func windowName(w jobgraph.WindowSpec) string {
	var args []string
	switch w.Kind {
	case jobgraph.Hop:
		args = []string{"slide " + explain.Interval(w.SlideMs), "size " + explain.Interval(w.SizeMs)}
	case jobgraph.Cumulate:
		args = []string{"step " + explain.Interval(w.SlideMs), "max size " + explain.Interval(w.SizeMs)}
	case jobgraph.Session:
		args = []string{"gap " + explain.Interval(w.SizeMs)}
	default:
		args = []string{"size " + explain.Interval(w.SizeMs)}
	}
	if w.OffsetMs != 0 {
		args = append(args, "offset "+explain.Interval(w.OffsetMs))
	}
	s := strings.ToUpper(string(w.Kind)) + "(" + strings.Join(args, ", ") + ")"
	if w.ProcTime {
		s += " on processing time"
	}
	return s
}
