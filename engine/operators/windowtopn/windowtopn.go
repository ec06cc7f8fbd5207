package windowtopn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// Job options and defaults.
const (
	// BufferLimitOption caps the number of candidate rows the operator
	// buffers in memory before it spills some to keyed state.
	BufferLimitOption = "table.exec.window-rank.buffer-size-limit"
	// DefaultBufferLimit is the buffer limit when the job sets none.
	DefaultBufferLimit = winbuf.DefaultLimit
	// OutputBatchRows is the largest batch the operator emits.
	OutputBatchRows = winbuf.OutputBatchRows
)

// Metric names.
const (
	LateRecordsMetric = winbuf.LateRecordsMetric
	NullRowtimeMetric = winbuf.NullRowtimeMetric
)

// bufferConfig describes the operator's buffer and state table; see
// package winbuf for the layout and state.go for a partition's state.
var bufferConfig = winbuf.Config{
	Kind:         "window_topn",
	Table:        "window_topn.v2",
	Version:      2,
	LimitOption:  BufferLimitOption,
	DefaultLimit: DefaultBufferLimit,
	Unit:         "rows",
	LateHelp:     "Rows dropped because their window had already fired.",
	NullHelp:     "Rows dropped because their window columns were NULL.",
}

// compactMin is the number of dead candidates a window tolerates before it
// compacts its arenas (once dead ones also outnumber live ones).
var compactMin = 4096

// Operator is the window Top-N. See the package comment.
type Operator struct {
	spec     *jobgraph.WindowTopNSpec
	id       string
	out      *arrow.Schema
	n        int
	partCols []int // PartitionKeys without the window columns

	oc    *operator.Context
	buf   *winbuf.Buffer[*window]
	input winbuf.Input

	// Bound by the first batch.
	parts   *winbuf.Keys
	sortEnc *rowkey.SortEncoder
	rowEnc  *rowkey.Encoder

	seq uint64 // arrival number of the last row offered

	// Snapshots (snapshot.go).
	meta        *winbuf.Meta
	seqLimit    uint64 // above every arrival number handed out
	schemaBytes []byte // the input schema, encoded
	metaBuf     []byte

	// Scratch reused from batch to batch.
	sortArrs []arrow.Array
	allArrs  []arrow.Array
	skeys    rowkey.Rows
	payload  rowkey.Rows
	pids     []uint32
	split    winbuf.Split[winbuf.Key]
	pending  []pendingRow
	prow     []int32
	outIDs   []int32
	ranks    []int64
	starts   []int
}

// pendingRow is an accepted row of the current batch whose payload is not
// encoded yet.
type pendingRow struct {
	w    *window
	cand int32
	row  int32
}

// window holds the candidates of one window: per partition a max-heap (the
// worst candidate on top) of at most n candidate ids. It is a winbuf.Window
// whose size is its number of live candidates.
type window struct {
	n      int
	latest bool // ties go to the latest arrival (WindowTopNSpec.LastOnTies)
	parts  *hashtable.Table
	// Heap of partition p: slab[hoff[p] : hoff[p]+hlen[p]], capacity hcap[p].
	hoff, hlen, hcap []int32
	slab             []int32
	cands            []cand
	sk, pay          []byte // arenas of sort keys and payload rows
	live, dead       int
	// Spare arenas compact writes into, swapped with the live ones.
	spareCands []cand
	spareSk    []byte
	sparePay   []byte
}

// cand is a candidate row: its sort key and payload in the window's arenas.
type cand struct {
	seq           uint64 // arrival order, for ties
	skOff, payOff int
	skLen, payLen int32 // payLen < 0: payload pending; skLen < 0: dead
}

// New builds a window Top-N from its spec.
func New(spec *jobgraph.OperatorSpec) (operator.Operator, error) {
	ts := spec.WindowTopN
	if ts == nil {
		return nil, fmt.Errorf("window_topn %s: spec has no window_topn part", spec.ID)
	}
	if ts.N < 1 || ts.N > 1<<24 {
		return nil, fmt.Errorf("window_topn %s: N = %d: want 1 <= N <= %d", spec.ID, ts.N, 1<<24)
	}
	if ts.WindowStart < 0 || ts.WindowEnd < 0 || ts.WindowStart == ts.WindowEnd {
		return nil, fmt.Errorf("window_topn %s: window columns start=%d end=%d are invalid", spec.ID, ts.WindowStart, ts.WindowEnd)
	}
	if ts.EmitRank {
		if last := spec.Output.Len() - 1; last < 0 || spec.Output.Fields[last].Type.Kind != types.BigInt {
			return nil, fmt.Errorf("window_topn %s: with EmitRank the last output column must be the BIGINT row number", spec.ID)
		}
	}
	o := &Operator{spec: ts, id: spec.ID, out: spec.Output.Arrow(), n: int(ts.N)}
	for _, c := range ts.PartitionKeys {
		if c != ts.WindowStart && c != ts.WindowEnd {
			o.partCols = append(o.partCols, c)
		}
	}
	return o, nil
}

// Open implements operator.Operator.
func (o *Operator) Open(ctx context.Context, oc *operator.Context) error {
	buf, err := winbuf.Open(oc, bufferConfig, o.newWindow)
	if err != nil {
		return fmt.Errorf("window_topn %s: %w", oc.OperatorID, err)
	}
	o.oc, o.buf = oc, buf
	if o.meta, err = buf.Meta(); err != nil {
		return fmt.Errorf("window_topn %s: %w", oc.OperatorID, err)
	}
	return nil
}

// bind checks the first batch's schema against the spec and prepares the
// encoders.
func (o *Operator) bind(s *arrow.Schema) error {
	ts := o.spec
	nf := s.NumFields()
	check := func(what string, col int) error {
		if col < 0 || col >= nf {
			return fmt.Errorf("%s column %d is out of range: input has %d columns %s", what, col, nf, s)
		}
		return nil
	}
	for _, c := range []int{ts.WindowStart, ts.WindowEnd} {
		if err := check("window", c); err != nil {
			return err
		}
		if t := s.Field(c).Type; t.ID() != arrow.TIMESTAMP {
			return fmt.Errorf("window column %d (%s) is %s, want TIMESTAMP(3)", c, s.Field(c).Name, t)
		}
	}
	extra := 0
	if ts.EmitRank {
		extra = 1
	}
	if o.out.NumFields() != nf+extra {
		return fmt.Errorf("output has %d columns, want the %d input columns%s", o.out.NumFields(), nf, map[bool]string{true: " and the row number", false: ""}[ts.EmitRank])
	}
	all := make([]arrow.DataType, nf)
	for i := range all {
		all[i] = s.Field(i).Type
		if want := o.out.Field(i).Type; !arrow.TypeEqual(all[i], want) {
			return fmt.Errorf("input column %d (%s) is %s but output column %s is %s", i, s.Field(i).Name, all[i], o.out.Field(i).Name, want)
		}
	}
	for _, c := range o.partCols {
		if err := check("partition key", c); err != nil {
			return err
		}
	}
	sc := make([]rowkey.SortColumn, len(ts.OrderBy))
	for i, k := range ts.OrderBy {
		if err := check("order by", k.Column); err != nil {
			return err
		}
		sc[i] = rowkey.SortColumn{Type: s.Field(k.Column).Type, Desc: k.Desc, NullsFirst: k.NullsFirst}
	}
	var err error
	if o.parts, err = winbuf.NewKeys(s, o.partCols); err != nil {
		return fmt.Errorf("partition keys: %w", err)
	}
	if o.sortEnc, err = rowkey.NewSortEncoder(sc); err != nil {
		return fmt.Errorf("order by: %w", err)
	}
	if o.rowEnc, err = rowkey.NewRowEncoder(all); err != nil {
		return fmt.Errorf("input row: %w", err)
	}
	o.sortArrs = make([]arrow.Array, len(ts.OrderBy))
	o.allArrs = make([]arrow.Array, nf)
	return nil
}

func (o *Operator) newWindow() (*window, error) {
	return &window{n: o.n, latest: o.spec.LastOnTies, parts: o.parts.NewTable()}, nil
}

// ProcessBatch implements operator.Operator.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if err := o.processBatch(b); err != nil {
		return fmt.Errorf("window_topn %s: %w", o.oc.OperatorID, err)
	}
	return nil
}

func (o *Operator) processBatch(b stream.Batch) error {
	if ok, err := o.input.Admit(b, "window Top-N", o.bind); !ok || err != nil {
		return err
	}
	rec, n := b.Record, b.NumRows()
	ts := o.spec
	wsCol, ok1 := rec.Column(ts.WindowStart).(*array.Timestamp)
	weCol, ok2 := rec.Column(ts.WindowEnd).(*array.Timestamp)
	if !ok1 || !ok2 {
		return fmt.Errorf("window columns are %s and %s, want TIMESTAMP(3)", rec.Column(ts.WindowStart).DataType(), rec.Column(ts.WindowEnd).DataType())
	}
	starts, ends := rowkey.TimestampValues(wsCol), rowkey.TimestampValues(weCol)

	// Split the rows by window, dropping NULL windows and late rows.
	nulls, late, wm := 0, 0, o.buf.Watermark()
	anyNull := wsCol.NullN() > 0 || weCol.NullN() > 0
	o.split.Reset(n)
	for i := 0; i < n; i++ {
		if anyNull && (wsCol.IsNull(i) || weCol.IsNull(i)) {
			nulls++
			o.split.Drop(i)
			continue
		}
		k := winbuf.Key{Start: starts[i], End: ends[i]}
		if k.End-1 <= wm {
			late++
			o.split.Drop(i)
			continue
		}
		o.split.Add(i, k)
	}
	o.buf.CountDropped(nulls, late, "window_topn: dropping rows whose window_start or window_end is NULL")
	if len(o.split.Windows()) == 0 {
		return nil
	}
	o.split.Finish()

	// Hash and encode partition keys and sort keys, a column at a time.
	if err := o.parts.Encode(rec); err != nil {
		return err
	}
	for i, k := range ts.OrderBy {
		o.sortArrs[i] = rec.Column(k.Column)
	}
	if err := o.sortEnc.Encode(o.sortArrs, n, nil, &o.skeys); err != nil {
		return err
	}

	o.pending = o.pending[:0]
	for i, k := range o.split.Windows() {
		if err := o.offerRows(k, o.split.Rows(i), n); err != nil {
			return err
		}
	}
	if err := o.fillPayloads(rec); err != nil {
		return err
	}
	for _, k := range o.split.Windows() {
		if w, ok := o.buf.Lookup(k); ok && w.dead > compactMin && w.dead > w.live {
			w.compact()
		}
	}
	return o.buf.SpillIfFull()
}

// offerRows offers rows sel (all n rows of the batch when nil) to window
// k's partitions.
func (o *Operator) offerRows(k winbuf.Key, sel []int32, n int) error {
	w, err := o.buf.Window(k)
	if err != nil {
		return err
	}
	live := w.live
	if sel != nil {
		n = len(sel)
	}
	o.pids = grow(o.pids, n)
	pids := o.pids[:n]
	if _, err := w.parts.FindOrInsert(o.parts.Hashes, &o.parts.Rows, sel, pids); err != nil {
		return err
	}
	w.growParts()
	sk := &o.skeys
	for j, p := range pids {
		r := j
		if sel != nil {
			r = int(sel[j])
		}
		o.seq++
		id, accepted := w.offer(p, sk.Data[sk.Offs[r]:sk.Offs[r+1]], o.seq, true)
		if accepted {
			o.pending = append(o.pending, pendingRow{w: w, cand: id, row: int32(r)})
		}
	}
	o.buf.Add(w.live - live)
	return nil
}

// growParts adds empty heaps for partitions created since the last call.
func (w *window) growParts() {
	for p := len(w.hoff); p < w.parts.Len(); p++ {
		c := int32(min(w.n, 4))
		w.hoff = append(w.hoff, int32(len(w.slab)))
		w.hlen = append(w.hlen, 0)
		w.hcap = append(w.hcap, c)
		w.slab = extend(w.slab, int(c))
	}
}

// worse reports whether candidate a ranks after candidate b.
func (w *window) worse(a, b int32) bool {
	ca, cb := &w.cands[a], &w.cands[b]
	if c := bytes.Compare(w.sk[ca.skOff:ca.skOff+int(ca.skLen)], w.sk[cb.skOff:cb.skOff+int(cb.skLen)]); c != 0 {
		return c > 0
	}
	if w.latest {
		return ca.seq < cb.seq
	}
	return ca.seq > cb.seq
}

// offer considers a row with sort key sk and arrival number seq for
// partition p of w. It returns the new candidate's id when the row is among
// the first n so far (evicting the worst candidate if the heap was full).
// The payload is set by the caller. newest says seq is larger than every
// candidate's, so a tie is decided without comparing seqs.
func (w *window) offer(p uint32, sk []byte, seq uint64, newest bool) (int32, bool) {
	off, ln := w.hoff[p], w.hlen[p]
	if int(ln) == w.n {
		top := &w.cands[w.slab[off]]
		c := bytes.Compare(sk, w.sk[top.skOff:top.skOff+int(top.skLen)])
		// On a tie the row loses to the worst candidate if it arrived after
		// it (first wins) or before it (LastOnTies: last wins).
		tieLoses := newest || seq > top.seq
		if w.latest {
			tieLoses = !newest && seq < top.seq
		}
		if c > 0 || (c == 0 && tieLoses) {
			return 0, false
		}
		// Evict the worst.
		top.skLen = -1
		w.dead++
		w.live--
		id := w.addCand(sk, seq)
		w.slab[off] = id
		w.siftDown(off, ln, 0)
		return id, true
	}
	if ln == w.hcap[p] {
		// Move the heap to a chunk twice as large at the end of the slab.
		nc := min(2*ln, int32(w.n))
		noff := int32(len(w.slab))
		w.slab = extend(w.slab, int(nc))
		copy(w.slab[noff:], w.slab[off:off+ln])
		w.hoff[p], w.hcap[p], off = noff, nc, noff
	}
	id := w.addCand(sk, seq)
	w.slab[off+ln] = id
	w.hlen[p] = ln + 1
	w.siftUp(off, ln)
	return id, true
}

// extend appends n zeros to s.
func extend(s []int32, n int) []int32 {
	s = slices.Grow(s, n)
	s = s[:len(s)+n]
	clear(s[len(s)-n:])
	return s
}

func (w *window) addCand(sk []byte, seq uint64) int32 {
	id := int32(len(w.cands))
	w.cands = append(w.cands, cand{seq: seq, skOff: len(w.sk), skLen: int32(len(sk)), payLen: -1})
	w.sk = append(w.sk, sk...)
	w.live++
	return id
}

func (w *window) siftUp(off, i int32) {
	h := w.slab
	for i > 0 {
		parent := (i - 1) / 2
		if !w.worse(h[off+i], h[off+parent]) {
			return
		}
		h[off+i], h[off+parent] = h[off+parent], h[off+i]
		i = parent
	}
}

func (w *window) siftDown(off, n, i int32) {
	h := w.slab
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && w.worse(h[off+r], h[off+l]) {
			m = r
		}
		if !w.worse(h[off+m], h[off+i]) {
			return
		}
		h[off+i], h[off+m] = h[off+m], h[off+i]
		i = m
	}
}

// fillPayloads encodes, a column at a time, the input rows of this batch
// that are still candidates, and stores them in their windows' arenas.
func (o *Operator) fillPayloads(rec arrow.RecordBatch) error {
	o.prow = o.prow[:0]
	all := o.pending
	defer clear(all) // drop window pointers
	keep := o.pending[:0]
	for _, p := range o.pending {
		if p.w.cands[p.cand].skLen >= 0 {
			keep = append(keep, p)
			o.prow = append(o.prow, p.row)
		}
	}
	o.pending = keep
	if len(keep) == 0 {
		return nil
	}
	for i := range o.allArrs {
		o.allArrs[i] = rec.Column(i)
	}
	if err := o.rowEnc.Encode(o.allArrs, int(rec.NumRows()), o.prow, &o.payload); err != nil {
		return err
	}
	for j, p := range keep {
		row := o.payload.Row(j)
		c := &p.w.cands[p.cand]
		c.payOff, c.payLen = len(p.w.pay), int32(len(row))
		p.w.pay = append(p.w.pay, row...)
	}
	return nil
}

// compact rewrites w's candidates and arenas without the dead ones.
func (w *window) compact() {
	cands, sk, pay := w.spareCands[:0], w.spareSk[:0], w.sparePay[:0]
	for p := range w.hoff {
		off, ln := w.hoff[p], w.hlen[p]
		for i := off; i < off+ln; i++ {
			c := w.cands[w.slab[i]]
			nc := cand{seq: c.seq, skOff: len(sk), skLen: c.skLen, payOff: len(pay), payLen: c.payLen}
			sk = append(sk, w.sk[c.skOff:c.skOff+int(c.skLen)]...)
			if c.payLen >= 0 {
				pay = append(pay, w.pay[c.payOff:c.payOff+int(c.payLen)]...)
			}
			w.slab[i] = int32(len(cands))
			cands = append(cands, nc)
		}
	}
	w.spareCands, w.spareSk, w.sparePay = w.cands, w.sk, w.pay
	w.cands, w.sk, w.pay, w.dead = cands, sk, pay, 0
}

// ProcessWatermark implements operator.Operator: it emits the ranked rows
// of every window whose end - 1 <= wm, in window-end order.
func (o *Operator) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return o.buf.Fire(wm, func(_ winbuf.Key, w *window) error { return o.emit(ctx, w, out) })
}

// emit ranks every partition of w and sends the rows out as whole Arrow
// columns.
func (o *Operator) emit(ctx context.Context, w *window, out operator.Collector) error {
	o.outIDs, o.ranks = o.outIDs[:0], o.ranks[:0]
	for p := range w.hoff {
		off, ln := w.hoff[p], w.hlen[p]
		h := w.slab[off : off+ln]
		slices.SortFunc(h, func(a, b int32) int {
			if w.worse(a, b) {
				return 1
			}
			if w.worse(b, a) {
				return -1
			}
			return 0
		})
		for i, id := range h {
			o.outIDs = append(o.outIDs, id)
			o.ranks = append(o.ranks, int64(i+1))
		}
	}
	n := len(o.outIDs)
	if n == 0 {
		return nil
	}
	o.starts = o.starts[:0]
	for _, id := range o.outIDs {
		c := &w.cands[id]
		if c.payLen < 0 {
			return errors.New("internal error: a candidate has no payload")
		}
		o.starts = append(o.starts, c.payOff)
	}
	rb := array.NewRecordBuilder(o.buf.Alloc(), o.out)
	defer rb.Release()
	rb.Reserve(n)
	bs := rb.Fields()
	nf := o.input.Schema.NumFields()
	if err := o.rowEnc.Decode(w.pay, o.starts, bs[:nf]); err != nil {
		return err
	}
	if o.spec.EmitRank {
		bs[nf].(*array.Int64Builder).AppendValues(o.ranks, nil)
	}
	return winbuf.Emit(ctx, out, rb, OutputBatchRows)
}

// Close implements operator.Operator. The operator keeps no Arrow memory
// between calls, so Close only drops its buffers.
func (o *Operator) Close(ctx context.Context) error {
	if o.buf != nil {
		o.buf.Close()
	}
	o.pending = nil
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}
