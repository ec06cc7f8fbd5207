package filesystem

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
)

var _ connectors.SplitSourceFactory = (*Factory)(nil)

// NewSplitSource returns the split source of a table with
// 'source.monitor-interval' (a continuous directory source), or (nil, nil)
// for other tables, which NewSource reads.
func (f *Factory) NewSplitSource(info connectors.TableInfo) (connectors.SplitSource, error) {
	cfg, err := parseConfig(info)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", info.Name, err)
	}
	if cfg.monitor == 0 {
		return nil, nil
	}
	return &SplitSource{cfg: cfg}, nil
}

// SplitSource is a continuous directory source: every file is a split,
// found by an enumerator that lists the directory every monitor interval.
type SplitSource struct {
	cfg *config
}

var _ connectors.SplitSource = (*SplitSource)(nil)

// Bounded reports false: new files may always appear.
func (s *SplitSource) Bounded() bool { return false }

// fileSplit is a split's state: the file and where to go on reading it:
// a byte offset (a record start) for the text formats, a row for Parquet.
type fileSplit struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
}

func (f fileSplit) split(id string) (connectors.Split, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return connectors.Split{}, err
	}
	return connectors.Split{ID: id, State: b}, nil
}

// NewEnumerator makes the enumerator, restoring from checkpoint the set of
// files it had already returned.
func (s *SplitSource) NewEnumerator(ctx context.Context, ec connectors.EnumeratorContext, checkpoint []byte) (connectors.SplitEnumerator, error) {
	seen, err := decodeSeen(checkpoint)
	if err != nil {
		return nil, fmt.Errorf("table '%s': restoring the file enumerator: %w", s.cfg.table, err)
	}
	return &enumerator{cfg: s.cfg, seen: seen, now: time.Now}, nil
}

// enumerator lists the table's directory and returns the files it has
// not returned before.
type enumerator struct {
	cfg    *config
	seen   map[string]bool // paths relative to cfg.path
	now    func() time.Time
	listed time.Time // when the directory was last listed
}

// Discover lists the directory, at most once per monitor interval (the
// runtime calls it more often), and returns a split per new file, in name
// order. It is never done.
func (e *enumerator) Discover(ctx context.Context) ([]connectors.Split, bool, error) {
	now := e.now()
	if !e.listed.IsZero() && now.Sub(e.listed) < e.cfg.monitor {
		return nil, false, nil
	}
	e.listed = now
	files, err := e.cfg.listFiles()
	if err != nil {
		return nil, false, fmt.Errorf("table '%s': %w", e.cfg.table, err)
	}
	var out []connectors.Split
	for _, f := range files {
		id := e.id(f.path)
		if e.seen[id] {
			continue
		}
		sp, err := fileSplit{Path: f.path}.split(id)
		if err != nil {
			return nil, false, fmt.Errorf("table '%s': %w", e.cfg.table, err)
		}
		e.seen[id] = true
		out = append(out, sp)
	}
	return out, false, nil
}

// id names a file's split: its path relative to the table's path.
func (e *enumerator) id(path string) string {
	if rel, err := filepath.Rel(e.cfg.path, path); err == nil {
		return filepath.ToSlash(rel)
	}
	return path
}

// Snapshot encodes the files returned so far, sorted and front-coded
// (each name as the length of the prefix it shares with the previous one
// and the rest), so a directory of many similar names stays small.
func (e *enumerator) Snapshot() ([]byte, error) {
	names := make([]string, 0, len(e.seen))
	for n := range e.seen {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []byte{seenVersion}
	out = binary.AppendUvarint(out, uint64(len(names)))
	prev := ""
	for _, n := range names {
		k := 0
		for k < len(prev) && k < len(n) && prev[k] == n[k] {
			k++
		}
		out = binary.AppendUvarint(out, uint64(k))
		out = binary.AppendUvarint(out, uint64(len(n)-k))
		out = append(out, n[k:]...)
		prev = n
	}
	return out, nil
}

// Close does nothing.
func (e *enumerator) Close() error { return nil }

const seenVersion = 1

// decodeSeen decodes a Snapshot (nil: nothing seen).
func decodeSeen(b []byte) (map[string]bool, error) {
	seen := map[string]bool{}
	if len(b) == 0 {
		return seen, nil
	}
	if b[0] != seenVersion {
		return nil, fmt.Errorf("unknown snapshot version %d", b[0])
	}
	b = b[1:]
	next := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errors.New("truncated snapshot")
		}
		b = b[n:]
		return v, nil
	}
	count, err := next()
	if err != nil {
		return nil, err
	}
	prev := ""
	for range count {
		k, err := next()
		if err != nil {
			return nil, err
		}
		l, err := next()
		if err != nil {
			return nil, err
		}
		if k > uint64(len(prev)) || l > uint64(len(b)) {
			return nil, errors.New("corrupt snapshot")
		}
		n := prev[:k] + string(b[:l])
		b = b[l:]
		seen[n] = true
		prev = n
	}
	if len(b) != 0 {
		return nil, errors.New("trailing bytes in snapshot")
	}
	return seen, nil
}

// NewSplitReader opens the reader of source subtask rc.Subtask.
func (s *SplitSource) NewSplitReader(ctx context.Context, rc connectors.ReaderContext) (connectors.SplitReader, error) {
	return &splitReader{cfg: s.cfg, rc: rc}, nil
}

// splitReader reads its files one at a time, in the order assigned.
type splitReader struct {
	cfg   *config
	rc    connectors.ReaderContext
	queue []queued
	cur   *Reader // reads the file of curID
	curID string
	curSp fileSplit
}

type queued struct {
	id string
	sp fileSplit
}

var _ connectors.SplitReader = (*splitReader)(nil)

// AddSplits queues files to read.
func (r *splitReader) AddSplits(ctx context.Context, splits []connectors.Split) error {
	for _, s := range splits {
		var fs fileSplit
		if err := json.Unmarshal(s.State, &fs); err != nil || fs.Path == "" || fs.Offset < 0 {
			return fmt.Errorf("table '%s': split '%s': bad state %q", r.cfg.table, s.ID, s.State)
		}
		r.queue = append(r.queue, queued{id: s.ID, sp: fs})
	}
	return nil
}

// Next returns rows of the current file, or reports it Finished.
func (r *splitReader) Next(ctx context.Context) (connectors.SplitBatch, error) {
	if r.cur == nil {
		if len(r.queue) == 0 {
			return connectors.SplitBatch{}, nil
		}
		q := r.queue[0]
		r.queue = r.queue[1:]
		f := file{path: q.sp.Path}
		st, err := os.Stat(q.sp.Path)
		if err != nil {
			return connectors.SplitBatch{}, fmt.Errorf("table '%s': split '%s': %w", r.cfg.table, q.id, err)
		}
		f.size = st.Size()
		if err := r.cfg.describe(&f); err != nil {
			return connectors.SplitBatch{}, fmt.Errorf("table '%s': %w", r.cfg.table, err)
		}
		r.cur = newReader(r.cfg, r.rc, []piece{{file: f, start: q.sp.Offset, end: toEnd}})
		r.curID, r.curSp = q.id, q.sp
	}
	rec, err := r.cur.Next(ctx)
	if errors.Is(err, io.EOF) {
		err := r.cur.Close()
		id := r.curID
		r.cur = nil
		if err != nil {
			return connectors.SplitBatch{}, fmt.Errorf("table '%s': %w", r.cfg.table, err)
		}
		return connectors.SplitBatch{Split: id, Finished: true}, nil
	}
	if err != nil {
		return connectors.SplitBatch{}, err
	}
	return connectors.SplitBatch{Split: r.curID, Batch: stream.Batch{Record: rec}}, nil
}

// Snapshot returns the file being read, at the position after the rows
// returned, and the queued files.
func (r *splitReader) Snapshot() ([]connectors.Split, error) {
	var out []connectors.Split
	if r.cur != nil {
		sp := r.curSp
		if r.cur.next > 0 {
			sp.Offset = r.cur.pos
		}
		s, err := sp.split(r.curID)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	for _, q := range r.queue {
		s, err := q.sp.split(q.id)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Close closes the open file.
func (r *splitReader) Close() error {
	if r.cur == nil {
		return nil
	}
	err := r.cur.Close()
	r.cur = nil
	return err
}
