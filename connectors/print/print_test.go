package print

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

var schema = types.Schema{Fields: []types.Field{
	{Name: "id", Type: types.BigIntType}, {Name: "n", Type: types.IntType}, {Name: "name", Type: types.StringType},
	{Name: "ok", Type: types.BooleanType}, {Name: "x", Type: types.DoubleType}, {Name: "price", Type: types.DecimalType(10, 2)},
	{Name: "ts", Type: types.TimestampType},
}}

func batch(mem memory.Allocator, ids []int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, schema.Arrow())
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		if id%2 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Int32Builder).Append(int32(-id))
		}
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("Golden Rose %d", id))
		b.Field(3).(*array.BooleanBuilder).Append(id%3 == 0)
		b.Field(4).(*array.Float64Builder).Append(float64(id) / 4)
		b.Field(5).(*array.Decimal128Builder).Append(decimal128.FromI64(id*101 + 5))
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(1767225600000 + id*1001))
	}
	return b.NewRecordBatch()
}

// line is the reference rendering of the row batch() makes for id,
// computed independently with the time and fmt packages.
func line(prefix, kind string, id int64) string {
	n := "null"
	if id%2 != 0 {
		n = fmt.Sprint(-id)
	}
	x := fmt.Sprintf("%g", float64(id)/4)
	if !strings.Contains(x, ".") {
		x += ".0"
	}
	price := id*101 + 5
	ts := time.UnixMilli(1767225600000 + id*1001).UTC().Format("2006-01-02 15:04:05.000")
	return fmt.Sprintf("%s%s[%d, %s, Golden Rose %d, %v, %s, %d.%02d, %s]", prefix, kind, id, n, id, id%3 == 0, x, price/100, price%100, ts)
}

func TestExactLines(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, c := range []struct {
		ident       string
		parallelism int
		subtask     int
		prefix      string
	}{
		{"", 1, 0, ""}, {"", 4, 2, "3> "}, {"gifts", 1, 0, "gifts> "}, {"gifts", 2, 1, "gifts:2> "},
	} {
		var out, errOut bytes.Buffer
		f := New(&out, &errOut)
		opts := map[string]string{"connector": "print"}
		if c.ident != "" {
			opts[OptIdentifier] = c.ident
		}
		sink, err := f.NewSink(connectors.TableInfo{Name: "p", Schema: schema, Options: opts})
		if err != nil {
			t.Fatal(err)
		}
		w, _ := sink.Writer(context.Background(), connectors.ReaderContext{Subtask: c.subtask, Parallelism: c.parallelism})
		if err := f.AcceptsUpdates(connectors.TableInfo{Name: "p", Schema: schema, Options: opts, Changelog: "retract"}); err != nil {
			t.Fatalf("print refuses updates: %v", err)
		}
		rec := batch(mem, []int64{1, 2, 3, 4})
		kinds := []stream.RowKind{stream.Insert, stream.UpdateBefore, stream.UpdateAfter, stream.Delete}
		if err := w.Write(context.Background(), stream.Batch{Record: rec, Kinds: kinds}); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(context.Background(), stream.Batch{Record: rec}); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		w.Close(context.Background())
		want := strings.Join([]string{
			line(c.prefix, "+I", 1), line(c.prefix, "-U", 2), line(c.prefix, "+U", 3), line(c.prefix, "-D", 4),
			line(c.prefix, "+I", 1), line(c.prefix, "+I", 2), line(c.prefix, "+I", 3), line(c.prefix, "+I", 4),
		}, "\n") + "\n"
		if out.String() != want || errOut.Len() != 0 {
			t.Fatalf("printed\n%s\nwant\n%s", out.String(), want)
		}
	}
	// Flink's spelling of one row, literally.
	if got := line("", "+I", 1); got != "+I[1, -1, Golden Rose 1, false, 0.25, 1.06, 2026-01-01 00:00:01.001]" {
		t.Fatalf("reference line %q", got)
	}
}

func TestStandardErrorAndNulls(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var out, errOut bytes.Buffer
	f := New(&out, &errOut)
	sc := types.Schema{Fields: []types.Field{{Name: "a", Type: types.StringType}, {Name: "b", Type: types.TimestampType}}}
	sink, err := f.NewSink(connectors.TableInfo{Name: "p", Schema: sc, Options: map[string]string{OptStandardError: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := sink.Writer(context.Background(), connectors.ReaderContext{Parallelism: 1})
	b := array.NewRecordBuilder(mem, sc.Arrow())
	b.Field(0).AppendNull()
	b.Field(1).AppendNull()
	rec := b.NewRecordBatch()
	b.Release()
	if err := w.Write(context.Background(), stream.Batch{Record: rec}); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if out.Len() != 0 || errOut.String() != "+I[null, null]\n" {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
}

// unsafeWriter fails the test if two writes overlap.
type unsafeWriter struct {
	busy sync.Mutex
	t    *testing.T
	buf  bytes.Buffer
}

func (u *unsafeWriter) Write(p []byte) (int, error) {
	if !u.busy.TryLock() {
		u.t.Error("concurrent writes to the output")
		return 0, fmt.Errorf("overlap")
	}
	defer u.busy.Unlock()
	return u.buf.Write(p)
}

// TestParallelWritersDoNotInterleave runs writers on goroutines: every
// output line is exactly one whole row.
func TestParallelWritersDoNotInterleave(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := &unsafeWriter{t: t}
	f := New(out, out)
	sink, err := f.NewSink(connectors.TableInfo{Name: "p", Schema: schema, Options: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	const p = 4
	var wg sync.WaitGroup
	var want []string
	var mu sync.Mutex
	for s := 0; s < p; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			w, _ := sink.Writer(context.Background(), connectors.ReaderContext{Subtask: s, Parallelism: p})
			r := rand.New(rand.NewPCG(uint64(s), 1))
			for b := 0; b < 50; b++ {
				ids := make([]int64, 1+r.IntN(40))
				for i := range ids {
					ids[i] = int64(s*1_000_000 + b*100 + i)
				}
				rec := batch(mem, ids)
				if err := w.Write(context.Background(), stream.Batch{Record: rec}); err != nil {
					t.Error(err)
				}
				rec.Release()
				mu.Lock()
				for _, id := range ids {
					want = append(want, line(fmt.Sprintf("%d> ", s+1), "+I", id))
				}
				mu.Unlock()
			}
			w.Close(context.Background())
		}(s)
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(out.buf.String(), "\n"), "\n")
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%d lines printed, %d expected, or lines differ", len(got), len(want))
	}
}

func TestOptionErrors(t *testing.T) {
	f := New(&bytes.Buffer{}, &bytes.Buffer{})
	for opts, want := range map[string]string{
		"standard-error=maybe": "option 'standard-error': 'maybe' is not a valid bool",
		"path=/tmp":            "unknown option 'path' (supported: 'print-identifier', 'standard-error')",
	} {
		k, v, _ := strings.Cut(opts, "=")
		err := f.ValidateTable(connectors.TableInfo{Name: "p", Schema: schema, Options: map[string]string{k: v}})
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", opts, err, want)
		}
	}
}
