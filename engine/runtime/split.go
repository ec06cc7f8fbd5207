package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
)

// SplitDiscoveryInterval is how often the split coordinator asks an
// unfinished enumerator for new splits. Enumerators rate-limit their own
// listing (a Kafka discovery interval, a directory monitor interval).
const SplitDiscoveryInterval = 200 * time.Millisecond

// SplitAssignment hands splits to one source subtask. Every subtask of a
// split source receives one after the enumerator's first discovery (maybe
// with no splits), so it knows the initial assignment is done.
type SplitAssignment struct {
	Vertex   string             `json:"vertex"`
	Operator string             `json:"operator"`
	Subtask  int                `json:"subtask"`
	Splits   []connectors.Split `json:"splits,omitempty"`
	// NoMore says no split will be assigned to the subtask again: it ends
	// when it has finished the ones it holds.
	NoMore bool `json:"no_more,omitempty"`
}

// SplitPeers delivers assignments to the source subtasks: in process (Run,
// a Part) or over RPC to the task managers. AssignSplits returns once the
// assignment is queued at the subtask, before any barrier triggered
// afterwards, so a checkpoint holds each split either in a reader's
// position or not yet discovered by the enumerator's snapshot.
type SplitPeers interface {
	AssignSplits(ctx context.Context, a SplitAssignment) error
}

// SplitCoordinator runs the enumerators of one job attempt's split sources
// (connectors.SplitSourceFactory) and assigns their splits to the source
// subtasks: the splits of the checkpoint restored from first, with their
// positions (at any parallelism), then what the enumerators discover. It
// is the job manager's side of FLIP-27 sources. Create it with
// NewSplitCoordinator, drive it with Run, and hand it to the checkpoint
// Coordinator (CoordinatorConfig.Splits) so that checkpoints hold the
// enumerators' state.
type SplitCoordinator struct {
	mu      sync.Mutex
	sources []*splitEnum
	peers   SplitPeers
	logger  *slog.Logger
}

// splitEnum is one split source of the job.
type splitEnum struct {
	vertex, op  string
	parallelism int
	table       string
	src         connectors.SplitSource
	enum        connectors.SplitEnumerator
	assigner    connectors.SplitAssigner
	load        []int
	// known holds the IDs of the splits restored from the checkpoint:
	// an enumerator whose snapshot predates their discovery returns them
	// again, and they must not be read twice.
	known    map[string]bool
	restored []connectors.Split
	done     bool
}

// NewSplitCoordinator makes the coordinator of g's split sources for one
// attempt, restoring from opts.Restore when set. It returns nil when g has
// none.
func NewSplitCoordinator(ctx context.Context, g *jobgraph.Graph, opts Options, peers SplitPeers) (*SplitCoordinator, error) {
	opts = opts.withDefaults()
	plans, _, _, _, err := buildPlan(g, opts)
	if err != nil {
		return nil, err
	}
	c := &SplitCoordinator{peers: peers, logger: opts.Logger.With("job", g.Name)}
	for _, p := range plans {
		if p.splitSource == nil {
			continue
		}
		op := p.v.Ops[0]
		e := &splitEnum{
			vertex: p.v.ID, op: op.ID, parallelism: p.v.Parallelism, table: op.Source.Table, src: p.splitSource,
			load: make([]int, p.v.Parallelism), known: map[string]bool{},
		}
		e.assigner, _ = p.splitSource.(connectors.SplitAssigner)
		var enumState []byte
		if m := opts.Restore; m != nil {
			if os := m.Operators[op.ID]; os != nil {
				enumState = os.Coordinator
			}
			for _, pos := range m.Positions(op.ID) {
				splits, err := decodeSplits(pos)
				if err != nil {
					c.Close()
					return nil, fmt.Errorf("runtime: source %s (table %s): checkpoint %d: %w", op.ID, e.table, m.ID, err)
				}
				for _, s := range splits {
					if e.known[s.ID] {
						c.Close()
						return nil, fmt.Errorf("runtime: source %s (table %s): checkpoint %d holds split %q twice", op.ID, e.table, m.ID, s.ID)
					}
					e.known[s.ID] = true
					e.restored = append(e.restored, s)
				}
			}
		}
		ec := connectors.EnumeratorContext{Parallelism: p.v.Parallelism, Logger: c.logger.With("source", op.ID, "table", e.table)}
		if e.enum, err = p.splitSource.NewEnumerator(ctx, ec, enumState); err != nil {
			c.Close()
			return nil, fmt.Errorf("runtime: source %s (table %s): split enumerator: %w", op.ID, e.table, err)
		}
		if e.enum == nil {
			c.Close()
			return nil, fmt.Errorf("runtime: source %s (table %s): connector %q returned no split enumerator", op.ID, e.table, op.Source.Connector)
		}
		c.sources = append(c.sources, e)
	}
	if len(c.sources) == 0 {
		return nil, nil
	}
	return c, nil
}

// Run assigns the restored splits, then discovers and assigns new ones
// until every enumerator is done (it then returns nil) or ctx ends. An
// enumerator's or a delivery's error ends it: the attempt fails.
func (c *SplitCoordinator) Run(ctx context.Context) error {
	first := true
	t := time.NewTicker(SplitDiscoveryInterval)
	defer t.Stop()
	for {
		all, err := c.round(ctx, first)
		if err != nil {
			return err
		}
		first = false
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// round runs one discovery over every source not done, assigning what it
// finds; it reports whether every source is done.
func (c *SplitCoordinator) round(ctx context.Context, first bool) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	all := true
	for _, e := range c.sources {
		if e.done {
			continue
		}
		out := make([][]connectors.Split, e.parallelism)
		if first {
			for _, s := range e.restored {
				r := e.owner(s)
				out[r] = append(out[r], s)
			}
			e.restored = nil
		}
		found, done, err := e.enum.Discover(ctx)
		if err != nil {
			return false, fmt.Errorf("runtime: source %s (table %s): discover splits: %w", e.op, e.table, err)
		}
		for _, s := range found {
			if e.known[s.ID] {
				continue
			}
			e.known[s.ID] = true
			r := e.owner(s)
			out[r] = append(out[r], s)
		}
		e.done = done
		for r := range out {
			if !first && !done && len(out[r]) == 0 {
				continue
			}
			a := SplitAssignment{Vertex: e.vertex, Operator: e.op, Subtask: r, Splits: out[r], NoMore: done}
			if err := c.peers.AssignSplits(ctx, a); err != nil {
				return false, fmt.Errorf("runtime: source %s (table %s): assign %d split(s) to subtask %d: %w", e.op, e.table, len(out[r]), r, err)
			}
		}
		if len(found) > 0 {
			c.logger.Debug("splits assigned", "source", e.op, "new", len(found), "done", done)
		}
		all = all && done
	}
	return all, nil
}

// owner picks the reader of split s.
func (e *splitEnum) owner(s connectors.Split) int {
	r := -1
	if e.assigner != nil {
		r = e.assigner.Assign(s, e.parallelism)
	}
	if r < 0 || r >= e.parallelism {
		r = 0
		for i, n := range e.load {
			if n < e.load[r] {
				r = i
			}
		}
	}
	e.load[r]++
	return r
}

// checkpoint runs trigger (which sends a checkpoint's barriers) with no
// assignment under way, and returns each split source's enumerator state
// at that moment, by operator ID. It fails (the checkpoint is dropped)
// until Run has assigned the splits restored from a checkpoint.
func (c *SplitCoordinator) checkpoint(trigger func()) (map[string][]byte, error) {
	if c == nil {
		trigger()
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.sources {
		// Restored splits not handed out yet are in no reader's position,
		// and the enumerator will not return them again: a checkpoint now
		// would lose them. Run's first round assigns them.
		if len(e.restored) > 0 {
			return nil, fmt.Errorf("source %s (table %s): the %d split(s) restored from the checkpoint are not assigned to the readers yet", e.op, e.table, len(e.restored))
		}
	}
	states := make(map[string][]byte, len(c.sources))
	for _, e := range c.sources {
		st, err := e.enum.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("source %s (table %s): enumerator snapshot: %w", e.op, e.table, err)
		}
		states[e.op] = st
	}
	trigger()
	return states, nil
}

// Close closes the enumerators.
func (c *SplitCoordinator) Close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.sources {
		if e.enum != nil {
			if err := e.enum.Close(); err != nil {
				c.logger.Warn("closing a split enumerator", "source", e.op, "err", err)
			}
			e.enum = nil
		}
	}
}

// encodeSplits is a split reader's position in a checkpoint.
func encodeSplits(splits []connectors.Split) ([]byte, error) {
	if splits == nil {
		splits = []connectors.Split{}
	}
	sort.Slice(splits, func(a, b int) bool { return splits[a].ID < splits[b].ID })
	b, err := json.Marshal(struct {
		Splits []connectors.Split `json:"splits"`
	}{splits})
	if err != nil {
		return nil, fmt.Errorf("encode split positions: %w", err)
	}
	return b, nil
}

func decodeSplits(b []byte) ([]connectors.Split, error) {
	var v struct {
		Splits *[]connectors.Split `json:"splits"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Splits == nil {
		return nil, fmt.Errorf("a source position is not a split reader's (%d bytes): was the table's connector changed?", len(b))
	}
	return *v.Splits, nil
}
