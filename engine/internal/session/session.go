package session

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
)

// MaxGapMs bounds the session gap so that window arithmetic cannot overflow.
const MaxGapMs = math.MaxInt64 / 4

// Session is one open (or just fired) session: event time [Start, End) of
// partition Part.
type Session struct {
	Start, End int64
	// Part is the session's partition id (see Tracker.Partitions).
	Part uint32
	// UID identifies the session for the life of the Tracker; slots are
	// reused, uids never are.
	UID uint64

	next   int32 // next open session of the partition (by start), or -1
	into   int32 // the session this one was merged into during the batch, or -1
	isOpen bool
	spills []spillRef // spilled deltas of this session and of those merged into it
	dirty  bool       // changed since the last Snapshot (in Tracker.dirty)
	saved  bool       // has a record in the snapshot table
}

// entry is a heap entry: session id waits until the watermark reaches end-1.
type entry struct {
	end int64
	id  int32
	uid uint64
}

// Tracker holds the open sessions of one operator subtask. It is used from
// one goroutine.
type Tracker struct {
	gap      int64
	newTable func() *hashtable.Table
	parts    *hashtable.Table
	first    []int32 // per partition: its open session with the smallest start, or -1
	busy     int     // partitions with an open session
	ss       []Session
	free     []int32
	dead     []int32 // merged away during the current Assign
	heap     []entry
	uid      uint64
	open     int
	spill    spiller
	sub      uint64 // the low bits of every uid (SetSubtask)
	snap     snapper
}

// New returns an empty tracker for sessions with the given gap. newTable
// makes an empty hash table for the encoded partition keys.
func New(gapMs int64, newTable func() *hashtable.Table) (*Tracker, error) {
	if gapMs <= 0 || gapMs > MaxGapMs {
		return nil, fmt.Errorf("SESSION gap %d ms must be positive and below %d ms", gapMs, int64(MaxGapMs))
	}
	return &Tracker{gap: gapMs, newTable: newTable, parts: newTable()}, nil
}

// Gap returns the session gap in milliseconds.
func (t *Tracker) Gap() int64 { return t.gap }

// Len returns the number of session slots: every session id is below it.
// Operators size their per-session arrays by it.
func (t *Tracker) Len() int { return len(t.ss) }

// Open returns the number of open sessions.
func (t *Tracker) Open() int { return t.open }

// Session returns session id. The pointer is valid until the next call that
// creates sessions (Assign).
func (t *Tracker) Session(id int32) *Session { return &t.ss[id] }

// Partitions sets out[k] to the partition id of row r = k (sel nil) or
// r = sel[k], whose key hash is hashes[r] and encoded key keys.Row(r),
// creating partitions as needed.
func (t *Tracker) Partitions(hashes []uint64, keys *rowkey.Rows, sel []int32, out []uint32) error {
	if _, err := t.parts.FindOrInsert(hashes, keys, sel, out); err != nil {
		return err
	}
	for len(t.first) < t.parts.Len() {
		t.first = append(t.first, -1)
	}
	return nil
}

// PartitionKey returns the encoded key of partition p (valid until
// partitions are added) and its hash.
func (t *Tracker) PartitionKey(p uint32) ([]byte, uint64) { return t.parts.Key(p), t.parts.Hash(p) }

// PartitionArena returns the encoded keys of every partition and their
// offsets, for decoding: partition p's key is data[offs[p]:offs[p+1]].
func (t *Tracker) PartitionArena() (data []byte, offs []int) { return t.parts.Arena() }

// Assign places rows into sessions, in order: row r = k (sel nil) or
// r = sel[k] has partition parts[r] and event time ts[r]. It sets out[r]
// (out has one entry per row of the batch) to the session the row ends up
// in, or -1 for a late row and for rows sel leaves out, and returns the
// number of late rows. wm is the current watermark: sessions with end - 1 <=
// wm have fired. merge(dst, src) is called when session src is merged into
// dst, before src's slot is released (at the end of Assign); the caller moves
// src's contents into dst there.
func (t *Tracker) Assign(parts []uint32, ts []int64, sel []int32, wm int64, out []int32, merge func(dst, src int32) error) (late int, err error) {
	for i := range out {
		out[i] = -1
	}
	n := len(out)
	if sel != nil {
		n = len(sel)
	}
	for k := 0; k < n; k++ {
		r := k
		if sel != nil {
			r = int(sel[k])
		}
		id, err := t.place(parts[r], ts[r], wm, merge)
		if err != nil {
			return late, err
		}
		if id < 0 {
			late++
		}
		out[r] = id
	}
	if len(t.dead) > 0 {
		// Forward rows placed in sessions that a later row merged away.
		for r, id := range out {
			if id >= 0 && !t.ss[id].isOpen {
				out[r] = t.resolve(id)
			}
		}
		for _, d := range t.dead {
			t.ss[d].into = -1
			t.free = append(t.free, d)
		}
		t.dead = t.dead[:0]
	}
	return late, nil
}

// resolve follows merges from session id to the open session it went into.
func (t *Tracker) resolve(id int32) int32 {
	for !t.ss[id].isOpen {
		id = t.ss[id].into
	}
	return id
}

// place puts one row into its partition's sessions and returns the session,
// or -1 when the row is late.
func (t *Tracker) place(p uint32, ts int64, wm int64, merge func(dst, src int32) error) (int32, error) {
	if ts > math.MaxInt64-t.gap {
		return -1, fmt.Errorf("event time %d ms is too close to the limits of the timestamp range for a %d ms session gap", ts, t.gap)
	}
	wend := ts + t.gap
	prev, s := int32(-1), t.first[p]
	for s >= 0 && t.ss[s].End < ts {
		prev, s = s, t.ss[s].next
	}
	if s < 0 || t.ss[s].Start > wend {
		// The row touches no open session: a new one, unless it is late.
		if wend-1 <= wm {
			return -1, nil
		}
		id, err := t.alloc()
		if err != nil {
			return -1, err
		}
		t.uid++
		uid := t.uid<<uidSubtaskBits | t.sub
		t.ss[id] = Session{Start: ts, End: wend, Part: p, UID: uid, next: s, into: -1, isOpen: true}
		t.markDirty(id)
		if prev < 0 {
			if t.first[p] < 0 {
				t.busy++
			}
			t.first[p] = id
		} else {
			t.ss[prev].next = id
		}
		t.push(entry{end: wend, id: id, uid: uid})
		t.open++
		return id, nil
	}
	d := s
	if ts < t.ss[d].Start {
		t.ss[d].Start = ts
	}
	end := max(t.ss[d].End, wend)
	for nx := t.ss[d].next; nx >= 0 && t.ss[nx].Start <= end; nx = t.ss[d].next {
		end = max(end, t.ss[nx].End)
		if err := merge(d, nx); err != nil {
			return -1, err
		}
		src := &t.ss[nx]
		t.forget(src)
		t.ss[d].spills = append(t.ss[d].spills, src.spills...)
		t.ss[d].next = src.next
		src.isOpen, src.into, src.spills, src.next = false, d, nil, -1
		t.dead = append(t.dead, nx)
		t.open--
	}
	t.ss[d].End = end
	t.markDirty(d)
	return d, nil
}

func (t *Tracker) alloc() (int32, error) {
	if n := len(t.free); n > 0 {
		id := t.free[n-1]
		t.free = t.free[:n-1]
		return id, nil
	}
	if len(t.ss) >= math.MaxInt32 {
		return -1, errors.New("session: more than 2^31 open sessions")
	}
	t.ss = append(t.ss, Session{})
	return int32(len(t.ss) - 1), nil
}

// The heap is 4-ary: half the depth of a binary heap, and a node's
// children share a cache line or two.
func (t *Tracker) push(e entry) {
	h := append(t.heap, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 4
		if h[p].end <= e.end {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
	t.heap = h
}

func (t *Tracker) pop() entry {
	h := t.heap
	top := h[0]
	n := len(h) - 1
	last := h[n]
	h = h[:n]
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < min(c+4, n); k++ {
			if h[k].end < h[m].end {
				m = k
			}
		}
		if last.end <= h[m].end {
			break
		}
		h[i] = h[m]
		i = m
	}
	if n > 0 {
		h[i] = last
	}
	t.heap = h
	return top
}

// NextEnd returns the smallest end of an open session, or math.MaxInt64
// when there is none. (It may be a lower bound: a session that grew since
// it was scheduled is found at its old end first.)
func (t *Tracker) NextEnd() int64 {
	if len(t.heap) == 0 {
		return math.MaxInt64
	}
	return t.heap[0].end
}

// Expired appends to dst, in end order, every open session whose end - 1 <=
// wm, and returns it. The sessions stay readable until Release, which the
// caller must call with them once it has emitted them.
func (t *Tracker) Expired(wm int64, dst []int32) []int32 {
	for len(t.heap) > 0 && t.heap[0].end-1 <= wm {
		e := t.pop()
		s := &t.ss[e.id]
		if !s.isOpen || s.UID != e.uid {
			continue // merged away (or its slot reused)
		}
		if s.End != e.end {
			t.push(entry{end: s.End, id: e.id, uid: e.uid})
			continue
		}
		dst = append(dst, e.id)
	}
	return dst
}

// Release closes the given sessions (returned by Expired) and frees their
// slots. When idle partitions far outnumber busy ones it rebuilds the
// partition table without them, which renumbers partitions.
func (t *Tracker) Release(ids []int32) {
	for _, id := range ids {
		s := &t.ss[id]
		if !s.isOpen {
			continue
		}
		p := s.Part
		if t.first[p] == id {
			t.first[p] = s.next
			if s.next < 0 {
				t.busy--
			}
		} else {
			for q := t.first[p]; q >= 0; q = t.ss[q].next {
				if t.ss[q].next == id {
					t.ss[q].next = s.next
					break
				}
			}
		}
		t.forget(s)
		*s = Session{next: -1, into: -1}
		t.free = append(t.free, id)
		t.open--
	}
	if n := t.parts.Len(); n >= compactMin && n > 4*t.busy {
		t.compact()
	}
}

// compactMin is the partition count below which the table is never rebuilt.
// Tests lower it.
var compactMin = 4096

// compact rebuilds the partition table with only the busy partitions.
func (t *Tracker) compact() {
	nt := t.newTable()
	first := make([]int32, 0, t.busy+t.busy/4)
	for p, f := range t.first {
		if f < 0 {
			continue
		}
		np, _, err := nt.FindOrInsertOne(t.parts.Hash(uint32(p)), t.parts.Key(uint32(p)))
		if err != nil {
			return // cannot happen: fewer keys than before; keep the old table
		}
		first = append(first, f)
		for s := f; s >= 0; s = t.ss[s].next {
			t.ss[s].Part = np
		}
	}
	t.parts, t.first = nt, first
}

// ForEachOpen calls fn for every open session.
func (t *Tracker) ForEachOpen(fn func(id int32)) {
	for id := range t.ss {
		if t.ss[id].isOpen {
			fn(int32(id))
		}
	}
}

// ByEndDesc appends every open session for which keep returns true to dst,
// latest end first (the ones farthest from firing, which a full buffer
// spills first), and returns it.
func (t *Tracker) ByEndDesc(dst []int32, keep func(id int32) bool) []int32 {
	for id := range t.ss {
		if t.ss[id].isOpen && keep(int32(id)) {
			dst = append(dst, int32(id))
		}
	}
	slices.SortFunc(dst, func(a, b int32) int {
		if ea, eb := t.ss[a].End, t.ss[b].End; ea != eb {
			if ea > eb {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
	return dst
}
