package filesystem

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
)

// stageFiles writes rows through a sink of info's table into a staging
// directory, then moves its part files into dst (keeping partition
// directories) under names prefixed with tag, each with one rename, as a
// file appears complete in a monitored directory.
func stageFiles(t *testing.T, info connectors.TableInfo, rows []row, dst, tag string, r *rand.Rand, mem memory.Allocator) {
	t.Helper()
	stage := filepath.Join(t.TempDir(), "stage")
	si := info
	si.Options = map[string]string{}
	for k, v := range info.Options {
		si.Options[k] = v
	}
	si.Options["path"] = stage
	delete(si.Options, OptMonitorInterval)
	sink, err := New().NewSink(si)
	if err != nil {
		t.Fatal(err)
	}
	writeRows(t, sink, info.Schema, rows, 1, r, mem)
	err = filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(stage, p)
		to := filepath.Join(dst, filepath.Dir(rel), tag+"-"+d.Name())
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		return os.Rename(p, to)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// splitRun drives a continuous source's enumerator and readers the way
// the runtime does: discover, hand new splits to the reader with the
// fewest, read.
type splitRun struct {
	t       *testing.T
	src     connectors.SplitSource
	enum    connectors.SplitEnumerator
	readers []connectors.SplitReader
	held    []map[string]bool // per reader, the splits it holds
	rows    []string
	// finished counts Finished reports per split ID, over both runs.
	finished map[string]int
	now      time.Time
}

func (s *splitRun) start(ctx context.Context, parallelism int, enumState []byte, restored []connectors.Split, mem memory.Allocator, r *rand.Rand) {
	t := s.t
	e, err := s.src.NewEnumerator(ctx, connectors.EnumeratorContext{Parallelism: parallelism}, enumState)
	if err != nil {
		t.Fatal(err)
	}
	e.(*enumerator).now = func() time.Time { return s.now }
	s.enum = e
	s.readers, s.held = nil, nil
	for i := range parallelism {
		rd, err := s.src.NewSplitReader(ctx, connectors.ReaderContext{Subtask: i, Parallelism: parallelism, BatchSize: 1 + r.IntN(50), Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		s.readers = append(s.readers, rd)
		s.held = append(s.held, map[string]bool{})
	}
	s.assign(ctx, restored)
}

func (s *splitRun) assign(ctx context.Context, splits []connectors.Split) {
	for _, sp := range splits {
		least := 0
		for i := range s.readers {
			if len(s.held[i]) < len(s.held[least]) {
				least = i
			}
		}
		s.held[least][sp.ID] = true
		if err := s.readers[least].AddSplits(ctx, []connectors.Split{sp}); err != nil {
			s.t.Fatal(err)
		}
	}
}

// round discovers (when the monitor interval has passed) and makes each
// reader read a few times.
func (s *splitRun) round(ctx context.Context, r *rand.Rand, monitor time.Duration) {
	t := s.t
	s.now = s.now.Add(time.Duration(r.Int64N(int64(monitor) * 2)))
	splits, done, err := s.enum.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if done {
		t.Fatal("a continuous source's enumerator reported done")
	}
	s.assign(ctx, splits)
	for i, rd := range s.readers {
		for range r.IntN(6) {
			b, err := rd.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if b.Split != "" && !s.held[i][b.Split] {
				t.Fatalf("reader %d returned rows of split %q it does not hold", i, b.Split)
			}
			if rec := b.Batch.Record; rec != nil {
				if b.Batch.Kinds != nil {
					t.Fatal("kinds from an append-only source")
				}
				s.rows = append(s.rows, canonRows(rowsOf(rec))...)
				rec.Release()
			}
			if b.Finished {
				s.finished[b.Split]++
				delete(s.held[i], b.Split)
			}
		}
	}
}

func (s *splitRun) idle() bool {
	for _, h := range s.held {
		if len(h) > 0 {
			return false
		}
	}
	return true
}

func (s *splitRun) close() {
	for _, rd := range s.readers {
		if err := rd.Close(); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := s.enum.Close(); err != nil {
		s.t.Fatal(err)
	}
}

// TestContinuousSourceExactlyOnce drives a table with
// 'source.monitor-interval' through its split interfaces: files appear
// while it runs (csv; partitioned Parquet), a checkpoint is taken at a
// random point (enumerator and readers), reading goes on, then the run is
// dropped and a new one, at another parallelism, restores the checkpoint
// and reads until every file is done. The rows read before the checkpoint
// and after the restore are every file's rows exactly once, and every file
// is finished once.
func TestContinuousSourceExactlyOnce(t *testing.T) {
	cases := []struct {
		name   string
		schema types.Schema
		keys   []int
		opts   map[string]string
		rows   func(r *rand.Rand, n int) []row
	}{
		{"csv", allTypes, nil, map[string]string{"format": "csv", OptCSVNullLiteral: `\N`},
			func(r *rand.Rand, n int) []row { return randomRows(r, allTypes, n, 6) }},
		{"parquet-partitioned", partSchema, partKeys, map[string]string{"format": "parquet"},
			func(r *rand.Rand, n int) []row { return partRows(r, n/3) }},
		{"json", allTypes, nil, map[string]string{"format": "json"},
			func(r *rand.Rand, n int) []row { return randomRows(r, allTypes, n, 6) }},
	}
	resumed := 0 // restored splits part-read
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(uint64(ci), 77))
			dir := filepath.Join(t.TempDir(), "in")
			os.MkdirAll(dir, 0o755)
			opts := map[string]string{"path": dir, OptMonitorInterval: "1 s"}
			for k, v := range tc.opts {
				opts[k] = v
			}
			info := table("t", tc.schema, opts)
			info.PartitionKeys = tc.keys
			f := New()
			if err := f.ValidateTable(info); err != nil {
				t.Fatal(err)
			}
			if _, err := f.NewSource(info); err == nil || !strings.Contains(err.Error(), "read as splits") {
				t.Fatalf("NewSource of a continuous table: %v", err)
			}
			src, err := f.NewSplitSource(info)
			if err != nil || src == nil || src.Bounded() {
				t.Fatalf("NewSplitSource: %v, %v", src, err)
			}
			var want []string
			batch := 0
			addFiles := func() {
				batch++
				rows := tc.rows(r, 1+r.IntN(300))
				stageFiles(t, info, rows, dir, fmt.Sprintf("b%03d", batch), r, mem)
				for _, rw := range rows {
					exp := append(row(nil), rw...)
					if len(tc.keys) > 0 && exp[1] == "" {
						exp[1] = nil // an empty partition value reads as NULL
					}
					want = append(want, canonRow(exp))
				}
			}
			addFiles()
			run := &splitRun{t: t, src: src, finished: map[string]int{}, now: time.Unix(1e9, 0)}
			run.start(ctx, 1+r.IntN(3), nil, nil, mem, r)
			const monitor = time.Second
			// Run 1: files appear; a checkpoint; more reading; a crash.
			rounds := 10 + r.IntN(30)
			ckpt := r.IntN(rounds)
			var enumState []byte
			var splits []connectors.Split
			var rowsAtCkpt int
			var finishedAtCkpt map[string]int
			for i := range rounds {
				if r.IntN(4) == 0 {
					addFiles()
				}
				run.round(ctx, r, monitor)
				if i == ckpt {
					if enumState, err = run.enum.Snapshot(); err != nil {
						t.Fatal(err)
					}
					splits = nil
					for _, rd := range run.readers {
						ss, err := rd.Snapshot()
						if err != nil {
							t.Fatal(err)
						}
						splits = append(splits, ss...)
					}
					rowsAtCkpt = len(run.rows)
					finishedAtCkpt = map[string]int{}
					for k, v := range run.finished {
						finishedAtCkpt[k] = v
					}
				}
			}
			run.close()
			for _, sp := range splits {
				if !strings.Contains(string(sp.State), `"offset":0}`) {
					resumed++
				}
			}
			run.rows = run.rows[:rowsAtCkpt]
			run.finished = finishedAtCkpt
			// Run 2, restored, at another parallelism; files keep coming
			// for a while, then it reads until every file is done.
			run.start(ctx, 1+r.IntN(3), enumState, splits, mem, r)
			for i := 0; ; i++ {
				if i < 10 && r.IntN(3) == 0 {
					addFiles()
				}
				run.round(ctx, r, monitor)
				if i >= 10 && run.idle() {
					// One more listing, past the interval, finds nothing new.
					run.now = run.now.Add(2 * monitor)
					if sp, _, err := run.enum.Discover(ctx); err != nil || len(sp) > 0 {
						t.Fatalf("a last listing found %d splits (%v)", len(sp), err)
					}
					break
				}
				if i > 10000 {
					t.Fatal("the readers never finish")
				}
			}
			run.close()
			sameMultiset(t, run.rows, want)
			files := 0
			filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					files++
					rel, _ := filepath.Rel(dir, p)
					if n := run.finished[filepath.ToSlash(rel)]; n != 1 {
						t.Errorf("%s finished %d times", rel, n)
					}
				}
				return err
			})
			if len(run.finished) != files {
				t.Errorf("%d splits finished for %d files", len(run.finished), files)
			}
		})
	}
	if resumed == 0 {
		t.Error("no checkpoint caught a file part-read: the test did not exercise resuming inside a file")
	}
}

// TestContinuousOptions: a continuous table needs a positive interval and
// a format read file by file; other tables have no split source.
func TestContinuousOptions(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"format": "csv", OptMonitorInterval: "0 s"}, "option 'source.monitor-interval': '0 s' is not a positive duration"},
		{map[string]string{"format": "csv", OptMonitorInterval: "soon"}, "option 'source.monitor-interval': 'soon' is not a valid duration"},
		{map[string]string{"format": FormatChangelogJSON, OptMonitorInterval: "1 s"}, "does not go with 'format' = 'changelog-json'"},
	} {
		c.opts["path"] = dir
		err := New().ValidateTable(table("t", allTypes, c.opts))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
	src, err := New().NewSplitSource(table("t", allTypes, map[string]string{"path": dir, "format": "csv"}))
	if src != nil || err != nil {
		t.Errorf("NewSplitSource of a bounded table: %v, %v; want nil, nil", src, err)
	}
}

// TestEnumeratorSnapshotEncoding: the front-coded set of seen files
// decodes to itself, and corrupt snapshots are refused.
func TestEnumeratorSnapshotEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for range 200 {
		e := &enumerator{seen: map[string]bool{}}
		for range r.IntN(50) {
			e.seen[fmt.Sprintf("dt=2026-01-%02d/part-%d-%05d.csv", r.IntN(30), r.IntN(3), r.IntN(1000))] = true
		}
		b, err := e.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeSeen(b)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(e.seen) {
			t.Fatalf("decoded %v, want %v", got, e.seen)
		}
		if len(b) > 2 {
			if _, err := decodeSeen(b[:len(b)-1]); err == nil {
				t.Fatal("a truncated snapshot decoded")
			}
		}
	}
	if _, err := decodeSeen([]byte{9}); err == nil {
		t.Error("an unknown version decoded")
	}
}
