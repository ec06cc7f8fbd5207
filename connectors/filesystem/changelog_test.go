package filesystem

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// changelogSchema is the table of the changelog tests; k is the key.
var changelogSchema = types.Schema{Fields: []types.Field{
	{Name: "k", Type: types.BigIntType},
	{Name: "v", Type: types.StringType},
	{Name: "amount", Type: types.DecimalType(10, 2)},
	{Name: "ts", Type: types.TimestampType},
}}

// change is one changelog row of the reference.
type change struct {
	kind stream.RowKind
	row  row
}

// changeGen makes a random changelog for the keys k with k % writers ==
// writer, tracking the current row of each key.
type changeGen struct {
	r       *rand.Rand
	writer  int
	writers int
	cur     map[int64]row
}

func (g *changeGen) newRow(k int64) row {
	rw := row{k, nil, nil, nil}
	if g.r.IntN(6) != 0 {
		rw[1] = randomString(g.r)
	}
	if g.r.IntN(6) != 0 {
		rw[2] = big.NewInt(g.r.Int64N(2_000_000) - 1_000_000)
	}
	if g.r.IntN(6) != 0 {
		rw[3] = 1_700_000_000_000 + g.r.Int64N(1_000_000_000)
	}
	return rw
}

// next appends the changes of one random operation to dst.
func (g *changeGen) next(dst []change) []change {
	k := int64(g.r.IntN(40)*g.writers + g.writer)
	old, ok := g.cur[k]
	switch {
	case !ok:
		rw := g.newRow(k)
		g.cur[k] = rw
		return append(dst, change{stream.Insert, rw})
	case g.r.IntN(4) == 0:
		delete(g.cur, k)
		return append(dst, change{stream.Delete, old})
	default:
		rw := g.newRow(k)
		g.cur[k] = rw
		return append(dst, change{stream.UpdateBefore, old}, change{stream.UpdateAfter, rw})
	}
}

// canonChange renders a change from Go values the way canonJSON renders
// the same change read back from a line.
func canonChange(c change) string {
	vals := make([]string, 4)
	vals[0] = strconv.FormatInt(c.row[0].(int64), 10)
	vals[1], vals[2], vals[3] = "NULL", "NULL", "NULL"
	if v := c.row[1]; v != nil {
		vals[1] = strconv.Quote(v.(string))
	}
	if v := c.row[2]; v != nil {
		vals[2] = new(big.Rat).SetFrac(v.(*big.Int), big.NewInt(100)).FloatString(2)
	}
	if v := c.row[3]; v != nil {
		vals[3] = time.UnixMilli(v.(int64)).UTC().Format("2006-01-02 15:04:05.000")
	}
	return c.kind.String() + " " + strings.Join(vals, "|")
}

// canonJSON parses a changelog-json line with encoding/json, independently
// of the format's decoder.
func canonJSON(t *testing.T, line string) string {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	if len(m) != 5 {
		t.Fatalf("line %q has %d keys, want the 4 columns and \"op\"", line, len(m))
	}
	vals := make([]string, 4)
	for i, name := range []string{"k", "v", "amount", "ts"} {
		v, ok := m[name]
		if !ok {
			t.Fatalf("line %q lacks %q", line, name)
		}
		switch v := v.(type) {
		case nil:
			vals[i] = "NULL"
		case json.Number:
			vals[i] = string(v)
		case string:
			if name == "v" {
				vals[i] = strconv.Quote(v)
			} else {
				vals[i] = v
			}
		default:
			t.Fatalf("line %q: %q is %T", line, name, v)
		}
	}
	op, _ := m["op"].(string)
	return op + " " + strings.Join(vals, "|")
}

// writeChanges writes each writer's changes through its own writer of
// sink, in random batches, and closes the writers.
func writeChanges(t *testing.T, sink connectors.Sink, per [][]change, r *rand.Rand, mem memory.Allocator) {
	t.Helper()
	ctx := context.Background()
	ws := make([]connectors.Writer, len(per))
	for s := range ws {
		w, err := sink.Writer(ctx, connectors.ReaderContext{Subtask: s, Parallelism: len(per), Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		ws[s] = w
	}
	pos := make([]int, len(per))
	for {
		live := []int{}
		for s := range per {
			if pos[s] < len(per[s]) {
				live = append(live, s)
			}
		}
		if len(live) == 0 {
			break
		}
		s := live[r.IntN(len(live))]
		n := min(len(per[s])-pos[s], 1+r.IntN(50))
		part := per[s][pos[s] : pos[s]+n]
		pos[s] += n
		rows := make([]row, n)
		kinds := make([]stream.RowKind, n)
		for i, c := range part {
			rows[i], kinds[i] = c.row, c.kind
		}
		rec := buildBatch(mem, changelogSchema, rows)
		err := ws[s].Write(ctx, stream.Batch{Record: rec, Kinds: kinds})
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range ws {
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// partFiles returns, per writer subtask, its part files in name order.
func partFiles(t *testing.T, dir string) map[int][]string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int][]string{}
	for _, e := range es {
		if hidden(e.Name()) {
			continue
		}
		rest, ok := strings.CutPrefix(e.Name(), "part-")
		sub, _, _ := strings.Cut(rest, "-")
		s, err := strconv.Atoi(sub)
		if !ok || err != nil {
			t.Fatalf("unexpected file %s", e.Name())
		}
		out[s] = append(out[s], e.Name())
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out
}

// TestChangelogRoundTrip writes random changelogs through the
// changelog-json sink at parallelism 3, in two runs on the same directory
// (a restart), replays each writer's part files in name order with an
// independent JSON parser, and reads them back through the source: the
// changes, and so the final state, are the input's.
func TestChangelogRoundTrip(t *testing.T) {
	for _, upsert := range []bool{false, true} {
		t.Run(fmt.Sprintf("upsert=%v", upsert), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := rand.New(rand.NewPCG(11, uint64(len(fmt.Sprint(upsert)))))
			const writers = 3
			dir := filepath.Join(t.TempDir(), "out")
			info := table("out", changelogSchema, map[string]string{"path": dir, "format": FormatChangelogJSON, OptRollingFileSize: "1KB"})
			info.Changelog = "retract"
			if upsert {
				info.PrimaryKey, info.Changelog = []int{0}, "upsert"
			}
			f := New()
			if err := f.AcceptsUpdates(info); err != nil {
				t.Fatal(err)
			}
			gens := make([]*changeGen, writers)
			for s := range gens {
				gens[s] = &changeGen{r: r, writer: s, writers: writers, cur: map[int64]row{}}
			}
			want := make([][]change, writers) // everything written, per writer
			filesAfter := map[int]int{}
			for run := 0; run < 2; run++ {
				per := make([][]change, writers)
				for s, g := range gens {
					for n := 100 + r.IntN(300); len(per[s]) < n; {
						per[s] = g.next(per[s])
					}
					want[s] = append(want[s], per[s]...)
				}
				sink, err := f.NewSink(info)
				if err != nil {
					t.Fatal(err)
				}
				writeChanges(t, sink, per, r, mem)
				files := partFiles(t, dir)
				for s := 0; s < writers; s++ {
					if run == 1 && len(files[s]) <= filesAfter[s] {
						t.Fatalf("writer %d: the restarted run added no files: %v", s, files[s])
					}
					if run == 1 && files[s][filesAfter[s]-1] >= files[s][filesAfter[s]] {
						t.Fatalf("writer %d: the restarted run's file %s does not sort after %s", s, files[s][filesAfter[s]], files[s][filesAfter[s]-1])
					}
					filesAfter[s] = len(files[s])
				}
			}

			// Replay each writer's files in name order.
			files := partFiles(t, dir)
			for s := 0; s < writers; s++ {
				var got, exp []string
				for _, name := range files[s] {
					if !strings.HasPrefix(name, fmt.Sprintf("part-%d-", s)) || len(strings.TrimSuffix(strings.TrimPrefix(name, fmt.Sprintf("part-%d-", s)), ".json")) != 10 {
						t.Fatalf("part file name %s lacks a 10-digit counter", name)
					}
					fh, err := os.Open(filepath.Join(dir, name))
					if err != nil {
						t.Fatal(err)
					}
					sc := bufio.NewScanner(fh)
					sc.Buffer(nil, 1<<20)
					for sc.Scan() {
						got = append(got, canonJSON(t, sc.Text()))
					}
					fh.Close()
				}
				for _, c := range want[s] {
					if upsert && c.kind == stream.UpdateBefore {
						continue
					}
					exp = append(exp, canonChange(c))
				}
				if strings.Join(got, "\n") != strings.Join(exp, "\n") {
					t.Fatalf("writer %d: replayed %d changes, wrote %d; first difference at %d", s, len(got), len(exp), firstDiff(got, exp))
				}
				// The final state the replay gives is the generator's.
				state := map[string]string{}
				for _, line := range got {
					op, rest, _ := strings.Cut(line, " ")
					k, _, _ := strings.Cut(rest, "|")
					switch op {
					case "+I", "+U":
						state[k] = rest
					case "-U":
						if state[k] != rest {
							t.Fatalf("writer %d: -U of %s, which is not the current row %s", s, rest, state[k])
						}
					case "-D":
						if state[k] != rest {
							t.Fatalf("writer %d: -D of %s, which is not the current row %s", s, rest, state[k])
						}
						delete(state, k)
					}
				}
				if len(state) != len(gens[s].cur) {
					t.Fatalf("writer %d: replay leaves %d keys, want %d", s, len(state), len(gens[s].cur))
				}
				for k, rw := range gens[s].cur {
					if want := strings.TrimPrefix(canonChange(change{stream.Insert, rw}), "+I "); state[strconv.FormatInt(k, 10)] != want {
						t.Fatalf("writer %d: key %d is %s after replay, want %s", s, k, state[strconv.FormatInt(k, 10)], want)
					}
				}
			}

			// Read back through the source at parallelism 2 (the readers
			// run in reverse order, as they may): per key, the changes in
			// order; -U lines skipped with a primary key.
			src, err := f.NewSource(info)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := f.SourceChangelog(info), map[bool]string{false: "retract", true: "upsert"}[upsert]; got != want {
				t.Fatalf("SourceChangelog = %s, want %s", got, want)
			}
			perKey := map[int64][]string{}
			for sub := 1; sub >= 0; sub-- {
				rd, err := src.Reader(context.Background(), connectors.ReaderContext{Subtask: sub, Parallelism: 2, BatchSize: 1 + r.IntN(60), Alloc: mem})
				if err != nil {
					t.Fatal(err)
				}
				cr := rd.(connectors.ChangelogReader)
				for {
					b, err := cr.NextBatch(context.Background())
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if len(b.Kinds) != b.NumRows() {
						t.Fatalf("batch of %d rows with %d kinds", b.NumRows(), len(b.Kinds))
					}
					for i, rw := range rowsOf(b.Record) {
						perKey[rw[0].(int64)] = append(perKey[rw[0].(int64)], canonChange(change{b.Kinds[i], rw}))
					}
					b.Release()
				}
				if err := rd.Close(); err != nil {
					t.Fatal(err)
				}
			}
			wantKey := map[int64][]string{}
			for s := range want {
				for _, c := range want[s] {
					if upsert && c.kind == stream.UpdateBefore {
						continue
					}
					wantKey[c.row[0].(int64)] = append(wantKey[c.row[0].(int64)], canonChange(c))
				}
			}
			if len(perKey) != len(wantKey) {
				t.Fatalf("source read %d keys, want %d", len(perKey), len(wantKey))
			}
			for k, w := range wantKey {
				if g := perKey[k]; strings.Join(g, "\n") != strings.Join(w, "\n") {
					t.Fatalf("key %d: source read\n%s\nwant\n%s", k, strings.Join(g, "\n"), strings.Join(w, "\n"))
				}
			}
		})
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestChangelogErrors checks the refusals and the bad-line policy.
func TestChangelogErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f := New()
	dir := t.TempDir()
	csvInfo := table("t", changelogSchema, map[string]string{"path": dir, "format": "csv"})
	if err := f.AcceptsUpdates(csvInfo); err == nil || !strings.Contains(err.Error(), "'format' = 'changelog-json'") {
		t.Fatalf("csv table accepts updates: %v", err)
	}
	if got := f.SourceChangelog(csvInfo); got != "append" {
		t.Fatalf("csv SourceChangelog = %s", got)
	}
	// A csv sink fed a -D row says what to use instead.
	sink, err := f.NewSink(csvInfo)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := sink.Writer(context.Background(), connectors.ReaderContext{Alloc: mem})
	rec := buildBatch(mem, changelogSchema, []row{{int64(1), "a", nil, nil}})
	err = w.Write(context.Background(), stream.Batch{Record: rec, Kinds: []stream.RowKind{stream.Delete}})
	rec.Release()
	w.Abort(context.Background())
	if err == nil || !strings.Contains(err.Error(), "row 0 is -D") || !strings.Contains(err.Error(), "changelog-json") {
		t.Fatalf("csv sink took a -D row: %v", err)
	}
	// A column called op clashes with the row kind's key.
	clash := types.Schema{Fields: []types.Field{{Name: "OP", Type: types.StringType}}}
	if err := f.ValidateTable(table("t", clash, map[string]string{"path": dir, "format": FormatChangelogJSON})); err == nil || !strings.Contains(err.Error(), "column 'OP'") {
		t.Fatalf("column op accepted: %v", err)
	}
	// json.* options apply to changelog-json, csv.* ones do not.
	if err := f.ValidateTable(table("t", changelogSchema, map[string]string{"path": dir, "format": FormatChangelogJSON, OptJSONIgnoreErrors: "true"})); err != nil {
		t.Fatal(err)
	}
	if err := f.ValidateTable(table("t", changelogSchema, map[string]string{"path": dir, "format": FormatChangelogJSON, OptCSVDelimiter: ";"})); err == nil {
		t.Fatal("csv option accepted for changelog-json")
	}

	// Bad lines: a positioned error, or skipped and counted.
	in := filepath.Join(t.TempDir(), "in")
	os.MkdirAll(in, 0o755)
	lines := []string{
		`{"k":1,"v":"a","op":"+I"}`,
		`{"k":2,"v":"b"}`,
		`{"k":3,"v":"c","op":"+X"}`,
		`{"k":1,"v":"a","op":"-D"}`,
		``,
		`{"k":4,"op":"+U"}`,
		`{"k":"x","op":"+I"}`,
	}
	os.WriteFile(filepath.Join(in, "part-0-0000000000.json"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	read := func(opts map[string]string) ([]string, error, *counters) {
		o := map[string]string{"path": in, "format": FormatChangelogJSON}
		for k, v := range opts {
			o[k] = v
		}
		src, err := f.NewSource(table("t", changelogSchema, o))
		if err != nil {
			t.Fatal(err)
		}
		m := &counters{}
		rd, err := src.Reader(context.Background(), connectors.ReaderContext{Parallelism: 1, Alloc: mem, Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		var got []string
		for {
			b, err := rd.(connectors.ChangelogReader).NextBatch(context.Background())
			if errors.Is(err, io.EOF) {
				return got, nil, m
			}
			if err != nil {
				return got, err, m
			}
			for i, rw := range rowsOf(b.Record) {
				got = append(got, fmt.Sprintf("%s %v %v", b.Kinds[i], rw[0], rw[1]))
			}
			b.Release()
		}
	}
	_, err, _ = read(nil)
	if err == nil || !strings.Contains(err.Error(), "part-0-0000000000.json:2: ") || !strings.Contains(err.Error(), `no "op" key`) {
		t.Fatalf("missing op: %v", err)
	}
	got, err, m := read(map[string]string{OptJSONIgnoreErrors: "true"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"+I 1 a", "-D 1 a", "+U 4 <nil>"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("read %v, want %v", got, want)
	}
	if n := m.get("bad_records_skipped"); n != 3 {
		t.Fatalf("bad_records_skipped = %v, want 3", n)
	}
}
