package agg

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cespare/xxhash/v2"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
)

// encodedAdder is an accumulator that DISTINCT can feed: it adds one value
// given in the rowkey key format, without the marker byte.
type encodedAdder interface {
	Accumulator
	addEncoded(g uint32, v []byte) error
}

// distinct is COUNT, SUM or AVG over the distinct non-NULL values of each
// group. It keeps one hash set for all its groups, keyed by (group id,
// value encoded in the rowkey key format, so SQL-equal values are equal),
// and feeds the inner, plain accumulator each value the first time its
// group sees it. The set's entries of one group are chained (head, next), so
// Merge and AppendState visit one group's values without scanning the set.
type distinct struct {
	inner encodedAdder
	enc   *rowkey.Encoder
	set   *hashtable.Table
	head  []uint32 // per group: 1 + its newest entry, 0 when it has none
	next  []uint32 // per entry: 1 + the group's entry before it, 0 at the end

	// Scratch reused from batch to batch.
	vals   rowkey.Rows // the batch's values, encoded
	keys   rowkey.Rows // (group, value) of its non-NULL rows
	hashes []uint64
	ids    []uint32
	ks     []int32 // the update index k of each key
	key    []byte
	cols   [1]arrow.Array // the one column to encode
}

func newDistinct(inner encodedAdder, in arrow.DataType) (*distinct, error) {
	enc, err := rowkey.NewEncoder([]arrow.DataType{in})
	if err != nil {
		return nil, fmt.Errorf("agg: DISTINCT over %s: %w", in, err)
	}
	d := &distinct{inner: inner, enc: enc}
	if w := enc.FixedWidth(); w > 0 {
		d.set = hashtable.NewFixed(0, 4+w)
	} else {
		d.set = hashtable.New(0)
	}
	return d, nil
}

func (d *distinct) Len() int { return len(d.head) }

func (d *distinct) Grow(n int) {
	d.head = grow(d.head, n)
	d.inner.Grow(n)
}

func (d *distinct) Reset() {
	d.set.Reset(d.set.Len())
	d.head = d.head[:0]
	d.next = d.next[:0]
	d.inner.Reset()
}

// link records entry id, just inserted, as group g's newest value, and
// feeds the value to the inner accumulator.
func (d *distinct) link(g uint32, id uint32, v []byte) error {
	d.next = append(d.next, d.head[g])
	d.head[g] = id + 1
	return d.inner.addEncoded(g, v[1:])
}

func (d *distinct) Update(col arrow.Array, groups []uint32, sel []int32) error {
	d.cols[0] = col
	cols := d.cols[:]
	defer clear(cols)
	if err := d.enc.Encode(cols, col.Len(), sel, &d.vals); err != nil {
		return fmt.Errorf("agg: DISTINCT: %w", err)
	}
	// Key every non-NULL row by (group, value).
	valid, nulls := rowkey.ValidityOf(col)
	keys := &d.keys
	keys.Data, keys.Offs, d.ks = keys.Data[:0], append(keys.Offs[:0], 0), d.ks[:0]
	for k, g := range groups {
		if nulls && valid.Null(rowOf(sel, k)) {
			continue
		}
		keys.Data = binary.LittleEndian.AppendUint32(keys.Data, g)
		keys.Data = append(keys.Data, d.vals.Row(k)...)
		keys.Offs = append(keys.Offs, int32(len(keys.Data)))
		d.ks = append(d.ks, int32(k))
	}
	m := len(d.ks)
	if m == 0 {
		return nil
	}
	d.hashes = grow(d.hashes, m)[:m]
	for j := range d.hashes {
		d.hashes[j] = xxhash.Sum64(keys.Row(j))
	}
	d.ids = grow(d.ids, m)[:m]
	before := d.set.Len()
	if _, err := d.set.FindOrInsert(d.hashes, keys, nil, d.ids); err != nil {
		return fmt.Errorf("agg: DISTINCT: %w", err)
	}
	// Ids are dense in insertion order: the key that created entry id is
	// the first whose id is the next unseen one.
	fresh := uint32(before)
	for j, id := range d.ids {
		if id != fresh {
			continue
		}
		fresh++
		if err := d.link(groups[d.ks[j]], id, keys.Row(j)[4:]); err != nil {
			return err
		}
	}
	return nil
}

// insert adds value v (rowkey key format, marker included) to group g.
func (d *distinct) insert(g uint32, v []byte) error {
	d.key = binary.LittleEndian.AppendUint32(d.key[:0], g)
	d.key = append(d.key, v...)
	id, added, err := d.set.FindOrInsertOne(xxhash.Sum64(d.key), d.key)
	if err != nil {
		return fmt.Errorf("agg: DISTINCT: %w", err)
	}
	if !added {
		return nil
	}
	return d.link(g, id, d.key[4:])
}

// Merge adds the distinct values of group sg of src to group g.
func (d *distinct) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*distinct)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into a DISTINCT aggregate", src)
	}
	for e := s.head[sg]; e != 0; e = s.next[e-1] {
		// insert copies the value into d.key before it touches d.set, so
		// merging from d itself is safe.
		if err := d.insert(g, s.set.Key(e - 1)[4:]); err != nil {
			return err
		}
	}
	return nil
}

// AppendState writes the group's distinct values: their number (uvarint),
// then each in the rowkey key format.
func (d *distinct) AppendState(dst []byte, g uint32) []byte {
	n := 0
	for e := d.head[g]; e != 0; e = d.next[e-1] {
		n++
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	for e := d.head[g]; e != 0; e = d.next[e-1] {
		dst = append(dst, d.set.Key(e - 1)[4:]...)
	}
	return dst
}

func (d *distinct) MergeState(g uint32, src []byte) ([]byte, error) {
	n, w := binary.Uvarint(src)
	if w <= 0 {
		return nil, errTruncated
	}
	src = src[w:]
	if n > uint64(len(src)) { // every value takes at least one byte
		return nil, errTruncated
	}
	for ; n > 0; n-- {
		end, err := d.enc.Skip(src, 0)
		if err != nil {
			return nil, errTruncated
		}
		if src[0] != 1 {
			return nil, fmt.Errorf("agg: DISTINCT state holds a NULL value")
		}
		if err := d.insert(g, src[:end]); err != nil {
			return nil, err
		}
		src = src[end:]
	}
	return src, nil
}

func (d *distinct) Build(b array.Builder) error { return d.inner.Build(b) }
