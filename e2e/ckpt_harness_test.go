package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/blackhole"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/connectors/datagen"
	"github.com/eddy-streaming/eddy/connectors/filesystem"
	"github.com/eddy-streaming/eddy/embedded"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/pebblestate"
)

// The checkpoint tests' harness: a fault injector, datagen and filesystem
// connectors wrapped to fail when it says so, a runner with Pebble state
// and directory checkpoint storage, and readers of a filesystem sink's
// visible (committed) output.

// longCheckpointTests reports whether the long variants run
// (EDDY_E2E_LONG=1): more trials, more faults, more kills.
func longCheckpointTests() bool { return os.Getenv("EDDY_E2E_LONG") != "" }

// faults injects failures into the wrapped connectors: after a new
// checkpoint has completed since the last failure (so every restart has a
// newer checkpoint to resume from and the job progresses), the
// countdown-th call of any wrapped method fails; the next countdown is
// random. At most left failures are injected.
type faults struct {
	mu        sync.Mutex
	r         *rand.Rand
	left      int
	countdown int
	lo, hi    int
	injected  []string
	// completed returns the newest completed checkpoint ID (0: none).
	completed func() int64
	lastChk   int64
	// anyTime lets failures happen before any checkpoint completed (the
	// first failure restarts from the beginning).
	anyTime bool

	// rows counts the rows the wrapped sources returned; firstWrite is
	// when a wrapped sink was first written to (unix ns; 0: not yet).
	rows       atomic.Int64
	firstWrite atomic.Int64
}

// observeRead counts n rows read.
func (f *faults) observeRead(n int64) {
	if f != nil {
		f.rows.Add(n)
	}
}

// observeWrite records the first sink write.
func (f *faults) observeWrite() {
	if f != nil && f.firstWrite.Load() == 0 {
		f.firstWrite.CompareAndSwap(0, time.Now().UnixNano())
	}
}

func newFaults(seed uint64, n, lo, hi int, completed func() int64) *faults {
	r := rand.New(rand.NewPCG(seed, 99))
	return &faults{r: r, left: n, lo: lo, hi: hi, countdown: lo + r.IntN(hi-lo+1), completed: completed}
}

// tick is called by every wrapped method; it returns the injected error
// when the call must fail.
func (f *faults) tick(where string) error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.left == 0 {
		return nil
	}
	f.countdown--
	if f.countdown > 0 {
		return nil
	}
	chk := f.completed()
	if chk <= f.lastChk && !(f.anyTime && len(f.injected) == 0) {
		f.countdown = 1 // try again on the next call
		return nil
	}
	f.left--
	f.lastChk = chk
	f.countdown = f.lo + f.r.IntN(f.hi-f.lo+1)
	msg := fmt.Sprintf("injected fault %d in %s (after checkpoint %d)", len(f.injected)+1, where, chk)
	f.injected = append(f.injected, msg)
	return errors.New(msg)
}

func (f *faults) count() int {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.injected)
}

// faultyDatagen is the datagen connector whose readers fail when f says so.
type faultyDatagen struct {
	*datagen.Factory
	f *faults
}

func (d *faultyDatagen) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	src, err := d.Factory.NewSource(info)
	if err != nil {
		return nil, err
	}
	rs, ok := src.(connectors.RestorableSource)
	if !ok {
		return nil, fmt.Errorf("faulty datagen: source is not restorable")
	}
	return &faultySource{rs: rs, f: d.f}, nil
}

type faultySource struct {
	rs connectors.RestorableSource
	f  *faults
}

func (s *faultySource) Bounded() bool { return s.rs.Bounded() }

func (s *faultySource) Reader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	rd, err := s.rs.Reader(ctx, rc)
	if err != nil {
		return nil, err
	}
	return &faultyReader{rd: rd.(connectors.PositionedReader), f: s.f, sub: rc.Subtask}, nil
}

func (s *faultySource) RestoreReader(ctx context.Context, rc connectors.ReaderContext, positions [][]byte) (connectors.Reader, error) {
	rd, err := s.rs.RestoreReader(ctx, rc, positions)
	if err != nil {
		return nil, err
	}
	return &faultyReader{rd: rd.(connectors.PositionedReader), f: s.f, sub: rc.Subtask}, nil
}

type faultyReader struct {
	rd  connectors.PositionedReader
	f   *faults
	sub int
}

func (r *faultyReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := r.f.tick(fmt.Sprintf("source reader %d", r.sub)); err != nil {
		return nil, err
	}
	rec, err := r.rd.Next(ctx)
	if rec != nil {
		r.f.observeRead(rec.NumRows())
	}
	return rec, err
}

func (r *faultyReader) Position() ([]byte, error) { return r.rd.Position() }
func (r *faultyReader) Close() error              { return r.rd.Close() }

// faultyFS is the filesystem connector (as a sink) whose writers fail in
// Write, Prepare or Commit when f says so.
type faultyFS struct {
	*filesystem.Factory
	f *faults
}

func (d *faultyFS) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	s, err := d.Factory.NewSink(info)
	if err != nil {
		return nil, err
	}
	return &faultySink{rs: s.(connectors.RecoverableSink), f: d.f}, nil
}

type faultySink struct {
	rs connectors.RecoverableSink
	f  *faults
}

func (s *faultySink) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	w, err := s.rs.Writer(ctx, rc)
	if err != nil {
		return nil, err
	}
	return &faultyWriter{w: w.(connectors.TwoPhaseWriter), f: s.f, sub: rc.Subtask}, nil
}

func (s *faultySink) Recover(ctx context.Context, committables [][]byte) error {
	return s.rs.Recover(ctx, committables)
}

type faultyWriter struct {
	w   connectors.TwoPhaseWriter
	f   *faults
	sub int
}

func (w *faultyWriter) Write(ctx context.Context, b stream.Batch) error {
	if err := w.f.tick(fmt.Sprintf("sink writer %d Write", w.sub)); err != nil {
		return err
	}
	w.f.observeWrite()
	return w.w.Write(ctx, b)
}

func (w *faultyWriter) Prepare(ctx context.Context, id int64) ([]byte, error) {
	if err := w.f.tick(fmt.Sprintf("sink writer %d Prepare of checkpoint %d", w.sub, id)); err != nil {
		return nil, err
	}
	return w.w.Prepare(ctx, id)
}

func (w *faultyWriter) Commit(ctx context.Context, id int64, c []byte) error {
	if err := w.f.tick(fmt.Sprintf("sink writer %d Commit of checkpoint %d", w.sub, id)); err != nil {
		return err
	}
	return w.w.Commit(ctx, id, c)
}

func (w *faultyWriter) Close(ctx context.Context) error { return w.w.Close(ctx) }
func (w *faultyWriter) Abort(ctx context.Context) error { return w.w.Abort(ctx) }

// faultyBlackhole is the blackhole connector whose writers fail when f
// says so (and report their first write).
type faultyBlackhole struct {
	*blackhole.Factory
	f *faults
}

func (d *faultyBlackhole) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	s, err := d.Factory.NewSink(info)
	if err != nil {
		return nil, err
	}
	return &faultySink{rs: s.(connectors.RecoverableSink), f: d.f}, nil
}

// faultyRegistry is the built-in registry with datagen and filesystem
// replaced by their faulty wrappers (f nil: no faults).
func faultyRegistry(t testing.TB, f *faults) *connectors.Registry {
	t.Helper()
	reg := connectors.NewRegistry()
	for _, fac := range builtin.Factories() {
		switch fac.Name() {
		case "datagen":
			fac = &faultyDatagen{Factory: datagen.New(), f: f}
		case "filesystem":
			fac = &faultyFS{Factory: fac.(*filesystem.Factory), f: f}
		case "blackhole":
			fac = &faultyBlackhole{Factory: fac.(*blackhole.Factory), f: f}
		}
		if err := reg.Register(fac); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// logBuffer collects a job's logs (safe for concurrent use).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ckptRun describes one in-process run with checkpoints.
type ckptRun struct {
	script      string
	parallelism int
	ckDir       string // checkpoint storage
	interval    time.Duration
	f           *faults
	restore     *checkpoint.Metadata
	maxRestarts int
	// ctx, when set, bounds the run (to stop it after a checkpoint).
	ctx context.Context
	// alloc, when set, replaces the checked allocator (benchmarks).
	alloc memory.Allocator
	// stateDir, when set, holds Pebble's working files.
	stateDir string
	// defaultPebble keeps Pebble's default cache and memtable sizes (the
	// tests use small ones, so state reaches its files).
	defaultPebble bool
}

// run runs the job with Pebble state under a fresh working directory and
// a checked allocator (every Arrow buffer released, also across restarts).
func (c ckptRun) run(t testing.TB) (*runtime.Result, string, error) {
	t.Helper()
	var alloc memory.Allocator = c.alloc
	if alloc == nil {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		alloc = mem
	}
	stateDir := c.stateDir
	if stateDir == "" {
		stateDir = t.TempDir()
	}
	st, err := checkpoint.NewDirStorage(c.ckDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	pcfg := pebblestate.Config{Dir: stateDir, CacheSize: 8 << 20, MemTableSize: 4 << 20}
	if c.defaultPebble {
		pcfg = pebblestate.Config{Dir: stateDir}
	}
	prov, err := pebblestate.New(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := prov.Close(); err != nil {
			t.Errorf("close pebble provider: %v", err)
		}
	}()
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := c.ctx
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
	}
	maxR := c.maxRestarts
	if maxR == 0 {
		maxR = 50
	}
	_, res, err := embedded.Run(ctx, "job.sql", c.script, embedded.Options{
		JobName: "ckpt", Parallelism: c.parallelism, Connectors: faultyRegistry(t, c.f), Alloc: alloc,
		Logger: logger, State: prov, CheckpointStorage: st, CheckpointInterval: c.interval, Restore: c.restore,
		RestartStrategy: runtime.RestartStrategy{MaxAttempts: maxR, InitialDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond, Multiplier: 1.5},
	})
	return res, logs.String(), err
}

// newestCheckpoint returns a function reporting the newest complete
// checkpoint ID under dir (0: none), reading the directory.
func newestCheckpoint(dir string) func() int64 {
	return func() int64 {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return 0
		}
		var best int64
		for _, e := range ents {
			id, ok := strings.CutPrefix(e.Name(), "chk-")
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, e.Name(), checkpoint.MetadataName)); err == nil && n > best {
				best = n
			}
		}
		return best
	}
}

// visibleParts lists the visible part files of a filesystem sink directory
// and the hidden ones (in-progress files of uncommitted output).
func visibleParts(t testing.TB, dir string) (visible, hidden []string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read sink directory: %v", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
			hidden = append(hidden, e.Name())
			continue
		}
		visible = append(visible, e.Name())
	}
	sort.Strings(visible)
	return visible, hidden
}

// fieldText turns one value of the sink's text into the form the
// references use: timestamps as epoch milliseconds, everything else as is.
func fieldText(s string) string {
	if len(s) >= 19 && s[4] == '-' && s[10] == ' ' {
		if tm, err := time.Parse("2006-01-02 15:04:05.999999999", s); err == nil {
			return strconv.FormatInt(tm.UnixMilli(), 10)
		}
	}
	return s
}

// readCSVOutput reads the visible rows of a csv filesystem sink as
// "+I|v1|v2|..." (the references' form).
func readCSVOutput(t testing.TB, dir string) []string {
	t.Helper()
	visible, _ := visibleParts(t, dir)
	var out []string
	for _, name := range visible {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, rec := range recs {
			vs := make([]string, len(rec))
			for i, v := range rec {
				vs[i] = fieldText(v)
			}
			out = append(out, "+I|"+strings.Join(vs, "|"))
		}
	}
	return out
}

// replayChangelog reads the visible files of a changelog-json filesystem
// sink, each writer's in name order, and replays them as a retract stream
// into a multiset: +I/+U add a row, -U/-D remove one. It returns the final
// rows as "+I|v1|..." with the given columns, and fails the test on a
// retraction of a row that is not there at the end (a doubled or lost
// change leaves a trace in the final multiset).
func replayChangelog(t testing.TB, dir string, columns []string) []string {
	t.Helper()
	visible, _ := visibleParts(t, dir)
	type part struct {
		name    string
		sub, no int
	}
	var parts []part
	for _, name := range visible {
		var s, n int
		if _, err := fmt.Sscanf(name, "part-%d-%d.json", &s, &n); err != nil {
			t.Fatalf("unexpected file %s in changelog sink: %v", name, err)
		}
		parts = append(parts, part{name, s, n})
	}
	slices.SortFunc(parts, func(a, b part) int {
		if a.sub != b.sub {
			return a.sub - b.sub
		}
		return a.no - b.no
	})
	counts := map[string]int{}
	for _, p := range parts {
		data, err := os.ReadFile(filepath.Join(dir, p.name))
		if err != nil {
			t.Fatal(err)
		}
		for ln, line := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			d := json.NewDecoder(strings.NewReader(line))
			d.UseNumber()
			var m map[string]any
			if err := d.Decode(&m); err != nil {
				t.Fatalf("%s:%d: %v", p.name, ln+1, err)
			}
			vs := make([]string, len(columns))
			for i, c := range columns {
				switch v := m[c].(type) {
				case nil:
					vs[i] = "null"
				case json.Number:
					vs[i] = v.String()
				case string:
					vs[i] = fieldText(v)
				default:
					vs[i] = fmt.Sprint(v)
				}
			}
			row := "+I|" + strings.Join(vs, "|")
			switch op, _ := m["op"].(string); op {
			case "+I", "+U":
				counts[row]++
			case "-U", "-D":
				counts[row]--
			default:
				t.Fatalf("%s:%d: bad op %q", p.name, ln+1, op)
			}
		}
	}
	var out []string
	for row, n := range counts {
		if n < 0 {
			t.Errorf("changelog retracts %q %d more times than it adds it", row, -n)
		}
		for range n {
			out = append(out, row)
		}
	}
	return out
}

// giftsOpts are the WITH options of a throttled datagen gifts table.
func giftsOpts(rows, rps, rooms, seed int) map[string]string {
	return map[string]string{
		"connector": "datagen", "stream": "gifts", "number-of-rows": fmt.Sprint(rows), "rooms": fmt.Sprint(rooms),
		"skew": "1.3", "users": "500", "max-out-of-orderness": "3 s", "event-time.rows-per-second": "200",
		"seed": fmt.Sprint(seed), "rows-per-second": fmt.Sprint(rps),
	}
}

// giftsTableDDL declares table name over the datagen options (watermark
// delay = the out-of-orderness, so no row is late).
func giftsTableDDL(name string, opts map[string]string) string {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var with []string
	for _, k := range keys {
		with = append(with, fmt.Sprintf("'%s' = '%s'", k, opts[k]))
	}
	return fmt.Sprintf(`
CREATE TABLE %s (
  room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '3' SECOND
) WITH (%s);
`, name, strings.Join(with, ", "))
}

// readGifts reads a datagen table's rows (without throttling) for the
// references.
func readGifts(t *testing.T, opts map[string]string) []gift {
	t.Helper()
	o := map[string]string{}
	for k, v := range opts {
		if k != "rows-per-second" {
			o[k] = v
		}
	}
	return readDatagenGifts(t, o)
}

// checkNoHidden fails the test when a finished job left in-progress files.
func checkNoHidden(t testing.TB, dir string) {
	t.Helper()
	if _, hidden := visibleParts(t, dir); len(hidden) > 0 {
		t.Errorf("in-progress files left behind by a job that finished: %v", hidden)
	}
}

// copyTree copies directory src to dst (for snapshots of checkpoint
// storage).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
