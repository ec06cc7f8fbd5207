package raw

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/engine/types"
)

// CheckSchema reports whether schema can be read and written as raw:
// exactly one column, of type STRING (or VARCHAR).
func CheckSchema(schema types.Schema) error {
	if len(schema.Fields) != 1 {
		return fmt.Errorf("the 'raw' format needs exactly one STRING column, but the table has %d columns", len(schema.Fields))
	}
	if f := schema.Fields[0]; f.Type.Kind != types.String {
		return fmt.Errorf("the 'raw' format needs exactly one STRING column, but column '%s' is %s", f.Name, f.Type)
	}
	return nil
}

// Decoder reads a record's bytes as the single STRING column.
type Decoder struct {
	name    string
	notNull bool
}

var _ format.Decoder = (*Decoder)(nil)

// NewDecoder returns a decoder for schema, which CheckSchema must accept.
func NewDecoder(schema types.Schema) (*Decoder, error) {
	if err := CheckSchema(schema); err != nil {
		return nil, err
	}
	f := schema.Fields[0]
	return &Decoder{name: f.Name, notNull: f.Type.NotNull}, nil
}

// Framing returns line framing: a record of a file is one line.
func (d *Decoder) Framing() format.Framing { return format.Framing{} }

// Decode appends record as the column's value. It never skips a record
// (an empty record is the empty string).
func (d *Decoder) Decode(record []byte, b *format.Builder) (bool, error) {
	if len(b.Cols) != 1 {
		return false, fmt.Errorf("raw: the builder has %d columns, not 1", len(b.Cols))
	}
	if !utf8.Valid(record) {
		return false, fmt.Errorf("column '%s': the value is not valid UTF-8 (first bad byte at %d)", d.name, firstInvalid(record))
	}
	b.Cols[0].AppendString(record)
	b.Commit()
	return false, nil
}

// DecodeNull appends a NULL row value: the value of a record that has none
// (a Kafka tombstone). It fails for a NOT NULL column.
func (d *Decoder) DecodeNull(b *format.Builder) error {
	if len(b.Cols) != 1 {
		return fmt.Errorf("raw: the builder has %d columns, not 1", len(b.Cols))
	}
	if d.notNull {
		return format.NullError(b.Cols[0])
	}
	b.Cols[0].AppendNull()
	b.Commit()
	return nil
}

// firstInvalid returns the offset of the first byte of b that does not
// start a valid UTF-8 sequence.
func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// Encoder writes the single STRING column's values.
type Encoder struct {
	name string
}

var _ format.Encoder = (*Encoder)(nil)

// NewEncoder returns an encoder for schema, which CheckSchema must accept.
func NewEncoder(schema types.Schema) (*Encoder, error) {
	if err := CheckSchema(schema); err != nil {
		return nil, err
	}
	return &Encoder{name: schema.Fields[0].Name}, nil
}

// Extension returns "txt".
func (e *Encoder) Extension() string { return "txt" }

// Values returns the column's values of rec, one per row, aliasing rec's
// buffers (valid while rec is); a NULL is a nil slice. This is how a
// message-based sink (Kafka) writes raw rows: one value per message.
func (e *Encoder) Values(rec arrow.RecordBatch) ([][]byte, error) {
	col, err := e.column(rec)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, col.Len())
	for i := range out {
		if col.IsNull(i) {
			continue
		}
		out[i] = value(col, i)
	}
	return out, nil
}

// Encode appends rec's values to dst, one line each. A value holding a
// line break, or a NULL, cannot be written as a line and is an error.
func (e *Encoder) Encode(dst []byte, rec arrow.RecordBatch) ([]byte, error) {
	col, err := e.column(rec)
	if err != nil {
		return dst, err
	}
	for i := 0; i < col.Len(); i++ {
		if col.IsNull(i) {
			return dst, fmt.Errorf("column '%s': row %d is NULL, which the 'raw' format cannot write as a line", e.name, i)
		}
		v := value(col, i)
		if bytes.ContainsAny(v, "\r\n") {
			return dst, fmt.Errorf("column '%s': row %d holds a line break, which the 'raw' format cannot write as a line", e.name, i)
		}
		dst = append(append(dst, v...), '\n')
	}
	return dst, nil
}

func (e *Encoder) column(rec arrow.RecordBatch) (*array.String, error) {
	if rec.NumCols() != 1 {
		return nil, fmt.Errorf("raw: the batch has %d columns, not 1", rec.NumCols())
	}
	col, ok := rec.Column(0).(*array.String)
	if !ok {
		return nil, fmt.Errorf("raw: column '%s' is %s, not a string", e.name, rec.Column(0).DataType())
	}
	return col, nil
}

// value returns row i of col, aliasing its buffer (never nil).
func value(col *array.String, i int) []byte {
	offs := col.ValueOffsets()
	data := col.ValueBytes()
	base := offs[0] // ValueBytes starts at the first value of the slice
	v := data[offs[i]-base : offs[i+1]-base : offs[i+1]-base]
	if v == nil {
		return []byte{}
	}
	return v
}
