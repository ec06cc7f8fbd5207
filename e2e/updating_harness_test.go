package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/engine/operators"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/planner"
)

// The harness of the updating-query tests (updating_test.go): a sink
// connector that accepts updating input and records every change with its
// row kind and writer, and a materializer that replays a sink's changelog
// onto a table, checking each change against the table as it is at that
// point (updating_ref_test.go holds the row-at-a-time references).

// change is one row a sink writer received.
type change struct {
	writer int
	kind   string // +I, -U, +U, -D
	row    string // the row's values, rendered as in renderRows, without the kind
}

// changelogSink is the 'changelog' test connector: an updating sink that
// keeps every change written to each of its tables, in arrival order, with
// the table's primary key and the changelog mode the planner gave it.
type changelogSink struct {
	mu     sync.Mutex
	tables map[string]*changelogTable
}

// changelogTable is what one sink table received.
type changelogTable struct {
	info    connectors.TableInfo
	changes []change
}

var _ connectors.UpdatingSink = (*changelogSink)(nil)

func (c *changelogSink) Name() string                     { return "changelog" }
func (c *changelogSink) Options() []connectors.OptionSpec { return nil }

// AcceptsUpdates accepts retract and upsert streams alike.
func (c *changelogSink) AcceptsUpdates(info connectors.TableInfo) error { return nil }

func (c *changelogSink) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.tables[info.Name]; !ok {
		c.tables[info.Name] = &changelogTable{info: info}
	}
	return &changelogSinkTable{c: c, name: info.Name}, nil
}

type changelogSinkTable struct {
	c    *changelogSink
	name string
}

func (t *changelogSinkTable) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	return &changelogWriter{t: t, subtask: rc.Subtask}, nil
}

type changelogWriter struct {
	t       *changelogSinkTable
	subtask int
}

func (w *changelogWriter) Write(ctx context.Context, b stream.Batch) error {
	rows := renderRows(b)
	cs := make([]change, len(rows))
	for i, r := range rows {
		kind, rest, _ := strings.Cut(r, "|")
		cs[i] = change{writer: w.subtask, kind: kind, row: rest}
	}
	w.t.c.mu.Lock()
	tb := w.t.c.tables[w.t.name]
	tb.changes = append(tb.changes, cs...)
	w.t.c.mu.Unlock()
	return nil
}

func (w *changelogWriter) Close(ctx context.Context) error { return nil }
func (w *changelogWriter) Abort(ctx context.Context) error { return nil }

// smallBatchSource is the 'memory' test connector (memSource) with batches
// of 1 to maxBatch rows, so that even small inputs reach the updating
// operators in many batches (an operator emits its net change per batch).
type smallBatchSource struct {
	*memSource
	maxBatch int64
}

func (m *smallBatchSource) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	src, err := m.memSource.NewSource(info)
	if err != nil {
		return nil, err
	}
	return &smallBatchTable{memTable: src.(*memTable), maxBatch: m.maxBatch}, nil
}

type smallBatchTable struct {
	*memTable
	maxBatch int64
}

func (t *smallBatchTable) Reader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	r, err := t.memTable.Reader(ctx, rc)
	if err != nil {
		return nil, err
	}
	return &smallBatchReader{memReader: r.(*memReader), maxBatch: t.maxBatch}, nil
}

type smallBatchReader struct {
	*memReader
	maxBatch int64
}

func (m *smallBatchReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if m.pos >= m.end {
		return nil, io.EOF
	}
	hi := min(m.pos+1+m.r.Int64N(m.maxBatch), m.end)
	b := m.rec.NewSlice(m.pos, hi)
	m.pos = hi
	return b, nil
}

// runUpdatingSQL compiles script and runs it with a registry that serves the
// in-memory datasets ('connector' = 'memory') and records the changelog of
// every 'changelog' sink table. It returns the tables by name, the plan's
// EXPLAIN text and the run's result.
func runUpdatingSQL(t *testing.T, script string, parallelism int, datasets map[string]arrow.RecordBatch, seed uint64, alloc memory.Allocator) (map[string]*changelogTable, string, *runtime.Result) {
	t.Helper()
	reg := builtin.Registry()
	sink := &changelogSink{tables: map[string]*changelogTable{}}
	maxBatch := []int64{16, 128, 600}[seed%3]
	if err := reg.Register(&smallBatchSource{memSource: &memSource{data: datasets, seed: seed}, maxBatch: maxBatch}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(sink); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	plan, err := planner.Compile(ctx, "test.sql", script, planner.Options{JobName: t.Name(), Parallelism: parallelism, Registry: reg})
	if err != nil {
		t.Fatalf("compile: %v\nscript:\n%s", err, script)
	}
	res, err := runtime.Run(ctx, plan.Graph, runtime.Options{
		Connectors: reg,
		Operators:  operators.Factories(),
		Alloc:      alloc,
		BatchSize:  1 + int(seed%3000),
	})
	if err != nil {
		t.Fatalf("run: %v\nplan:\n%s", err, plan.Explain())
	}
	return sink.tables, plan.Explain(), res
}

// mview is a sink's changelog applied to a materialized table.
type mview struct {
	// rows is the table's multiset of rows (without a primary key).
	rows map[string]int
	// byKey is the table by primary key (with one): key text -> row.
	byKey map[string]string
	// problems lists the changes that did not fit the table as it was.
	problems []string
}

// cols splits a rendered row into its values.
func cols(row string) []string { return strings.Split(row, "|") }

// keyOf renders the values of row at the key columns.
func keyOf(row string, key []int) string {
	vs := cols(row)
	parts := make([]string, len(key))
	for i, c := range key {
		parts[i] = vs[c]
	}
	return strings.Join(parts, "|")
}

// materialize applies a sink's changelog to a table, in the order the
// sink's writers delivered it, and checks every change against the table:
//
//   - Without a primary key (pk nil) the table is a multiset: +I and +U add
//     a row; -U and -D remove one, which must be present. With uniqueKey
//     (the query's unique key, nil if it has none), a +U that follows the
//     -U of the same key (from the same writer) must change the row.
//   - With a primary key the table maps keys to rows: +I inserts a key that
//     must be absent; +U replaces the key's row (or inserts it), and must
//     change it; -D deletes the key, which must be present with that row;
//     -U (only in a retract stream: an upsert stream has none) removes the
//     key's row, which must be the one given. All changes of one key must
//     come from one writer (the order of a key's changes is only defined
//     within a writer).
func materialize(tb *changelogTable, pk, uniqueKey []int) *mview {
	m := &mview{rows: map[string]int{}, byKey: map[string]string{}}
	bad := func(i int, c change, format string, args ...any) {
		m.problems = append(m.problems, fmt.Sprintf("change #%d (writer %d) %s|%s: %s", i, c.writer, c.kind, c.row, fmt.Sprintf(format, args...)))
	}
	if pk != nil {
		writerOf := map[string]int{}
		for i, c := range tb.changes {
			k := keyOf(c.row, pk)
			if w, ok := writerOf[k]; ok && w != c.writer {
				bad(i, c, "key %s was written by writer %d before: one key's changes must come from one writer", k, w)
			}
			writerOf[k] = c.writer
			cur, present := m.byKey[k]
			switch c.kind {
			case "+I":
				if present {
					bad(i, c, "+I of key %s, which is present as %s", k, cur)
				}
				m.byKey[k] = c.row
			case "+U":
				if present && cur == c.row {
					bad(i, c, "update of key %s changes nothing", k)
				}
				m.byKey[k] = c.row
			case "-U":
				if tb.info.Changelog == "upsert" {
					bad(i, c, "-U in an upsert stream")
				}
				fallthrough
			case "-D":
				switch {
				case !present:
					bad(i, c, "%s of key %s, which is absent", c.kind, k)
				case cur != c.row:
					bad(i, c, "%s of key %s, whose row is %s", c.kind, k, cur)
				}
				delete(m.byKey, k)
			default:
				bad(i, c, "unknown row kind")
			}
		}
		return m
	}
	type wk struct {
		writer int
		key    string
	}
	pending := map[wk]string{} // the last -U row of a key, until its +U
	for i, c := range tb.changes {
		switch c.kind {
		case "+I", "+U":
			if uniqueKey != nil {
				k := wk{c.writer, keyOf(c.row, uniqueKey)}
				if old, ok := pending[k]; ok && c.kind == "+U" && old == c.row {
					bad(i, c, "update of key %s changes nothing (-U and +U carry the same row)", k.key)
				}
				delete(pending, k)
			}
			m.rows[c.row]++
		case "-U", "-D":
			if m.rows[c.row] == 0 {
				bad(i, c, "%s of a row that is not in the table", c.kind)
				continue
			}
			m.rows[c.row]--
			if m.rows[c.row] == 0 {
				delete(m.rows, c.row)
			}
			if uniqueKey != nil && c.kind == "-U" {
				pending[wk{c.writer, keyOf(c.row, uniqueKey)}] = c.row
			}
		default:
			bad(i, c, "unknown row kind")
		}
	}
	return m
}

// final returns the materialized table's rows.
func (m *mview) final() []string {
	var out []string
	for r, n := range m.rows {
		for range n {
			out = append(out, r)
		}
	}
	for _, r := range m.byKey {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// checkChangelog materializes a sink table's changelog and fails the test
// on any ill-formed change or a final table other than want (rows rendered
// as renderRows does, without the kind).
func checkChangelog(t *testing.T, name string, tb *changelogTable, pk, uniqueKey []int, want []string) {
	t.Helper()
	m := materialize(tb, pk, uniqueKey)
	if len(m.problems) > 0 {
		show := m.problems
		if len(show) > 10 {
			show = append(show[:10:10], fmt.Sprintf("... (%d more)", len(m.problems)-10))
		}
		t.Errorf("sink %s (changelog %q, primary key %v): %d ill-formed changes:\n  %s", name, tb.info.Changelog, tb.info.PrimaryKey, len(m.problems), strings.Join(show, "\n  "))
	}
	onlyGot, onlyWant := diffMultisets(m.final(), want)
	if len(onlyGot)+len(onlyWant) == 0 {
		return
	}
	show := func(rows []string) string {
		if len(rows) > 10 {
			return strings.Join(rows[:10], "\n  ") + fmt.Sprintf("\n  ... (%d more)", len(rows)-10)
		}
		return strings.Join(rows, "\n  ")
	}
	t.Errorf("sink %s: final table differs from the reference (%d rows vs %d expected, from %d changes)\nunexpected:\n  %s\nmissing:\n  %s",
		name, len(m.final()), len(want), len(tb.changes), show(onlyGot), show(onlyWant))
}

// withDuplicates returns rows with about one row in 30 repeated exactly,
// right after itself (so the copy is no later than the original was).
func withDuplicates(r *rand.Rand, rows []wrow) []wrow {
	out := make([]wrow, 0, len(rows)+len(rows)/20)
	for _, w := range rows {
		out = append(out, w)
		if r.IntN(30) == 0 {
			out = append(out, w)
		}
	}
	return out
}

// TestMaterializeChecksChangelogs feeds materialize hand-made changelogs,
// well-formed and not, so a harness bug cannot hide an engine bug.
func TestMaterializeChecksChangelogs(t *testing.T) {
	ch := func(writer int, kind, row string) change { return change{writer: writer, kind: kind, row: row} }
	cases := []struct {
		name      string
		changelog string // the sink's changelog mode
		pk, uk    []int
		changes   []change
		final     []string
		problem   string // a substring of the first problem, "" for none
	}{
		{name: "retract ok", uk: []int{0}, changes: []change{
			ch(0, "+I", "1|a"), ch(0, "+I", "2|b"), ch(0, "-U", "1|a"), ch(0, "+U", "1|c"), ch(0, "-D", "2|b"), ch(0, "+I", "2|d"),
		}, final: []string{"1|c", "2|d"}},
		{name: "retract duplicates", changes: []change{
			ch(0, "+I", "1|a"), ch(1, "+I", "1|a"), ch(0, "-D", "1|a"),
		}, final: []string{"1|a"}},
		{name: "retract of an absent row", changes: []change{ch(0, "+I", "1|a"), ch(0, "-U", "1|b")},
			final: []string{"1|a"}, problem: "-U of a row that is not in the table"},
		{name: "delete twice", changes: []change{ch(0, "+I", "1|a"), ch(0, "-D", "1|a"), ch(0, "-D", "1|a")},
			problem: "-D of a row that is not in the table"},
		{name: "retract no-op update", uk: []int{0}, changes: []change{
			ch(0, "+I", "1|a"), ch(0, "+I", "2|a"), ch(0, "-U", "1|a"), ch(0, "-U", "2|a"), ch(0, "+U", "2|b"), ch(0, "+U", "1|a"),
		}, final: []string{"1|a", "2|b"}, problem: "update of key 1 changes nothing"},
		{name: "upsert ok", changelog: "upsert", pk: []int{0}, changes: []change{
			ch(1, "+I", "1|a"), ch(1, "+U", "1|b"), ch(2, "+I", "2|x"), ch(1, "-D", "1|b"), ch(1, "+I", "1|c"), ch(2, "+U", "2|y"),
		}, final: []string{"1|c", "2|y"}},
		{name: "upsert insert of a present key", changelog: "upsert", pk: []int{0}, changes: []change{ch(0, "+I", "1|a"), ch(0, "+I", "1|b")},
			final: []string{"1|b"}, problem: "+I of key 1, which is present"},
		{name: "upsert no-op update", changelog: "upsert", pk: []int{0}, changes: []change{ch(0, "+I", "1|a"), ch(0, "+U", "1|a")},
			final: []string{"1|a"}, problem: "changes nothing"},
		{name: "upsert -U", changelog: "upsert", pk: []int{0}, changes: []change{ch(0, "+I", "1|a"), ch(0, "-U", "1|a"), ch(0, "+U", "1|b")},
			final: []string{"1|b"}, problem: "-U in an upsert stream"},
		{name: "upsert delete of another row", changelog: "upsert", pk: []int{0}, changes: []change{ch(0, "+I", "1|a"), ch(0, "-D", "1|b")},
			problem: "whose row is 1|a"},
		{name: "upsert delete of an absent key", changelog: "upsert", pk: []int{0}, changes: []change{ch(0, "-D", "1|b")},
			problem: "which is absent"},
		{name: "key from two writers", changelog: "upsert", pk: []int{0}, changes: []change{ch(0, "+I", "1|a"), ch(1, "+U", "1|b")},
			final: []string{"1|b"}, problem: "one key's changes must come from one writer"},
		{name: "composite key", changelog: "retract", pk: []int{0, 2}, changes: []change{
			ch(0, "+I", "1|a|1"), ch(0, "+I", "1|b|2"), ch(0, "-U", "1|a|1"), ch(0, "+U", "1|c|1"),
		}, final: []string{"1|b|2", "1|c|1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := materialize(&changelogTable{info: connectors.TableInfo{Changelog: c.changelog}, changes: c.changes}, c.pk, c.uk)
			switch {
			case c.problem == "" && len(m.problems) > 0:
				t.Errorf("problems %q, want none", m.problems)
			case c.problem != "" && (len(m.problems) == 0 || !strings.Contains(m.problems[0], c.problem)):
				t.Errorf("problems %q, want one with %q", m.problems, c.problem)
			}
			if got := m.final(); !sameMultiset(got, c.final) {
				t.Errorf("final table %q, want %q", got, c.final)
			}
		})
	}
}
