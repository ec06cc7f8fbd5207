package filesystem

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// Sink is a table being written as part files into a directory.
type Sink struct {
	cfg *config
}

var _ connectors.Sink = (*Sink)(nil)

// NewSink validates the table; the directory is made when writers open.
func (f *Factory) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	cfg, err := parseConfig(info)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", info.Name, err)
	}
	return &Sink{cfg: cfg}, nil
}

// Writer opens the writer of subtask rc.Subtask: it creates the directory
// and numbers its files after those subtask rc.Subtask already has there.
func (s *Sink) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	dir := s.cfg.path
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("table '%s': creating the sink directory: %w", s.cfg.table, err)
	}
	enc := s.cfg.encoder()
	w := &Writer{cfg: s.cfg, dir: dir, subtask: rc.Subtask, enc: enc, ext: enc.Extension()}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", s.cfg.table, err)
	}
	prefix := "part-" + strconv.Itoa(rc.Subtask) + "-"
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimPrefix(e.Name(), "."), ".inprogress")
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		num, _, _ := strings.Cut(strings.TrimPrefix(name, prefix), ".")
		if n, err := strconv.Atoi(num); err == nil && n >= w.counter {
			w.counter = n + 1
		}
	}
	return w, nil
}

// Writer writes one subtask's part files.
type Writer struct {
	cfg     *config
	dir     string
	subtask int
	enc     format.Encoder
	ext     string
	counter int

	f       *os.File
	cur     string   // in-progress path of f
	size    int64    // bytes written to f
	pending []string // finished in-progress files, renamed at Close
	buf     []byte
	closed  bool
}

var _ connectors.Writer = (*Writer)(nil)

// finalName is the name of part file n. changelog-json counters have ten
// digits, so that name order is numeric order, which is the order the
// changes were written in, for any realistic number of files.
func (w *Writer) finalName(n int) string {
	if w.cfg.changelog() {
		return fmt.Sprintf("part-%d-%010d.%s", w.subtask, n, w.ext)
	}
	return fmt.Sprintf("part-%d-%05d.%s", w.subtask, n, w.ext)
}

// Write appends b's rows to the current part file.
func (w *Writer) Write(ctx context.Context, b stream.Batch) error {
	if w.closed {
		return fmt.Errorf("table '%s': write after close", w.cfg.table)
	}
	if b.NumRows() == 0 {
		return nil
	}
	var err error
	if ce, ok := w.enc.(format.ChangelogEncoder); ok && w.cfg.changelog() {
		w.buf, err = ce.EncodeChangelog(w.buf[:0], b, w.cfg.dropUpdateBefore)
	} else {
		for i, k := range b.Kinds {
			if k != stream.Insert {
				return fmt.Errorf("table '%s': the filesystem sink with 'format' = '%s' only takes inserts (+I), but row %d is %s: "+
					"the query produces updates or retractions, which need 'format' = '%s'", w.cfg.table, w.cfg.format, i, k, FormatChangelogJSON)
			}
		}
		w.buf, err = w.enc.Encode(w.buf[:0], b.Record)
	}
	if err != nil {
		return fmt.Errorf("table '%s': %w", w.cfg.table, err)
	}
	if len(w.buf) == 0 {
		return nil // only -U rows, left out of an upsert stream
	}
	if w.f == nil {
		if err := w.openFile(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("table '%s': writing '%s': %w", w.cfg.table, w.cur, err)
	}
	if w.size >= w.cfg.rollBytes {
		return w.finishFile()
	}
	return nil
}

func (w *Writer) openFile() error {
	name := w.finalName(w.counter)
	w.counter++
	w.cur = filepath.Join(w.dir, "."+name+".inprogress")
	f, err := os.OpenFile(w.cur, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("table '%s': %w", w.cfg.table, err)
	}
	w.f, w.size = f, 0
	return nil
}

// finishFile syncs and closes the current file and queues it for Close.
func (w *Writer) finishFile() error {
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	w.pending = append(w.pending, w.cur)
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("table '%s': syncing '%s': %w", w.cfg.table, w.cur, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("table '%s': closing '%s': %w", w.cfg.table, w.cur, err)
	}
	return nil
}

// Close makes every file the writer wrote visible under its final name.
func (w *Writer) Close(ctx context.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.finishFile(); err != nil {
		return err
	}
	for _, p := range w.pending {
		final := filepath.Join(w.dir, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "."), ".inprogress"))
		if err := os.Rename(p, final); err != nil {
			return fmt.Errorf("table '%s': publishing '%s': %w", w.cfg.table, final, err)
		}
	}
	w.pending = nil
	return syncDir(w.dir)
}

// Abort deletes the writer's unpublished files.
func (w *Writer) Abort(ctx context.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	if w.f != nil {
		w.f.Close()
		w.f = nil
		w.pending = append(w.pending, w.cur)
	}
	for _, p := range w.pending {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	w.pending = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("table '%s': removing unfinished files: %w", w.cfg.table, err)
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
