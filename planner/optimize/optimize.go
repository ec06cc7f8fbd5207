package optimize

import (
	"strings"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/planner/internal/exprutil"
	"github.com/eddy-streaming/eddy/planner/logical"
)

// Rule is one named rewrite. Apply returns the rewritten node and true, or
// (nil, false) when the rule does not apply at n. It never modifies n.
type Rule struct {
	Name  string
	Apply func(n logical.Node) (logical.Node, bool)
}

// Rules are the rewrite rules, in the order they are tried at each node.
var Rules = []Rule{
	{"RemoveTrueFilter", removeTrueFilter},
	{"MergeFilters", mergeFilters},
	{"PushFilterBelowProject", pushFilterBelowProject},
	{"PushFilterBelowWindowTVF", pushFilterBelowWindowTVF},
	{"PushFilterBelowAggregate", pushFilterBelowAggregate},
	{"PushFilterBelowOver", pushFilterBelowOver},
	{"PushFilterIntoUnion", pushFilterIntoUnion},
	{"PushFilterIntoJoin", pushFilterIntoJoin},
	{"MergeProjects", mergeProjects},
	{"RemoveIdentityProject", removeIdentityProject},
}

// maxSteps bounds the rewrites at one node; every rule moves work down or
// removes a node, so a plan reaches its fixpoint long before.
const maxSteps = 1000

// Result is a rewritten script and the rules that fired, in order.
type Result struct {
	Script *logical.Script
	Fired  []string
}

// Script rewrites every sink tree of s. s itself is not modified.
func Script(s *logical.Script) *Result {
	r := &Result{Script: &logical.Script{Config: s.Config}}
	for _, sink := range s.Sinks {
		out := r.rewrite(sink).(*logical.Sink)
		r.Script.Sinks = append(r.Script.Sinks, out)
	}
	return r
}

// Node rewrites the tree rooted at n and returns the result and the rules
// that fired.
func Node(n logical.Node) (logical.Node, []string) {
	r := &Result{}
	out := r.rewrite(n)
	return out, r.Fired
}

func (r *Result) rewrite(n logical.Node) logical.Node {
	n = r.rewriteInputs(n)
	for step := 0; step < maxSteps; step++ {
		fired := false
		for _, rule := range Rules {
			if m, ok := rule.Apply(n); ok {
				r.Fired = append(r.Fired, rule.Name)
				n = r.rewriteInputs(m)
				fired = true
				break
			}
		}
		if !fired {
			break
		}
	}
	return n
}

func (r *Result) rewriteInputs(n logical.Node) logical.Node {
	ins := n.Inputs()
	if len(ins) == 0 {
		return n
	}
	changed := false
	outs := make([]logical.Node, len(ins))
	for i, in := range ins {
		outs[i] = r.rewrite(in)
		changed = changed || outs[i] != in
	}
	if !changed {
		return n
	}
	return withInputs(n, outs)
}

// withInputs returns a copy of n over new inputs.
func withInputs(n logical.Node, ins []logical.Node) logical.Node {
	switch n := n.(type) {
	case *logical.Filter:
		c := *n
		c.Input = ins[0]
		return &c
	case *logical.Project:
		c := *n
		c.Input = ins[0]
		return &c
	case *logical.WindowTVF:
		c := *n
		c.Input = ins[0]
		return &c
	case *logical.Aggregate:
		c := *n
		c.Input = ins[0]
		return &c
	case *logical.Over:
		c := *n
		c.Input = ins[0]
		return &c
	case *logical.Sink:
		c := *n
		c.Input = ins[0]
		return &c
	case *logical.Union:
		c := *n
		c.InputsNodes = ins
		return &c
	case *logical.Join:
		c := *n
		c.Left, c.Right = ins[0], ins[1]
		return &c
	case *logical.Correlate:
		c := *n
		c.Input = ins[0]
		return &c
	case *logical.WatermarkAssigner:
		c := *n
		c.Input = ins[0]
		return &c
	}
	return n
}

func removeTrueFilter(n logical.Node) (logical.Node, bool) {
	f, ok := n.(*logical.Filter)
	if !ok || !exprutil.IsTrue(f.Cond) {
		return nil, false
	}
	return f.Input, true
}

func mergeFilters(n logical.Node) (logical.Node, bool) {
	f, ok := n.(*logical.Filter)
	if !ok {
		return nil, false
	}
	g, ok := f.Input.(*logical.Filter)
	if !ok || exprutil.MayFail(f.Cond) {
		return nil, false
	}
	return &logical.Filter{At: g.At, Input: g.Input, Cond: exprutil.And(g.Cond, f.Cond)}, true
}

func pushFilterBelowProject(n logical.Node) (logical.Node, bool) {
	f, ok := n.(*logical.Filter)
	if !ok {
		return nil, false
	}
	p, ok := f.Input.(*logical.Project)
	if !ok {
		return nil, false
	}
	cond := exprutil.Substitute(f.Cond, p.Exprs)
	return &logical.Project{
		At:    p.At,
		Input: &logical.Filter{At: f.At, Input: p.Input, Cond: cond},
		Exprs: p.Exprs,
		Names: p.Names,
	}, true
}

// split divides f's conjuncts into those that can move below (pushable
// reports which) and those that stay. Terms that may fail only move when
// every term moves, so none runs on rows another term would have removed.
func split(cond *expr.Expr, pushable func(*expr.Expr) bool) (down, stay []*expr.Expr) {
	terms := exprutil.Conjuncts(cond)
	mayFail := false
	for _, t := range terms {
		if pushable(t) {
			down = append(down, t)
		} else {
			stay = append(stay, t)
		}
		mayFail = mayFail || exprutil.MayFail(t)
	}
	if mayFail && len(stay) > 0 {
		return nil, terms
	}
	return down, stay
}

// readsOnly reports whether e reads only columns for which ok holds.
func readsOnly(e *expr.Expr, ok func(int) bool) bool {
	return !exprutil.Any(e, func(x *expr.Expr) bool { return x.Kind == expr.KindColumn && !ok(x.Column) })
}

// pushBelow rebuilds a filter whose terms were split: the moved terms go
// into a new Filter made by below, the rest stay on top of the result.
func pushBelow(f *logical.Filter, stay []*expr.Expr, rebuilt logical.Node) logical.Node {
	if len(stay) == 0 {
		return rebuilt
	}
	return &logical.Filter{At: f.At, Input: rebuilt, Cond: exprutil.And(stay...)}
}

func pushFilterBelowWindowTVF(n logical.Node) (logical.Node, bool) {
	f, isFilter := n.(*logical.Filter)
	if !isFilter {
		return nil, false
	}
	w, isTVF := f.Input.(*logical.WindowTVF)
	if !isTVF {
		return nil, false
	}
	var ok func(int) bool
	width := w.Input.Schema().Len()
	ok = func(c int) bool { return c < width }
	if w.Window.Kind == jobgraph.Session {
		// Rows removed before SESSION assignment could have extended or
		// bridged sessions: only whole partitions may go.
		part := map[int]bool{}
		for _, k := range w.PartitionBy {
			part[k] = true
		}
		ok = func(c int) bool { return part[c] }
	}
	down, stay := split(f.Cond, func(t *expr.Expr) bool {
		return readsOnly(t, ok)
	})
	if len(down) == 0 {
		return nil, false
	}
	c := *w
	c.Input = &logical.Filter{At: f.At, Input: w.Input, Cond: exprutil.And(down...)}
	return pushBelow(f, stay, &c), true
}

func pushFilterBelowAggregate(n logical.Node) (logical.Node, bool) {
	f, ok := n.(*logical.Filter)
	if !ok {
		return nil, false
	}
	a, ok := f.Input.(*logical.Aggregate)
	if !ok {
		return nil, false
	}
	// A term may move below when it reads only group keys that are not
	// window columns (those only exist once the window is assigned).
	keyOK := make([]bool, len(a.GroupKeys))
	for i, k := range a.GroupKeys {
		keyOK[i] = !IsWindowColumn(a.Input, k)
	}
	down, stay := split(f.Cond, func(t *expr.Expr) bool {
		return readsOnly(t, func(c int) bool { return c < len(keyOK) && keyOK[c] })
	})
	if len(down) == 0 {
		return nil, false
	}
	m := make([]int, len(a.GroupKeys))
	copy(m, a.GroupKeys)
	moved := make([]*expr.Expr, len(down))
	for i, t := range down {
		moved[i] = exprutil.Remap(t, m)
	}
	c := *a
	c.Input = &logical.Filter{At: f.At, Input: a.Input, Cond: exprutil.And(moved...)}
	return pushBelow(f, stay, &c), true
}

func pushFilterBelowOver(n logical.Node) (logical.Node, bool) {
	f, ok := n.(*logical.Filter)
	if !ok {
		return nil, false
	}
	o, ok := f.Input.(*logical.Over)
	if !ok {
		return nil, false
	}
	// Removing whole partitions does not change the row numbers of the
	// others, so terms over partition keys alone may move below.
	part := map[int]bool{}
	for _, k := range o.PartitionBy {
		part[k] = true
	}
	down, stay := split(f.Cond, func(t *expr.Expr) bool {
		return readsOnly(t, func(c int) bool { return part[c] })
	})
	if len(down) == 0 {
		return nil, false
	}
	c := *o
	c.Input = &logical.Filter{At: f.At, Input: o.Input, Cond: exprutil.And(down...)}
	return pushBelow(f, stay, &c), true
}

func pushFilterIntoUnion(n logical.Node) (logical.Node, bool) {
	f, ok := n.(*logical.Filter)
	if !ok {
		return nil, false
	}
	u, ok := f.Input.(*logical.Union)
	if !ok {
		return nil, false
	}
	// Every input has the union's columns: the condition applies to each.
	c := *u
	c.InputsNodes = make([]logical.Node, len(u.InputsNodes))
	for i, in := range u.InputsNodes {
		c.InputsNodes[i] = &logical.Filter{At: f.At, Input: in, Cond: f.Cond}
	}
	return &c, true
}

// pushFilterIntoJoin moves the terms of a WHERE condition over a join's
// output that read one input only into that input, where the join keeps
// every row of that input unchanged: both inputs of an inner join, the
// preserved side of an outer join, the left input of a semi or anti join.
// Over an inner join, the terms that read both inputs (and cannot fail)
// join its ON condition, where the planner can use them as join keys,
// interval bounds or a residual.
func pushFilterIntoJoin(n logical.Node) (logical.Node, bool) {
	f, ok := n.(*logical.Filter)
	if !ok {
		return nil, false
	}
	j, ok := f.Input.(*logical.Join)
	if !ok {
		return nil, false
	}
	nl := j.Left.Schema().Len()
	intoLeft := j.Type == jobgraph.InnerJoin || j.Type == jobgraph.LeftJoin || j.Type == jobgraph.SemiJoin || j.Type == jobgraph.AntiJoin
	intoRight := j.Type == jobgraph.InnerJoin || j.Type == jobgraph.RightJoin
	intoCond := j.Type == jobgraph.InnerJoin
	var left, right, both, stay []*expr.Expr
	mayFail := false
	for _, t := range exprutil.Conjuncts(f.Cond) {
		mayFail = mayFail || exprutil.MayFail(t)
		switch {
		case intoLeft && readsOnly(t, func(c int) bool { return c < nl }):
			left = append(left, t)
		case intoRight && readsOnly(t, func(c int) bool { return c >= nl }):
			right = append(right, exprutil.Remap(t, shift(-nl, nl+j.Right.Schema().Len())))
		case intoCond && !exprutil.MayFail(t):
			both = append(both, t)
		default:
			stay = append(stay, t)
		}
	}
	moved := 0
	for _, part := range [][]*expr.Expr{left, right, both, stay} {
		if len(part) > 0 {
			moved++
		}
	}
	if len(left)+len(right)+len(both) == 0 || (mayFail && moved > 1) {
		return nil, false
	}
	c := *j
	if len(both) > 0 {
		if j.Cond != nil {
			both = append(exprutil.Conjuncts(j.Cond), both...)
		}
		c.Cond = exprutil.And(both...)
	}
	if len(left) > 0 {
		c.Left = &logical.Filter{At: f.At, Input: j.Left, Cond: exprutil.And(left...)}
	}
	if len(right) > 0 {
		c.Right = &logical.Filter{At: f.At, Input: j.Right, Cond: exprutil.And(right...)}
	}
	return pushBelow(f, stay, &c), true
}

// shift returns the column map i -> i+d for i in [0, n).
func shift(d, n int) []int {
	m := make([]int, n)
	for i := range m {
		m[i] = i + d
	}
	return m
}

func mergeProjects(n logical.Node) (logical.Node, bool) {
	p, ok := n.(*logical.Project)
	if !ok {
		return nil, false
	}
	q, ok := p.Input.(*logical.Project)
	if !ok {
		return nil, false
	}
	// Do not compute an expression of q twice.
	counts := make([]int, len(q.Exprs))
	for _, e := range p.Exprs {
		exprutil.CountRefs(counts, e)
	}
	for i, c := range counts {
		if c > 1 && exprutil.IsExpensive(q.Exprs[i]) {
			return nil, false
		}
	}
	exprs := make([]*expr.Expr, len(p.Exprs))
	for i, e := range p.Exprs {
		exprs[i] = exprutil.Substitute(e, q.Exprs)
	}
	return &logical.Project{At: p.At, Input: q.Input, Exprs: exprs, Names: p.Names}, true
}

func removeIdentityProject(n logical.Node) (logical.Node, bool) {
	p, ok := n.(*logical.Project)
	if !ok {
		return nil, false
	}
	in := p.Input.Schema()
	if !exprutil.IsIdentity(p.Exprs, in.Len()) {
		return nil, false
	}
	for i, f := range in.Fields {
		if !strings.EqualFold(f.Name, p.Names[i]) {
			return nil, false
		}
	}
	return p.Input, true
}

// IsWindowColumn reports whether column c of n's output is a window column
// (window_start, window_end or window_time) of a window TVF, passed through
// filters and projections unchanged.
func IsWindowColumn(n logical.Node, c int) bool {
	for {
		switch m := n.(type) {
		case *logical.Filter:
			n = m.Input
		case *logical.Project:
			i, ok := exprutil.IsColumn(m.Exprs[c])
			if !ok {
				return false
			}
			n, c = m.Input, i
		case *logical.WindowTVF:
			return c >= m.Input.Schema().Len()
		default:
			return false
		}
	}
}
