package pebblestate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// Keys of BackendHandle.Meta.
const (
	MetaDBID           = "db_id"
	MetaCheckpointID   = "checkpoint_id"
	MetaKeyGroupStart  = "key_group_start"
	MetaKeyGroupEnd    = "key_group_end"
	MetaMaxParallelism = "max_parallelism"
)

// sharedPrefix starts the storage name of every file this backend writes:
// "pebble-<id>-<local name>", where id is the database instance's id for
// immutable data files and the content's SHA-256 for the others.
const sharedPrefix = "pebble-"

// immutable reports whether a local Pebble file never changes once written
// (data files); other files (MANIFEST, OPTIONS, markers, logs) may.
func immutable(local string) bool {
	return strings.HasSuffix(local, ".sst") || strings.HasSuffix(local, ".blob")
}

// localName returns the local file name encoded in a shared name, checking
// that it is a plain file name.
func localName(shared string) (string, error) {
	parts := strings.SplitN(shared, "-", 3)
	if len(parts) != 3 || parts[0]+"-" != sharedPrefix || parts[1] == "" {
		return "", fmt.Errorf("shared file %q is not named %s<id>-<file>", shared, sharedPrefix)
	}
	local := parts[2]
	if local == "" || local == "." || local == ".." || strings.ContainsAny(local, `/\`) || filepath.Base(local) != local {
		return "", fmt.Errorf("shared file %q names the local file %q, which is not a plain file name", shared, local)
	}
	return local, nil
}

// Snapshot implements checkpoint.SnapshotBackend: it commits the write
// batch, flushes the memtable and takes a Pebble checkpoint (hard links)
// into a directory of its own.
func (b *Backend) Snapshot(ctx context.Context, checkpointID int64) (checkpoint.Snapshot, error) {
	if b.closed {
		return nil, fmt.Errorf("pebblestate: %s: snapshot %d: backend is closed", b.scope, checkpointID)
	}
	if b.iters > 0 {
		return nil, fmt.Errorf("pebblestate: %s: snapshot %d: taken inside a Scan", b.scope, checkpointID)
	}
	if err := b.commit(); err != nil {
		return nil, fmt.Errorf("pebblestate: %s: snapshot %d: %w", b.scope, checkpointID, err)
	}
	if err := b.db.Flush(); err != nil {
		return nil, fmt.Errorf("pebblestate: %s: snapshot %d: flushing memtable: %w", b.scope, checkpointID, err)
	}
	b.snapSeq++
	dir := filepath.Join(b.dir, fmt.Sprintf("snap-%d-%d", checkpointID, b.snapSeq))
	if err := b.db.Checkpoint(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("pebblestate: %s: snapshot %d: pebble checkpoint: %w", b.scope, checkpointID, err)
	}
	b.ref()
	return &Snapshot{b: b, id: checkpointID, dir: dir}, nil
}

// Snapshot is a frozen view of a backend: a Pebble checkpoint directory.
type Snapshot struct {
	b   *Backend
	id  int64
	dir string

	mu       sync.Mutex
	released bool
	stats    PersistStats
}

// PersistStats counts what a Persist uploaded and what it found stored.
type PersistStats struct {
	Files, UploadedFiles int
	Bytes, UploadedBytes int64
}

// Stats returns the counts of the last Persist.
func (s *Snapshot) Stats() PersistStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Persist implements checkpoint.Snapshot. It uploads the checkpoint's
// files that st does not hold yet and returns their handle. It may run on
// any goroutine, concurrently with the backend's use.
func (s *Snapshot) Persist(ctx context.Context, st checkpoint.Storage) (*checkpoint.BackendHandle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return nil, fmt.Errorf("pebblestate: %s: persisting snapshot %d: released", s.b.scope, s.id)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("pebblestate: %s: persisting snapshot %d: %w", s.b.scope, s.id, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	h := &checkpoint.BackendHandle{
		Kind: Kind,
		Meta: map[string]string{
			MetaDBID:           s.b.dbID,
			MetaCheckpointID:   strconv.FormatInt(s.id, 10),
			MetaKeyGroupStart:  strconv.Itoa(s.b.scope.KeyGroups.Start),
			MetaKeyGroupEnd:    strconv.Itoa(s.b.scope.KeyGroups.End),
			MetaMaxParallelism: strconv.Itoa(s.b.scope.MaxParallelism),
		},
	}
	var stats PersistStats
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pebblestate: %s: persisting snapshot %d: %w", s.b.scope, s.id, err)
		}
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("pebblestate: %s: persisting snapshot %d: %s is not a regular file", s.b.scope, s.id, e.Name())
		}
		ref, uploaded, err := s.persistFile(ctx, st, e.Name())
		if err != nil {
			return nil, fmt.Errorf("pebblestate: %s: persisting snapshot %d: file %s: %w", s.b.scope, s.id, e.Name(), err)
		}
		h.Files = append(h.Files, ref)
		stats.Files++
		stats.Bytes += ref.Size
		if uploaded {
			stats.UploadedFiles++
			stats.UploadedBytes += ref.Size
		}
	}
	s.stats = stats
	return h, nil
}

// persistFile uploads one local file unless storage has it, and returns
// its reference.
func (s *Snapshot) persistFile(ctx context.Context, st checkpoint.Storage, local string) (checkpoint.FileRef, bool, error) {
	path := filepath.Join(s.dir, local)
	fi, err := os.Stat(path)
	if err != nil {
		return checkpoint.FileRef{}, false, err
	}
	size := fi.Size()
	if !immutable(local) {
		// Named by content: hash first.
		sum, err := hashFile(path, size)
		if err != nil {
			return checkpoint.FileRef{}, false, err
		}
		ref := checkpoint.FileRef{Name: sharedPrefix + sum + "-" + local, Size: size, SHA256: sum}
		uploaded, err := upload(ctx, st, path, &ref)
		return ref, uploaded, err
	}
	s.b.mu.Lock()
	ref, ok := s.b.known[local]
	s.b.mu.Unlock()
	if ok && ref.Size != size {
		return checkpoint.FileRef{}, false, fmt.Errorf("size %d differs from the %d recorded for it", size, ref.Size)
	}
	if !ok {
		ref = checkpoint.FileRef{Name: sharedPrefix + s.b.dbID + "-" + local, Size: size}
	}
	uploaded, err := upload(ctx, st, path, &ref)
	if err != nil {
		return checkpoint.FileRef{}, false, err
	}
	if ref.SHA256 == "" {
		// Stored already (by an earlier Persist whose result was lost):
		// the hash comes from the local file.
		if ref.SHA256, err = hashFile(path, size); err != nil {
			return checkpoint.FileRef{}, false, err
		}
	}
	s.b.mu.Lock()
	s.b.known[local] = ref
	s.b.mu.Unlock()
	return ref, uploaded, nil
}

// upload stores the file at path as ref.Name unless st has it. It sets
// an empty ref.SHA256 from the bytes uploaded and checks them against a set
// one.
func upload(ctx context.Context, st checkpoint.Storage, path string, ref *checkpoint.FileRef) (bool, error) {
	has, err := st.HasShared(ctx, ref.Name, ref.Size)
	if err != nil {
		return false, fmt.Errorf("checking storage for %s: %w", ref.Name, err)
	}
	if has {
		return false, nil
	}
	return true, uploadFile(ctx, st, path, ref)
}

// uploadFile writes the file to storage, hashing what it sends.
func uploadFile(ctx context.Context, st checkpoint.Storage, path string, ref *checkpoint.FileRef) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := &hashingReader{r: f, h: sha256.New()}
	if err := st.PutShared(ctx, ref.Name, ref.Size, cr); err != nil {
		return fmt.Errorf("storing %s: %w", ref.Name, err)
	}
	if cr.n != ref.Size {
		return fmt.Errorf("storing %s: storage read %d of its %d bytes", ref.Name, cr.n, ref.Size)
	}
	sum := hex.EncodeToString(cr.h.Sum(nil))
	if ref.SHA256 != "" && sum != ref.SHA256 {
		return fmt.Errorf("storing %s: SHA-256 %s of the uploaded bytes differs from %s", ref.Name, sum, ref.SHA256)
	}
	ref.SHA256 = sum
	return nil
}

// hashingReader hashes and counts what is read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	return n, err
}

// hashFile returns the hex SHA-256 of a file, checking its size.
func hashFile(path string, size int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", fmt.Errorf("hashing: %w", err)
	}
	if n != size {
		return "", fmt.Errorf("hashing: read %d bytes, expected %d", n, size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Release implements checkpoint.Snapshot: it removes the checkpoint
// directory. Releasing twice is a no-op.
func (s *Snapshot) Release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return nil
	}
	s.released = true
	err := os.RemoveAll(s.dir)
	if uerr := s.b.unref(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("pebblestate: %s: releasing snapshot %d: %w", s.b.scope, s.id, err)
	}
	return nil
}
