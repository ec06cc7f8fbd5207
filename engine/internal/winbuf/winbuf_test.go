package winbuf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// sumWindow is a test Window: per group (an int64 key) a sum of values.
type sumWindow struct {
	t    *hashtable.Table
	sums []int64
}

func (w *sumWindow) Groups() *hashtable.Table { return w.t }
func (w *sumWindow) Size() int                { return w.t.Len() }
func (w *sumWindow) AppendState(dst []byte, g uint32) []byte {
	return binary.LittleEndian.AppendUint64(dst, uint64(w.sums[g]))
}
func (w *sumWindow) MergeState(g uint32, src []byte) error {
	if len(src) != 8 {
		return fmt.Errorf("state of %d bytes", len(src))
	}
	for len(w.sums) < w.t.Len() {
		w.sums = append(w.sums, 0)
	}
	w.sums[g] += int64(binary.LittleEndian.Uint64(src))
	return nil
}
func (w *sumWindow) Reset() {
	w.t.Reset(8)
	w.sums = w.sums[:0]
}

// add adds v to group key of w and reports whether the group is new.
func (w *sumWindow) add(key int64, v int64) bool {
	k := binary.BigEndian.AppendUint64(nil, uint64(key))
	g, inserted, err := w.t.FindOrInsertOne(hashOf(key), k)
	if err != nil {
		panic(err)
	}
	if inserted {
		w.sums = append(w.sums, 0)
	}
	w.sums[g] += v
	return inserted
}

func hashOf(key int64) uint64 {
	z := uint64(key) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// spyBackend wraps memstate tables to check that the buffer never reads a
// single key and to count scans and range deletes.
type spyBackend struct {
	mem    *memstate.Backend
	tables map[string]*spyTable
}

type spyTable struct {
	*memstate.Table
	gets, puts, scans, deleteRanges int
}

func (b *spyBackend) Table(name string) (state.Table, error) {
	if t, ok := b.tables[name]; ok {
		return t, nil
	}
	mt, err := b.mem.Table(name)
	if err != nil {
		return nil, err
	}
	t := &spyTable{Table: mt.(*memstate.Table)}
	b.tables[name] = t
	return t, nil
}

func (b *spyBackend) Close() error { return b.mem.Close() }

func (t *spyTable) Get(key []byte) ([]byte, bool, error) {
	t.gets++
	return t.Table.Get(key)
}

func (t *spyTable) Put(key, value []byte) error {
	t.puts++
	return t.Table.Put(key, value)
}

func (t *spyTable) Scan(lo, hi []byte, fn func(k, v []byte) error) error {
	t.scans++
	return t.Table.Scan(lo, hi, fn)
}

func (t *spyTable) DeleteRange(lo, hi []byte) error {
	t.deleteRanges++
	return t.Table.DeleteRange(lo, hi)
}

var testConfig = Config{Kind: "test_op", Table: "test.v1", Version: 7, LimitOption: "test.limit", DefaultLimit: 1000, Unit: "groups"}

func openTest(t *testing.T, cfg map[string]string, owned keygroup.Range) (*Buffer[*sumWindow], *spyTable, *optest.Metrics) {
	t.Helper()
	oc, m := optest.NewContext(nil, cfg)
	if owned != (keygroup.Range{}) {
		oc.KeyGroups = owned
	}
	be := &spyBackend{mem: memstate.New(), tables: map[string]*spyTable{}}
	oc.State = be
	b, err := Open(oc, testConfig, func() (*sumWindow, error) { return &sumWindow{t: hashtable.New(8)}, nil })
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := be.Table(testConfig.Table)
	return b, tab.(*spyTable), m
}

// TestAgainstReference drives a buffer with random rows and watermarks and
// checks every fired window against per-window maps, and the spill policy
// at every spill.
func TestAgainstReference(t *testing.T) {
	for _, tc := range []struct {
		seed  uint64
		limit int
		chunk int
		owned keygroup.Range
	}{
		{seed: 1, limit: 1}, {seed: 2, limit: 7}, {seed: 3, limit: 50}, {seed: 4, limit: 100_000},
		{seed: 5, limit: 20, chunk: 40}, {seed: 6, limit: 3, chunk: 1},
		{seed: 7, limit: 30, owned: keygroup.Range{Start: 10, End: 20}},
	} {
		t.Run(fmt.Sprintf("seed%d/limit%d/chunk%d", tc.seed, tc.limit, tc.chunk), func(t *testing.T) {
			if tc.chunk > 0 {
				defer func(old int) { chunkBytes = old }(chunkBytes)
				chunkBytes = tc.chunk
			}
			runAgainstReference(t, tc.seed, tc.limit, tc.owned)
		})
	}
}

func runAgainstReference(t *testing.T, seed uint64, limit int, owned keygroup.Range) {
	b, tab, _ := openTest(t, map[string]string{"test.limit": fmt.Sprint(limit)}, owned)
	r := rand.New(rand.NewPCG(seed, 1))
	const size = 100
	ref := map[Key]map[int64]int64{}
	fired := map[Key]bool{}
	var spills int
	check := func(k Key, w *sumWindow) error {
		if fired[k] {
			return fmt.Errorf("window %v fired twice", k)
		}
		fired[k] = true
		want := ref[k]
		delete(ref, k)
		if w.t.Len() != len(want) {
			return fmt.Errorf("window %v has %d groups, want %d", k, w.t.Len(), len(want))
		}
		for g := range w.t.Len() {
			key := int64(binary.BigEndian.Uint64(w.t.Key(uint32(g))))
			if w.sums[g] != want[key] {
				return fmt.Errorf("window %v group %d: sum %d, want %d", k, key, w.sums[g], want[key])
			}
		}
		return nil
	}
	var lastFired Key
	emit := func(k Key, w *sumWindow) error {
		if k.Compare(lastFired) < 0 {
			return fmt.Errorf("window %v fired after %v", k, lastFired)
		}
		lastFired = k
		if k.End-1 > b.Watermark() {
			return fmt.Errorf("window %v fired at watermark %d", k, b.Watermark())
		}
		return check(k, w)
	}
	wm := int64(stream.MinWatermark)
	base := int64(0)
	for step := 0; step < 400; step++ {
		// A batch of rows for a few windows, some far ahead of the rest.
		for range 1 + r.IntN(30) {
			end := base + size*(1+r.Int64N(4))
			if r.IntN(10) == 0 {
				end += size * r.Int64N(40)
			}
			k := Key{Start: end - size, End: end}
			if k.End-1 <= wm {
				continue // late
			}
			w, err := b.Window(k)
			if err != nil {
				t.Fatal(err)
			}
			key, v := r.Int64N(60)-30, r.Int64N(1000)
			if w.add(key, v) {
				b.Add(1)
			}
			if ref[k] == nil {
				ref[k] = map[int64]int64{}
			}
			ref[k][key] += v
		}
		before := slices.SortedFunc(keysOf(b.open), Key.Compare)
		full := b.Buffered() > limit
		if err := b.SpillIfFull(); err != nil {
			t.Fatal(err)
		}
		if full {
			spills++
			if b.Buffered() > limit/2 {
				t.Fatalf("buffer holds %d after a spill, limit %d", b.Buffered(), limit)
			}
			after := slices.SortedFunc(keysOf(b.open), Key.Compare)
			if !slices.Equal(after, before[:len(after)]) {
				t.Fatalf("spill kept %v of %v: not the windows that end first", after, before)
			}
		}
		if r.IntN(3) == 0 {
			base += r.Int64N(2 * size)
			wm = max(wm, base-1-r.Int64N(size))
			nScans, nDeletes := tab.scans, tab.deleteRanges
			wantScans := 0
			for k, sp := range b.spilled {
				if k.End-1 <= wm {
					for _, w := range sp.kgs {
						wantScans += popcount(w)
					}
				}
			}
			if err := b.Fire(wm, emit); err != nil {
				t.Fatal(err)
			}
			if tab.scans-nScans != wantScans || tab.deleteRanges-nDeletes != wantScans {
				t.Fatalf("fire made %d scans and %d range deletes, want %d each", tab.scans-nScans, tab.deleteRanges-nDeletes, wantScans)
			}
		}
	}
	if err := b.Fire(stream.MaxWatermark, emit); err != nil {
		t.Fatal(err)
	}
	if len(ref) != 0 {
		t.Fatalf("%d windows never fired", len(ref))
	}
	if tab.gets != 0 {
		t.Fatalf("the buffer read %d keys", tab.gets)
	}
	if n := tab.Len(); n != 0 {
		t.Fatalf("%d state entries left after every window fired", n)
	}
	if b.Buffered() != 0 {
		t.Fatalf("buffer counts %d entries after every window fired", b.Buffered())
	}
	if limit < 100 && spills == 0 {
		t.Fatal("the test never spilled")
	}
	t.Logf("%d windows, %d spills, %d chunks written", len(fired), spills, tab.puts)
}

func keysOf[V any](m map[Key]V) func(func(Key) bool) {
	return func(yield func(Key) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func popcount(w uint64) int {
	n := 0
	for ; w != 0; w &= w - 1 {
		n++
	}
	return n
}

// TestCorruptState damages spilled chunks: firing must fail with an error
// that says so, never panic or emit.
func TestCorruptState(t *testing.T) {
	damage := []struct {
		name string
		f    func(v []byte) []byte
	}{
		{"empty", func(v []byte) []byte { return nil }},
		{"version", func(v []byte) []byte { v[0]++; return v }},
		{"truncated", func(v []byte) []byte { return v[:len(v)-3] }},
		{"short hash", func(v []byte) []byte { return v[:5] }},
		{"wrong key group", func(v []byte) []byte { v[1] ^= 0x55; return v }},
		{"key length", func(v []byte) []byte { v[9] = 0x7f; return v }},
		{"state length", func(v []byte) []byte { v[len(v)-9]++; return v }},
	}
	for _, d := range damage {
		t.Run(d.name, func(t *testing.T) {
			b, tab, _ := openTest(t, map[string]string{"test.limit": "1"}, keygroup.Range{})
			k := Key{Start: 0, End: 10}
			w, _ := b.Window(k)
			w.add(42, 5)
			b.Add(1)
			w, _ = b.Window(Key{Start: 10, End: 20})
			w.add(43, 5)
			b.Add(1)
			if err := b.SpillIfFull(); err != nil {
				t.Fatal(err)
			}
			if tab.Len() != 2 {
				t.Fatalf("%d chunks, want 2", tab.Len())
			}
			var key, val []byte
			_ = tab.Scan(state.KeyPrefix(nil, 0), nil, func(k, v []byte) error {
				if key == nil && state.DecodeInt64(k[2:]) == 10 {
					key, val = bytes.Clone(k), bytes.Clone(v)
				}
				return nil
			})
			if key == nil {
				t.Fatal("no chunk of window [0, 10)")
			}
			if err := tab.Put(key, d.f(val)); err != nil {
				t.Fatal(err)
			}
			err := b.Fire(stream.MaxWatermark, func(Key, *sumWindow) error { return errors.New("emitted a corrupt window") })
			if err == nil || !strings.Contains(err.Error(), "corrupt state entry") || !strings.Contains(err.Error(), "window [0, 10)") {
				t.Fatalf("Fire = %v, want a corrupt state error naming the window", err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	newW := func() (*sumWindow, error) { return &sumWindow{t: hashtable.New(8)}, nil }
	for _, tc := range []struct {
		name string
		edit func(oc *operator.Context)
		want string
	}{
		{"limit zero", func(oc *operator.Context) { oc.Config = map[string]string{"test.limit": "0"} }, "option 'test.limit' = '0': want a positive integer (number of buffered groups)"},
		{"limit text", func(oc *operator.Context) { oc.Config = map[string]string{"test.limit": "lots"} }, "option 'test.limit' = 'lots'"},
		{"no state", func(oc *operator.Context) { oc.State = nil }, "no keyed state backend"},
		{"max parallelism", func(oc *operator.Context) { oc.MaxParallelism = 0 }, "max parallelism 0 is out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oc, _ := optest.NewContext(nil, nil)
			tc.edit(oc)
			if _, err := Open(oc, testConfig, newW); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open = %v, want %q", err, tc.want)
			}
		})
	}
	oc, m := optest.NewContext(nil, nil)
	oc.Logger = nil
	b, err := Open(oc, testConfig, newW)
	if err != nil || b.Limit() != testConfig.DefaultLimit || b.Logger() != slog.Default() {
		t.Fatalf("Open with defaults: %v, limit %d", err, b.Limit())
	}
	b.Late.Add(2)
	b.NullTime.Add(3)
	if m.Value(LateRecordsMetric) != 2 || m.Value(NullRowtimeMetric) != 3 {
		t.Fatal("drop counters are not registered under their metric names")
	}
	oc.Metrics = nil
	if _, err := Open(oc, testConfig, newW); err != nil {
		t.Fatal(err)
	}
}

// TestForeignKeyGroupWarns feeds a group outside the owned key groups.
func TestForeignKeyGroupWarns(t *testing.T) {
	var log strings.Builder
	b, _, _ := openTest(t, map[string]string{"test.limit": "1"}, keygroup.Range{Start: 0, End: 1})
	b.log = slog.New(slog.NewTextHandler(&log, nil))
	for key := int64(0); key < 10; key++ {
		w, _ := b.Window(Key{Start: 0, End: 10})
		if w.add(key, 1) {
			b.Add(1)
		}
		if err := b.SpillIfFull(); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := b.Fire(stream.MaxWatermark, func(k Key, w *sumWindow) error { n = w.t.Len(); return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 10 || strings.Count(log.String(), "outside this subtask's range") != 1 {
		t.Fatalf("fired %d groups, log %q: want 10 groups and one warning", n, log.String())
	}
}

// TestSplit sends random rows to a few windows or drops them and checks
// each window's rows against a map.
func TestSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	var s Split[int64]
	for trial := 0; trial < 200; trial++ {
		n := 1 + r.IntN(100)
		s.Reset(n)
		want := map[int64][]int32{}
		var order []int64
		windows, dropPc := 1+r.Int64N(4), r.IntN(3)*20
		for i := 0; i < n; i++ {
			if r.IntN(100) < dropPc {
				s.Drop(i)
				continue
			}
			k := r.Int64N(windows)
			if want[k] == nil {
				order = append(order, k)
			}
			want[k] = append(want[k], int32(i))
			s.Add(i, k)
		}
		s.Finish()
		if !slices.Equal(s.Windows(), order) {
			t.Fatalf("windows %v, want %v", s.Windows(), order)
		}
		for i, k := range s.Windows() {
			got := s.Rows(i)
			if got == nil {
				if len(order) != 1 || len(want[k]) != n {
					t.Fatalf("window %d: all rows, want %v of %d", k, want[k], n)
				}
				continue
			}
			if !slices.Equal(got, want[k]) {
				t.Fatalf("window %d: rows %v, want %v", k, got, want[k])
			}
		}
	}
}

func TestInputAdmit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	mk := func(name string, n int) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: name, Type: arrow.PrimitiveTypes.Int64}}, nil))
		defer b.Release()
		for i := range n {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
		}
		return b.NewRecordBatch()
	}
	var in Input
	binds := 0
	bind := func(*arrow.Schema) error { binds++; return nil }
	a, b, empty := mk("a", 3), mk("b", 2), mk("a", 0)
	defer a.Release()
	defer b.Release()
	defer empty.Release()
	if ok, err := in.Admit(stream.Batch{Record: empty}, "testing", bind); ok || err != nil || binds != 0 {
		t.Fatalf("empty batch: %v, %v, %d binds", ok, err, binds)
	}
	for range 2 {
		if ok, err := in.Admit(stream.Batch{Record: a}, "testing", bind); !ok || err != nil {
			t.Fatalf("Admit = %v, %v", ok, err)
		}
	}
	if binds != 1 || in.Schema != a.Schema() {
		t.Fatalf("bind called %d times", binds)
	}
	if _, err := in.Admit(stream.Batch{Record: b}, "testing", bind); err == nil || !strings.Contains(err.Error(), "input schema changed") {
		t.Fatalf("schema change: %v", err)
	}
	kinds := []stream.RowKind{stream.Insert, stream.Delete, stream.Insert}
	if _, err := in.Admit(stream.Batch{Record: a, Kinds: kinds}, "testing", bind); err == nil ||
		!strings.Contains(err.Error(), "row 1 is -D: testing takes append-only input") {
		t.Fatalf("retraction: %v", err)
	}
	var fail Input
	if _, err := fail.Admit(stream.Batch{Record: a}, "testing", func(*arrow.Schema) error { return errors.New("no") }); err == nil || fail.Schema != nil {
		t.Fatalf("a failed bind: %v, schema %v", err, fail.Schema)
	}
}

func TestCountDropped(t *testing.T) {
	var log strings.Builder
	b, _, m := openTest(t, nil, keygroup.Range{})
	b.log = slog.New(slog.NewTextHandler(&log, nil))
	b.CountDropped(0, 4, "nulls!")
	b.CountDropped(2, 0, "nulls!", "column", "ts")
	b.CountDropped(3, 1, "nulls!", "column", "ts")
	if m.Value(LateRecordsMetric) != 5 || m.Value(NullRowtimeMetric) != 5 {
		t.Fatalf("late %v, nulls %v; want 5 and 5", m.Value(LateRecordsMetric), m.Value(NullRowtimeMetric))
	}
	if strings.Count(log.String(), "nulls!") != 1 || !strings.Contains(log.String(), "column=ts") {
		t.Fatalf("log %q: want one warning naming the column", log.String())
	}
}

// TestTakePut drives a buffer through Window, Take, Put, New and Recycle in
// random order, at several limits, against per-window maps: whatever was
// spilled, taking a window returns the sum of everything put or added under
// its key, and the buffer's count of entries matches what it holds.
func TestTakePut(t *testing.T) {
	for _, limit := range []int{1, 3, 10, 1000} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			b, tab, _ := openTest(t, map[string]string{"test.limit": fmt.Sprint(limit)}, keygroup.Range{})
			r := rand.New(rand.NewPCG(uint64(limit), 4))
			ref := map[Key]map[int64]int64{}
			add := func(k Key, w *sumWindow, n int) {
				for range n {
					key, v := r.Int64N(20), r.Int64N(100)
					w.add(key, v)
					if ref[k] == nil {
						ref[k] = map[int64]int64{}
					}
					ref[k][key] += v
				}
			}
			check := func(k Key, w *sumWindow) {
				t.Helper()
				want := ref[k]
				delete(ref, k)
				if w.t.Len() != len(want) {
					t.Fatalf("window %v has %d groups, want %d", k, w.t.Len(), len(want))
				}
				for g := range w.t.Len() {
					key := int64(binary.BigEndian.Uint64(w.t.Key(uint32(g))))
					if w.sums[g] != want[key] {
						t.Fatalf("window %v group %d: sum %d, want %d", k, key, w.sums[g], want[key])
					}
				}
			}
			randKey := func() Key { e := 10 * (1 + r.Int64N(15)); return Key{Start: e - 10, End: e} }
			for step := 0; step < 3000; step++ {
				k := randKey()
				switch r.IntN(4) {
				case 0: // rows into an open window
					w, err := b.Window(k)
					if err != nil {
						t.Fatal(err)
					}
					before := w.Size()
					add(k, w, 1+r.IntN(5))
					b.Add(w.Size() - before)
				case 1: // a window made aside and handed over
					if _, open := b.Lookup(k); open {
						w, _ := b.New()
						if err := b.Put(k, w); err == nil || !strings.Contains(err.Error(), "already open") {
							t.Fatalf("Put over an open window: %v", err)
						}
						b.Recycle(w)
						continue
					}
					w, err := b.New()
					if err != nil {
						t.Fatal(err)
					}
					if w.t.Len() != 0 {
						t.Fatal("New returned a window with groups")
					}
					add(k, w, 1+r.IntN(5))
					if err := b.Put(k, w); err != nil {
						t.Fatal(err)
					}
				case 2, 3:
					w, ok, err := b.Take(k)
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						if ref[k] != nil {
							t.Fatalf("Take(%v) found nothing, want %d groups", k, len(ref[k]))
						}
						continue
					}
					check(k, w)
					b.Recycle(w)
				}
				if err := b.SpillIfFull(); err != nil {
					t.Fatal(err)
				}
				if b.Buffered() > limit {
					t.Fatalf("buffer holds %d entries after SpillIfFull, limit %d", b.Buffered(), limit)
				}
			}
			for k := range ref {
				w, ok, err := b.Take(k)
				if err != nil || !ok {
					t.Fatalf("Take(%v) = %v, %v at the end", k, ok, err)
				}
				check(k, w)
				b.Recycle(w)
			}
			if b.Buffered() != 0 || len(b.open) != 0 || len(b.spilled) != 0 || tab.Len() != 0 {
				t.Fatalf("after taking every window: %d buffered, %d open, %d spilled, %d state entries", b.Buffered(), len(b.open), len(b.spilled), tab.Len())
			}
			if tab.gets != 0 {
				t.Fatalf("the buffer read %d keys", tab.gets)
			}
			if limit < 100 && tab.puts == 0 {
				t.Fatal("the test never spilled")
			}
		})
	}
}
