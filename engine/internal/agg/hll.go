package agg

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/axiomhq/hyperloglog"

	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
)

// hll is APPROX_COUNT_DISTINCT: per group a HyperLogLog sketch
// (github.com/axiomhq/hyperloglog, 2^14 registers: a standard error of
// about 1.04/sqrt(2^14) = 0.8%, close to Flink's 1% default). A sketch
// starts sparse, which is exact up to a few thousand values and small in
// memory, and turns dense (16 KiB) as it grows. Values are hashed in the
// rowkey key format, so SQL-equal values count once, and the hash (the
// library's MetroHash of those bytes) is part of the state format: sketches
// from state merge with new ones. Groups without a value have no sketch
// and count 0.
type hll struct {
	enc    *rowkey.Encoder
	sk     []*hyperloglog.Sketch
	rows   rowkey.Rows        // scratch: the batch's values, encoded
	loaded hyperloglog.Sketch // scratch for MergeState
	cols   [1]arrow.Array     // the one column to encode
}

func newHLL(in arrow.DataType) (*hll, error) {
	enc, err := rowkey.NewEncoder([]arrow.DataType{in})
	if err != nil {
		return nil, err
	}
	return &hll{enc: enc}, nil
}

// newSketch returns an empty sparse sketch of 2^14 registers. The state
// holds the precision: changing it makes old states unmergeable.
func newSketch() *hyperloglog.Sketch { return hyperloglog.New14() }

func (a *hll) Len() int   { return len(a.sk) }
func (a *hll) Grow(n int) { a.sk = grow(a.sk, n) }

// Reset drops every sketch: a reused dense sketch would lose the sparse
// representation's accuracy on small groups.
func (a *hll) Reset() {
	clear(a.sk)
	a.sk = a.sk[:0]
}

func (a *hll) Update(col arrow.Array, groups []uint32, sel []int32) error {
	a.cols[0] = col
	cols := a.cols[:]
	defer clear(cols)
	if err := a.enc.Encode(cols, col.Len(), sel, &a.rows); err != nil {
		return fmt.Errorf("agg: APPROX_COUNT_DISTINCT: %w", err)
	}
	valid, nulls := rowkey.ValidityOf(col)
	for k, g := range groups {
		if nulls && valid.Null(rowOf(sel, k)) {
			continue
		}
		sk := a.sk[g]
		if sk == nil {
			sk = newSketch()
			a.sk[g] = sk
		}
		sk.Insert(a.rows.Row(k))
	}
	return nil
}

// merge folds sketch s into group g.
func (a *hll) merge(g uint32, s *hyperloglog.Sketch) error {
	if a.sk[g] == nil {
		a.sk[g] = newSketch()
	}
	if err := a.sk[g].Merge(s); err != nil {
		return fmt.Errorf("agg: APPROX_COUNT_DISTINCT: %w", err)
	}
	return nil
}

func (a *hll) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*hll)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into APPROX_COUNT_DISTINCT", src)
	}
	if s.sk[sg] == nil {
		return nil
	}
	return a.merge(g, s.sk[sg])
}

// AppendState writes 0 for a group without a sketch, else the sketch's
// encoding (the library's binary format) after its length (uvarint).
func (a *hll) AppendState(dst []byte, g uint32) []byte {
	sk := a.sk[g]
	if sk == nil {
		return append(dst, 0)
	}
	// Reserve the longest uvarint for the length and fill it in after,
	// so the sketch is encoded straight into dst.
	dst = append(dst, 1)
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0) // binary.MaxVarintLen32 bytes
	out, err := sk.AppendBinary(dst)
	if err != nil { // only for an uninitialized sketch, which a group never has
		return append(dst[:at-1], 0)
	}
	n := len(out) - at - binary.MaxVarintLen32
	w := binary.PutUvarint(out[at:], uint64(n))
	copy(out[at+w:], out[at+binary.MaxVarintLen32:])
	return out[:at+w+n]
}

func (a *hll) MergeState(g uint32, src []byte) ([]byte, error) {
	h, src, err := readByte(src)
	if err != nil {
		return nil, err
	}
	switch h {
	case 0:
		return src, nil
	case 1:
	default:
		return nil, fmt.Errorf("agg: bad APPROX_COUNT_DISTINCT state marker %d", h)
	}
	l, w := binary.Uvarint(src)
	if w <= 0 || l > uint64(len(src)-w) {
		return nil, errTruncated
	}
	if err := a.loaded.UnmarshalBinary(src[w : w+int(l)]); err != nil {
		return nil, fmt.Errorf("agg: APPROX_COUNT_DISTINCT state: %w", err)
	}
	if err := a.merge(g, &a.loaded); err != nil {
		return nil, err
	}
	return src[w+int(l):], nil
}

func (a *hll) Build(b array.Builder) error {
	bb, ok := b.(*array.Int64Builder)
	if !ok {
		return fmt.Errorf("agg: APPROX_COUNT_DISTINCT builds BIGINT, got a %s builder", b.Type())
	}
	bb.Reserve(len(a.sk))
	for _, sk := range a.sk {
		var n int64
		if sk != nil {
			n = int64(sk.Estimate())
		}
		bb.UnsafeAppend(n)
	}
	return nil
}
