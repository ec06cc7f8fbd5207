package session

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/eddy-streaming/eddy/state"
)

// The state format of spilled session state. A spill round writes, for
// each key group the spilled sessions' partitions fall into, one entry:
//
//	key   = key group (state.KeyPrefix) | round (8 bytes BE)
//	value = format version (1 byte) | delta count n (uvarint) |
//	        n session uids (8 bytes BE each, ascending) |
//	        n delta ends (4 bytes LE each) | the deltas, in uid order
//
// A delta is whatever the operator spilled for one session (the bytes it
// passed to AddDelta). A session remembers the (round, uid) of each delta
// of its own or of a session merged into it; firing reads each with one
// Get and a binary search. The Tracker counts the unread deltas of every
// entry and deletes the entry when the last one is read.
const spillVersion = 1

// spillRef names a spilled delta: its round and the uid of the session
// that wrote it.
type spillRef struct{ round, uid uint64 }

// chunkKey names a state entry: a key group and a round.
type chunkKey struct {
	kg    int
	round uint64
}

// chunk is the entry of one key group being built in the current round.
type chunk struct {
	uids []uint64
	ends []uint32
	data []byte
}

// spiller is the Tracker's spill bookkeeping.
type spiller struct {
	round  uint64
	open   bool
	chunks map[int]*chunk
	kgs    []int // key groups with a chunk this round, in first-use order
	pool   []*chunk
	unread map[chunkKey]int
	key    []byte
	val    []byte
	order  []int
}

// BeginSpill starts a spill round: AddDelta calls follow, then EndSpill.
func (t *Tracker) BeginSpill() {
	sp := &t.spill
	sp.round++
	sp.open = true
	if sp.chunks == nil {
		sp.chunks, sp.unread = map[int]*chunk{}, map[chunkKey]int{}
	}
}

// AddDelta adds delta, the spilled state of session id whose partition is
// in key group kg, to the current round. A session spills at most once per
// round. The bytes are copied.
func (t *Tracker) AddDelta(id int32, kg int, delta []byte) error {
	sp := &t.spill
	if !sp.open {
		return errors.New("session: AddDelta outside a spill round")
	}
	s := &t.ss[id]
	if n := len(s.spills); n > 0 && s.spills[n-1].round == sp.round && s.spills[n-1].uid == s.UID {
		return errors.New("session: a session spilled twice in one round")
	}
	c := sp.chunks[kg]
	if c == nil {
		if n := len(sp.pool); n > 0 {
			c = sp.pool[n-1]
			sp.pool = sp.pool[:n-1]
		} else {
			c = &chunk{}
		}
		sp.chunks[kg] = c
		sp.kgs = append(sp.kgs, kg)
	}
	if len(c.data)+len(delta) > 1<<31 {
		return fmt.Errorf("session: spilled state of key group %d exceeds 2 GiB in one round", kg)
	}
	c.uids = append(c.uids, s.UID)
	c.data = append(c.data, delta...)
	c.ends = append(c.ends, uint32(len(c.data)))
	s.spills = append(s.spills, spillRef{round: sp.round, uid: s.UID})
	t.markDirty(id)
	return nil
}

// EndSpill writes the current round's deltas to tb, one blind Put per key
// group, and closes the round.
func (t *Tracker) EndSpill(tb state.Table) error {
	sp := &t.spill
	sp.open = false
	for _, kg := range sp.kgs {
		c := sp.chunks[kg]
		delete(sp.chunks, kg)
		n := len(c.uids)
		// Deltas in uid order, for the binary search at read time.
		sp.order = sp.order[:0]
		for i := 0; i < n; i++ {
			sp.order = append(sp.order, i)
		}
		slices.SortFunc(sp.order, func(a, b int) int { return cmp.Compare(c.uids[a], c.uids[b]) })
		v := append(sp.val[:0], spillVersion)
		v = binary.AppendUvarint(v, uint64(n))
		for _, i := range sp.order {
			v = binary.BigEndian.AppendUint64(v, c.uids[i])
		}
		end := uint32(0)
		for _, i := range sp.order {
			end += c.ends[i] - start(c, i)
			v = binary.LittleEndian.AppendUint32(v, end)
		}
		for _, i := range sp.order {
			v = append(v, c.data[start(c, i):c.ends[i]]...)
		}
		sp.val = v
		sp.key = chunkStateKey(sp.key[:0], kg, sp.round)
		if err := tb.Put(sp.key, v); err != nil {
			return fmt.Errorf("write spilled sessions of key group %d: %w", kg, err)
		}
		sp.unread[chunkKey{kg, sp.round}] = n
		c.uids, c.ends, c.data = c.uids[:0], c.ends[:0], c.data[:0]
		sp.pool = append(sp.pool, c)
	}
	sp.kgs = sp.kgs[:0]
	return nil
}

// start returns where delta i of c begins.
func start(c *chunk, i int) uint32 {
	if i == 0 {
		return 0
	}
	return c.ends[i-1]
}

func chunkStateKey(dst []byte, kg int, round uint64) []byte {
	dst = state.KeyPrefix(dst, kg)
	return binary.BigEndian.AppendUint64(dst, round)
}

// HasSpills reports whether session id has spilled state.
func (t *Tracker) HasSpills(id int32) bool { return len(t.ss[id].spills) > 0 }

var errCorrupt = errors.New("corrupt spilled session state")

// ReadSpills calls fn with every spilled delta of session id, whose
// partition is in key group kg, oldest round first, and forgets them: a
// state entry is deleted once its last delta has been read. The slice fn
// gets is valid during the call only.
func (t *Tracker) ReadSpills(tb state.Table, id int32, kg int, fn func(delta []byte) error) error {
	s := &t.ss[id]
	sp := &t.spill
	for _, ref := range s.spills {
		sp.key = chunkStateKey(sp.key[:0], kg, ref.round)
		v, ok, err := tb.Get(sp.key)
		if err != nil {
			return fmt.Errorf("read spilled sessions of key group %d: %w", kg, err)
		}
		if !ok {
			return fmt.Errorf("%w: no entry for key group %d, round %d", errCorrupt, kg, ref.round)
		}
		delta, err := findDelta(v, ref.uid)
		if err != nil {
			return fmt.Errorf("key group %d, round %d: %w", kg, ref.round, err)
		}
		if err := fn(delta); err != nil {
			return err
		}
		ck := chunkKey{kg, ref.round}
		if sp.unread[ck]--; sp.unread[ck] <= 0 {
			delete(sp.unread, ck)
			if err := tb.Delete(sp.key); err != nil {
				return fmt.Errorf("delete spilled sessions of key group %d: %w", kg, err)
			}
		}
	}
	s.spills = nil
	return nil
}

// findDelta returns the delta of session uid in a state entry's value.
func findDelta(v []byte, uid uint64) ([]byte, error) {
	if len(v) < 1 || v[0] != spillVersion {
		return nil, fmt.Errorf("%w: value of %d bytes, not format %d", errCorrupt, len(v), spillVersion)
	}
	n, w := binary.Uvarint(v[1:])
	if w <= 0 || n > uint64(len(v)) {
		return nil, fmt.Errorf("%w: bad delta count", errCorrupt)
	}
	hdr := 1 + w
	data := hdr + int(n)*12
	if data > len(v) {
		return nil, fmt.Errorf("%w: truncated index", errCorrupt)
	}
	uids, ends := v[hdr:hdr+int(n)*8], v[hdr+int(n)*8:data]
	lo, hi := 0, int(n)
	for lo < hi {
		m := (lo + hi) / 2
		if binary.BigEndian.Uint64(uids[m*8:]) < uid {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := lo
	if i == int(n) || binary.BigEndian.Uint64(uids[i*8:]) != uid {
		return nil, fmt.Errorf("%w: no delta of session %d", errCorrupt, uid)
	}
	b, e := uint32(0), binary.LittleEndian.Uint32(ends[i*4:])
	if i > 0 {
		b = binary.LittleEndian.Uint32(ends[(i-1)*4:])
	}
	if b > e || int(e) > len(v)-data {
		return nil, fmt.Errorf("%w: delta out of range", errCorrupt)
	}
	return v[data+int(b) : data+int(e)], nil
}
