package kafka

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

func mustSink(t *testing.T, f connectors.SinkFactory, info connectors.TableInfo) connectors.Sink {
	t.Helper()
	if v, ok := f.(connectors.TableValidator); ok {
		if err := v.ValidateTable(info); err != nil {
			t.Fatal(err)
		}
	}
	s, err := f.NewSink(info)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openWriter(t *testing.T, s connectors.Sink, subtask, parallelism int, checkpointing bool) connectors.Writer {
	t.Helper()
	w, err := s.Writer(context.Background(), connectors.ReaderContext{Subtask: subtask, Parallelism: parallelism,
		BatchSize: 100, Alloc: memory.DefaultAllocator, Checkpointing: checkpointing})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// writeRows writes rows as inserts in random batch sizes.
func writeRows(t *testing.T, w connectors.Writer, rows []row, rng *rand.Rand) {
	t.Helper()
	for len(rows) > 0 {
		n := min(len(rows), 1+rng.IntN(40))
		b := batchOf(rows[:n])
		b.Kinds = nil
		if err := w.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		b.Release()
		rows = rows[n:]
	}
}

func genRows(rng *rand.Rand, from int64, n int) []row {
	out := make([]row, n)
	for i := range out {
		out[i] = randomRow(rng, from+int64(i))
	}
	return out
}

// crash drops a transactional writer as a killed process would: its
// clients go away without ending any transaction.
func crash(w connectors.Writer) {
	tw := w.(*txnWriter)
	tw.closed = true
	tw.closeAll()
}

// Exactly-once: prepared data is invisible to read_committed readers
// until Commit; a writer that dies after Prepare is recovered from its
// committable (that data appears once) and what it wrote after the last
// Prepare never appears.
func TestSinkExactlyOnce(t *testing.T) {
	rng := newTestRNG(t)
	ctx := context.Background()
	_, addrs := testCluster(t, 1, int32(1+rng.IntN(4)), "out")
	info := tableInfo("out", map[string]string{"topic": "out", "properties.bootstrap.servers": addrs, "format": "json",
		"sink.delivery-guarantee": "exactly-once", "sink.transactional-id-prefix": "job1"})
	s := mustSink(t, New(), info)
	par := 1 + rng.IntN(3)
	var committed []row
	next := int64(0)
	writers := make([]connectors.Writer, par)
	for i := range writers {
		writers[i] = openWriter(t, s, i, par, true)
	}
	// Two checkpoints, committed one after the other. The rows written
	// after a barrier belong to the next checkpoint's transaction.
	var carry []row
	for ckpt := int64(1); ckpt <= 2; ckpt++ {
		prepared := carry
		carry = nil
		var cs [][]byte
		for _, w := range writers {
			rows := genRows(rng, next, rng.IntN(60))
			next += int64(len(rows))
			writeRows(t, w, rows, rng)
			c, err := w.(connectors.TwoPhaseWriter).Prepare(ctx, ckpt)
			if err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
			prepared = append(prepared, rows...)
		}
		for _, w := range writers {
			rows := genRows(rng, next, rng.IntN(20))
			next += int64(len(rows))
			writeRows(t, w, rows, rng)
			carry = append(carry, rows...)
		}
		// Before the commit: nothing prepared is visible. (read_committed
		// readers see up to the last stable offset, which an open
		// transaction holds back, so they may see less.)
		subsetRows(t, "read_committed before the commit", recordRows(t, consumeAll(t, addrs, "out", true)), committed)
		for i, w := range writers {
			if err := w.(connectors.TwoPhaseWriter).Commit(ctx, ckpt, cs[i]); err != nil {
				t.Fatal(err)
			}
			// Commit is idempotent.
			if err := w.(connectors.TwoPhaseWriter).Commit(ctx, ckpt, cs[i]); err != nil {
				t.Fatal(err)
			}
		}
		committed = append(committed, prepared...)
		// The rows after the barrier are in open transactions, which
		// hold back what read_committed sees: never more than what was
		// committed, and everything once nothing is open.
		got := recordRows(t, consumeAll(t, addrs, "out", true))
		subsetRows(t, "read_committed after the commit", got, committed)
		if len(carry) == 0 {
			sameRows(t, "read_committed after the commit", got, committed)
		}
	}
	// Checkpoint 3 prepares, then every writer dies before the commit,
	// with more rows written after the barrier.
	var cs [][]byte
	prepared := carry
	for _, w := range writers {
		rows := genRows(rng, next, rng.IntN(50))
		next += int64(len(rows))
		writeRows(t, w, rows, rng)
		c, err := w.(connectors.TwoPhaseWriter).Prepare(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		prepared = append(prepared, rows...)
		writeRows(t, w, genRows(rng, next, 1+rng.IntN(30)), rng) // lost
		next += 100
	}
	for _, w := range writers {
		crash(w)
	}
	// The restarted job, at another parallelism, recovers.
	s2 := mustSink(t, New(), info)
	if err := s2.(connectors.RecoverableSink).Recover(ctx, cs); err != nil {
		t.Fatal(err)
	}
	// Recovering twice is harmless.
	if err := s2.(connectors.RecoverableSink).Recover(ctx, cs); err != nil {
		t.Fatal(err)
	}
	committed = append(committed, prepared...)
	sameRows(t, "after recovery", recordRows(t, consumeAll(t, addrs, "out", true)), committed)

	// The new writers go on; Close commits the rest.
	par2 := 1 + rng.IntN(3)
	for i := range par2 {
		w := openWriter(t, s2, i, par2, true)
		rows := genRows(rng, next, rng.IntN(40))
		next += int64(len(rows))
		writeRows(t, w, rows, rng)
		c, err := w.(connectors.TwoPhaseWriter).Prepare(ctx, 4)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.(connectors.TwoPhaseWriter).Commit(ctx, 4, c); err != nil {
			t.Fatal(err)
		}
		tail := genRows(rng, next, rng.IntN(40))
		next += int64(len(tail))
		writeRows(t, w, tail, rng)
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		committed = append(append(committed, rows...), tail...)
	}
	sameRows(t, "at the end", recordRows(t, consumeAll(t, addrs, "out", true)), committed)
}

// A writer that fails before any checkpoint leaves no open transaction
// behind once the next run's writers open, and Abort aborts.
func TestSinkExactlyOnceAbortAndLinger(t *testing.T) {
	rng := newTestRNG(t)
	ctx := context.Background()
	_, addrs := testCluster(t, 1, 2, "out")
	info := tableInfo("out", map[string]string{"topic": "out", "properties.bootstrap.servers": addrs, "format": "json",
		"sink.delivery-guarantee": "exactly-once", "sink.transactional-id-prefix": "job2"})
	s := mustSink(t, New(), info)
	w := openWriter(t, s, 0, 1, true)
	writeRows(t, w, genRows(rng, 0, 1+rng.IntN(50)), rng)
	if _, err := w.(connectors.TwoPhaseWriter).Prepare(ctx, 1); err != nil {
		t.Fatal(err)
	}
	writeRows(t, w, genRows(rng, 1000, 1+rng.IntN(50)), rng)
	crash(w) // two transactions open: the prepared one and the current one
	before := consumeAll(t, addrs, "out", false)
	if len(before) == 0 {
		t.Fatal("nothing was written")
	}
	if got := consumeAll(t, addrs, "out", true); len(got) != 0 {
		t.Fatalf("read_committed sees %d records of open transactions", len(got))
	}
	// A fresh start (no checkpoint to recover): the new writer aborts them,
	// so read_committed readers are not blocked and see nothing of them.
	w2 := openWriter(t, s, 0, 1, true)
	want := genRows(rng, 5000, 1+rng.IntN(50))
	writeRows(t, w2, want, rng)
	if err := w2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "after the lingering transactions were aborted", recordRows(t, consumeAll(t, addrs, "out", true)), want)

	w3 := openWriter(t, s, 0, 1, true)
	writeRows(t, w3, genRows(rng, 9000, 1+rng.IntN(50)), rng)
	if err := w3.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "after Abort", recordRows(t, consumeAll(t, addrs, "out", true)), want)
}

// At-least-once: visible once flushed at Prepare; Close flushes the rest.
// Exactly-once without checkpointing writes the same way.
func TestSinkAtLeastOnce(t *testing.T) {
	rng := newTestRNG(t)
	ctx := context.Background()
	for _, guarantee := range []string{"at-least-once", "none", "exactly-once"} {
		_, addrs := testCluster(t, 1, 3, "out")
		info := tableInfo("out", map[string]string{"topic": "out", "properties.bootstrap.servers": addrs, "format": "csv",
			"sink.delivery-guarantee": guarantee, "sink.transactional-id-prefix": "p"})
		s := mustSink(t, New(), info)
		w := openWriter(t, s, 0, 1, guarantee != "exactly-once")
		if _, ok := w.(*plainWriter); !ok {
			t.Fatalf("%s: writer %T", guarantee, w)
		}
		first := genRows(rng, 0, rng.IntN(100))
		writeRows(t, w, first, rng)
		if _, err := w.(connectors.TwoPhaseWriter).Prepare(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if guarantee != "none" {
			sameRows(t, guarantee+" after Prepare", csvRows(t, consumeAll(t, addrs, "out", false)), first)
		}
		rest := genRows(rng, 1000, rng.IntN(100))
		writeRows(t, w, rest, rng)
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		sameRows(t, guarantee+" after Close", csvRows(t, consumeAll(t, addrs, "out", true)), append(first, rest...))
	}
}

// csvRows decodes csv test rows from records' values.
func csvRows(t *testing.T, recs []*kgo.Record) []row {
	t.Helper()
	src, err := newSplitSource(tableInfo("check", map[string]string{"topic": "x", "properties.bootstrap.servers": "x:1", "format": "csv"}), false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newReader(src.cfg, connectors.ReaderContext{BatchSize: len(recs) + 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return decodeByPartition(t, r, recs)
}

// upsert-kafka: +I/+U are values keyed by the primary key, -D tombstones,
// -U dropped; reading the topic back gives +U for values and -D with the
// key and NULLs for tombstones.
func TestUpsertKafka(t *testing.T) {
	rng := newTestRNG(t)
	ctx := context.Background()
	for _, keyFormat := range []string{"json", "csv"} {
		_, addrs := testCluster(t, 1, 3, "up")
		info := tableInfo("up", map[string]string{"connector": "upsert-kafka", "topic": "up", "properties.bootstrap.servers": addrs,
			"key.format": keyFormat, "value.format": "json"})
		info.PrimaryKey = []int{0}
		info.Changelog = "retract"
		f := NewUpsert()
		if err := f.AcceptsUpdates(info); err != nil {
			t.Fatal(err)
		}
		s := mustSink(t, f, info)
		w := openWriter(t, s, 0, 1, false)
		var in, want []row
		kinds := []stream.RowKind{stream.Insert, stream.UpdateBefore, stream.UpdateAfter, stream.Delete}
		for i := range 50 + rng.IntN(100) {
			r := randomRow(rng, int64(rng.IntN(20)))
			r.kind = kinds[rng.IntN(4)]
			if r.kind == stream.Delete && rng.IntN(2) == 0 {
				r.null = true
			}
			in = append(in, r)
			switch r.kind {
			case stream.Insert, stream.UpdateAfter:
				w := r
				w.kind = stream.UpdateAfter
				want = append(want, w)
			case stream.Delete:
				w := row{id: r.id, null: true, kind: stream.Delete}
				want = append(want, w)
			}
			_ = i
		}
		for rest := in; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(30))
			b := batchOf(rest[:n])
			if err := w.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			b.Release()
			rest = rest[n:]
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		// The messages: keyed by id, tombstones for deletes.
		recs := consumeAll(t, addrs, "up", false)
		if len(recs) != len(want) {
			t.Fatalf("%d messages, want %d", len(recs), len(want))
		}
		for _, m := range recs {
			if len(m.Key) == 0 {
				t.Fatalf("message without a key: %+v", m)
			}
		}
		// Read back through the upsert source.
		src, err := f.NewSplitSource(connectors.TableInfo{Name: "up", Schema: info.Schema, Options: map[string]string{
			"connector": "upsert-kafka", "topic": "up", "properties.bootstrap.servers": addrs, "key.format": keyFormat,
			"value.format": "json", "scan.bounded.mode": "latest-offset"}, PrimaryKey: []int{0}})
		if err != nil {
			t.Fatal(err)
		}
		if f.SourceChangelog(info) != "upsert" {
			t.Fatal("upsert-kafka is not an upsert source")
		}
		j := startJob(t, src, 2, nil, nil)
		j.runUntil("the end", func() bool { return len(j.finished) == 3 })
		j.close()
		sameRows(t, "upsert read back ("+keyFormat+" keys)", j.rows, want)
	}
}

// subsetRows checks that every row of got is in allowed (as often).
func subsetRows(t *testing.T, what string, got, allowed []row) {
	t.Helper()
	count := map[string]int{}
	key := func(r row) string { return fmt.Sprint(r.kind, r.id, r.name, r.amount, r.null) }
	for _, r := range allowed {
		count[key(r)]++
	}
	for _, r := range got {
		if count[key(r)]--; count[key(r)] < 0 {
			t.Fatalf("%s: row %+v is visible but was not committed (or is doubled)", what, r)
		}
	}
}

// 'raw': one STRING column as the message value, NULL as no value, line
// breaks and all; read back the same.
func TestRawFormat(t *testing.T) {
	rng := newTestRNG(t)
	ctx := context.Background()
	_, addrs := testCluster(t, 1, 2, "raw")
	schema := types.Schema{Fields: []types.Field{{Name: "line", Type: types.StringType}}}
	info := connectors.TableInfo{Name: "raw", Schema: schema, Options: map[string]string{"connector": "kafka", "topic": "raw",
		"properties.bootstrap.servers": addrs, "format": "raw", "key.format": "raw", "key.fields": "line",
		"scan.startup.mode": "earliest-offset", "scan.bounded.mode": "latest-offset"}}
	s := mustSink(t, New(), info)
	w := openWriter(t, s, 0, 1, false)
	var want []*string
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	for range 1 + rng.IntN(200) {
		if rng.IntN(6) == 0 {
			sb.AppendNull()
			want = append(want, nil)
			continue
		}
		var vb strings.Builder
		for range rng.IntN(6) {
			vb.WriteString([]string{"a", "b", "\n", ",", "\"", "é", " "}[rng.IntN(7)])
		}
		v := vb.String()
		sb.Append(v)
		want = append(want, &v)
	}
	col := sb.NewArray()
	rec := array.NewRecordBatch(schema.Arrow(), []arrow.Array{col}, int64(col.Len()))
	col.Release()
	if err := w.Write(ctx, stream.Batch{Record: rec}); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	str := func(p *string) string {
		if p == nil {
			return "<NULL>"
		}
		return "=" + *p
	}
	count := map[string]int{}
	for _, v := range want {
		count[str(v)]++
	}
	for _, m := range consumeAll(t, addrs, "raw", false) {
		if !bytes.Equal(m.Key, m.Value) || (m.Key == nil) != (m.Value == nil) {
			t.Fatalf("key %q is not the value %q", m.Key, m.Value)
		}
		k := "<NULL>"
		if m.Value != nil {
			k = "=" + string(m.Value)
		}
		count[k]--
	}
	for k, n := range count {
		if n != 0 {
			t.Fatalf("value %q: %d more written than in the topic", k, n)
		}
	}
	for _, v := range want {
		count[str(v)]++
	}
	src, err := New().NewSplitSource(info)
	if err != nil {
		t.Fatal(err)
	}
	r, err := src.NewSplitReader(ctx, connectors.ReaderContext{BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	enum, err := src.NewEnumerator(ctx, connectors.EnumeratorContext{Parallelism: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enum.Close()
	splits, _, err := enum.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddSplits(ctx, splits); err != nil {
		t.Fatal(err)
	}
	for finished, deadline := 0, time.Now().Add(10*time.Second); finished < 2; {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		b, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b.Finished {
			finished++
		}
		if b.Batch.Record == nil {
			continue
		}
		c := b.Batch.Record.Column(0).(*array.String)
		for i := 0; i < c.Len(); i++ {
			if c.IsNull(i) {
				count["<NULL>"]--
			} else {
				count["="+c.Value(i)]--
			}
		}
		b.Batch.Release()
	}
	for k, n := range count {
		if n != 0 {
			t.Fatalf("value %q: %d more written than read back", k, n)
		}
	}
}
