package kafka

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/connectors/format/csv"
	"github.com/eddy-streaming/eddy/connectors/format/json"
	"github.com/eddy-streaming/eddy/connectors/format/raw"
	"github.com/eddy-streaming/eddy/engine/types"
)

// newDecoder returns the decoder of one side's format.
func newDecoder(f formatConfig) (format.Decoder, error) {
	switch f.name {
	case "csv":
		return csv.NewDecoder(f.schema, f.csv), nil
	case "json":
		return json.NewDecoder(f.schema, f.json), nil
	case "raw":
		return raw.NewDecoder(f.schema)
	}
	return nil, fmt.Errorf("unknown format '%s'", f.name)
}

// trimRecord drops one trailing line break from a text record, which
// producers that write lines leave on messages.
func trimRecord(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// messageEncoder turns rows into message payloads, one per row.
type messageEncoder interface {
	// encode returns one payload per row of rec (nil for a NULL raw
	// value), in memory of its own (rec may be released after).
	encode(rec arrow.RecordBatch) ([][]byte, error)
}

// newEncoder returns the encoder of one side's format.
func newEncoder(f formatConfig) (messageEncoder, error) {
	switch f.name {
	case "csv":
		d := f.csv.Delimiter
		if d == 0 {
			d = ','
		}
		return &textEncoder{enc: csv.NewEncoder(f.schema, f.csv), framing: format.Framing{Quote: '"', Delim: d}}, nil
	case "json":
		return &textEncoder{enc: json.NewEncoder(f.schema, f.json)}, nil
	case "raw":
		e, err := raw.NewEncoder(f.schema)
		if err != nil {
			return nil, err
		}
		return rawEncoder{e}, nil
	}
	return nil, fmt.Errorf("unknown format '%s'", f.name)
}

// textEncoder encodes a whole batch with a line format and cuts the text
// into records with the format's framing (csv fields may hold quoted line
// breaks).
type textEncoder struct {
	enc     format.Encoder
	framing format.Framing
}

func (e *textEncoder) encode(rec arrow.RecordBatch) ([][]byte, error) {
	n := int(rec.NumRows())
	buf, err := e.enc.Encode(make([]byte, 0, 64*n), rec)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, n)
	for len(buf) > 0 {
		adv, r, _ := format.SplitRecord(buf, true, e.framing)
		if adv <= 0 {
			break
		}
		out = append(out, r[:len(r):len(r)])
		buf = buf[adv:]
	}
	if len(out) != n {
		return nil, fmt.Errorf("encoded %d rows into %d records", n, len(out))
	}
	return out, nil
}

// rawEncoder copies the single STRING column's values.
type rawEncoder struct{ e *raw.Encoder }

func (e rawEncoder) encode(rec arrow.RecordBatch) ([][]byte, error) {
	vals, err := e.e.Values(rec)
	if err != nil {
		return nil, err
	}
	size := 0
	for _, v := range vals {
		size += len(v)
	}
	buf := make([]byte, 0, size)
	for i, v := range vals {
		if v == nil {
			continue
		}
		start := len(buf)
		buf = append(buf, v...)
		vals[i] = buf[start:len(buf):len(buf)]
	}
	return vals, nil
}

// project returns the columns cols of rec as a record of schema (sharing
// rec's arrays; the caller releases it).
func project(rec arrow.RecordBatch, schema types.Schema, cols []int) arrow.RecordBatch {
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		arrs[i] = rec.Column(c)
	}
	return array.NewRecordBatch(schema.Arrow(), arrs, rec.NumRows())
}
