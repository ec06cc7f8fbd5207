package csv

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Options configure the format.
type Options struct {
	// Delimiter separates fields; 0 means ','.
	Delimiter byte
	// NullLiteral, when HasNullLiteral, is the text of a NULL: an unquoted
	// field equal to it reads as NULL, and NULLs are written as it.
	NullLiteral    string
	HasNullLiteral bool
}

func (o Options) delim() byte {
	if o.Delimiter == 0 {
		return ','
	}
	return o.Delimiter
}

// ParseDelimiter checks the value of a field-delimiter option: a single
// byte other than a quote or a line break, or one of the escapes '\t' and
// '\u0001'-style unicode escapes below 0x80.
func ParseDelimiter(v string) (byte, error) {
	switch {
	case v == `\t`:
		return '\t', nil
	case len(v) == 6 && (v[:2] == `\u` || v[:2] == `\U`):
		var r rune
		if _, err := fmt.Sscanf(v[2:], "%04x", &r); err == nil && r > 0 && r < 0x80 {
			v = string(r)
		}
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("'%s' is not a single character", v)
	}
	if c := v[0]; c == '"' || c == '\n' || c == '\r' || c >= 0x80 {
		return 0, fmt.Errorf("'%s' cannot separate fields", v)
	}
	return v[0], nil
}

// Decoder parses CSV records into rows of a schema.
type Decoder struct {
	opts    Options
	delim   byte
	schema  types.Schema
	fields  [][]byte
	quoted  []bool
	scratch []byte
}

var _ format.Decoder = (*Decoder)(nil)

// NewDecoder returns a decoder for rows of schema.
func NewDecoder(schema types.Schema, opts Options) *Decoder {
	n := len(schema.Fields)
	return &Decoder{opts: opts, delim: opts.delim(), schema: schema, fields: make([][]byte, 0, n), quoted: make([]bool, 0, n)}
}

// Framing reports RFC 4180 quoting with the table's delimiter.
func (d *Decoder) Framing() format.Framing { return format.Framing{Quote: '"', Delim: d.delim} }

// split cuts rec into d.fields.
func (d *Decoder) split(rec []byte) error {
	d.fields, d.quoted, d.scratch = d.fields[:0], d.quoted[:0], d.scratch[:0]
	if bytes.IndexByte(rec, '"') < 0 {
		for {
			j := bytes.IndexByte(rec, d.delim)
			if j < 0 {
				d.fields = append(d.fields, rec)
				d.quoted = append(d.quoted, false)
				return nil
			}
			d.fields = append(d.fields, rec[:j])
			d.quoted = append(d.quoted, false)
			rec = rec[j+1:]
		}
	}
	pos := 0
	for {
		if pos < len(rec) && rec[pos] == '"' {
			pos++
			start := len(d.scratch)
			for {
				j := bytes.IndexByte(rec[pos:], '"')
				if j < 0 {
					return d.fieldError(len(d.fields), "quoted field has no closing quote")
				}
				d.scratch = append(d.scratch, rec[pos:pos+j]...)
				pos += j + 1
				if pos < len(rec) && rec[pos] == '"' {
					d.scratch = append(d.scratch, '"')
					pos++
					continue
				}
				break
			}
			d.fields = append(d.fields, d.scratch[start:len(d.scratch):len(d.scratch)])
			d.quoted = append(d.quoted, true)
			if pos == len(rec) {
				return nil
			}
			if rec[pos] != d.delim {
				return d.fieldError(len(d.fields)-1, fmt.Sprintf("unexpected %q after a closing quote", rec[pos]))
			}
			pos++
			continue
		}
		j := bytes.IndexByte(rec[pos:], d.delim)
		end := len(rec)
		if j >= 0 {
			end = pos + j
		}
		f := rec[pos:end]
		if bytes.IndexByte(f, '"') >= 0 {
			return d.fieldError(len(d.fields), "a quote inside an unquoted field (quote the whole field and double inner quotes)")
		}
		d.fields = append(d.fields, f)
		d.quoted = append(d.quoted, false)
		if j < 0 {
			return nil
		}
		pos = end + 1
	}
}

// fieldError names field i by its column when the record has not more
// fields than the table.
func (d *Decoder) fieldError(i int, reason string) error {
	if i < len(d.schema.Fields) {
		return &format.FieldError{Column: d.schema.Fields[i].Name, Type: d.schema.Fields[i].Type, Reason: reason}
	}
	return fmt.Errorf("field %d: %s", i+1, reason)
}

// Decode parses one record and appends it to b.
func (d *Decoder) Decode(rec []byte, b *format.Builder) (bool, error) {
	if len(rec) == 0 && len(d.schema.Fields) != 1 {
		return true, nil
	}
	if err := d.split(rec); err != nil {
		return false, err
	}
	if len(d.fields) != len(d.schema.Fields) {
		return false, fmt.Errorf("expected %d fields, got %d", len(d.schema.Fields), len(d.fields))
	}
	for i, c := range b.Cols {
		f := d.fields[i]
		null := (len(f) == 0 && c.Type.Kind != types.String) ||
			(d.opts.HasNullLiteral && !d.quoted[i] && string(f) == d.opts.NullLiteral)
		if null {
			if c.Type.NotNull {
				b.Rollback()
				return false, format.NullError(c)
			}
			c.AppendNull()
			continue
		}
		if err := format.AppendText(c, f); err != nil {
			b.Rollback()
			return false, err
		}
	}
	b.Commit()
	return false, nil
}

// Encoder writes rows as CSV records.
type Encoder struct {
	opts   Options
	delim  byte
	schema types.Schema
}

var _ format.Encoder = (*Encoder)(nil)

// NewEncoder returns an encoder for rows of schema.
func NewEncoder(schema types.Schema, opts Options) *Encoder {
	return &Encoder{opts: opts, delim: opts.delim(), schema: schema}
}

// Extension returns "csv".
func (e *Encoder) Extension() string { return "csv" }

// Encode appends rec's rows to dst.
func (e *Encoder) Encode(dst []byte, rec arrow.RecordBatch) ([]byte, error) {
	vs, err := format.ColumnValues(e.schema, rec)
	if err != nil {
		return dst, err
	}
	n := int(rec.NumRows())
	for i := 0; i < n; i++ {
		for c := range vs {
			v := &vs[c]
			if c > 0 {
				dst = append(dst, e.delim)
			}
			if v.IsNull(i) {
				if e.opts.HasNullLiteral {
					dst = append(dst, e.opts.NullLiteral...)
				}
				continue
			}
			if v.Kind == types.String {
				dst = e.appendString(dst, v.Str(i))
				continue
			}
			dst = v.AppendText(dst, i, false)
		}
		dst = append(dst, '\n')
	}
	return dst, nil
}

func (e *Encoder) needsQuotes(s string) bool {
	if s == "" {
		// "" keeps an empty string apart from a NULL for readers that tell
		// them apart, and from a blank line.
		return true
	}
	if e.opts.HasNullLiteral && s == e.opts.NullLiteral {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case e.delim, '"', '\n', '\r':
			return true
		}
	}
	return false
}

func (e *Encoder) appendString(dst []byte, s string) []byte {
	if !e.needsQuotes(s) {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for {
		j := strings.IndexByte(s, '"')
		if j < 0 {
			dst = append(dst, s...)
			break
		}
		dst = append(dst, s[:j+1]...)
		dst = append(dst, '"')
		s = s[j+1:]
	}
	return append(dst, '"')
}
