package connectortest

import (
	"context"
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// recorder is a testing.TB that records failures instead of failing the
// test, so the suite can be shown to fail broken connectors. The suite
// runs on its own goroutine (Fatal ends it with Goexit).
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msgs   []string
}

func (r *recorder) record(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, msg)
}

func (r *recorder) Helper()                        {}
func (r *recorder) Error(args ...any)              { r.record(fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, a ...any) { r.record(fmt.Sprintf(format, a...)) }
func (r *recorder) Fail()                          { r.record("Fail") }
func (r *recorder) Fatal(args ...any)              { r.record(fmt.Sprint(args...)); goruntime.Goexit() }
func (r *recorder) Fatalf(format string, a ...any) {
	r.record(fmt.Sprintf(format, a...))
	goruntime.Goexit()
}
func (r *recorder) FailNow()                        { r.record("FailNow"); goruntime.Goexit() }
func (r *recorder) Failed() bool                    { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }
func (r *recorder) Log(args ...any)                 { r.TB.Log(args...) }
func (r *recorder) Logf(format string, args ...any) { r.TB.Logf(format, args...) }

// runRecorded runs fn with a recorder and returns it.
func runRecorded(t *testing.T, fn func(t testing.TB)) *recorder {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(rec)
	}()
	<-done
	return rec
}

// expectFailure checks that the suite failed fn's connector with a
// message containing want.
func expectFailure(t *testing.T, what, want string, fn func(t testing.TB)) {
	t.Helper()
	rec := runRecorded(t, fn)
	if !rec.Failed() {
		t.Fatalf("the suite passed %s", what)
	}
	for _, m := range rec.msgs {
		if strings.Contains(m, want) {
			t.Logf("the suite failed %s: %s", what, m)
			return
		}
	}
	t.Fatalf("the suite failed %s, but not with %q: %q", what, want, rec.msgs)
}

// --- an in-memory source connector over the suite's replay source ---

type memSource struct {
	name   string
	specs  []connectors.OptionSpec
	mu     sync.Mutex
	tables map[string]*replay
	forget int
}

func goodSpecs() []connectors.OptionSpec {
	return []connectors.OptionSpec{
		{Key: "dataset", Type: connectors.OptString, Required: true, Description: "The dataset to read."},
		{Key: "chunk", Type: connectors.OptInt, Default: "8", Description: "Rows per chunk."},
		{Key: "mode", Type: connectors.OptEnum, Default: "fast", Enum: []string{"fast", "slow"}, Description: "How."},
		{Key: "pause", Type: connectors.OptDuration, Default: "1 s", Description: "A pause."},
		{Key: "strict", Type: connectors.OptBool, Default: "false", Description: "Strictness."},
	}
}

func newMemSource(name string) *memSource {
	return &memSource{name: name, specs: goodSpecs(), tables: map[string]*replay{}}
}

func (m *memSource) Name() string                     { return m.name }
func (m *memSource) Options() []connectors.OptionSpec { return m.specs }

func (m *memSource) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	if err := connectors.ValidateOptions(m.specs, info.Options); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.tables[info.Options["dataset"]]
	if !ok {
		return nil, fmt.Errorf("no dataset '%s'", info.Options["dataset"])
	}
	return p, nil
}

// table makes a dataset of random rows of every type.
func (m *memSource) table(t testing.TB, r *rand.Rand) SourceTable {
	schema := AllTypesSchema()
	rec := Generator{}.Record(r, schema, 1500+r.IntN(1000), memory.NewGoAllocator())
	name := "d" + strconv.Itoa(len(m.tables))
	p := newReplay(nil, schema, rec, r, 12)
	p.forget = m.forget
	t.Cleanup(p.release)
	m.mu.Lock()
	m.tables[name] = p
	m.mu.Unlock()
	return SourceTable{
		Info: connectors.TableInfo{Name: "mem", Schema: schema, Options: map[string]string{"dataset": name}},
		Want: []stream.Batch{{Record: rec}},
	}
}

func TestSuitePassesCorrectSource(t *testing.T) {
	m := newMemSource("memsource")
	rec := runRecorded(t, func(tb testing.TB) { RunSource(tb, SourceHarness{Factory: m, NewTable: m.table}) })
	if rec.Failed() {
		t.Fatalf("the suite failed a correct source: %q", rec.msgs)
	}
}

func TestSuiteFailsSourceRepeatingRowsAfterRestore(t *testing.T) {
	m := newMemSource("memsource")
	m.forget = 3
	expectFailure(t, "a source that repeats rows after a restore", "extra or doubled", func(tb testing.TB) {
		RunSource(tb, SourceHarness{Factory: m, NewTable: m.table, Seed: 7})
	})
}

func TestSuiteFailsBadDefault(t *testing.T) {
	m := newMemSource("memsource")
	m.specs[1].Default = "eight"
	expectFailure(t, "an int option whose default is 'eight'", "default \"eight\" is not a valid int", func(tb testing.TB) {
		CheckOptions(tb, m, connectors.TableInfo{Schema: AllTypesSchema(), Options: map[string]string{"dataset": "x"}})
	})
}

func TestSuiteFailsBadOptionSpecs(t *testing.T) {
	for _, c := range []struct {
		what, want string
		edit       func(s []connectors.OptionSpec) []connectors.OptionSpec
	}{
		{"an upper-case key", "not lower-case", func(s []connectors.OptionSpec) []connectors.OptionSpec { s[1].Key = "Chunk"; return s }},
		{"an empty enum", "an enum with no values", func(s []connectors.OptionSpec) []connectors.OptionSpec { s[2].Enum = nil; return s }},
		{"an enum default outside the enum", "default \"fast\"", func(s []connectors.OptionSpec) []connectors.OptionSpec { s[2].Enum = []string{"slow"}; return s }},
		{"a missing description", "no description", func(s []connectors.OptionSpec) []connectors.OptionSpec { s[3].Description = ""; return s }},
		{"a repeated key", "listed twice", func(s []connectors.OptionSpec) []connectors.OptionSpec { return append(s, s[0]) }},
		{"a bad duration default", "not a valid duration", func(s []connectors.OptionSpec) []connectors.OptionSpec { s[3].Default = "a while"; return s }},
	} {
		t.Run(c.what, func(t *testing.T) {
			m := newMemSource("memsource")
			m.specs = c.edit(m.specs)
			expectFailure(t, c.what, c.want, func(tb testing.TB) {
				CheckOptions(tb, m, connectors.TableInfo{Schema: AllTypesSchema(), Options: map[string]string{"dataset": "x"}})
			})
		})
	}
}

// lenient accepts any value of its options: ValidateOptions catches them.
type lenient struct{ *memSource }

// strictValidator refuses unknown options itself but names none.
type silentValidator struct{ *memSource }

func (silentValidator) ValidateTable(info connectors.TableInfo) error {
	if info.Options["chunk"] == "12x" {
		return fmt.Errorf("bad table")
	}
	return nil
}

func TestSuiteChecksOptionErrors(t *testing.T) {
	// The specs' own checks pass when the validator is silent about
	// everything ValidateOptions catches first.
	m := newMemSource("memsource")
	rec := runRecorded(t, func(tb testing.TB) {
		CheckOptions(tb, silentValidator{m}, connectors.TableInfo{Schema: AllTypesSchema(), Options: map[string]string{"dataset": "x"}})
	})
	if rec.Failed() {
		t.Fatalf("correct specs failed: %q", rec.msgs)
	}
	// A valid table the connector refuses is a failure.
	expectFailure(t, "a harness table the connector refuses", "valid table is refused", func(tb testing.TB) {
		CheckOptions(tb, lenient{m}, connectors.TableInfo{Schema: AllTypesSchema(), Options: map[string]string{"chunk": "x"}})
	})
}

// --- an in-memory sink connector: the suite's collector under another name ---

func newMemSink(broken bool) (*collector, SinkHarness) {
	c := newCollector(nil)
	c.name = "memsink"
	c.keepStaged = broken
	h := SinkHarness{
		Factory: sinkFactory{c},
		NewTable: func(t testing.TB) connectors.TableInfo {
			return connectors.TableInfo{Name: "out", Schema: AllTypesSchema()}
		},
		ReadBack: func(t testing.TB, _ connectors.TableInfo) []Row { return c.rows() },
	}
	return c, h
}

// sinkFactory gives the collector an option and resets it per table.
type sinkFactory struct{ *collector }

func (s sinkFactory) Options() []connectors.OptionSpec {
	return []connectors.OptionSpec{{Key: "flush", Type: connectors.OptBool, Default: "true", Description: "Flush."}}
}

func (s sinkFactory) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	return s.collector.NewSink(info)
}

func (s sinkFactory) AcceptsUpdates(info connectors.TableInfo) error { return nil }

func TestSuitePassesCorrectSink(t *testing.T) {
	rec := runRecorded(t, func(tb testing.TB) {
		c, h := newMemSink(false)
		h.NewTable = resetting(c, h.NewTable)
		RunSink(tb, h)
	})
	if rec.Failed() {
		t.Fatalf("the suite failed a correct sink: %q", rec.msgs)
	}
}

func TestSuiteFailsSinkCommittingTwice(t *testing.T) {
	expectFailure(t, "a sink that commits rows twice", "extra or doubled", func(tb testing.TB) {
		c, h := newMemSink(true)
		h.NewTable = resetting(c, h.NewTable)
		RunSink(tb, h)
	})
}

// resetting empties the collector whenever a new table is made.
func resetting(c *collector, f func(testing.TB) connectors.TableInfo) func(testing.TB) connectors.TableInfo {
	return func(t testing.TB) connectors.TableInfo {
		c.mu.Lock()
		c.visible, c.prepared, c.done = nil, map[string][]Row{}, map[string]bool{}
		c.mu.Unlock()
		return f(t)
	}
}

// --- an in-memory split source: named inputs, read by offset ---

type memSplits struct {
	inputs map[string]arrow.RecordBatch
	names  []string
	// skew, when set, makes readers snapshot their positions one row
	// early: rows are read twice after a restore.
	skew bool
}

// fill makes the inputs and returns their rows.
func (m *memSplits) fill(t testing.TB, r *rand.Rand) []stream.Batch {
	m.inputs, m.names = map[string]arrow.RecordBatch{}, nil
	var want []stream.Batch
	schema := AllTypesSchema()
	for i := range 3 + r.IntN(4) {
		rec := Generator{}.Record(r, schema, 100+r.IntN(400), memory.NewGoAllocator())
		name := "input-" + strconv.Itoa(i)
		m.inputs[name] = rec
		m.names = append(m.names, name)
		rec.Retain()
		want = append(want, stream.Batch{Record: rec})
	}
	inputs := m.inputs
	t.Cleanup(func() {
		for _, rec := range inputs {
			rec.Release()
		}
	})
	return want
}

func (m *memSplits) Name() string { return "memsplits" }
func (m *memSplits) Options() []connectors.OptionSpec {
	return []connectors.OptionSpec{{Key: "inputs", Type: connectors.OptInt, Default: "3", Description: "Inputs."}}
}
func (m *memSplits) NewSplitSource(connectors.TableInfo) (connectors.SplitSource, error) {
	return m, nil
}
func (m *memSplits) Bounded() bool { return true }

// The enumerator hands out the inputs two at a time; its state is how
// many it handed out.
type memEnum struct {
	m    *memSplits
	next int
}

func (m *memSplits) NewEnumerator(ctx context.Context, ec connectors.EnumeratorContext, ckpt []byte) (connectors.SplitEnumerator, error) {
	e := &memEnum{m: m}
	if ckpt != nil {
		n, err := strconv.Atoi(string(ckpt))
		if err != nil {
			return nil, fmt.Errorf("memsplits: bad enumerator state %q", ckpt)
		}
		e.next = n
	}
	return e, nil
}

func (e *memEnum) Discover(ctx context.Context) ([]connectors.Split, bool, error) {
	var out []connectors.Split
	for ; e.next < len(e.m.names) && len(out) < 2; e.next++ {
		out = append(out, connectors.Split{ID: e.m.names[e.next], State: []byte(e.m.names[e.next] + ":0")})
	}
	return out, e.next == len(e.m.names), nil
}
func (e *memEnum) Snapshot() ([]byte, error) { return []byte(strconv.Itoa(e.next)), nil }
func (e *memEnum) Close() error              { return nil }

type memSplitReader struct {
	m     *memSplits
	rc    connectors.ReaderContext
	ids   []string
	off   map[string]int64
	turns int
}

func (m *memSplits) NewSplitReader(ctx context.Context, rc connectors.ReaderContext) (connectors.SplitReader, error) {
	return &memSplitReader{m: m, rc: rc, off: map[string]int64{}}, nil
}

func (r *memSplitReader) AddSplits(ctx context.Context, splits []connectors.Split) error {
	for _, s := range splits {
		name, off, ok := strings.Cut(string(s.State), ":")
		n, err := strconv.ParseInt(off, 10, 64)
		if _, known := r.m.inputs[name]; !ok || err != nil || !known || name != s.ID {
			return fmt.Errorf("memsplits: bad split %q", s.State)
		}
		r.ids = append(r.ids, s.ID)
		r.off[s.ID] = n
	}
	return nil
}

func (r *memSplitReader) Next(ctx context.Context) (connectors.SplitBatch, error) {
	if len(r.ids) == 0 {
		return connectors.SplitBatch{}, nil
	}
	r.turns++
	k := r.turns % len(r.ids)
	id := r.ids[k]
	rec := r.m.inputs[id]
	lo := r.off[id]
	hi := min(rec.NumRows(), lo+int64(r.rc.BatchSize))
	r.off[id] = hi
	sb := connectors.SplitBatch{Split: id}
	if hi > lo {
		sb.Batch.Record = rec.NewSlice(lo, hi)
	}
	if hi == rec.NumRows() {
		sb.Finished = true
		r.ids = append(r.ids[:k], r.ids[k+1:]...)
		delete(r.off, id)
	}
	return sb, nil
}

func (r *memSplitReader) Snapshot() ([]connectors.Split, error) {
	var out []connectors.Split
	for _, id := range r.ids {
		off := r.off[id]
		if r.m.skew && off > 0 {
			off--
		}
		out = append(out, connectors.Split{ID: id, State: []byte(id + ":" + strconv.FormatInt(off, 10))})
	}
	return out, nil
}

func (r *memSplitReader) Close() error { return nil }

func splitHarness(skew bool) SourceHarness {
	m := &memSplits{skew: skew}
	return SourceHarness{Factory: m, NewTable: func(t testing.TB, r *rand.Rand) SourceTable {
		return SourceTable{Info: connectors.TableInfo{Name: "splits", Schema: AllTypesSchema()}, Want: m.fill(t, r)}
	}}
}

func TestSuitePassesCorrectSplitSource(t *testing.T) {
	rec := runRecorded(t, func(tb testing.TB) { RunSource(tb, splitHarness(false)) })
	if rec.Failed() {
		t.Fatalf("the suite failed a correct split source: %q", rec.msgs)
	}
}

func TestSuiteFailsSplitReaderRepeatingRows(t *testing.T) {
	expectFailure(t, "a split reader whose snapshot is one row behind", "extra or doubled", func(tb testing.TB) {
		RunSource(tb, splitHarness(true))
	})
}

// TestChangelogGenerator checks the changelogs' form: +I only for a key
// not present, -U (retract) right before +U of the same key and of the
// key's current row, -D only of the key's current row; and that
// Materialize agrees with a replay of them.
func TestChangelogGenerator(t *testing.T) {
	schema := AllTypesSchema()
	for _, mode := range []string{"retract", "upsert"} {
		r := rand.New(rand.NewPCG(5, uint64(len(mode))))
		b, err := Generator{}.Changelog(r, schema, []int{0}, mode, 3000, memory.NewGoAllocator())
		if err != nil {
			t.Fatal(err)
		}
		rows := Rows(b)
		b.Release()
		if len(rows) < 3000 {
			t.Fatalf("%s: %d rows", mode, len(rows))
		}
		live := map[string]string{}
		cells := map[string][]string{}
		counts := map[stream.RowKind]int{}
		for i, row := range rows {
			counts[row.Kind]++
			key, cur := row.Cells[0], row.String()[3:]
			cells[cur] = row.Cells
			old, present := live[key]
			switch row.Kind {
			case stream.Insert:
				if present {
					t.Fatalf("%s row %d: +I of present key %s", mode, i, key)
				}
				live[key] = cur
			case stream.UpdateBefore:
				if mode != "retract" || !present || old != cur || i+1 == len(rows) || rows[i+1].Kind != stream.UpdateAfter || rows[i+1].Cells[0] != key {
					t.Fatalf("%s row %d: bad -U %s", mode, i, row)
				}
				delete(live, key)
			case stream.UpdateAfter:
				if mode == "upsert" && !present {
					t.Fatalf("%s row %d: +U of absent key", mode, i)
				}
				if mode == "retract" && (i == 0 || rows[i-1].Kind != stream.UpdateBefore) {
					t.Fatalf("%s row %d: +U without -U", mode, i)
				}
				live[key] = cur
			case stream.Delete:
				if !present || old != cur {
					t.Fatalf("%s row %d: -D %s of a key whose row is %q", mode, i, row, old)
				}
				delete(live, key)
			}
		}
		for _, k := range []stream.RowKind{stream.Insert, stream.UpdateAfter, stream.Delete} {
			if counts[k] == 0 {
				t.Errorf("%s: no %s rows", mode, k)
			}
		}
		var want []Row
		for _, cur := range live {
			want = append(want, Row{Kind: stream.Insert, Cells: cells[cur]})
		}
		if d := Diff(Materialize(rows, []int{0}), want); d != "" {
			t.Errorf("%s: Materialize differs from the replay: %s", mode, d)
		}
	}
}

func changelogSink(mode string, materialized, dropDeletes bool) SinkHarness {
	c, h := newMemSink(false)
	h.NewTable = resetting(c, func(testing.TB) connectors.TableInfo {
		return connectors.TableInfo{Name: "out", Schema: AllTypesSchema(), PrimaryKey: []int{0}}
	})
	h.Changelog, h.Materialized = mode, materialized
	h.ReadBack = func(t testing.TB, _ connectors.TableInfo) []Row {
		rows := c.rows()
		if dropDeletes {
			kept := rows[:0:0]
			for _, r := range rows {
				if r.Kind != stream.Delete {
					kept = append(kept, r)
				}
			}
			rows = kept
		}
		if materialized {
			return Materialize(rows, []int{0})
		}
		return rows
	}
	return h
}

func TestSuitePassesCorrectChangelogSinks(t *testing.T) {
	for _, c := range []struct {
		mode         string
		materialized bool
	}{{"retract", false}, {"upsert", false}, {"upsert", true}} {
		t.Run(fmt.Sprintf("%s-materialized=%v", c.mode, c.materialized), func(t *testing.T) {
			rec := runRecorded(t, func(tb testing.TB) { RunSink(tb, changelogSink(c.mode, c.materialized, false)) })
			if rec.Failed() {
				t.Fatalf("the suite failed a correct %s sink: %q", c.mode, rec.msgs)
			}
		})
	}
}

func TestSuiteFailsSinkLosingDeletes(t *testing.T) {
	expectFailure(t, "an upsert sink that loses deletes", "final contents", func(tb testing.TB) {
		RunSink(tb, changelogSink("upsert", true, true))
	})
}
