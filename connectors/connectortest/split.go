package connectortest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/types"
)

// splitDriver drives a connectors.SplitSource the way the runtime does:
// an enumerator discovers splits, they are assigned to readers (by the
// source's SplitAssigner, else to the reader holding the fewest), readers
// read them; at a checkpoint the enumerator and every reader snapshot;
// after a failure a new enumerator restores from its snapshot and the
// snapshotted splits are assigned again, with their positions, to a new
// set of readers (possibly of another number). It checks the contracts
// on the way and returns the rows as a job would have committed them.
type splitDriver struct {
	ss     connectors.SplitSource
	schema types.Schema
	mem    memory.Allocator
	log    *slog.Logger
	r      *rand.Rand
	batch  int

	enum    connectors.SplitEnumerator
	enumEnd bool
	readers []connectors.SplitReader
	// holder is the reader of each split being read; finished the splits
	// reported finished.
	holder   map[string]int
	finished map[string]bool
	// known are the splits discovered so far, by any enumerator.
	known map[string]bool
	calls int
}

// splitRun is what one driven read gives.
type splitRun struct {
	rows  []Row
	calls int // Next calls made
}

func (d *splitDriver) rc(i, p int) connectors.ReaderContext {
	return connectors.ReaderContext{Subtask: i, Parallelism: p, BatchSize: d.batch, Alloc: d.mem,
		Logger: d.log, Metrics: metrics{}, Checkpointing: true}
}

// open makes an enumerator (restored from ckpt when not nil) and p readers.
func (d *splitDriver) open(ctx context.Context, p int, ckpt []byte) error {
	enum, err := d.ss.NewEnumerator(ctx, connectors.EnumeratorContext{Parallelism: p, Logger: d.log}, ckpt)
	if err != nil {
		return fmt.Errorf("NewEnumerator: %w", err)
	}
	if enum == nil {
		return fmt.Errorf("NewEnumerator returned no enumerator")
	}
	d.enum, d.enumEnd = enum, false
	d.readers = make([]connectors.SplitReader, p)
	for i := range d.readers {
		rd, err := d.ss.NewSplitReader(ctx, d.rc(i, p))
		if err != nil {
			return fmt.Errorf("NewSplitReader(%d of %d): %w", i, p, err)
		}
		if rd == nil {
			return fmt.Errorf("NewSplitReader(%d of %d) returned no reader", i, p)
		}
		d.readers[i] = rd
	}
	d.holder = map[string]int{}
	return nil
}

// closeAll closes the enumerator and the readers.
func (d *splitDriver) closeAll() error {
	var errs []error
	for i, rd := range d.readers {
		if err := rd.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close reader %d: %w", i, err))
		}
	}
	d.readers = nil
	if d.enum != nil {
		if err := d.enum.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close enumerator: %w", err))
		}
		d.enum = nil
	}
	if len(errs) > 0 {
		return fmt.Errorf("%v", errs)
	}
	return nil
}

// assign gives splits to readers.
func (d *splitDriver) assign(ctx context.Context, splits []connectors.Split) error {
	p := len(d.readers)
	per := make([][]connectors.Split, p)
	load := make([]int, p)
	for _, r := range d.holder {
		load[r]++
	}
	for _, s := range splits {
		i := -1
		if a, ok := d.ss.(connectors.SplitAssigner); ok {
			i = a.Assign(s, p)
			if i < 0 || i >= p {
				return fmt.Errorf("SplitAssigner.Assign(%q, %d) = %d, not a reader", s.ID, p, i)
			}
		} else {
			i = 0
			for k := range load {
				if load[k] < load[i] {
					i = k
				}
			}
		}
		load[i]++
		d.holder[s.ID] = i
		per[i] = append(per[i], s)
	}
	for i, ss := range per {
		if len(ss) > 0 {
			if err := d.readers[i].AddSplits(ctx, ss); err != nil {
				return fmt.Errorf("reader %d: AddSplits: %w", i, err)
			}
		}
	}
	return nil
}

// discover asks the enumerator for new splits and assigns them.
func (d *splitDriver) discover(ctx context.Context) error {
	if d.enumEnd {
		return nil
	}
	splits, done, err := d.enum.Discover(ctx)
	if err != nil {
		return fmt.Errorf("Discover: %w", err)
	}
	for _, s := range splits {
		if s.ID == "" {
			return fmt.Errorf("Discover returned a split with an empty ID")
		}
		if d.known[s.ID] {
			return fmt.Errorf("the enumerator returned split %q again (after a restore: its checkpoint should say it was discovered)", s.ID)
		}
		d.known[s.ID] = true
	}
	d.enumEnd = done
	return d.assign(ctx, splits)
}

// step makes one Next call on reader i; rows read are appended to out.
func (d *splitDriver) step(ctx context.Context, i int, out *[]Row) (bool, error) {
	d.calls++
	sb, err := d.readers[i].Next(ctx)
	if err != nil {
		return false, fmt.Errorf("reader %d: Next: %w", i, err)
	}
	if sb.Batch.Record == nil && !sb.Finished {
		if sb.Batch.Kinds != nil {
			return false, fmt.Errorf("reader %d: Next returned row kinds without a record", i)
		}
		return false, nil
	}
	h, held := d.holder[sb.Split]
	if !held || h != i {
		if sb.Batch.Record != nil {
			sb.Batch.Release()
		}
		if d.finished[sb.Split] {
			return false, fmt.Errorf("reader %d: Next returned split %q after reporting it finished", i, sb.Split)
		}
		return false, fmt.Errorf("reader %d: Next returned split %q, which it was not given", i, sb.Split)
	}
	if rec := sb.Batch.Record; rec != nil {
		p := checkTypes(rec, d.schema)
		if p == "" && sb.Batch.Kinds != nil && len(sb.Batch.Kinds) != sb.Batch.NumRows() {
			p = fmt.Sprintf("a batch of %d rows with %d row kinds", sb.Batch.NumRows(), len(sb.Batch.Kinds))
		}
		if p == "" && sb.Batch.NumRows() > d.batch {
			p = fmt.Sprintf("a batch of %d rows, more than the reader context's BatchSize %d", sb.Batch.NumRows(), d.batch)
		}
		if p != "" {
			sb.Batch.Release()
			return false, fmt.Errorf("reader %d, split %q: %s", i, sb.Split, p)
		}
		*out = append(*out, Rows(sb.Batch)...)
		sb.Batch.Release()
	}
	if sb.Finished {
		delete(d.holder, sb.Split)
		d.finished[sb.Split] = true
	}
	return true, nil
}

// snapshot takes a checkpoint: the enumerator's state and every reader's
// splits, checked against what each reader holds.
func (d *splitDriver) snapshot() ([]byte, []connectors.Split, error) {
	enumState, err := d.enum.Snapshot()
	if err != nil {
		return nil, nil, fmt.Errorf("enumerator Snapshot: %w", err)
	}
	var all []connectors.Split
	for i, rd := range d.readers {
		ss, err := rd.Snapshot()
		if err != nil {
			return nil, nil, fmt.Errorf("reader %d: Snapshot: %w", i, err)
		}
		var got, want []string
		for _, s := range ss {
			got = append(got, s.ID)
		}
		for id, h := range d.holder {
			if h == i {
				want = append(want, id)
			}
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			return nil, nil, fmt.Errorf("reader %d: Snapshot returned splits %q, but it holds the unfinished splits %q", i, got, want)
		}
		all = append(all, ss...)
	}
	return enumState, all, nil
}

// read reads until every split is finished and the enumerator is done.
// When stopAt > 0, it takes a checkpoint after stopAt Next calls, reads
// on for a few more (whose rows are lost, as in a failure), and restores
// onto p2 readers. The rows returned are those read before the checkpoint
// plus those read after the restore.
func (d *splitDriver) read(ctx context.Context, p1, p2, stopAt int) (*splitRun, error) {
	d.known, d.finished = map[string]bool{}, map[string]bool{}
	if err := d.open(ctx, p1, nil); err != nil {
		return nil, err
	}
	defer func() { _ = d.closeAll() }()
	var rows []Row
	restored := stopAt <= 0
	idleSince, start := time.Time{}, time.Now()
	for {
		if d.calls%8 == 0 || len(d.holder) == 0 {
			if err := d.discover(ctx); err != nil {
				return nil, err
			}
		}
		if !restored && d.calls >= stopAt {
			enumState, splits, err := d.snapshot()
			if err != nil {
				return nil, err
			}
			// The failure: a few more reads whose rows are lost.
			var lost []Row
			for k := d.r.IntN(6); k > 0 && len(d.holder) > 0; k-- {
				if _, err := d.step(ctx, d.r.IntN(len(d.readers)), &lost); err != nil {
					return nil, err
				}
			}
			if err := d.closeAll(); err != nil {
				return nil, err
			}
			d.finished = map[string]bool{}
			if err := d.open(ctx, p2, enumState); err != nil {
				return nil, fmt.Errorf("restore: %w", err)
			}
			if err := d.assign(ctx, splits); err != nil {
				return nil, fmt.Errorf("restore: %w", err)
			}
			restored = true
			continue
		}
		if len(d.holder) == 0 && d.enumEnd {
			return &splitRun{rows: rows, calls: d.calls}, nil
		}
		if len(d.holder) == 0 {
			if time.Since(start) > time.Minute {
				return nil, fmt.Errorf("the enumerator of a bounded source did not report done within a minute")
			}
			time.Sleep(100 * time.Microsecond)
			continue
		}
		got, err := d.step(ctx, d.r.IntN(len(d.readers)), &rows)
		if err != nil {
			return nil, err
		}
		if got {
			idleSince = time.Time{}
			continue
		}
		if idleSince.IsZero() {
			idleSince = time.Now()
		} else if time.Since(idleSince) > 20*time.Second {
			var open []string
			for id := range d.holder {
				open = append(open, id)
			}
			sort.Strings(open)
			return nil, fmt.Errorf("the readers returned nothing for 20 s while splits %q are unfinished (a bounded source's splits must finish)", open)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// metrics is an operator.Metrics that counts nothing.
type metrics struct{}

// Counter returns a counter that drops what it is given.
func (metrics) Counter(name, help string) operator.Counter { return nopCounter{} }

type nopCounter struct{}

func (nopCounter) Add(float64) {}
