package json

import (
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/valyala/fastjson"

	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// OpKey is the key of the row kind in a changelog-json object.
const OpKey = "op"

// Options configure the format.
type Options struct {
	// FailOnMissingField makes a missing key an error instead of NULL.
	FailOnMissingField bool
	// ISOTimestamps writes TIMESTAMP(3) as 'yyyy-MM-ddTHH:mm:ss.SSS'
	// instead of 'yyyy-MM-dd HH:mm:ss.SSS'.
	ISOTimestamps bool
	// Changelog selects the changelog-json variant: every object also
	// holds OpKey, the row's kind ("+I", "-U", "+U" or "-D").
	Changelog bool
	// DropUpdateBefore makes a changelog decoder skip -U objects (an
	// upsert reading, where the +U that follows says everything).
	DropUpdateBefore bool
}

// Decoder parses JSON lines into rows of a schema.
type Decoder struct {
	opts   Options
	schema types.Schema
	p      fastjson.Parser
	index  map[string]int // column name -> position
	lower  map[string]int // lower-cased column name -> position
	vals   []*fastjson.Value
	keybuf []byte
	text   []byte
	visit  func(key []byte, v *fastjson.Value)
	op     *fastjson.Value // the OpKey value of the object (Changelog)
	kind   stream.RowKind  // the kind of the last row appended
}

var (
	_ format.Decoder          = (*Decoder)(nil)
	_ format.ChangelogDecoder = (*Decoder)(nil)
)

// NewDecoder returns a decoder for rows of schema.
func NewDecoder(schema types.Schema, opts Options) *Decoder {
	d := &Decoder{
		opts:   opts,
		schema: schema,
		index:  make(map[string]int, len(schema.Fields)),
		lower:  make(map[string]int, len(schema.Fields)),
		vals:   make([]*fastjson.Value, len(schema.Fields)),
	}
	for i, f := range schema.Fields {
		d.index[f.Name] = i
		d.lower[string(toLower(nil, []byte(f.Name)))] = i
	}
	d.visit = d.visitKey
	return d
}

func toLower(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func (d *Decoder) visitKey(key []byte, v *fastjson.Value) {
	if d.opts.Changelog && string(key) == OpKey {
		d.op = v
		return
	}
	if i, ok := d.index[string(key)]; ok {
		d.vals[i] = v
		return
	}
	d.keybuf = toLower(d.keybuf[:0], key)
	if i, ok := d.lower[string(d.keybuf)]; ok {
		d.vals[i] = v
	}
}

// Framing returns line framing: a JSON line is a record.
func (d *Decoder) Framing() format.Framing { return format.Framing{} }

// Decode parses one line and appends it to b.
func (d *Decoder) Decode(rec []byte, b *format.Builder) (bool, error) {
	line := format.TrimSpace(rec)
	if len(line) == 0 {
		return true, nil
	}
	v, err := d.p.ParseBytes(line)
	if err != nil {
		return false, fmt.Errorf("invalid JSON: %v", err)
	}
	obj, err := v.Object()
	if err != nil {
		return false, fmt.Errorf("expected a JSON object, got %s", v.Type())
	}
	clear(d.vals)
	d.op = nil
	obj.Visit(d.visit)
	if d.opts.Changelog {
		k, err := parseOp(d.op)
		if err != nil {
			return false, err
		}
		if k == stream.UpdateBefore && d.opts.DropUpdateBefore {
			return true, nil
		}
		d.kind = k
	}
	for i, c := range b.Cols {
		if err := d.appendValue(c, d.vals[i]); err != nil {
			b.Rollback()
			return false, err
		}
	}
	b.Commit()
	return false, nil
}

// Kind returns the row kind of the row the last successful Decode
// appended (always +I unless Options.Changelog).
func (d *Decoder) Kind() stream.RowKind { return d.kind }

// parseOp reads the OpKey value of a changelog-json object.
func parseOp(v *fastjson.Value) (stream.RowKind, error) {
	if v == nil {
		return 0, fmt.Errorf("no %q key: a changelog-json object needs one (\"+I\", \"-U\", \"+U\" or \"-D\")", OpKey)
	}
	if s, err := v.StringBytes(); err == nil {
		switch string(s) {
		case "+I":
			return stream.Insert, nil
		case "-U":
			return stream.UpdateBefore, nil
		case "+U":
			return stream.UpdateAfter, nil
		case "-D":
			return stream.Delete, nil
		}
	}
	return 0, fmt.Errorf("%q is %s, not one of \"+I\", \"-U\", \"+U\", \"-D\"", OpKey, format.Shorten(v.MarshalTo(nil)))
}

func (d *Decoder) appendValue(c *format.Column, v *fastjson.Value) error {
	if v == nil || v.Type() == fastjson.TypeNull {
		if v == nil && d.opts.FailOnMissingField {
			return &format.FieldError{Column: c.Name, Type: c.Type, Reason: "no such key in the object ('json.fail-on-missing-field' is set)"}
		}
		if c.Type.NotNull {
			return format.NullError(c)
		}
		c.AppendNull()
		return nil
	}
	switch v.Type() {
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return format.AppendText(c, s)
	case fastjson.TypeNumber:
		d.text = v.MarshalTo(d.text[:0])
		switch c.Type.Kind {
		case types.Int, types.BigInt, types.Double, types.Decimal, types.String:
			return format.AppendText(c, d.text)
		}
	case fastjson.TypeTrue, fastjson.TypeFalse:
		switch c.Type.Kind {
		case types.Boolean:
			c.AppendBool(v.Type() == fastjson.TypeTrue)
			return nil
		case types.String:
			if v.Type() == fastjson.TypeTrue {
				c.AppendString(trueText)
			} else {
				c.AppendString(falseText)
			}
			return nil
		}
	default: // object or array
		d.text = v.MarshalTo(d.text[:0])
		if c.Type.Kind == types.String {
			c.AppendString(d.text)
			return nil
		}
	}
	d.text = v.MarshalTo(d.text[:0])
	return format.ParseError(c, d.text)
}

// Encoder writes rows as JSON lines.
type Encoder struct {
	opts   Options
	schema types.Schema
	keys   [][]byte // `{"a":` then `,"b":` ...
}

var (
	_ format.Encoder          = (*Encoder)(nil)
	_ format.ChangelogEncoder = (*Encoder)(nil)
)

// NewEncoder returns an encoder for rows of schema.
func NewEncoder(schema types.Schema, opts Options) *Encoder {
	e := &Encoder{opts: opts, schema: schema}
	for i, f := range schema.Fields {
		var k []byte
		if i == 0 {
			k = append(k, '{')
		} else {
			k = append(k, ',')
		}
		k = AppendString(k, f.Name)
		e.keys = append(e.keys, append(k, ':'))
	}
	return e
}

// Extension returns "json".
func (e *Encoder) Extension() string { return "json" }

// Encode appends rec's rows to dst (as +I rows in the changelog variant).
func (e *Encoder) Encode(dst []byte, rec arrow.RecordBatch) ([]byte, error) {
	return e.EncodeChangelog(dst, stream.Batch{Record: rec}, false)
}

// opText is the OpKey member written after a row's columns, per row kind.
var opText = [4]string{
	stream.Insert:       `"op":"+I"}`,
	stream.UpdateBefore: `"op":"-U"}`,
	stream.UpdateAfter:  `"op":"+U"}`,
	stream.Delete:       `"op":"-D"}`,
}

// EncodeChangelog appends b's rows to dst; in the changelog variant each
// object ends with its row kind under OpKey, and -U rows are left out when
// dropUpdateBefore is set. Without Options.Changelog every row must be +I.
func (e *Encoder) EncodeChangelog(dst []byte, b stream.Batch, dropUpdateBefore bool) ([]byte, error) {
	rec := b.Record
	vs, err := format.ColumnValues(e.schema, rec)
	if err != nil {
		return dst, err
	}
	n := int(rec.NumRows())
	for i := 0; i < n; i++ {
		k := b.Kind(i)
		if k < stream.Insert || k > stream.Delete {
			return dst, fmt.Errorf("row %d: invalid row kind %s", i, k)
		}
		if !e.opts.Changelog && k != stream.Insert {
			return dst, fmt.Errorf("row %d is %s: the json format writes inserts only (use changelog-json for updates)", i, k)
		}
		if k == stream.UpdateBefore && dropUpdateBefore {
			continue
		}
		if len(vs) == 0 {
			dst = append(dst, '{')
		}
		for c := range vs {
			v := &vs[c]
			dst = append(dst, e.keys[c]...)
			dst = AppendValue(dst, v, i, e.opts.ISOTimestamps)
		}
		if e.opts.Changelog {
			if len(vs) > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, opText[k]...)
		} else {
			dst = append(dst, '}')
		}
		dst = append(dst, '\n')
	}
	return dst, nil
}

var trueText, falseText = []byte("true"), []byte("false")

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendValue appends row i of v as a JSON value: null, a number, a
// string; TIMESTAMP(3) as a string in the SQL form (or ISO-8601 with iso);
// NaN and the infinities as strings, as Jackson writes them.
func AppendValue(dst []byte, v *format.Values, i int, iso bool) []byte {
	if v.IsNull(i) {
		return append(dst, "null"...)
	}
	switch v.Kind {
	case types.String:
		return AppendString(dst, v.Str(i))
	case types.Timestamp:
		dst = append(dst, '"')
		dst = v.AppendText(dst, i, iso)
		return append(dst, '"')
	case types.Double:
		start := len(dst)
		dst = v.AppendText(dst, i, false)
		if c := dst[start]; c == 'N' || c == 'I' || (c == '-' && dst[start+1] == 'I') {
			dst = append(dst[:start], '"')
			dst = v.AppendText(dst, i, false)
			return append(dst, '"')
		}
		return dst
	}
	return v.AppendText(dst, i, false)
}
