package opsnap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// ErrCorrupt is wrapped by the errors of entries that cannot be decoded.
var ErrCorrupt = errors.New("corrupt operator state")

// EncodeSchema encodes s as Arrow IPC's schema message.
func EncodeSchema(s *arrow.Schema) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode schema %s: %w", s, err)
	}
	return buf.Bytes(), nil
}

// DecodeSchema decodes a schema written by EncodeSchema.
func DecodeSchema(b []byte) (*arrow.Schema, error) {
	r, err := ipc.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: schema: %v", ErrCorrupt, err)
	}
	defer r.Release()
	return r.Schema(), nil
}

// PutMeta writes the per-subtask bookkeeping value under the first key
// group of kgs.
func PutMeta(t state.Table, kgs keygroup.Range, value []byte) error {
	if err := t.Put(state.KeyPrefix(nil, kgs.Start), value); err != nil {
		return fmt.Errorf("write operator bookkeeping: %w", err)
	}
	return nil
}

// ScanMeta calls fn with every bookkeeping value stored under a key group
// of kgs: one per old subtask whose key groups this subtask owns now (one
// when nothing was rescaled), in key-group order.
func ScanMeta(t state.Table, kgs keygroup.Range, fn func(value []byte) error) error {
	return ScanRange(t, kgs, func(key, value []byte) error { return fn(value) })
}

// ScanRange calls fn with every entry of t whose key group is in kgs, in key
// order.
func ScanRange(t state.Table, kgs keygroup.Range, fn func(key, value []byte) error) error {
	if kgs.Len() <= 0 {
		return nil
	}
	var hi []byte
	if kgs.End <= 0xffff {
		hi = state.KeyPrefix(nil, kgs.End)
	}
	return t.Scan(state.KeyPrefix(nil, kgs.Start), hi, fn)
}

// Dirty is a set of ids (dense, small integers) in insertion order.
type Dirty struct {
	mark []bool
	ids  []uint32
}

// Add puts id into the set.
func (d *Dirty) Add(id uint32) {
	if int(id) >= len(d.mark) {
		n := max(int(id)+1, 2*len(d.mark))
		m := make([]bool, n)
		copy(m, d.mark)
		d.mark = m
	}
	if !d.mark[id] {
		d.mark[id] = true
		d.ids = append(d.ids, id)
	}
}

// Has reports whether id is in the set.
func (d *Dirty) Has(id uint32) bool { return int(id) < len(d.mark) && d.mark[id] }

// IDs returns the ids in the set, in the order they were added.
func (d *Dirty) IDs() []uint32 { return d.ids }

// Len returns the number of ids in the set.
func (d *Dirty) Len() int { return len(d.ids) }

// Reset empties the set.
func (d *Dirty) Reset() {
	for _, id := range d.ids {
		d.mark[id] = false
	}
	d.ids = d.ids[:0]
}

// Remap renumbers the set after its owner renumbered its ids: f returns an
// id's new number, or false if the id is gone (its owner recorded what
// must be deleted before).
func (d *Dirty) Remap(f func(old uint32) (uint32, bool)) {
	old := append([]uint32(nil), d.ids...)
	d.Reset()
	for _, id := range old {
		if n, ok := f(id); ok {
			d.Add(n)
		}
	}
}

// Deletes is a list of state keys to delete at the next snapshot, kept in
// one byte arena.
type Deletes struct {
	data []byte
	offs []int
}

// Add records key (copied).
func (d *Deletes) Add(key []byte) {
	d.data = append(d.data, key...)
	d.offs = append(d.offs, len(d.data))
}

// Len returns the number of keys recorded.
func (d *Deletes) Len() int { return len(d.offs) }

// Apply deletes every recorded key from t and forgets them.
func (d *Deletes) Apply(t state.Table) error {
	lo := 0
	for _, hi := range d.offs {
		if err := t.Delete(d.data[lo:hi]); err != nil {
			return fmt.Errorf("delete state entry: %w", err)
		}
		lo = hi
	}
	d.data, d.offs = d.data[:0], d.offs[:0]
	return nil
}

// Key appends the state key of an entry of key group kg to dst: the key
// group, then the parts in turn.
func Key(dst []byte, kg int, parts ...[]byte) []byte {
	dst = state.KeyPrefix(dst, kg)
	for _, p := range parts {
		dst = append(dst, p...)
	}
	return dst
}

// Reader decodes the fields of a state value written with the Append
// functions, remembering the first error.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first decoding error, or nil.
func (r *Reader) Err() error { return r.err }

// Rest returns what is left unread.
func (r *Reader) Rest() []byte { return r.b }

func (r *Reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated %s", ErrCorrupt, what)
	}
	r.b = nil
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Varint reads a signed varint.
func (r *Reader) Varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// U64 reads 8 little-endian bytes.
func (r *Reader) U64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.fail("u64")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// Bytes reads a length-prefixed byte string (AppendBytes). The result
// aliases the input.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.fail("bytes")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// AppendBytes appends b with its length.
func AppendBytes(dst, b []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...)
}

// PutSchema writes input schema s of input under every key group of kgs,
// so that whichever subtask owns a key group after a rescale can bind
// before its first batch. Operators write it once (the schema never
// changes).
func PutSchema(t state.Table, kgs keygroup.Range, input int, s *arrow.Schema) error {
	enc, err := EncodeSchema(s)
	if err != nil {
		return err
	}
	var key []byte
	for kg := kgs.Start; kg < kgs.End; kg++ {
		key = append(state.KeyPrefix(key[:0], kg), byte(input))
		if err := t.Put(key, enc); err != nil {
			return fmt.Errorf("write input schema: %w", err)
		}
	}
	return nil
}

// GetSchema returns the schema of input written by PutSchema under any
// key group of kgs (after a rescale, an old subtask that never saw the
// input wrote none for its key groups), or nil if there is none. A
// restored operator writes its schemas again at its next snapshot, so that
// every key group it owns has them.
func GetSchema(t state.Table, kgs keygroup.Range, input int) (*arrow.Schema, error) {
	var found []byte
	err := ScanRange(t, kgs, func(k, v []byte) error {
		if len(k) == state.KeyGroupLen+1 && int(k[state.KeyGroupLen]) == input {
			found = append([]byte(nil), v...)
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("read input schema: %w", err)
	}
	if found == nil {
		return nil, nil
	}
	return DecodeSchema(found)
}

var errStop = errors.New("stop")

// KeyGroup returns the key group of a key hash (keygroup.Of), or 0 when
// maxP is not set (a context without key groups, which cannot snapshot:
// SnapshotState refuses it).
func KeyGroup(hash uint64, maxP int) int {
	if maxP <= 0 {
		return 0
	}
	return keygroup.Of(hash, maxP)
}
