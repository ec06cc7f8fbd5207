package windowagg

import (
	"encoding/binary"
	"fmt"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// State layout, in table "window_agg.v1":
//
//	key   = key group (state.KeyPrefix) | slice end (state.AppendInt64) | encoded group key (rowkey)
//	value = format version (1) | key hash (8 bytes LE) | each aggregate's state (agg.Accumulator.AppendState)
//
// The key hash is keygroup.HashColumns over the group key columns, the same
// hash the buffer's hash table and the hash exchange use, so merged entries
// go straight back into the table.

// flush moves every buffered group into the state table, merging with what
// is already there, and empties the buffer.
func (o *Operator) flush() error {
	maxP := o.oc.MaxParallelism
	for end, s := range o.slices {
		_, had := o.flushed[end]
		data, offs := s.table.Arena()
		for g, h := range s.table.Hashes() {
			kg := keygroup.Of(h, maxP)
			o.noteKeyGroup(kg)
			o.skey = state.KeyPrefix(o.skey[:0], kg)
			o.skey = state.AppendInt64(o.skey, end)
			o.skey = append(o.skey, data[offs[g]:offs[g+1]]...)
			if had {
				old, ok, err := o.table.Get(o.skey)
				if err != nil {
					return fmt.Errorf("flush: read state: %w", err)
				}
				if ok {
					if err := o.mergeValue(s, uint32(g), old); err != nil {
						return fmt.Errorf("flush: %w", err)
					}
				}
			}
			o.sval = append(o.sval[:0], stateFormatVersion)
			o.sval = binary.LittleEndian.AppendUint64(o.sval, h)
			for _, a := range s.accs {
				o.sval = a.AppendState(o.sval, uint32(g))
			}
			if err := o.table.Put(o.skey, o.sval); err != nil {
				return fmt.Errorf("flush: write state: %w", err)
			}
		}
		o.flushed[end] = struct{}{}
		delete(o.slices, end)
		o.recycle(s)
	}
	o.buffered = 0
	return nil
}

// noteKeyGroup remembers a group whose key group this subtask does not own
// (the exchange in front hashed on other columns): fire-time scans then
// cover every key group instead of the owned ones.
func (o *Operator) noteKeyGroup(kg int) {
	if o.foreign || o.oc.KeyGroups.Contains(kg) {
		return
	}
	o.foreign = true
	o.log.Warn("window_agg: a group's key group is outside this subtask's range; the input is not partitioned by the group keys",
		"operator", o.oc.OperatorID, "key_group", kg, "owned", o.oc.KeyGroups.String())
}

// mergeValue folds an encoded state value into group g of s.
func (o *Operator) mergeValue(s *slice, g uint32, v []byte) error {
	if len(v) < stateValueHeaderBytes || v[0] != stateFormatVersion {
		return fmt.Errorf("%w: value of %d bytes, format %v", errCorrupt, len(v), firstByte(v))
	}
	v = v[stateValueHeaderBytes:]
	for i, a := range s.accs {
		var err error
		if v, err = a.MergeState(g, v); err != nil {
			return fmt.Errorf("%w: aggregate %d: %v", errCorrupt, i, err)
		}
	}
	if len(v) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(v))
	}
	return nil
}

func firstByte(v []byte) any {
	if len(v) == 0 {
		return "none"
	}
	return v[0]
}

// mergeState folds the state entries of slice s.end, in every key group
// this subtask may have written, into s, then deletes them.
func (o *Operator) mergeState(s *slice) error {
	r := o.oc.KeyGroups
	if o.foreign {
		r = keygroup.Range{Start: 0, End: o.oc.MaxParallelism}
	}
	for kg := r.Start; kg < r.End; kg++ {
		lo := state.AppendInt64(state.KeyPrefix(o.skey[:0], kg), s.end)
		o.skey = lo
		hi := state.PrefixEnd(lo)
		err := o.table.Scan(lo, hi, func(key, value []byte) error {
			if len(value) < stateValueHeaderBytes {
				return fmt.Errorf("%w: value of %d bytes", errCorrupt, len(value))
			}
			h := binary.LittleEndian.Uint64(value[1:])
			g, _, err := s.table.FindOrInsertOne(h, key[len(lo):])
			if err != nil {
				return err
			}
			for _, a := range s.accs {
				a.Grow(s.table.Len())
			}
			return o.mergeValue(s, g, value)
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
