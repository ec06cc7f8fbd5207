package agg

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

// recUpdater is an accumulator that reads several argument columns:
// Groups.Update hands it the whole record instead of one column.
type recUpdater interface {
	updateRecord(rec arrow.RecordBatch, groups []uint32, sel []int32) error
}

// udaf adapts a user-defined aggregate function (udf.Aggregate) to
// Accumulator: one udf.Accumulator per group, created when the group first
// needs one. The user's code runs behind recover, so a panic in it is an
// error of the call, not of the process.
type udaf struct {
	name     string
	fn       udf.Aggregate
	args     []int        // argument columns of the input
	argTypes []types.Type // their types, as the function was checked with
	accs     []udf.Accumulator
	cols     []arrow.Array // scratch: the argument columns of a batch
	err      error         // a state AppendState could not save
}

// logicalType returns the SQL type of the values of an Arrow column: what
// a user-defined function is told its argument types are at run time
// (VARCHAR(n) reads as STRING, TIMESTAMP_LTZ as TIMESTAMP, and NOT NULL is
// not known).
func logicalType(t arrow.DataType) (types.Type, error) {
	switch t.ID() {
	case arrow.BOOL:
		return types.BooleanType, nil
	case arrow.INT32:
		return types.IntType, nil
	case arrow.INT64:
		return types.BigIntType, nil
	case arrow.FLOAT64:
		return types.DoubleType, nil
	case arrow.DECIMAL128:
		d := t.(*arrow.Decimal128Type)
		return types.DecimalType(int(d.Precision), int(d.Scale)), nil
	case arrow.STRING:
		return types.StringType, nil
	case arrow.TIMESTAMP:
		return types.TimestampType, nil
	}
	return types.Type{}, fmt.Errorf("no SQL type carries Arrow %s", t)
}

// bindUDAF looks up the user-defined aggregate of call in funcs and checks
// it against the argument columns' types and the call's result type.
func bindUDAF(call jobgraph.AggCall, funcs *udf.Registry, argTypes []types.Type) (fn udf.Aggregate, err error) {
	if call.UDF == "" {
		return nil, fmt.Errorf("agg: user-defined aggregate call names no function")
	}
	if call.Distinct {
		return nil, fmt.Errorf("agg: DISTINCT is not supported for user-defined aggregate %q", call.UDF)
	}
	f, ok := funcs.Lookup(call.UDF)
	if !ok {
		return nil, fmt.Errorf("agg: user-defined aggregate %q is not registered (registered functions: %v)", call.UDF, funcs.Names())
	}
	fn, ok = f.(udf.Aggregate)
	if !ok {
		return nil, fmt.Errorf("agg: user-defined function %q is %T, not an aggregate function", call.UDF, f)
	}
	defer recoverUDF(&err, call.UDF, "ResultType")
	rt, err := fn.ResultType(argTypes)
	if err != nil {
		return nil, fmt.Errorf("agg: user-defined aggregate %q over %v: %w", call.UDF, argTypes, err)
	}
	if rt.Kind == types.Null || rt.Kind >= types.Interval || !arrow.TypeEqual(rt.Arrow(), call.Type.Arrow()) {
		return nil, fmt.Errorf("agg: user-defined aggregate %q over %v returns %s, but the plan expects %s", call.UDF, argTypes, rt, call.Type)
	}
	return fn, nil
}

// recoverUDF turns a panic in the user's code into *err.
func recoverUDF(err *error, name, method string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("agg: user-defined aggregate %q panicked in %s: %v", name, method, r)
	}
}

func (u *udaf) Len() int   { return len(u.accs) }
func (u *udaf) Grow(n int) { u.accs = grow(u.accs, n) }

func (u *udaf) Reset() {
	clear(u.accs)
	u.accs = u.accs[:0]
}

// acc returns group g's accumulator, creating it if needed.
func (u *udaf) acc(g uint32) (a udf.Accumulator, err error) {
	if a = u.accs[g]; a != nil {
		return a, nil
	}
	defer recoverUDF(&err, u.name, "NewAccumulator")
	if a = u.fn.NewAccumulator(u.argTypes); a == nil {
		return nil, fmt.Errorf("agg: user-defined aggregate %q returned no accumulator", u.name)
	}
	u.accs[g] = a
	return a, nil
}

// Update folds the rows of col, the only argument of a one-argument
// function (Groups.Update hands functions of any arity the whole record).
func (u *udaf) Update(col arrow.Array, groups []uint32, sel []int32) error {
	if len(u.args) != 1 {
		return fmt.Errorf("agg: user-defined aggregate %q takes %d arguments, got one column", u.name, len(u.args))
	}
	u.cols = append(u.cols[:0], col)
	return u.accumulate(groups, sel)
}

func (u *udaf) updateRecord(rec arrow.RecordBatch, groups []uint32, sel []int32) error {
	u.cols = u.cols[:0]
	for _, c := range u.args {
		u.cols = append(u.cols, rec.Column(c))
	}
	return u.accumulate(groups, sel)
}

func (u *udaf) accumulate(groups []uint32, sel []int32) (err error) {
	if u.err != nil {
		return u.err
	}
	defer recoverUDF(&err, u.name, "Accumulate")
	for k, g := range groups {
		a, err := u.acc(g)
		if err != nil {
			return err
		}
		if err := a.Accumulate(u.cols, rowOf(sel, k)); err != nil {
			return fmt.Errorf("agg: user-defined aggregate %q: %w", u.name, err)
		}
	}
	return nil
}

func (u *udaf) Merge(g uint32, src Accumulator, sg uint32) (err error) {
	s, ok := src.(*udaf)
	if !ok || s.fn != u.fn {
		return fmt.Errorf("agg: cannot merge %T into user-defined aggregate %q", src, u.name)
	}
	if s.accs[sg] == nil {
		return nil
	}
	a, err := u.acc(g)
	if err != nil {
		return err
	}
	defer recoverUDF(&err, u.name, "Merge")
	if err := a.Merge(s.accs[sg]); err != nil {
		return fmt.Errorf("agg: user-defined aggregate %q: merge: %w", u.name, err)
	}
	return nil
}

// AppendState writes 0 for a group without an accumulator, else 1, the
// length (uvarint) and the accumulator's MarshalBinary. AppendState cannot
// fail, so a MarshalBinary error is kept: the accumulator's next Update,
// MergeState or Build returns it.
func (u *udaf) AppendState(dst []byte, g uint32) []byte {
	a := u.accs[g]
	if a == nil {
		return append(dst, 0)
	}
	b, err := u.marshal(a)
	if err != nil {
		if u.err == nil {
			u.err = err
		}
		return append(dst, 0)
	}
	return append(binary.AppendUvarint(append(dst, 1), uint64(len(b))), b...)
}

func (u *udaf) marshal(a udf.Accumulator) (b []byte, err error) {
	defer recoverUDF(&err, u.name, "MarshalBinary")
	if b, err = a.MarshalBinary(); err != nil {
		return nil, fmt.Errorf("agg: user-defined aggregate %q: save state: %w", u.name, err)
	}
	return b, nil
}

func (u *udaf) MergeState(g uint32, src []byte) (rest []byte, err error) {
	if u.err != nil {
		return nil, u.err
	}
	h, src, err := readByte(src)
	if err != nil {
		return nil, err
	}
	switch h {
	case 0:
		return src, nil
	case 1:
	default:
		return nil, fmt.Errorf("agg: bad user-defined aggregate state marker %d", h)
	}
	l, w := binary.Uvarint(src)
	if w <= 0 || l > uint64(len(src)-w) {
		return nil, errTruncated
	}
	data, rest := src[w:w+int(l)], src[w+int(l):]
	a, err := u.acc(g)
	if err != nil {
		return nil, err
	}
	defer recoverUDF(&err, u.name, "UnmarshalBinary/Merge")
	loaded := u.fn.NewAccumulator(u.argTypes)
	if loaded == nil {
		return nil, fmt.Errorf("agg: user-defined aggregate %q returned no accumulator", u.name)
	}
	if err := loaded.UnmarshalBinary(data); err != nil {
		return nil, fmt.Errorf("agg: user-defined aggregate %q: restore state: %w", u.name, err)
	}
	if err := a.Merge(loaded); err != nil {
		return nil, fmt.Errorf("agg: user-defined aggregate %q: merge: %w", u.name, err)
	}
	return rest, nil
}

// Build appends each group's Result, checking that it appends exactly one
// value.
func (u *udaf) Build(b array.Builder) (err error) {
	if u.err != nil {
		return u.err
	}
	defer recoverUDF(&err, u.name, "Result")
	b.Reserve(len(u.accs))
	for g := range u.accs {
		a, err := u.acc(uint32(g))
		if err != nil {
			return err
		}
		before := b.Len()
		if err := a.Result(b); err != nil {
			return fmt.Errorf("agg: user-defined aggregate %q: result: %w", u.name, err)
		}
		if n := b.Len() - before; n != 1 {
			return fmt.Errorf("agg: user-defined aggregate %q: Result appended %d values, want 1", u.name, n)
		}
	}
	return nil
}
