package hashtable

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"

	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
)

// Table maps keys to group ids. The zero value is not usable; call New.
type Table struct {
	slots  []uint64 // tag<<32 | (id+1); 0 is an empty slot
	mask   uint64
	shift  uint     // 64 - log2(len(slots))
	hashes []uint64 // per group
	offs   []int    // group g's key is data[offs[g]:offs[g+1]]
	data   []byte
	width  int // > 0: every key has this length, so group g's key is at g*width
}

const minSlots = 16

// New returns an empty table sized for about hint groups.
func New(hint int) *Table {
	t := &Table{offs: []int{0}}
	t.allocSlots(hint)
	return t
}

func (t *Table) allocSlots(groups int) {
	n := minSlots
	for n < 2*groups {
		n <<= 1
	}
	if len(t.slots) == n {
		clear(t.slots)
	} else {
		t.slots = make([]uint64, n)
	}
	t.mask = uint64(n - 1)
	t.shift = uint(64 - bits.TrailingZeros(uint(n)))
}

// pos returns the home slot of hash. Key groups are hash mod max
// parallelism, so one subtask sees hashes whose low bits agree; Fibonacci
// hashing spreads every bit of the hash into the slot index.
func (t *Table) pos(hash uint64) uint64 { return (hash * 0x9e3779b97f4a7c15) >> t.shift }

// NewFixed returns an empty table, sized for about hint groups, whose keys
// all have width bytes: key lookups then skip the offsets.
func NewFixed(hint, width int) *Table {
	t := New(hint)
	t.width = width
	return t
}

// key returns the key of group id.
func (t *Table) key(id uint32) []byte {
	if t.width > 0 {
		o := int(id) * t.width
		return t.data[o : o+t.width]
	}
	return t.data[t.offs[id]:t.offs[id+1]]
}

// Len returns the number of groups.
func (t *Table) Len() int { return len(t.hashes) }

// Key returns the key of group id. It is valid until the next insertion.
func (t *Table) Key(id uint32) []byte { return t.data[t.offs[id]:t.offs[id+1]] }

// Hash returns the hash group id was inserted with.
func (t *Table) Hash(id uint32) uint64 { return t.hashes[id] }

// Hashes returns every group's hash, indexed by group id.
func (t *Table) Hashes() []uint64 { return t.hashes }

// Arena returns the key bytes of every group and their offsets: group g's
// key is data[offs[g]:offs[g+1]]. Both are valid until the next insertion.
func (t *Table) Arena() (data []byte, offs []int) { return t.data, t.offs }

// KeyBytes returns the total size of all keys.
func (t *Table) KeyBytes() int { return len(t.data) }

// Reset empties the table, keeping its memory. Tables that grew far beyond
// hint give their slot memory back.
func (t *Table) Reset(hint int) {
	t.hashes = t.hashes[:0]
	t.offs = t.offs[:1]
	t.data = t.data[:0]
	if len(t.slots) > 8*max(minSlots, 2*hint) {
		t.slots = nil
	}
	t.allocSlots(hint)
}

// FindOrInsert sets out[k] to the group id of row r = k (sel nil) or
// r = sel[k] (sel set), whose hash is hashes[r] and key keys.Row(r),
// inserting keys not yet in the table. It returns the number of groups it
// created.
func (t *Table) FindOrInsert(hashes []uint64, keys *rowkey.Rows, sel []int32, out []uint32) (int, error) {
	n := len(hashes)
	if sel != nil {
		n = len(sel)
	}
	if len(out) < n {
		return 0, fmt.Errorf("hashtable: out has %d slots for %d rows", len(out), n)
	}
	before := len(t.hashes)
	for k := 0; k < n; k++ {
		r := k
		if sel != nil {
			r = int(sel[k])
		}
		id, err := t.findOrInsert(hashes[r], keys.Data[keys.Offs[r]:keys.Offs[r+1]])
		if err != nil {
			return 0, err
		}
		out[k] = id
	}
	return len(t.hashes) - before, nil
}

// FindOrInsertOne returns the group id of key, inserting it when missing.
func (t *Table) FindOrInsertOne(hash uint64, key []byte) (id uint32, inserted bool, err error) {
	before := len(t.hashes)
	id, err = t.findOrInsert(hash, key)
	return id, len(t.hashes) > before, err
}

// Find returns the group id of key, or false.
func (t *Table) Find(hash uint64, key []byte) (uint32, bool) {
	tag := hash >> 32
	for i := t.pos(hash); ; i = (i + 1) & t.mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if s>>32 == tag {
			id := uint32(s) - 1
			if bytes.Equal(t.key(id), key) {
				return id, true
			}
		}
	}
}

func (t *Table) findOrInsert(hash uint64, key []byte) (uint32, error) {
	tag := hash >> 32
	i := t.pos(hash)
	for {
		s := t.slots[i]
		if s == 0 {
			break
		}
		if s>>32 == tag {
			id := uint32(s) - 1
			if bytes.Equal(t.key(id), key) {
				return id, nil
			}
		}
		i = (i + 1) & t.mask
	}
	id := len(t.hashes)
	if id >= math.MaxUint32-1 {
		return 0, fmt.Errorf("hashtable: more than %d groups", math.MaxUint32-1)
	}
	if t.width > 0 && len(key) != t.width {
		return 0, fmt.Errorf("hashtable: key of %d bytes in a table of %d-byte keys", len(key), t.width)
	}
	t.hashes = append(t.hashes, hash)
	t.data = append(t.data, key...)
	t.offs = append(t.offs, len(t.data))
	t.slots[i] = tag<<32 | uint64(id+1)
	if 2*len(t.hashes) > len(t.slots) {
		t.grow()
	}
	return uint32(id), nil
}

func (t *Table) grow() {
	n := len(t.slots) * 2
	t.slots = make([]uint64, n)
	t.mask = uint64(n - 1)
	t.shift = uint(64 - bits.TrailingZeros(uint(n)))
	for id, h := range t.hashes {
		i := t.pos(h)
		for t.slots[i] != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = (h>>32)<<32 | uint64(id+1)
	}
}
