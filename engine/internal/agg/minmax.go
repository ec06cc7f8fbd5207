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

// ordered is MIN or MAX over INT, BIGINT or TIMESTAMP.
type ordered[T ~int32 | ~int64] struct {
	isMax bool
	vals  []T
	has   []bool
}

func (a *ordered[T]) Len() int { return len(a.has) }
func (a *ordered[T]) Grow(n int) {
	a.vals = grow(a.vals, n)
	a.has = grow(a.has, n)
}
func (a *ordered[T]) Reset() {
	a.vals = a.vals[:0]
	a.has = a.has[:0]
}

func (a *ordered[T]) put(g uint32, v T) {
	if !a.has[g] || (a.isMax && v > a.vals[g]) || (!a.isMax && v < a.vals[g]) {
		a.vals[g], a.has[g] = v, true
	}
}

func (a *ordered[T]) Update(col arrow.Array, groups []uint32, sel []int32) error {
	vs, err := values[T](col)
	if err != nil {
		return err
	}
	vals, has := a.vals, a.has
	nulls := col.NullN() > 0
	switch {
	case !nulls && a.isMax:
		for k, g := range groups {
			if v := vs[rowOf(sel, k)]; !has[g] || v > vals[g] {
				vals[g], has[g] = v, true
			}
		}
	case !nulls:
		for k, g := range groups {
			if v := vs[rowOf(sel, k)]; !has[g] || v < vals[g] {
				vals[g], has[g] = v, true
			}
		}
	default:
		for k, g := range groups {
			if r := rowOf(sel, k); col.IsValid(r) {
				a.put(g, vs[r])
			}
		}
	}
	return nil
}

func (a *ordered[T]) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*ordered[T])
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into %T", src, a)
	}
	if s.has[sg] {
		a.put(g, s.vals[sg])
	}
	return nil
}

func (a *ordered[T]) AppendState(dst []byte, g uint32) []byte {
	if !a.has[g] {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	return binary.LittleEndian.AppendUint64(dst, uint64(a.vals[g]))
}

func (a *ordered[T]) MergeState(g uint32, src []byte) ([]byte, error) {
	h, src, err := readByte(src)
	if err != nil || h == 0 {
		return src, err
	}
	v, src, err := readU64(src)
	if err != nil {
		return nil, err
	}
	a.put(g, T(int64(v)))
	return src, nil
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
	}
	return fmt.Errorf("agg: MIN/MAX of %T values cannot be built into a %s builder", a.vals, b.Type())
}

// float is MIN or MAX over DOUBLE, in the total order -Inf < ... < +Inf <
// NaN (Java's Double.compare, but with -0.0 = 0.0 as SQL has it).
type float struct {
	isMax bool
	vals  []float64
	has   []bool
}

func (a *float) Len() int { return len(a.has) }
func (a *float) Grow(n int) {
	a.vals = grow(a.vals, n)
	a.has = grow(a.has, n)
}
func (a *float) Reset() {
	a.vals = a.vals[:0]
	a.has = a.has[:0]
}

// floatLess is x < y in the total order with NaN greatest.
func floatLess(x, y float64) bool { return x < y || (y != y && x == x) }

func (a *float) put(g uint32, v float64) {
	if !a.has[g] || (a.isMax && floatLess(a.vals[g], v)) || (!a.isMax && floatLess(v, a.vals[g])) {
		a.vals[g], a.has[g] = v, true
	}
}

func (a *float) Update(col arrow.Array, groups []uint32, sel []int32) error {
	vs, err := values[float64](col)
	if err != nil {
		return err
	}
	nulls := col.NullN() > 0
	for k, g := range groups {
		r := rowOf(sel, k)
		if nulls && col.IsNull(r) {
			continue
		}
		a.put(g, vs[r])
	}
	return nil
}

func (a *float) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*float)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into a DOUBLE MIN/MAX", src)
	}
	if s.has[sg] {
		a.put(g, s.vals[sg])
	}
	return nil
}

func (a *float) AppendState(dst []byte, g uint32) []byte {
	if !a.has[g] {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.vals[g]))
}

func (a *float) MergeState(g uint32, src []byte) ([]byte, error) {
	h, src, err := readByte(src)
	if err != nil || h == 0 {
		return src, err
	}
	v, src, err := readU64(src)
	if err != nil {
		return nil, err
	}
	a.put(g, math.Float64frombits(v))
	return src, nil
}

func (a *float) Build(b array.Builder) error {
	bb, ok := b.(*array.Float64Builder)
	if !ok {
		return fmt.Errorf("agg: DOUBLE MIN/MAX cannot be built into a %s builder", b.Type())
	}
	bb.AppendValues(a.vals, a.has)
	return nil
}

// decMinMax is MIN or MAX over DECIMAL (the input's precision and scale).
type decMinMax struct {
	isMax bool
	vals  []decimal128.Num
	has   []bool
}

func (a *decMinMax) Len() int { return len(a.has) }
func (a *decMinMax) Grow(n int) {
	a.vals = grow(a.vals, n)
	a.has = grow(a.has, n)
}
func (a *decMinMax) Reset() {
	a.vals = a.vals[:0]
	a.has = a.has[:0]
}

func (a *decMinMax) put(g uint32, v decimal128.Num) {
	if !a.has[g] || (a.isMax && a.vals[g].Less(v)) || (!a.isMax && v.Less(a.vals[g])) {
		a.vals[g], a.has[g] = v, true
	}
}

func (a *decMinMax) Update(col arrow.Array, groups []uint32, sel []int32) error {
	c, ok := col.(*array.Decimal128)
	if !ok {
		return fmt.Errorf("agg: input column is %s, want decimal", col.DataType())
	}
	vs := c.Values()
	nulls := col.NullN() > 0
	for k, g := range groups {
		r := rowOf(sel, k)
		if nulls && col.IsNull(r) {
			continue
		}
		a.put(g, vs[r])
	}
	return nil
}

func (a *decMinMax) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*decMinMax)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into a DECIMAL MIN/MAX", src)
	}
	if s.has[sg] {
		a.put(g, s.vals[sg])
	}
	return nil
}

func (a *decMinMax) AppendState(dst []byte, g uint32) []byte {
	if !a.has[g] {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.LittleEndian.AppendUint64(dst, a.vals[g].LowBits())
	return binary.LittleEndian.AppendUint64(dst, uint64(a.vals[g].HighBits()))
}

func (a *decMinMax) MergeState(g uint32, src []byte) ([]byte, error) {
	h, src, err := readByte(src)
	if err != nil || h == 0 {
		return src, err
	}
	if len(src) < 16 {
		return nil, errTruncated
	}
	a.put(g, decimal128.New(int64(binary.LittleEndian.Uint64(src[8:])), binary.LittleEndian.Uint64(src)))
	return src[16:], nil
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
type boolean struct {
	isMax bool
	vals  []bool
	has   []bool
}

func (a *boolean) Len() int { return len(a.has) }
func (a *boolean) Grow(n int) {
	a.vals = grow(a.vals, n)
	a.has = grow(a.has, n)
}
func (a *boolean) Reset() {
	a.vals = a.vals[:0]
	a.has = a.has[:0]
}

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
	nulls := col.NullN() > 0
	for k, g := range groups {
		r := rowOf(sel, k)
		if nulls && col.IsNull(r) {
			continue
		}
		a.put(g, c.Value(r))
	}
	return nil
}

func (a *boolean) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*boolean)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into a BOOLEAN MIN/MAX", src)
	}
	if s.has[sg] {
		a.put(g, s.vals[sg])
	}
	return nil
}

func (a *boolean) AppendState(dst []byte, g uint32) []byte {
	switch {
	case !a.has[g]:
		return append(dst, 0)
	case a.vals[g]:
		return append(dst, 2)
	}
	return append(dst, 1)
}

func (a *boolean) MergeState(g uint32, src []byte) ([]byte, error) {
	h, src, err := readByte(src)
	if err != nil {
		return nil, err
	}
	switch h {
	case 0:
	case 1, 2:
		a.put(g, h == 2)
	default:
		return nil, fmt.Errorf("agg: bad BOOLEAN MIN/MAX state byte %d", h)
	}
	return src, nil
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
type str struct {
	isMax bool
	vals  [][]byte
	has   []bool
}

func (a *str) Len() int { return len(a.has) }

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

// Reset keeps the groups' byte slices for reuse.
func (a *str) Reset() {
	a.vals = a.vals[:0]
	a.has = a.has[:0]
}

func (a *str) put(g uint32, v []byte) {
	if !a.has[g] {
		a.vals[g], a.has[g] = append(a.vals[g][:0], v...), true
		return
	}
	c := compareBytes(v, a.vals[g])
	if (a.isMax && c > 0) || (!a.isMax && c < 0) {
		a.vals[g] = append(a.vals[g][:0], v...)
	}
}

func compareBytes(x, y []byte) int { return bytes.Compare(x, y) }

func (a *str) Update(col arrow.Array, groups []uint32, sel []int32) error {
	c, ok := col.(*array.String)
	if !ok {
		return fmt.Errorf("agg: input column is %s, want string", col.DataType())
	}
	data, offs := rowkey.StringData(c)
	nulls := col.NullN() > 0
	for k, g := range groups {
		r := rowOf(sel, k)
		if nulls && col.IsNull(r) {
			continue
		}
		a.put(g, data[offs[r]:offs[r+1]])
	}
	return nil
}

func (a *str) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*str)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into a STRING MIN/MAX", src)
	}
	if s.has[sg] {
		a.put(g, s.vals[sg])
	}
	return nil
}

func (a *str) AppendState(dst []byte, g uint32) []byte {
	if !a.has[g] {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.AppendUvarint(dst, uint64(len(a.vals[g])))
	return append(dst, a.vals[g]...)
}

func (a *str) MergeState(g uint32, src []byte) ([]byte, error) {
	h, src, err := readByte(src)
	if err != nil || h == 0 {
		return src, err
	}
	l, w := binary.Uvarint(src)
	if w <= 0 || l > uint64(len(src)-w) {
		return nil, errTruncated
	}
	a.put(g, src[w:w+int(l)])
	return src[w+int(l):], nil
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
