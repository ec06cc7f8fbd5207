package expr

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// compiler turns an Expr tree into progs.
type compiler struct {
	input types.Schema
	env   Env
	opts  compileOpts
	// cse records the distinct subexpressions (nil with CSE off).
	cse *cseState
}

// newCompiler returns a compiler for expressions over input.
func newCompiler(input types.Schema, env Env, opts compileOpts) *compiler {
	c := &compiler{input: input, env: env, opts: opts}
	if !opts.noCSE {
		c.cse = newCSEState()
	}
	return c
}

// compile compiles one node, or returns the prog of an identical
// subexpression compiled before (see cse.go).
func (c *compiler) compile(e *Expr) (*prog, error) {
	if e == nil {
		return nil, fmt.Errorf("expr: nil expression")
	}
	s := c.cse
	if s == nil {
		return c.compileNode(e)
	}
	id := c.id(e)
	p, ok := s.nodes[id]
	if !ok {
		var err error
		if p, err = c.compileNode(e); err != nil {
			return nil, err
		}
		s.nodes[id] = p
		if s.uses[p] == 0 {
			s.order = append(s.order, p)
		}
	}
	s.uses[p]++
	return p, nil
}

// compileNode compiles one node and its arguments.
func (c *compiler) compileNode(e *Expr) (*prog, error) {
	switch e.Kind {
	case KindColumn:
		return c.column(e)
	case KindLiteral:
		sc, err := parseLiteral(e.Literal, e.Type)
		if err != nil {
			return nil, fmt.Errorf("expr: %w", err)
		}
		return &prog{t: e.Type, text: literalText(sc, e.Type), konst: sc}, nil
	case KindCall:
		return c.call(e)
	}
	return nil, fmt.Errorf("expr: unknown expression kind %q", e.Kind)
}

// column compiles a column reference.
func (c *compiler) column(e *Expr) (*prog, error) {
	i := e.Column
	if i < 0 || i >= len(c.input.Fields) {
		return nil, fmt.Errorf("expr: column %d out of range: the input has %d columns %s", i, len(c.input.Fields), c.input)
	}
	f := c.input.Fields[i]
	if !f.Type.SameValues(e.Type) && !(f.Type.Kind == types.String && e.Type.Kind == types.String) {
		return nil, fmt.Errorf("expr: column %d (%s) is %s, but the expression says %s", i, f.Name, f.Type, e.Type)
	}
	if err := checkValueType(f.Type); err != nil {
		return nil, fmt.Errorf("expr: column %d (%s): %w", i, f.Name, err)
	}
	p := &prog{
		t:    e.Type,
		text: f.Name,
		cols: []int{i},
		run: func(ec *evalCtx, in *batch) (value, error) {
			a := in.cols[i]
			a.Retain()
			return value{arr: a}, nil
		},
	}
	if c.cse != nil {
		c.cse.columns[p] = true
	}
	return p, nil
}

// checkValueType reports whether t can be evaluated.
func checkValueType(t types.Type) error {
	switch t.Kind {
	case types.Null, types.Boolean, types.Int, types.BigInt, types.Double, types.String, types.Timestamp, types.Interval:
		return nil
	case types.Decimal:
		return checkDecimalType(t)
	}
	return fmt.Errorf("unsupported type %s", t)
}

// call compiles a function application.
func (c *compiler) call(e *Expr) (*prog, error) {
	if err := checkValueType(e.Type); err != nil {
		return nil, fmt.Errorf("expr: %s: result %w", e.Func, err)
	}
	args := make([]*prog, len(e.Args))
	for i, a := range e.Args {
		p, err := c.compile(a)
		if err != nil {
			return nil, err
		}
		args[i] = p
	}
	var (
		p   *prog
		err error
	)
	switch e.Func {
	case FuncAdd, FuncSub, FuncMul, FuncDiv, FuncMod:
		p, err = compileArith(e.Func, e.Type, args)
	case FuncNeg:
		p, err = compileNeg(e.Type, args)
	case FuncEq, FuncNe, FuncLt, FuncLe, FuncGt, FuncGe:
		p, err = compileCompare(e.Func, e.Type, args)
	case FuncAnd, FuncOr:
		p, err = compileAndOr(e.Func, e.Type, args)
	case FuncNot:
		p, err = compileNot(e.Type, args)
	case FuncIsNull, FuncIsNotNull:
		p, err = compileIsNull(e.Func, e.Type, args)
	case FuncCast, FuncTryCast:
		p, err = compileCast(e.Func == FuncTryCast, e.Type, args)
	case FuncCase:
		p, err = compileCase(e.Type, args)
	case FuncTumbleStart:
		p, err = compileTumbleStart(e.Type, args)
	default:
		f, ok := builtins[e.Func]
		if !ok {
			return nil, fmt.Errorf("expr: unknown function %q", e.Func)
		}
		p, err = f(c, e, args)
	}
	if err != nil {
		return nil, fmt.Errorf("expr: %s: %w", e.Func, err)
	}
	if p.konst == nil && strict(e.Func) {
		// NULL in, NULL out: a strict call with a constant NULL argument is
		// NULL (the planner folds it the same way), and its other
		// arguments are not evaluated.
		for _, a := range args {
			if a.konst != nil && a.konst.null {
				p.konst = &scalar{null: true}
				break
			}
		}
	}
	if p.konst == nil && !volatile(e.Func) {
		fold(p, args)
	}
	if p.konst == nil {
		p.cols = unionCols(args)
		p.costly = p.costly || anyCostly(args...)
		c.noteCall(e, p, args)
		if tr := c.opts.trace; tr != nil && p.run != nil && !isArg(p, args) {
			run, fn := p.run, e.Func
			p.run = func(ec *evalCtx, in *batch) (value, error) {
				tr(fn, in.n)
				return run(ec, in)
			}
		}
	}
	return p, nil
}

// isArg reports whether p is one of args (a call compiled to its argument).
func isArg(p *prog, args []*prog) bool {
	for _, a := range args {
		if a == p {
			return true
		}
	}
	return false
}

// strict reports whether fn is NULL whenever an argument is NULL.
func strict(fn string) bool {
	switch fn {
	case FuncAnd, FuncOr, FuncIsNull, FuncIsNotNull, FuncCase, FuncConcatWs, FuncUDF:
		return false
	}
	return true
}

// unionCols returns the sorted union of the columns args read.
func unionCols(args []*prog) []int {
	seen := map[int]bool{}
	var cols []int
	for _, a := range args {
		for _, c := range a.cols {
			if !seen[c] {
				seen[c] = true
				cols = append(cols, c)
			}
		}
	}
	sort.Ints(cols)
	return cols
}

// fold evaluates p at Compile when all its arguments are constants. A call
// that fails (1 / 0) is left to fail at run time, on rows that reach it.
func fold(p *prog, args []*prog) {
	for _, a := range args {
		if a.konst == nil {
			return
		}
	}
	mem := memory.NewGoAllocator()
	ec := &evalCtx{ctx: context.Background(), mem: mem}
	v, err := p.run(ec, &batch{n: 1})
	if err != nil {
		return
	}
	if v.sc != nil {
		p.konst = v.sc
		return
	}
	p.konst = scalarAt(v.arr, p.t, 0)
	v.release()
}

// anyCostly reports whether some p is costly.
func anyCostly(ps ...*prog) bool {
	for _, p := range ps {
		if p.costly {
			return true
		}
	}
	return false
}

// lazy reports whether a lazy construct should evaluate p only on the rows
// that need it: when p could fail on the others or is expensive.
func (p *prog) lazy() bool { return p.konst == nil && (p.fallible || p.costly) }

// anyFallible reports whether any of ps can fail.
func anyFallible(ps ...*prog) bool {
	for _, p := range ps {
		if p.fallible {
			return true
		}
	}
	return false
}

// wantArgs checks the argument count.
func wantArgs(args []*prog, n int) error {
	if len(args) != n {
		return fmt.Errorf("want %d argument(s), got %d", n, len(args))
	}
	return nil
}

// argTypes renders the argument types for error messages.
func argTypes(args []*prog) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.t.String()
	}
	return strings.Join(parts, ", ")
}

// literalText renders a constant as SQL.
func literalText(sc *scalar, t types.Type) string {
	if sc.null {
		return "NULL"
	}
	switch t.Kind {
	case types.Boolean:
		if sc.b {
			return "TRUE"
		}
		return "FALSE"
	case types.Int, types.BigInt:
		return strconv.FormatInt(sc.i, 10)
	case types.Double:
		return string(sqltext.AppendDouble(nil, sc.f))
	case types.Decimal:
		return string(sqltext.AppendDecimal(nil, sc.d, t.Scale))
	case types.String:
		return "'" + strings.ReplaceAll(sc.s, "'", "''") + "'"
	case types.Timestamp:
		return "TIMESTAMP '" + string(sqltext.AppendTimestamp(nil, sc.i, ' ')) + "'"
	case types.Interval:
		return "INTERVAL '" + strconv.FormatInt(sc.i, 10) + "' MILLISECOND"
	}
	return "?"
}

// infix renders a binary operator call.
func infix(op string, args []*prog) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.text
	}
	return "(" + strings.Join(parts, " "+op+" ") + ")"
}
