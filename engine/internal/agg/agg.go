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
	// and input type, into group g (src may be the accumulator itself, sg
	// another group). The order of merges is free: merging partial groups
	// in any order, directly or through their encoded states, gives the
	// group that one accumulator fed every row in arrival order would
	// hold. (The window buffer merges a window's older, spilled state into
	// its newer state in memory; FIRST_VALUE and LAST_VALUE keep arrival
	// numbers to stay right whatever the order.)
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

// Retractable is an Accumulator that can take a group's state back out of
// another: Subtract(g, src, sg) undoes Merge(g, src, sg), leaving group g as
// if the rows of group sg of src had never reached it. Only invertible
// aggregates implement it (COUNT, and SUM and AVG over INT, BIGINT and
// DECIMAL); Calls.Invertible says whether every call of an operator does.
// A sliding window can then keep one running group per key and subtract the
// slice that leaves it instead of merging all the slices it spans.
type Retractable interface {
	Accumulator
	// Subtract removes group sg of src, an accumulator of the same call
	// and input type whose rows were merged into group g, from group g.
	Subtract(g uint32, src Accumulator, sg uint32) error
}

// New returns an accumulator for call over an input column of Arrow type in
// (nil for COUNT(*)). It checks that call.Type is a result type it can
// produce, following Flink: COUNT is BIGINT; SUM of INT is INT (wrapping) or
// BIGINT, of BIGINT is BIGINT, of DOUBLE is DOUBLE, of DECIMAL(p, s) is
// DECIMAL(p', s); AVG of INT/BIGINT is INT, BIGINT (the sum, kept in a
// BIGINT, divided by the count and truncated) or DOUBLE, of DOUBLE is
// DOUBLE, of DECIMAL(p, s) is DECIMAL(p', s') with s' >= s, rounded half
// up; MIN/MAX, FIRST_VALUE and LAST_VALUE keep the input type;
// APPROX_COUNT_DISTINCT is BIGINT.
//
// With call.Distinct, COUNT, SUM and AVG aggregate the distinct non-NULL
// values of each group (SQL-equal values are one value: -0.0 is 0.0 and
// every NaN is one NaN); MIN, MAX, FIRST_VALUE and APPROX_COUNT_DISTINCT
// are the same with or without DISTINCT. COUNT(*) and LAST_VALUE take no
// DISTINCT.
//
// A user-defined aggregate (jobgraph.UDAF) needs the job's function
// registry: Bind it, New refuses it.
func New(call jobgraph.AggCall, in arrow.DataType) (Accumulator, error) {
	if call.Func == jobgraph.UDAF {
		return nil, fmt.Errorf("agg: user-defined aggregate %q needs the job's function registry: bind it with agg.Bind", call.UDF)
	}
	if call.Func != jobgraph.CountStar && in == nil {
		return nil, fmt.Errorf("agg: %s needs an input column", call.Func)
	}
	if call.Type.Kind > types.Interval {
		return nil, fmt.Errorf("agg: %s has an unknown result type (kind %d)", call.Func, call.Type.Kind)
	}
	if !call.Distinct {
		return newPlain(call, in)
	}
	switch call.Func {
	case jobgraph.Count, jobgraph.Sum, jobgraph.Avg:
		plain := call
		plain.Distinct = false
		a, err := newPlain(plain, in)
		if err != nil {
			return nil, err
		}
		inner, ok := a.(encodedAdder)
		if !ok {
			return nil, fmt.Errorf("agg: %s over %s cannot take DISTINCT", call.Func, typeName(in))
		}
		return newDistinct(inner, in)
	case jobgraph.Min, jobgraph.Max, jobgraph.FirstValue, jobgraph.ApproxCountDistinct:
		// The first value of the distinct values is the first value; the
		// extremes and the distinct count do not see duplicates.
		return newPlain(call, in)
	case jobgraph.CountStar:
		return nil, fmt.Errorf("agg: COUNT(*) takes no DISTINCT; use COUNT(DISTINCT col)")
	}
	return nil, fmt.Errorf("agg: %s does not support DISTINCT", call.Func)
}

// newPlain returns the accumulator of a call without DISTINCT.
func newPlain(call jobgraph.AggCall, in arrow.DataType) (Accumulator, error) {
	rt := call.Type
	bad := func() error {
		return fmt.Errorf("agg: %s over %s giving %s is not supported", call.Func, typeName(in), rt)
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
	case jobgraph.FirstValue, jobgraph.LastValue:
		if rt.Kind == types.Null || rt.Kind == types.Interval || !arrow.TypeEqual(rt.Arrow(), in) {
			return nil, bad()
		}
		if a := newPick(call.Func == jobgraph.LastValue, in); a != nil {
			return a, nil
		}
		return nil, bad()
	case jobgraph.ApproxCountDistinct:
		if rt.Kind != types.BigInt {
			return nil, bad()
		}
		a, err := newHLL(in)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", bad(), err)
		}
		return a, nil
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

// Subtract implements Retractable.
func (c *count) Subtract(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*count)
	if !ok {
		return fmt.Errorf("agg: cannot subtract %T from COUNT", src)
	}
	c.n[g] -= s.n[sg]
	return nil
}

// addEncoded counts one more (distinct) value.
func (c *count) addEncoded(g uint32, _ []byte) error {
	c.n[g]++
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

// Subtract implements Retractable for integer inputs. Floating-point
// addition cannot be undone exactly (and Inf - Inf is NaN), so SUM and AVG
// of DOUBLE refuse.
func (a *num[I, S]) Subtract(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*num[I, S])
	if !ok {
		return fmt.Errorf("agg: cannot subtract %T from %T", src, a)
	}
	var zero S
	if _, double := any(zero).(float64); double {
		return fmt.Errorf("agg: SUM and AVG of DOUBLE are not invertible")
	}
	a.sum[g] -= s.sum[sg]
	a.cnt[g] -= s.cnt[sg]
	return nil
}

// addEncoded adds one value in the rowkey key format without its marker
// byte (a distinct value).
func (a *num[I, S]) addEncoded(g uint32, v []byte) error {
	var x I
	switch p := any(&x).(type) {
	case *int32:
		if len(v) != 4 {
			return errValueWidth(len(v), 4)
		}
		*p = int32(binary.LittleEndian.Uint32(v))
	case *int64:
		if len(v) != 8 {
			return errValueWidth(len(v), 8)
		}
		*p = int64(binary.LittleEndian.Uint64(v))
	case *float64:
		if len(v) != 8 {
			return errValueWidth(len(v), 8)
		}
		*p = math.Float64frombits(binary.LittleEndian.Uint64(v))
	}
	a.sum[g] += S(x)
	a.cnt[g]++
	return nil
}

func errValueWidth(got, want int) error {
	return fmt.Errorf("agg: encoded value has %d bytes, want %d", got, want)
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
