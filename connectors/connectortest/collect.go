package connectortest

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// collector is the suite's collecting sink ("connectortest-collect"), an
// exactly-once two-phase sink kept in memory: writers stage rows, Prepare
// sets them aside under a token, Commit (idempotent) and Close make them
// visible, and Recover keeps exactly what the restored checkpoint
// committed. It checks every batch against the table's schema and fails
// the job where the injector says.
type collector struct {
	inj *injector
	// name is the connector's name (collectName unless a test says).
	name string
	// keepStaged, in the suite's own tests, makes Prepare leave the staged
	// rows staged, so they are committed twice: a broken sink.
	keepStaged bool

	mu       sync.Mutex
	schema   types.Schema
	nextTok  int
	prepared map[string][]Row
	done     map[string]bool
	visible  []visibleRow
	problems []string // schema violations seen
}

type visibleRow struct {
	ckpt int64 // the checkpoint that committed it; MaxInt64: Close
	row  Row
}

func newCollector(inj *injector) *collector {
	return &collector{inj: inj, prepared: map[string][]Row{}, done: map[string]bool{}}
}

func (c *collector) Name() string {
	if c.name != "" {
		return c.name
	}
	return collectName
}
func (c *collector) Options() []connectors.OptionSpec { return nil }

// AcceptsUpdates takes changelogs: rows are compared with their kinds.
func (c *collector) AcceptsUpdates(connectors.TableInfo) error { return nil }

func (c *collector) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	c.mu.Lock()
	c.schema = info.Schema
	c.mu.Unlock()
	return c, nil
}

func (c *collector) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	return &collectWriter{c: c, subtask: rc.Subtask}, nil
}

func (c *collector) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.problems) < 10 {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

// Recover implements connectors.RecoverableSink.
func (c *collector) Recover(ctx context.Context, committables [][]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := map[string]int64{}
	var restored int64
	for _, cm := range committables {
		id, tok, err := parseCommittable(cm)
		if err != nil {
			return err
		}
		restored = max(restored, id)
		keep[tok] = id
	}
	vis := c.visible[:0]
	for _, v := range c.visible {
		if v.ckpt <= restored {
			vis = append(vis, v)
		}
	}
	c.visible = vis
	for tok := range c.prepared {
		if _, ok := keep[tok]; !ok {
			delete(c.prepared, tok)
		}
	}
	for tok, id := range keep {
		c.commitLocked(id, tok)
	}
	return nil
}

func (c *collector) commitLocked(id int64, tok string) {
	if c.done[tok] {
		return
	}
	for _, r := range c.prepared[tok] {
		c.visible = append(c.visible, visibleRow{ckpt: id, row: r})
	}
	delete(c.prepared, tok)
	c.done[tok] = true
}

// rows returns the committed rows.
func (c *collector) rows() []Row {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Row, len(c.visible))
	for i, v := range c.visible {
		out[i] = v.row
	}
	return out
}

func (c *collector) schemaProblems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}

func parseCommittable(b []byte) (int64, string, error) {
	id, tok, ok := strings.Cut(string(b), ":")
	if !ok {
		return 0, "", fmt.Errorf("connectortest: bad committable %q", b)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("connectortest: bad committable %q: %w", b, err)
	}
	return n, tok, nil
}

type collectWriter struct {
	c       *collector
	subtask int
	staged  []Row
}

func (w *collectWriter) Write(ctx context.Context, b stream.Batch) error {
	c := w.c
	c.mu.Lock()
	schema := c.schema
	c.mu.Unlock()
	if b.Record == nil {
		c.problem("a nil record reached the sink")
		return fmt.Errorf("connectortest: nil record")
	}
	if p := checkTypes(b.Record, schema); p != "" {
		c.problem("the source returned %s", p)
		return fmt.Errorf("connectortest: %s", p)
	}
	if b.Kinds != nil && len(b.Kinds) != b.NumRows() {
		c.problem("a batch of %d rows with %d row kinds", b.NumRows(), len(b.Kinds))
		return fmt.Errorf("connectortest: %d rows, %d kinds", b.NumRows(), len(b.Kinds))
	}
	if err := c.inj.tick(); err != nil {
		return err
	}
	w.staged = append(w.staged, Rows(b)...)
	return nil
}

func (w *collectWriter) Prepare(ctx context.Context, id int64) ([]byte, error) {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextTok++
	tok := "w" + strconv.Itoa(w.subtask) + "t" + strconv.Itoa(c.nextTok)
	c.prepared[tok] = w.staged
	if !c.keepStaged {
		w.staged = nil
	}
	return []byte(strconv.FormatInt(id, 10) + ":" + tok), nil
}

func (w *collectWriter) Commit(ctx context.Context, id int64, committable []byte) error {
	cid, tok, err := parseCommittable(committable)
	if err != nil {
		return err
	}
	if cid != id {
		return fmt.Errorf("connectortest: commit of checkpoint %d with the committable of %d", id, cid)
	}
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	w.c.commitLocked(id, tok)
	return nil
}

func (w *collectWriter) Close(ctx context.Context) error {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range w.staged {
		c.visible = append(c.visible, visibleRow{ckpt: math.MaxInt64, row: r})
	}
	w.staged = nil
	return nil
}

func (w *collectWriter) Abort(ctx context.Context) error {
	w.staged = nil
	return nil
}

var (
	_ connectors.SinkFactory     = (*collector)(nil)
	_ connectors.UpdatingSink    = (*collector)(nil)
	_ connectors.RecoverableSink = (*collector)(nil)
	_ connectors.TwoPhaseWriter  = (*collectWriter)(nil)
)
