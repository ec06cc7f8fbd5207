package windowtopn

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
)

// The winbuf.Window methods of window. A partition's state is its
// candidates, at most N, the best of the partition so far:
//
//	candidate count (uvarint) | per candidate: arrival number (uvarint) |
//	sort key (uvarint length, rowkey sort format) | row (uvarint length, rowkey format)

// Groups implements winbuf.Window: the window's partitions.
func (w *window) Groups() *hashtable.Table { return w.parts }

// Size implements winbuf.Window: the window's live candidates.
func (w *window) Size() int { return w.live }

// AppendState implements winbuf.Window.
func (w *window) AppendState(dst []byte, p uint32) []byte {
	off, ln := w.hoff[p], w.hlen[p]
	dst = binary.AppendUvarint(dst, uint64(ln))
	for _, id := range w.slab[off : off+ln] {
		c := &w.cands[id]
		dst = binary.AppendUvarint(dst, c.seq)
		dst = binary.AppendUvarint(dst, uint64(c.skLen))
		dst = append(dst, w.sk[c.skOff:c.skOff+int(c.skLen)]...)
		dst = binary.AppendUvarint(dst, uint64(c.payLen))
		dst = append(dst, w.pay[c.payOff:c.payOff+int(c.payLen)]...)
	}
	return dst
}

// MergeState implements winbuf.Window: it offers the candidates of an
// encoded state to partition p.
func (w *window) MergeState(p uint32, v []byte) error {
	w.growParts()
	n, v, err := uvarint(v)
	if err != nil {
		return fmt.Errorf("candidate count: %w", err)
	}
	for i := uint64(0); i < n; i++ {
		var seq uint64
		var sk, pay []byte
		if seq, v, err = uvarint(v); err == nil {
			if sk, v, err = lenBytes(v); err == nil {
				pay, v, err = lenBytes(v)
			}
		}
		if err != nil {
			return fmt.Errorf("candidate %d: %w", i, err)
		}
		if id, ok := w.offer(p, sk, seq, false); ok {
			c := &w.cands[id]
			c.payOff, c.payLen = len(w.pay), int32(len(pay))
			w.pay = append(w.pay, pay...)
		}
	}
	if len(v) != 0 {
		return fmt.Errorf("%d trailing bytes", len(v))
	}
	return nil
}

// Reset implements winbuf.Window.
func (w *window) Reset() {
	w.parts.Reset(64)
	w.hoff, w.hlen, w.hcap, w.slab = w.hoff[:0], w.hlen[:0], w.hcap[:0], w.slab[:0]
	w.cands, w.sk, w.pay = w.cands[:0], w.sk[:0], w.pay[:0]
	w.live, w.dead = 0, 0
}

var errShort = errors.New("truncated")

func uvarint(v []byte) (uint64, []byte, error) {
	x, k := binary.Uvarint(v)
	if k <= 0 {
		return 0, nil, errShort
	}
	return x, v[k:], nil
}

func lenBytes(v []byte) ([]byte, []byte, error) {
	l, v, err := uvarint(v)
	if err != nil || l > uint64(len(v)) {
		return nil, nil, errShort
	}
	return v[:l], v[l:], nil
}
