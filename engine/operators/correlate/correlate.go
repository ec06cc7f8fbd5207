package correlate

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

// Correlate is the correlate operator. It is built by New, bound to the
// job's table function at Open and driven by the runtime from one
// goroutine.
type Correlate struct {
	spec   *jobgraph.OperatorSpec
	name   string
	fn     udf.Table
	args   []expr.Evaluator
	nIn    int // input columns: the first nIn output columns
	fnCols []arrow.DataType
	output *arrow.Schema
	alloc  memory.Allocator
}

var _ operator.Operator = (*Correlate)(nil)

// New builds a correlate operator from its spec (operator.Factory). The
// table function is looked up at Open, in the job's registry.
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.Correlate == nil {
		return nil, fmt.Errorf("correlate: spec has no correlate part")
	}
	name := spec.Name
	if name == "" {
		name = spec.ID
	}
	cs := spec.Correlate
	if cs.Function == "" {
		return nil, fmt.Errorf("correlate %s: no table function named", name)
	}
	for i, a := range cs.Args {
		if a == nil {
			return nil, fmt.Errorf("correlate %s: argument %d of %s is missing", name, i+1, cs.Function)
		}
	}
	if spec.Output.Len() == 0 {
		return nil, fmt.Errorf("correlate %s: no output columns", name)
	}
	return &Correlate{spec: spec, name: name, output: spec.Output.Arrow()}, nil
}

// Open implements operator.Operator: it binds the table function and
// compiles its arguments against the input columns.
func (c *Correlate) Open(ctx context.Context, oc *operator.Context) error {
	c.alloc = memory.DefaultAllocator
	var env expr.Env
	if oc != nil {
		if oc.Alloc != nil {
			c.alloc = oc.Alloc
		}
		env = expr.Env{Functions: oc.Functions, Now: oc.Now}
	}
	cs := c.spec.Correlate
	f, ok := env.Functions.Lookup(cs.Function)
	if !ok {
		return fmt.Errorf("correlate %s: unknown table function %s (registered: %v)", c.name, cs.Function, env.Functions.Names())
	}
	tf, ok := f.(udf.Table)
	if !ok {
		return fmt.Errorf("correlate %s: %s is not a table function", c.name, cs.Function)
	}
	argTypes := make([]types.Type, len(cs.Args))
	for i, a := range cs.Args {
		argTypes[i] = a.Type
	}
	fs, err := tf.ResultSchema(argTypes)
	if err != nil {
		return fmt.Errorf("correlate %s: %s: %w", c.name, cs.Function, err)
	}
	out := c.spec.Output.Fields
	c.nIn = len(out) - len(fs.Fields)
	if c.nIn < 0 {
		return fmt.Errorf("correlate %s: %s returns %d columns, more than the %d output columns", c.name, cs.Function, len(fs.Fields), len(out))
	}
	c.fnCols = c.fnCols[:0]
	for k, f := range fs.Fields {
		o := out[c.nIn+k]
		if !arrow.TypeEqual(f.Type.Arrow(), o.Type.Arrow()) {
			return fmt.Errorf("correlate %s: %s column %s is %s, but output column %s is %s", c.name, cs.Function, f.Name, f.Type, o.Name, o.Type)
		}
		c.fnCols = append(c.fnCols, f.Type.Arrow())
	}
	input := types.Schema{Fields: out[:c.nIn]}
	c.args = c.args[:0]
	for i, a := range cs.Args {
		ev, err := expr.CompileWith(a, input, env)
		if err != nil {
			return fmt.Errorf("correlate %s: argument %d of %s: %w", c.name, i+1, cs.Function, err)
		}
		c.args = append(c.args, ev)
	}
	c.fn = tf
	return nil
}

// ProcessBatch implements operator.Operator: every input row joined with
// the rows the function returns for it (with Left, a row it returns none
// for is kept once, the function's columns NULL).
func (c *Correlate) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	n := b.NumRows()
	if n == 0 {
		return nil
	}
	if c.fn == nil {
		return fmt.Errorf("correlate %s: a batch arrived before Open", c.name)
	}
	rec := b.Record
	if int(rec.NumCols()) != c.nIn {
		return fmt.Errorf("correlate %s: input has %d columns, want %d", c.name, rec.NumCols(), c.nIn)
	}
	if b.Kinds != nil && len(b.Kinds) != n {
		return fmt.Errorf("correlate %s: batch has %d rows but %d row kinds", c.name, n, len(b.Kinds))
	}
	args := make([]arrow.Array, len(c.args))
	defer func() {
		for _, a := range args {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, ev := range c.args {
		a, err := ev.EvalColumns(ctx, rec.Columns(), n, c.alloc)
		if err != nil {
			return fmt.Errorf("correlate %s: %w", c.name, err)
		}
		args[i] = a
	}
	fr, idx, err := c.callFunction(ctx, args, n)
	if err != nil {
		return err
	}
	defer fr.Release()
	if err := c.checkResult(fr, idx, n); err != nil {
		return err
	}
	par, fidx, padded := c.indexes(idx, n)
	cols := make([]arrow.Array, 0, c.nIn+len(c.fnCols))
	defer func() {
		for _, a := range cols {
			a.Release()
		}
	}()
	identity := len(par) == n
	for j, p := range par {
		if int(p) != j {
			identity = false
			break
		}
	}
	for i := 0; i < c.nIn; i++ {
		if identity {
			col := rec.Column(i)
			col.Retain()
			cols = append(cols, col)
			continue
		}
		col, err := expr.Take(rec.Column(i), par, c.alloc)
		if err != nil {
			return fmt.Errorf("correlate %s: %w", c.name, err)
		}
		cols = append(cols, col)
	}
	for k := range c.fnCols {
		col, err := c.functionColumn(fr.Column(k), fidx, padded)
		if err != nil {
			return err
		}
		cols = append(cols, col)
	}
	m := len(par)
	if m == 0 {
		return nil
	}
	var kinds []stream.RowKind
	if b.Kinds != nil {
		kinds = make([]stream.RowKind, m)
		for j, p := range par {
			kinds[j] = b.Kinds[p]
		}
	}
	res := array.NewRecordBatch(c.output, cols, int64(m))
	return out.Emit(ctx, stream.Batch{Record: res, Kinds: kinds})
}

// callFunction calls the table function, turning a panic into an error.
func (c *Correlate) callFunction(ctx context.Context, args []arrow.Array, n int) (rec arrow.RecordBatch, idx []int32, err error) {
	defer func() {
		if r := recover(); r != nil {
			rec, idx, err = nil, nil, fmt.Errorf("correlate %s: table function %s panicked: %v", c.name, c.spec.Correlate.Function, r)
		}
	}()
	rec, idx, err = c.fn.Eval(ctx, args, n, c.alloc)
	if err != nil {
		return nil, nil, fmt.Errorf("correlate %s: table function %s: %w", c.name, c.spec.Correlate.Function, err)
	}
	if rec == nil {
		return nil, nil, fmt.Errorf("correlate %s: table function %s returned no record", c.name, c.spec.Correlate.Function)
	}
	return rec, idx, nil
}

// checkResult checks what the function returned: its columns, and one
// input row index per row, non-decreasing and in range.
func (c *Correlate) checkResult(fr arrow.RecordBatch, idx []int32, n int) error {
	fn := c.spec.Correlate.Function
	if int(fr.NumCols()) != len(c.fnCols) {
		return fmt.Errorf("correlate %s: table function %s returned %d columns, want %d", c.name, fn, fr.NumCols(), len(c.fnCols))
	}
	for k, dt := range c.fnCols {
		if !arrow.TypeEqual(fr.Column(k).DataType(), dt) {
			return fmt.Errorf("correlate %s: table function %s returned column %d as %s, want %s", c.name, fn, k+1, fr.Column(k).DataType(), dt)
		}
	}
	if int(fr.NumRows()) != len(idx) {
		return fmt.Errorf("correlate %s: table function %s returned %d rows but %d row indexes", c.name, fn, fr.NumRows(), len(idx))
	}
	prev := int32(0)
	for k, i := range idx {
		if i < prev || int(i) >= n {
			return fmt.Errorf("correlate %s: table function %s: row index %d (row %d) is out of order or range (%d input rows)", c.name, fn, i, k, n)
		}
		prev = i
	}
	return nil
}

// indexes returns, per output row, the input row (par) and the function
// row (fidx; nil when it is simply 0, 1, ...; -1 for the NULLs of a kept
// unmatched row, which makes padded true).
func (c *Correlate) indexes(idx []int32, n int) (par, fidx []int32, padded bool) {
	if !c.spec.Correlate.Left {
		return idx, nil, false
	}
	par = make([]int32, 0, max(len(idx), n))
	fidx = make([]int32, 0, cap(par))
	k := 0
	for i := 0; i < n; i++ {
		matched := false
		for k < len(idx) && int(idx[k]) == i {
			par = append(par, int32(i))
			fidx = append(fidx, int32(k))
			k++
			matched = true
		}
		if !matched {
			par = append(par, int32(i))
			fidx = append(fidx, -1)
			padded = true
		}
	}
	if !padded {
		return par, nil, false
	}
	return par, fidx, true
}

// functionColumn arranges a function column for the output rows.
func (c *Correlate) functionColumn(col arrow.Array, fidx []int32, padded bool) (arrow.Array, error) {
	if fidx == nil {
		col.Retain()
		return col, nil
	}
	src := col
	if padded {
		// One NULL row past the function's rows stands for the NULLs.
		null := array.MakeArrayOfNull(c.alloc, col.DataType(), 1)
		joined, err := array.Concatenate([]arrow.Array{col, null}, c.alloc)
		null.Release()
		if err != nil {
			return nil, fmt.Errorf("correlate %s: %w", c.name, err)
		}
		defer joined.Release()
		src = joined
		nullRow := int32(col.Len())
		fixed := make([]int32, len(fidx))
		for j, k := range fidx {
			if k < 0 {
				k = nullRow
			}
			fixed[j] = k
		}
		fidx = fixed
	}
	out, err := expr.Take(src, fidx, c.alloc)
	if err != nil {
		return nil, fmt.Errorf("correlate %s: %w", c.name, err)
	}
	return out, nil
}

// ProcessWatermark implements operator.Operator; the operator holds no
// rows.
func (c *Correlate) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return nil
}

// Close implements operator.Operator; the operator holds nothing.
func (c *Correlate) Close(ctx context.Context) error { return nil }
