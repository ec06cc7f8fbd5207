package pebblestate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// tableIDLen is the length of the table id that prefixes every key of a
// table. Id 0 is the catalog: catalog keys are {0, 0} + table name, values
// the table's id.
const tableIDLen = 2

// maxTableID bounds table ids so that every table's key space has a finite
// upper bound.
const maxTableID = 0xfffe

// maxBatchRangeDels bounds the range deletions in the write batch before it
// is committed.
const maxBatchRangeDels = 256

// Backend is a state.Backend and checkpoint.SnapshotBackend over one Pebble
// database. Like every state.Backend it is used from one goroutine; its
// snapshots may be persisted and released from others.
type Backend struct {
	p     *Provider
	scope state.Scope
	dir   string // working directory: db/, snap-*/, restore-*/
	dbDir string
	// dbID names this database instance's data files in storage.
	dbID string

	db        *pebble.DB
	batch     *pebble.Batch // write buffer, committed before reads
	rangeDels int
	iters     int // open Scan iterators: the batch is not committed under them
	tables    map[string]*Table
	nextID    uint16
	snapSeq   int
	closed    bool

	mu sync.Mutex // guards what snapshots share with the backend:
	// refs counts the backend (until Close) and its unreleased snapshots;
	// the working directory is removed when it drops to zero.
	refs int
	// known are the storage references of immutable local data files,
	// by local file name: set when a file is uploaded or restored.
	known map[string]checkpoint.FileRef
}

// Scope returns the scope the backend was opened for.
func (b *Backend) Scope() state.Scope { return b.scope }

// Dir returns the backend's working directory.
func (b *Backend) Dir() string { return b.dir }

// openDB opens (creating, unless mustExist) the database in b.dbDir, starts
// the write batch and loads the table catalog.
func (b *Backend) openDB(mustExist bool) error {
	opts := b.p.options(false)
	opts.ErrorIfNotExists = mustExist
	db, err := pebble.Open(b.dbDir, opts)
	if err != nil {
		return fmt.Errorf("pebblestate: %s: opening database: %w", b.scope, err)
	}
	b.db = db
	// A plain (unindexed) batch: writes are blind appends, cheap; a read
	// commits the pending writes first (readable).
	b.batch = db.NewBatch()
	cat, err := readCatalog(db)
	if err != nil {
		return fmt.Errorf("pebblestate: %s: %w", b.scope, err)
	}
	b.nextID = 1
	for name, id := range cat {
		b.tables[name] = b.newTable(name, id)
		if id >= b.nextID {
			b.nextID = id + 1
		}
	}
	return nil
}

// readCatalog reads the table names and ids of a database.
func readCatalog(r pebble.Reader) (map[string]uint16, error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte{0, 0}, UpperBound: []byte{0, 1}})
	if err != nil {
		return nil, fmt.Errorf("reading table catalog: %w", err)
	}
	cat := map[string]uint16{}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("reading table catalog: %w", err)
		}
		if len(v) != tableIDLen {
			_ = it.Close()
			return nil, fmt.Errorf("table catalog entry %q has a %d-byte id", it.Key()[tableIDLen:], len(v))
		}
		cat[string(it.Key()[tableIDLen:])] = binary.BigEndian.Uint16(v)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("reading table catalog: %w", err)
	}
	return cat, nil
}

// Table implements state.Backend.
func (b *Backend) Table(name string) (state.Table, error) {
	t, err := b.table(name)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (b *Backend) table(name string) (*Table, error) {
	if t, ok := b.tables[name]; ok {
		return t, nil
	}
	if b.closed {
		return nil, fmt.Errorf("pebblestate: %s: table %q: backend is closed", b.scope, name)
	}
	if b.nextID > maxTableID {
		return nil, fmt.Errorf("pebblestate: %s: table %q: too many tables (%d)", b.scope, name, maxTableID)
	}
	id := b.nextID
	key := append([]byte{0, 0}, name...)
	if err := b.batch.Set(key, binary.BigEndian.AppendUint16(nil, id), nil); err != nil {
		return nil, fmt.Errorf("pebblestate: %s: creating table %q: %w", b.scope, name, err)
	}
	b.nextID++
	t := b.newTable(name, id)
	b.tables[name] = t
	return t, nil
}

func (b *Backend) newTable(name string, id uint16) *Table {
	t := &Table{b: b, name: name}
	binary.BigEndian.PutUint16(t.prefix[:], id)
	t.end = state.PrefixEnd(t.prefix[:])
	return t
}

// usable reports an error if the backend is closed.
func (b *Backend) usable(t *Table) error {
	if b.closed {
		return fmt.Errorf("pebblestate: %s: table %q: backend is closed", b.scope, t.name)
	}
	return nil
}

// maybeCommit commits the write batch once it is large (unless a Scan is
// iterating over it).
func (b *Backend) maybeCommit() error {
	if b.iters > 0 || (b.batch.Len() < b.p.cfg.BatchSize && b.rangeDels < maxBatchRangeDels) {
		return nil
	}
	return b.commit()
}

// readable commits the pending writes before a read, so the read sees
// them. Operators write in runs (spills, snapshots) and read in runs (window
// fires, restores), so this rarely commits small batches.
func (b *Backend) readable() error { return b.commit() }

// commit applies the write batch to the database and starts a new one.
func (b *Backend) commit() error {
	if b.batch.Empty() {
		return nil
	}
	if err := b.batch.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("pebblestate: %s: committing writes: %w", b.scope, err)
	}
	b.batch.Reset()
	b.rangeDels = 0
	return nil
}

// Close implements state.Backend. It closes the database and removes the
// working directory (once the snapshots taken are released). Closing twice
// is a no-op.
func (b *Backend) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	var errs []error
	if b.batch != nil {
		errs = append(errs, b.batch.Close())
	}
	if b.db != nil {
		errs = append(errs, b.db.Close())
	}
	b.tables = nil
	if err := os.RemoveAll(b.dbDir); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, b.unref())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pebblestate: %s: closing: %w", b.scope, err)
	}
	return nil
}

// abandon closes a backend that failed to open.
func (b *Backend) abandon() {
	_ = b.Close()
}

// ref and unref count the holders of the working directory.
func (b *Backend) ref() {
	b.mu.Lock()
	b.refs++
	b.mu.Unlock()
}

func (b *Backend) unref() error {
	b.mu.Lock()
	b.refs--
	last := b.refs == 0
	b.mu.Unlock()
	if last {
		if err := os.RemoveAll(b.dir); err != nil {
			return fmt.Errorf("removing working directory: %w", err)
		}
	}
	return nil
}

// Table is a state.Table: a key-prefixed namespace of a backend's database.
type Table struct {
	b      *Backend
	name   string
	prefix [tableIDLen]byte
	end    []byte // the exclusive upper bound of the table's keys
	key    []byte // scratch: prefix + user key
	arena  arena  // copies of what Get and Scan hand out
}

// full builds the database key of user key k in the scratch buffer.
func (t *Table) full(k []byte) []byte {
	t.key = append(append(t.key[:0], t.prefix[:]...), k...)
	return t.key
}

// Get implements state.Table.
func (t *Table) Get(key []byte) ([]byte, bool, error) {
	if err := t.b.usable(t); err != nil {
		return nil, false, err
	}
	if err := t.b.readable(); err != nil {
		return nil, false, err
	}
	v, closer, err := t.b.db.Get(t.full(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("pebblestate: %s: table %q: get %x: %w", t.b.scope, t.name, key, err)
	}
	out := t.arena.copy(v)
	if err := closer.Close(); err != nil {
		return nil, false, fmt.Errorf("pebblestate: %s: table %q: get %x: %w", t.b.scope, t.name, key, err)
	}
	return out, true, nil
}

// checkKey rejects keys without a key group or outside the backend's key
// groups: such state would be lost (or land at the wrong subtask) on a
// rescale.
func (t *Table) checkKey(key []byte) error {
	kg, err := state.KeyGroupOf(key)
	if err != nil {
		return fmt.Errorf("pebblestate: %s: table %q: %w", t.b.scope, t.name, err)
	}
	if r := t.b.scope.KeyGroups; r.Len() > 0 && !r.Contains(kg) {
		return fmt.Errorf("pebblestate: %s: table %q: key %x is in key group %d, outside the subtask's key groups %s", t.b.scope, t.name, key, kg, r)
	}
	return nil
}

// Put implements state.Table.
func (t *Table) Put(key, value []byte) error {
	if err := t.b.usable(t); err != nil {
		return err
	}
	if err := t.checkKey(key); err != nil {
		return err
	}
	if err := t.b.batch.Set(t.full(key), value, nil); err != nil {
		return fmt.Errorf("pebblestate: %s: table %q: put %x: %w", t.b.scope, t.name, key, err)
	}
	t.arena.reset()
	return t.b.maybeCommit()
}

// Delete implements state.Table.
func (t *Table) Delete(key []byte) error {
	if err := t.b.usable(t); err != nil {
		return err
	}
	if err := t.b.batch.Delete(t.full(key), nil); err != nil {
		return fmt.Errorf("pebblestate: %s: table %q: delete %x: %w", t.b.scope, t.name, key, err)
	}
	t.arena.reset()
	return t.b.maybeCommit()
}

// bounds returns the database key range of user keys [lo, hi) (hi nil:
// unbounded) in one new slice (an iterator keeps its bounds), and false if
// the range is empty.
func (t *Table) bounds(lo, hi []byte) (dlo, dhi []byte, ok bool) {
	if hi != nil && bytes.Compare(lo, hi) >= 0 {
		return nil, nil, false
	}
	buf := make([]byte, 0, 2*tableIDLen+len(lo)+len(hi)+1)
	buf = append(append(buf, t.prefix[:]...), lo...)
	dlo = buf[:len(buf):len(buf)]
	if hi == nil {
		return dlo, t.end, true
	}
	buf = append(append(buf, t.prefix[:]...), hi...)
	return dlo, buf[len(dlo):], true
}

// Scan implements state.Table. The slices passed to fn are copies owned by
// the table, valid until its next modification.
func (t *Table) Scan(lo, hi []byte, fn func(key, value []byte) error) error {
	if err := t.b.usable(t); err != nil {
		return err
	}
	dlo, dhi, ok := t.bounds(lo, hi)
	if !ok {
		return nil
	}
	if err := t.b.readable(); err != nil {
		return err
	}
	it, err := t.b.db.NewIter(&pebble.IterOptions{LowerBound: dlo, UpperBound: dhi})
	if err != nil {
		return fmt.Errorf("pebblestate: %s: table %q: scan: %w", t.b.scope, t.name, err)
	}
	t.b.iters++
	defer func() { t.b.iters-- }()
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return fmt.Errorf("pebblestate: %s: table %q: scan: %w", t.b.scope, t.name, err)
		}
		k := t.arena.copy(it.Key()[tableIDLen:])
		if err := fn(k, t.arena.copy(v)); err != nil {
			_ = it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("pebblestate: %s: table %q: scan: %w", t.b.scope, t.name, err)
	}
	return nil
}

// GetMany implements state.BatchReader: one iterator seeks to every key in
// turn (forward seeks reuse the iterator's position, and the prefix seeks
// consult the tables' bloom filters, so absent keys are cheap).
func (t *Table) GetMany(keys [][]byte, fn func(i int, value []byte) error) error {
	return t.many("get", keys, func(it *pebble.Iterator, i int, full []byte) error {
		if !it.SeekPrefixGE(full) || !bytes.Equal(it.Key(), full) {
			return nil
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		return fn(i, v)
	})
}

// ScanPrefixes implements state.BatchReader: one iterator seeks to every
// prefix in turn and walks its entries.
func (t *Table) ScanPrefixes(prefixes [][]byte, fn func(i int, key, value []byte) error) error {
	return t.many("scan prefixes", prefixes, func(it *pebble.Iterator, i int, full []byte) error {
		for valid := it.SeekGE(full); valid && bytes.HasPrefix(it.Key(), full); valid = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				return err
			}
			if err := fn(i, it.Key()[tableIDLen:], v); err != nil {
				return err
			}
		}
		return nil
	})
}

// many runs each over keys (sorted ascending) with one iterator over the
// table, passing each key with the table's prefix.
func (t *Table) many(what string, keys [][]byte, each func(it *pebble.Iterator, i int, full []byte) error) error {
	if err := t.b.usable(t); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) > 0 {
			return fmt.Errorf("pebblestate: %s: table %q: %s: keys are not sorted (%x before %x)", t.b.scope, t.name, what, keys[i-1], keys[i])
		}
	}
	if err := t.b.readable(); err != nil {
		return err
	}
	it, err := t.b.db.NewIter(&pebble.IterOptions{LowerBound: t.prefix[:], UpperBound: t.end})
	if err != nil {
		return fmt.Errorf("pebblestate: %s: table %q: %s: %w", t.b.scope, t.name, what, err)
	}
	t.b.iters++
	defer func() { t.b.iters-- }()
	for i, k := range keys {
		if err := each(it, i, t.full(k)); err != nil {
			_ = it.Close()
			return fmt.Errorf("pebblestate: %s: table %q: %s: %w", t.b.scope, t.name, what, err)
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("pebblestate: %s: table %q: %s: %w", t.b.scope, t.name, what, err)
	}
	return nil
}

// DeleteRange implements state.Table (a nil hi means no upper bound). It
// writes one range deletion.
func (t *Table) DeleteRange(lo, hi []byte) error {
	if err := t.b.usable(t); err != nil {
		return err
	}
	dlo, dhi, ok := t.bounds(lo, hi)
	if !ok {
		return nil
	}
	if err := t.b.batch.DeleteRange(dlo, dhi, nil); err != nil {
		return fmt.Errorf("pebblestate: %s: table %q: delete range [%x, %x): %w", t.b.scope, t.name, lo, hi, err)
	}
	t.b.rangeDels++
	t.arena.reset()
	return t.b.maybeCommit()
}

// arena holds copies of the keys and values a table hands out. Handed-out
// slices stay valid until the table is next modified (reset); a chunk is
// never overwritten before that, and full chunks are left to the garbage
// collector, so memory is bounded by what callers keep.
type arena struct{ buf []byte }

const arenaChunk = 64 << 10

func (a *arena) copy(b []byte) []byte {
	if len(b) > cap(a.buf)-len(a.buf) {
		if len(b) > arenaChunk/4 {
			return append(make([]byte, 0, len(b)), b...)
		}
		a.buf = make([]byte, 0, arenaChunk)
	}
	s := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[s:len(a.buf):len(a.buf)]
}

func (a *arena) reset() { a.buf = a.buf[:0] }
