package winbuf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/eddy-streaming/eddy/state"
)

// Snapshot writes every open window to the state table as one more delta
// (a spill: blind writes, no reads) and drops it from memory, so that the
// table then holds the buffer's whole state. A window in memory only ever
// holds what arrived since it was last written (a spill or the previous
// snapshot started it empty), so a snapshot writes exactly what changed
// since the previous one, a few large entries per window and key group,
// and windows nothing reached write nothing: the backend's snapshots stay
// incremental. Firing or taking a window merges its deltas back, as after
// any spill. Windows the operator owns outside the buffer go through
// SpillWindow.
func (b *Buffer[W]) Snapshot() error {
	b.keys = b.keys[:0]
	for k := range b.open {
		b.keys = append(b.keys, k)
	}
	slices.SortFunc(b.keys, Key.Compare)
	for _, k := range b.keys {
		if err := b.spillOpen(k, false); err != nil {
			return fmt.Errorf("%s %s: snapshot window [%d, %d): %w", b.cfg.Kind, b.oc.OperatorID, k.Start, k.End, err)
		}
	}
	return nil
}

// SpillWindow writes w, a window the caller owns (from New or Take), as a
// delta of window k, and resets w, which the caller keeps: Take(k) later
// returns what was written, merged. Operators use it at a snapshot for
// windows they keep outside the buffer (a running aggregate), under keys
// no buffered window uses.
func (b *Buffer[W]) SpillWindow(k Key, w W) error {
	if _, ok := b.open[k]; ok {
		return fmt.Errorf("%s %s: window [%d, %d) is open in the buffer", b.cfg.Kind, b.oc.OperatorID, k.Start, k.End)
	}
	if w.Groups().Len() == 0 {
		return nil
	}
	if err := b.write(k, w, false); err != nil {
		return fmt.Errorf("%s %s: write window [%d, %d): %w", b.cfg.Kind, b.oc.OperatorID, k.Start, k.End, err)
	}
	w.Reset()
	return nil
}

// HasSpilled reports whether window k has deltas in the state table.
func (b *Buffer[W]) HasSpilled(k Key) bool { return b.spilled[k] != nil }

// SpilledKeys appends the keys of every window with deltas in the state
// table to dst, in (End, Start) order.
func (b *Buffer[W]) SpilledKeys(dst []Key) []Key {
	at := len(dst)
	for k := range b.spilled {
		dst = append(dst, k)
	}
	slices.SortFunc(dst[at:], Key.Compare)
	return dst
}

// Restore rebuilds, with one scan of the state table, what the buffer
// remembers about spilled windows (which windows, the key groups each
// wrote into, the next chunk sequence), after the operator's RestoreState.
// The buffer must be empty. When visit is not nil it is called with every
// group's encoded state (Window.AppendState), for operators that derive
// bookkeeping from their state (it must not keep the slice).
func (b *Buffer[W]) Restore(visit func(k Key, st []byte) error) error {
	if len(b.open) > 0 || len(b.spilled) > 0 {
		return fmt.Errorf("%s %s: restore into a buffer that is not empty", b.cfg.Kind, b.oc.OperatorID)
	}
	next := int64(math.MaxInt64)
	err := b.table.Scan(nil, nil, func(key, value []byte) error {
		if len(key) != prefixLen+seqLen || len(value) < 1 || value[0] != b.cfg.Version {
			return fmt.Errorf("%w: key %x, value of %d bytes", errCorrupt, key, len(value))
		}
		kg, _ := state.KeyGroupOf(key)
		if kg >= b.oc.MaxParallelism {
			return fmt.Errorf("%w: key group %d of key %x is not below max parallelism %d", errCorrupt, kg, key, b.oc.MaxParallelism)
		}
		k := Key{End: state.DecodeInt64(key[2:]), Start: state.DecodeInt64(key[10:])}
		seq := binary.BigEndian.Uint32(key[prefixLen:])
		sp := b.spilled[k]
		if sp == nil {
			sp = &spill{kgs: make([]uint64, (b.oc.MaxParallelism+63)/64)}
			b.spilled[k] = sp
		}
		if seq == math.MaxUint32 {
			return fmt.Errorf("%w: chunk sequence %d", errCorrupt, seq)
		}
		sp.seq = max(sp.seq, seq+1)
		sp.kgs[kg/64] |= 1 << (kg % 64)
		next = min(next, k.End)
		if visit == nil {
			return nil
		}
		return eachGroup(value[1:], func(st []byte) error { return visit(k, st) })
	})
	if err != nil {
		return fmt.Errorf("%s %s: restore window buffer: %w", b.cfg.Kind, b.oc.OperatorID, err)
	}
	b.next = next
	return nil
}

// eachGroup calls fn with the state of every group of a chunk.
func eachGroup(v []byte, fn func(st []byte) error) error {
	for len(v) > 0 {
		if len(v) < 8 {
			return fmt.Errorf("%w: truncated group", errCorrupt)
		}
		kl, n := binary.Uvarint(v[8:])
		if n <= 0 || kl > uint64(len(v)-8-n) || len(v)-8-n-int(kl) < 4 {
			return fmt.Errorf("%w: truncated group key", errCorrupt)
		}
		v = v[8+n+int(kl):]
		sl := binary.LittleEndian.Uint32(v)
		v = v[4:]
		if uint64(sl) > uint64(len(v)) {
			return fmt.Errorf("%w: truncated group state", errCorrupt)
		}
		if err := fn(v[:sl]); err != nil {
			return err
		}
		v = v[sl:]
	}
	return nil
}

// SetWatermark sets the watermark of the last Fire, for a restored
// operator: windows ending at or before wm + 1 count as fired (rows for
// them are late) and the next Fire above wm fires the rest.
func (b *Buffer[W]) SetWatermark(wm int64) { b.wm = wm }

// Meta is an operator's per-subtask bookkeeping in keyed state: one small
// value in its own table, replicated under every key group the subtask
// owns and rewritten only when it changed since the previous snapshot.
// (Under the first key group alone, a subtask taking over part of another
// one's key groups after a rescale would find none.) After a rescale a
// subtask finds one value per old subtask among its key groups, which
// Scan hands to the operator to merge.
type Meta struct {
	b    metaHost
	tab  state.Table
	last []byte
	key  []byte
}

type metaHost interface {
	owned() (lo, hi int)
}

func (b *Buffer[W]) owned() (lo, hi int) { return b.oc.KeyGroups.Start, b.oc.KeyGroups.End }

// Meta opens the buffer's bookkeeping table (the buffer's table name plus
// ".meta").
func (b *Buffer[W]) Meta() (*Meta, error) {
	t, err := b.oc.State.Table(b.cfg.Table + ".meta")
	if err != nil {
		return nil, fmt.Errorf("open state table: %w", err)
	}
	return &Meta{b: b, tab: t}, nil
}

// Put writes value under every owned key group, unless it equals the value
// written last.
func (m *Meta) Put(value []byte) error {
	if m.last != nil && bytes.Equal(m.last, value) {
		return nil
	}
	lo, hi := m.b.owned()
	for kg := lo; kg < hi; kg++ {
		m.key = state.KeyPrefix(m.key[:0], kg)
		if err := m.tab.Put(m.key, value); err != nil {
			return fmt.Errorf("write operator bookkeeping: %w", err)
		}
	}
	m.last = append(m.last[:0], value...)
	return nil
}

// Scan calls fn with each distinct bookkeeping value stored under the owned
// key groups (one per old subtask after a rescale, one otherwise), in key
// group order, and remembers nothing: the next Put rewrites every key
// group.
func (m *Meta) Scan(fn func(value []byte) error) error {
	lo, hi := m.b.owned()
	var prev []byte
	var hiKey []byte
	if hi <= 0xffff {
		hiKey = state.KeyPrefix(nil, hi)
	}
	return m.tab.Scan(state.KeyPrefix(nil, lo), hiKey, func(key, value []byte) error {
		if prev != nil && bytes.Equal(prev, value) {
			return nil
		}
		prev = append(prev[:0], value...)
		return fn(prev)
	})
}
