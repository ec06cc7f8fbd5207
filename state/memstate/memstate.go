package memstate

import (
	"bytes"
	"context"

	"github.com/google/btree"

	"github.com/eddy-streaming/eddy/state"
)

// Provider opens in-memory backends.
type Provider struct{}

// Open implements state.Provider.
func (Provider) Open(ctx context.Context, scope state.Scope) (state.Backend, error) {
	return New(), nil
}

// Backend is an in-memory state.Backend.
type Backend struct {
	tables map[string]*Table
}

// New returns an empty backend.
func New() *Backend { return &Backend{tables: map[string]*Table{}} }

// Table implements state.Backend.
func (b *Backend) Table(name string) (state.Table, error) {
	t, ok := b.tables[name]
	if !ok {
		t = &Table{tree: btree.NewG(32, less)}
		b.tables[name] = t
	}
	return t, nil
}

// InMemory implements state.MemoryResident: a memstate backend keeps
// everything in memory.
func (b *Backend) InMemory() bool { return true }

// Close implements state.Backend.
func (b *Backend) Close() error {
	b.tables = nil
	return nil
}

type entry struct {
	key, value []byte
}

func less(a, b entry) bool { return bytes.Compare(a.key, b.key) < 0 }

// Table is an in-memory state.Table.
type Table struct {
	tree *btree.BTreeG[entry]
}

// Len returns the number of entries.
func (t *Table) Len() int { return t.tree.Len() }

// Get implements state.Table.
func (t *Table) Get(key []byte) ([]byte, bool, error) {
	e, ok := t.tree.Get(entry{key: key})
	return e.value, ok, nil
}

// Put implements state.Table. It descends the tree once (no lookup before
// the insert) and copies key and value into one allocation.
func (t *Table) Put(key, value []byte) error {
	buf := make([]byte, len(key)+len(value))
	n := copy(buf, key)
	copy(buf[n:], value)
	t.tree.ReplaceOrInsert(entry{key: buf[:n:n], value: buf[n:]})
	return nil
}

// Delete implements state.Table.
func (t *Table) Delete(key []byte) error {
	t.tree.Delete(entry{key: key})
	return nil
}

// Scan implements state.Table.
func (t *Table) Scan(lo, hi []byte, fn func(key, value []byte) error) error {
	var err error
	visit := func(e entry) bool {
		err = fn(e.key, e.value)
		return err == nil
	}
	if hi == nil {
		t.tree.AscendGreaterOrEqual(entry{key: lo}, visit)
	} else {
		t.tree.AscendRange(entry{key: lo}, entry{key: hi}, visit)
	}
	return err
}

// DeleteRange implements state.Table.
func (t *Table) DeleteRange(lo, hi []byte) error {
	var doomed []entry
	_ = t.Scan(lo, hi, func(k, v []byte) error {
		doomed = append(doomed, entry{key: k})
		return nil
	})
	for _, e := range doomed {
		t.tree.Delete(e)
	}
	return nil
}

var (
	_ state.Provider = Provider{}
	_ state.Backend  = (*Backend)(nil)
	_ state.Table    = (*Table)(nil)
)
