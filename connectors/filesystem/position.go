package filesystem

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/eddy-streaming/eddy/connectors"
)

var (
	_ connectors.RestorableSource = (*Source)(nil)
	_ connectors.PositionedReader = (*Reader)(nil)
)

// position is a reader's position, as JSON: for each file it has read
// from, the byte ranges whose records it has returned (every record that
// starts inside them). A file not named was not read.
type position struct {
	Files []filePosition `json:"files"`
}

// filePosition is the part of one file a reader has returned.
type filePosition struct {
	Path string     `json:"path"`
	Done [][2]int64 `json:"done"` // [from, to) byte ranges, sorted, disjoint
}

// Position describes everything the reader has returned: the pieces it
// finished whole, of the open piece the range up to the start of the next
// record, and, for a restored reader, every range the positions it was
// restored from had read (so that a checkpoint of a restored run still
// covers what earlier runs read, and a second restore does not read it
// again).
func (r *Reader) Position() ([]byte, error) {
	done := map[string][][2]int64{}
	for path, ds := range r.restored {
		done[path] = append(done[path], ds...)
	}
	add := func(path string, from, to int64) {
		if from < to {
			done[path] = append(done[path], [2]int64{from, to})
		}
	}
	whole := r.next
	if r.isOpen() {
		whole--
	}
	for _, p := range r.pieces[:whole] {
		add(p.path, p.start, p.end)
	}
	if r.isOpen() {
		add(r.p.path, r.p.start, min(r.pos, r.p.end))
	}
	paths := make([]string, 0, len(done))
	for path := range done {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	var pos position
	for _, path := range paths {
		pos.Files = append(pos.Files, filePosition{Path: path, Done: union(append([][2]int64(nil), done[path]...))})
	}
	data, err := json.Marshal(pos)
	if err != nil {
		return nil, fmt.Errorf("table '%s': position: %w", r.cfg.table, err)
	}
	return data, nil
}

// RestoreReader opens the reader of rc.Subtask of rc.Parallelism resuming
// after positions (every reader's, at any parallelism): it reads its share
// of the files as Reader does, less every byte range a position says was
// read, so each record is returned exactly once over both runs. A
// changelog-json writer's files were read by one reader in order, so what
// is left of them is a suffix, still read in order.
func (s *Source) RestoreReader(ctx context.Context, rc connectors.ReaderContext, positions [][]byte) (connectors.Reader, error) {
	rd, err := s.Reader(ctx, rc)
	if err != nil {
		return nil, err
	}
	r := rd.(*Reader)
	done := map[string][][2]int64{}
	for i, data := range positions {
		if len(data) == 0 {
			continue
		}
		var pos position
		if err := json.Unmarshal(data, &pos); err != nil {
			return nil, fmt.Errorf("table '%s': restoring reader %d: bad position %d: %w", s.cfg.table, rc.Subtask, i, err)
		}
		for _, f := range pos.Files {
			for _, d := range f.Done {
				if d[0] < 0 || d[1] < d[0] {
					return nil, fmt.Errorf("table '%s': restoring reader %d: bad position %d: byte range [%d, %d) of '%s'", s.cfg.table, rc.Subtask, i, d[0], d[1], f.Path)
				}
				done[f.Path] = append(done[f.Path], d)
			}
		}
	}
	for path, ds := range done {
		done[path] = union(ds)
	}
	var left []piece
	for _, p := range r.pieces {
		left = append(left, subtract(p, done[p.path])...)
	}
	r.pieces = left
	r.restored = done
	return r, nil
}

// union sorts byte ranges and merges those that overlap or touch.
func union(ds [][2]int64) [][2]int64 {
	sort.Slice(ds, func(i, j int) bool { return ds[i][0] < ds[j][0] })
	out := ds[:0]
	for _, d := range ds {
		if n := len(out); n > 0 && d[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], d[1])
			continue
		}
		out = append(out, d)
	}
	return out
}

// subtract returns what is left of p without the sorted, disjoint ranges
// done.
func subtract(p piece, done [][2]int64) []piece {
	var out []piece
	from := p.start
	for _, d := range done {
		if d[1] <= from {
			continue
		}
		if d[0] >= p.end {
			break
		}
		if d[0] > from {
			q := p
			q.start, q.end = from, d[0]
			out = append(out, q)
		}
		from = d[1]
		if from >= p.end {
			return out
		}
	}
	if from < p.end {
		q := p
		q.start = from
		out = append(out, q)
	}
	return out
}
