package expr

import (
	"fmt"
	"strconv"
	"strings"
)

// Common subexpressions.
//
// With CSE on (the default), the compiler keeps one prog per distinct
// subexpression: two nodes with the same function, the same arguments
// (recursively) and the same types compile once, unless the function is
// volatile (RAND(), the clock, a user-defined function not declared
// deterministic), which makes every occurrence, and everything above it,
// distinct. A prog reached more than once gets a slot, and its run is
// wrapped (share) so that an evaluation first looks in the evaluation's memo
// for a value already computed over the same rows, or over a superset of
// them, which it then gathers: a value is only ever reused for rows it was
// computed on, so the lazy constructs (AND, OR, CASE) keep evaluating each
// argument on just the rows that reach it, and a computation that fails
// fails where it did without CSE. A shared node that is cheap and cannot
// fail, and that occurs at the top of its expression (evaluated over the
// whole batch), is computed over the whole batch even when a lazy branch
// asks first, and gathered for the branch.

// compileOpts are the compiler's switches (tests turn CSE off, and count
// evaluations).
type compileOpts struct {
	// noCSE compiles every occurrence of a subexpression separately.
	noCSE bool
	// trace, when set, is called with the function name and the row count
	// of every evaluation of a (non-constant) call.
	trace func(fn string, rows int)
}

// cseState is the compiler's record of the distinct subexpressions.
type cseState struct {
	// ids numbers structural keys; exprIDs caches the number of each node.
	ids     map[string]int
	exprIDs map[*Expr]int
	// nodes maps a subexpression number to its compiled prog.
	nodes map[int]*prog
	// uses counts the references to each prog (parents and roots).
	uses map[*prog]int
	// kids are each call's argument progs, and sameRows tells which of them
	// the call evaluates on its own rows (false: only on a subset, lazily).
	kids     map[*prog][]*prog
	sameRows map[*prog][]bool
	// columns marks column references (shared for free, never memoized).
	columns map[*prog]bool
	// order lists the progs in compile order (children first).
	order []*prog
}

func newCSEState() *cseState {
	return &cseState{
		ids: map[string]int{}, exprIDs: map[*Expr]int{}, nodes: map[int]*prog{}, uses: map[*prog]int{},
		kids: map[*prog][]*prog{}, sameRows: map[*prog][]bool{}, columns: map[*prog]bool{},
	}
}

// id returns the number of e's structure: equal for identical
// deterministic subexpressions, fresh for volatile ones.
func (c *compiler) id(e *Expr) int {
	s := c.cse
	if id, ok := s.exprIDs[e]; ok {
		return id
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s|%+v|", e.Kind, e.Type)
	switch e.Kind {
	case KindColumn:
		sb.WriteString(strconv.Itoa(e.Column))
	case KindLiteral:
		if e.Literal == nil {
			sb.WriteString("<nil>")
		} else {
			fmt.Fprintf(&sb, "%t|%q", e.Literal.Null, e.Literal.Value)
		}
	case KindCall:
		fmt.Fprintf(&sb, "%q|%q(", e.Func, e.UDF)
		for _, a := range e.Args {
			if a == nil {
				sb.WriteString("nil,")
				continue
			}
			sb.WriteString(strconv.Itoa(c.id(a)))
			sb.WriteByte(',')
		}
		sb.WriteByte(')')
		if !c.deterministic(e) {
			// A volatile call is never the same as another one.
			fmt.Fprintf(&sb, "#%d", len(s.ids))
		}
	}
	key := sb.String()
	id, ok := s.ids[key]
	if !ok {
		id = len(s.ids)
		s.ids[key] = id
	}
	s.exprIDs[e] = id
	return id
}

// Deterministic is the optional interface of a user-defined function whose
// result depends only on its arguments: calls of it with the same
// arguments are then computed once per batch, like built-in functions.
// Other user-defined functions are called at every occurrence.
type Deterministic interface {
	// Deterministic reports whether the function always returns the same
	// result for the same arguments.
	Deterministic() bool
}

// deterministic reports whether the call e (arguments aside) gives the same
// result for the same arguments: not RAND(), not the clock, and a
// user-defined function only when it says so.
func (c *compiler) deterministic(e *Expr) bool {
	if e.Func == FuncUDF {
		if c.env.Functions == nil {
			return false
		}
		f, ok := c.env.Functions.Lookup(e.UDF)
		if !ok {
			return false
		}
		d, ok := f.(Deterministic)
		return ok && d.Deterministic()
	}
	return !volatile(e.Func)
}

// noteCall records a compiled call's arguments and which of them it
// evaluates on its own rows, for the hoisting analysis.
func (c *compiler) noteCall(e *Expr, p *prog, args []*prog) {
	if c.cse == nil || p.konst != nil || isArg(p, args) {
		return
	}
	same := make([]bool, len(args))
	for i := range same {
		same[i] = true
	}
	switch e.Func {
	case FuncCase:
		lazy := false
		for _, a := range args {
			lazy = lazy || a.lazy()
		}
		if lazy {
			// The first condition sees every row; the others and the
			// results only the rows left to them, when lazy.
			for i := 1; i < len(args); i++ {
				same[i] = !args[i].lazy()
			}
		}
	case FuncAnd, FuncOr:
		first := 0
		if !anyFallible(args...) {
			for i, a := range args {
				if !a.costly {
					first = i
					break
				}
			}
		}
		for i, a := range args {
			same[i] = i == first || !a.lazy()
		}
	}
	c.cse.kids[p] = args
	c.cse.sameRows[p] = same
}

// shareCommon gives a slot to every prog reached more than once and wraps
// its run to go through the memo. It returns the number of slots.
func (c *compiler) shareCommon(roots ...*prog) int {
	s := c.cse
	if s == nil {
		return 0
	}
	// top marks the progs that some expression evaluates over its whole
	// batch.
	top := map[*prog]bool{}
	var walk func(p *prog)
	walk = func(p *prog) {
		if top[p] {
			return
		}
		top[p] = true
		for i, k := range s.kids[p] {
			if s.sameRows[p][i] {
				walk(k)
			}
		}
	}
	for _, r := range roots {
		if r != nil {
			walk(r)
		}
	}
	// risky reports whether p's subtree can fail or is expensive.
	risky := map[*prog]bool{}
	for _, p := range s.order {
		r := p.fallible || p.costly
		for _, k := range s.kids[p] {
			r = r || risky[k]
		}
		risky[p] = r
	}
	slots := 0
	for _, p := range s.order {
		if s.uses[p] < 2 || p.konst != nil || p.run == nil || s.columns[p] {
			continue
		}
		p.share(slots, top[p] && !risky[p])
		slots++
	}
	return slots
}

// share wraps p's run so that evaluations go through the memo under slot.
// hoist computes p over the expression's whole batch when a subset of it
// asks first.
func (p *prog) share(slot int, hoist bool) {
	run := p.run
	var shared func(ec *evalCtx, in *batch) (value, error)
	shared = func(ec *evalCtx, in *batch) (value, error) {
		m := in.memo
		if m == nil {
			return run(ec, in)
		}
		if v, ok, err := m.find(ec, slot, in); ok || err != nil {
			return v, err
		}
		if hoist && in.top != nil && in.top != in {
			v, err := shared(ec, in.top)
			if err != nil {
				return value{}, err
			}
			v.release()
			if v, ok, err := m.find(ec, slot, in); ok || err != nil {
				return v, err
			}
		}
		v, err := run(ec, in)
		if err != nil {
			return value{}, err
		}
		m.store(slot, in.rows, v)
		return v, nil
	}
	p.run = shared
}

// memo holds the shared values computed during one evaluation (a batch and
// the subsets of it that lazy constructs and filters create).
type memo struct {
	// n is the row count of the base batch.
	n       int
	entries [][]memoEntry
}

// memoEntry is one value of a shared node, computed over rows (ascending
// rows of the base batch; nil for all of them).
type memoEntry struct {
	rows []int32
	v    value
}

func newMemo(slots, n int) *memo {
	return &memo{n: n, entries: make([][]memoEntry, slots)}
}

// store records v (retained) as the value of slot over rows.
func (m *memo) store(slot int, rows []int32, v value) {
	if v.arr != nil {
		v.arr.Retain()
	}
	m.entries[slot] = append(m.entries[slot], memoEntry{rows: rows, v: v})
}

// release drops every stored value.
func (m *memo) release() {
	for _, es := range m.entries {
		for _, e := range es {
			e.v.release()
		}
	}
	m.entries = nil
}

// find returns the value of slot over in's rows if one was computed for
// them, or gathers it from one computed over a superset of them.
func (m *memo) find(ec *evalCtx, slot int, in *batch) (value, bool, error) {
	q := in.rows
	if q != nil && len(q) == m.n {
		q = nil // every base row, in order
	}
	var (
		from *memoEntry
		pos  []int32
	)
	es := m.entries[slot]
	for i := range es {
		e := &es[i]
		r := e.rows
		if r != nil && len(r) == m.n {
			r = nil
		}
		switch {
		case q == nil && r == nil, q != nil && r != nil && sameRows(q, r):
			return e.v.retained(), true, nil
		case q == nil || from != nil:
		case r == nil:
			from, pos = e, q
		default:
			if at, ok := positions(q, r); ok {
				from, pos = e, at
			}
		}
	}
	if from == nil {
		return value{}, false, nil
	}
	v := from.v
	if v.arr != nil {
		a, err := takeArray(ec.mem, v.arr, pos)
		if err != nil {
			return value{}, false, err
		}
		v = value{arr: a}
	}
	m.store(slot, in.rows, v)
	return v, true, nil
}

// retained returns v with its column retained once more.
func (v value) retained() value {
	if v.arr != nil {
		v.arr.Retain()
	}
	return v
}

// sameRows reports whether two row lists are equal.
func sameRows(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// positions finds each of the ascending rows q in the ascending rows r and
// returns their positions in r; ok is false when some row of q is not in r.
func positions(q, r []int32) ([]int32, bool) {
	if len(q) > len(r) {
		return nil, false
	}
	pos := make([]int32, len(q))
	j := 0
	for i, x := range q {
		for j < len(r) && r[j] < x {
			j++
		}
		if j == len(r) || r[j] != x {
			return nil, false
		}
		pos[i] = int32(j)
		j++
	}
	return pos, true
}

// subRows returns the base rows of rows idx of a batch whose base rows are
// rows (nil: the base itself).
func subRows(rows, idx []int32) []int32 {
	if rows == nil {
		return idx
	}
	out := make([]int32, len(idx))
	for j, i := range idx {
		out[j] = rows[i]
	}
	return out
}

// exprColumns returns, ascending, the input columns e references.
func exprColumns(e *Expr, n int) []int {
	seen := make([]bool, n)
	var visit func(e *Expr)
	visit = func(e *Expr) {
		if e == nil {
			return
		}
		if e.Kind == KindColumn && e.Column >= 0 && e.Column < n {
			seen[e.Column] = true
		}
		for _, a := range e.Args {
			visit(a)
		}
	}
	visit(e)
	var cols []int
	for i, s := range seen {
		if s {
			cols = append(cols, i)
		}
	}
	return cols
}
