package filesystem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TestRoundTrip writes random rows with NULLs of every type through the
// sink (1 to 3 writers, small part files) and reads them back through the
// source (1 to 3 readers, which cut the files into byte ranges): the rows
// must come back as they went in.
func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		opts map[string]string
		// nullString is what a NULL STRING reads back as.
		nullString any
	}{
		{"csv", map[string]string{"format": "csv"}, ""},
		{"csv-null-literal", map[string]string{"format": "csv", OptCSVNullLiteral: `\N`}, nil},
		{"csv-tab", map[string]string{"format": "csv", OptCSVDelimiter: `\t`, OptCSVNullLiteral: "null"}, nil},
		{"json", map[string]string{"format": "json"}, nil},
		{"json-iso", map[string]string{"format": "json", OptJSONTimestampStyle: "ISO-8601"}, nil},
		{"parquet", map[string]string{"format": "parquet"}, nil},
		{"parquet-zstd", map[string]string{"format": "parquet", OptParquetCompression: "zstd"}, nil},
	}
	seed := uint64(0)
	for _, tc := range cases {
		for writers := 1; writers <= 3; writers++ {
			for readers := 1; readers <= 3; readers++ {
				if tc.name == "parquet-zstd" && (writers != 2 || readers != 1) ||
					tc.name == "parquet" && !(writers == 3 && readers == 2) {
					continue // a few shapes are enough for Parquet, read by whole files
				}
				seed++
				t.Run(fmt.Sprintf("%s/w%d/r%d", tc.name, writers, readers), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					defer mem.AssertSize(t, 0)
					r := rand.New(rand.NewPCG(seed, 99))
					dir := filepath.Join(t.TempDir(), "out")
					opts := map[string]string{"path": dir, OptRollingFileSize: fmt.Sprint(1 + r.IntN(20000))}
					for k, v := range tc.opts {
						opts[k] = v
					}
					info := table("t", allTypes, opts)
					f := New()
					if err := f.ValidateTable(info); err != nil {
						t.Fatal(err)
					}
					sink, err := f.NewSink(info)
					if err != nil {
						t.Fatal(err)
					}
					rows := randomRows(r, allTypes, 500+r.IntN(1500), 6)
					writeRows(t, sink, allTypes, rows, writers, r, mem)

					entries, err := os.ReadDir(dir)
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range entries {
						if !strings.HasPrefix(e.Name(), "part-") {
							t.Fatalf("unexpected file %s after Close", e.Name())
						}
					}
					var want []string
					for _, rw := range rows {
						exp := append(row(nil), rw...)
						for c, fld := range allTypes.Fields {
							if exp[c] == nil && fld.Type.Kind == types.String {
								exp[c] = tc.nullString
							}
						}
						want = append(want, canonRow(exp))
					}
					src, err := f.NewSource(info)
					if err != nil {
						t.Fatal(err)
					}
					got, errs := readAll(t, src, readers, r, mem, connectors.ReaderContext{})
					for _, err := range errs {
						if err != nil {
							t.Fatal(err)
						}
					}
					var gotS []string
					for _, rw := range got {
						gotS = append(gotS, canonRow(rw))
					}
					sameMultiset(t, gotS, want)
				})
			}
		}
	}
}

// TestReadersSplitOneFileExactly cuts one CSV file full of multi-line
// quoted fields among many readers: every record is read once.
func TestReadersSplitOneFileExactly(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(7, 7))
	schema := types.Schema{Fields: []types.Field{{Name: "k", Type: types.BigIntType}, {Name: "s", Type: types.StringType}}}
	dir := t.TempDir()
	info := table("t", schema, map[string]string{"path": dir, "format": "csv"})
	sink, err := New().NewSink(info)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]row, 3000)
	var want []string
	for i := range rows {
		s := strings.Repeat("\"\n,", r.IntN(4)) + randomString(r)
		rows[i] = row{int64(i), s}
		want = append(want, canonRow(rows[i]))
	}
	writeRows(t, sink, schema, rows, 1, r, mem)
	src, err := New().NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	for p := 1; p <= 13; p += 4 {
		got, errs := readAll(t, src, p, r, mem, connectors.ReaderContext{})
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		var gotS []string
		for _, rw := range got {
			gotS = append(gotS, canonRow(rw))
		}
		sameMultiset(t, gotS, want)
	}
}

// badKind makes one kind of bad record and the error it must cause.
type badKind struct {
	line func(r *rand.Rand) string
	err  string
}

var csvBad = []badKind{
	{func(*rand.Rand) string { return `abc,x,2026-01-01 00:00:00` }, "column 'a': cannot parse 'abc' as BIGINT"},
	{func(*rand.Rand) string { return `1,x` }, "expected 3 fields, got 2"},
	{func(*rand.Rand) string { return `1,x,2026-13-01 00:00:00` }, "column 'c': cannot parse '2026-13-01 00:00:00' as TIMESTAMP(3)"},
	{func(*rand.Rand) string { return `1,ab"c,2026-01-01 00:00:00` }, "column 'b': a quote inside an unquoted field (quote the whole field and double inner quotes)"},
	{func(*rand.Rand) string { return `1,"x"y,2026-01-01 00:00:00` }, `column 'b': unexpected 'y' after a closing quote`},
	{func(*rand.Rand) string { return `1,x,2026-01-01 00:00:00,extra` }, "expected 3 fields, got 4"},
}

var jsonBad = []badKind{
	{func(*rand.Rand) string { return `{"a": "abc", "b": "x", "c": "2026-01-01 00:00:00"}` }, "column 'a': cannot parse 'abc' as BIGINT"},
	{func(*rand.Rand) string { return `{"a": 1.5}` }, "column 'a': cannot parse '1.5' as BIGINT"},
	{func(*rand.Rand) string { return `{"a": 1, "c": 17}` }, "column 'c': cannot parse '17' as TIMESTAMP(3)"},
	{func(*rand.Rand) string { return `[1, 2]` }, "expected a JSON object, got array"},
	{func(*rand.Rand) string { return `{"a": 1,` }, "invalid JSON: "},
}

// writeMixed writes a file of good records (some spanning several lines)
// and bad ones. It returns the good rows and, for every bad record, the
// error the reader must report: "PATH:LINE: reason".
func writeMixed(t *testing.T, r *rand.Rand, path, format string, n int) ([]string, []string) {
	t.Helper()
	var buf bytes.Buffer
	var good, bad []string
	line := 1
	kinds := csvBad
	if format == "json" {
		kinds = jsonBad
	}
	for i := 0; i < n; i++ {
		if r.IntN(8) == 0 {
			k := kinds[r.IntN(len(kinds))]
			fmt.Fprintln(&buf, k.line(r))
			bad = append(bad, fmt.Sprintf("%s:%d: %s", path, line, k.err))
			line++
			continue
		}
		if r.IntN(10) == 0 {
			buf.WriteString("\n") // blank lines are skipped, and counted
			line++
			continue
		}
		s := randomString(r)
		ts := r.Int64N(1e12)
		if format == "csv" {
			q := `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
			fmt.Fprintf(&buf, "%d,%s,%s\n", i, q, formatTs(ts))
			line += 1 + strings.Count(s, "\n")
		} else {
			fmt.Fprintf(&buf, `{"c": "%s", "a": %d, "b": %s, "extra": [1, {"x": null}]}`+"\n", formatTs(ts), i, jsonQuote(s))
			line++
		}
		good = append(good, canonRow(row{int64(i), s, ts}))
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return good, bad
}

// TestBadRecords checks the PATH:LINE errors, and that with
// ignore-parse-errors bad records are skipped, counted and logged.
func TestBadRecords(t *testing.T) {
	schema := types.Schema{Fields: []types.Field{{Name: "a", Type: types.BigIntType}, {Name: "b", Type: types.StringType}, {Name: "c", Type: types.TimestampType}}}
	for _, format := range []string{"csv", "json"} {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(fmt.Sprintf("%s/%d", format, seed), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				r := rand.New(rand.NewPCG(seed, 5))
				dir := t.TempDir()
				path := filepath.Join(dir, "in."+format)
				good, bad := writeMixed(t, r, path, format, 400)
				if len(bad) == 0 {
					t.Fatal("no bad records generated")
				}
				// Failing: the first bad record stops a single reader.
				src, err := New().NewSource(table("t", schema, map[string]string{"path": path, "format": format}))
				if err != nil {
					t.Fatal(err)
				}
				_, errs := readAll(t, src, 1, r, mem, connectors.ReaderContext{})
				if errs[0] == nil || !strings.HasPrefix(errs[0].Error(), bad[0]) {
					t.Fatalf("error %v, want %s", errs[0], bad[0])
				}
				// Several readers: each fails, if at all, on one of the bad
				// records, named by its exact line.
				for p := 2; p <= 3; p++ {
					_, errs := readAll(t, src, p, r, mem, connectors.ReaderContext{})
					failed := 0
					for _, err := range errs {
						if err == nil {
							continue
						}
						failed++
						ok := false
						for _, b := range bad {
							ok = ok || strings.HasPrefix(err.Error(), b)
						}
						if !ok {
							t.Fatalf("reader error %q is none of the bad records %q", err, bad)
						}
					}
					if failed == 0 {
						t.Fatal("no reader failed")
					}
				}
				// Ignoring: the good rows exactly, the bad ones counted.
				opt := OptCSVIgnoreErrors
				if format == "json" {
					opt = OptJSONIgnoreErrors
				}
				src, err = New().NewSource(table("t", schema, map[string]string{"path": path, "format": format, opt: "true"}))
				if err != nil {
					t.Fatal(err)
				}
				for p := 1; p <= 3; p++ {
					var logs bytes.Buffer
					metrics := &counters{}
					rc := connectors.ReaderContext{Metrics: metrics, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
					got, errs := readAll(t, src, p, r, mem, rc)
					if err := errors.Join(errs...); err != nil {
						t.Fatal(err)
					}
					var gotS []string
					for _, rw := range got {
						gotS = append(gotS, canonRow(rw))
					}
					sameMultiset(t, gotS, append([]string(nil), good...))
					if n := metrics.get("bad_records_skipped"); int(n) != len(bad) {
						t.Fatalf("bad_records_skipped = %v, want %d", n, len(bad))
					}
					total := 0
					for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
						var n int
						if i := strings.Index(l, "skipped="); i >= 0 {
							fmt.Sscanf(l[i:], "skipped=%d", &n)
						}
						total += n
					}
					if total != len(bad) {
						t.Fatalf("log lines count %d skipped records, want %d:\n%s", total, len(bad), logs.String())
					}
				}
			})
		}
	}
}

func TestNullInNotNullColumnIsBad(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	path := filepath.Join(dir, "x.csv")
	if err := os.WriteFile(path, []byte("1\n\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	schema := types.Schema{Fields: []types.Field{{Name: "a", Type: types.Type{Kind: types.BigInt, NotNull: true}}}}
	src, err := New().NewSource(table("t", schema, map[string]string{"path": path, "format": "csv"}))
	if err != nil {
		t.Fatal(err)
	}
	_, errs := readAll(t, src, 1, rand.New(rand.NewPCG(1, 1)), mem, connectors.ReaderContext{})
	if want := path + ":2: column 'a': NULL in a NOT NULL column"; errs[0] == nil || errs[0].Error() != want {
		t.Fatalf("error %v, want %s", errs[0], want)
	}
}

// TestSinkLifecycle checks that part files stay hidden until Close, that
// Abort leaves nothing behind, that a second run appends files numbered
// after the first run's, and that updates are refused.
func TestSinkLifecycle(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(3, 3))
	schema := types.Schema{Fields: []types.Field{{Name: "k", Type: types.BigIntType}, {Name: "s", Type: types.StringType}}}
	dir := filepath.Join(t.TempDir(), "a", "b")
	info := table("out", schema, map[string]string{"path": dir, "format": "json", OptRollingFileSize: "300"})
	f := New()
	sink, err := f.NewSink(info)
	if err != nil {
		t.Fatal(err)
	}
	visible := func() []string {
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			if !hidden(e.Name()) {
				names = append(names, e.Name())
			}
		}
		return names
	}
	all := func() int {
		es, _ := os.ReadDir(dir)
		return len(es)
	}
	ctx := context.Background()
	write := func(w connectors.Writer, rows []row) {
		rec := buildBatch(mem, schema, rows)
		defer rec.Release()
		if err := w.Write(ctx, stream.Batch{Record: rec}); err != nil {
			t.Fatal(err)
		}
	}
	rowsA := randomRows(r, schema, 100, 5)
	w0, _ := sink.Writer(ctx, connectors.ReaderContext{Subtask: 0, Parallelism: 2})
	w1, _ := sink.Writer(ctx, connectors.ReaderContext{Subtask: 1, Parallelism: 2})
	for i := 0; i < len(rowsA); i += 10 {
		write([]connectors.Writer{w0, w1}[i/10%2], rowsA[i:i+10])
	}
	if v := visible(); len(v) != 0 || all() < 4 {
		t.Fatalf("before Close: visible %v, %d files in all", v, all())
	}
	// A reader of the table sees nothing yet.
	src, err := f.NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := readAll(t, src, 1, r, mem, connectors.ReaderContext{}); len(got) != 0 {
		t.Fatalf("read %d rows of unfinished files", len(got))
	}
	if err := w0.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	first := visible()
	if len(first) != all() || len(first) < 4 {
		t.Fatalf("after Close: %d visible of %d files", len(first), all())
	}
	if !sort.StringsAreSorted(first) {
		t.Fatal("unsorted")
	}
	// A failed run: nothing of it stays.
	wa, _ := sink.Writer(ctx, connectors.ReaderContext{Subtask: 0, Parallelism: 1})
	write(wa, randomRows(r, schema, 50, 5))
	write(wa, randomRows(r, schema, 50, 5))
	if err := wa.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if v := visible(); len(v) != len(first) || all() != len(first) {
		t.Fatalf("after Abort: %v, %d files", v, all())
	}
	// A second run appends after the first.
	rowsB := randomRows(r, schema, 60, 5)
	wb, _ := sink.Writer(ctx, connectors.ReaderContext{Subtask: 0, Parallelism: 1})
	write(wb, rowsB)
	if err := wb.Close(ctx); err != nil {
		t.Fatal(err)
	}
	second := visible()
	if len(second) <= len(first) {
		t.Fatal("second run wrote no file")
	}
	lastOfFirst := ""
	for _, n := range first {
		if strings.HasPrefix(n, "part-0-") {
			lastOfFirst = n
		}
	}
	for _, n := range second {
		if strings.HasPrefix(n, "part-0-") && !contains(first, n) && n < lastOfFirst {
			t.Fatalf("new file %s sorts before the first run's %s", n, lastOfFirst)
		}
	}
	src, err = f.NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, src, 2, r, mem, connectors.ReaderContext{})
	var want, gotS []string
	for _, rw := range append(rowsA, rowsB...) {
		want = append(want, canonRow(rw))
	}
	for _, rw := range got {
		gotS = append(gotS, canonRow(rw))
	}
	sameMultiset(t, gotS, want)

	// Updates are refused, naming the table.
	wu, _ := sink.Writer(ctx, connectors.ReaderContext{Subtask: 5, Parallelism: 6})
	rec := buildBatch(mem, schema, randomRows(r, schema, 2, 0))
	err = wu.Write(ctx, stream.Batch{Record: rec, Kinds: []stream.RowKind{stream.Insert, stream.UpdateBefore}})
	rec.Release()
	if err == nil || !strings.Contains(err.Error(), "table 'out'") || !strings.Contains(err.Error(), "-U") || !strings.Contains(err.Error(), "changelog-json") {
		t.Fatalf("update accepted or unclear: %v", err)
	}
	if err := wu.Abort(ctx); err != nil {
		t.Fatal(err)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func TestSourceErrors(t *testing.T) {
	schema := types.Schema{Fields: []types.Field{{Name: "a", Type: types.BigIntType}}}
	_, err := New().NewSource(table("t", schema, map[string]string{"path": "/no/such/dir", "format": "csv"}))
	if err == nil || !strings.Contains(err.Error(), "table 't'") || !strings.Contains(err.Error(), "/no/such/dir") {
		t.Fatalf("missing path: %v", err)
	}
	// Hidden files and directories are skipped.
	dir := t.TempDir()
	for name, data := range map[string]string{"a.csv": "1\n", ".hidden": "x\n", "_SUCCESS": "", "sub/b.csv": "2\n3", "_tmp/c.csv": "x\n", ".d/e.csv": "x\n"} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(data), 0o644)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := New().NewSource(table("t", schema, map[string]string{"path": dir, "format": "csv"}))
	if err != nil {
		t.Fatal(err)
	}
	got, errs := readAll(t, src, 2, rand.New(rand.NewPCG(1, 2)), mem, connectors.ReaderContext{})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var gotS []string
	for _, rw := range got {
		gotS = append(gotS, canonRow(rw))
	}
	sameMultiset(t, gotS, []string{canonRow(row{int64(1)}), canonRow(row{int64(2)}), canonRow(row{int64(3)})})
	// Cancellation stops a reader.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rd, _ := src.Reader(context.Background(), connectors.ReaderContext{Subtask: 0, Parallelism: 1, Alloc: mem})
	if _, err := rd.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next on a cancelled context: %v", err)
	}
	rd.Close()
}

func formatTs(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000")
}

func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
