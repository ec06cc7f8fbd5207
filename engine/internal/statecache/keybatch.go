package statecache

import (
	"bytes"
	"sort"
)

// KeyBatch collects the state keys an operator looks up for one input
// batch (the keys missing from memory), each with the operator's id for
// it, and sorts them for one state.GetMany or state.ScanPrefixes call.
// Its buffers are reused from batch to batch.
type KeyBatch struct {
	// Keys are the keys added, sorted by Sort; IDs[i] is the id of Keys[i].
	Keys [][]byte
	IDs  []uint32
	buf  []byte
	offs []int
}

// Reset empties the batch.
func (b *KeyBatch) Reset() {
	b.Keys, b.IDs, b.buf, b.offs = b.Keys[:0], b.IDs[:0], b.buf[:0], b.offs[:0]
}

// Buf returns the buffer to append the next key to; pass the result to
// Add. It saves a copy when the key is built in place.
func (b *KeyBatch) Buf() []byte { return b.buf }

// Add records the key appended to Buf() (buf is Buf() with the key
// appended) for id.
func (b *KeyBatch) Add(id uint32, buf []byte) {
	b.offs = append(b.offs, len(b.buf))
	b.buf = buf
	b.IDs = append(b.IDs, id)
}

// Len returns the number of keys.
func (b *KeyBatch) Len() int { return len(b.IDs) }

// Sort builds Keys and sorts them bytewise, keeping IDs aligned.
func (b *KeyBatch) Sort() {
	b.Keys = b.Keys[:0]
	for i, off := range b.offs {
		end := len(b.buf)
		if i+1 < len(b.offs) {
			end = b.offs[i+1]
		}
		b.Keys = append(b.Keys, b.buf[off:end:end])
	}
	sort.Sort((*byKey)(b))
}

type byKey KeyBatch

func (b *byKey) Len() int           { return len(b.Keys) }
func (b *byKey) Less(i, j int) bool { return bytes.Compare(b.Keys[i], b.Keys[j]) < 0 }
func (b *byKey) Swap(i, j int) {
	b.Keys[i], b.Keys[j] = b.Keys[j], b.Keys[i]
	b.IDs[i], b.IDs[j] = b.IDs[j], b.IDs[i]
}
