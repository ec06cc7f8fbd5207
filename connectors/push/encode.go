package push

import (
	"fmt"

	pushv1 "github.com/eddy-streaming/eddy/api/push/v1"
	"github.com/eddy-streaming/eddy/connectors/format"
	jsonfmt "github.com/eddy-streaming/eddy/connectors/format/json"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// encoder turns batches of a table's rows into publication rows: each
// row's JSON object, its key's text and its primary key, built a column at
// a time.
type encoder struct {
	schema  types.Schema
	names   [][]byte // `{"a":` then `,"b":` ...
	key     int      // the key column, or -1
	primary []int    // the PRIMARY KEY columns
}

func newEncoder(schema types.Schema, key int, primary []int) *encoder {
	e := &encoder{schema: schema, key: key, primary: primary}
	for i, f := range schema.Fields {
		var k []byte
		if i == 0 {
			k = append(k, '{')
		} else {
			k = append(k, ',')
		}
		k = jsonfmt.AppendString(k, f.Name)
		e.names = append(e.names, append(k, ':'))
	}
	return e
}

// kindText is the message kind of each row kind.
var kindText = [4]string{stream.Insert: "+I", stream.UpdateBefore: "-U", stream.UpdateAfter: "+U", stream.Delete: "-D"}

// encode returns b's rows. Values are JSON: numbers as numbers (DOUBLE's
// NaN and infinities as strings), strings, timestamps as
// 'yyyy-MM-dd HH:mm:ss.SSS' strings, NULL as null.
func (e *encoder) encode(b stream.Batch) ([]*pushv1.Row, error) {
	n := b.NumRows()
	if n == 0 {
		return nil, nil
	}
	vs, err := format.ColumnValues(e.schema, b.Record)
	if err != nil {
		return nil, err
	}
	rows := make([]*pushv1.Row, n)
	bufs := make([][]byte, n)
	for i := range rows {
		k := b.Kind(i)
		if k < stream.Insert || k > stream.Delete {
			return nil, fmt.Errorf("row %d: invalid row kind %s", i, k)
		}
		rows[i] = &pushv1.Row{Kind: kindText[k]}
	}
	if len(vs) == 0 {
		for i := range bufs {
			bufs[i] = append(bufs[i], '{')
		}
	}
	for c := range vs {
		v := &vs[c]
		name := e.names[c]
		for i := range bufs {
			bufs[i] = jsonfmt.AppendValue(append(bufs[i], name...), v, i, false)
		}
	}
	for i, r := range rows {
		r.Json = append(bufs[i], '}')
	}
	if e.key >= 0 {
		v := &vs[e.key]
		var text []byte
		for i, r := range rows {
			if v.IsNull(i) {
				r.KeyNull = true
				continue
			}
			text = v.AppendText(text[:0], i, false)
			r.Key = string(text)
		}
	}
	if len(e.primary) > 0 {
		// The primary key is the JSON of its values, each followed by a
		// comma: distinct keys never encode alike.
		for _, c := range e.primary {
			v := &vs[c]
			for i, r := range rows {
				r.PrimaryKey = append(jsonfmt.AppendValue(r.PrimaryKey, v, i, false), ',')
			}
		}
	}
	return rows, nil
}
