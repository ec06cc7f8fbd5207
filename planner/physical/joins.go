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
	"github.com/eddy-streaming/eddy/planner/internal/planerr"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// joinSide is one input of a two-input join being planned.
type joinSide struct {
	r    *rel
	need []bool
	// at maps the side's logical columns to pre's columns; keyAt the join
	// keys.
	at    []int
	keyAt []int
	pre   *Node
	edge  *Input
	par   int
}

// joinInputs prepares both inputs of a join: each computes its needed
// columns and its key expressions (keys[k][0] over the left's columns,
// keys[k][1] over the right's), and is hashed on its keys (all rows meet in
// one subtask without keys).
func (b *builder) joinInputs(lr, rr *rel, lNeed, rNeed []bool, keys [][2]*expr.Expr, pos logical.Pos) ([2]*joinSide, error) {
	sides := [2]*joinSide{{r: lr, need: lNeed}, {r: rr, need: rNeed}}
	for s, sd := range sides {
		var err error
		if sd.r, err = b.applyTVF(sd.r, sd.need, pos); err != nil {
			return sides, err
		}
		pb := newProjBuilder()
		idx := atLeastOne(indicesOf(sd.need), len(sd.need))
		colAt := make([]int, len(sd.need))
		for _, i := range idx {
			colAt[i] = pb.add(sd.r.cols[i], sd.r.names[i])
		}
		keyAt := make([]int, len(keys))
		for k, p := range keys {
			keyAt[k] = pb.add(exprutil.Substitute(p[s], sd.r.cols), fmt.Sprintf("$k%d", k))
		}
		reqOf := func(_ *Node, at []int) requirement {
			if len(keyAt) == 0 {
				return requirement{kind: DistSingle}
			}
			cols := make([]int, len(keyAt))
			for k, c := range keyAt {
				cols[k] = at[c]
			}
			return requirement{kind: DistHash, keys: cols}
		}
		// Both sides are kept in state: prune first.
		pre, at := b.feed(sd.r, pb.exprs, pb.names, pos, reqOf, false)
		sd.pre = pre
		sd.at = make([]int, len(sd.need))
		for _, i := range idx {
			sd.at[i] = at[colAt[i]]
		}
		sd.keyAt = make([]int, len(keyAt))
		for k, c := range keyAt {
			sd.keyAt[k] = at[c]
		}
		sd.edge, sd.par, _ = b.connect(pre, reqOf(pre, at))
	}
	if sides[0].par != sides[1].par {
		return sides, fmt.Errorf("planner: internal error: join inputs at parallelism %d and %d", sides[0].par, sides[1].par)
	}
	return sides, nil
}

// joinFields returns a join's output fields: the left pre's then the right
// pre's (the left's alone for SEMI and ANTI), the side an outer join may
// miss made nullable; keepTime keeps time attributes (plain otherwise).
func joinFields(t jobgraph.JoinType, l, r types.Schema, keepTime bool) []types.Field {
	var fields []types.Field
	mark := func(f types.Field, nullable bool) types.Field {
		if nullable {
			f.Type = f.Type.Nullable().Plain()
		} else if !keepTime {
			f.Type = f.Type.Plain()
		}
		return f
	}
	for _, f := range l.Fields {
		fields = append(fields, mark(f, t == jobgraph.RightJoin || t == jobgraph.FullJoin))
	}
	if t == jobgraph.SemiJoin || t == jobgraph.AntiJoin {
		return fields
	}
	for _, f := range r.Fields {
		fields = append(fields, mark(f, t == jobgraph.LeftJoin || t == jobgraph.FullJoin))
	}
	return fields
}

// condCols maps the join condition's columns (left then right, logical) to
// the joined row of the sides' pre outputs.
func condCols(sides [2]*joinSide, nl int, lNeed, rNeed []bool) []*expr.Expr {
	left, right := sides[0], sides[1]
	nlPre := left.pre.Op.Output.Len()
	cols := make([]*expr.Expr, nl+len(rNeed))
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
	return cols
}

// joinRel returns the join's logical columns over node, whose output is
// the sides' pre outputs side by side.
func joinRel(j *logical.Join, node *Node, sides [2]*joinSide, need []bool) *rel {
	nl := j.Left.Schema().Len()
	width := j.Schema().Len()
	fields := node.Op.Output.Fields
	nlPre := sides[0].pre.Op.Output.Len()
	out := &rel{in: node, cols: make([]*expr.Expr, width), names: make([]string, width)}
	for i, f := range j.Schema().Fields {
		out.names[i] = f.Name
		if i >= len(need) || !need[i] {
			continue
		}
		p := 0
		if i < nl {
			p = sides[0].at[i]
		} else {
			p = nlPre + sides[1].at[i-nl]
		}
		out.cols[i] = expr.Col(p, fields[p].Type)
	}
	return out
}

// joinDist is the distribution of a join's output: hashed on the keys of a
// side whose rows are never NULL-padded.
func joinDist(t jobgraph.JoinType, par int, sides [2]*joinSide) Distribution {
	keepLeft := t != jobgraph.RightJoin && t != jobgraph.FullJoin
	keepRight := t == jobgraph.InnerJoin || t == jobgraph.RightJoin
	switch {
	case par == 1:
		return Distribution{Kind: DistSingle}
	case len(sides[0].keyAt) == 0:
		return Distribution{Kind: DistAny}
	case keepLeft:
		return Distribution{Kind: DistHash, Keys: append([]int(nil), sides[0].keyAt...)}
	case keepRight:
		nlPre := sides[0].pre.Op.Output.Len()
		keys := make([]int, len(sides[1].keyAt))
		for i, k := range sides[1].keyAt {
			keys[i] = nlPre + k
		}
		return Distribution{Kind: DistHash, Keys: keys}
	}
	return Distribution{Kind: DistAny}
}

// equiKeys splits conjuncts of a join condition into equalities between a
// left and a right expression of one hashable type (right over its own
// columns) and the rest.
func equiKeys(terms []*expr.Expr, nl int) (keys [][2]*expr.Expr, rest []*expr.Expr) {
	shift := make([]int, 0)
	seen := map[string]bool{}
	for _, t := range terms {
		l, r, ok := eqSides(t, nl)
		if !ok || !l.Type.SameValues(r.Type) || !hashable(l.Type) {
			rest = append(rest, t)
			continue
		}
		if len(shift) == 0 {
			shift = make([]int, nl+exprutil.MaxColumn(r)+1)
			for i := range shift {
				shift[i] = i - nl
			}
		}
		if m := exprutil.MaxColumn(r); m >= len(shift) {
			for i := len(shift); i <= m; i++ {
				shift = append(shift, i-nl)
			}
		}
		r = exprutil.Remap(r, shift)
		fp := exprutil.Fingerprint(l) + "=" + exprutil.Fingerprint(r)
		if !seen[fp] {
			seen[fp] = true
			keys = append(keys, [2]*expr.Expr{l, r})
		}
	}
	return keys, rest
}

// timeTerm reads e as a time column plus a constant interval: c, c + i,
// c - i, i + c.
func timeTerm(e *expr.Expr) (col int, off int64, ok bool) {
	if c, isCol := exprutil.IsColumn(e); isCol {
		return c, 0, true
	}
	if e.Kind != expr.KindCall || len(e.Args) != 2 || (e.Func != expr.FuncAdd && e.Func != expr.FuncSub) {
		return 0, 0, false
	}
	iv := func(x *expr.Expr) (int64, bool) {
		if x.Kind != expr.KindLiteral || x.Literal == nil || x.Literal.Null || x.Type.Kind != types.Interval {
			return 0, false
		}
		v, err := strconv.ParseInt(x.Literal.Value, 10, 64)
		return v, err == nil
	}
	if c, isCol := exprutil.IsColumn(e.Args[0]); isCol {
		if v, isIv := iv(e.Args[1]); isIv {
			if e.Func == expr.FuncSub {
				v = -v
			}
			return c, v, true
		}
	}
	if c, isCol := exprutil.IsColumn(e.Args[1]); isCol && e.Func == expr.FuncAdd {
		if v, isIv := iv(e.Args[0]); isIv {
			return c, v, true
		}
	}
	return 0, 0, false
}

// interval is the time bound an interval join's condition sets:
// lower <= l.time - r.time <= upper.
type interval struct {
	lt, rt       int // left and right time columns (rt in the right's own numbering)
	lower, upper int64
	hasLo, hasUp bool
	terms        map[int]bool // the conjuncts (by index in rest) it used
}

// intervalOf finds bounds on the difference of a left and a right rowtime
// attribute among terms: l.ts >= r.ts - INTERVAL a, l.ts < r.ts + INTERVAL
// b, their mirror images, and BETWEEN (two such terms).
func intervalOf(terms []*expr.Expr, l, r types.Schema) (interval, bool) {
	nl := l.Len()
	iv := interval{lt: -1, terms: map[int]bool{}}
	isRowtime := func(c int) bool {
		if c < nl {
			return c >= 0 && l.Fields[c].Type.RowTime
		}
		return c-nl < r.Len() && r.Fields[c-nl].Type.RowTime
	}
	for i, t := range terms {
		if t.Kind != expr.KindCall || len(t.Args) != 2 {
			continue
		}
		fn := t.Func
		switch fn {
		case expr.FuncGe, expr.FuncGt, expr.FuncLe, expr.FuncLt:
		default:
			continue
		}
		a, aoff, ok1 := timeTerm(t.Args[0])
		c, coff, ok2 := timeTerm(t.Args[1])
		if !ok1 || !ok2 || !isRowtime(a) || !isRowtime(c) || (a < nl) == (c < nl) {
			continue
		}
		if a >= nl { // mirror: right OP left  ->  left OP' right
			a, aoff, c, coff = c, coff, a, aoff
			fn = map[string]string{expr.FuncGe: expr.FuncLe, expr.FuncGt: expr.FuncLt, expr.FuncLe: expr.FuncGe, expr.FuncLt: expr.FuncGt}[fn]
		}
		if iv.lt >= 0 && (iv.lt != a || iv.rt != c-nl) {
			continue
		}
		iv.lt, iv.rt = a, c-nl
		// l + aoff OP r + coff  <=>  l - r OP coff - aoff.
		d := coff - aoff
		switch fn {
		case expr.FuncGe, expr.FuncGt:
			if fn == expr.FuncGt {
				d++
			}
			if !iv.hasLo || d > iv.lower {
				iv.lower = d
			}
			iv.hasLo = true
		default:
			if fn == expr.FuncLt {
				d--
			}
			if !iv.hasUp || d < iv.upper {
				iv.upper = d
			}
			iv.hasUp = true
		}
		iv.terms[i] = true
	}
	return iv, iv.hasLo && iv.hasUp
}

// regularJoin plans a join without windows: an interval join when the
// condition bounds the difference of two rowtime attributes from both
// sides and both inputs are append-only, otherwise a regular join on the
// equality keys (refused without any: a cross join of unbounded streams).
func (b *builder) regularJoin(j *logical.Join, lr, rr *rel, lNeed, rNeed, need []bool) (*rel, error) {
	nl := j.Left.Schema().Len()
	keys, rest := equiKeys(exprutil.Conjuncts(j.Cond), nl)
	iv, isInterval := intervalOf(rest, j.Left.Schema(), j.Right.Schema())
	switch j.Type {
	case jobgraph.SemiJoin, jobgraph.AntiJoin:
		isInterval = false
	}
	if len(keys) == 0 && !isInterval {
		return nil, planerr.At(j.At, "a join of two unbounded streams needs an equality between them (ON a.k = b.k) or a time interval between their time attributes (a.ts BETWEEN b.ts - INTERVAL ... AND b.ts + INTERVAL ...); without one it is a cross join, which would keep and match every row forever")
	}
	sides, err := b.joinInputs(lr, rr, lNeed, rNeed, keys, j.At)
	if err != nil {
		return nil, err
	}
	left, right := sides[0], sides[1]
	if isInterval && (b.updating(left.pre) || b.updating(right.pre)) {
		isInterval = false
		if len(keys) == 0 {
			return nil, planerr.At(j.At, "an interval join needs append-only inputs, and without an equality between them this join cannot be a regular join either")
		}
	}
	cols := condCols(sides, nl, lNeed, rNeed)
	var residual []*expr.Expr
	for i, t := range rest {
		if !isInterval || !iv.terms[i] {
			residual = append(residual, t)
		}
	}
	res := exprutil.Substitute(exprutil.And(residual...), cols)
	fields := joinFields(j.Type, left.pre.Op.Output, right.pre.Op.Output, isInterval)
	op := &jobgraph.OperatorSpec{Output: types.Schema{Fields: fields}}
	var lk, rk []int
	if len(keys) > 0 {
		lk, rk = append([]int(nil), left.keyAt...), append([]int(nil), right.keyAt...)
	}
	name := ""
	if isInterval {
		op.IntervalJoin = &jobgraph.IntervalJoinSpec{
			Type: j.Type, LeftKeys: lk, RightKeys: rk,
			LeftTime: left.at[iv.lt], RightTime: right.at[iv.rt],
			LowerMs: iv.lower, UpperMs: iv.upper, Residual: res,
		}
		name = "IntervalJoin: " + strings.ToUpper(string(j.Type))
	} else {
		op.Join = &jobgraph.JoinSpec{Type: j.Type, LeftKeys: lk, RightKeys: rk, Residual: res, StateTTL: b.ttl(max(j.LeftTTLMs, j.RightTTLMs))}
		name = "Join: " + strings.ToUpper(string(j.Type))
	}
	node := &Node{
		name:        name,
		Op:          op,
		Inputs:      []*Input{left.edge, right.edge},
		Parallelism: left.par,
		Dist:        joinDist(j.Type, left.par, sides),
		Cols:        make([]ColInfo, len(fields)),
		Pos:         j.At,
	}
	return joinRel(j, node, sides, need), nil
}

// asOfJoin plans JOIN t FOR SYSTEM_TIME AS OF l.time: a lookup join when
// the time is a processing-time attribute, an event-time temporal join
// when it is a rowtime attribute.
func (b *builder) asOfJoin(j *logical.Join, need []bool) (*rel, error) {
	c, ok := exprutil.IsColumn(j.AsOf)
	ls := j.Left.Schema()
	if !ok || c < 0 || c >= ls.Len() {
		return nil, planerr.At(j.At, "FOR SYSTEM_TIME AS OF needs a time attribute column of the left table")
	}
	if j.Type != jobgraph.InnerJoin && j.Type != jobgraph.LeftJoin {
		return nil, planerr.At(j.At, "FOR SYSTEM_TIME AS OF joins are INNER or LEFT joins, not %s", strings.ToUpper(string(j.Type)))
	}
	if j.Cond == nil {
		return nil, planerr.At(j.At, "FOR SYSTEM_TIME AS OF joins need an ON condition equating columns of both tables")
	}
	t := ls.Fields[c].Type
	switch {
	case t.ProcTime:
		return b.lookupJoin(j, need)
	case t.RowTime:
		return b.temporalJoin(j, c, need)
	}
	return nil, planerr.At(j.At, "FOR SYSTEM_TIME AS OF %s: %s is not a time attribute (a PROCTIME() column for a lookup join, or a rowtime attribute with a WATERMARK for an event-time temporal join)", ls.Fields[c].Name, ls.Fields[c].Name)
}

// lookupJoin plans a join against a table looked up as of processing time:
// the right side is the table itself (no source reads it), the keys are
// equalities between left expressions, computed in a Calc first, and right
// columns. The input is not exchanged.
func (b *builder) lookupJoin(j *logical.Join, need []bool) (*rel, error) {
	scan, ok := j.Right.(*logical.Scan)
	if !ok {
		return nil, planerr.At(j.At, "a lookup join (FOR SYSTEM_TIME AS OF a processing-time attribute) needs a table on its right side, not a query")
	}
	nl, nr := j.Left.Schema().Len(), scan.Schema().Len()
	var keys []*expr.Expr
	var dimKeys []int
	var rest []*expr.Expr
	for _, t := range exprutil.Conjuncts(j.Cond) {
		l, r, ok := eqSides(t, nl)
		rc, isCol := -1, false
		if ok {
			rc, isCol = exprutil.IsColumn(r)
		}
		if !ok || !isCol || !l.Type.SameValues(r.Type) || !hashable(l.Type) {
			rest = append(rest, t)
			continue
		}
		keys = append(keys, l)
		dimKeys = append(dimKeys, rc-nl)
	}
	if len(keys) == 0 {
		return nil, planerr.At(j.At, "a lookup join needs an equality between the left table and a column of %s (the lookup key)", scan.Table.Table)
	}
	width := j.Schema().Len()
	if need == nil {
		need = all(width)
	}
	lNeed := make([]bool, nl)
	copy(lNeed, need[:min(nl, len(need))])
	for _, e := range append(append([]*expr.Expr(nil), keys...), rest...) {
		refs := make([]bool, nl+nr)
		exprutil.AddRefs(refs, e)
		for i := 0; i < nl; i++ {
			lNeed[i] = lNeed[i] || refs[i]
		}
	}
	lr, err := b.build(j.Left, lNeed)
	if err != nil {
		return nil, err
	}
	if lr, err = b.applyTVF(lr, lNeed, j.At); err != nil {
		return nil, err
	}
	pb := newProjBuilder()
	idx := atLeastOne(indicesOf(lNeed), nl)
	colAt := make([]int, nl)
	for _, i := range idx {
		colAt[i] = pb.add(lr.cols[i], lr.names[i])
	}
	keyAt := make([]int, len(keys))
	for k, e := range keys {
		keyAt[k] = pb.add(exprutil.Substitute(e, lr.cols), fmt.Sprintf("$k%d", k))
	}
	pre, at := b.feed(lr, pb.exprs, pb.names, j.At, func(*Node, []int) requirement { return requirement{kind: DistAny} }, true)
	in := pre.Op.Output
	dim := scan.Table
	fields := append([]types.Field(nil), in.Fields...)
	for _, f := range dim.Schema.Fields {
		f.Type = f.Type.Plain()
		if j.Type == jobgraph.LeftJoin {
			f.Type = f.Type.Nullable()
		}
		fields = append(fields, f)
	}
	cols := make([]*expr.Expr, nl+nr)
	for _, i := range idx {
		cols[i] = expr.Col(at[colAt[i]], in.Fields[at[colAt[i]]].Type)
	}
	for i := 0; i < nr; i++ {
		cols[nl+i] = expr.Col(in.Len()+i, fields[in.Len()+i].Type)
	}
	spec := &jobgraph.LookupJoinSpec{
		Left: j.Type == jobgraph.LeftJoin, Dim: dim, DimKeys: dimKeys,
		Residual: exprutil.Substitute(exprutil.And(rest...), cols),
	}
	for _, k := range keyAt {
		spec.Keys = append(spec.Keys, at[k])
	}
	if v := option(dim.Options, "lookup.cache.ttl"); v != "" {
		d, err := connectors.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, planerr.At(scan.At, "table %s: 'lookup.cache.ttl' = '%s' is not a duration", dim.Table, v)
		}
		spec.CacheTTLMs = d.Milliseconds()
	}
	if v := option(dim.Options, "lookup.cache.max-rows"); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return nil, planerr.At(scan.At, "table %s: 'lookup.cache.max-rows' = '%s' is not a non-negative integer", dim.Table, v)
		}
		spec.CacheMaxRows = n
	}
	node := &Node{
		name:        "LookupJoin: " + dim.Table,
		Op:          &jobgraph.OperatorSpec{Output: types.Schema{Fields: fields}, LookupJoin: spec},
		Inputs:      []*Input{{From: pre, Exchange: jobgraph.Forward}},
		Parallelism: pre.Parallelism,
		Dist:        pre.Dist,
		Cols:        append(append([]ColInfo(nil), pre.Cols...), make([]ColInfo, nr)...),
		Pos:         j.At,
	}
	out := &rel{in: node, cols: make([]*expr.Expr, width), names: make([]string, width)}
	for i, f := range j.Schema().Fields {
		out.names[i] = f.Name
		if i < len(need) && need[i] && cols[i] != nil {
			out.cols[i] = expr.Col(cols[i].Column, fields[cols[i].Column].Type)
		}
	}
	return out, nil
}

// primaryKeyOf returns n's PRIMARY KEY columns, traced through projections
// and filters down to the scanned table, and the table's name.
func primaryKeyOf(n logical.Node) ([]int, string) {
	switch n := n.(type) {
	case *logical.Scan:
		return n.Table.PrimaryKey, n.Table.Table
	case *logical.Filter:
		return primaryKeyOf(n.Input)
	case *logical.WatermarkAssigner:
		return primaryKeyOf(n.Input)
	case *logical.Project:
		pk, name := primaryKeyOf(n.Input)
		var out []int
		for _, k := range pk {
			found := -1
			for i, e := range n.Exprs {
				if c, ok := exprutil.IsColumn(e); ok && c == k {
					found = i
					break
				}
			}
			if found < 0 {
				return nil, name
			}
			out = append(out, found)
		}
		return out, name
	}
	return nil, ""
}

// temporalJoin plans an event-time temporal join against a versioned
// table: the right side must have a PRIMARY KEY and a rowtime attribute,
// and the ON condition must equate every key column with a left
// expression; both inputs are hashed on the key.
func (b *builder) temporalJoin(j *logical.Join, asOf int, need []bool) (*rel, error) {
	nl := j.Left.Schema().Len()
	rs := j.Right.Schema()
	nr := rs.Len()
	pk, table := primaryKeyOf(j.Right)
	if table == "" {
		table = "the right side"
	} else {
		table = "table " + table
	}
	if len(pk) == 0 {
		return nil, planerr.At(j.At, "an event-time temporal join needs a versioned table: %s has no PRIMARY KEY (declare PRIMARY KEY (...) NOT ENFORCED)", table)
	}
	rt := -1
	for i, f := range rs.Fields {
		if f.Type.RowTime {
			rt = i
			break
		}
	}
	if rt < 0 {
		return nil, planerr.At(j.At, "an event-time temporal join needs a versioned table: %s has no rowtime attribute (declare a WATERMARK)", table)
	}
	isPK := map[int]bool{}
	for _, k := range pk {
		isPK[k] = true
	}
	byKey := map[int]*expr.Expr{}
	var rest []*expr.Expr
	for _, t := range exprutil.Conjuncts(j.Cond) {
		l, r, ok := eqSides(t, nl)
		rc, isCol := -1, false
		if ok {
			rc, isCol = exprutil.IsColumn(r)
		}
		if !ok || !isCol || !isPK[rc-nl] || byKey[rc-nl] != nil || !l.Type.SameValues(r.Type) || !hashable(l.Type) {
			rest = append(rest, t)
			continue
		}
		byKey[rc-nl] = l
	}
	var keys [][2]*expr.Expr
	var missing []string
	for _, k := range pk {
		l := byKey[k]
		if l == nil {
			missing = append(missing, rs.Fields[k].Name)
			continue
		}
		keys = append(keys, [2]*expr.Expr{l, expr.Col(k, rs.Fields[k].Type)})
	}
	if len(missing) > 0 {
		return nil, planerr.At(j.At, "an event-time temporal join must equate every PRIMARY KEY column of %s with the left table; missing: %s", table, strings.Join(missing, ", "))
	}
	width := j.Schema().Len()
	if need == nil {
		need = all(width)
	}
	condNeed := make([]bool, nl+nr)
	exprutil.AddRefs(condNeed, j.Cond)
	lNeed, rNeed := make([]bool, nl), make([]bool, nr)
	for i := range lNeed {
		lNeed[i] = condNeed[i] || (i < len(need) && need[i])
	}
	lNeed[asOf] = true
	for i := range rNeed {
		rNeed[i] = condNeed[nl+i] || (nl+i < len(need) && need[nl+i])
	}
	rNeed[rt] = true
	for _, k := range pk {
		rNeed[k] = true
	}
	lr, err := b.build(j.Left, lNeed)
	if err != nil {
		return nil, err
	}
	rr, err := b.build(j.Right, rNeed)
	if err != nil {
		return nil, err
	}
	sides, err := b.joinInputs(lr, rr, lNeed, rNeed, keys, j.At)
	if err != nil {
		return nil, err
	}
	left, right := sides[0], sides[1]
	cols := condCols(sides, nl, lNeed, rNeed)
	fields := joinFields(j.Type, left.pre.Op.Output, right.pre.Op.Output, false)
	// The left rows keep their time attribute.
	fields[left.at[asOf]].Type.RowTime = true
	node := &Node{
		name: "TemporalJoin: " + strings.ToUpper(string(j.Type)),
		Op: &jobgraph.OperatorSpec{Output: types.Schema{Fields: fields}, TemporalJoin: &jobgraph.TemporalJoinSpec{
			Left: j.Type == jobgraph.LeftJoin, LeftKeys: append([]int(nil), left.keyAt...), RightKeys: append([]int(nil), right.keyAt...),
			LeftTime: left.at[asOf], RightTime: right.at[rt],
			Residual: exprutil.Substitute(exprutil.And(rest...), cols),
			StateTTL: b.ttl(max(j.LeftTTLMs, j.RightTTLMs)),
		}},
		Inputs:      []*Input{left.edge, right.edge},
		Parallelism: left.par,
		Dist:        joinDist(j.Type, left.par, sides),
		Cols:        make([]ColInfo, len(fields)),
		Pos:         j.At,
	}
	return joinRel(j, node, sides, need), nil
}
