package format

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// Framing says how records are cut out of a file.
type Framing struct {
	// Quote, when not 0, opens a quoted field at the start of a field; in
	// it, delimiters and newlines are data, a doubled quote is a quote, and
	// a single quote closes it (RFC 4180). A quote elsewhere is data (and
	// an error for the decoder), so it cannot make the rest of a file look
	// quoted. 0 means every newline ends a record (JSON lines).
	Quote byte
	// Delim separates fields; a quote right after it starts a quoted field.
	Delim byte
}

// Decoder parses the records of one text format into rows.
type Decoder interface {
	// Framing tells how records are cut.
	Framing() Framing
	// Decode parses one record (without its line terminator) and appends
	// it to b as one committed row. It reports skip for a record that holds
	// no row (a blank line). On error nothing is appended and the error
	// says which column and why (a *FieldError when a value is at fault).
	Decode(record []byte, b *Builder) (skip bool, err error)
}

// Encoder writes rows in one text format.
type Encoder interface {
	// Encode appends the rows of rec, one line each, to dst.
	Encode(dst []byte, rec arrow.RecordBatch) ([]byte, error)
	// Extension is the file name extension of the format, without a dot.
	Extension() string
}

// ChangelogDecoder is a Decoder of a format whose records carry a row kind
// (changelog-json).
type ChangelogDecoder interface {
	Decoder
	// Kind returns the row kind of the row the last successful Decode
	// appended.
	Kind() stream.RowKind
}

// ChangelogEncoder is an Encoder of a format whose lines carry each row's
// kind (changelog-json).
type ChangelogEncoder interface {
	Encoder
	// EncodeChangelog appends b's rows, with their kinds, to dst, leaving
	// out -U rows when dropUpdateBefore is set (an upsert stream).
	EncodeChangelog(dst []byte, b stream.Batch, dropUpdateBefore bool) ([]byte, error)
}

// QuoteState follows the quoting of a file from its start, so that a
// reader that starts in the middle of a file can find the first record
// start after any offset exactly as a reader from the start would.
type QuoteState struct {
	fr      Framing
	quoted  bool // inside a quoted field
	pending bool // inside a quoted field, the last byte was a quote
	prev    byte // the byte before the next one
}

// NewQuoteState returns the state at the start of a file.
func NewQuoteState(fr Framing) QuoteState { return QuoteState{fr: fr, prev: '\n'} }

// Skip moves the state over b.
func (s *QuoteState) Skip(b []byte) { s.advance(b, false) }

// NextRecord moves the state over b up to and including the first newline
// that ends a record, and returns the offset just past it, or -1 (having
// moved over all of b) if b holds none.
func (s *QuoteState) NextRecord(b []byte) int { return s.advance(b, true) }

func (s *QuoteState) advance(b []byte, stop bool) int {
	q := s.fr.Quote
	if q == 0 {
		if !stop {
			return -1
		}
		if j := bytes.IndexByte(b, '\n'); j >= 0 {
			return j + 1
		}
		return -1
	}
	pos := 0
	if s.pending {
		if len(b) == 0 {
			return -1
		}
		s.pending = false
		if b[0] == q { // a doubled quote: still quoted
			pos = 1
		} else {
			s.quoted = false
			s.prev = q
		}
	}
	for pos < len(b) {
		if s.quoted {
			j := bytes.IndexByte(b[pos:], q)
			if j < 0 {
				break
			}
			p := pos + j
			if p+1 == len(b) {
				s.pending = true
				break
			}
			if b[p+1] == q {
				pos = p + 2
				continue
			}
			s.quoted = false
			pos = p + 1
			continue
		}
		rest := b[pos:]
		nl := bytes.IndexByte(rest, '\n')
		seg := rest
		if nl >= 0 {
			seg = rest[:nl]
		}
		if j := bytes.IndexByte(seg, q); j >= 0 {
			p := pos + j
			before := s.prev
			if p > 0 {
				before = b[p-1]
			}
			if before == s.fr.Delim || before == '\n' {
				s.quoted = true
			}
			pos = p + 1
			continue
		}
		if nl < 0 {
			break
		}
		pos += nl + 1
		if stop {
			s.prev = '\n'
			return pos
		}
	}
	if len(b) > 0 {
		s.prev = b[len(b)-1]
	}
	return -1
}

// SplitRecord finds the first record of buf, which begins at a record
// start. It returns the bytes to advance past it (terminator included), the
// record without its terminator (and without a trailing '\r'), and the
// number of newlines consumed. When buf holds no complete record it returns
// advance 0, unless atEOF, in which case the rest of buf is the last record.
func SplitRecord(buf []byte, atEOF bool, fr Framing) (advance int, record []byte, newlines int) {
	nl := bytes.IndexByte(buf, '\n')
	if nl >= 0 && (fr.Quote == 0 || bytes.IndexByte(buf[:nl], fr.Quote) < 0) {
		// The common case: no quote before the first newline.
		return nl + 1, trimCR(buf[:nl]), 1
	}
	if nl >= 0 {
		st := NewQuoteState(fr)
		if end := st.NextRecord(buf); end > 0 {
			return end, trimCR(buf[:end-1]), bytes.Count(buf[:end], []byte{'\n'})
		}
	}
	if atEOF && len(buf) > 0 {
		return len(buf), trimCR(buf), bytes.Count(buf, []byte{'\n'})
	}
	return 0, nil, 0
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

// FieldError is a value that does not fit its column.
type FieldError struct {
	Column string
	// Value is the offending text, shortened if long.
	Value string
	Type  types.Type
	// Reason, when set, replaces "cannot parse 'Value' as Type".
	Reason string
}

// Error reads "column 'x': cannot parse 'abc' as BIGINT".
func (e *FieldError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("column '%s': %s", e.Column, e.Reason)
	}
	return fmt.Sprintf("column '%s': cannot parse '%s' as %s", e.Column, e.Value, e.Type.Nullable().Plain())
}

// Shorten returns b as a string for an error message, cut to 64 bytes.
func Shorten(b []byte) string {
	if len(b) > 64 {
		return string(b[:61]) + "..."
	}
	return string(b)
}

// ParseError returns the error for text that cannot be a value of c.
func ParseError(c *Column, text []byte) error {
	return &FieldError{Column: c.Name, Value: Shorten(text), Type: c.Type}
}

// NullError returns the error for a NULL in a NOT NULL column.
func NullError(c *Column) error {
	return &FieldError{Column: c.Name, Type: c.Type, Reason: "NULL in a NOT NULL column"}
}

// AppendText parses text as a value of c's type and appends it. It is the
// shared path of every text format for non-NULL values; STRING takes the
// text as it is (checked to be UTF-8).
func AppendText(c *Column, text []byte) error {
	switch c.Type.Kind {
	case types.String:
		if !validUTF8(text) {
			return &FieldError{Column: c.Name, Type: c.Type, Reason: "invalid UTF-8 in '" + Shorten(bytes.ToValidUTF8(text, []byte("?"))) + "'"}
		}
		c.AppendString(text)
		return nil
	}
	t := TrimSpace(text)
	switch c.Type.Kind {
	case types.BigInt:
		if v, err := sqltext.ParseInt(t, 64); err == nil {
			c.AppendInt64(v)
			return nil
		}
	case types.Int:
		if v, err := sqltext.ParseInt(t, 32); err == nil {
			c.AppendInt32(int32(v))
			return nil
		}
	case types.Timestamp:
		if v, ok := sqltext.ParseTimestamp(t); ok {
			c.AppendInt64(v)
			return nil
		}
	case types.Double:
		if v, ok := parseDouble(t); ok {
			c.AppendFloat64(v)
			return nil
		}
	case types.Boolean:
		if v, ok := sqltext.ParseBool(t); ok {
			c.AppendBool(v)
			return nil
		}
	case types.Decimal:
		if v, err := sqltext.ParseDecimal(t, c.Type.Precision, c.Type.Scale); err == nil {
			c.AppendDecimal(v)
			return nil
		}
	}
	return ParseError(c, text)
}

// validUTF8 is utf8.Valid with a fast path for ASCII.
func validUTF8(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return utf8.Valid(b)
		}
	}
	return true
}

// Values gives typed, allocation-free access to one column of a batch.
type Values struct {
	Kind  types.Kind
	scale int
	arr   arrow.Array
	i32   []int32
	i64   []int64
	f64   []float64
	dec   []decimal128.Num
	bools *array.Boolean
	str   *array.String
}

// NewValues wraps a, which must carry values of t. name is for errors.
func NewValues(name string, a arrow.Array, t types.Type) (Values, error) {
	v := Values{Kind: t.Kind, scale: t.Scale, arr: a}
	var ok bool
	switch t.Kind {
	case types.Int:
		ok = valuesOf(a, (*array.Int32).Int32Values, &v.i32)
	case types.BigInt:
		ok = valuesOf(a, (*array.Int64).Int64Values, &v.i64)
	case types.Timestamp:
		ok = valuesOf(a, timestampValues, &v.i64) && a.DataType().(*arrow.TimestampType).Unit == arrow.Millisecond
	case types.Double:
		ok = valuesOf(a, (*array.Float64).Float64Values, &v.f64)
	case types.Decimal:
		ok = valuesOf(a, (*array.Decimal128).Values, &v.dec)
	case types.Boolean:
		v.bools, ok = a.(*array.Boolean)
	case types.String:
		v.str, ok = a.(*array.String)
	}
	if !ok {
		return Values{}, fmt.Errorf("column '%s': got Arrow %s for %s", name, a.DataType(), t)
	}
	return v, nil
}

// valuesOf sets *dst to get(a) and reports true if a is an A.
func valuesOf[A arrow.Array, T any](a arrow.Array, get func(A) []T, dst *[]T) bool {
	x, ok := a.(A)
	if ok {
		*dst = get(x)
	}
	return ok
}

// timestampValues returns the values of a timestamp array as int64s.
func timestampValues(x *array.Timestamp) []int64 {
	return arrow.Int64Traits.CastFromBytes(arrow.TimestampTraits.CastToBytes(x.TimestampValues()))
}

// IsNull reports whether row i is NULL.
func (v *Values) IsNull(i int) bool { return v.arr.IsNull(i) }

// Int64 returns row i of a BIGINT or TIMESTAMP column.
func (v *Values) Int64(i int) int64 { return v.i64[i] }

// Str returns row i of a STRING column; the string aliases the batch.
func (v *Values) Str(i int) string { return v.str.Value(i) }

// AppendText appends the text of non-NULL row i: numbers as SQL prints
// them, DOUBLE as Java does, TIMESTAMP as 'yyyy-MM-dd HH:mm:ss.SSS' (with
// 'T' if iso), STRING as is.
func (v *Values) AppendText(dst []byte, i int, iso bool) []byte {
	switch v.Kind {
	case types.Int:
		return strconv.AppendInt(dst, int64(v.i32[i]), 10)
	case types.BigInt:
		return strconv.AppendInt(dst, v.i64[i], 10)
	case types.Timestamp:
		sep := byte(' ')
		if iso {
			sep = 'T'
		}
		return sqltext.AppendTimestamp(dst, v.i64[i], sep)
	case types.Double:
		return sqltext.AppendDouble(dst, v.f64[i])
	case types.Decimal:
		return sqltext.AppendDecimal(dst, v.dec[i], v.scale)
	case types.Boolean:
		if v.bools.Value(i) {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case types.String:
		return append(dst, v.str.Value(i)...)
	}
	return dst
}

// ColumnValues wraps every column of rec, checking it against schema.
func ColumnValues(schema types.Schema, rec arrow.RecordBatch) ([]Values, error) {
	if int(rec.NumCols()) != len(schema.Fields) {
		return nil, fmt.Errorf("batch has %d columns, the table has %d", rec.NumCols(), len(schema.Fields))
	}
	vs := make([]Values, len(schema.Fields))
	for i, f := range schema.Fields {
		v, err := NewValues(f.Name, rec.Column(i), f.Type)
		if err != nil {
			return nil, err
		}
		vs[i] = v
	}
	return vs, nil
}
