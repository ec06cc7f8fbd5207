package filesystem

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

var rollSchema = types.Schema{Fields: []types.Field{
	{Name: "seq", Type: types.BigIntType},
	{Name: "s", Type: types.StringType},
}}

// TestRollingByTime writes batches at times advancing by random steps on
// a fake clock with 'sink.rolling-policy.rollover-interval' 10 s and a
// check every 2 s (and sizes too large to roll): the part files hold
// every row once; no file holds rows written further apart than the
// interval plus the check interval plus one step (a file is rolled at the
// first check past its interval), and each file starts at least the
// interval after the previous one (no file is rolled early).
func TestRollingByTime(t *testing.T) {
	const interval, check, maxStep = 10 * time.Second, 2 * time.Second, 3 * time.Second
	for i, format := range []string{"csv", "parquet"} {
		t.Run(format, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(uint64(i), 61))
			dir := filepath.Join(t.TempDir(), "out")
			info := table("t", rollSchema, map[string]string{"path": dir, "format": format,
				OptRolloverInterval: "10 s", OptRollCheckInterval: "2s", OptRollingFileSize: "1GB"})
			if format == "csv" {
				info.Options[OptCSVNullLiteral] = "null"
			}
			sink, err := New().NewSink(info)
			if err != nil {
				t.Fatal(err)
			}
			wr, err := sink.Writer(context.Background(), connectors.ReaderContext{Parallelism: 1, Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			w := wr.(*Writer)
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			w.now = func() time.Time { return now }
			w.lastCheck = now
			at := map[int64]time.Time{} // seq -> write time
			var want []string
			seq := int64(0)
			for range 150 {
				now = now.Add(time.Duration(r.Int64N(int64(maxStep) + 1)))
				rows := randomRows(r, rollSchema, 1+r.IntN(20), 5)
				for _, rw := range rows {
					rw[0] = seq
					at[seq] = now
					seq++
					want = append(want, canonRow(rw))
				}
				rec := buildBatch(mem, rollSchema, rows)
				if err := w.Write(context.Background(), stream.Batch{Record: rec}); err != nil {
					t.Fatal(err)
				}
				rec.Release()
			}
			if err := w.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			files := partFilesSorted(t, dir)
			if len(files) < 3 {
				t.Fatalf("%d part files for %d s of writes; want several", len(files), int(now.Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).Seconds()))
			}
			var got []string
			var prevStart time.Time
			for k, name := range files {
				fo := map[string]string{}
				for k, v := range info.Options {
					fo[k] = v
				}
				fo["path"] = filepath.Join(dir, name)
				src, err := New().NewSource(table("f", rollSchema, fo))
				if err != nil {
					t.Fatal(err)
				}
				rows, errs := readAll(t, src, 1, r, mem, connectors.ReaderContext{})
				if errs[0] != nil {
					t.Fatal(errs[0])
				}
				var lo, hi time.Time
				for j, rw := range rows {
					tm := at[rw[0].(int64)]
					if j == 0 || tm.Before(lo) {
						lo = tm
					}
					if j == 0 || tm.After(hi) {
						hi = tm
					}
					got = append(got, canonRow(rw))
				}
				if hi.Sub(lo) >= interval+check+maxStep {
					t.Errorf("%s holds rows written %v apart", name, hi.Sub(lo))
				}
				if k > 0 && lo.Sub(prevStart) < interval {
					t.Errorf("%s starts %v after the previous file: rolled before the interval", name, lo.Sub(prevStart))
				}
				prevStart = lo
			}
			sameMultiset(t, got, want)
		})
	}
}

// TestRollingParquetBySize: a small 'sink.rolling-policy.file-size'
// splits a Parquet sink's output into several complete files (each
// readable, so closed with its footer) whose union is the input.
func TestRollingParquetBySize(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(5, 5))
	dir := filepath.Join(t.TempDir(), "out")
	info := table("t", allTypes, map[string]string{"path": dir, "format": "parquet", OptRollingFileSize: "4KB"})
	sink, err := New().NewSink(info)
	if err != nil {
		t.Fatal(err)
	}
	rows := randomRows(r, allTypes, 3000, 6)
	writeRows(t, sink, allTypes, rows, 2, r, mem)
	if n := len(partFilesSorted(t, dir)); n < 4 {
		t.Fatalf("%d part files; want several", n)
	}
	src, err := New().NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	got, errs := readAll(t, src, 2, r, mem, connectors.ReaderContext{})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sameMultiset(t, canonRows(got), canonRows(rows))
}

// partFilesSorted returns the visible part files in dir, by counter.
func partFilesSorted(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	type pf struct {
		name string
		sub  int
		n    int
	}
	var fs []pf
	for _, e := range entries {
		sub, n, inProgress, ok := partFile(e.Name())
		if !ok || inProgress {
			t.Fatalf("unexpected file %s", e.Name())
		}
		fs = append(fs, pf{e.Name(), sub, n})
	}
	sort.Slice(fs, func(i, j int) bool {
		if fs[i].sub != fs[j].sub {
			return fs[i].sub < fs[j].sub
		}
		return fs[i].n < fs[j].n
	})
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}

var _ = fmt.Sprint

// TestParquetAbort: an aborted Parquet writer (partitioned, several files
// open) leaves no file and releases its buffers.
func TestParquetAbort(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(6, 6))
	dir := filepath.Join(t.TempDir(), "out")
	info := table("t", partSchema, map[string]string{"path": dir, "format": "parquet"})
	info.PartitionKeys = partKeys
	sink, err := New().NewSink(info)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sink.Writer(context.Background(), connectors.ReaderContext{Parallelism: 1, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	rec := buildBatch(mem, partSchema, partRows(r, 500))
	defer rec.Release()
	if err := w.Write(context.Background(), stream.Batch{Record: rec}); err != nil {
		t.Fatal(err)
	}
	if n := len(w.(*Writer).buckets); n < 5 {
		t.Fatalf("%d partitions open; want several", n)
	}
	if err := w.Abort(context.Background()); err != nil {
		t.Fatal(err)
	}
	if files := listTree(t, dir); len(files) != 0 {
		t.Fatalf("files left after Abort: %v", files)
	}
}

// TestRollingInactivity: with 'sink.rolling-policy.inactivity-interval'
// 5 s (rollover 1 h), a partition that stops receiving rows has its file
// rolled at the first check 5 s after its last row, while a partition
// still written to keeps its file; the output is the input.
func TestRollingInactivity(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(8, 8))
	dir := filepath.Join(t.TempDir(), "out")
	info := table("t", partSchema, map[string]string{"path": dir, "format": "json",
		OptRolloverInterval: "1 h", OptRollInactivity: "5 s", OptRollCheckInterval: "1 s"})
	info.PartitionKeys = partKeys
	sink, err := New().NewSink(info)
	if err != nil {
		t.Fatal(err)
	}
	wr, err := sink.Writer(context.Background(), connectors.ReaderContext{Parallelism: 1, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	w := wr.(*Writer)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	w.now = func() time.Time { return now }
	w.lastCheck = now
	var want []string
	write := func(dt string) {
		rows := partRows(r, 1+r.IntN(10))
		for _, rw := range rows {
			rw[1], rw[3] = dt, int32(1)
			want = append(want, canonRow(rw))
		}
		rec := buildBatch(mem, partSchema, rows)
		defer rec.Release()
		if err := w.Write(context.Background(), stream.Batch{Record: rec}); err != nil {
			t.Fatal(err)
		}
	}
	write("a")
	write("b")
	aFile := w.buckets["h=1/dt=a"].cur
	for now.Sub(start) < 7*time.Second {
		now = now.Add(500 * time.Millisecond)
		write("a")
		_, bOpen := w.buckets["h=1/dt=b"]
		if idle := now.Sub(start); bOpen != (idle < 5*time.Second) {
			t.Fatalf("after %v without rows, partition b's file open: %v", idle, bOpen)
		}
		if w.buckets["h=1/dt=a"].cur != aFile {
			t.Fatal("partition a's file was rolled while rows kept coming")
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	src, err := New().NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	got, errs := readAll(t, src, 1, r, mem, connectors.ReaderContext{})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	sameMultiset(t, canonRows(got), want)
}
