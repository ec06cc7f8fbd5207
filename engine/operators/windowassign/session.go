package windowassign

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/internal/session"
	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
)

// The state table of SESSION rows and the format of a session's spilled
// delta (package session stores the deltas of a spill round together):
//
//	delta = version (1 byte) | rows, each: arrival number (uvarint) |
//	        row length (uvarint) | row (rowkey's exact row format)
const (
	stateTable   = "window_tvf_session.v1"
	stateVersion = 1
)

// pageBytes is the size of the pages held rows are encoded into. Tests
// lower it.
var pageBytes = 256 << 10

// heldRow is a row held in memory: its arrival number, where its encoding
// is, and the next row of its session's list (-1: none). A free slot has
// page -1 and next linking the free list.
type heldRow struct {
	seq  uint64
	page int32
	off  int32
	n    int32
	next int32
}

// page is a page of encoded rows; live counts the held rows in it. Rows
// never move: a page is recycled once its last row is emitted or spilled.
type page struct {
	buf  []byte
	live int
}

// sessions holds the rows of a SESSION window TVF until their sessions
// fire.
type sessions struct {
	o     *Operator
	oc    *operator.Context
	table state.Table
	snap  snapState // snapshot.go
	limit int
	wm    int64

	// Bound by the first batch.
	parts *winbuf.Keys
	enc   *rowkey.Encoder
	tr    *session.Tracker

	// Per session: the first and last held row, and whether the list is in
	// arrival order.
	head, tail []int32
	sorted     []bool

	rows     []heldRow
	freeRow  int32 // first free slot of rows, or -1
	pages    []page
	freePage []int32 // pages with no live row, for reuse
	cur      int32   // the page rows are appended to, or -1
	live     int     // rows held
	seq      uint64
	warnedKG bool

	// Scratch.
	arrs    []arrow.Array
	valid   []int32
	pids    []uint32
	sess    []int32
	acc     []int32
	order64 []uint64
	encRows rowkey.Rows
	fired   []int32
	order   []int32
	fpay    []byte
	fids    []int32
	starts  []int
	sval    []byte
	win     [3][]arrow.Timestamp
}

func (s *sessions) open(oc *operator.Context) error {
	s.oc, s.wm, s.cur, s.freeRow = oc, stream.MinWatermark, -1, -1
	var err error
	if s.limit, err = parseLimit(oc.Config); err != nil {
		return err
	}
	if oc.State == nil {
		return errors.New("no keyed state backend")
	}
	if oc.MaxParallelism < 1 {
		return fmt.Errorf("max parallelism %d is out of range", oc.MaxParallelism)
	}
	if s.table, err = oc.State.Table(stateTable); err != nil {
		return fmt.Errorf("open state table: %w", err)
	}
	return s.snap.open(oc.State)
}

func (s *sessions) bind(sc *arrow.Schema) error {
	w := s.o.w
	for _, c := range w.PartitionBy {
		if c < 0 || c >= sc.NumFields() {
			return fmt.Errorf("PARTITION BY column %d is out of range: input has %d columns", c, sc.NumFields())
		}
	}
	var err error
	if s.parts, err = winbuf.NewKeys(sc, w.PartitionBy); err != nil {
		return fmt.Errorf("partition keys: %w", err)
	}
	all := make([]arrow.DataType, sc.NumFields())
	for i := range all {
		all[i] = sc.Field(i).Type
	}
	if s.enc, err = rowkey.NewRowEncoder(all); err != nil {
		return fmt.Errorf("input row: %w", err)
	}
	s.arrs = make([]arrow.Array, len(all))
	if s.tr, err = session.New(w.SizeMs, s.parts.NewTable); err != nil {
		return err
	}
	return s.tr.SetSubtask(s.oc.Subtask)
}

// add places the rows of rec into sessions and holds them. anyNull says
// some rows have a NULL time (already counted): they are skipped.
func (s *sessions) add(rec arrow.RecordBatch, ts []int64, anyNull bool) error {
	n := int(rec.NumRows())
	var sel []int32
	if anyNull {
		tcol := rec.Column(s.o.w.TimeColumn)
		s.valid = s.valid[:0]
		for i := 0; i < n; i++ {
			if tcol.IsValid(i) {
				s.valid = append(s.valid, int32(i))
			}
		}
		sel = s.valid
	}
	if err := s.parts.Encode(rec); err != nil {
		return err
	}
	s.pids = grow(s.pids, n)
	if err := s.tr.Partitions(s.parts.Hashes, &s.parts.Rows, nil, s.pids[:n]); err != nil {
		return err
	}
	wm := s.wm
	if s.o.w.ProcTime {
		wm = stream.MinWatermark
	}
	s.sess = grow(s.sess, n)
	late, err := s.tr.Assign(s.pids[:n], ts, sel, wm, s.sess[:n], s.merge)
	if err != nil {
		return err
	}
	if late > 0 {
		s.o.late.Add(float64(late))
	}
	s.growPayload()

	// Encode the held rows a column at a time and append them to their
	// sessions' lists, grouped by session (stably, so each session's rows
	// stay in arrival order), so that a session's rows lie together in
	// memory and firing reads them in sequence.
	sess := s.sess[:n]
	s.order64 = s.order64[:0]
	for r, id := range sess {
		if id >= 0 {
			s.order64 = append(s.order64, uint64(id)<<32|uint64(r))
		}
	}
	if len(s.order64) == 0 {
		return nil
	}
	slices.Sort(s.order64) // by session, then row: arrival order within a session
	s.acc = s.acc[:0]
	for _, k := range s.order64 {
		s.acc = append(s.acc, int32(uint32(k)))
	}
	for i := range s.arrs {
		s.arrs[i] = rec.Column(i)
	}
	if err := s.enc.Encode(s.arrs, n, s.acc, &s.encRows); err != nil {
		return err
	}
	base := s.seq
	s.seq += uint64(n)
	for k, r := range s.acc {
		id, err := s.hold(s.encRows.Row(k), base+uint64(r)+1)
		if err != nil {
			return err
		}
		sid := sess[r]
		if t := s.tail[sid]; t < 0 {
			s.head[sid] = id
		} else {
			s.rows[t].next = id
		}
		s.tail[sid] = id
	}
	return s.spillIfFull()
}

// hold stores an encoded row and returns its slot.
func (s *sessions) hold(row []byte, seq uint64) (int32, error) {
	if len(row) > math.MaxInt32/2 {
		return -1, fmt.Errorf("a row encodes to %d bytes", len(row))
	}
	if s.cur < 0 || len(s.pages[s.cur].buf)+len(row) > cap(s.pages[s.cur].buf) {
		s.newPage(len(row))
	}
	p := &s.pages[s.cur]
	off := len(p.buf)
	p.buf = append(p.buf, row...)
	p.live++
	s.live++
	h := heldRow{seq: seq, page: s.cur, off: int32(off), n: int32(len(row)), next: -1}
	id := s.freeRow
	if id >= 0 {
		s.freeRow = s.rows[id].next
		s.rows[id] = h
	} else {
		id = int32(len(s.rows))
		s.rows = append(s.rows, h)
	}
	return id, nil
}

// newPage makes the current page an empty one with room for n bytes.
func (s *sessions) newPage(n int) {
	if s.cur >= 0 && s.pages[s.cur].live == 0 {
		s.release(s.cur)
	}
	size := max(pageBytes, n)
	if k := len(s.freePage); k > 0 && cap(s.pages[s.freePage[k-1]].buf) >= size {
		s.cur = s.freePage[k-1]
		s.freePage = s.freePage[:k-1]
		s.pages[s.cur].buf = s.pages[s.cur].buf[:0]
		return
	}
	s.pages = append(s.pages, page{buf: make([]byte, 0, size)})
	s.cur = int32(len(s.pages) - 1)
}

// drop frees row slot id (its row emitted or spilled).
func (s *sessions) drop(id int32) {
	h := &s.rows[id]
	p := &s.pages[h.page]
	if p.live--; p.live == 0 && h.page != s.cur {
		s.release(h.page)
	}
	*h = heldRow{page: -1, next: s.freeRow}
	s.freeRow = id
	s.live--
}

// release recycles page p, which holds no live row.
func (s *sessions) release(p int32) {
	if cap(s.pages[p].buf) > pageBytes {
		s.pages[p].buf = nil // an outsized page: give its memory back
		return
	}
	s.freePage = append(s.freePage, p)
}

// bytes returns the encoding of held row id.
func (s *sessions) bytes(id int32) []byte {
	h := &s.rows[id]
	return s.pages[h.page].buf[h.off : h.off+h.n]
}

func (s *sessions) growPayload() {
	for len(s.head) < s.tr.Len() {
		s.head, s.tail, s.sorted = append(s.head, -1), append(s.tail, -1), append(s.sorted, true)
	}
}

// merge appends the rows of session src to those of dst (Tracker.Assign's
// merge callback).
func (s *sessions) merge(dst, src int32) error {
	s.growPayload()
	hs := s.head[src]
	if hs < 0 {
		return nil
	}
	if td := s.tail[dst]; td < 0 {
		s.head[dst], s.tail[dst], s.sorted[dst] = hs, s.tail[src], s.sorted[src]
	} else {
		s.sorted[dst] = s.sorted[dst] && s.sorted[src] && s.rows[td].seq < s.rows[hs].seq
		s.rows[td].next = hs
		s.tail[dst] = s.tail[src]
	}
	s.head[src], s.tail[src], s.sorted[src] = -1, -1, true
	return nil
}

// spillIfFull writes the rows of the sessions that end last to state until
// at most half the limit stays in memory, when more than the limit is.
func (s *sessions) spillIfFull() error {
	if s.live <= s.limit {
		return nil
	}
	s.order = s.tr.ByEndDesc(s.order[:0], func(id int32) bool { return s.head[id] >= 0 })
	s.tr.BeginSpill()
	for _, id := range s.order {
		if s.live <= s.limit/2 {
			break
		}
		if s.head[id] < 0 {
			continue
		}
		if err := s.spill(id, true); err != nil {
			return fmt.Errorf("spill session to state: %w", err)
		}
	}
	return s.tr.EndSpill(s.table)
}

func (s *sessions) keyGroup(ss *session.Session) int {
	_, h := s.tr.PartitionKey(ss.Part)
	return keyGroupOf(h, s.oc.MaxParallelism)
}

// spill writes the held rows of session id as one delta, without reading
// state, and drops them from memory. count says to count them as spilled
// (SpilledMetric): a snapshot's writes are not.
func (s *sessions) spill(id int32, count bool) error {
	kg := s.keyGroup(s.tr.Session(id))
	if !s.warnedKG && !s.oc.KeyGroups.Contains(kg) {
		s.warnedKG = true
		s.o.log.Warn("window_assign (SESSION): a partition's key group is outside this subtask's range; the input is not partitioned by the PARTITION BY columns",
			"operator", s.o.id, "key_group", kg, "owned", s.oc.KeyGroups.String())
	}
	s.sval = append(s.sval[:0], stateVersion)
	n := 0
	for r := s.head[id]; r >= 0; {
		row := s.bytes(r)
		s.sval = binary.AppendUvarint(s.sval, s.rows[r].seq)
		s.sval = binary.AppendUvarint(s.sval, uint64(len(row)))
		s.sval = append(s.sval, row...)
		next := s.rows[r].next
		s.drop(r)
		r = next
		n++
	}
	if err := s.tr.AddDelta(id, kg, s.sval); err != nil {
		return err
	}
	s.head[id], s.tail[id], s.sorted[id] = -1, -1, true
	if count {
		s.o.spilled.Add(float64(n))
	}
	return nil
}

func (s *sessions) watermark(ctx context.Context, wm int64, out operator.Collector) error {
	if wm <= s.wm {
		return nil
	}
	s.wm = wm
	return s.fire(ctx, wm, out)
}

var errCorrupt = errors.New("corrupt state entry")

// fire emits the rows of every session whose end - 1 <= t, session by
// session in end order, each session's rows in arrival order. The rows of
// the firing sessions are copied into one buffer, so they are decoded into
// Arrow columns a batch at a time.
func (s *sessions) fire(ctx context.Context, t int64, out operator.Collector) error {
	if s.tr == nil || s.tr.NextEnd()-1 > t {
		return nil
	}
	s.fired = s.tr.Expired(t, s.fired[:0])
	if len(s.fired) == 0 {
		return nil
	}
	rb := array.NewRecordBuilder(s.o.mem, s.o.out)
	defer rb.Release()
	nIn := s.o.nIn
	bs := rb.Fields()
	s.fpay, s.starts = s.fpay[:0], s.starts[:0]
	flush := func() error {
		if len(s.starts) == 0 {
			return nil
		}
		if err := s.enc.Decode(s.fpay, s.starts, bs[:nIn]); err != nil {
			return err
		}
		for k, vs := range s.win {
			bs[nIn+k].(*array.TimestampBuilder).AppendValues(vs, nil)
			s.win[k] = vs[:0]
		}
		s.fpay, s.starts = s.fpay[:0], s.starts[:0]
		return winbuf.Emit(ctx, out, rb, OutputBatchRows)
	}
	for _, id := range s.fired {
		before := len(s.starts)
		if err := s.collect(id); err != nil {
			return err
		}
		ss := s.tr.Session(id)
		for k := before; k < len(s.starts); k++ {
			s.win[0] = append(s.win[0], arrow.Timestamp(ss.Start))
			s.win[1] = append(s.win[1], arrow.Timestamp(ss.End))
			s.win[2] = append(s.win[2], arrow.Timestamp(ss.End-1))
		}
		if len(s.starts) >= OutputBatchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	s.tr.Release(s.fired)
	return nil
}

// collect appends the rows of session id, in arrival order, to the fire
// buffer (s.fpay, s.starts), and frees them: spilled rows are read back
// from state and deleted.
func (s *sessions) collect(id int32) error {
	if !s.tr.HasSpills(id) {
		// Held rows only: in arrival order unless sessions merged.
		s.fids = s.fids[:0]
		for r := s.head[id]; r >= 0; r = s.rows[r].next {
			s.fids = append(s.fids, r)
		}
		if !s.sorted[id] {
			slices.SortFunc(s.fids, func(a, b int32) int { return cmp.Compare(s.rows[a].seq, s.rows[b].seq) })
		}
		for _, r := range s.fids {
			s.starts = append(s.starts, len(s.fpay))
			s.fpay = append(s.fpay, s.bytes(r)...)
			s.drop(r)
		}
		s.head[id], s.tail[id], s.sorted[id] = -1, -1, true
		return nil
	}
	// Spilled deltas and held rows, merged by arrival number.
	type seqRow struct {
		seq      uint64
		off, end int
	}
	var rows []seqRow
	tmp := len(s.fpay)
	err := s.tr.ReadSpills(s.table, id, s.keyGroup(s.tr.Session(id)), func(v []byte) error {
		if len(v) < 1 || v[0] != stateVersion {
			return fmt.Errorf("%w: value of %d bytes", errCorrupt, len(v))
		}
		for v = v[1:]; len(v) > 0; {
			seq, w := binary.Uvarint(v)
			if w <= 0 {
				return fmt.Errorf("%w: truncated arrival number", errCorrupt)
			}
			l, w2 := binary.Uvarint(v[w:])
			if w2 <= 0 || l > uint64(len(v)-w-w2) {
				return fmt.Errorf("%w: truncated row", errCorrupt)
			}
			v = v[w+w2:]
			rows = append(rows, seqRow{seq: seq, off: len(s.fpay), end: len(s.fpay) + int(l)})
			s.fpay = append(s.fpay, v[:l]...)
			v = v[l:]
		}
		return nil
	})
	if err != nil {
		return err
	}
	for r := s.head[id]; r >= 0; {
		rows = append(rows, seqRow{seq: s.rows[r].seq, off: len(s.fpay), end: len(s.fpay) + int(s.rows[r].n)})
		s.fpay = append(s.fpay, s.bytes(r)...)
		next := s.rows[r].next
		s.drop(r)
		r = next
	}
	s.head[id], s.tail[id], s.sorted[id] = -1, -1, true
	slices.SortFunc(rows, func(a, b seqRow) int { return cmp.Compare(a.seq, b.seq) })
	// Lay the rows out again in arrival order after the scratch copy.
	end := len(s.fpay)
	for _, r := range rows {
		s.starts = append(s.starts, len(s.fpay)-(end-tmp))
		s.fpay = append(s.fpay, s.fpay[r.off:r.end]...)
	}
	s.fpay = append(s.fpay[:tmp], s.fpay[end:]...)
	return nil
}

func (s *sessions) close() {
	s.tr, s.rows, s.pages, s.head, s.tail, s.sorted = nil, nil, nil, nil, nil, nil
}
