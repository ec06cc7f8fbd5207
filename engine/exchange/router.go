package exchange

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Router sends one producer subtask's output over one edge. It is used by
// the producer's goroutine only.
type Router interface {
	// Route sends b's rows to the subtasks that should get them. It takes
	// ownership of b.
	Route(ctx context.Context, b stream.Batch) error
	// Broadcast sends a control message (watermark, idle, end) to every
	// target. m must not carry a batch.
	Broadcast(ctx context.Context, m stream.Message) error
}

// RouterConfig describes the edge a Router serves.
type RouterConfig struct {
	// Kind is the exchange kind.
	Kind jobgraph.ExchangeKind
	// Producer is the index of the producing subtask.
	Producer int
	// Targets are the senders to the receiving subtasks. For Forward and
	// Single it holds the one sender to the receiving subtask; otherwise
	// Targets[i] sends to consumer subtask i.
	Targets []Sender
	// Keys are the key columns of a Hash exchange.
	Keys []int
	// MaxParallelism is the job's number of key groups (Hash).
	MaxParallelism int
	// Alloc allocates the batches a Hash exchange builds.
	Alloc memory.Allocator
}

// NewRouter returns the router for cfg.
func NewRouter(cfg RouterConfig) (Router, error) {
	if len(cfg.Targets) == 0 {
		return nil, fmt.Errorf("exchange: %s router has no targets", cfg.Kind)
	}
	switch cfg.Kind {
	case jobgraph.Forward, jobgraph.Single:
		if len(cfg.Targets) != 1 {
			return nil, fmt.Errorf("exchange: %s router wants one target, has %d", cfg.Kind, len(cfg.Targets))
		}
		return &broadcastRouter{targets: cfg.Targets}, nil
	case jobgraph.Broadcast:
		return &broadcastRouter{targets: cfg.Targets}, nil
	case jobgraph.Rebalance:
		return &rebalanceRouter{targets: cfg.Targets, next: cfg.Producer % len(cfg.Targets)}, nil
	case jobgraph.Hash:
		return newHashRouter(cfg)
	}
	return nil, fmt.Errorf("exchange: unknown exchange kind %q", cfg.Kind)
}

// broadcastToAll sends a control message to every target.
func broadcastToAll(ctx context.Context, targets []Sender, m stream.Message) error {
	if m.Kind == stream.Data {
		m.Batch.Release()
		return fmt.Errorf("exchange: Broadcast got a data message")
	}
	for _, t := range targets {
		if err := t.Send(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// broadcastRouter sends every batch to every target (one target for
// forward and single edges).
type broadcastRouter struct {
	targets []Sender
}

// Route implements Router.
func (r *broadcastRouter) Route(ctx context.Context, b stream.Batch) error {
	if len(r.targets) > 1 {
		Share(b)
	}
	for i, t := range r.targets {
		last := i == len(r.targets)-1
		if !last {
			b.Record.Retain() // one reference for this target, one kept for the rest
		}
		if err := t.Send(ctx, stream.DataMessage(b)); err != nil {
			if !last {
				b.Record.Release() // the reference kept for the targets not reached
			}
			return err
		}
	}
	return nil
}

// Broadcast implements Router.
func (r *broadcastRouter) Broadcast(ctx context.Context, m stream.Message) error {
	return broadcastToAll(ctx, r.targets, m)
}

// rebalanceRouter sends whole batches round-robin.
type rebalanceRouter struct {
	targets []Sender
	next    int
}

// Route implements Router.
func (r *rebalanceRouter) Route(ctx context.Context, b stream.Batch) error {
	t := r.targets[r.next]
	r.next = (r.next + 1) % len(r.targets)
	return t.Send(ctx, stream.DataMessage(b))
}

// Broadcast implements Router.
func (r *rebalanceRouter) Broadcast(ctx context.Context, m stream.Message) error {
	return broadcastToAll(ctx, r.targets, m)
}

// hashRouter sends each row to the subtask owning its key group. It hashes
// the key columns with keygroup.HashColumns, groups row indices by target
// with a counting sort, gathers the batch once in that order with Arrow's
// take kernel, and sends each target a zero-copy slice of the result.
type hashRouter struct {
	targets []Sender
	keys    []int
	maxP    int
	takeCtx context.Context

	// Scratch buffers reused across batches.
	hashes []uint64
	dest   []int32
	perm   []int32
	counts []int
	starts []int
	cols   []arrow.Array
}

func newHashRouter(cfg RouterConfig) (*hashRouter, error) {
	if len(cfg.Keys) == 0 {
		return nil, fmt.Errorf("exchange: hash router has no key columns")
	}
	if err := keygroup.Validate(len(cfg.Targets), cfg.MaxParallelism); err != nil {
		return nil, fmt.Errorf("exchange: hash router: %w", err)
	}
	for _, k := range cfg.Keys {
		if k < 0 {
			return nil, fmt.Errorf("exchange: hash router: key column %d is negative", k)
		}
	}
	alloc := cfg.Alloc
	if alloc == nil {
		alloc = memory.DefaultAllocator
	}
	// One goroutine per take: the subtasks already use the cores.
	ec := compute.DefaultExecCtx()
	ec.NumParallel = 1
	takeCtx := compute.SetExecCtx(compute.WithAllocator(context.Background(), alloc), ec)
	return &hashRouter{
		targets: cfg.Targets,
		keys:    cfg.Keys,
		maxP:    cfg.MaxParallelism,
		takeCtx: takeCtx,
		counts:  make([]int, len(cfg.Targets)),
		starts:  make([]int, len(cfg.Targets)),
		cols:    make([]arrow.Array, len(cfg.Keys)),
	}, nil
}

// destinations sets dest[i] to the consumer subtask of row i of rec: the
// subtask of parallelism p owning the key group of the row's key hash.
func (r *hashRouter) destinations(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	for i, k := range r.keys {
		if k >= int(rec.NumCols()) {
			return fmt.Errorf("exchange: hash key column %d out of range: batch has %d columns", k, rec.NumCols())
		}
		r.cols[i] = rec.Column(k)
	}
	if cap(r.hashes) < n {
		r.hashes = make([]uint64, n)
		r.dest = make([]int32, n)
		r.perm = make([]int32, n)
	}
	hashes, dest := r.hashes[:n], r.dest[:n]
	if err := keygroup.HashColumns(r.cols, hashes); err != nil {
		return fmt.Errorf("exchange: hash exchange: %w", err)
	}
	p := len(r.targets)
	clear(r.counts)
	for i, h := range hashes {
		t := keygroup.Subtask(keygroup.Of(h, r.maxP), r.maxP, p)
		dest[i] = int32(t)
		r.counts[t]++
	}
	return nil
}

// Route implements Router.
func (r *hashRouter) Route(ctx context.Context, b stream.Batch) error {
	n := b.NumRows()
	if n == 0 {
		b.Release()
		return nil
	}
	if len(r.targets) == 1 {
		return r.targets[0].Send(ctx, stream.DataMessage(b))
	}
	if err := r.destinations(b.Record); err != nil {
		b.Release()
		return err
	}
	for t, c := range r.counts {
		if c == n { // every row goes to one subtask: send the batch as is
			return r.targets[t].Send(ctx, stream.DataMessage(b))
		}
	}
	// Counting sort of row indices by destination.
	off := 0
	for t, c := range r.counts {
		r.starts[t] = off
		off += c
	}
	perm := r.perm[:n]
	for i, t := range r.dest[:n] {
		perm[r.starts[t]] = int32(i)
		r.starts[t]++
	}
	gathered, err := r.take(b.Record, perm)
	if err != nil {
		b.Release()
		return err
	}
	var kinds []stream.RowKind
	if b.Kinds != nil {
		kinds = make([]stream.RowKind, n)
		for j, i := range perm {
			kinds[j] = b.Kinds[i]
		}
	}
	b.Release()
	defer gathered.Release()
	lo := 0
	for t, c := range r.counts {
		if c == 0 {
			continue
		}
		part := stream.Batch{Record: gathered.NewSlice(int64(lo), int64(lo+c))}
		if kinds != nil {
			part.Kinds = kinds[lo : lo+c : lo+c]
		}
		lo += c
		if err := r.targets[t].Send(ctx, stream.DataMessage(part)); err != nil {
			return err
		}
	}
	return nil
}

// take gathers the rows of rec at indices, in that order.
func (r *hashRouter) take(rec arrow.RecordBatch, indices []int32) (arrow.RecordBatch, error) {
	buf := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(indices))
	data := array.NewData(arrow.PrimitiveTypes.Int32, len(indices), []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer data.Release()
	out, err := compute.Take(r.takeCtx, *compute.DefaultTakeOptions(), &compute.RecordDatum{Value: rec}, &compute.ArrayDatum{Value: data})
	if err != nil {
		return nil, fmt.Errorf("exchange: hash exchange: gather rows: %w", err)
	}
	rd, ok := out.(*compute.RecordDatum)
	if !ok {
		out.Release()
		return nil, fmt.Errorf("exchange: hash exchange: take returned %s, not a record", out.Kind())
	}
	return rd.Value, nil
}

// Broadcast implements Router.
func (r *hashRouter) Broadcast(ctx context.Context, m stream.Message) error {
	return broadcastToAll(ctx, r.targets, m)
}

// Share prepares a batch to be read by several goroutines at once, as when
// one batch fans out to several consumers. Arrow computes an array's null
// count lazily, on the first NullN call, and caches it without
// synchronization; Share computes it up front so that concurrent readers
// only read. (Eddy's column types are all flat, so the top-level arrays are
// all there is to settle.)
func Share(b stream.Batch) {
	if b.Record == nil {
		return
	}
	for _, c := range b.Record.Columns() {
		c.NullN()
	}
}
