package pebblestate

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cockroachdb/pebble/v2"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// copyBatchSize is the size at which a rescale's copy batches are
// committed.
const copyBatchSize = 4 << 20

// Restore implements checkpoint.RestoringProvider. handles are the
// snapshots of the old subtasks whose key groups overlap scope's; with none
// the backend starts empty.
func (p *Provider) Restore(ctx context.Context, scope state.Scope, st checkpoint.Storage, handles []*checkpoint.BackendHandle) (state.Backend, error) {
	if len(handles) == 0 {
		return p.Open(ctx, scope)
	}
	if scope.KeyGroups.Len() <= 0 {
		return nil, fmt.Errorf("pebblestate: restoring %s: the scope has no key groups", scope)
	}
	ranges := make([]keygroup.Range, len(handles))
	base, best := 0, -1
	for i, h := range handles {
		r, err := checkHandle(h, scope)
		if err != nil {
			return nil, fmt.Errorf("pebblestate: restoring %s: handle %d: %w", scope, i, err)
		}
		ranges[i] = r
		if n := overlap(r, scope.KeyGroups).Len(); n > best {
			base, best = i, n
		}
	}
	b, err := p.newBackend(scope)
	if err != nil {
		return nil, err
	}
	if err := b.restore(ctx, st, handles, ranges, base); err != nil {
		b.abandon()
		return nil, fmt.Errorf("pebblestate: restoring %s: %w", scope, err)
	}
	return b, nil
}

// checkHandle validates a handle for scope and returns its key groups.
func checkHandle(h *checkpoint.BackendHandle, scope state.Scope) (keygroup.Range, error) {
	if h == nil {
		return keygroup.Range{}, fmt.Errorf("nil handle")
	}
	if h.Kind != Kind {
		return keygroup.Range{}, fmt.Errorf("handle of kind %q, not %q", h.Kind, Kind)
	}
	num := func(key string) (int, error) {
		v, ok := h.Meta[key]
		if !ok {
			return 0, fmt.Errorf("handle meta lacks %q", key)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("handle meta %q = %q is not a count", key, v)
		}
		return n, nil
	}
	var r keygroup.Range
	var maxP int
	var err error
	if r.Start, err = num(MetaKeyGroupStart); err != nil {
		return r, err
	}
	if r.End, err = num(MetaKeyGroupEnd); err != nil {
		return r, err
	}
	if maxP, err = num(MetaMaxParallelism); err != nil {
		return r, err
	}
	if r.End < r.Start {
		return r, fmt.Errorf("handle key groups %s are reversed", r)
	}
	if maxP != scope.MaxParallelism {
		return r, fmt.Errorf("handle was written at max parallelism %d, the job runs at %d", maxP, scope.MaxParallelism)
	}
	if len(h.Files) == 0 {
		return r, fmt.Errorf("handle has no files")
	}
	return r, nil
}

// overlap returns the intersection of two key-group ranges (empty: Len 0).
func overlap(a, b keygroup.Range) keygroup.Range {
	r := keygroup.Range{Start: max(a.Start, b.Start), End: min(a.End, b.End)}
	if r.End < r.Start {
		r.End = r.Start
	}
	return r
}

// restore fills a new backend from handles: handles[base] becomes the
// database (clipped to the scope's key groups unless they are equal) and
// the scope's key groups of the others are copied in.
func (b *Backend) restore(ctx context.Context, st checkpoint.Storage, handles []*checkpoint.BackendHandle, ranges []keygroup.Range, base int) error {
	refs, err := download(ctx, st, handles[base], b.dbDir)
	if err != nil {
		return fmt.Errorf("handle %d: %w", base, err)
	}
	if err := b.openDB(true); err != nil {
		return fmt.Errorf("handle %d: %w", base, err)
	}
	// The restored data files are in storage already: Persist reuses them.
	b.mu.Lock()
	for local, ref := range refs {
		if immutable(local) {
			b.known[local] = ref
		}
	}
	b.mu.Unlock()
	want := b.scope.KeyGroups
	if ranges[base] != want {
		if err := b.clip(); err != nil {
			return fmt.Errorf("handle %d: %w", base, err)
		}
	}
	for i, h := range handles {
		if i == base || overlap(ranges[i], want).Len() == 0 {
			continue
		}
		if err := b.copyFrom(ctx, st, i, h, overlap(ranges[i], want)); err != nil {
			return fmt.Errorf("handle %d: %w", i, err)
		}
	}
	return b.commit()
}

// tableSpan returns the database keys [lo, hi) of key groups r in the
// table with the given id prefix.
func tableSpan(prefix []byte, r keygroup.Range) (lo, hi []byte) {
	lo = state.KeyPrefix(append([]byte(nil), prefix...), r.Start)
	if r.End >= 1<<16 {
		return lo, state.PrefixEnd(prefix)
	}
	return lo, state.KeyPrefix(append([]byte(nil), prefix...), r.End)
}

// clip range-deletes, in every table, the key groups outside the scope's.
func (b *Backend) clip() error {
	w := b.db.NewBatch()
	defer w.Close()
	want := b.scope.KeyGroups
	for _, t := range b.tables {
		lo, _ := tableSpan(t.prefix[:], keygroup.Range{Start: want.Start, End: want.Start})
		_, hi := tableSpan(t.prefix[:], keygroup.Range{Start: want.End, End: want.End})
		if err := w.DeleteRange(t.prefix[:], lo, nil); err != nil {
			return fmt.Errorf("clipping table %q: %w", t.name, err)
		}
		if err := w.DeleteRange(hi, t.end, nil); err != nil {
			return fmt.Errorf("clipping table %q: %w", t.name, err)
		}
	}
	if err := w.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("clipping to key groups %s: %w", want, err)
	}
	return nil
}

// copyFrom downloads handle h into a temporary directory, opens it read-only
// and copies the keys of key groups r of each of its tables into b (by
// table name: ids differ between databases), then deletes the temporary.
func (b *Backend) copyFrom(ctx context.Context, st checkpoint.Storage, i int, h *checkpoint.BackendHandle, r keygroup.Range) (err error) {
	dir := filepath.Join(b.dir, fmt.Sprintf("restore-%d", i))
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = fmt.Errorf("removing %s: %w", dir, rerr)
		}
	}()
	if _, err := download(ctx, st, h, dir); err != nil {
		return err
	}
	opts := b.p.options(true)
	opts.ErrorIfNotExists = true
	src, err := pebble.Open(dir, opts)
	if err != nil {
		return fmt.Errorf("opening restored database: %w", err)
	}
	defer func() {
		if cerr := src.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing restored database: %w", cerr)
		}
	}()
	cat, err := readCatalog(src)
	if err != nil {
		return err
	}
	w := b.db.NewBatch()
	defer func() { _ = w.Close() }()
	for name, oldID := range cat {
		t, err := b.table(name)
		if err != nil {
			return err
		}
		lo, hi := tableSpan(binary.BigEndian.AppendUint16(nil, oldID), r)
		it, err := src.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return fmt.Errorf("table %q: %w", name, err)
		}
		for valid := it.First(); valid; valid = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				_ = it.Close()
				return fmt.Errorf("table %q: reading: %w", name, err)
			}
			if err := w.Set(t.full(it.Key()[tableIDLen:]), v, nil); err != nil {
				_ = it.Close()
				return fmt.Errorf("table %q: %w", name, err)
			}
			if w.Len() >= copyBatchSize {
				if err := ctx.Err(); err != nil {
					_ = it.Close()
					return err
				}
				if err := w.Commit(pebble.NoSync); err != nil {
					_ = it.Close()
					return fmt.Errorf("table %q: writing: %w", name, err)
				}
				w.Reset()
			}
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("table %q: reading: %w", name, err)
		}
	}
	// The table catalog entries are in b.batch: commit them with the keys.
	if err := b.commit(); err != nil {
		return err
	}
	if err := w.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	return nil
}

// download writes a handle's files into dir (created), verifying each
// file's size and SHA-256, and returns the references by local name.
func download(ctx context.Context, st checkpoint.Storage, h *checkpoint.BackendHandle, dir string) (map[string]checkpoint.FileRef, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	refs := make(map[string]checkpoint.FileRef, len(h.Files))
	for _, ref := range h.Files {
		local, err := localName(ref.Name)
		if err != nil {
			return nil, err
		}
		if _, dup := refs[local]; dup {
			return nil, fmt.Errorf("two shared files are local file %s", local)
		}
		if err := downloadFile(ctx, st, ref, filepath.Join(dir, local)); err != nil {
			return nil, fmt.Errorf("shared file %s: %w", ref.Name, err)
		}
		refs[local] = ref
	}
	return refs, nil
}

func downloadFile(ctx context.Context, st checkpoint.Storage, ref checkpoint.FileRef, path string) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	r, err := st.OpenShared(ctx, ref.Name)
	if err != nil {
		return fmt.Errorf("opening: %w", err)
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	h := sha256.New()
	// Read one byte past the size to notice a file that is too long.
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, ref.Size+1))
	if err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	if n != ref.Size {
		if n > ref.Size {
			return fmt.Errorf("is longer than the %d bytes recorded for it", ref.Size)
		}
		return fmt.Errorf("has %d bytes, %d recorded for it (truncated?)", n, ref.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != ref.SHA256 {
		return fmt.Errorf("SHA-256 %s differs from the %s recorded for it (corrupt)", sum, ref.SHA256)
	}
	return nil
}
