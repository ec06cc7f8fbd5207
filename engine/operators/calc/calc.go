package calc

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Calc is the calc operator. It is built by New and driven by the runtime
// from one goroutine.
type Calc struct {
	spec   *jobgraph.OperatorSpec
	name   string
	input  types.Schema
	output *arrow.Schema
	notNul []bool
	// prog is the filter and the projections compiled together, which
	// computes their common subexpressions once per batch.
	prog  *expr.Program
	alloc memory.Allocator
	// named reports that the evaluators were recompiled with the input's
	// column names (from the first batch).
	named bool
	// env holds the job's user-defined functions and clock (set at Open;
	// expressions calling user-defined functions compile only then).
	env expr.Env
}

var _ operator.Operator = (*Calc)(nil)

// New builds a calc operator from its spec (operator.Factory). It checks
// the filter and projections against the output schema and compiles them.
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.Calc == nil {
		return nil, fmt.Errorf("calc: spec has no calc part")
	}
	name := spec.Name
	if name == "" {
		name = spec.ID
	}
	c := &Calc{spec: spec, name: name}
	cs := spec.Calc
	if len(cs.Projections) != len(spec.Output.Fields) {
		return nil, fmt.Errorf("calc %s: %d projections for %d output columns %s", name, len(cs.Projections), len(spec.Output.Fields), spec.Output)
	}
	for i, p := range cs.Projections {
		if p == nil {
			return nil, fmt.Errorf("calc %s: projection %d is missing", name, i)
		}
	}
	for _, f := range spec.Output.Fields {
		if err := checkType(f.Type); err != nil {
			return nil, fmt.Errorf("calc %s: output column %s: %w", name, f.Name, err)
		}
	}
	input, err := inputSchema(cs, nil)
	if err != nil {
		return nil, fmt.Errorf("calc %s: %w", name, err)
	}
	c.input = input
	for _, f := range spec.Output.Fields {
		c.notNul = append(c.notNul, f.Type.NotNull)
	}
	c.output = spec.Output.Arrow()
	if !c.callsUDF() {
		if err := c.compile(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// callsUDF reports whether an expression calls a user-defined function:
// those compile at Open, with the job's registry.
func (c *Calc) callsUDF() bool {
	if expr.CallsUDF(c.spec.Calc.Filter) {
		return true
	}
	for _, p := range c.spec.Calc.Projections {
		if expr.CallsUDF(p) {
			return true
		}
	}
	return false
}

// checkType reports whether t is a type the engine carries.
func checkType(t types.Type) error {
	switch t.Kind {
	case types.Null, types.Boolean, types.Int, types.BigInt, types.Double, types.String, types.Timestamp, types.Interval:
		return nil
	case types.Decimal:
		if t.Precision >= 1 && t.Precision <= 38 && t.Scale >= 0 && t.Scale <= t.Precision {
			return nil
		}
	}
	return fmt.Errorf("%s is not a valid column type", t)
}

// inputSchema derives the input columns from the column references of the
// calc's expressions: column i has the type every reference to it states,
// and the name names[i] (or "$i").
func inputSchema(cs *jobgraph.CalcSpec, names []string) (types.Schema, error) {
	var fields []types.Field
	seen := map[int]bool{}
	var visit func(e *expr.Expr) error
	visit = func(e *expr.Expr) error {
		if e == nil {
			return nil
		}
		if e.Kind == expr.KindColumn {
			i := e.Column
			if i < 0 {
				return fmt.Errorf("column reference %d out of range", i)
			}
			for len(fields) <= i {
				j := len(fields)
				name := fmt.Sprintf("$%d", j)
				if j < len(names) && names[j] != "" {
					name = names[j]
				}
				fields = append(fields, types.Field{Name: name})
			}
			if seen[i] && !fields[i].Type.SameValues(e.Type) && !(fields[i].Type.Kind == types.String && e.Type.Kind == types.String) {
				return fmt.Errorf("input column %d is referenced as %s and as %s", i, fields[i].Type, e.Type)
			}
			if !seen[i] {
				fields[i].Type = e.Type
				seen[i] = true
			}
		}
		for _, a := range e.Args {
			if err := visit(a); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(cs.Filter); err != nil {
		return types.Schema{}, err
	}
	for _, p := range cs.Projections {
		if err := visit(p); err != nil {
			return types.Schema{}, err
		}
	}
	return types.Schema{Fields: fields}, nil
}

// compile compiles the filter and projections against c.input, as one
// program.
func (c *Calc) compile() error {
	cs := c.spec.Calc
	c.prog = nil
	prog, err := expr.CompileProgram(cs.Filter, cs.Projections, c.input, c.env)
	if err != nil {
		var pe *expr.ProgramError
		if errors.As(err, &pe) && pe.Projection >= 0 && pe.Projection < len(c.spec.Output.Fields) {
			return fmt.Errorf("calc %s: projection %d (%s): %w", c.name, pe.Projection, c.spec.Output.Fields[pe.Projection].Name, pe.Err)
		}
		if errors.As(err, &pe) {
			return fmt.Errorf("calc %s: filter: %w", c.name, pe.Err)
		}
		return fmt.Errorf("calc %s: %w", c.name, err)
	}
	if f := prog.Filter(); f != nil {
		if k := f.Type().Kind; k != types.Boolean && k != types.Null {
			return fmt.Errorf("calc %s: filter is %s, want BOOLEAN", c.name, f.Type())
		}
	}
	for i, ev := range prog.Projections() {
		if f := c.spec.Output.Fields[i]; !arrow.TypeEqual(ev.Type().Arrow(), f.Type.Arrow()) {
			return fmt.Errorf("calc %s: projection %d is %s but output column %s is %s", c.name, i, ev.Type(), f.Name, f.Type)
		}
	}
	c.prog = prog
	return nil
}

// Open implements operator.Operator.
func (c *Calc) Open(ctx context.Context, oc *operator.Context) error {
	c.alloc = memory.DefaultAllocator
	if oc != nil && oc.Alloc != nil {
		c.alloc = oc.Alloc
	}
	if oc != nil {
		c.env = expr.Env{Functions: oc.Functions, Now: oc.Now}
	}
	// Compile with the job's functions and clock.
	return c.compile()
}

// nameColumns recompiles the expressions with the input's column names, so
// runtime errors name columns rather than positions.
func (c *Calc) nameColumns(rec arrow.RecordBatch) {
	c.named = true
	sc := rec.Schema()
	names := make([]string, sc.NumFields())
	for i := range names {
		names[i] = sc.Field(i).Name
	}
	input, err := inputSchema(c.spec.Calc, names)
	if err != nil {
		return
	}
	saved := *c
	c.input = input
	if err := c.compile(); err != nil {
		*c = saved // keep the unnamed evaluators
	}
}

// ProcessBatch implements operator.Operator: filter, then project.
func (c *Calc) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	n := b.NumRows()
	if n == 0 {
		return nil
	}
	if c.alloc == nil {
		c.alloc = memory.DefaultAllocator
	}
	if c.prog == nil {
		return fmt.Errorf("calc %s: a batch arrived before Open compiled the expressions", c.name)
	}
	rec := b.Record
	if b.Kinds != nil && len(b.Kinds) != n {
		return fmt.Errorf("calc %s: batch has %d rows but %d row kinds", c.name, n, len(b.Kinds))
	}
	if int(rec.NumCols()) < len(c.input.Fields) {
		return fmt.Errorf("calc %s: input has %d columns, the expressions read column %d", c.name, rec.NumCols(), len(c.input.Fields)-1)
	}
	if !c.named {
		c.nameColumns(rec)
	}
	run := c.prog.Start(ctx, rec.Columns(), n, c.alloc)
	defer run.Release()
	sel, err := run.Select()
	if err != nil {
		return fmt.Errorf("calc %s: filter: %w", c.name, err)
	}
	if !sel.All && len(sel.Indices) == 0 {
		return nil
	}
	m := sel.Len(n)
	outs := make([]arrow.Array, len(c.notNul))
	defer func() {
		for _, a := range outs {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i := range outs {
		a, err := run.Project(i)
		if err != nil {
			return fmt.Errorf("calc %s: %w", c.name, err)
		}
		outs[i] = a
		if c.notNul[i] && a.NullN() > 0 {
			return fmt.Errorf("calc %s: column %s is declared %s, but its expression gave NULL", c.name, c.spec.Output.Fields[i].Name, c.spec.Output.Fields[i].Type)
		}
	}
	res := array.NewRecordBatch(c.output, outs, int64(m))
	var kinds []stream.RowKind
	if b.Kinds != nil {
		kinds = make([]stream.RowKind, m)
		if sel.All {
			copy(kinds, b.Kinds)
		} else {
			for j, i := range sel.Indices {
				kinds[j] = b.Kinds[i]
			}
		}
	}
	return out.Emit(ctx, stream.Batch{Record: res, Kinds: kinds})
}

// ProcessWatermark implements operator.Operator; a calc holds no rows.
func (c *Calc) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return nil
}

// Close implements operator.Operator; a calc holds nothing.
func (c *Calc) Close(ctx context.Context) error { return nil }
