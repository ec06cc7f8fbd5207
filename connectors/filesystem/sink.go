package filesystem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/connectors/format/parquet"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// Sink is a table being written as part files into a directory.
type Sink struct {
	cfg *config
}

var (
	_ connectors.Sink            = (*Sink)(nil)
	_ connectors.RecoverableSink = (*Sink)(nil)
)

// NewSink validates the table; the directory is made when writers open.
func (f *Factory) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	cfg, err := parseConfig(info)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", info.Name, err)
	}
	return &Sink{cfg: cfg}, nil
}

// inProgressSuffix ends the hidden name of a part file being written.
const inProgressSuffix = ".inprogress"

// inProgressName returns the hidden name a part file is written under.
func inProgressName(final string) string { return "." + final + inProgressSuffix }

// partFile parses a part file's name, visible ("part-<s>-<n>.<ext>") or in
// progress (".part-<s>-<n>.<ext>.inprogress"), into its writer's subtask and
// its counter.
func partFile(name string) (subtask, counter int, inProgress, ok bool) {
	if strings.HasPrefix(name, ".") && strings.HasSuffix(name, inProgressSuffix) {
		inProgress = true
		name = strings.TrimSuffix(strings.TrimPrefix(name, "."), inProgressSuffix)
	}
	rest, found := strings.CutPrefix(name, "part-")
	if !found {
		return 0, 0, false, false
	}
	sub, rest, found := strings.Cut(rest, "-")
	if !found {
		return 0, 0, false, false
	}
	num, _, _ := strings.Cut(rest, ".")
	s, err1 := strconv.Atoi(sub)
	n, err2 := strconv.Atoi(num)
	if err1 != nil || err2 != nil || s < 0 || n < 0 {
		return 0, 0, false, false
	}
	return s, n, inProgress, true
}

// Writer opens the writer of subtask rc.Subtask: it creates the directory
// and numbers its files after those subtask rc.Subtask already has there
// (visible or in progress, in any partition), so counters keep increasing
// across checkpoints and restarts.
func (s *Sink) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	dir := s.cfg.path
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("table '%s': creating the sink directory: %w", s.cfg.table, err)
	}
	w := &Writer{cfg: s.cfg, dir: dir, subtask: rc.Subtask, enc: s.cfg.encoder(), ext: s.cfg.extension(),
		frontier: map[int]int{}, buckets: map[string]*bucket{}, alloc: rc.Alloc, now: time.Now}
	if w.alloc == nil {
		w.alloc = memory.DefaultAllocator
	}
	err := walkPartFiles(dir, len(s.cfg.partKeys), func(rel string, sub, n int, _ bool) error {
		if n >= w.frontier[sub] {
			w.frontier[sub] = n + 1
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", s.cfg.table, err)
	}
	w.counter = w.frontier[rc.Subtask]
	w.lastCheck = w.now()
	return w, nil
}

// walkPartFiles calls fn for every part file of the sink's directory dir,
// with its path relative to dir: those directly in it, or, for a table
// with depth partition keys, those in its partition directories depth
// levels down (not in hidden ones). Files elsewhere are not the table's.
func walkPartFiles(dir string, depth int, fn func(rel string, subtask, counter int, inProgress bool) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != dir {
				return nil // removed meanwhile
			}
			return err
		}
		level := 0
		if rel, err := filepath.Rel(dir, p); err == nil && rel != "." {
			level = len(strings.Split(filepath.ToSlash(rel), "/"))
		}
		if d.IsDir() {
			if p != dir && (hidden(d.Name()) || level > depth) {
				return filepath.SkipDir
			}
			return nil
		}
		if level != depth+1 {
			return nil
		}
		sub, n, inProgress, ok := partFile(d.Name())
		if !ok {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return fn(rel, sub, n, inProgress)
	})
}

// Writer writes one subtask's part files. It is a connectors.TwoPhaseWriter:
// files are written under hidden in-progress names, Prepare closes them
// (after an fsync) and names them in its committable, and Commit renames
// them to their visible names. A partitioned table's writer keeps a file
// open per partition it has rows for (a bucket).
type Writer struct {
	cfg     *config
	dir     string
	subtask int
	enc     format.Encoder // nil for parquet
	ext     string
	counter int
	// frontier: per subtask, the first part counter unused when the
	// writer opened (see committable.Frontier).
	frontier map[int]int
	alloc    memory.Allocator
	now      func() time.Time

	buckets   map[string]*bucket // by relative partition directory ("" unpartitioned)
	lastCheck time.Time          // of the rollover interval
	pending   []pendingFile
	buf       []byte
	closed    bool

	mu       sync.Mutex
	prepared []pendingFile // prepared at a checkpoint, maybe not committed yet
}

// bucket is one partition's open part file.
type bucket struct {
	rel    string // partition directory relative to the sink's, "" for none
	f      *os.File
	pw     *parquet.Writer // for parquet
	cur    pendingFile     // names of f, relative to the sink's directory
	size   int64           // bytes written to f (text formats)
	opened time.Time
	// written is when rows were last written to f.
	written time.Time
}

var _ connectors.TwoPhaseWriter = (*Writer)(nil)

// pendingFile names a finished part file that is not visible yet: its
// in-progress name and its final name, relative to the sink's directory
// (in a partition's directory for a partitioned table).
type pendingFile struct {
	InProgress string `json:"in_progress"`
	Final      string `json:"final"`
}

// committable is what Prepare returns, as JSON: the files a writer
// finished since its previous Prepare, and the counter its next file will
// have, which tells Recover that the writer's part files numbered from it
// on were written after the checkpoint.
type committable struct {
	Subtask int           `json:"subtask"`
	Next    int           `json:"next"`
	Files   []pendingFile `json:"files"`
	// Frontier holds, per subtask with part files in the directory when
	// the writer opened, the first counter not used yet then: a recovery
	// from this checkpoint removes every visible file of any subtask at or
	// past its frontier (or of a subtask no committable names), which a
	// later run wrote.
	Frontier map[int]int `json:"frontier"`
}

// finalName is the name of part file n. changelog-json counters have ten
// digits, so that name order is numeric order, which is the order the
// changes were written in, for any realistic number of files.
func (w *Writer) finalName(n int) string {
	if w.cfg.changelog() {
		return fmt.Sprintf("part-%d-%010d.%s", w.subtask, n, w.ext)
	}
	return fmt.Sprintf("part-%d-%05d.%s", w.subtask, n, w.ext)
}

// Write appends b's rows to the current part file of each row's
// partition.
func (w *Writer) Write(ctx context.Context, b stream.Batch) error {
	if w.closed {
		return fmt.Errorf("table '%s': write after close", w.cfg.table)
	}
	if b.NumRows() == 0 {
		return nil
	}
	if !w.cfg.changelog() {
		for i, k := range b.Kinds {
			if k != stream.Insert {
				return fmt.Errorf("table '%s': the filesystem sink with 'format' = '%s' only takes inserts (+I), but row %d is %s: "+
					"the query produces updates or retractions, which need 'format' = '%s'", w.cfg.table, w.cfg.format, i, k, FormatChangelogJSON)
			}
		}
	}
	if err := w.rollOld(); err != nil {
		return err
	}
	if len(w.cfg.partKeys) == 0 {
		return w.writeBucket("", b)
	}
	dirs, err := w.cfg.partitionDirs(b.Record)
	if err != nil {
		return fmt.Errorf("table '%s': %w", w.cfg.table, err)
	}
	data := w.cfg.dataColumns(b.Record)
	defer data.Release()
	// Group the rows by partition, in order of first appearance.
	var order []string
	rows := map[string][]int32{}
	for i, d := range dirs {
		if _, ok := rows[d]; !ok {
			order = append(order, d)
		}
		rows[d] = append(rows[d], int32(i))
	}
	if len(order) == 1 {
		return w.writeBucket(order[0], stream.Batch{Record: data})
	}
	for _, d := range order {
		part, err := take(ctx, w.alloc, data, rows[d])
		if err != nil {
			return fmt.Errorf("table '%s': %w", w.cfg.table, err)
		}
		err = w.writeBucket(d, stream.Batch{Record: part})
		part.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// writeBucket writes b (the files' columns: the table's without the
// partition columns) to the open file of partition directory rel, and rolls
// it past the size limit.
func (w *Writer) writeBucket(rel string, b stream.Batch) error {
	bk := w.buckets[rel]
	if bk != nil {
		bk.written = w.now()
	}
	if w.cfg.format == FormatParquet {
		if bk == nil {
			var err error
			if bk, err = w.openFile(rel); err != nil {
				return err
			}
		}
		if err := bk.pw.Write(b.Record); err != nil {
			return fmt.Errorf("table '%s': writing '%s': %w", w.cfg.table, bk.cur.InProgress, err)
		}
		if bk.pw.Size() >= w.cfg.rollBytes {
			return w.finishFile(bk)
		}
		return nil
	}
	var err error
	if ce, ok := w.enc.(format.ChangelogEncoder); ok && w.cfg.changelog() {
		w.buf, err = ce.EncodeChangelog(w.buf[:0], b, w.cfg.dropUpdateBefore)
	} else {
		w.buf, err = w.enc.Encode(w.buf[:0], b.Record)
	}
	if err != nil {
		return fmt.Errorf("table '%s': %w", w.cfg.table, err)
	}
	if len(w.buf) == 0 {
		return nil // only -U rows, left out of an upsert stream
	}
	if bk == nil {
		if bk, err = w.openFile(rel); err != nil {
			return err
		}
	}
	n, err := bk.f.Write(w.buf)
	bk.size += int64(n)
	if err != nil {
		return fmt.Errorf("table '%s': writing '%s': %w", w.cfg.table, bk.cur.InProgress, err)
	}
	if bk.size >= w.cfg.rollBytes {
		return w.finishFile(bk)
	}
	return nil
}

// rollOld rolls, every check interval, the files open longer than the
// rollover interval or that have had no rows for the inactivity
// interval.
func (w *Writer) rollOld() error {
	if len(w.buckets) == 0 {
		return nil
	}
	now := w.now()
	if now.Sub(w.lastCheck) < w.cfg.checkInterval {
		return nil
	}
	w.lastCheck = now
	for _, rel := range w.bucketOrder() {
		bk := w.buckets[rel]
		if now.Sub(bk.opened) >= w.cfg.rollInterval || now.Sub(bk.written) >= w.cfg.inactivity {
			if err := w.finishFile(bk); err != nil {
				return err
			}
		}
	}
	return nil
}

// bucketOrder returns the open buckets' directories, sorted.
func (w *Writer) bucketOrder() []string {
	out := make([]string, 0, len(w.buckets))
	for rel := range w.buckets {
		out = append(out, rel)
	}
	sort.Strings(out)
	return out
}

func (w *Writer) openFile(rel string) (*bucket, error) {
	final := w.finalName(w.counter)
	w.counter++
	now := w.now()
	bk := &bucket{rel: rel, cur: pendingFile{InProgress: filepath.Join(rel, inProgressName(final)), Final: filepath.Join(rel, final)}, opened: now, written: now}
	if rel != "" {
		if err := os.MkdirAll(filepath.Join(w.dir, rel), 0o755); err != nil {
			return nil, fmt.Errorf("table '%s': creating partition directory: %w", w.cfg.table, err)
		}
	}
	f, err := os.OpenFile(filepath.Join(w.dir, bk.cur.InProgress), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", w.cfg.table, err)
	}
	bk.f = f
	if w.cfg.format == FormatParquet {
		bk.pw, err = parquet.NewWriter(f, w.cfg.dataSchema, parquet.WriterOptions{Compression: w.cfg.codec, Alloc: w.alloc})
		if err != nil {
			f.Close()
			os.Remove(filepath.Join(w.dir, bk.cur.InProgress))
			return nil, fmt.Errorf("table '%s': %w", w.cfg.table, err)
		}
	}
	w.buckets[rel] = bk
	return bk, nil
}

// finishFile completes bk's file (a Parquet footer), syncs and closes it,
// and queues it as pending; the bucket is gone.
func (w *Writer) finishFile(bk *bucket) error {
	delete(w.buckets, bk.rel)
	f := bk.f
	w.pending = append(w.pending, bk.cur)
	if bk.pw != nil {
		if err := bk.pw.Close(); err != nil {
			f.Close()
			return fmt.Errorf("table '%s': finishing '%s': %w", w.cfg.table, bk.cur.InProgress, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("table '%s': syncing '%s': %w", w.cfg.table, bk.cur.InProgress, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("table '%s': closing '%s': %w", w.cfg.table, bk.cur.InProgress, err)
	}
	return nil
}

// finishAll finishes every open file.
func (w *Writer) finishAll() error {
	for _, rel := range w.bucketOrder() {
		if err := w.finishFile(w.buckets[rel]); err != nil {
			return err
		}
	}
	return nil
}

// Prepare is called at checkpoint checkpointID's barrier: it syncs and
// closes the current in-progress file (the next row starts a new one), and
// returns, as the committable, every file finished since the previous
// Prepare together with those prepared earlier whose Commit has not come
// (a checkpoint whose notification was skipped or lost is thus committed
// with a later one). The files stay hidden until Commit.
func (w *Writer) Prepare(ctx context.Context, checkpointID int64) ([]byte, error) {
	if w.closed {
		return nil, fmt.Errorf("table '%s': checkpoint %d prepared after the writer closed", w.cfg.table, checkpointID)
	}
	if err := w.finishAll(); err != nil {
		return nil, err
	}
	// The in-progress names must survive a crash for Recover to find.
	if err := syncDirsOf(w.dir, w.pending); err != nil {
		return nil, fmt.Errorf("table '%s': checkpoint %d: %w", w.cfg.table, checkpointID, err)
	}
	w.mu.Lock()
	w.prepared = append(w.prepared, w.pending...)
	c := committable{Subtask: w.subtask, Next: w.counter, Files: append([]pendingFile{}, w.prepared...), Frontier: w.frontier}
	w.mu.Unlock()
	w.pending = nil
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("table '%s': checkpoint %d: %w", w.cfg.table, checkpointID, err)
	}
	return data, nil
}

// Commit makes the files of a committable Prepare returned visible, by
// renaming each to its final name. It is idempotent: a file already
// renamed is fine.
func (w *Writer) Commit(ctx context.Context, checkpointID int64, data []byte) error {
	c, err := parseCommittable(data)
	if err != nil {
		return fmt.Errorf("table '%s': committing checkpoint %d: %w", w.cfg.table, checkpointID, err)
	}
	if err := commitFiles(w.dir, c.Files); err != nil {
		return fmt.Errorf("table '%s': committing checkpoint %d: %w", w.cfg.table, checkpointID, err)
	}
	done := make(map[pendingFile]bool, len(c.Files))
	for _, f := range c.Files {
		done[f] = true
	}
	w.mu.Lock()
	kept := w.prepared[:0]
	for _, f := range w.prepared {
		if !done[f] {
			kept = append(kept, f)
		}
	}
	w.prepared = kept
	w.mu.Unlock()
	return nil
}

// Close, at the end of input, makes every file the writer wrote visible
// under its final name: those written since the last Prepare and those
// prepared but not yet committed (a later Commit of them is a no-op).
func (w *Writer) Close(ctx context.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.finishAll(); err != nil {
		return err
	}
	w.mu.Lock()
	files := append(w.prepared, w.pending...)
	w.prepared = nil
	w.mu.Unlock()
	w.pending = nil
	if err := commitFiles(w.dir, files); err != nil {
		return fmt.Errorf("table '%s': %w", w.cfg.table, err)
	}
	return nil
}

// Abort deletes the files written since the last Prepare. Prepared files
// stay: they belong to a checkpoint, which a restored job commits
// (RecoverableSink), or whose Recover deletes them if it is not restored.
func (w *Writer) Abort(ctx context.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	for _, rel := range w.bucketOrder() {
		bk := w.buckets[rel]
		if bk.pw != nil {
			bk.pw.Abort()
		}
		bk.f.Close()
		w.pending = append(w.pending, bk.cur)
		delete(w.buckets, rel)
	}
	for _, p := range w.pending {
		if err := os.Remove(filepath.Join(w.dir, p.InProgress)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	w.pending = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("table '%s': removing unfinished files: %w", w.cfg.table, err)
	}
	return nil
}

// parseCommittable decodes and checks a committable: its names must be
// plain file names of the sink's directory.
func parseCommittable(data []byte) (committable, error) {
	var c committable
	if len(data) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("bad committable: %w", err)
	}
	for _, f := range c.Files {
		for _, n := range []string{f.InProgress, f.Final} {
			if n == "" || !filepath.IsLocal(n) || filepath.Clean(n) != n || hiddenDir(filepath.Dir(n)) {
				return c, fmt.Errorf("bad committable: '%s' is not a file name in the sink's directory", n)
			}
		}
		if !strings.HasPrefix(filepath.Base(f.InProgress), ".") {
			return c, fmt.Errorf("bad committable: in-progress file '%s' is not hidden", f.InProgress)
		}
		if filepath.Dir(f.InProgress) != filepath.Dir(f.Final) {
			return c, fmt.Errorf("bad committable: '%s' and '%s' are in different directories", f.InProgress, f.Final)
		}
	}
	return c, nil
}

// hiddenDir reports whether a relative directory has a hidden component.
func hiddenDir(dir string) bool {
	if dir == "." {
		return false
	}
	for _, p := range strings.Split(filepath.ToSlash(dir), "/") {
		if hidden(p) {
			return true
		}
	}
	return false
}

// syncDirsOf syncs the directories of files (relative to dir), and the
// partition directories above them up to dir: so that their names, and
// those of new partition directories, survive a crash.
func syncDirsOf(dir string, files []pendingFile) error {
	done := map[string]bool{}
	for _, f := range files {
		for rel := filepath.Dir(f.InProgress); ; rel = filepath.Dir(rel) {
			d := filepath.Join(dir, rel)
			if done[d] {
				break
			}
			done[d] = true
			if err := syncDir(d); err != nil {
				return err
			}
			if rel == "." {
				break
			}
		}
	}
	return nil
}

// commitFiles renames each file from its in-progress name to its final
// name, accepting files already renamed, then syncs the directory.
func commitFiles(dir string, files []pendingFile) error {
	if len(files) == 0 {
		return nil
	}
	for _, f := range files {
		from, to := filepath.Join(dir, f.InProgress), filepath.Join(dir, f.Final)
		err := os.Rename(from, to)
		if err == nil {
			continue
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("publishing '%s': %w", to, err)
		}
		if _, serr := os.Stat(to); serr != nil {
			return fmt.Errorf("publishing '%s': neither it nor its in-progress file '%s' exists: the prepared output is lost", to, from)
		}
	}
	return syncDirsOf(dir, files)
}

// Recover is called before any writer opens when a job resumes from a
// checkpoint, with the committables of that checkpoint's writers: it
// commits their files (if not committed yet), then deletes what the failed
// run wrote after the checkpoint: every in-progress part file the
// committables do not name, and the visible part files of a checkpointed
// writer numbered from its committable's next counter on (committed by a
// Close after the checkpoint). Visible files of writers that are absent
// from the checkpoint are kept: nothing tells them from an earlier job's.
func (s *Sink) Recover(ctx context.Context, committables [][]byte) error {
	dir := s.cfg.path
	keep := map[string]bool{}
	next := map[int]int{}
	frontiers := false // the committables name every subtask that wrote before
	var files []pendingFile
	for i, data := range committables {
		c, err := parseCommittable(data)
		if err != nil {
			return fmt.Errorf("table '%s': recovering committable %d: %w", s.cfg.table, i, err)
		}
		if len(data) == 0 {
			continue
		}
		for _, f := range c.Files {
			keep[f.InProgress] = true
		}
		files = append(files, c.Files...)
		if n, ok := next[c.Subtask]; !ok || c.Next > n {
			next[c.Subtask] = c.Next
		}
		if c.Frontier != nil {
			frontiers = true
			for sub, f := range c.Frontier {
				if n, ok := next[sub]; !ok || f > n {
					next[sub] = f
				}
			}
		}
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return nil // nothing was ever written
		}
	}
	if err := commitFiles(dir, files); err != nil {
		return fmt.Errorf("table '%s': recovering: %w", s.cfg.table, err)
	}
	var removed []pendingFile
	err := walkPartFiles(dir, len(s.cfg.partKeys), func(rel string, sub, n int, inProgress bool) error {
		stale := inProgress && !keep[rel]
		if nx, ok := next[sub]; !inProgress && (ok && n >= nx || !ok && frontiers) {
			// Written after the checkpoint: by a writer it knew, past that
			// writer's counter; or by a subtask it had no writer for and
			// that had written nothing before (a rescaled run's).
			stale = true
		}
		if !stale {
			return nil
		}
		if err := os.Remove(filepath.Join(dir, rel)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing output written after the checkpoint: %w", err)
		}
		removed = append(removed, pendingFile{InProgress: rel})
		return nil
	})
	if err != nil {
		return fmt.Errorf("table '%s': recovering: %w", s.cfg.table, err)
	}
	if err := syncDirsOf(dir, removed); err != nil {
		return fmt.Errorf("table '%s': recovering: %w", s.cfg.table, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("syncing directory '%s': %w", dir, err)
	}
	return nil
}
