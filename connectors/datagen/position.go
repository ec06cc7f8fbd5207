package datagen

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/eddy-streaming/eddy/connectors"
)

var (
	_ connectors.RestorableSource = (*Source)(nil)
	_ connectors.PositionedReader = (*Reader)(nil)
)

// level records what the readers of one earlier run had read: reader s of
// P had returned exactly the rows i with i mod P == s and i < Next[s].
type level struct {
	P    int64   `json:"p"`
	Next []int64 `json:"next"`
}

// read reports whether the run's readers returned row i.
func (l level) read(i int64) bool { return i < l.Next[i%l.P] }

// bounds returns the row below which the run read every row, and the row
// from which it read none.
func (l level) bounds() (lo, hi int64) { return slices.Min(l.Next), slices.Max(l.Next) }

// position is a reader's position, as JSON: reader S of P returns rows
// i mod P == S in order, and Next is the next it would return. Levels are
// the earlier runs a restored reader still skips rows of: row i of this
// reader's share was returned, in this run or an earlier one, iff
// i < Next or some level read it.
type position struct {
	P      int64   `json:"p"`
	S      int64   `json:"s"`
	Next   int64   `json:"next"`
	Levels []level `json:"levels,omitempty"`
}

// Position returns the reader's position: every row it returned is a
// function of the seed and its index, so the indices are all a checkpoint
// needs.
func (r *Reader) Position() ([]byte, error) {
	pos := position{P: r.step, S: r.subtask, Next: r.next}
	for _, l := range r.levels {
		if _, hi := l.bounds(); r.next < hi {
			pos.Levels = append(pos.Levels, l)
		}
	}
	data, err := json.Marshal(pos)
	if err != nil {
		return nil, fmt.Errorf("table '%s': position: %w", r.src.cfg.table, err)
	}
	return data, nil
}

// RestoreReader opens reader rc.Subtask of rc.Parallelism resuming after
// positions, those of every reader of the checkpoint, taken at any
// parallelism: it produces the rows of its share (i mod P' ==
// rc.Subtask) that no old reader had returned, in index order, so every
// row is produced exactly once over the two runs, and each row is the one
// an uninterrupted run produces (a function of the seed and its index).
func (s *Source) RestoreReader(ctx context.Context, rc connectors.ReaderContext, positions [][]byte) (connectors.Reader, error) {
	rd, err := s.Reader(ctx, rc)
	if err != nil {
		return nil, err
	}
	r := rd.(*Reader)
	levels, err := s.levels(positions)
	if err != nil {
		return nil, fmt.Errorf("table '%s': restoring reader %d of %d: %w", s.cfg.table, rc.Subtask, rc.Parallelism, err)
	}
	// Rows below the largest lo of a level were all read; from the
	// largest hi on none was.
	var lo int64
	for _, l := range levels {
		llo, lhi := l.bounds()
		lo, r.hi = max(lo, llo), max(r.hi, lhi)
	}
	r.levels = levels
	// The first row of this reader's share at or after lo.
	r.next = lo + ((r.subtask-lo)%r.step+r.step)%r.step
	return r, nil
}

// levels turns the positions of every reader of a run into the levels of
// that run and the earlier ones its readers still carried.
func (s *Source) levels(positions [][]byte) ([]level, error) {
	var top *level
	var levels []level
	for i, data := range positions {
		var pos position
		if err := json.Unmarshal(data, &pos); err != nil {
			return nil, fmt.Errorf("bad position %d: %w", i, err)
		}
		if pos.P < 1 || pos.S < 0 || pos.S >= pos.P || pos.Next < 0 || pos.Next%pos.P != pos.S {
			return nil, fmt.Errorf("bad position %d: reader %d of %d at row %d", i, pos.S, pos.P, pos.Next)
		}
		if top == nil {
			top = &level{P: pos.P, Next: make([]int64, pos.P)}
			for j := range top.Next {
				top.Next[j] = -1
			}
		}
		if pos.P != top.P {
			return nil, fmt.Errorf("bad position %d: taken at parallelism %d, another at %d", i, pos.P, top.P)
		}
		if top.Next[pos.S] >= 0 {
			return nil, fmt.Errorf("bad position %d: reader %d of %d appears twice", i, pos.S, pos.P)
		}
		top.Next[pos.S] = pos.Next
		for _, l := range pos.Levels {
			if l.P < 1 || int64(len(l.Next)) != l.P {
				return nil, fmt.Errorf("bad position %d: a level of parallelism %d with %d rows", i, l.P, len(l.Next))
			}
			if !slices.ContainsFunc(levels, func(o level) bool { return o.P == l.P && slices.Equal(o.Next, l.Next) }) {
				levels = append(levels, l)
			}
		}
	}
	if top == nil {
		return nil, nil // no positions: from the beginning
	}
	for j, n := range top.Next {
		if n < 0 {
			return nil, fmt.Errorf("the position of reader %d of %d is missing", j, top.P)
		}
	}
	return append(levels, *top), nil
}

// read reports whether an earlier run returned row i.
func (r *Reader) read(i int64) bool {
	for _, l := range r.levels {
		if l.read(i) {
			return true
		}
	}
	return false
}

// fillRestored appends to the builder up to n rows of the reader's share
// from r.next on that earlier runs did not return, stopping at r.hi, and
// returns how many. Runs of consecutive such rows are generated together.
func (r *Reader) fillRestored(n int) int {
	end := r.hi
	if r.src.cfg.bounded {
		end = min(end, r.src.cfg.rows)
	}
	got, run := 0, 0
	var first int64
	flush := func() {
		if run > 0 {
			r.gen.fill(r.builder, uint64(first), uint64(r.step), run)
			got += run
			run = 0
		}
	}
	for ; r.next < end && got+run < n; r.next += r.step {
		if r.read(r.next) {
			flush()
			continue
		}
		if run == 0 {
			first = r.next
		}
		run++
	}
	flush()
	if r.next >= r.hi {
		r.levels = nil
	}
	return got
}
