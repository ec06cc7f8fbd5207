package state

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Backend is the keyed state of one operator subtask. It is used from the
// subtask's goroutine only.
type Backend interface {
	// Table returns the table called name, creating it empty on first use.
	// The same name always returns the same table.
	Table(name string) (Table, error)
	// Close releases the backend. Tables must not be used afterwards.
	Close() error
}

// Table is an ordered map from byte keys to byte values. Keys are compared
// bytewise; every key starts with a key group (KeyPrefix).
//
// Slices passed in are not retained: the table copies what it keeps. Slices
// handed out (by Get and to Scan's callback) are valid only until the next
// call that modifies the table.
type Table interface {
	// Get returns the value stored under key.
	Get(key []byte) (value []byte, ok bool, err error)
	// Put stores value under key, replacing any previous value.
	Put(key, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key []byte) error
	// Scan calls fn for each entry with lo <= key < hi, in key order, until
	// fn returns an error (which Scan returns). A nil hi means no upper bound.
	// fn must not modify the table.
	Scan(lo, hi []byte, fn func(key, value []byte) error) error
	// DeleteRange removes every key with lo <= key < hi.
	DeleteRange(lo, hi []byte) error
}

// Scope says whose state a backend holds: one subtask of one operator.
type Scope struct {
	Job        string
	OperatorID string
	Subtask    int
	// KeyGroups are the key groups the subtask owns.
	KeyGroups keygroup.Range
	// MaxParallelism is the job's number of key groups.
	MaxParallelism int
}

// String renders the scope for logs and errors.
func (s Scope) String() string {
	return fmt.Sprintf("%s/%s#%d%s", s.Job, s.OperatorID, s.Subtask, s.KeyGroups)
}

// Provider opens backends. The runtime holds one per job.
type Provider interface {
	Open(ctx context.Context, scope Scope) (Backend, error)
}

// KeyGroupLen is the length of the key-group prefix of every key.
const KeyGroupLen = 2

// KeyPrefix appends key group kg, big-endian, to dst. Every state key starts
// with it, so the keys of one key group are contiguous and ordered.
func KeyPrefix(dst []byte, kg int) []byte {
	return binary.BigEndian.AppendUint16(dst, uint16(kg))
}

// KeyGroupOf returns the key group a key starts with.
func KeyGroupOf(key []byte) (int, error) {
	if len(key) < KeyGroupLen {
		return 0, fmt.Errorf("state: key %x is shorter than its key group", key)
	}
	return int(binary.BigEndian.Uint16(key)), nil
}

// AppendInt64 appends v to dst so that bytewise order is numeric order
// (big-endian with the sign bit flipped). Use it for time components of keys,
// such as a window's end.
func AppendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63))
}

// DecodeInt64 reads a value written by AppendInt64.
func DecodeInt64(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// PrefixEnd returns the smallest key greater than every key with prefix p
// (the exclusive upper bound of a prefix scan), or nil if there is none.
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// MemoryResident is implemented by backends that keep all their data in
// memory (memstate): moving an operator's working state into one saves no
// memory.
type MemoryResident interface {
	// InMemory reports whether the backend's data lives in memory.
	InMemory() bool
}

// InMemory reports whether b keeps its data in memory (see
// MemoryResident).
func InMemory(b Backend) bool {
	m, ok := b.(MemoryResident)
	return ok && m.InMemory()
}

// BatchReader is implemented by tables that read many keys faster together
// than one call at a time (Pebble: one iterator for all of them, moving
// forward). Keys and prefixes must be sorted in ascending bytewise order.
// The slices handed to fn are valid only until fn returns; fn must not
// modify the table.
type BatchReader interface {
	// GetMany calls fn(i, value) for each keys[i] the table holds.
	GetMany(keys [][]byte, fn func(i int, value []byte) error) error
	// ScanPrefixes calls fn(i, key, value) for each entry whose key begins
	// with prefixes[i], prefix after prefix, in key order. Prefixes must
	// not be prefixes of one another.
	ScanPrefixes(prefixes [][]byte, fn func(i int, key, value []byte) error) error
}

// GetMany reads keys (sorted ascending) from t, through BatchReader when t
// implements it and key by key otherwise; see BatchReader.GetMany.
func GetMany(t Table, keys [][]byte, fn func(i int, value []byte) error) error {
	if br, ok := t.(BatchReader); ok {
		return br.GetMany(keys, fn)
	}
	for i, k := range keys {
		v, ok, err := t.Get(k)
		if err != nil {
			return err
		}
		if ok {
			if err := fn(i, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// ScanPrefixes scans the entries under each of prefixes (sorted
// ascending) from t, through BatchReader when t implements it and prefix by
// prefix otherwise; see BatchReader.ScanPrefixes.
func ScanPrefixes(t Table, prefixes [][]byte, fn func(i int, key, value []byte) error) error {
	if br, ok := t.(BatchReader); ok {
		return br.ScanPrefixes(prefixes, fn)
	}
	for i, p := range prefixes {
		err := t.Scan(p, PrefixEnd(p), func(k, v []byte) error { return fn(i, k, v) })
		if err != nil {
			return err
		}
	}
	return nil
}
