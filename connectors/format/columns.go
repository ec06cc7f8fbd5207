package format

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// Column accumulates the values of one column of the batch being built,
// in plain Go slices that are reused from batch to batch. Exactly one of
// the value slices is used, chosen by the column's type: I32 for INT, I64
// for BIGINT and TIMESTAMP (milliseconds), F64 for DOUBLE, Bools for
// BOOLEAN, Dec for DECIMAL, Offs and Data for STRING.
type Column struct {
	Name string
	Type types.Type

	n     int
	valid []bool // nil while the column has no NULL
	nulls int

	I32   []int32
	I64   []int64
	F64   []float64
	Bools []bool
	Dec   []decimal128.Num
	Offs  []int32 // len n+1 for STRING
	Data  []byte
}

// Len returns the number of values in c.
func (c *Column) Len() int { return c.n }

func (c *Column) markValid() {
	if c.valid != nil {
		c.valid = append(c.valid, true)
	}
}

// AppendNull appends a NULL.
func (c *Column) AppendNull() {
	if c.valid == nil {
		c.valid = make([]bool, c.n, max(c.n+1, 64))
		for i := range c.valid {
			c.valid[i] = true
		}
	}
	c.valid = append(c.valid, false)
	c.nulls++
	switch c.Type.Kind {
	case types.Int:
		c.I32 = append(c.I32, 0)
	case types.BigInt, types.Timestamp:
		c.I64 = append(c.I64, 0)
	case types.Double:
		c.F64 = append(c.F64, 0)
	case types.Boolean:
		c.Bools = append(c.Bools, false)
	case types.Decimal:
		c.Dec = append(c.Dec, decimal128.Num{})
	case types.String:
		c.Offs = append(c.Offs, int32(len(c.Data)))
	}
	c.n++
}

// AppendInt32 appends an INT value.
func (c *Column) AppendInt32(v int32) { c.I32 = append(c.I32, v); c.markValid(); c.n++ }

// AppendInt64 appends a BIGINT or TIMESTAMP value.
func (c *Column) AppendInt64(v int64) { c.I64 = append(c.I64, v); c.markValid(); c.n++ }

// AppendFloat64 appends a DOUBLE value.
func (c *Column) AppendFloat64(v float64) { c.F64 = append(c.F64, v); c.markValid(); c.n++ }

// AppendBool appends a BOOLEAN value.
func (c *Column) AppendBool(v bool) { c.Bools = append(c.Bools, v); c.markValid(); c.n++ }

// AppendDecimal appends a DECIMAL value (already scaled).
func (c *Column) AppendDecimal(v decimal128.Num) { c.Dec = append(c.Dec, v); c.markValid(); c.n++ }

// AppendString appends a STRING value; b is copied.
func (c *Column) AppendString(b []byte) {
	c.Data = append(c.Data, b...)
	c.Offs = append(c.Offs, int32(len(c.Data)))
	c.markValid()
	c.n++
}

// EndString ends a STRING value made of the bytes the caller appended to
// Data since the previous value (for generators that write text in place).
func (c *Column) EndString() {
	c.Offs = append(c.Offs, int32(len(c.Data)))
	c.markValid()
	c.n++
}

// ExtendInt64 appends n non-NULL values and returns them for the caller
// to fill (for generators that write a whole column at once).
func (c *Column) ExtendInt64(n int) []int64 {
	c.I64 = grow(c.I64, n)
	c.extendValid(n)
	return c.I64[len(c.I64)-n:]
}

// ExtendInt32 is ExtendInt64 for INT columns.
func (c *Column) ExtendInt32(n int) []int32 {
	c.I32 = grow(c.I32, n)
	c.extendValid(n)
	return c.I32[len(c.I32)-n:]
}

func (c *Column) extendValid(n int) {
	if c.valid != nil {
		for i := 0; i < n; i++ {
			c.valid = append(c.valid, true)
		}
	}
	c.n += n
}

func grow[T any](s []T, n int) []T {
	if cap(s)-len(s) < n {
		ns := make([]T, len(s), max(2*cap(s), len(s)+n))
		copy(ns, s)
		s = ns
	}
	return s[:len(s)+n]
}

// truncate drops values past the first n.
func (c *Column) truncate(n int) {
	if n >= c.n {
		return
	}
	c.n = n
	switch c.Type.Kind {
	case types.Int:
		c.I32 = c.I32[:n]
	case types.BigInt, types.Timestamp:
		c.I64 = c.I64[:n]
	case types.Double:
		c.F64 = c.F64[:n]
	case types.Boolean:
		c.Bools = c.Bools[:n]
	case types.Decimal:
		c.Dec = c.Dec[:n]
	case types.String:
		c.Offs = c.Offs[:n+1]
		c.Data = c.Data[:c.Offs[n]]
	}
	if c.valid != nil {
		c.valid = c.valid[:n]
		c.nulls = 0
		for _, v := range c.valid {
			if !v {
				c.nulls++
			}
		}
	}
}

func (c *Column) reset() {
	c.n, c.nulls, c.valid = 0, 0, nil
	c.I32, c.I64, c.F64, c.Bools, c.Dec = c.I32[:0], c.I64[:0], c.F64[:0], c.Bools[:0], c.Dec[:0]
	c.Offs, c.Data = append(c.Offs[:0], 0), c.Data[:0]
}

// Builder builds Arrow record batches of one schema a row (or, for
// generators, a column) at a time. Decoders append one value to every
// column and then Commit the row, or Rollback a row that turned out bad:
// nothing of a rolled-back row reaches the batch.
type Builder struct {
	schema *arrow.Schema
	// Cols are the columns, in schema order.
	Cols []*Column
	rows int
}

// NewBuilder returns a builder for rows of schema. Every column type must
// be one a table can have (not NULL or INTERVAL); CheckColumnTypes reports
// the offending column first.
func NewBuilder(schema types.Schema) *Builder {
	b := &Builder{schema: schema.Arrow(), Cols: make([]*Column, len(schema.Fields))}
	for i, f := range schema.Fields {
		b.Cols[i] = &Column{Name: f.Name, Type: f.Type, Offs: []int32{0}}
	}
	return b
}

// CheckColumnTypes reports the first column whose type no connector can
// carry.
func CheckColumnTypes(schema types.Schema) error {
	for _, f := range schema.Fields {
		switch f.Type.Kind {
		case types.Boolean, types.Int, types.BigInt, types.Double, types.Decimal, types.String, types.Timestamp:
		default:
			return fmt.Errorf("column '%s': type %s cannot be stored in a table", f.Name, f.Type)
		}
		if f.Type.Kind == types.Decimal && (f.Type.Precision < 1 || f.Type.Precision > 38 || f.Type.Scale < 0 || f.Type.Scale > f.Type.Precision) {
			return fmt.Errorf("column '%s': %s is not a valid DECIMAL (precision 1..38, scale 0..precision)", f.Name, f.Type)
		}
	}
	return nil
}

// Schema returns the Arrow schema of the batches.
func (b *Builder) Schema() *arrow.Schema { return b.schema }

// Rows returns the number of committed rows.
func (b *Builder) Rows() int { return b.rows }

// Commit ends the current row: every column must have one more value.
func (b *Builder) Commit() { b.rows++ }

// CommitN ends n rows appended column by column.
func (b *Builder) CommitN(n int) { b.rows += n }

// Rollback drops the values appended since the last Commit.
func (b *Builder) Rollback() {
	for _, c := range b.Cols {
		c.truncate(b.rows)
	}
}

// Build returns the committed rows as a record batch allocated from alloc
// (the caller owns it) and empties the builder for the next batch.
func (b *Builder) Build(alloc memory.Allocator) (arrow.RecordBatch, error) {
	b.Rollback()
	cols := make([]arrow.Array, len(b.Cols))
	release := func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}
	for i, c := range b.Cols {
		a, err := c.build(alloc, b.schema.Field(i).Type)
		if err != nil {
			release()
			return nil, err
		}
		cols[i] = a
	}
	rec := array.NewRecordBatch(b.schema, cols, int64(b.rows))
	release()
	for _, c := range b.Cols {
		c.reset()
	}
	b.rows = 0
	return rec, nil
}

func newBuf(alloc memory.Allocator, n int) *memory.Buffer {
	buf := memory.NewResizableBuffer(alloc)
	buf.Resize(n)
	return buf
}

func bitmapBuf(alloc memory.Allocator, bits []bool) *memory.Buffer {
	buf := newBuf(alloc, int(bitutil.BytesForBits(int64(len(bits)))))
	bm := buf.Bytes()
	clear(bm)
	for i, v := range bits {
		if v {
			bitutil.SetBit(bm, i)
		}
	}
	return buf
}

func (c *Column) build(alloc memory.Allocator, dt arrow.DataType) (arrow.Array, error) {
	var validity *memory.Buffer
	if c.nulls > 0 {
		validity = bitmapBuf(alloc, c.valid)
	}
	var bufs []*memory.Buffer
	switch c.Type.Kind {
	case types.Int:
		v := newBuf(alloc, arrow.Int32Traits.BytesRequired(c.n))
		copy(v.Bytes(), arrow.Int32Traits.CastToBytes(c.I32))
		bufs = []*memory.Buffer{validity, v}
	case types.BigInt, types.Timestamp:
		v := newBuf(alloc, arrow.Int64Traits.BytesRequired(c.n))
		copy(v.Bytes(), arrow.Int64Traits.CastToBytes(c.I64))
		bufs = []*memory.Buffer{validity, v}
	case types.Double:
		v := newBuf(alloc, arrow.Float64Traits.BytesRequired(c.n))
		copy(v.Bytes(), arrow.Float64Traits.CastToBytes(c.F64))
		bufs = []*memory.Buffer{validity, v}
	case types.Decimal:
		v := newBuf(alloc, arrow.Decimal128Traits.BytesRequired(c.n))
		copy(v.Bytes(), arrow.Decimal128Traits.CastToBytes(c.Dec))
		bufs = []*memory.Buffer{validity, v}
	case types.Boolean:
		bufs = []*memory.Buffer{validity, bitmapBuf(alloc, c.Bools)}
	case types.String:
		if len(c.Data) > math.MaxInt32 {
			if validity != nil {
				validity.Release()
			}
			return nil, fmt.Errorf("column '%s': more than 2 GiB of text in one batch", c.Name)
		}
		o := newBuf(alloc, arrow.Int32Traits.BytesRequired(c.n+1))
		copy(o.Bytes(), arrow.Int32Traits.CastToBytes(c.Offs[:c.n+1]))
		d := newBuf(alloc, len(c.Data))
		copy(d.Bytes(), c.Data)
		bufs = []*memory.Buffer{validity, o, d}
	default:
		if validity != nil {
			validity.Release()
		}
		return nil, fmt.Errorf("column '%s': type %s cannot be stored in a table", c.Name, c.Type)
	}
	data := array.NewData(dt, c.n, bufs, nil, c.nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	a := array.MakeFromData(data)
	data.Release()
	return a, nil
}
