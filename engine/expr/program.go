package expr

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// Program is a calc's filter and projections compiled together, so that a
// subexpression occurring more than once among them (the same function of
// the same arguments with the same types, and deterministic) is computed
// once per batch: the filter's values are gathered for the rows it keeps
// rather than computed again by the projections. A Program holds no
// mutable state: one may serve several goroutines, each with its own Run.
type Program struct {
	filter *evaluator
	projs  []*evaluator
	slots  int
}

// ProgramError is the error of CompileProgram: Err, about the filter
// (Projection -1) or projection Projection.
type ProgramError struct {
	// Projection is the index of the projection that failed to compile,
	// or -1 for the filter.
	Projection int
	// Err says why.
	Err error
}

// Error implements error: the message is Err's.
func (e *ProgramError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *ProgramError) Unwrap() error { return e.Err }

// CompileProgram compiles a filter (nil for none) and projections over the
// input schema into a Program, with the job's functions and clock. Errors
// are *ProgramError, saying which expression failed and why.
func CompileProgram(filter *Expr, projections []*Expr, input types.Schema, env Env) (*Program, error) {
	return compileProgram(filter, projections, input, env, compileOpts{})
}

// compileProgram is CompileProgram with the given switches.
func compileProgram(filter *Expr, projections []*Expr, input types.Schema, env Env, opts compileOpts) (*Program, error) {
	c := newCompiler(input, env, opts)
	pg := &Program{}
	var roots []*prog
	if filter != nil {
		p, err := c.compile(filter)
		if err != nil {
			return nil, &ProgramError{Projection: -1, Err: err}
		}
		pg.filter = newEvaluator(p, filter, input)
		roots = append(roots, p)
	}
	for i, e := range projections {
		p, err := c.compile(e)
		if err != nil {
			return nil, &ProgramError{Projection: i, Err: err}
		}
		pg.projs = append(pg.projs, newEvaluator(p, e, input))
		roots = append(roots, p)
	}
	pg.slots = c.shareCommon(roots...)
	if pg.filter != nil {
		pg.filter.slots = pg.slots
	}
	for _, ev := range pg.projs {
		ev.slots = pg.slots
	}
	return pg, nil
}

// Filter returns the filter on its own (nil when there is none).
func (pg *Program) Filter() Evaluator {
	if pg.filter == nil {
		return nil
	}
	return pg.filter
}

// Projections returns the projections, each on its own.
func (pg *Program) Projections() []Evaluator {
	out := make([]Evaluator, len(pg.projs))
	for i, ev := range pg.projs {
		out[i] = ev
	}
	return out
}

// Run is one batch's pass through a Program: Select, then Project for each
// projection, then Release.
type Run struct {
	pg   *Program
	ec   evalCtx
	base batch
	// proj is the batch of the rows Select kept: base itself when it kept
	// them all; otherwise the columns the projections read, gathered as
	// they are needed.
	proj *batch
	kept []arrow.Array
	sel  Selection
}

// Start begins a pass over n rows given as columns (see
// Evaluator.EvalColumns), allocating from mem. The caller must Release the
// Run.
func (pg *Program) Start(ctx context.Context, cols []arrow.Array, n int, mem memory.Allocator) *Run {
	r := &Run{pg: pg, ec: evalCtx{ctx: ctx, mem: mem}, sel: Selection{All: true}}
	r.base = batch{cols: cols, n: n}
	if pg.slots > 0 {
		r.base.memo, r.base.top = newMemo(pg.slots, n), &r.base
	}
	r.proj = &r.base
	return r
}

// Select evaluates the filter and keeps the rows where it is TRUE (FALSE
// and NULL drop) for the projections; without a filter it keeps every
// row. It copies nothing; Project gathers what it needs.
func (r *Run) Select() (Selection, error) {
	f := r.pg.filter
	if f == nil {
		return r.sel, nil
	}
	if k := f.root.t.Kind; k != types.Boolean && k != types.Null {
		return Selection{}, fmt.Errorf("expr: filter predicate is %s, want BOOLEAN", f.root.t)
	}
	if err := r.ec.ctx.Err(); err != nil {
		return Selection{}, err
	}
	var sel Selection
	n := r.base.n
	if k := f.root.konst; k != nil {
		// A constant predicate: all or nothing, no evaluation needed.
		sel = Selection{Indices: []int32{}}
		if !k.null && k.b {
			sel = Selection{All: true}
		}
	} else {
		if err := f.checkColumns(r.base.cols, n); err != nil {
			return Selection{}, err
		}
		v, err := f.root.eval(&r.ec, &r.base)
		if err != nil {
			return Selection{}, err
		}
		bm := trueBits(v, n)
		v.release()
		all, idx := selectionOf(bm, n)
		sel = Selection{All: all, Indices: idx}
	}
	r.sel = sel
	if !sel.All {
		r.kept = make([]arrow.Array, len(r.base.cols))
		r.proj = &batch{cols: r.kept, n: len(sel.Indices), memo: r.base.memo, rows: sel.Indices}
		r.proj.top = r.proj
	}
	return sel, nil
}

// Project evaluates projection i over the rows Select kept (every row
// before Select). The caller owns and releases the result.
func (r *Run) Project(i int) (arrow.Array, error) {
	if i < 0 || i >= len(r.pg.projs) {
		return nil, fmt.Errorf("expr: projection %d out of range: the program has %d", i, len(r.pg.projs))
	}
	ev := r.pg.projs[i]
	if err := r.ec.ctx.Err(); err != nil {
		return nil, err
	}
	if err := ev.checkColumns(r.base.cols, r.base.n); err != nil {
		return nil, err
	}
	if r.proj != &r.base {
		for _, c := range ev.cols {
			if r.kept[c] != nil {
				continue
			}
			a, err := takeArray(r.ec.mem, r.base.cols[c], r.sel.Indices)
			if err != nil {
				return nil, fmt.Errorf("expr: %w", err)
			}
			r.kept[c] = a
		}
	}
	return ev.root.evalArray(&r.ec, r.proj)
}

// Release drops what the Run holds: the gathered columns and the shared
// values.
func (r *Run) Release() {
	for i, a := range r.kept {
		if a != nil {
			a.Release()
			r.kept[i] = nil
		}
	}
	if r.base.memo != nil {
		r.base.memo.release()
	}
}
