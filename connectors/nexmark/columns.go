package nexmark

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// batch builds the Arrow arrays of one record batch directly in buffers
// from the allocator, each of its final size: a generated value is written
// once, where the batch keeps it.
type batch struct {
	alloc memory.Allocator
	n     int
	cols  []arrow.Array
	refs  []ref // scratch: the values of a string column
}

// reset starts a batch of n rows.
func (b *batch) reset(alloc memory.Allocator, n int) {
	b.alloc, b.n, b.cols = alloc, n, b.cols[:0]
}

// int64s adds a BIGINT (or, with dt, TIMESTAMP(3)) column of n values and
// returns them for the caller to fill.
func (b *batch) int64s(dt arrow.DataType) []int64 {
	buf := memory.NewResizableBuffer(b.alloc)
	buf.Resize(arrow.Int64Traits.BytesRequired(b.n))
	data := array.NewData(dt, b.n, []*memory.Buffer{nil, buf}, nil, 0, 0)
	buf.Release()
	b.cols = append(b.cols, array.MakeFromData(data))
	data.Release()
	return arrow.Int64Traits.CastFromBytes(buf.Bytes())[:b.n]
}

// strings returns the scratch slice for the n values of a string column;
// the caller sets them and calls addStrings.
func (b *batch) strings() []ref {
	if cap(b.refs) < b.n {
		b.refs = make([]ref, b.n)
	}
	return b.refs[:b.n]
}

// addStrings adds a STRING column of the values refs, spans of text.
func (b *batch) addStrings(text []byte, refs []ref) {
	total := 0
	for _, r := range refs {
		total += int(r.n)
	}
	offs := memory.NewResizableBuffer(b.alloc)
	offs.Resize(arrow.Int32Traits.BytesRequired(b.n + 1))
	data := memory.NewResizableBuffer(b.alloc)
	data.Resize(total)
	o := arrow.Int32Traits.CastFromBytes(offs.Bytes())[:b.n+1]
	d := data.Bytes()[:total]
	at := 0
	for i, r := range refs {
		o[i] = int32(at)
		at += copy(d[at:], text[r.off:r.off+r.n])
	}
	o[b.n] = int32(at)
	ad := array.NewData(arrow.BinaryTypes.String, b.n, []*memory.Buffer{nil, offs, data}, nil, 0, 0)
	offs.Release()
	data.Release()
	b.cols = append(b.cols, array.MakeFromData(ad))
	ad.Release()
}

// record returns the batch's columns as a record of schema; the batch
// gives up its references.
func (b *batch) record(schema *arrow.Schema) arrow.RecordBatch {
	rec := array.NewRecordBatch(schema, b.cols, int64(b.n))
	for _, c := range b.cols {
		c.Release()
	}
	b.cols = b.cols[:0]
	return rec
}

// release drops the columns of an unfinished batch.
func (b *batch) release() {
	for _, c := range b.cols {
		c.Release()
	}
	b.cols = b.cols[:0]
}
