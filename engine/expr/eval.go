package expr

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// Evaluator computes one compiled expression a whole column at a time.
// An Evaluator holds no mutable state: one may serve several goroutines.
// (Input arrays shared between goroutines must have known NULL counts:
// arrow computes a slice's count lazily, on first use, without locking.)
type Evaluator interface {
	// Type is the result type of the expression.
	Type() types.Type
	// Columns lists, ascending, the input columns the expression reads.
	Columns() []int
	// Eval computes the expression for every row of rec, allocating from
	// mem. The caller owns the result and must Release it. A bare column
	// reference returns the input column itself, retained (zero copy).
	// Eval fails, naming the expression and the offending value, when a
	// row cannot be computed (integer division by zero, a CAST of text
	// that is not a number, ...).
	Eval(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.Array, error)
	// EvalColumns is Eval over n rows given as columns: cols[i] is input
	// column i, and may be nil when the expression does not read it (see
	// Columns).
	EvalColumns(ctx context.Context, cols []arrow.Array, n int, mem memory.Allocator) (arrow.Array, error)
}

// batch is the input of one evaluation: the input columns (nil where not
// read) and the row count.
type batch struct {
	cols []arrow.Array
	n    int
	// memo holds the values of shared subexpressions computed during the
	// evaluation (nil when the expression shares none; see cse.go).
	memo *memo
	// rows are, with a memo, the rows of the evaluation's base batch that
	// this batch holds (nil: all of them, in order).
	rows []int32
	// top is, with a memo, the batch the whole expression is evaluated
	// over (a lazy construct evaluates its arguments over subsets of it).
	top *batch
}

// evalCtx carries what every kernel needs during one evaluation.
type evalCtx struct {
	ctx context.Context
	mem memory.Allocator
}

// prog is a compiled expression node.
type prog struct {
	t types.Type
	// text renders the node as SQL, for error messages.
	text string
	// fallible reports whether evaluating the subtree can fail on some
	// input (integer division, CAST from text, ...), in which case lazy
	// constructs (AND, OR, CASE) evaluate it only on the rows that need it.
	fallible bool
	// costly reports that the subtree calls something expensive per row
	// (a regular expression, ...), which lazy constructs (AND, OR, CASE)
	// then also evaluate only on the rows that need it.
	costly bool
	// konst is the node's value when it is a constant (a literal, or a
	// call folded at Compile).
	konst *scalar
	// cols lists, ascending, the input columns the subtree reads.
	cols []int
	// run computes the node; unset for constants.
	run func(ec *evalCtx, in *batch) (value, error)
}

// eval computes p over in.
func (p *prog) eval(ec *evalCtx, in *batch) (value, error) {
	if p.konst != nil {
		return value{sc: p.konst}, nil
	}
	return p.run(ec, in)
}

// strictBinary returns the run function of a strict call with operands l
// and r: it evaluates both and applies k to them, unless one is the
// constant NULL, which makes the result NULL. The operands are released
// after k, which must not keep them.
func strictBinary(l, r *prog, k func(ec *evalCtx, lv, rv value, n int) (value, error)) func(*evalCtx, *batch) (value, error) {
	return func(ec *evalCtx, in *batch) (value, error) {
		lv, err := l.eval(ec, in)
		if err != nil {
			return value{}, err
		}
		defer lv.release()
		rv, err := r.eval(ec, in)
		if err != nil {
			return value{}, err
		}
		defer rv.release()
		if lv.isNullScalar() || rv.isNullScalar() {
			return value{sc: &scalar{null: true}}, nil
		}
		return k(ec, lv, rv, in.n)
	}
}

// evalArray computes p over in as a column (constants are broadcast).
func (p *prog) evalArray(ec *evalCtx, in *batch) (arrow.Array, error) {
	v, err := p.eval(ec, in)
	if err != nil {
		return nil, err
	}
	return materialize(ec.mem, v, p.t, in.n), nil
}

// evaluator implements Evaluator.
type evaluator struct {
	root  *prog
	input types.Schema
	arrow []arrow.DataType
	cols  []int
	// slots counts the shared subexpressions (see cse.go).
	slots int
}

// Type implements Evaluator.
func (e *evaluator) Type() types.Type { return e.root.t }

// Columns implements Evaluator.
func (e *evaluator) Columns() []int { return append([]int(nil), e.cols...) }

// String renders the expression as SQL.
func (e *evaluator) String() string { return e.root.text }

// Eval implements Evaluator.
func (e *evaluator) Eval(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.Array, error) {
	if rec == nil {
		return nil, fmt.Errorf("expr: evaluate %s: nil record batch", e.root.text)
	}
	return e.EvalColumns(ctx, rec.Columns(), int(rec.NumRows()), mem)
}

// EvalColumns implements Evaluator.
func (e *evaluator) EvalColumns(ctx context.Context, cols []arrow.Array, n int, mem memory.Allocator) (arrow.Array, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.checkColumns(cols, n); err != nil {
		return nil, err
	}
	ec := &evalCtx{ctx: ctx, mem: mem}
	in := &batch{cols: cols, n: n}
	if e.slots > 0 {
		in.memo, in.top = newMemo(e.slots, n), in
		defer in.memo.release()
	}
	out, err := e.root.evalArray(ec, in)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkColumns checks that cols holds n rows of every column e reads, of
// the input's types.
func (e *evaluator) checkColumns(cols []arrow.Array, n int) error {
	for _, c := range e.cols {
		if c >= len(cols) || cols[c] == nil {
			return fmt.Errorf("expr: evaluate %s: input column %d (%s) is missing", e.root.text, c, e.input.Fields[c].Name)
		}
		a := cols[c]
		if a.Len() != n {
			return fmt.Errorf("expr: evaluate %s: input column %d (%s) has %d rows, want %d", e.root.text, c, e.input.Fields[c].Name, a.Len(), n)
		}
		if !arrow.TypeEqual(a.DataType(), e.arrow[c]) {
			return fmt.Errorf("expr: evaluate %s: input column %d (%s) is %s, want %s", e.root.text, c, e.input.Fields[c].Name, a.DataType(), e.arrow[c])
		}
	}
	return nil
}

// Compile type-checks e against the input schema and compiles it into an
// Evaluator. Errors name the function and the offending argument types.
// Literals are parsed once here, and calls whose arguments are all
// constants are folded.
func Compile(e *Expr, input types.Schema) (Evaluator, error) {
	return compileEnv(e, input, Env{})
}

// compileEnv is Compile and CompileWith.
func compileEnv(e *Expr, input types.Schema, env Env) (Evaluator, error) {
	return compileOne(e, input, env, compileOpts{})
}

// compileOne compiles one expression with the given switches.
func compileOne(e *Expr, input types.Schema, env Env, opts compileOpts) (*evaluator, error) {
	c := newCompiler(input, env, opts)
	p, err := c.compile(e)
	if err != nil {
		return nil, err
	}
	ev := newEvaluator(p, e, input)
	ev.slots = c.shareCommon(p)
	return ev, nil
}

// newEvaluator wraps the compiled root p of e.
func newEvaluator(p *prog, e *Expr, input types.Schema) *evaluator {
	ev := &evaluator{root: p, input: input, arrow: make([]arrow.DataType, len(input.Fields))}
	ev.cols = exprColumns(e, len(input.Fields))
	for _, i := range ev.cols {
		ev.arrow[i] = input.Fields[i].Type.Arrow()
	}
	return ev
}
