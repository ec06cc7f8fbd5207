package agg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/types"
)

// The GroupAccumulator methods of the plain accumulators: Clear empties
// one group, BuildGroups builds the results of chosen groups.

// appendSel appends vals[g] (NULL where has[g] is false; has nil: always
// valid) for every g of groups to b, whose value type must be T's.
func appendSel[T any](b array.Builder, vals []T, has []bool, groups []uint32) error {
	ok := func(g uint32) bool { return has == nil || has[g] }
	b.Reserve(len(groups))
	done := false
	switch bb := b.(type) {
	case *array.Int32Builder:
		done = appendTyped(bb, any(vals), groups, ok)
	case *array.Int64Builder:
		done = appendTyped(bb, any(vals), groups, ok)
	case *array.TimestampBuilder:
		done = appendTyped(bb, any(vals), groups, ok)
	case *array.Float64Builder:
		done = appendTyped(bb, any(vals), groups, ok)
	case *array.Decimal128Builder:
		done = appendTyped(bb, any(vals), groups, ok)
	case *array.BooleanBuilder:
		done = appendTyped(bb, any(vals), groups, ok)
	case *array.StringBuilder:
		switch vs := any(vals).(type) {
		case [][]byte:
			for _, g := range groups {
				if ok(g) {
					bb.BinaryBuilder.Append(vs[g])
				} else {
					bb.AppendNull()
				}
			}
			return nil
		case []string:
			for _, g := range groups {
				if ok(g) {
					bb.Append(vs[g])
				} else {
					bb.AppendNull()
				}
			}
			return nil
		}
	}
	if done {
		return nil
	}
	return fmt.Errorf("agg: %T values cannot be built into a %s builder", vals, b.Type())
}

// unsafeAppender is a fixed-width Arrow builder of V values.
type unsafeAppender[V any] interface {
	UnsafeAppend(V)
	UnsafeAppendBoolToBitmap(bool)
}

// appendTyped appends vals[g] (NULL where !ok(g)) for every g of groups to
// b when vals holds b's value type V, and reports whether it did. b has
// room for every group (Reserve).
func appendTyped[V any, B unsafeAppender[V]](b B, vals any, groups []uint32, ok func(uint32) bool) bool {
	vs, is := vals.([]V)
	if !is {
		return false
	}
	for _, g := range groups {
		if ok(g) {
			b.UnsafeAppend(vs[g])
		} else {
			b.UnsafeAppendBoolToBitmap(false)
		}
	}
	return true
}

// Clear implements GroupAccumulator.
func (c *count) Clear(g uint32) { c.n[g] = 0 }

// BuildGroups implements GroupAccumulator.
func (c *count) BuildGroups(b array.Builder, groups []uint32) error {
	if _, ok := b.(*array.Int64Builder); !ok {
		return fmt.Errorf("agg: COUNT builds BIGINT, got a %s builder", b.Type())
	}
	return appendSel(b, c.n, nil, groups)
}

// Clear implements GroupAccumulator.
func (a *num[I, S]) Clear(g uint32) {
	var zero S
	a.sum[g], a.cnt[g] = zero, 0
}

// BuildGroups implements GroupAccumulator.
func (a *num[I, S]) BuildGroups(b array.Builder, groups []uint32) error {
	var zero S
	_, double := any(zero).(float64)
	b.Reserve(len(groups))
	switch bb := b.(type) {
	case *array.Int32Builder:
		if a.out == types.Int {
			for _, g := range groups {
				if a.cnt[g] == 0 {
					bb.UnsafeAppendBoolToBitmap(false)
				} else if a.avg {
					bb.UnsafeAppend(int32(int64(a.sum[g]) / a.cnt[g]))
				} else {
					bb.UnsafeAppend(int32(a.sum[g]))
				}
			}
			return nil
		}
	case *array.Int64Builder:
		if a.out == types.BigInt {
			for _, g := range groups {
				if a.cnt[g] == 0 {
					bb.UnsafeAppendBoolToBitmap(false)
				} else if a.avg {
					bb.UnsafeAppend(int64(a.sum[g]) / a.cnt[g])
				} else {
					bb.UnsafeAppend(int64(a.sum[g]))
				}
			}
			return nil
		}
	case *array.Float64Builder:
		if a.out == types.Double {
			for _, g := range groups {
				switch c := a.cnt[g]; {
				case c == 0:
					bb.UnsafeAppendBoolToBitmap(false)
				case !a.avg:
					bb.UnsafeAppend(float64(a.sum[g]))
				case double:
					bb.UnsafeAppend(float64(a.sum[g]) / float64(c))
				default:
					bb.UnsafeAppend(float64(int64(a.sum[g]) / c))
				}
			}
			return nil
		}
	}
	return fmt.Errorf("agg: result %s cannot be built into a %s builder", a.out, b.Type())
}

// Clear implements GroupAccumulator.
func (a *dec) Clear(g uint32) { a.sum[g], a.cnt[g] = decimal128.Num{}, 0 }

// BuildGroups implements GroupAccumulator.
func (a *dec) BuildGroups(b array.Builder, groups []uint32) error {
	bb, ok := b.(*array.Decimal128Builder)
	if !ok {
		return fmt.Errorf("agg: DECIMAL result cannot be built into a %s builder", b.Type())
	}
	bb.Reserve(len(groups))
	for _, g := range groups {
		c := a.cnt[g]
		if c == 0 {
			bb.AppendNull()
			continue
		}
		v := a.sum[g]
		if a.avg {
			var err error
			if v, err = a.average(v, c); err != nil {
				return err
			}
		}
		if !v.FitsInPrecision(a.outPrec) {
			return fmt.Errorf("agg: result %s does not fit DECIMAL(%d, %d)", v.ToString(a.outScale), a.outPrec, a.outScale)
		}
		bb.Append(v)
	}
	return nil
}

// Clear implements GroupAccumulator.
func (a *extremes[T]) Clear(g uint32) {
	var zero T
	a.vals[g], a.has[g] = zero, false
}

// BuildGroups implements GroupAccumulator.
func (a *extremes[T]) BuildGroups(b array.Builder, groups []uint32) error {
	return appendSel(b, a.vals, a.has, groups)
}

// Clear implements GroupAccumulator; it keeps the group's byte slice for
// reuse.
func (a *str) Clear(g uint32) { a.vals[g], a.has[g] = a.vals[g][:0], false }

// Clear implements GroupAccumulator.
func (a *pick[T]) Clear(g uint32) {
	var zero T
	a.vals[g], a.has[g], a.seq[g] = zero, false, 0
}

// BuildGroups implements GroupAccumulator.
func (a *pick[T]) BuildGroups(b array.Builder, groups []uint32) error {
	return appendSel(b, a.vals, a.has, groups)
}

// Clear implements GroupAccumulator; it keeps the group's byte slice for
// reuse.
func (a *pickStr) Clear(g uint32) { a.vals[g], a.has[g], a.seq[g] = a.vals[g][:0], false, 0 }

// BuildGroups implements GroupAccumulator.
func (a *pickStr) BuildGroups(b array.Builder, groups []uint32) error {
	return appendSel(b, a.vals, a.has, groups)
}

// Clear implements GroupAccumulator.
func (a *hll) Clear(g uint32) { a.sk[g] = nil }

// BuildGroups implements GroupAccumulator.
func (a *hll) BuildGroups(b array.Builder, groups []uint32) error {
	bb, ok := b.(*array.Int64Builder)
	if !ok {
		return fmt.Errorf("agg: APPROX_COUNT_DISTINCT builds BIGINT, got a %s builder", b.Type())
	}
	bb.Reserve(len(groups))
	for _, g := range groups {
		var n int64
		if sk := a.sk[g]; sk != nil {
			n = int64(sk.Estimate())
		}
		bb.UnsafeAppend(n)
	}
	return nil
}

// Clear implements GroupAccumulator.
func (u *udaf) Clear(g uint32) { u.accs[g] = nil }

// BuildGroups implements GroupAccumulator: each group's Result, checking
// that it appends exactly one value.
func (u *udaf) BuildGroups(b array.Builder, groups []uint32) (err error) {
	if u.err != nil {
		return u.err
	}
	defer recoverUDF(&err, u.name, "Result")
	b.Reserve(len(groups))
	for _, g := range groups {
		a, err := u.acc(g)
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
