package joinrows

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// OutputBatchRows is the largest batch a join emits, and the number of
// candidate pairs whose residual condition is evaluated at a time.
const OutputBatchRows = winbuf.OutputBatchRows

// SideName names input 0 and input 1 in messages.
var SideName = [2]string{"left", "right"}

// Layout is the column layout of a join: each side's schema (known from
// its first batch), key columns, key and row encoders, and where its
// columns sit in the output.
type Layout struct {
	// Out is the output schema.
	Out *arrow.Schema
	// Semi is set for SEMI and ANTI joins, which emit the left columns only.
	Semi bool
	// Keys are the key columns of each side.
	Keys [2][]int
	// Width is the number of columns of each side (-1 until known: from
	// the first batch of either side, or for SEMI and ANTI the left width
	// from the output and the right one from the right's first batch).
	Width [2]int
	// Schema is each side's schema, nil until its first batch.
	Schema [2]*arrow.Schema
	// KeyEnc hashes and encodes each side's key columns.
	KeyEnc [2]*winbuf.Keys
	// RowEnc encodes each side's rows whole, exactly (state and output).
	RowEnc [2]*rowkey.Encoder

	dec [2]*array.RecordBuilder // scratch: stored rows decoded for the residual
}

// NewLayout returns the layout of a join with output schema out.
func NewLayout(out *arrow.Schema, semi bool, leftKeys, rightKeys []int) (*Layout, error) {
	if len(leftKeys) != len(rightKeys) {
		return nil, fmt.Errorf("%d left keys but %d right keys", len(leftKeys), len(rightKeys))
	}
	l := &Layout{Out: out, Semi: semi, Keys: [2][]int{leftKeys, rightKeys}, Width: [2]int{-1, -1}}
	if semi {
		l.Width[0] = out.NumFields()
	}
	return l, nil
}

// Admit checks batch b of side s and reports whether it has rows. The
// first batch of a side binds it (see Bind); later ones must have the same
// schema. With appendOnly, any row kind but +I is an error.
func (l *Layout) Admit(s int, b stream.Batch, appendOnly bool, what string) (bool, error) {
	if b.NumRows() == 0 {
		return false, nil
	}
	if appendOnly {
		for i, k := range b.Kinds {
			if k != stream.Insert {
				return false, fmt.Errorf("row %d is %s: %s takes append-only input (inserts only)", i, k, what)
			}
		}
	} else {
		for i, k := range b.Kinds {
			if k < stream.Insert || k > stream.Delete {
				return false, fmt.Errorf("row %d has invalid row kind %s", i, k)
			}
		}
	}
	sc := b.Record.Schema()
	if l.Schema[s] == nil {
		if err := l.Bind(s, sc); err != nil {
			return false, err
		}
	} else if sc != l.Schema[s] && !sc.Equal(l.Schema[s]) {
		return false, fmt.Errorf("input schema changed from %s to %s", l.Schema[s], sc)
	}
	return true, nil
}

// Bind checks side s's schema sc against the output and the other side,
// and prepares its encoders.
func (l *Layout) Bind(s int, sc *arrow.Schema) error {
	nf := sc.NumFields()
	for _, c := range l.Keys[s] {
		if c < 0 || c >= nf {
			return fmt.Errorf("key column %d is out of range: input has %d columns %s", c, nf, sc)
		}
	}
	if !l.Semi || s == 0 {
		if l.Width[s] < 0 {
			l.Width[s], l.Width[1-s] = nf, l.Out.NumFields()-nf
		}
		if nf != l.Width[s] || (!l.Semi && l.Width[1-s] < 1) {
			return fmt.Errorf("input has %d columns, which does not fit the %d output columns %s", nf, l.Out.NumFields(), l.Out)
		}
		off := 0
		if s == 1 {
			off = l.Width[0]
		}
		for i := 0; i < nf; i++ {
			if t, want := sc.Field(i).Type, l.Out.Field(off+i).Type; !arrow.TypeEqual(t, want) {
				return fmt.Errorf("input column %d (%s) is %s but output column %d (%s) is %s", i, sc.Field(i).Name, t, off+i, l.Out.Field(off+i).Name, want)
			}
		}
	} else {
		l.Width[1] = nf
	}
	if other := l.Schema[1-s]; other != nil {
		sides := [2]*arrow.Schema{}
		sides[s], sides[1-s] = sc, other
		for i := range l.Keys[0] {
			lf, rf := sides[0].Field(l.Keys[0][i]), sides[1].Field(l.Keys[1][i])
			if !arrow.TypeEqual(lf.Type, rf.Type) {
				return fmt.Errorf("join key %d: left column %s is %s but right column %s is %s", i, lf.Name, lf.Type, rf.Name, rf.Type)
			}
		}
	}
	var err error
	if l.KeyEnc[s], err = winbuf.NewKeys(sc, l.Keys[s]); err != nil {
		return fmt.Errorf("join keys: %w", err)
	}
	ts := make([]arrow.DataType, nf)
	for i := range ts {
		ts[i] = sc.Field(i).Type
	}
	if l.RowEnc[s], err = rowkey.NewRowEncoder(ts); err != nil {
		return fmt.Errorf("rows: %w", err)
	}
	l.Schema[s] = sc
	return nil
}

// Residual compiles the residual condition e over the left columns then
// the right ones; both sides must be bound.
func (l *Layout) Residual(e *expr.Expr, env expr.Env) (expr.Evaluator, error) {
	var joined types.Schema
	for _, sc := range l.Schema {
		for _, f := range sc.Fields() {
			t, err := sqlType(f.Type)
			if err != nil {
				return nil, fmt.Errorf("residual condition: column %s: %w", f.Name, err)
			}
			joined.Fields = append(joined.Fields, types.Field{Name: f.Name, Type: t})
		}
	}
	ev, err := expr.CompileWith(e, joined, env)
	if err != nil {
		return nil, fmt.Errorf("residual condition: %w", err)
	}
	if k := ev.Type().Kind; k != types.Boolean && k != types.Null {
		return nil, fmt.Errorf("residual condition is %s, want BOOLEAN", ev.Type())
	}
	return ev, nil
}

// sqlType returns the SQL type whose Arrow type is t.
func sqlType(t arrow.DataType) (types.Type, error) {
	switch t.ID() {
	case arrow.BOOL:
		return types.BooleanType, nil
	case arrow.INT32:
		return types.IntType, nil
	case arrow.INT64:
		return types.BigIntType, nil
	case arrow.FLOAT64:
		return types.DoubleType, nil
	case arrow.DECIMAL128:
		d := t.(*arrow.Decimal128Type)
		return types.DecimalType(int(d.Precision), int(d.Scale)), nil
	case arrow.STRING:
		return types.StringType, nil
	case arrow.TIMESTAMP:
		return types.TimestampType, nil
	}
	return types.Type{}, fmt.Errorf("unsupported column type %s", t)
}

// Select evaluates the residual condition ev over candidate pairs: pair k
// joins row probe[k] of batch (side s) with the stored row k of stored
// (side 1-s). It returns the pairs where the condition is TRUE. Only the
// columns ev reads are gathered.
func (l *Layout) Select(ctx context.Context, ev expr.Evaluator, s int, batch arrow.RecordBatch, probe []int32, stored *RowBuf, mem memory.Allocator) (expr.Selection, error) {
	n := len(probe)
	o := 1 - s
	cols := make([]arrow.Array, l.Width[0]+l.Width[1])
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var dec arrow.RecordBatch
	defer func() {
		if dec != nil {
			dec.Release()
		}
	}()
	for _, c := range ev.Columns() {
		side, col := 0, c
		if c >= l.Width[0] {
			side, col = 1, c-l.Width[0]
		}
		if side == s {
			a, err := expr.Take(batch.Column(col), probe, mem)
			if err != nil {
				return expr.Selection{}, fmt.Errorf("residual condition: column %d: %w", c, err)
			}
			cols[c] = a
			continue
		}
		if dec == nil {
			if l.dec[o] == nil {
				l.dec[o] = array.NewRecordBuilder(mem, l.Schema[o])
			}
			rb := l.dec[o]
			if err := stored.Decode(l.RowEnc[o], rb.Fields()); err != nil {
				return expr.Selection{}, fmt.Errorf("residual condition: stored %s rows: %w", SideName[o], err)
			}
			dec = rb.NewRecordBatch()
		}
		a := dec.Column(col)
		a.Retain()
		cols[c] = a
	}
	sel, err := expr.SelectColumns(ctx, ev, cols, n, mem)
	if err != nil {
		return expr.Selection{}, fmt.Errorf("residual condition: %w", err)
	}
	return sel, nil
}

// Release releases the layout's scratch builders.
func (l *Layout) Release() {
	for s, rb := range l.dec {
		if rb != nil {
			rb.Release()
			l.dec[s] = nil
		}
	}
}

// RowBuf collects encoded rows back to back for one columnar Decode.
type RowBuf struct {
	Data   []byte
	Starts []int
	tmp    []int
}

// Reset empties b, keeping its memory.
func (b *RowBuf) Reset() { b.Data, b.Starts = b.Data[:0], b.Starts[:0] }

// Len returns the number of rows in b.
func (b *RowBuf) Len() int { return len(b.Starts) }

// Add appends a copy of the encoded row.
func (b *RowBuf) Add(row []byte) {
	b.Starts = append(b.Starts, len(b.Data))
	b.Data = append(b.Data, row...)
}

// Decode appends b's rows, decoded by enc, to the builders (one per
// column).
func (b *RowBuf) Decode(enc *rowkey.Encoder, bs []array.Builder) error {
	b.tmp = append(b.tmp[:0], b.Starts...)
	return enc.Decode(b.Data, b.tmp, bs)
}

// Output assembles a join's output batches from encoded rows.
type Output struct {
	out   *arrow.Schema
	semi  bool
	width [2]int
	rb    *array.RecordBuilder
	bs    [2][]array.Builder
	enc   [2]*rowkey.Encoder
	null  [2][]byte
	buf   [2]RowBuf
	kinds []stream.RowKind
	plain bool // every kind so far is +I
}

// NewOutput returns an output assembler; the layout's widths must be
// known (a side is bound).
func (l *Layout) NewOutput(mem memory.Allocator) (*Output, error) {
	o := &Output{out: l.Out, semi: l.Semi, width: l.Width, plain: true}
	o.rb = array.NewRecordBuilder(mem, l.Out)
	fs := o.rb.Fields()
	sides := 2
	if l.Semi {
		sides = 1
	}
	for s := 0; s < sides; s++ {
		off := 0
		if s == 1 {
			off = l.Width[0]
		}
		w := l.Width[s]
		o.bs[s] = fs[off : off+w]
		ts := make([]arrow.DataType, w)
		nulls := make([]arrow.Array, w)
		for i := range ts {
			ts[i] = l.Out.Field(off + i).Type
			nulls[i] = array.MakeArrayOfNull(mem, ts[i], 1)
		}
		enc, err := rowkey.NewRowEncoder(ts)
		if err == nil {
			var rows rowkey.Rows
			if err = enc.Encode(nulls, 1, nil, &rows); err == nil {
				o.null[s] = append([]byte(nil), rows.Row(0)...)
			}
		}
		for _, a := range nulls {
			a.Release()
		}
		if err != nil {
			o.rb.Release()
			return nil, fmt.Errorf("output %s columns: %w", SideName[s], err)
		}
		o.enc[s] = enc
	}
	return o, nil
}

// Len returns the number of rows waiting to be emitted.
func (o *Output) Len() int { return len(o.kinds) }

// Add appends an output row of kind k: the left row l and the right row r
// (encoded whole; nil: NULLs; r is ignored for SEMI and ANTI). It emits a
// full batch.
func (o *Output) Add(ctx context.Context, out Collector, l, r []byte, k stream.RowKind) error {
	if l == nil {
		l = o.null[0]
	}
	o.buf[0].Add(l)
	if !o.semi {
		if r == nil {
			r = o.null[1]
		}
		o.buf[1].Add(r)
	}
	o.kinds = append(o.kinds, k)
	if k != stream.Insert {
		o.plain = false
	}
	if len(o.kinds) >= OutputBatchRows {
		return o.Flush(ctx, out)
	}
	return nil
}

// Collector is operator.Collector (repeated to keep this package free of
// the operator package).
type Collector interface {
	Emit(ctx context.Context, b stream.Batch) error
}

// Flush emits the rows added so far, if any.
func (o *Output) Flush(ctx context.Context, out Collector) error {
	n := len(o.kinds)
	if n == 0 {
		return nil
	}
	sides := 2
	if o.semi {
		sides = 1
	}
	for s := 0; s < sides; s++ {
		if err := o.buf[s].Decode(o.enc[s], o.bs[s]); err != nil {
			o.rb.NewRecordBatch().Release() // drop what was decoded
			o.reset()
			return fmt.Errorf("output %s columns: %w", SideName[s], err)
		}
	}
	rec := o.rb.NewRecordBatch()
	var kinds []stream.RowKind
	if !o.plain {
		kinds = append([]stream.RowKind(nil), o.kinds...)
	}
	o.reset()
	return out.Emit(ctx, stream.Batch{Record: rec, Kinds: kinds})
}

func (o *Output) reset() {
	o.buf[0].Reset()
	o.buf[1].Reset()
	o.kinds = o.kinds[:0]
	o.plain = true
}

// Release releases the assembler's builders.
func (o *Output) Release() {
	if o.rb != nil {
		o.rb.Release()
		o.rb = nil
	}
}

// Pairs are a probe batch's join pairs: candidates (a batch row and a
// stored row's id) collected while probing, filtered through the residual
// a chunk at a time, and the matches indexed by batch row.
type Pairs struct {
	Probe    []int32 // candidates: batch rows
	Cand     []int32 // candidates: stored row ids
	CandRows RowBuf  // candidates: the stored rows, for the residual
	Row      []int32 // matches, in batch row order: batch rows
	ID       []int32 // matches: stored row ids
	Start    []int32 // per batch row i: its matches are [Start[i], Start[i+1])
}

// Filter applies the residual ev (nil: none) to the pending candidates of
// side s's batch rec and keeps those that match.
func (p *Pairs) Filter(ctx context.Context, lay *Layout, ev expr.Evaluator, s int, rec arrow.RecordBatch, mem memory.Allocator) error {
	if len(p.Probe) == 0 {
		return nil
	}
	sel, err := lay.Select(ctx, ev, s, rec, p.Probe, &p.CandRows, mem)
	if err != nil {
		return err
	}
	if sel.All {
		p.Row = append(p.Row, p.Probe...)
		p.ID = append(p.ID, p.Cand...)
	} else {
		for _, k := range sel.Indices {
			p.Row = append(p.Row, p.Probe[k])
			p.ID = append(p.ID, p.Cand[k])
		}
	}
	p.Probe, p.Cand = p.Probe[:0], p.Cand[:0]
	p.CandRows.Reset()
	return nil
}

// Index fills Start for a batch of n rows once every match is in.
func (p *Pairs) Index(n int) {
	if cap(p.Start) < n+1 {
		p.Start = make([]int32, n+1, n+1+n/4)
	}
	p.Start = p.Start[:n+1]
	k := 0
	for i := 0; i <= n; i++ {
		for k < len(p.Row) && int(p.Row[k]) < i {
			k++
		}
		p.Start[i] = int32(k)
	}
}

// Of returns the stored row ids batch row i matched.
func (p *Pairs) Of(i int) []int32 { return p.ID[p.Start[i]:p.Start[i+1]] }
