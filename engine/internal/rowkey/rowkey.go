package rowkey

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Kind is the physical family of a column that rowkey can encode.
type Kind uint8

// The supported column kinds.
const (
	KindBool Kind = iota + 1
	KindInt32
	KindInt64 // BIGINT and TIMESTAMP
	KindFloat64
	KindDecimal
	KindString
)

// width is the encoded size of a valid value of a fixed-width kind.
func (k Kind) width() int {
	switch k {
	case KindBool:
		return 1
	case KindInt32:
		return 4
	case KindInt64, KindFloat64:
		return 8
	case KindDecimal:
		return 16
	}
	return 0
}

// KindOf returns the kind of Arrow type t, or an error naming t when rowkey
// cannot encode it.
func KindOf(t arrow.DataType) (Kind, error) {
	switch t.ID() {
	case arrow.BOOL:
		return KindBool, nil
	case arrow.INT32:
		return KindInt32, nil
	case arrow.INT64, arrow.TIMESTAMP:
		return KindInt64, nil
	case arrow.FLOAT64:
		return KindFloat64, nil
	case arrow.DECIMAL128:
		return KindDecimal, nil
	case arrow.STRING:
		return KindString, nil
	}
	return 0, fmt.Errorf("rowkey: cannot encode a column of type %s", t)
}

// Rows is a set of encoded rows: row i is Data[Offs[i]:Offs[i+1]]. A Rows is
// reused from batch to batch: encoding into it overwrites what it held.
type Rows struct {
	Data []byte
	Offs []int32
	cur  []int32
}

// Len returns the number of rows.
func (r *Rows) Len() int {
	if len(r.Offs) == 0 {
		return 0
	}
	return len(r.Offs) - 1
}

// Row returns encoded row i. It is valid until r is encoded into again.
func (r *Rows) Row(i int) []byte { return r.Data[r.Offs[i]:r.Offs[i+1]] }

// finishOffsets sizes r for n rows whose lengths are in r.Offs[1:]
// (filled by start and the caller) and turns them into offsets; it leaves
// r.cur holding each row's start.
func (r *Rows) finishOffsets(n int) error {
	var total int64
	r.Offs[0] = 0
	for i := 1; i <= n; i++ {
		total += int64(r.Offs[i])
		if total > math.MaxInt32 {
			return fmt.Errorf("rowkey: %d rows encode to more than 2 GiB", n)
		}
		r.Offs[i] = int32(total)
	}
	if cap(r.Data) < int(total) {
		r.Data = make([]byte, total, total+total/4)
	}
	r.Data = r.Data[:total]
	r.cur = append(r.cur[:0], r.Offs[:n]...)
	return nil
}

// start checks that there are want columns of numRows rows each, sizes r
// for the n rows to encode (numRows, or len(sel)) and sets each row's
// length to fixed, which the caller adds variable lengths to before
// finishOffsets.
func (r *Rows) start(cols []arrow.Array, want, numRows int, sel []int32, fixed int32) (n int, err error) {
	if len(cols) != want {
		return 0, fmt.Errorf("rowkey: got %d columns, encoder has %d", len(cols), want)
	}
	for c, col := range cols {
		if col.Len() != numRows {
			return 0, fmt.Errorf("rowkey: column %d has %d rows, want %d", c, col.Len(), numRows)
		}
	}
	n = numRows
	if sel != nil {
		n = len(sel)
	}
	if cap(r.Offs) < n+1 {
		r.Offs = make([]int32, n+1, n+1+n/4)
	}
	r.Offs = r.Offs[:n+1]
	for i := 1; i <= n; i++ {
		r.Offs[i] = fixed
	}
	return n, nil
}

// Encoder encodes rows of a fixed list of column types in the equality
// format (see the package comment).
type Encoder struct {
	exact bool // keep doubles' bits (payload rows) instead of canonical ones (keys)
	kinds []Kind
	fixed int32 // bytes every row takes: markers plus fixed-width values
	vars  bool  // whether there is a string column
}

// NewEncoder returns an encoder of keys for columns of the given types:
// SQL-equal values encode equally (-0.0 as 0.0, one NaN).
func NewEncoder(types []arrow.DataType) (*Encoder, error) {
	return newEncoder(types, false)
}

// NewRowEncoder returns an encoder of whole rows for columns of the given
// types, which decode to exactly the values encoded (-0.0 stays -0.0).
func NewRowEncoder(types []arrow.DataType) (*Encoder, error) {
	return newEncoder(types, true)
}

func newEncoder(types []arrow.DataType, exact bool) (*Encoder, error) {
	e := &Encoder{exact: exact}
	for _, t := range types {
		k, err := KindOf(t)
		if err != nil {
			return nil, err
		}
		e.kinds = append(e.kinds, k)
		e.fixed += 1 + int32(k.width())
		if k == KindString {
			e.vars = true
		}
	}
	return e, nil
}

// FixedWidth returns the length of every encoded row when it does not
// depend on the values (no string columns), or 0.
func (e *Encoder) FixedWidth() int {
	if e.vars {
		return 0
	}
	return int(e.fixed)
}

// NumColumns returns the number of columns e encodes.
func (e *Encoder) NumColumns() int { return len(e.kinds) }

// Encode encodes rows of cols, which have numRows rows each, into rows.
// With sel nil, row i of rows is row i of cols; otherwise row k of rows is
// row sel[k] of cols.
func (e *Encoder) Encode(cols []arrow.Array, numRows int, sel []int32, rows *Rows) error {
	n, err := rows.start(cols, len(e.kinds), numRows, sel, e.fixed)
	if err != nil {
		return err
	}
	if e.vars {
		for c, k := range e.kinds {
			if k != KindString {
				continue
			}
			a, ok := cols[c].(*array.String)
			if !ok {
				return fmt.Errorf("rowkey: column %d is %s, want a string column", c, cols[c].DataType())
			}
			offs := a.ValueOffsets()
			valid, nulls := ValidityOf(a)
			for j := 0; j < n; j++ {
				if i := rowOf(sel, j); !nulls || !valid.Null(i) {
					l := offs[i+1] - offs[i]
					rows.Offs[j+1] += l + int32(uvarintLen(uint64(l)))
				}
			}
		}
	}
	if err := rows.finishOffsets(n); err != nil {
		return err
	}
	for c, k := range e.kinds {
		if err := encodeColumn(k, e.exact, cols[c], sel, rows); err != nil {
			return fmt.Errorf("rowkey: column %d: %w", c, err)
		}
	}
	return nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// rowOf maps output row j to input row.
func rowOf(sel []int32, j int) int {
	if sel != nil {
		return int(sel[j])
	}
	return j
}

func encodeColumn(k Kind, exact bool, col arrow.Array, sel []int32, rows *Rows) error {
	if k == KindString {
		encodeStrings(col.(*array.String), sel, rows) // checked by Encode
		return nil
	}
	// A fixed-width kind: each row gets the valid marker and its value
	// (NULL rows whatever the column's buffer holds in their slot), then
	// one pass for all kinds rewrites the NULL rows.
	d, cur := rows.Data, rows.cur
	w := int32(k.width())
	switch k {
	case KindBool:
		a, ok := col.(*array.Boolean)
		if !ok {
			return fmt.Errorf("got %s, want boolean", col.DataType())
		}
		for j, p := range cur {
			d[p], d[p+1] = 1, 0
			if a.Value(rowOf(sel, j)) {
				d[p+1] = 1
			}
			cur[j] = p + 1 + w
		}
	case KindInt32:
		a, ok := col.(*array.Int32)
		if !ok {
			return fmt.Errorf("got %s, want int32", col.DataType())
		}
		vs := a.Int32Values()
		for j, p := range cur {
			d[p] = 1
			binary.LittleEndian.PutUint32(d[p+1:], uint32(vs[rowOf(sel, j)]))
			cur[j] = p + 1 + w
		}
	case KindInt64:
		vs, err := int64Values(col)
		if err != nil {
			return err
		}
		for j, p := range cur {
			d[p] = 1
			binary.LittleEndian.PutUint64(d[p+1:], uint64(vs[rowOf(sel, j)]))
			cur[j] = p + 1 + w
		}
	case KindFloat64:
		a, ok := col.(*array.Float64)
		if !ok {
			return fmt.Errorf("got %s, want float64", col.DataType())
		}
		vs := a.Float64Values()
		for j, p := range cur {
			v := vs[rowOf(sel, j)]
			b := math.Float64bits(v)
			if !exact {
				b = CanonicalFloatBits(v)
			}
			d[p] = 1
			binary.LittleEndian.PutUint64(d[p+1:], b)
			cur[j] = p + 1 + w
		}
	case KindDecimal:
		a, ok := col.(*array.Decimal128)
		if !ok {
			return fmt.Errorf("got %s, want decimal128", col.DataType())
		}
		vs := a.Values()
		for j, p := range cur {
			v := vs[rowOf(sel, j)]
			d[p] = 1
			binary.LittleEndian.PutUint64(d[p+1:], v.LowBits())
			binary.LittleEndian.PutUint64(d[p+9:], uint64(v.HighBits()))
			cur[j] = p + 1 + w
		}
	}
	if valid, nulls := ValidityOf(col); nulls {
		for j, end := range cur {
			if valid.Null(rowOf(sel, j)) {
				p := end - 1 - w
				d[p] = 0
				clear(d[p+1 : end])
			}
		}
	}
	return nil
}

// encodeStrings writes each row's marker, and for a valid row its length
// (uvarint) and bytes.
func encodeStrings(a *array.String, sel []int32, rows *Rows) {
	d, cur := rows.Data, rows.cur
	data, offs := StringData(a)
	valid, nulls := ValidityOf(a)
	for j, p := range cur {
		i := rowOf(sel, j)
		if nulls && valid.Null(i) {
			d[p] = 0
			cur[j] = p + 1
			continue
		}
		d[p] = 1
		p++
		s := data[offs[i]:offs[i+1]]
		p += int32(binary.PutUvarint(d[p:], uint64(len(s))))
		p += int32(copy(d[p:], s))
		cur[j] = p
	}
}

// Validity reads a column's NULLs straight from its bitmap, without an
// interface call per row.
type Validity struct {
	bits []byte
	off  int
}

// ValidityOf returns col's validity and whether col has any NULL.
func ValidityOf(col arrow.Array) (Validity, bool) {
	if col.NullN() == 0 {
		return Validity{}, false
	}
	return Validity{bits: col.NullBitmapBytes(), off: col.Data().Offset()}, true
}

// Null reports whether row i is NULL. Call it only when ValidityOf said the
// column has NULLs.
func (v Validity) Null(i int) bool { return !bitutil.BitIsSet(v.bits, v.off+i) }

// StringData returns the value bytes of a and its offsets into them: row i
// is data[offs[i]:offs[i+1]].
func StringData(a *array.String) (data []byte, offs []int32) {
	offs = a.ValueOffsets()
	if bufs := a.Data().Buffers(); len(bufs) > 2 && bufs[2] != nil {
		data = bufs[2].Bytes()
	}
	return data, offs
}

// int64Values returns the values of a BIGINT or TIMESTAMP column.
func int64Values(col arrow.Array) ([]int64, error) {
	switch a := col.(type) {
	case *array.Int64:
		return a.Int64Values(), nil
	case *array.Timestamp:
		return TimestampValues(a), nil
	}
	return nil, fmt.Errorf("got %s, want int64 or timestamp", col.DataType())
}

// TimestampValues returns the values of a timestamp column as int64s.
func TimestampValues(a *array.Timestamp) []int64 {
	vs := a.TimestampValues()
	if len(vs) == 0 {
		return nil
	}
	return arrowInt64s(vs)
}

// CanonicalFloatBits returns the bits of v with -0.0 as 0.0 and every NaN as
// one NaN, so that SQL-equal doubles encode equally.
func CanonicalFloatBits(v float64) uint64 {
	switch {
	case v == 0:
		return 0
	case v != v:
		return 0x7ff8000000000001
	}
	return math.Float64bits(v)
}

// Decode appends the rows of data starting at starts[k], in order, to the
// builders, one per column (Int32Builder, Int64Builder, TimestampBuilder,
// Float64Builder, Decimal128Builder, StringBuilder, BooleanBuilder). It
// advances starts in place. Corrupt data gives an error, never a panic.
func (e *Encoder) Decode(data []byte, starts []int, bs []array.Builder) error {
	if len(bs) != len(e.kinds) {
		return fmt.Errorf("rowkey: got %d builders, encoder has %d columns", len(bs), len(e.kinds))
	}
	for c, k := range e.kinds {
		if err := decodeColumn(k, data, starts, bs[c]); err != nil {
			return fmt.Errorf("rowkey: decode column %d: %w", c, err)
		}
	}
	return nil
}

var errShort = fmt.Errorf("encoded row is truncated")

func decodeColumn(k Kind, data []byte, starts []int, b array.Builder) error {
	if k == KindString {
		bb, ok := b.(*array.StringBuilder)
		if !ok {
			return fmt.Errorf("builder is %s, want string", b.Type())
		}
		return decodeStrings(data, starts, bb)
	}
	// A fixed-width kind: check every row's bounds and read its marker,
	// then append the values, decoded a kind at a time, in one call.
	need := 1 + k.width()
	n := len(starts)
	valid := make([]bool, n)
	for j, p := range starts {
		if p < 0 || p+need > len(data) {
			return errShort
		}
		valid[j] = data[p] != 0
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		if k == KindBool {
			bb.AppendValues(decodeFixed(data, starts, func(v []byte) bool { return v[0] != 0 }), valid)
			return advance(starts, need)
		}
	case *array.Int32Builder:
		if k == KindInt32 {
			bb.AppendValues(decodeFixed(data, starts, func(v []byte) int32 { return int32(binary.LittleEndian.Uint32(v)) }), valid)
			return advance(starts, need)
		}
	case *array.Int64Builder:
		if k == KindInt64 {
			bb.AppendValues(decodeFixed(data, starts, func(v []byte) int64 { return int64(binary.LittleEndian.Uint64(v)) }), valid)
			return advance(starts, need)
		}
	case *array.TimestampBuilder:
		if k == KindInt64 {
			bb.AppendValues(decodeFixed(data, starts, func(v []byte) arrow.Timestamp { return arrow.Timestamp(binary.LittleEndian.Uint64(v)) }), valid)
			return advance(starts, need)
		}
	case *array.Float64Builder:
		if k == KindFloat64 {
			bb.AppendValues(decodeFixed(data, starts, func(v []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(v)) }), valid)
			return advance(starts, need)
		}
	case *array.Decimal128Builder:
		if k == KindDecimal {
			bb.AppendValues(decodeFixed(data, starts, func(v []byte) decimal128.Num {
				return decimal128.New(int64(binary.LittleEndian.Uint64(v[8:])), binary.LittleEndian.Uint64(v))
			}), valid)
			return advance(starts, need)
		}
	}
	return fmt.Errorf("builder is %s, cannot take a column of kind %d", b.Type(), k)
}

// decodeFixed returns the value of each row, read by get from the bytes
// after the row's marker. The caller has checked the bounds.
func decodeFixed[T any](data []byte, starts []int, get func([]byte) T) []T {
	out := make([]T, len(starts))
	for j, p := range starts {
		out[j] = get(data[p+1:])
	}
	return out
}

func advance(starts []int, n int) error {
	for j := range starts {
		starts[j] += n
	}
	return nil
}

func decodeStrings(data []byte, starts []int, bb *array.StringBuilder) error {
	for j, p := range starts {
		if p < 0 || p >= len(data) {
			return errShort
		}
		if data[p] == 0 {
			bb.AppendNull()
			starts[j] = p + 1
			continue
		}
		l, w := binary.Uvarint(data[p+1:])
		if w <= 0 || l > uint64(len(data)-(p+1+w)) {
			return errShort
		}
		s := p + 1 + w
		bb.BinaryBuilder.Append(data[s : s+int(l)])
		starts[j] = s + int(l)
	}
	return nil
}

// Skip advances p past one encoded row of e in data, returning the offset
// just after it.
func (e *Encoder) Skip(data []byte, p int) (int, error) {
	for _, k := range e.kinds {
		if p < 0 || p >= len(data) {
			return 0, errShort
		}
		if k != KindString {
			p += 1 + k.width()
			continue
		}
		if data[p] == 0 {
			p++
			continue
		}
		l, w := binary.Uvarint(data[p+1:])
		if w <= 0 || l > uint64(len(data)-(p+1+w)) {
			return 0, errShort
		}
		p += 1 + w + int(l)
	}
	if p > len(data) {
		return 0, errShort
	}
	return p, nil
}
