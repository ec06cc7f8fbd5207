package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultRetain is how many complete checkpoints a DirStorage keeps when
// not told otherwise.
const DefaultRetain = 3

// DefaultPendingGrace is how long a DirStorage protects a shared file that
// was stored or found (PutShared, HasShared) but is not yet referenced by a
// committed checkpoint: the time a checkpoint may take from its first
// upload to its Commit before its files can be collected.
const DefaultPendingGrace = 30 * time.Minute

// MetadataName is the name of a checkpoint's metadata file inside its
// directory.
const MetadataName = "_metadata"

const (
	sharedDirName = "shared"
	checkpointPfx = "chk-"
	savepointPfx  = "savepoint-"
	tempMarker    = ".tmp-"
)

// ErrCorrupt is wrapped by the errors that say a checkpoint is damaged: its
// metadata is truncated, altered or inconsistent, or a file it references
// is missing or has the wrong size or checksum.
var ErrCorrupt = errors.New("corrupt checkpoint")

// DirOptions configure a DirStorage.
type DirOptions struct {
	// Retain is how many complete, intact checkpoints Commit keeps (0:
	// DefaultRetain). Savepoints are kept regardless.
	Retain int
	// PendingGrace is how long a shared file stored or found but not yet
	// referenced by a committed checkpoint is protected from garbage
	// collection (0: DefaultPendingGrace; negative: not at all, for tests).
	PendingGrace time.Duration
	// VerifyChecksums makes Latest and Load hash every referenced shared
	// file, not only check that it exists with its size. FindRestore
	// always does.
	VerifyChecksums bool
	// Logger receives what garbage collection could not do (nil:
	// slog.Default()).
	Logger *slog.Logger
}

// DirStorage is a Storage in a local directory:
//
//	DIR/shared/<name>            immutable shared files
//	DIR/chk-<id>/_metadata       a checkpoint (exists once its metadata does)
//	DIR/savepoint-<id>/_metadata a savepoint (not subject to retention)
//
// Every file is written under a hidden temporary name in its directory,
// synced, renamed into place and its directory synced, so a crash leaves
// either the whole file or none. One process writes a directory at a time.
// A DirStorage is safe for concurrent use.
type DirStorage struct {
	dir      string
	shared   string
	opts     DirOptions
	log      *slog.Logger
	readOnly bool

	// mu is held exclusively by Commit (its checks, metadata write and
	// garbage collection) and shared by what must not interleave with a
	// collection: HasShared, the rename of PutShared, Latest and Load.
	mu sync.RWMutex

	pmu sync.Mutex
	// pending holds when shared files were last stored or found, until a
	// committed checkpoint references them or PendingGrace passes.
	pending map[string]time.Time
	// writing holds the temporary files PutShared is writing.
	writing map[string]bool
	now     func() time.Time
}

var _ Storage = (*DirStorage)(nil)

// NewDirStorage opens (creating it if needed) checkpoint storage in dir,
// keeping the newest retain complete checkpoints (0: DefaultRetain).
func NewDirStorage(dir string, retain int) (Storage, error) {
	return OpenDirStorage(dir, DirOptions{Retain: retain})
}

// OpenDirStorage opens (creating it if needed) checkpoint storage in dir.
func OpenDirStorage(dir string, opts DirOptions) (*DirStorage, error) {
	s, err := newDirStorage(dir, opts, false)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.shared, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint storage %s: %w", dir, err)
	}
	if err := syncDir(s.dir); err != nil {
		return nil, fmt.Errorf("checkpoint storage %s: %w", dir, err)
	}
	return s, nil
}

func newDirStorage(dir string, opts DirOptions, readOnly bool) (*DirStorage, error) {
	if dir == "" {
		return nil, fmt.Errorf("checkpoint storage: empty directory name")
	}
	if opts.Retain < 0 {
		return nil, fmt.Errorf("checkpoint storage %s: retain %d is negative", dir, opts.Retain)
	}
	if opts.Retain == 0 {
		opts.Retain = DefaultRetain
	}
	if opts.PendingGrace == 0 {
		opts.PendingGrace = DefaultPendingGrace
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint storage %s: %w", dir, err)
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.Default()
	}
	return &DirStorage{
		dir:      abs,
		shared:   filepath.Join(abs, sharedDirName),
		opts:     opts,
		log:      lg,
		readOnly: readOnly,
		pending:  make(map[string]time.Time),
		writing:  make(map[string]bool),
		now:      time.Now,
	}, nil
}

// Dir returns the storage's directory (absolute).
func (s *DirStorage) Dir() string { return s.dir }

// PathOf returns the directory of checkpoint or savepoint m, as logs print
// it and Load and FindRestore accept it.
func (s *DirStorage) PathOf(m *Metadata) string {
	return filepath.Join(s.dir, entryName(m.ID, m.Savepoint))
}

// HasShared reports whether the shared file name is stored with that size.
// A file it finds is protected from garbage collection until a checkpoint
// referencing it is committed (or PendingGrace passes).
func (s *DirStorage) HasShared(ctx context.Context, name string, size int64) (bool, error) {
	if err := ValidSharedName(name); err != nil {
		return false, fmt.Errorf("checkpoint storage %s: %w", s.dir, err)
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	fi, err := os.Stat(filepath.Join(s.shared, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checkpoint storage: shared file %q: %w", name, err)
	}
	if !fi.Mode().IsRegular() || fi.Size() != size {
		return false, nil
	}
	s.touch(name)
	return true, nil
}

// PutShared stores size bytes from r as the shared file name. It is a no-op
// when the file is already stored with that size; a stored file of another
// size (a damaged one) is replaced. r must hold exactly size bytes.
func (s *DirStorage) PutShared(ctx context.Context, name string, size int64, r io.Reader) error {
	if err := ValidSharedName(name); err != nil {
		return fmt.Errorf("checkpoint storage %s: %w", s.dir, err)
	}
	if s.readOnly {
		return fmt.Errorf("checkpoint storage %s: read-only", s.dir)
	}
	if size < 0 {
		return fmt.Errorf("checkpoint storage: shared file %q: negative size %d", name, size)
	}
	if ok, err := s.HasShared(ctx, name, size); err != nil || ok {
		return err
	}
	f, err := os.CreateTemp(s.shared, "."+name+tempMarker+"*")
	if err != nil {
		return fmt.Errorf("checkpoint storage: shared file %q: %w", name, err)
	}
	tmp := f.Name()
	s.pmu.Lock()
	s.writing[filepath.Base(tmp)] = true
	s.pmu.Unlock()
	defer func() {
		s.pmu.Lock()
		delete(s.writing, filepath.Base(tmp))
		s.pmu.Unlock()
		_ = os.Remove(tmp) // gone already when renamed
	}()
	if err := writeShared(ctx, f, name, size, r); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint storage: shared file %q: %w", name, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	final := filepath.Join(s.shared, name)
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
		s.touch(name) // a concurrent PutShared of the same name won
		return nil
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("checkpoint storage: shared file %q: %w", name, err)
	}
	s.touch(name)
	if err := syncDir(s.shared); err != nil {
		return fmt.Errorf("checkpoint storage: shared file %q: %w", name, err)
	}
	return nil
}

// writeShared copies exactly size bytes from r into f and syncs it.
func writeShared(ctx context.Context, f *os.File, name string, size int64, r io.Reader) error {
	n, err := io.CopyN(f, ctxReader{ctx, r}, size)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("checkpoint storage: shared file %q: the reader ended after %d of %d bytes", name, n, size)
		}
		return fmt.Errorf("checkpoint storage: shared file %q: after %d of %d bytes: %w", name, n, size, err)
	}
	var one [1]byte
	if m, _ := io.ReadFull(r, one[:]); m > 0 {
		return fmt.Errorf("checkpoint storage: shared file %q: the reader holds more than the %d bytes announced", name, size)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("checkpoint storage: shared file %q: %w", name, err)
	}
	return nil
}

// OpenShared opens the shared file name.
func (s *DirStorage) OpenShared(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := ValidSharedName(name); err != nil {
		return nil, fmt.Errorf("checkpoint storage %s: %w", s.dir, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.shared, name))
	if err != nil {
		return nil, fmt.Errorf("checkpoint storage %s: shared file %q: %w", s.dir, name, err)
	}
	return f, nil
}

// Commit writes m as checkpoint (or savepoint) m.ID, then, for a
// checkpoint, keeps the newest Retain intact checkpoints and collects the
// shared files nothing kept references. A checkpoint's ID must be greater
// than every complete checkpoint's in the directory, and every file it
// references must be stored with its size.
func (s *DirStorage) Commit(ctx context.Context, m *Metadata) error {
	if s.readOnly {
		return fmt.Errorf("checkpoint storage %s: read-only", s.dir)
	}
	if m == nil {
		return fmt.Errorf("checkpoint storage %s: commit of nil metadata", s.dir)
	}
	if m.Format == 0 {
		m.Format = FormatVersion
	}
	data, err := EncodeMetadata(m)
	if err != nil {
		return fmt.Errorf("checkpoint storage %s: commit: %w", s.dir, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := s.scan()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.complete {
			continue
		}
		if e.savepoint == m.Savepoint && e.id == m.ID {
			return fmt.Errorf("checkpoint storage: %s already exists", e.dir)
		}
		if !m.Savepoint && !e.savepoint && e.id > m.ID {
			return fmt.Errorf("checkpoint storage: checkpoint %d is older than the newest complete checkpoint %s; IDs must increase", m.ID, e.dir)
		}
	}
	for _, f := range m.Files() {
		if err := s.statShared(f); err != nil {
			return fmt.Errorf("checkpoint storage: commit of checkpoint %d: %w", m.ID, err)
		}
	}
	dir := filepath.Join(s.dir, entryName(m.ID, m.Savepoint))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint storage: commit of checkpoint %d: %w", m.ID, err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("checkpoint storage: commit of checkpoint %d: %w", m.ID, err)
	}
	if err := writeFileAtomic(dir, MetadataName, data); err != nil {
		return fmt.Errorf("checkpoint storage: commit of checkpoint %d: %w", m.ID, err)
	}
	s.pmu.Lock()
	for _, f := range m.Files() {
		delete(s.pending, f.Name)
	}
	s.pmu.Unlock()
	if !m.Savepoint {
		s.collect(ctx)
	}
	return nil
}

// Latest returns the newest intact checkpoint or savepoint (by ID),
// skipping damaged ones (listed in skipped); nil when there is none.
func (s *DirStorage) Latest(ctx context.Context) (*Metadata, []error, error) {
	return s.latest(ctx, s.opts.VerifyChecksums)
}

func (s *DirStorage) latest(ctx context.Context, full bool) (*Metadata, []error, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	entries, err := s.scan()
	if err != nil {
		return nil, nil, err
	}
	var skipped []error
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if !e.complete {
			continue
		}
		m, err := s.load(ctx, e, full)
		if err == nil {
			return m, skipped, nil
		}
		if ctx.Err() != nil {
			return nil, skipped, ctx.Err()
		}
		skipped = append(skipped, err)
	}
	return nil, skipped, nil
}

// Load reads and verifies one checkpoint or savepoint of this storage. ref
// is its ID ("7": chk-7, else savepoint-7), its directory's name or path,
// or the path of its metadata file.
func (s *DirStorage) Load(ctx context.Context, ref string) (*Metadata, error) {
	return s.loadRef(ctx, ref, s.opts.VerifyChecksums)
}

func (s *DirStorage) loadRef(ctx context.Context, ref string, full bool) (*Metadata, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, fmt.Errorf("checkpoint storage %s: empty checkpoint reference", s.dir)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		for _, sp := range []bool{false, true} {
			e := s.entry(id, sp)
			if e.complete {
				return s.load(ctx, e, full)
			}
		}
		return nil, fmt.Errorf("checkpoint storage %s: no complete checkpoint or savepoint %d", s.dir, id)
	}
	p := ref
	if filepath.Base(p) == MetadataName {
		p = filepath.Dir(p)
	}
	if !strings.ContainsRune(p, filepath.Separator) && !filepath.IsAbs(p) {
		if _, _, ok := parseEntryName(p); ok {
			p = filepath.Join(s.dir, p)
		}
	}
	id, sp, ok := parseEntryName(filepath.Base(p))
	if !ok {
		return nil, fmt.Errorf("checkpoint storage %s: %q names no checkpoint (want an ID, chk-<id>, savepoint-<id> or a path to one or its %s)", s.dir, ref, MetadataName)
	}
	if !sameDir(filepath.Dir(p), s.dir) {
		return nil, fmt.Errorf("checkpoint storage %s: %s is not in this storage (FindRestore reads other directories)", s.dir, ref)
	}
	e := s.entry(id, sp)
	if !e.complete {
		return nil, fmt.Errorf("checkpoint storage: %s is not a complete checkpoint (no %s)", e.dir, MetadataName)
	}
	return s.load(ctx, e, full)
}

// List returns the IDs of the complete checkpoints (not savepoints),
// oldest first.
func (s *DirStorage) List(ctx context.Context) ([]int64, error) {
	return s.list(ctx, false)
}

// Savepoints returns the IDs of the complete savepoints, oldest first.
func (s *DirStorage) Savepoints(ctx context.Context) ([]int64, error) {
	return s.list(ctx, true)
}

func (s *DirStorage) list(ctx context.Context, savepoints bool) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	entries, err := s.scan()
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, e := range entries {
		if e.complete && e.savepoint == savepoints {
			ids = append(ids, e.id)
		}
	}
	return ids, nil
}

// Verify checks that every shared file m references is stored with its
// size and, with full, its SHA-256. The error wraps ErrCorrupt and names
// the first damaged file.
func (s *DirStorage) Verify(ctx context.Context, m *Metadata, full bool) error {
	for _, f := range m.Files() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.statShared(f); err != nil {
			return err
		}
		if full {
			if err := verifyContent(ctx, s, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// VerifyFiles reads every shared file m references from st and checks its
// size and SHA-256: the full check of the restore path, for any Storage.
// The error wraps ErrCorrupt and names the first damaged file.
func VerifyFiles(ctx context.Context, st Storage, m *Metadata) error {
	for _, f := range m.Files() {
		if err := verifyContent(ctx, st, f); err != nil {
			return err
		}
	}
	return nil
}

func verifyContent(ctx context.Context, st Storage, f FileRef) error {
	rc, err := st.OpenShared(ctx, f.Name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: shared file %q is missing", ErrCorrupt, f.Name)
		}
		return err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, rc})
	if err != nil {
		return fmt.Errorf("shared file %q: %w", f.Name, err)
	}
	if n != f.Size {
		return fmt.Errorf("%w: shared file %q has %d bytes, the metadata says %d", ErrCorrupt, f.Name, n, f.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(f.SHA256) {
		return fmt.Errorf("%w: shared file %q hashes to %s, the metadata says %s", ErrCorrupt, f.Name, got, f.SHA256)
	}
	return nil
}

// statShared checks that f is stored with its size.
func (s *DirStorage) statShared(f FileRef) error {
	fi, err := os.Stat(filepath.Join(s.shared, f.Name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: shared file %q is missing", ErrCorrupt, f.Name)
	}
	if err != nil {
		return fmt.Errorf("shared file %q: %w", f.Name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: shared file %q is not a regular file", ErrCorrupt, f.Name)
	}
	if fi.Size() != f.Size {
		return fmt.Errorf("%w: shared file %q has %d bytes, the metadata says %d", ErrCorrupt, f.Name, fi.Size(), f.Size)
	}
	return nil
}

// entry is one chk-<id> or savepoint-<id> directory.
type entry struct {
	id        int64
	savepoint bool
	dir       string
	complete  bool // its metadata file exists
}

func entryName(id int64, savepoint bool) string {
	if savepoint {
		return savepointPfx + strconv.FormatInt(id, 10)
	}
	return checkpointPfx + strconv.FormatInt(id, 10)
}

// parseEntryName parses chk-<id> and savepoint-<id> (canonical decimal,
// positive).
func parseEntryName(name string) (id int64, savepoint bool, ok bool) {
	var num string
	switch {
	case strings.HasPrefix(name, checkpointPfx):
		num = name[len(checkpointPfx):]
	case strings.HasPrefix(name, savepointPfx):
		num, savepoint = name[len(savepointPfx):], true
	default:
		return 0, false, false
	}
	id, err := strconv.ParseInt(num, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != num {
		return 0, false, false
	}
	return id, savepoint, true
}

func (s *DirStorage) entry(id int64, savepoint bool) entry {
	e := entry{id: id, savepoint: savepoint, dir: filepath.Join(s.dir, entryName(id, savepoint))}
	fi, err := os.Stat(filepath.Join(e.dir, MetadataName))
	e.complete = err == nil && fi.Mode().IsRegular()
	return e
}

// scan lists the checkpoint and savepoint directories by ID, a checkpoint
// before a savepoint of the same ID.
func (s *DirStorage) scan() ([]entry, error) {
	des, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) && s.readOnly {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint storage %s: %w", s.dir, err)
	}
	var out []entry
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		id, sp, ok := parseEntryName(de.Name())
		if !ok {
			continue
		}
		out = append(out, s.entry(id, sp))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].id != out[j].id {
			return out[i].id < out[j].id
		}
		return !out[i].savepoint && out[j].savepoint
	})
	return out, nil
}

// readMeta reads and decodes the metadata of e. Damage wraps ErrCorrupt;
// other errors (I/O) do not.
func (s *DirStorage) readMeta(e entry) (*Metadata, error) {
	path := filepath.Join(e.dir, MetadataName)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", e.dir, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", e.dir, err)
	}
	if len(data) > maxMetadataSize {
		return nil, fmt.Errorf("checkpoint %s: %w: metadata is larger than %d bytes", e.dir, ErrCorrupt, maxMetadataSize)
	}
	m, err := DecodeMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w: %w", e.dir, ErrCorrupt, err)
	}
	if m.ID != e.id || m.Savepoint != e.savepoint {
		return nil, fmt.Errorf("checkpoint %s: %w: its metadata is that of %s", e.dir, ErrCorrupt, entryName(m.ID, m.Savepoint))
	}
	return m, nil
}

// load reads e's metadata and checks its files.
func (s *DirStorage) load(ctx context.Context, e entry, full bool) (*Metadata, error) {
	m, err := s.readMeta(e)
	if err != nil {
		return nil, err
	}
	if err := s.Verify(ctx, m, full); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", e.dir, err)
	}
	return m, nil
}

// touch protects shared file name from collection for PendingGrace.
func (s *DirStorage) touch(name string) {
	s.pmu.Lock()
	s.pending[name] = s.now()
	s.pmu.Unlock()
}

// collect applies retention after a commit (s.mu held exclusively):
// checkpoints older than the newest Retain intact ones are deleted (their
// metadata first, so each disappears at once), partial checkpoint
// directories are deleted, and so are the shared files that no kept
// checkpoint or savepoint references and that are not pending. What fails
// is logged: the commit itself has succeeded.
func (s *DirStorage) collect(ctx context.Context) {
	entries, err := s.scan()
	if err != nil {
		s.log.Warn("checkpoint storage: garbage collection skipped", "dir", s.dir, "err", err)
		return
	}
	refs := make(map[string]bool)
	refsKnown := true
	addRefs := func(e entry) (intact bool) {
		m, err := s.readMeta(e)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				refsKnown = false // unreadable now: its files may be needed
			}
			return false
		}
		for _, f := range m.Files() {
			refs[f.Name] = true
		}
		return s.Verify(ctx, m, false) == nil
	}
	kept := 0
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		switch {
		case !e.complete:
			s.remove(e.dir, false)
		case e.savepoint:
			addRefs(e)
		case kept >= s.opts.Retain:
			s.remove(e.dir, true)
		default:
			if addRefs(e) {
				kept++
			}
		}
	}
	if !refsKnown {
		s.log.Warn("checkpoint storage: shared files not collected: a kept checkpoint's metadata could not be read", "dir", s.dir)
		return
	}
	des, err := os.ReadDir(s.shared)
	if err != nil {
		s.log.Warn("checkpoint storage: shared files not collected", "dir", s.dir, "err", err)
		return
	}
	now := s.now()
	s.pmu.Lock()
	defer s.pmu.Unlock()
	for name, t := range s.pending {
		if now.Sub(t) > s.opts.PendingGrace {
			delete(s.pending, name)
		}
	}
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			// A temporary file: PutShared's own, or a crashed one's.
			if s.writing[name] {
				continue
			}
			if fi, err := de.Info(); err != nil || now.Sub(fi.ModTime()) <= s.opts.PendingGrace {
				continue
			}
		} else if refs[name] {
			continue
		} else if _, ok := s.pending[name]; ok {
			continue
		}
		if err := os.Remove(filepath.Join(s.shared, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("checkpoint storage: could not delete a shared file", "file", name, "err", err)
		}
	}
}

// remove deletes a checkpoint directory, its metadata first when it has
// one, so that a crash midway leaves a partial directory, never a damaged
// checkpoint.
func (s *DirStorage) remove(dir string, complete bool) {
	if complete {
		if err := os.Remove(filepath.Join(dir, MetadataName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("checkpoint storage: could not delete a retired checkpoint", "dir", dir, "err", err)
			return
		}
		_ = syncDir(dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		s.log.Warn("checkpoint storage: could not delete a checkpoint directory", "dir", dir, "err", err)
	}
}

// writeFileAtomic writes data to dir/name through a synced temporary file
// renamed into place, then syncs dir.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+tempMarker+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // gone already when renamed
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a directory's entries (creations, renames) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// sameDir reports whether a and b are the same existing directory.
func sameDir(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
