package windowtopn

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Job options and defaults.
const (
	// BufferLimitOption caps the number of candidate rows the operator
	// buffers in memory before it flushes them into keyed state.
	BufferLimitOption = "table.exec.window-rank.buffer-size-limit"
	// DefaultBufferLimit is the buffer limit when the job sets none.
	DefaultBufferLimit = 100_000
	// OutputBatchRows is the largest batch the operator emits.
	OutputBatchRows = 8192
)

// Metric names.
const (
	LateRecordsMetric  = "late_records_dropped"
	NullRowtimeMetric  = "null_rowtime_records_dropped"
	stateTableName     = "window_topn.v1"
	stateFormatVersion = 1
)

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

	oc       *operator.Context
	log      *slog.Logger
	mem      memory.Allocator
	limit    int
	table    state.Table
	late     operator.Counter
	nullTime operator.Counter
	warned   bool
	foreign  bool
	wm       int64

	// Bound by the first batch.
	in      *arrow.Schema
	partEnc *rowkey.Encoder
	sortEnc *rowkey.SortEncoder
	rowEnc  *rowkey.Encoder

	windows  map[winKey]*window
	flushed  map[winKey]struct{}
	buffered int // live candidates over all windows
	seq      uint64
	pool     []*window

	// Scratch reused from batch to batch.
	partArrs []arrow.Array
	sortArrs []arrow.Array
	allArrs  []arrow.Array
	hashes   []uint64
	pkeys    rowkey.Rows
	skeys    rowkey.Rows
	payload  rowkey.Rows
	pids     []uint32
	wkeys    []winKey
	rowWin   []int32
	sels     [][]int32
	pending  []pendingRow
	prow     []int32
	fire     []winKey
	outIDs   []int32
	ranks    []int64
	starts   []int
	skey     []byte
	sval     []byte
}

// winKey identifies a window.
type winKey struct{ start, end int64 }

// pendingRow is an accepted row of the current batch whose payload is not
// encoded yet.
type pendingRow struct {
	w    *window
	cand int32
	row  int32
}

// window holds the candidates of one window: per partition a max-heap (the
// worst candidate on top) of at most N candidate ids.
type window struct {
	key   winKey
	parts *hashtable.Table
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
	o.oc = oc
	o.log = oc.Logger
	if o.log == nil {
		o.log = slog.Default()
	}
	o.mem = oc.Alloc
	if o.mem == nil {
		o.mem = memory.DefaultAllocator
	}
	o.limit = DefaultBufferLimit
	if s, ok := oc.Config[BufferLimitOption]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("window_topn %s: option '%s' = '%s': want a positive integer (number of buffered rows)", oc.OperatorID, BufferLimitOption, s)
		}
		o.limit = n
	}
	if oc.State == nil {
		return fmt.Errorf("window_topn %s: no keyed state backend", oc.OperatorID)
	}
	if oc.MaxParallelism < 1 || oc.MaxParallelism > keygroup.MaxMaxParallelism {
		return fmt.Errorf("window_topn %s: max parallelism %d is out of range", oc.OperatorID, oc.MaxParallelism)
	}
	var err error
	if o.table, err = oc.State.Table(stateTableName); err != nil {
		return fmt.Errorf("window_topn %s: open state table: %w", oc.OperatorID, err)
	}
	o.late = counter(oc.Metrics, LateRecordsMetric, "Rows dropped because their window had already fired.")
	o.nullTime = counter(oc.Metrics, NullRowtimeMetric, "Rows dropped because their window columns were NULL.")
	o.wm = stream.MinWatermark
	o.windows = map[winKey]*window{}
	o.flushed = map[winKey]struct{}{}
	return nil
}

type nopCounter struct{}

func (nopCounter) Add(float64) {}

func counter(m operator.Metrics, name, help string) operator.Counter {
	if m == nil {
		return nopCounter{}
	}
	return m.Counter(name, help)
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
	pt := make([]arrow.DataType, len(o.partCols))
	for i, c := range o.partCols {
		if err := check("partition key", c); err != nil {
			return err
		}
		pt[i] = s.Field(c).Type
	}
	sc := make([]rowkey.SortColumn, len(ts.OrderBy))
	for i, k := range ts.OrderBy {
		if err := check("order by", k.Column); err != nil {
			return err
		}
		sc[i] = rowkey.SortColumn{Type: s.Field(k.Column).Type, Desc: k.Desc, NullsFirst: k.NullsFirst}
	}
	var err error
	if o.partEnc, err = rowkey.NewEncoder(pt); err != nil {
		return fmt.Errorf("partition keys: %w", err)
	}
	if o.sortEnc, err = rowkey.NewSortEncoder(sc); err != nil {
		return fmt.Errorf("order by: %w", err)
	}
	if o.rowEnc, err = rowkey.NewRowEncoder(all); err != nil {
		return fmt.Errorf("input row: %w", err)
	}
	o.in = s
	o.partArrs = make([]arrow.Array, len(o.partCols))
	o.sortArrs = make([]arrow.Array, len(ts.OrderBy))
	o.allArrs = make([]arrow.Array, nf)
	return nil
}

func (o *Operator) newWindow(k winKey) *window {
	if n := len(o.pool); n > 0 {
		w := o.pool[n-1]
		o.pool = o.pool[:n-1]
		w.key = k
		return w
	}
	t := hashtable.New(64)
	if w := o.partEnc.FixedWidth(); w > 0 {
		t = hashtable.NewFixed(64, w)
	}
	return &window{key: k, parts: t}
}

func (o *Operator) recycle(w *window) {
	w.parts.Reset(64)
	w.hoff, w.hlen, w.hcap, w.slab = w.hoff[:0], w.hlen[:0], w.hcap[:0], w.slab[:0]
	w.cands, w.sk, w.pay = w.cands[:0], w.sk[:0], w.pay[:0]
	w.live, w.dead = 0, 0
	if len(o.pool) < 4 {
		o.pool = append(o.pool, w)
	}
}

// ProcessBatch implements operator.Operator.
func (o *Operator) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if err := o.processBatch(b); err != nil {
		return fmt.Errorf("window_topn %s: %w", o.oc.OperatorID, err)
	}
	return nil
}

func (o *Operator) processBatch(b stream.Batch) error {
	n := b.NumRows()
	if n == 0 {
		return nil
	}
	for i, k := range b.Kinds {
		if k != stream.Insert {
			return fmt.Errorf("row %d is %s: window Top-N takes append-only input (inserts only)", i, k)
		}
	}
	rec := b.Record
	if o.in == nil {
		if err := o.bind(rec.Schema()); err != nil {
			return err
		}
	} else if rec.Schema() != o.in && !rec.Schema().Equal(o.in) {
		return fmt.Errorf("input schema changed from %s to %s", o.in, rec.Schema())
	}
	ts := o.spec
	wsCol, ok1 := rec.Column(ts.WindowStart).(*array.Timestamp)
	weCol, ok2 := rec.Column(ts.WindowEnd).(*array.Timestamp)
	if !ok1 || !ok2 {
		return fmt.Errorf("window columns are %s and %s, want TIMESTAMP(3)", rec.Column(ts.WindowStart).DataType(), rec.Column(ts.WindowEnd).DataType())
	}
	starts, ends := rowkey.TimestampValues(wsCol), rowkey.TimestampValues(weCol)

	// Group rows by window; drop NULL windows and late rows.
	o.wkeys = o.wkeys[:0]
	o.rowWin = grow(o.rowWin, n)
	nulls, late := 0, 0
	last, li := winKey{}, int32(-1)
	anyNull := wsCol.NullN() > 0 || weCol.NullN() > 0
	for i := 0; i < n; i++ {
		if anyNull && (wsCol.IsNull(i) || weCol.IsNull(i)) {
			nulls++
			o.rowWin[i] = -1
			continue
		}
		k := winKey{starts[i], ends[i]}
		if k.end-1 <= o.wm {
			late++
			o.rowWin[i] = -1
			continue
		}
		if li < 0 || k != last {
			li = int32(slices.Index(o.wkeys, k))
			if li < 0 {
				li = int32(len(o.wkeys))
				o.wkeys = append(o.wkeys, k)
			}
			last = k
		}
		o.rowWin[i] = li
	}
	if nulls > 0 {
		o.nullTime.Add(float64(nulls))
		if !o.warned {
			o.warned = true
			o.log.Warn("window_topn: dropping rows whose window_start or window_end is NULL", "operator", o.oc.OperatorID)
		}
	}
	if late > 0 {
		o.late.Add(float64(late))
	}
	if len(o.wkeys) == 0 {
		return nil
	}

	// Hash and encode partition keys and sort keys, a column at a time.
	for i, c := range o.partCols {
		o.partArrs[i] = rec.Column(c)
	}
	for i, k := range ts.OrderBy {
		o.sortArrs[i] = rec.Column(k.Column)
	}
	o.hashes = grow(o.hashes, n)
	if err := keygroup.HashColumns(o.partArrs, o.hashes[:n]); err != nil {
		return err
	}
	if err := o.partEnc.Encode(o.partArrs, n, nil, &o.pkeys); err != nil {
		return err
	}
	if err := o.sortEnc.Encode(o.sortArrs, n, nil, &o.skeys); err != nil {
		return err
	}

	o.pending = o.pending[:0]
	if len(o.wkeys) == 1 && nulls == 0 && late == 0 {
		if err := o.offerRows(o.wkeys[0], nil, n); err != nil {
			return err
		}
	} else {
		for len(o.sels) < len(o.wkeys) {
			o.sels = append(o.sels, nil)
		}
		for i := range o.wkeys {
			o.sels[i] = o.sels[i][:0]
		}
		for i, w := range o.rowWin[:n] {
			if w >= 0 {
				o.sels[w] = append(o.sels[w], int32(i))
			}
		}
		for i, k := range o.wkeys {
			if err := o.offerRows(k, o.sels[i], len(o.sels[i])); err != nil {
				return err
			}
		}
	}
	if err := o.fillPayloads(rec); err != nil {
		return err
	}
	for _, k := range o.wkeys {
		if w := o.windows[k]; w != nil && w.dead > compactMin && w.dead > w.live {
			w.compact()
		}
	}
	if o.buffered > o.limit {
		return o.flush()
	}
	return nil
}

// offerRows offers rows sel (all n rows when nil) to window k's partitions.
func (o *Operator) offerRows(k winKey, sel []int32, n int) error {
	w := o.windows[k]
	if w == nil {
		w = o.newWindow(k)
		o.windows[k] = w
	}
	o.pids = grow(o.pids, n)
	pids := o.pids[:n]
	if _, err := w.parts.FindOrInsert(o.hashes, &o.pkeys, sel, pids); err != nil {
		return err
	}
	w.growParts(o.n)
	sk := &o.skeys
	for j, p := range pids {
		r := j
		if sel != nil {
			r = int(sel[j])
		}
		o.seq++
		id, accepted := o.offer(w, p, sk.Data[sk.Offs[r]:sk.Offs[r+1]], o.seq, true)
		if accepted {
			o.pending = append(o.pending, pendingRow{w: w, cand: id, row: int32(r)})
		}
	}
	return nil
}

// growParts adds empty heaps for partitions created since the last call.
func (w *window) growParts(n int) {
	for p := len(w.hoff); p < w.parts.Len(); p++ {
		c := int32(min(n, 4))
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
	return ca.seq > cb.seq
}

// offer considers a row with sort key sk and arrival number seq for
// partition p of w. It returns the new candidate's id when the row is among
// the first N so far (evicting the worst candidate if the heap was full).
// The payload is set by the caller. newest says seq is larger than every
// candidate's, so ties go against the row without comparing seqs.
func (o *Operator) offer(w *window, p uint32, sk []byte, seq uint64, newest bool) (int32, bool) {
	off, ln := w.hoff[p], w.hlen[p]
	if int(ln) == o.n {
		top := &w.cands[w.slab[off]]
		c := bytes.Compare(sk, w.sk[top.skOff:top.skOff+int(top.skLen)])
		if c > 0 || (c == 0 && (newest || seq > top.seq)) {
			return 0, false
		}
		// Evict the worst.
		top.skLen = -1
		w.dead++
		w.live--
		o.buffered--
		id := w.addCand(sk, seq)
		w.slab[off] = id
		w.siftDown(off, ln, 0)
		o.buffered++
		return id, true
	}
	if ln == w.hcap[p] {
		// Move the heap to a chunk twice as large at the end of the slab.
		nc := min(2*ln, int32(o.n))
		noff := int32(len(w.slab))
		w.slab = extend(w.slab, int(nc))
		copy(w.slab[noff:], w.slab[off:off+ln])
		w.hoff[p], w.hcap[p], off = noff, nc, noff
	}
	id := w.addCand(sk, seq)
	w.slab[off+ln] = id
	w.hlen[p] = ln + 1
	w.siftUp(off, ln)
	o.buffered++
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
	if wm <= o.wm {
		return nil
	}
	o.wm = wm
	o.fire = o.fire[:0]
	for k := range o.windows {
		if k.end-1 <= wm {
			o.fire = append(o.fire, k)
		}
	}
	for k := range o.flushed {
		if _, ok := o.windows[k]; !ok && k.end-1 <= wm {
			o.fire = append(o.fire, k)
		}
	}
	slices.SortFunc(o.fire, func(a, b winKey) int {
		if c := cmp.Compare(a.end, b.end); c != 0 {
			return c
		}
		return cmp.Compare(a.start, b.start)
	})
	for _, k := range o.fire {
		if err := o.fireWindow(ctx, k, out); err != nil {
			return fmt.Errorf("window_topn %s: window [%d, %d): %w", o.oc.OperatorID, k.start, k.end, err)
		}
	}
	return nil
}

func (o *Operator) fireWindow(ctx context.Context, k winKey, out operator.Collector) error {
	w := o.windows[k]
	if w == nil {
		w = o.newWindow(k)
	}
	delete(o.windows, k)
	defer o.recycle(w)
	if _, ok := o.flushed[k]; ok {
		if err := o.mergeState(w); err != nil {
			return err
		}
		delete(o.flushed, k)
	}
	o.buffered -= w.live
	return o.emit(ctx, w, out)
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
	rb := array.NewRecordBuilder(o.mem, o.out)
	defer rb.Release()
	rb.Reserve(n)
	bs := rb.Fields()
	nf := o.in.NumFields()
	if err := o.rowEnc.Decode(w.pay, o.starts, bs[:nf]); err != nil {
		return err
	}
	if o.spec.EmitRank {
		bs[nf].(*array.Int64Builder).AppendValues(o.ranks, nil)
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	for lo := 0; lo < n; lo += OutputBatchRows {
		part := rec.NewSlice(int64(lo), int64(min(lo+OutputBatchRows, n)))
		if err := out.Emit(ctx, stream.Batch{Record: part}); err != nil {
			return err
		}
	}
	return nil
}

// Close implements operator.Operator. The operator keeps no Arrow memory
// between calls, so Close only drops its buffers.
func (o *Operator) Close(ctx context.Context) error {
	o.windows, o.flushed, o.pool, o.pending = nil, nil, nil, nil
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}
