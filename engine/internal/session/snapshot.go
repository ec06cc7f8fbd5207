package session

import (
	"encoding/binary"
	"fmt"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Snapshots. An operator snapshots its sessions in two steps: it spills
// what every session holds in memory as one more delta (a spill round:
// BeginSpill, AddDelta for each session with in-memory state, EndSpill),
// so that the spill table holds every session's contents, then calls
// Snapshot, which writes the Tracker's own bookkeeping: one record per
// session changed since the previous Snapshot, in a table of its own,
//
//	key   = key group (state.KeyPrefix) | uid (8 bytes BE)
//	value = format version (1 byte) | start (varint) | end (varint) |
//	        partition key hash (8 bytes LE) | encoded partition key (uvarint length, bytes) |
//	        delta count (uvarint) | per delta: round (uvarint), writer uid (uvarint) |
//	        the operator's extra bytes (the rest)
//
// and deletes the records of sessions that fired or were merged away since.
// A session is changed when a row was placed in it (its bounds may have
// moved), it absorbed another session, or it spilled a delta: sessions no
// row reached write nothing, so the backend's snapshots stay incremental.
//
// Restore rebuilds the Tracker from the records of the key groups the
// subtask owns (after a rescale, gathered from several old subtasks): the
// partitions, each partition's sessions, the firing heap, and what it
// counts about the spill table (the unread deltas of every entry, the last
// spill round). Nothing else needs keeping: a uid carries the subtask that
// made it in its low bits (SetSubtask), so uids of different old subtasks
// never collide, and a restored Tracker numbers new sessions and spill
// rounds above every restored one.
const recordVersion = 1

// uidSubtaskBits is the number of low bits of a uid that hold the subtask
// index (max parallelism is at most 2^15).
const uidSubtaskBits = 16

// snapper is the Tracker's snapshot bookkeeping.
type snapper struct {
	dirty []int32 // sessions marked dirty (may repeat ids of since-closed sessions)
	gone  []goneRec
	key   []byte
	val   []byte
}

// goneRec is a session record to delete at the next Snapshot.
type goneRec struct {
	hash, uid uint64
}

// SetSubtask sets the subtask index the Tracker's uids carry in their low
// bits, so that sessions made by different subtasks never share a uid
// (after a rescale a subtask restores sessions of several). Call it before
// the first session is made.
func (t *Tracker) SetSubtask(i int) error {
	if i < 0 || i >= 1<<uidSubtaskBits {
		return fmt.Errorf("session: subtask index %d is out of range", i)
	}
	t.sub = uint64(i)
	return nil
}

func (t *Tracker) markDirty(id int32) {
	s := &t.ss[id]
	if !s.dirty {
		s.dirty = true
		t.snap.dirty = append(t.snap.dirty, id)
	}
}

// forget records that session s is closing: its record, if a snapshot
// wrote one, goes at the next Snapshot.
func (t *Tracker) forget(s *Session) {
	if s.saved {
		t.snap.gone = append(t.snap.gone, goneRec{hash: t.parts.Hash(s.Part), uid: s.UID})
		s.saved = false
	}
	s.dirty = false
}

func recordKey(dst []byte, kg int, uid uint64) []byte {
	return binary.BigEndian.AppendUint64(state.KeyPrefix(dst, kg), uid)
}

// Snapshot writes to tb the record of every open session changed since the
// previous Snapshot and deletes the records of the sessions closed since
// (see the comment above). maxP is the job's max parallelism (the key
// group of a session is that of its partition key hash). extra, if not
// nil, appends the operator's bytes for session id to the record. The
// caller spills every session's in-memory state first.
func (t *Tracker) Snapshot(tb state.Table, maxP int, extra func(id int32, dst []byte) []byte) error {
	sn := &t.snap
	for _, g := range sn.gone {
		sn.key = recordKey(sn.key[:0], keygroup.Of(g.hash, maxP), g.uid)
		if err := tb.Delete(sn.key); err != nil {
			return fmt.Errorf("delete session record: %w", err)
		}
	}
	sn.gone = sn.gone[:0]
	for _, id := range sn.dirty {
		s := &t.ss[id]
		if !s.isOpen || !s.dirty {
			continue
		}
		s.dirty = false
		key, hash := t.parts.Key(s.Part), t.parts.Hash(s.Part)
		v := append(sn.val[:0], recordVersion)
		v = binary.AppendVarint(v, s.Start)
		v = binary.AppendVarint(v, s.End)
		v = binary.LittleEndian.AppendUint64(v, hash)
		v = binary.AppendUvarint(v, uint64(len(key)))
		v = append(v, key...)
		v = binary.AppendUvarint(v, uint64(len(s.spills)))
		for _, r := range s.spills {
			v = binary.AppendUvarint(v, r.round)
			v = binary.AppendUvarint(v, r.uid)
		}
		if extra != nil {
			v = extra(id, v)
		}
		sn.val = v
		sn.key = recordKey(sn.key[:0], keygroup.Of(hash, maxP), s.UID)
		if err := tb.Put(sn.key, v); err != nil {
			return fmt.Errorf("write session record: %w", err)
		}
		s.saved = true
	}
	sn.dirty = sn.dirty[:0]
	return nil
}

// Restore rebuilds an empty Tracker from the session records of tb in key
// groups kgs (written by Snapshot, after a rescale by several subtasks).
// extra, if not nil, gets every restored session with the extra bytes of
// its record (valid during the call only). Restored sessions count as
// saved and unchanged.
func (t *Tracker) Restore(tb state.Table, kgs keygroup.Range, maxP int, extra func(id int32, b []byte) error) error {
	if len(t.ss) > 0 || t.parts.Len() > 0 {
		return fmt.Errorf("session: restore into a tracker that is not empty")
	}
	if t.spill.chunks == nil {
		t.spill.chunks, t.spill.unread = map[int]*chunk{}, map[chunkKey]int{}
	}
	if kgs.Len() <= 0 {
		return nil
	}
	var hi []byte
	if kgs.End <= 0xffff {
		hi = state.KeyPrefix(nil, kgs.End)
	}
	return tb.Scan(state.KeyPrefix(nil, kgs.Start), hi, func(k, v []byte) error {
		if err := t.restoreOne(k, v, maxP, extra); err != nil {
			return fmt.Errorf("session record %x: %w", k, err)
		}
		return nil
	})
}

func (t *Tracker) restoreOne(k, v []byte, maxP int, extra func(id int32, b []byte) error) error {
	if len(k) != state.KeyGroupLen+8 || len(v) < 1 || v[0] != recordVersion {
		return fmt.Errorf("%w: key of %d bytes, value of %d bytes", errCorrupt, len(k), len(v))
	}
	kg, _ := state.KeyGroupOf(k)
	uid := binary.BigEndian.Uint64(k[state.KeyGroupLen:])
	r := reader{b: v[1:]}
	start, end := r.varint(), r.varint()
	hash := r.u64()
	pkey := r.bytes()
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		return fmt.Errorf("%w: truncated record", errCorrupt)
	}
	if keygroup.Of(hash, maxP) != kg {
		return fmt.Errorf("%w: partition hash of key group %d under key group %d", errCorrupt, keygroup.Of(hash, maxP), kg)
	}
	if end <= start || end-start < t.gap {
		return fmt.Errorf("%w: session [%d, %d) is shorter than the gap %d", errCorrupt, start, end, t.gap)
	}
	spills := make([]spillRef, 0, n)
	for i := uint64(0); i < n; i++ {
		ref := spillRef{round: r.uvarint(), uid: r.uvarint()}
		spills = append(spills, ref)
	}
	if r.bad {
		return fmt.Errorf("%w: truncated delta list", errCorrupt)
	}
	p, _, err := t.parts.FindOrInsertOne(hash, pkey)
	if err != nil {
		return err
	}
	for len(t.first) < t.parts.Len() {
		t.first = append(t.first, -1)
	}
	id, err := t.alloc()
	if err != nil {
		return err
	}
	t.ss[id] = Session{Start: start, End: end, Part: p, UID: uid, next: -1, into: -1, isOpen: true, spills: spills, saved: true}
	// Into the partition's list, by start (sessions are disjoint).
	prev, q := int32(-1), t.first[p]
	for q >= 0 && t.ss[q].Start < start {
		prev, q = q, t.ss[q].next
	}
	if q >= 0 && t.ss[q].Start <= end || prev >= 0 && t.ss[prev].End >= start {
		return fmt.Errorf("%w: session [%d, %d) overlaps another of its partition", errCorrupt, start, end)
	}
	t.ss[id].next = q
	if prev < 0 {
		if t.first[p] < 0 {
			t.busy++
		}
		t.first[p] = id
	} else {
		t.ss[prev].next = id
	}
	t.push(entry{end: end, id: id, uid: uid})
	t.open++
	t.uid = max(t.uid, uid>>uidSubtaskBits)
	for _, ref := range spills {
		t.spill.unread[chunkKey{kg, ref.round}]++
		t.spill.round = max(t.spill.round, ref.round)
	}
	if extra != nil {
		return extra(id, r.b)
	}
	return nil
}

// reader decodes the fields of a record; bad is set by a truncated field.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.bad, r.b = true, nil
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
