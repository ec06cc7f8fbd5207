package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// seqSchema is allTypes with a leading sequence number, so a test knows
// which writer wrote a row and in which order.
var seqSchema = types.Schema{Fields: append([]types.Field{{Name: "seq", Type: types.BigIntType}}, allTypes.Fields...)}

// writeSeq writes n random rows (seq 0..n-1, in order) through writers
// sink writers, each batch to a random writer, closes them and returns the
// rows and each row's writer.
func writeSeq(t *testing.T, sink connectors.Sink, n, writers int, r *rand.Rand, mem memory.Allocator) ([]row, []int) {
	t.Helper()
	ctx := context.Background()
	rows := randomRows(r, seqSchema, n, 6)
	writerOfRow := make([]int, n)
	ws := make([]connectors.Writer, writers)
	for s := range ws {
		w, err := sink.Writer(ctx, connectors.ReaderContext{Subtask: s, Parallelism: writers, Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		ws[s] = w
	}
	for i := 0; i < n; {
		k := min(n-i, 1+r.IntN(150))
		s := r.IntN(writers)
		for j := i; j < i+k; j++ {
			rows[j][0] = int64(j)
			writerOfRow[j] = s
		}
		rec := buildBatch(mem, seqSchema, rows[i:i+k])
		if err := ws[s].Write(ctx, stream.Batch{Record: rec}); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		i += k
	}
	for _, w := range ws {
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return rows, writerOfRow
}

// tableOpts returns a table's options; csv gets a NULL literal, so that
// NULL strings read back as NULL.
func tableOpts(dir, format, roll string) map[string]string {
	o := map[string]string{"path": dir, "format": format, OptRollingFileSize: roll}
	if format == "csv" {
		o[OptCSVNullLiteral] = `\N`
	}
	return o
}

// readSome reads from rd up to batches batches (all of them if batches <
// 0) and returns the rows' sequence numbers and canonical forms.
func readSome(t *testing.T, rd connectors.Reader, batches int, batchSize int) ([]int64, []string, bool) {
	t.Helper()
	var seqs []int64
	var canon []string
	for b := 0; batches < 0 || b < batches; b++ {
		rec, err := rd.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return seqs, canon, true
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.NumRows() == 0 || int(rec.NumRows()) > batchSize {
			t.Fatalf("batch of %d rows, batch size %d", rec.NumRows(), batchSize)
		}
		for _, rw := range rowsOf(rec) {
			seqs = append(seqs, rw[0].(int64))
			canon = append(canon, canonRow(rw))
		}
		rec.Release()
	}
	return seqs, canon, false
}

// TestSourceRestore reads random prefixes of a table at parallelism P,
// takes every reader's position, restores at P' in {1, P, 2P}, reads some
// more and takes the restored readers' positions, restores from those
// (at P' or another parallelism) and reads the rest: every row is read exactly once over both runs; each reader
// returns a writer's rows in the order written; and with changelog-json
// the rows of each writer, first run then second, are exactly the writer's
// rows in order.
func TestSourceRestore(t *testing.T) {
	seed := uint64(40)
	for _, format := range []string{"csv", "json", FormatChangelogJSON, FormatParquet} {
		for iter := 0; iter < 6; iter++ {
			if format == FormatParquet && iter >= 3 {
				break
			}
			seed++
			t.Run(fmt.Sprintf("%s/%d", format, iter), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				r := rand.New(rand.NewPCG(seed, 7))
				dir := filepath.Join(t.TempDir(), "t")
				info := table("t", seqSchema, tableOpts(dir, format, fmt.Sprint(1+r.IntN(30000))))
				f := New()
				sink, err := f.NewSink(info)
				if err != nil {
					t.Fatal(err)
				}
				rows, writerOfRow := writeSeq(t, sink, 300+r.IntN(1500), 1+r.IntN(3), r, mem)
				src, err := f.NewSource(info)
				if err != nil {
					t.Fatal(err)
				}
				rs := src.(connectors.RestorableSource)
				p := 1 + r.IntN(4)
				got := map[int64]int{}
				canonOf := map[int64]string{}
				for _, rw := range rows {
					canonOf[rw[0].(int64)] = canonRow(rw)
				}
				// order checks that each reader returns each writer's rows
				// in increasing sequence.
				order := func(what string, seqs []int64) {
					last := map[int]int64{}
					for _, s := range seqs {
						w := writerOfRow[s]
						if l, ok := last[w]; ok && s <= l {
							t.Fatalf("%s: row %d of writer %d after row %d", what, s, w, l)
						}
						last[w] = s
					}
				}
				record := func(seqs []int64, canon []string) {
					for i, s := range seqs {
						got[s]++
						if canon[i] != canonOf[s] {
							t.Fatalf("row %d reads back as %s, wrote %s", s, canon[i], canonOf[s])
						}
					}
				}
				firstOf := map[int][]int64{} // per writer, rows of the first run
				var positions [][]byte
				for s := 0; s < p; s++ {
					bs := 1 + r.IntN(300)
					rd, err := rs.Reader(context.Background(), connectors.ReaderContext{Subtask: s, Parallelism: p, BatchSize: bs, Alloc: mem})
					if err != nil {
						t.Fatal(err)
					}
					seqs, canon, _ := readSome(t, rd, r.IntN(6), bs)
					order(fmt.Sprintf("first run, reader %d", s), seqs)
					record(seqs, canon)
					for _, sq := range seqs {
						firstOf[writerOfRow[sq]] = append(firstOf[writerOfRow[sq]], sq)
					}
					pos, err := rd.(connectors.PositionedReader).Position()
					if err != nil {
						t.Fatal(err)
					}
					positions = append(positions, pos)
					if err := rd.Close(); err != nil {
						t.Fatal(err)
					}
				}
				// A restored run reads some and is checkpointed (its
				// positions must still cover what the first run read),
				// then a run restored from that reads the rest.
				p2 := []int{1, p, 2 * p}[r.IntN(3)]
				secondOf := map[int][]int64{}
				for round := range 2 {
					last := round == 1
					var next [][]byte
					for s := 0; s < p2; s++ {
						bs := 1 + r.IntN(300)
						rd, err := rs.RestoreReader(context.Background(), connectors.ReaderContext{Subtask: s, Parallelism: p2, BatchSize: bs, Alloc: mem}, positions)
						if err != nil {
							t.Fatal(err)
						}
						batches := -1
						if !last {
							batches = r.IntN(4)
						}
						seqs, canon, eof := readSome(t, rd, batches, bs)
						if last && !eof {
							t.Fatal("no EOF")
						}
						order(fmt.Sprintf("restored at %d, reader %d", p2, s), seqs)
						record(seqs, canon)
						for _, sq := range seqs {
							secondOf[writerOfRow[sq]] = append(secondOf[writerOfRow[sq]], sq)
						}
						pos, err := rd.(connectors.PositionedReader).Position()
						if err != nil {
							t.Fatal(err)
						}
						next = append(next, pos)
						if err := rd.Close(); err != nil {
							t.Fatal(err)
						}
					}
					positions = next
					if changelogFormat := format == FormatChangelogJSON; !changelogFormat {
						p2 = []int{1, p2, p2 + 1}[r.IntN(3)]
					}
				}
				for _, rw := range rows {
					if n := got[rw[0].(int64)]; n != 1 {
						t.Fatalf("P=%d P'=%d: row %d read %d times", p, p2, rw[0], n)
					}
				}
				if len(got) != len(rows) {
					t.Fatalf("read %d distinct rows, wrote %d", len(got), len(rows))
				}
				if format == FormatChangelogJSON {
					for w := range 3 {
						var want []int64
						for i, ww := range writerOfRow {
							if ww == w {
								want = append(want, int64(i))
							}
						}
						if all := append(firstOf[w], secondOf[w]...); !slices.Equal(all, want) {
							t.Fatalf("writer %d's rows over both runs are not its rows in order", w)
						}
					}
				}
			})
		}
	}
}

// checkpointRun is one run of the two-phase sink test.
type checkpointRun struct {
	t       *testing.T
	sink    connectors.Sink
	ws      []connectors.TwoPhaseWriter
	closed  []bool
	mem     memory.Allocator
	r       *rand.Rand
	nextSeq *int64
	// part: the table is PARTITIONED BY (s2); rows get a few values.
	part bool
}

func (c *checkpointRun) open(writers int) {
	c.ws, c.closed = nil, make([]bool, writers)
	for s := 0; s < writers; s++ {
		w, err := c.sink.Writer(context.Background(), connectors.ReaderContext{Subtask: s, Parallelism: writers, Alloc: c.mem})
		if err != nil {
			c.t.Fatal(err)
		}
		c.ws = append(c.ws, w.(connectors.TwoPhaseWriter))
	}
}

// write writes a few random batches to open writers and returns the rows.
func (c *checkpointRun) write() []row {
	var out []row
	for range c.r.IntN(5) {
		s := c.r.IntN(len(c.ws))
		if c.closed[s] {
			continue
		}
		rows := randomRows(c.r, seqSchema, 1+c.r.IntN(80), 5)
		for _, rw := range rows {
			rw[0] = *c.nextSeq
			*c.nextSeq++
			if c.part {
				rw[9] = []any{"a", "b/c", "x:y", nil}[c.r.IntN(4)]
			}
		}
		rec := buildBatch(c.mem, seqSchema, rows)
		if err := c.ws[s].Write(context.Background(), stream.Batch{Record: rec}); err != nil {
			c.t.Fatal(err)
		}
		rec.Release()
		out = append(out, rows...)
	}
	return out
}

// crash drops the writers as a dying process would: no Close, no Abort;
// their open files stay as written so far (the memory their buffers hold
// is released, for the test's allocator check).
func (c *checkpointRun) crash() {
	for s, w := range c.ws {
		if !c.closed[s] {
			w.(*Writer).crash()
		}
	}
	c.ws = nil
}

// prepare prepares checkpoint id at every writer still open.
func (c *checkpointRun) prepare(id int64) [][]byte {
	var out [][]byte
	for s, w := range c.ws {
		if c.closed[s] {
			continue
		}
		data, err := w.Prepare(context.Background(), id)
		if err != nil {
			c.t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// commit commits the committables of a checkpoint, each at a random open
// writer (Commit only needs the committable), some of them twice.
func (c *checkpointRun) commit(id int64, committables [][]byte) {
	for _, data := range committables {
		for range 1 + c.r.IntN(2) {
			if err := c.ws[c.r.IntN(len(c.ws))].Commit(context.Background(), id, data); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

// visibleRows reads the table through the filesystem source, which must
// never see an in-progress file.
func visibleRows(t *testing.T, f *Factory, info connectors.TableInfo, r *rand.Rand, mem memory.Allocator) []string {
	t.Helper()
	if _, err := os.Stat(info.Options["path"]); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	src, err := f.NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	got, errs := readAll(t, src, 1+r.IntN(3), r, mem, connectors.ReaderContext{})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	for _, rw := range got {
		out = append(out, canonRow(rw))
	}
	return out
}

func canonRows(rows []row) []string {
	out := make([]string, 0, len(rows))
	for _, rw := range rows {
		out = append(out, canonRow(rw))
	}
	return out
}

// TestSinkTwoPhaseCrashRecover runs the sink through checkpoints (write,
// prepare, commit - some commits late, skipped or repeated), crashes it at a
// random point (writers dropped without Close or Abort; some writers may
// have closed already, committing rows after the last checkpoint), then
// recovers from the last complete checkpoint and finishes in a second run,
// maybe at another parallelism. After the crash the visible rows are
// exactly those before the checkpoint; at the end, those plus the second
// run's. The source never sees in-progress files, and a writer's part
// counters keep increasing across checkpoints and runs.
func TestSinkTwoPhaseCrashRecover(t *testing.T) {
	for iter := 0; iter < 15; iter++ {
		t.Run(fmt.Sprint(iter), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(uint64(iter), 11))
			format := []string{"csv", "json", FormatChangelogJSON}[iter%3]
			partitioned := iter >= 13 // PARTITIONED BY (s2)
			if iter >= 12 {
				format = []string{FormatParquet, "csv", FormatParquet}[iter-12]
			}
			dir := filepath.Join(t.TempDir(), "out")
			info := table("out", seqSchema, tableOpts(dir, format, fmt.Sprint(200+r.IntN(5000))))
			if partitioned {
				info.PartitionKeys = []int{9}
			}
			f := New()
			sinkAny, err := f.NewSink(info)
			if err != nil {
				t.Fatal(err)
			}
			sink := sinkAny.(connectors.RecoverableSink)
			var seq int64
			run := &checkpointRun{t: t, sink: sink, mem: mem, r: r, nextSeq: &seq, part: partitioned}
			run.open(1 + r.IntN(3))

			var committed []row // rows of complete checkpoints
			var uncommitted []row
			var lastComplete [][]byte
			var lastID int64
			var late [][][]byte // prepared checkpoints whose Commit has not come
			var lateIDs []int64
			for id := int64(1); id <= int64(2+r.IntN(5)); id++ {
				uncommitted = append(uncommitted, run.write()...)
				cs := run.prepare(id)
				committed = append(committed, uncommitted...)
				uncommitted = nil
				lastComplete, lastID = cs, id
				late, lateIDs = append(late, cs), append(lateIDs, id)
				switch r.IntN(3) {
				case 0: // commit everything due, in order
					for i := range late {
						run.commit(lateIDs[i], late[i])
					}
					late, lateIDs = nil, nil
				case 1: // only the latest (an earlier notification was lost)
					run.commit(id, cs)
					late, lateIDs = nil, nil
				}
				// Between commits, a reader sees exactly what is committed.
				if len(late) == 0 {
					sameMultiset(t, visibleRows(t, f, info, r, mem), canonRows(committed))
				}
			}
			// Rows after the last checkpoint; some writers reach the end of
			// their input and close (committing them), then the job crashes.
			after := run.write()
			for s, w := range run.ws {
				if r.IntN(3) == 0 {
					if err := w.Close(context.Background()); err != nil {
						t.Fatal(err)
					}
					run.closed[s] = true
				}
			}
			after = append(after, run.write()...)
			_ = after
			run.crash()

			// Restore from the last complete checkpoint.
			for range 1 + r.IntN(2) { // Recover twice is harmless
				if err := sink.Recover(context.Background(), lastComplete); err != nil {
					t.Fatal(err)
				}
			}
			_ = lastID
			es := listTree(t, dir)
			maxCounter := map[int]int{}
			for _, e := range es {
				if hidden(filepath.Base(e)) {
					t.Fatalf("hidden file %s left after Recover", e)
				}
				sub, n, _, ok := partFile(filepath.Base(e))
				if !ok {
					t.Fatalf("unexpected file %s", e)
				}
				if partitioned != (filepath.Dir(e) != ".") {
					t.Fatalf("file %s in the wrong directory", e)
				}
				maxCounter[sub] = max(maxCounter[sub], n)
			}
			sameMultiset(t, visibleRows(t, f, info, r, mem), canonRows(committed))

			// A run restored from the same checkpoint at a higher
			// parallelism, whose writers (new subtask indices among them)
			// all reach the end of their input and close, committing their
			// rows, then a crash before the next checkpoint: restored from
			// that checkpoint again, the output is what it committed, also
			// for writers it never knew.
			run.open(len(run.closed) + 1 + r.IntN(2))
			for range 4 {
				run.write()
			}
			for s, w := range run.ws {
				if err := w.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
				run.closed[s] = true
			}
			run.crash()
			if err := sink.Recover(context.Background(), lastComplete); err != nil {
				t.Fatal(err)
			}
			sameMultiset(t, visibleRows(t, f, info, r, mem), canonRows(committed))

			// The second run, maybe at another parallelism, to the end.
			run.open(1 + r.IntN(3))
			var second []row
			for id := lastID + 1; id <= lastID+int64(r.IntN(3)); id++ {
				second = append(second, run.write()...)
				run.commit(id, run.prepare(id))
			}
			second = append(second, run.write()...)
			for _, w := range run.ws {
				if err := w.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			old := map[string]bool{}
			for _, e := range es {
				old[e] = true
			}
			for _, e := range listTree(t, dir) {
				sub, n, _, _ := partFile(filepath.Base(e))
				if mc, ok := maxCounter[sub]; ok && !old[e] && n <= mc {
					t.Fatalf("new file %s does not count on past %d", e, mc)
				}
			}
			sameMultiset(t, visibleRows(t, f, info, r, mem), canonRows(append(committed, second...)))
		})
	}
}

// TestSinkCommitIdempotent: a committable commits once; repeating it (or
// committing it after Close made it visible) changes nothing, and a
// committable whose files are gone is an error naming them.
func TestSinkCommitIdempotent(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(5, 5))
	dir := filepath.Join(t.TempDir(), "out")
	info := table("out", seqSchema, map[string]string{"path": dir, "format": "json"})
	f := New()
	sink, _ := f.NewSink(info)
	var seq int64
	run := &checkpointRun{t: t, sink: sink, mem: mem, r: r, nextSeq: &seq}
	run.open(1)
	var rows []row
	for len(rows) == 0 {
		rows = run.write()
	}
	cs := run.prepare(1)
	if got := visibleRows(t, f, info, r, mem); len(got) != 0 {
		t.Fatalf("%d rows visible before Commit", len(got))
	}
	for range 3 {
		if err := run.ws[0].Commit(context.Background(), 1, cs[0]); err != nil {
			t.Fatal(err)
		}
		sameMultiset(t, visibleRows(t, f, info, r, mem), canonRows(rows))
	}
	if err := run.ws[0].Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := run.ws[0].Commit(context.Background(), 1, cs[0]); err != nil {
		t.Fatal(err)
	}
	sameMultiset(t, visibleRows(t, f, info, r, mem), canonRows(rows))
	// The prepared output is gone: Recover says so.
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		os.Remove(filepath.Join(dir, e.Name()))
	}
	err := sink.(connectors.RecoverableSink).Recover(context.Background(), cs)
	if err == nil || !strings.Contains(err.Error(), "table 'out'") || !strings.Contains(err.Error(), "lost") {
		t.Fatalf("lost output not reported: %v", err)
	}
	if err := sink.(connectors.RecoverableSink).Recover(context.Background(), [][]byte{[]byte(`{"files":[{"in_progress":"../x","final":"y"}]}`)}); err == nil || !strings.Contains(err.Error(), "not a file name") {
		t.Fatalf("bad committable accepted: %v", err)
	}
}

// listTree returns the paths, relative to dir, of the files under it.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
