package windowagg

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddy-streaming/eddy/engine/internal/winbuf"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
)

// shared is the state that HOP and CUMULATE windows share between
// overlapping windows; see the package comment for the design.
//
// Blocks. HOP cuts event time into blocks of one window size, aligned on
// window starts (windows.periodStart). A window starting at a in block A is
// either all of block A (a = A) or the suffix of block A from a plus the
// prefix of block A + size up to a + size. run is the running prefix of
// the newest block with absorbed slices, extended by one slice at a time;
// when the first window that needs a suffix of block A fires, complete
// turns A's slices, kept in the buffer, into suffix aggregates, newest
// first, each one merged from the next: one merge per slice. CUMULATE's
// periods are blocks whose windows all start at the block start, so run
// alone serves them.
type shared struct {
	o *Operator
	w windows

	// run is the running aggregate of the slices of block runStart
	// absorbed so far (HOP's prefix, CUMULATE's window); hasRun says it
	// belongs to a block.
	run      *slice
	runStart int64
	hasRun   bool
	// stored holds, ascending, the starts of the absorbed slices of block
	// runStart, which stay in the buffer under their own keys until the
	// block's suffixes are computed (HOP).
	stored []int64
	// snaps holds, ascending, the starts a of the suffix aggregates of
	// block snapBlock, in the buffer under key [a, a + size): suffix a
	// covers the absorbed slices of the block from a on. A window starting
	// at a uses the first suffix at or after a (HOP).
	snaps     []int64
	snapBlock int64
	// patches holds the rows that arrived behind the watermark but inside
	// windows still open, by slice end (HOP): they are merged into every
	// window of their slice that fires after they arrived, until the
	// slice's last window. patchEnds lists their keys, ascending.
	patches   map[int64]*slice
	patchEnds []int64
	// spilled says the last snapshot wrote run and the patches to state
	// (snapshot.go): load merges them back before they are used whole.
	spilled bool

	// Scratch.
	snapsRev []int64
	parts    []*slice
}

func (sh *shared) init(o *Operator) {
	sh.o, sh.w = o, o.win
	sh.patches = map[int64]*slice{}
}

// snapKey is the buffer key of the suffix aggregate starting at a.
func (sh *shared) snapKey(a int64) winbuf.Key { return winbuf.Key{Start: a, End: a + sh.w.span} }

// updateLive folds rows of a slice that has already been absorbed (its end
// - 1 <= wm) but whose last window has not fired. CUMULATE adds them to the
// running window, which every later window of the period includes; HOP
// keeps them in a patch for the slice.
func (sh *shared) updateLive(rec arrow.RecordBatch, end int64, sel []int32) error {
	o := sh.o
	if sh.w.kind == jobgraph.Tumble {
		return fmt.Errorf("internal error: a TUMBLE slice ending at %d was updated after it fired", end)
	}
	o.live = max(o.live, sh.w.lastWindowEnd(end))
	if sh.w.kind == jobgraph.Cumulate {
		if err := sh.enterRun(sh.w.periodStart(end - 1)); err != nil {
			return err
		}
		_, err := o.fold(sh.run, rec, sel)
		return err
	}
	p := sh.patches[end]
	if p == nil {
		var err error
		if p, err = o.buf.New(); err != nil {
			return err
		}
		sh.patches[end] = p
		i, _ := slices.BinarySearch(sh.patchEnds, end)
		sh.patchEnds = slices.Insert(sh.patchEnds, i, end)
	}
	_, err := o.fold(p, rec, sel)
	return err
}

// enterRun makes run the running aggregate of block b, dropping an older
// block's.
func (sh *shared) enterRun(b int64) error {
	if sh.hasRun && sh.runStart == b {
		return nil
	}
	if sh.hasRun && sh.runStart > b {
		return fmt.Errorf("internal error: block %d entered after block %d", b, sh.runStart)
	}
	if len(sh.stored) > 0 {
		return fmt.Errorf("internal error: block %d entered while block %d still holds %d slices", b, sh.runStart, len(sh.stored))
	}
	if err := sh.load(); err != nil {
		return err
	}
	if sh.run == nil {
		var err error
		if sh.run, err = sh.o.buf.New(); err != nil {
			return err
		}
	} else {
		sh.run.Reset()
	}
	sh.runStart, sh.hasRun = b, true
	return nil
}

// dropRun forgets the running aggregate.
func (sh *shared) dropRun() {
	if sh.hasRun {
		sh.run.Reset()
		sh.hasRun = false
	}
}

// fire emits the window ending at e after absorbing every pending slice
// that ends at or before e.
func (sh *shared) fire(ctx context.Context, e int64, out operator.Collector) error {
	if err := sh.load(); err != nil {
		return err
	}
	if sh.w.kind == jobgraph.Cumulate {
		return sh.fireCumulate(ctx, e, out)
	}
	return sh.fireHop(ctx, e, out)
}

// absorb takes the pending slices that end at or before e out of the
// buffer, in end order, and hands each to fn, which owns it.
func (sh *shared) absorb(e int64, fn func(se int64, s *slice) error) error {
	o := sh.o
	for len(o.pending) > 0 && o.pending[0] <= e {
		se := o.pending[0]
		o.pending = o.pending[1:]
		s, ok, err := o.buf.Take(o.sliceKey(se))
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		o.live = max(o.live, sh.w.lastWindowEnd(se))
		if err := fn(se, s); err != nil {
			return err
		}
	}
	return nil
}

func (sh *shared) fireCumulate(ctx context.Context, e int64, out operator.Collector) error {
	o := sh.o
	err := sh.absorb(e, func(se int64, s *slice) error {
		defer o.buf.Recycle(s)
		if err := sh.enterRun(sh.w.periodStart(se - 1)); err != nil {
			return err
		}
		return o.mergeInto(sh.run, s)
	})
	if err != nil {
		return err
	}
	p := sh.w.periodStart(e - 1)
	if sh.hasRun && sh.runStart == p {
		return o.emit(ctx, winbuf.Key{Start: p, End: e}, sh.run, out)
	}
	return nil
}

func (sh *shared) fireHop(ctx context.Context, e int64, out operator.Collector) error {
	o := sh.o
	size := sh.w.span
	a := e - size
	blk := sh.w.periodStart(a)

	// What windows from a on no longer need goes; block blk's suffixes are
	// computed when the first window that needs one fires.
	if len(sh.stored) > 0 && sh.runStart < blk {
		if err := sh.dropStored(len(sh.stored)); err != nil {
			return err
		}
	}
	if len(sh.stored) > 0 && sh.runStart == blk && a > blk {
		if err := sh.complete(blk, a); err != nil {
			return err
		}
	}
	if sh.hasRun && !(sh.runStart == blk && a == blk) && sh.runStart != blk+size {
		sh.dropRun()
	}
	var err error
	n, _ := slices.BinarySearch(sh.snaps, a)
	if sh.snapBlock != blk {
		n = len(sh.snaps)
	}
	if sh.snaps, err = sh.dropSnaps(sh.snaps, n); err != nil {
		return err
	}

	// Absorb the slices ending by e into the running prefix of their
	// block, keeping each for the block's suffixes.
	err = sh.absorb(e, func(se int64, s *slice) error {
		if err := sh.enterRun(sh.w.periodStart(se - sh.w.slice)); err != nil {
			o.buf.Recycle(s)
			return err
		}
		if err := o.mergeInto(sh.run, s); err != nil {
			o.buf.Recycle(s)
			return err
		}
		sh.stored = append(sh.stored, se-sh.w.slice)
		return o.buf.Put(o.sliceKey(se), s)
	})
	if err != nil {
		return err
	}

	// The window: a suffix of block blk (unless a starts the block), the
	// running prefix of the next block, and the patches of its slices.
	var owned, suffix *slice
	parts := sh.parts[:0]
	if a == blk {
		if sh.hasRun && sh.runStart == blk {
			parts = append(parts, sh.run)
		}
	} else {
		if len(sh.snaps) > 0 {
			s, ok, err := o.buf.Take(sh.snapKey(sh.snaps[0]))
			if err != nil {
				return err
			}
			switch {
			case !ok:
				return fmt.Errorf("internal error: suffix [%d, %d) is missing", sh.snaps[0], sh.snaps[0]+size)
			case sh.snaps[0] == a:
				owned = s // used by this window only
				sh.snaps = sh.snaps[1:]
			default:
				suffix = s // also used by the windows up to its start
				parts = append(parts, s)
			}
		}
		if sh.hasRun && sh.runStart == blk+size {
			parts = append(parts, sh.run)
		}
	}
	for _, pe := range sh.patchEnds {
		if pe > e {
			break
		}
		if pe > a {
			parts = append(parts, sh.patches[pe])
		}
	}
	sh.parts = parts[:0]
	err = sh.emitParts(ctx, winbuf.Key{Start: a, End: e}, owned, parts, out)
	if suffix != nil {
		if perr := o.buf.Put(sh.snapKey(sh.snaps[0]), suffix); err == nil {
			err = perr
		}
	}
	if err != nil {
		return err
	}

	// Kept slices and patches whose last window this was go.
	n = 0
	for n < len(sh.stored) && sh.stored[n] <= a {
		n++
	}
	if n > 0 {
		if err := sh.dropStored(n); err != nil {
			return err
		}
	}
	for len(sh.patchEnds) > 0 && sh.w.lastWindowEnd(sh.patchEnds[0]) <= e {
		pe := sh.patchEnds[0]
		sh.patchEnds = sh.patchEnds[1:]
		o.buf.Recycle(sh.patches[pe])
		delete(sh.patches, pe)
	}
	return nil
}

// emitParts emits window k, the union of owned (when not nil; the window
// then recycles it) and parts (which it leaves as they are).
func (sh *shared) emitParts(ctx context.Context, k winbuf.Key, owned *slice, parts []*slice, out operator.Collector) error {
	o := sh.o
	if owned == nil {
		switch len(parts) {
		case 0:
			return nil
		case 1:
			return o.emit(ctx, k, parts[0], out)
		}
		var err error
		if owned, err = o.buf.New(); err != nil {
			return err
		}
	}
	defer o.buf.Recycle(owned)
	for _, p := range parts {
		if err := o.mergeInto(owned, p); err != nil {
			return err
		}
	}
	return o.emit(ctx, k, owned, out)
}

// complete computes the suffix aggregates of block blk that windows from
// a on need, newest first, each merged from the one after it, and drops
// the block's slices.
func (sh *shared) complete(blk, a int64) error {
	o := sh.o
	var acc *slice
	var accStart int64
	sh.snapsRev = sh.snapsRev[:0]
	put := func() error {
		sh.snapsRev = append(sh.snapsRev, accStart)
		return o.buf.Put(sh.snapKey(accStart), acc)
	}
	for i := len(sh.stored) - 1; i >= 0; i-- {
		ss := sh.stored[i]
		s, ok, err := o.buf.Take(o.sliceKey(ss + sh.w.slice))
		if err != nil {
			return err
		}
		if !ok {
			// Empty: after a rescale, no key group of this subtask
			// held rows of the slice.
			continue
		}
		if ss < a {
			o.buf.Recycle(s) // every window holding it has fired
			continue
		}
		if acc != nil {
			if err := o.mergeInto(s, acc); err != nil {
				o.buf.Recycle(s)
				return err
			}
			if err := put(); err != nil {
				return err
			}
		}
		acc, accStart = s, ss
	}
	if acc != nil {
		if err := put(); err != nil {
			return err
		}
	}
	sh.stored = sh.stored[:0]
	sh.snaps = sh.snaps[:0]
	for i := len(sh.snapsRev) - 1; i >= 0; i-- {
		sh.snaps = append(sh.snaps, sh.snapsRev[i])
	}
	sh.snapBlock = blk
	return o.buf.SpillIfFull()
}

// dropStored drops the first n kept slices of the running block.
func (sh *shared) dropStored(n int) error {
	for i, ss := range sh.stored[:n] {
		s, ok, err := sh.o.buf.Take(sh.o.sliceKey(ss + sh.w.slice))
		if err != nil {
			sh.stored = sh.stored[i:]
			return err
		}
		if ok {
			sh.o.buf.Recycle(s)
		}
	}
	sh.stored = sh.stored[:copy(sh.stored, sh.stored[n:])]
	return nil
}

// dropSnaps drops the first n suffixes of snaps and returns the rest.
func (sh *shared) dropSnaps(snaps []int64, n int) ([]int64, error) {
	for i, a := range snaps[:n] {
		s, ok, err := sh.o.buf.Take(sh.snapKey(a))
		if err != nil {
			return snaps[i:], err
		}
		if ok {
			sh.o.buf.Recycle(s)
		}
	}
	return snaps[n:], nil
}

// close forgets everything.
func (sh *shared) close() {
	sh.run, sh.hasRun, sh.patches, sh.patchEnds = nil, false, nil, nil
}
