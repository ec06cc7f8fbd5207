package agg

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Accumulator holds the running state of one aggregate call for a dense
// range of groups 0..Len()-1, in typed vectors indexed by group id.
type Accumulator interface {
	// Len returns the number of groups.
	Len() int
	// Grow makes groups up to n-1 exist; the new ones are empty.
	Grow(n int)
	// Update folds rows of col into their groups: groups[k] is the group of
	// row k (sel nil) or of row sel[k]. col is nil for COUNT(*). Groups must
	// exist (Grow first).
	Update(col arrow.Array, groups []uint32, sel []int32) error
	// Merge folds group sg of src, an accumulator built from the same call
	// and input type, into group g.
	Merge(g uint32, src Accumulator, sg uint32) error
	// AppendState appends the encoded state of group g to dst.
	AppendState(dst []byte, g uint32) []byte
	// MergeState folds an encoded state (written by AppendState) from the
	// front of src into group g and returns what follows it.
	MergeState(g uint32, src []byte) ([]byte, error)
	// Build appends the result of every group, in group order, to b, a
	// builder of the call's result type.
	Build(b array.Builder) error
	// Reset drops every group, keeping memory for reuse.
	Reset()
}

// New returns an accumulator for call over an input column of Arrow type in
// (nil for COUNT(*)). It checks that call.Type is a result type it can
// produce, following Flink: COUNT is BIGINT; SUM of INT is INT (wrapping) or
// BIGINT, of BIGINT is BIGINT, of DOUBLE is DOUBLE, of DECIMAL(p, s) is
// DECIMAL(p', s); AVG of INT/BIGINT is INT, BIGINT (the sum, kept in a
// BIGINT, divided by the count and truncated) or DOUBLE, of DOUBLE is
// DOUBLE, of DECIMAL(p, s) is DECIMAL(p', s') with s' >= s, rounded half
// up; MIN/MAX keep the input type.
func New(call jobgraph.AggCall, in arrow.DataType) (Accumulator, error) {
	rt := call.Type
	bad := func() error {
		return fmt.Errorf("agg: %s over %s giving %s is not supported", call.Func, typeName(in), rt)
	}
	if call.Func != jobgraph.CountStar && in == nil {
		return nil, fmt.Errorf("agg: %s needs an input column", call.Func)
	}
	switch call.Func {
	case jobgraph.CountStar, jobgraph.Count:
		if rt.Kind != types.BigInt {
			return nil, bad()
		}
		return &count{star: call.Func == jobgraph.CountStar}, nil
	case jobgraph.Sum, jobgraph.Avg:
		avg := call.Func == jobgraph.Avg
		switch in.ID() {
		case arrow.INT32, arrow.INT64:
			ok := rt.Kind == types.BigInt || (in.ID() == arrow.INT32 && rt.Kind == types.Int)
			if avg {
				ok = rt.Kind == types.Int || rt.Kind == types.BigInt || rt.Kind == types.Double
			}
			if !ok {
				return nil, bad()
			}
			if in.ID() == arrow.INT32 {
				return &num[int32, int64]{avg: avg, out: rt.Kind}, nil
			}
			return &num[int64, int64]{avg: avg, out: rt.Kind}, nil
		case arrow.FLOAT64:
			if rt.Kind != types.Double {
				return nil, bad()
			}
			return &num[float64, float64]{avg: avg, out: rt.Kind}, nil
		case arrow.DECIMAL128:
			s := int(in.(*arrow.Decimal128Type).Scale)
			if rt.Kind != types.Decimal || rt.Precision < 1 || rt.Precision > 38 || rt.Scale < s || (!avg && rt.Scale != s) {
				return nil, bad()
			}
			return newDec(avg, int32(s), int32(rt.Precision), int32(rt.Scale)), nil
		}
		return nil, bad()
	case jobgraph.Min, jobgraph.Max:
		if !arrow.TypeEqual(rt.Arrow(), in) {
			return nil, bad()
		}
		isMax := call.Func == jobgraph.Max
		switch in.ID() {
		case arrow.INT32:
			return &ordered[int32]{extremes[int32]{isMax: isMax}}, nil
		case arrow.INT64:
			return &ordered[int64]{extremes[int64]{isMax: isMax}}, nil
		case arrow.TIMESTAMP:
			return &ordered[arrow.Timestamp]{extremes[arrow.Timestamp]{isMax: isMax}}, nil
		case arrow.FLOAT64:
			return &ordered[float64]{extremes[float64]{isMax: isMax}}, nil
		case arrow.DECIMAL128:
			return &decMinMax{extremes[decimal128.Num]{isMax: isMax}}, nil
		case arrow.BOOL:
			return &boolean{extremes[bool]{isMax: isMax}}, nil
		case arrow.STRING:
			return &str{extremes[[]byte]{isMax: isMax}}, nil
		}
		return nil, bad()
	}
	return nil, fmt.Errorf("agg: unknown aggregate function %q", call.Func)
}

func typeName(t arrow.DataType) string {
	if t == nil {
		return "*"
	}
	return t.String()
}

// rowOf returns the input row of the k-th update.
func rowOf(sel []int32, k int) int {
	if sel != nil {
		return int(sel[k])
	}
	return k
}

// grow extends s to n elements, the new ones zero.
func grow[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		old := len(s)
		s = s[:n]
		clear(s[old:])
		return s
	}
	t := make([]T, n, max(n, 2*cap(s)))
	copy(t, s)
	return t
}

var errTruncated = fmt.Errorf("agg: encoded state is truncated")

func readU64(src []byte) (uint64, []byte, error) {
	if len(src) < 8 {
		return 0, nil, errTruncated
	}
	return binary.LittleEndian.Uint64(src), src[8:], nil
}

func readByte(src []byte) (byte, []byte, error) {
	if len(src) < 1 {
		return 0, nil, errTruncated
	}
	return src[0], src[1:], nil
}

// count is COUNT(*) and COUNT(col).
type count struct {
	star bool
	n    []int64
}

func (c *count) Len() int   { return len(c.n) }
func (c *count) Grow(n int) { c.n = grow(c.n, n) }
func (c *count) Reset()     { c.n = c.n[:0] }

func (c *count) Update(col arrow.Array, groups []uint32, sel []int32) error {
	n := c.n
	if c.star || col.NullN() == 0 {
		for _, g := range groups {
			n[g]++
		}
		return nil
	}
	v, _ := rowkey.ValidityOf(col)
	for k, g := range groups {
		if !v.Null(rowOf(sel, k)) {
			n[g]++
		}
	}
	return nil
}

func (c *count) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*count)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into COUNT", src)
	}
	c.n[g] += s.n[sg]
	return nil
}

func (c *count) AppendState(dst []byte, g uint32) []byte {
	return binary.LittleEndian.AppendUint64(dst, uint64(c.n[g]))
}

func (c *count) MergeState(g uint32, src []byte) ([]byte, error) {
	v, rest, err := readU64(src)
	if err != nil {
		return nil, err
	}
	c.n[g] += int64(v)
	return rest, nil
}

func (c *count) Build(b array.Builder) error {
	bb, ok := b.(*array.Int64Builder)
	if !ok {
		return fmt.Errorf("agg: COUNT builds BIGINT, got a %s builder", b.Type())
	}
	bb.AppendValues(c.n, nil)
	return nil
}

// numeric is an input type SUM and AVG accept without DECIMAL arithmetic.
type numeric interface{ ~int32 | ~int64 | ~float64 }

// values returns the values of col as []T, or an error when col does not
// hold T.
func values[T any](col arrow.Array) ([]T, error) {
	var vs any
	switch a := col.(type) {
	case *array.Int32:
		vs = a.Int32Values()
	case *array.Int64:
		vs = a.Int64Values()
	case *array.Float64:
		vs = a.Float64Values()
	case *array.Timestamp:
		vs = a.TimestampValues()
	}
	t, ok := vs.([]T)
	if !ok {
		var zero T
		return nil, fmt.Errorf("agg: input column is %s, want %T values", col.DataType(), zero)
	}
	return t, nil
}

// num is SUM or AVG over INT, BIGINT or DOUBLE: a sum of type S (int64 for
// integers, wrapping as Flink's long arithmetic does; float64 for doubles)
// and a count of non-NULL values.
type num[I numeric, S int64 | float64] struct {
	avg bool
	out types.Kind
	sum []S
	cnt []int64
	// Build's scratch: the results ([]int32, []int64 or []float64) and
	// their validity.
	res   any
	valid []bool
}

func (a *num[I, S]) Len() int { return len(a.cnt) }
func (a *num[I, S]) Grow(n int) {
	a.sum = grow(a.sum, n)
	a.cnt = grow(a.cnt, n)
}
func (a *num[I, S]) Reset() {
	a.sum = a.sum[:0]
	a.cnt = a.cnt[:0]
}

func (a *num[I, S]) Update(col arrow.Array, groups []uint32, sel []int32) error {
	vs, err := values[I](col)
	if err != nil {
		return err
	}
	sum, cnt := a.sum, a.cnt
	switch {
	case col.NullN() == 0 && sel == nil:
		vs = vs[:len(groups)]
		for k, g := range groups {
			sum[g] += S(vs[k])
			cnt[g]++
		}
	case col.NullN() == 0:
		for k, g := range groups {
			sum[g] += S(vs[sel[k]])
			cnt[g]++
		}
	default:
		v, _ := rowkey.ValidityOf(col)
		for k, g := range groups {
			if r := rowOf(sel, k); !v.Null(r) {
				sum[g] += S(vs[r])
				cnt[g]++
			}
		}
	}
	return nil
}

func (a *num[I, S]) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*num[I, S])
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into %T", src, a)
	}
	a.sum[g] += s.sum[sg]
	a.cnt[g] += s.cnt[sg]
	return nil
}

func (a *num[I, S]) AppendState(dst []byte, g uint32) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(a.cnt[g]))
	return binary.LittleEndian.AppendUint64(dst, sbits(a.sum[g]))
}

func (a *num[I, S]) MergeState(g uint32, src []byte) ([]byte, error) {
	c, src, err := readU64(src)
	if err != nil {
		return nil, err
	}
	s, src, err := readU64(src)
	if err != nil {
		return nil, err
	}
	a.cnt[g] += int64(c)
	a.sum[g] += sfrom[S](s)
	return src, nil
}

func sbits[S int64 | float64](v S) uint64 {
	switch x := any(v).(type) {
	case float64:
		return math.Float64bits(x)
	case int64:
		return uint64(x)
	}
	return 0
}

func sfrom[S int64 | float64](u uint64) S {
	var z S
	switch any(z).(type) {
	case float64:
		return any(math.Float64frombits(u)).(S)
	}
	return any(int64(u)).(S)
}

func (a *num[I, S]) Build(b array.Builder) error {
	switch bb := b.(type) {
	case *array.Int32Builder:
		if a.out == types.Int {
			bb.AppendValues(results[int32](a))
			return nil
		}
	case *array.Int64Builder:
		if a.out == types.BigInt {
			bb.AppendValues(results[int64](a))
			return nil
		}
	case *array.Float64Builder:
		if a.out == types.Double {
			bb.AppendValues(results[float64](a))
			return nil
		}
	}
	return fmt.Errorf("agg: result %s cannot be built into a %s builder", a.out, b.Type())
}

// results returns each group's result as a V, valid where the group had
// values: the sum, or for AVG the sum divided by the count (truncated for
// integer results, whose sums are BIGINT). The slices are a's scratch,
// valid until the next call.
func results[V int32 | int64 | float64, I numeric, S int64 | float64](a *num[I, S]) ([]V, []bool) {
	n := len(a.cnt)
	out, _ := a.res.([]V)
	out = grow(out[:0], n)
	a.res = out
	a.valid = grow(a.valid[:0], n)
	valid := a.valid
	var zero V
	_, double := any(zero).(float64)
	for g, c := range a.cnt {
		valid[g] = c != 0
		switch {
		case c == 0:
			out[g] = 0
		case !a.avg:
			out[g] = V(a.sum[g])
		case double:
			out[g] = V(float64(a.sum[g]) / float64(c))
		default:
			out[g] = V(int64(a.sum[g]) / c)
		}
	}
	return out, valid
}
