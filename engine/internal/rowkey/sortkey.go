package rowkey

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// SortColumn says how one column takes part in an ordering.
type SortColumn struct {
	Type       arrow.DataType
	Desc       bool
	NullsFirst bool
}

// SortEncoder encodes rows in the memcomparable format: for rows a and b,
// bytes.Compare(enc(a), enc(b)) is the ORDER BY comparison of a and b. NULL
// sorts first or last as each column says, whatever its direction. Strings
// compare bytewise (UTF-8 code point order, as Flink's StringData does);
// doubles order -Inf < ... < -0.0 = 0.0 < ... < +Inf < NaN.
type SortEncoder struct {
	cols []sortCol
}

type sortCol struct {
	kind       Kind
	desc       bool
	nullMarker byte
}

// Markers written before each column: a NULL gets nullLow or nullHigh, a
// value gets valueMarker, so NULLs sort before or after every value.
const (
	nullLow     = 0x00
	valueMarker = 0x01
	nullHigh    = 0x02
)

// NewSortEncoder returns an encoder for the given columns.
func NewSortEncoder(cols []SortColumn) (*SortEncoder, error) {
	e := &SortEncoder{}
	for i, c := range cols {
		k, err := KindOf(c.Type)
		if err != nil {
			return nil, fmt.Errorf("sort key %d: %w", i, err)
		}
		m := byte(nullHigh)
		if c.NullsFirst {
			m = nullLow
		}
		e.cols = append(e.cols, sortCol{kind: k, desc: c.Desc, nullMarker: m})
	}
	return e, nil
}

// Encode encodes the rows of cols, which have numRows rows each (all rows,
// or row sel[k] as row k), into rows.
func (e *SortEncoder) Encode(cols []arrow.Array, numRows int, sel []int32, rows *Rows) error {
	n, err := rows.start(cols, len(e.cols), numRows, sel, 0)
	if err != nil {
		return err
	}
	for c, sc := range e.cols {
		col := cols[c]
		valid, nulls := ValidityOf(col)
		if sc.kind == KindString {
			a, ok := col.(*array.String)
			if !ok {
				return fmt.Errorf("rowkey: sort column %d is %s, want a string column", c, col.DataType())
			}
			data, offs := StringData(a)
			for j := 0; j < n; j++ {
				i := rowOf(sel, j)
				if nulls && valid.Null(i) {
					rows.Offs[j+1]++
					continue
				}
				s := data[offs[i]:offs[i+1]]
				rows.Offs[j+1] += int32(1 + len(s) + bytes.Count(s, zero) + 2)
			}
			continue
		}
		w := int32(1 + sc.kind.width())
		for j := 0; j < n; j++ {
			if nulls && valid.Null(rowOf(sel, j)) {
				rows.Offs[j+1]++
			} else {
				rows.Offs[j+1] += w
			}
		}
	}
	if err := rows.finishOffsets(n); err != nil {
		return err
	}
	for c, sc := range e.cols {
		if err := sortColumn(sc, cols[c], sel, rows); err != nil {
			return fmt.Errorf("rowkey: sort column %d: %w", c, err)
		}
	}
	return nil
}

var zero = []byte{0}

func sortColumn(sc sortCol, col arrow.Array, sel []int32, rows *Rows) error {
	d, cur := rows.Data, rows.cur
	n := len(cur)
	valid, nulls := ValidityOf(col)
	var inv byte
	if sc.desc {
		inv = 0xff
	}
	// null writes the NULL marker of row j and reports whether row i is NULL.
	null := func(j, i int) bool {
		if nulls && valid.Null(i) {
			d[cur[j]] = sc.nullMarker
			cur[j]++
			return true
		}
		d[cur[j]] = valueMarker
		cur[j]++
		return false
	}
	put64 := func(j int, u uint64) {
		binary.BigEndian.PutUint64(d[cur[j]:], u^(uint64(inv)*0x0101010101010101))
		cur[j] += 8
	}
	switch sc.kind {
	case KindBool:
		a, ok := col.(*array.Boolean)
		if !ok {
			return fmt.Errorf("got %s, want boolean", col.DataType())
		}
		for j := 0; j < n; j++ {
			i := rowOf(sel, j)
			if null(j, i) {
				continue
			}
			var b byte
			if a.Value(i) {
				b = 1
			}
			d[cur[j]] = b ^ inv
			cur[j]++
		}
	case KindInt32:
		a, ok := col.(*array.Int32)
		if !ok {
			return fmt.Errorf("got %s, want int32", col.DataType())
		}
		vs := a.Int32Values()
		inv32 := uint32(inv) * 0x01010101
		for j := 0; j < n; j++ {
			i := rowOf(sel, j)
			if null(j, i) {
				continue
			}
			binary.BigEndian.PutUint32(d[cur[j]:], (uint32(vs[i])^(1<<31))^inv32)
			cur[j] += 4
		}
	case KindInt64:
		vs, err := int64Values(col)
		if err != nil {
			return err
		}
		for j := 0; j < n; j++ {
			i := rowOf(sel, j)
			if null(j, i) {
				continue
			}
			put64(j, uint64(vs[i])^(1<<63))
		}
	case KindFloat64:
		a, ok := col.(*array.Float64)
		if !ok {
			return fmt.Errorf("got %s, want float64", col.DataType())
		}
		vs := a.Float64Values()
		for j := 0; j < n; j++ {
			i := rowOf(sel, j)
			if null(j, i) {
				continue
			}
			put64(j, OrderedFloatBits(vs[i]))
		}
	case KindDecimal:
		a, ok := col.(*array.Decimal128)
		if !ok {
			return fmt.Errorf("got %s, want decimal128", col.DataType())
		}
		vs := a.Values()
		for j := 0; j < n; j++ {
			i := rowOf(sel, j)
			if null(j, i) {
				continue
			}
			put64(j, uint64(vs[i].HighBits())^(1<<63))
			put64(j, vs[i].LowBits())
		}
	case KindString:
		a := col.(*array.String) // checked by Encode
		data, offs := StringData(a)
		for j := 0; j < n; j++ {
			i := rowOf(sel, j)
			if null(j, i) {
				continue
			}
			p := cur[j]
			for _, c := range data[offs[i]:offs[i+1]] {
				d[p] = c ^ inv
				p++
				if c == 0 {
					d[p] = 0xff ^ inv
					p++
				}
			}
			d[p], d[p+1] = inv, inv // terminator 0x00 0x00
			cur[j] = p + 2
		}
	}
	return nil
}

// OrderedFloatBits maps v to an unsigned integer with the same order:
// -Inf < negatives < -0.0 = 0.0 < positives < +Inf < NaN.
func OrderedFloatBits(v float64) uint64 {
	b := CanonicalFloatBits(v)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}
