package union

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Union is the union operator. It is built by New and driven by the
// runtime from one goroutine.
type Union struct {
	name   string
	inputs int
	out    *arrow.Schema
}

var _ operator.Operator = (*Union)(nil)

// New builds a union operator from its spec (operator.Factory).
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	if spec == nil || spec.Union == nil {
		return nil, fmt.Errorf("union: spec has no union part")
	}
	name := spec.Name
	if name == "" {
		name = spec.ID
	}
	if spec.Union.Inputs < 1 {
		return nil, fmt.Errorf("union %s: %d inputs, want at least 1", name, spec.Union.Inputs)
	}
	if spec.Output.Len() == 0 {
		return nil, fmt.Errorf("union %s: no output columns", name)
	}
	for _, f := range spec.Output.Fields {
		switch f.Type.Kind {
		case types.Boolean, types.Int, types.BigInt, types.Double, types.Decimal, types.String, types.Timestamp:
		default:
			return nil, fmt.Errorf("union %s: column %s has type %s, which cannot be a column", name, f.Name, f.Type)
		}
	}
	return &Union{name: name, inputs: spec.Union.Inputs, out: spec.Output.Arrow()}, nil
}

// Open implements operator.Operator.
func (u *Union) Open(ctx context.Context, oc *operator.Context) error { return nil }

// ProcessBatch forwards b's rows as a batch of the union's schema.
func (u *Union) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if input < 0 || input >= u.inputs {
		return fmt.Errorf("union %s: batch from input %d, the union has %d", u.name, input, u.inputs)
	}
	rec := b.Record
	if rec == nil || rec.NumRows() == 0 {
		return nil
	}
	if int(rec.NumCols()) != u.out.NumFields() {
		return fmt.Errorf("union %s: input %d has %d columns, the union %d", u.name, input, rec.NumCols(), u.out.NumFields())
	}
	for i, f := range u.out.Fields() {
		if got := rec.Column(i).DataType(); !arrow.TypeEqual(got, f.Type) {
			return fmt.Errorf("union %s: input %d column %d (%s) is %s, the union's is %s", u.name, input, i, f.Name, got, f.Type)
		}
	}
	var kinds []stream.RowKind
	if b.Kinds != nil {
		kinds = append(kinds, b.Kinds...)
	}
	if rec.Schema().Equal(u.out) {
		rec.Retain()
		return out.Emit(ctx, stream.Batch{Record: rec, Kinds: kinds})
	}
	// Same arrays, the union's names: NewRecordBatch retains the columns.
	return out.Emit(ctx, stream.Batch{Record: array.NewRecordBatch(u.out, rec.Columns(), rec.NumRows()), Kinds: kinds})
}

// ProcessWatermark implements operator.Operator: the union holds nothing.
func (u *Union) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return nil
}

// Close implements operator.Operator.
func (u *Union) Close(ctx context.Context) error { return nil }
