package agg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
)

// extremes is what every MIN and MAX keeps: per group the extreme value so
// far, vals[g], present where has[g]. Each value type brings its order
// (put), its update loop and its encoding.
type extremes[T any] struct {
	isMax bool
	vals  []T
	has   []bool
}

func (a *extremes[T]) Len() int { return len(a.has) }
func (a *extremes[T]) Grow(n int) {
	a.vals = grow(a.vals, n)
	a.has = grow(a.has, n)
}
func (a *extremes[T]) Reset() {
	a.vals = a.vals[:0]
	a.has = a.has[:0]
}

// appendState appends the state of group g: 0 when it has no value yet,
// else 1 and the value as enc appends it.
func (a *extremes[T]) appendState(dst []byte, g uint32, enc func([]byte, T) []byte) []byte {
	if !a.has[g] {
		return append(dst, 0)
	}
	return enc(append(dst, 1), a.vals[g])
}

// mergeState reads a state written by appendState from the front of src,
// decoding the value with dec and offering it to put, and returns what
// follows it.
func mergeState[T any](src []byte, dec func([]byte) (T, []byte, error), put func(T)) ([]byte, error) {
	h, src, err := readByte(src)
	if err != nil {
		return nil, err
	}
	switch h {
	case 0:
		return src, nil
	case 1:
		v, rest, err := dec(src)
		if err != nil {
			return nil, err
		}
		put(v)
		return rest, nil
	}
	return nil, fmt.Errorf("agg: bad MIN/MAX state marker %d", h)
}

// mergeFrom offers the value of group sg of src, an accumulator of type A
// whose extremes get returns, to put.
func mergeFrom[A any, T any](src Accumulator, sg uint32, get func(A) *extremes[T], put func(T)) error {
	s, ok := src.(A)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into a %T", src, *new(A))
	}
	if e := get(s); e.has[sg] {
		put(e.vals[sg])
	}
	return nil
}

// ordinal is a value type that MIN and MAX compare with <.
type ordinal interface {
	~int32 | ~int64 | ~float64
}

// before reports whether x orders before y in the total order of SQL's
// MIN and MAX: <, with NaN after every other number (Java's
// Double.compare, but with -0.0 = 0.0 as SQL has it). For integers the NaN
// test is always false.
func before[T ordinal](x, y T) bool { return x < y || (y != y && x == x) }

// ordered is MIN or MAX over INT, BIGINT, TIMESTAMP or DOUBLE.
type ordered[T ordinal] struct{ extremes[T] }

func (a *ordered[T]) put(g uint32, v T) {
	if !a.has[g] || (a.isMax && before(a.vals[g], v)) || (!a.isMax && before(v, a.vals[g])) {
		a.vals[g], a.has[g] = v, true
	}
}

func (a *ordered[T]) Update(col arrow.Array, groups []uint32, sel []int32) error {
	vs, err := values[T](col)
	if err != nil {
		return err
	}
	vals, has := a.vals, a.has
	valid, nulls := rowkey.ValidityOf(col)
	switch {
	case !nulls && a.isMax:
		for k, g := range groups {
			if v, cur := vs[rowOf(sel, k)], vals[g]; !has[g] || cur < v || (v != v && cur == cur) {
				vals[g], has[g] = v, true
			}
		}
	case !nulls:
		for k, g := range groups {
			if v, cur := vs[rowOf(sel, k)], vals[g]; !has[g] || v < cur || (cur != cur && v == v) {
				vals[g], has[g] = v, true
			}
		}
	default:
		for k, g := range groups {
			if r := rowOf(sel, k); !valid.Null(r) {
				a.put(g, vs[r])
			}
		}
	}
	return nil
}

func (a *ordered[T]) Merge(g uint32, src Accumulator, sg uint32) error {
	return mergeFrom(src, sg, func(s *ordered[T]) *extremes[T] { return &s.extremes }, func(v T) { a.put(g, v) })
}

func (a *ordered[T]) AppendState(dst []byte, g uint32) []byte {
	return a.appendState(dst, g, func(dst []byte, v T) []byte { return binary.LittleEndian.AppendUint64(dst, toBits(v)) })
}

func (a *ordered[T]) MergeState(g uint32, src []byte) ([]byte, error) {
	return mergeState(src, func(src []byte) (T, []byte, error) {
		u, rest, err := readU64(src)
		return fromBits[T](u), rest, err
	}, func(v T) { a.put(g, v) })
}

// toBits and fromBits map values to 64 bits and back: doubles by their
// IEEE bits, integers sign-extended.
func toBits[T ordinal](v T) uint64 {
	if f, ok := any(v).(float64); ok {
		return math.Float64bits(f)
	}
	return uint64(int64(v))
}

func fromBits[T ordinal](u uint64) T {
	var zero T
	if _, ok := any(zero).(float64); ok {
		return T(math.Float64frombits(u))
	}
	return T(int64(u))
}

func (a *ordered[T]) Build(b array.Builder) error {
	switch bb := b.(type) {
	case *array.Int32Builder:
		if vs, ok := any(a.vals).([]int32); ok {
			bb.AppendValues(vs, a.has)
			return nil
		}
	case *array.Int64Builder:
		if vs, ok := any(a.vals).([]int64); ok {
			bb.AppendValues(vs, a.has)
			return nil
		}
	case *array.TimestampBuilder:
		if vs, ok := any(a.vals).([]arrow.Timestamp); ok {
			bb.AppendValues(vs, a.has)
			return nil
		}
	case *array.Float64Builder:
		if vs, ok := any(a.vals).([]float64); ok {
			bb.AppendValues(vs, a.has)
			return nil
		}
	}
	return fmt.Errorf("agg: MIN/MAX of %T values cannot be built into a %s builder", a.vals, b.Type())
}

// decMinMax is MIN or MAX over DECIMAL (the input's precision and scale).
type decMinMax struct{ extremes[decimal128.Num] }

func (a *decMinMax) put(g uint32, v decimal128.Num) {
	e := &a.extremes
	if !e.has[g] || (e.isMax && e.vals[g].Less(v)) || (!e.isMax && v.Less(e.vals[g])) {
		e.vals[g], e.has[g] = v, true
	}
}

func (a *decMinMax) Update(col arrow.Array, groups []uint32, sel []int32) error {
	c, ok := col.(*array.Decimal128)
	if !ok {
		return fmt.Errorf("agg: input column is %s, want decimal", col.DataType())
	}
	vs := c.Values()
	valid, nulls := rowkey.ValidityOf(col)
	for k, g := range groups {
		r := rowOf(sel, k)
		if nulls && valid.Null(r) {
			continue
		}
		a.put(g, vs[r])
	}
	return nil
}

func (a *decMinMax) Merge(g uint32, src Accumulator, sg uint32) error {
	return mergeFrom(src, sg, func(s *decMinMax) *extremes[decimal128.Num] { return &s.extremes }, func(v decimal128.Num) { a.put(g, v) })
}

func (a *decMinMax) AppendState(dst []byte, g uint32) []byte { return a.appendState(dst, g, appendDec) }

func (a *decMinMax) MergeState(g uint32, src []byte) ([]byte, error) {
	return mergeState(src, readDec, func(v decimal128.Num) { a.put(g, v) })
}

// appendDec and readDec encode a decimal as 16 bytes, little-endian low
// then high word.
func appendDec(dst []byte, v decimal128.Num) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, v.LowBits())
	return binary.LittleEndian.AppendUint64(dst, uint64(v.HighBits()))
}

func readDec(src []byte) (decimal128.Num, []byte, error) {
	if len(src) < 16 {
		return decimal128.Num{}, nil, errTruncated
	}
	return decimal128.New(int64(binary.LittleEndian.Uint64(src[8:])), binary.LittleEndian.Uint64(src)), src[16:], nil
}

func (a *decMinMax) Build(b array.Builder) error {
	bb, ok := b.(*array.Decimal128Builder)
	if !ok {
		return fmt.Errorf("agg: DECIMAL MIN/MAX cannot be built into a %s builder", b.Type())
	}
	bb.AppendValues(a.vals, a.has)
	return nil
}

// boolean is MIN (every value true) or MAX (any value true) over BOOLEAN,
// with FALSE < TRUE.
type boolean struct{ extremes[bool] }

func (a *boolean) put(g uint32, v bool) {
	switch {
	case !a.has[g]:
		a.vals[g], a.has[g] = v, true
	case a.isMax:
		a.vals[g] = a.vals[g] || v
	default:
		a.vals[g] = a.vals[g] && v
	}
}

func (a *boolean) Update(col arrow.Array, groups []uint32, sel []int32) error {
	c, ok := col.(*array.Boolean)
	if !ok {
		return fmt.Errorf("agg: input column is %s, want boolean", col.DataType())
	}
	valid, nulls := rowkey.ValidityOf(col)
	for k, g := range groups {
		r := rowOf(sel, k)
		if nulls && valid.Null(r) {
			continue
		}
		a.put(g, c.Value(r))
	}
	return nil
}

func (a *boolean) Merge(g uint32, src Accumulator, sg uint32) error {
	return mergeFrom(src, sg, func(s *boolean) *extremes[bool] { return &s.extremes }, func(v bool) { a.put(g, v) })
}

func (a *boolean) AppendState(dst []byte, g uint32) []byte {
	return a.appendState(dst, g, func(dst []byte, v bool) []byte {
		if v {
			return append(dst, 1)
		}
		return append(dst, 0)
	})
}

func (a *boolean) MergeState(g uint32, src []byte) ([]byte, error) {
	return mergeState(src, func(src []byte) (bool, []byte, error) {
		b, rest, err := readByte(src)
		if err == nil && b > 1 {
			err = fmt.Errorf("agg: bad BOOLEAN MIN/MAX state byte %d", b)
		}
		return b == 1, rest, err
	}, func(v bool) { a.put(g, v) })
}

func (a *boolean) Build(b array.Builder) error {
	bb, ok := b.(*array.BooleanBuilder)
	if !ok {
		return fmt.Errorf("agg: BOOLEAN MIN/MAX cannot be built into a %s builder", b.Type())
	}
	bb.AppendValues(a.vals, a.has)
	return nil
}

// str is MIN or MAX over STRING, comparing UTF-8 bytes (code point order,
// as Flink's StringData does). Each group keeps its own byte slice and
// reuses it when the extreme changes.
type str struct{ extremes[[]byte] }

// Grow reuses the byte slices of groups dropped by Reset.
func (a *str) Grow(n int) {
	if n <= len(a.has) {
		return
	}
	if old := len(a.vals); n <= cap(a.vals) {
		a.vals = a.vals[:n]
		for i := old; i < n; i++ {
			a.vals[i] = a.vals[i][:0]
		}
	} else {
		a.vals = grow(a.vals, n)
	}
	a.has = grow(a.has, n)
}

func (a *str) put(g uint32, v []byte) {
	if !a.has[g] {
		a.vals[g], a.has[g] = append(a.vals[g][:0], v...), true
		return
	}
	c := bytes.Compare(v, a.vals[g])
	if (a.isMax && c > 0) || (!a.isMax && c < 0) {
		a.vals[g] = append(a.vals[g][:0], v...)
	}
}

func (a *str) Update(col arrow.Array, groups []uint32, sel []int32) error {
	c, ok := col.(*array.String)
	if !ok {
		return fmt.Errorf("agg: input column is %s, want string", col.DataType())
	}
	data, offs := rowkey.StringData(c)
	valid, nulls := rowkey.ValidityOf(col)
	for k, g := range groups {
		r := rowOf(sel, k)
		if nulls && valid.Null(r) {
			continue
		}
		a.put(g, data[offs[r]:offs[r+1]])
	}
	return nil
}

func (a *str) Merge(g uint32, src Accumulator, sg uint32) error {
	return mergeFrom(src, sg, func(s *str) *extremes[[]byte] { return &s.extremes }, func(v []byte) { a.put(g, v) })
}

func (a *str) AppendState(dst []byte, g uint32) []byte {
	return a.appendState(dst, g, func(dst []byte, v []byte) []byte {
		return append(binary.AppendUvarint(dst, uint64(len(v))), v...)
	})
}

func (a *str) MergeState(g uint32, src []byte) ([]byte, error) {
	return mergeState(src, func(src []byte) ([]byte, []byte, error) {
		l, w := binary.Uvarint(src)
		if w <= 0 || l > uint64(len(src)-w) {
			return nil, nil, errTruncated
		}
		return src[w : w+int(l)], src[w+int(l):], nil
	}, func(v []byte) { a.put(g, v) })
}

func (a *str) Build(b array.Builder) error {
	bb, ok := b.(*array.StringBuilder)
	if !ok {
		return fmt.Errorf("agg: STRING MIN/MAX cannot be built into a %s builder", b.Type())
	}
	n := 0
	for g, v := range a.vals {
		if a.has[g] {
			n += len(v)
		}
	}
	bb.Reserve(len(a.has))
	bb.ReserveData(n)
	for g, v := range a.vals {
		if a.has[g] {
			bb.BinaryBuilder.Append(v)
		} else {
			bb.AppendNull()
		}
	}
	return nil
}
