package windowtopn

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// State layout, in table "window_topn.v1":
//
//	key   = key group | window end (state.AppendInt64) | window start (state.AppendInt64) | encoded partition key (rowkey)
//	value = format version (1) | partition key hash (8 bytes LE) | candidate count (uvarint) |
//	        per candidate: arrival number (uvarint) | sort key (uvarint length, rowkey sort format) | row (uvarint length, rowkey format)
//
// A value holds at most N candidates: the best of its partition so far.

var errCorrupt = errors.New("corrupt window_topn state entry")

// flush moves every buffered candidate into the state table, merging with
// the candidates already there, and empties the buffer.
func (o *Operator) flush() error {
	maxP := o.oc.MaxParallelism
	for k, w := range o.windows {
		_, had := o.flushed[k]
		for p := 0; p < w.parts.Len(); p++ {
			h := w.parts.Hash(uint32(p))
			kg := keygroup.Of(h, maxP)
			o.noteKeyGroup(kg)
			o.skey = o.stateKey(o.skey[:0], kg, k)
			o.skey = append(o.skey, w.parts.Key(uint32(p))...)
			if had {
				old, ok, err := o.table.Get(o.skey)
				if err != nil {
					return fmt.Errorf("flush: read state: %w", err)
				}
				if ok {
					if err := o.mergeValue(w, uint32(p), old); err != nil {
						return fmt.Errorf("flush: %w", err)
					}
				}
			}
			o.sval = append(o.sval[:0], stateFormatVersion)
			o.sval = binary.LittleEndian.AppendUint64(o.sval, h)
			off, ln := w.hoff[p], w.hlen[p]
			o.sval = binary.AppendUvarint(o.sval, uint64(ln))
			for _, id := range w.slab[off : off+ln] {
				c := &w.cands[id]
				o.sval = binary.AppendUvarint(o.sval, c.seq)
				o.sval = binary.AppendUvarint(o.sval, uint64(c.skLen))
				o.sval = append(o.sval, w.sk[c.skOff:c.skOff+int(c.skLen)]...)
				o.sval = binary.AppendUvarint(o.sval, uint64(c.payLen))
				o.sval = append(o.sval, w.pay[c.payOff:c.payOff+int(c.payLen)]...)
			}
			if err := o.table.Put(o.skey, o.sval); err != nil {
				return fmt.Errorf("flush: write state: %w", err)
			}
		}
		o.flushed[k] = struct{}{}
		delete(o.windows, k)
		o.recycle(w)
	}
	o.buffered = 0
	return nil
}

// stateKey appends the key prefix of window k in key group kg to dst.
func (o *Operator) stateKey(dst []byte, kg int, k winKey) []byte {
	dst = state.KeyPrefix(dst, kg)
	dst = state.AppendInt64(dst, k.end)
	return state.AppendInt64(dst, k.start)
}

func (o *Operator) noteKeyGroup(kg int) {
	if o.foreign || o.oc.KeyGroups.Contains(kg) {
		return
	}
	o.foreign = true
	o.log.Warn("window_topn: a partition's key group is outside this subtask's range; the input is not partitioned by the partition keys",
		"operator", o.oc.OperatorID, "key_group", kg, "owned", o.oc.KeyGroups.String())
}

// mergeValue offers the candidates of an encoded state value to partition
// p of w.
func (o *Operator) mergeValue(w *window, p uint32, v []byte) error {
	if len(v) < 9 || v[0] != stateFormatVersion {
		return fmt.Errorf("%w: value of %d bytes", errCorrupt, len(v))
	}
	v = v[9:]
	n, k := binary.Uvarint(v)
	if k <= 0 {
		return fmt.Errorf("%w: bad candidate count", errCorrupt)
	}
	v = v[k:]
	for i := uint64(0); i < n; i++ {
		var seq uint64
		var sk, pay []byte
		var err error
		if seq, v, err = uvarint(v); err == nil {
			if sk, v, err = lenBytes(v); err == nil {
				pay, v, err = lenBytes(v)
			}
		}
		if err != nil {
			return fmt.Errorf("%w: candidate %d: %v", errCorrupt, i, err)
		}
		if id, ok := o.offer(w, p, sk, seq, false); ok {
			c := &w.cands[id]
			c.payOff, c.payLen = len(w.pay), int32(len(pay))
			w.pay = append(w.pay, pay...)
		}
	}
	if len(v) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(v))
	}
	return nil
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

// mergeState offers the state entries of window w, in every key group this
// subtask may have written, to w, then deletes them.
func (o *Operator) mergeState(w *window) error {
	r := o.oc.KeyGroups
	if o.foreign {
		r = keygroup.Range{Start: 0, End: o.oc.MaxParallelism}
	}
	for kg := r.Start; kg < r.End; kg++ {
		lo := o.stateKey(o.skey[:0], kg, w.key)
		o.skey = lo
		hi := state.PrefixEnd(lo)
		err := o.table.Scan(lo, hi, func(key, value []byte) error {
			if len(value) < 9 {
				return fmt.Errorf("%w: value of %d bytes", errCorrupt, len(value))
			}
			h := binary.LittleEndian.Uint64(value[1:])
			p, _, err := w.parts.FindOrInsertOne(h, key[len(lo):])
			if err != nil {
				return err
			}
			w.growParts(o.n)
			return o.mergeValue(w, p, value)
		})
		if err != nil {
			return fmt.Errorf("merge state of key group %d: %w", kg, err)
		}
		if err := o.table.DeleteRange(lo, hi); err != nil {
			return fmt.Errorf("delete fired state of key group %d: %w", kg, err)
		}
	}
	return nil
}
