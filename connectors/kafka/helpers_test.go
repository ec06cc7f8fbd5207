package kafka

import (
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
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// testCluster starts an in-process kfake cluster with topics of
// partitions partitions each.
func testCluster(t *testing.T, brokers int, partitions int32, topics ...string) (*kfake.Cluster, string) {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(brokers)}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(partitions, topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, strings.Join(c.ListenAddrs(), ",")
}

func testClient(t *testing.T, addrs string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(addrs, ",")...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// The test table: (id BIGINT, name STRING, amount DOUBLE).
var testSchema = types.Schema{Fields: []types.Field{
	{Name: "id", Type: types.BigIntType},
	{Name: "name", Type: types.StringType},
	{Name: "amount", Type: types.DoubleType},
}}

// row is one row of the test table; the reference the tests compare to.
type row struct {
	id     int64
	name   string
	amount float64
	null   bool // name and amount are NULL (an upsert delete)
	kind   stream.RowKind
}

func (r row) json() []byte {
	return fmt.Appendf(nil, `{"id":%d,"name":%q,"amount":%g}`, r.id, r.name, r.amount)
}

func randomRow(rng *rand.Rand, id int64) row {
	letters := "abcdefghijklmnopqrstuvwxyz \"\\,é"
	n := rng.IntN(12)
	var b strings.Builder
	for range n {
		i := rng.IntN(len(letters) - 1)
		if letters[i] >= 0x80 {
			b.WriteString("é")
			continue
		}
		b.WriteByte(letters[i])
	}
	return row{id: id, name: b.String(), amount: float64(rng.IntN(100000)) / 100}
}

func tableInfo(name string, opts map[string]string) connectors.TableInfo {
	o := map[string]string{"connector": "kafka"}
	for k, v := range opts {
		o[k] = v
	}
	return connectors.TableInfo{Name: name, Schema: testSchema, Options: o}
}

// rowsOf reads the rows of a batch.
func rowsOf(t *testing.T, b stream.Batch) []row {
	t.Helper()
	rec := b.Record
	ids := rec.Column(0).(*array.Int64)
	names := rec.Column(1).(*array.String)
	amounts := rec.Column(2).(*array.Float64)
	out := make([]row, rec.NumRows())
	for i := range out {
		out[i] = row{id: ids.Value(i), kind: b.Kind(i)}
		if names.IsNull(i) && amounts.IsNull(i) {
			out[i].null = true
			continue
		}
		out[i].name, out[i].amount = names.Value(i), amounts.Value(i)
	}
	return out
}

// produce writes rows as JSON values to topic, each to the partition
// part(row) picks, in random batch sizes, synchronously.
func produce(t *testing.T, cl *kgo.Client, topic string, rows []row, part func(row) int32, rng *rand.Rand) {
	t.Helper()
	ctx := context.Background()
	for len(rows) > 0 {
		n := min(len(rows), 1+rng.IntN(50))
		recs := make([]*kgo.Record, n)
		for i, r := range rows[:n] {
			recs[i] = &kgo.Record{Topic: topic, Partition: part(r), Value: r.json()}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		rows = rows[n:]
	}
}

// manualProducer returns a client that writes each record to its
// Partition.
func manualProducer(t *testing.T, addrs string, opts ...kgo.Opt) *kgo.Client {
	return testClient(t, addrs, append([]kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
}

// job drives a split source as the runtime does: one enumerator, readers
// that splits are assigned to with the source's assigner.
type job struct {
	t       *testing.T
	src     connectors.SplitSource
	enum    connectors.SplitEnumerator
	readers []connectors.SplitReader
	done    bool // the enumerator is done
	rows    []row
	// finished counts the splits reported finished.
	finished map[string]int
	bad      connectors.BadRecordHandler
}

type checkpoint struct {
	enum   []byte
	splits []connectors.Split
}

func startJob(t *testing.T, src connectors.SplitSource, readers int, from *checkpoint, bad connectors.BadRecordHandler) *job {
	t.Helper()
	ctx := context.Background()
	j := &job{t: t, src: src, finished: map[string]int{}, bad: bad}
	var enumState []byte
	if from != nil {
		enumState = from.enum
	}
	var err error
	j.enum, err = src.NewEnumerator(ctx, connectors.EnumeratorContext{Parallelism: readers}, enumState)
	if err != nil {
		t.Fatal(err)
	}
	for i := range readers {
		r, err := src.NewSplitReader(ctx, connectors.ReaderContext{Subtask: i, Parallelism: readers, BatchSize: 3 + i*17,
			Alloc: memory.DefaultAllocator, BadRecords: bad})
		if err != nil {
			t.Fatal(err)
		}
		j.readers = append(j.readers, r)
	}
	if from != nil {
		j.assign(from.splits)
	}
	if err := j.discover(); err != nil {
		t.Fatal(err)
	}
	return j
}

func (j *job) assign(splits []connectors.Split) {
	j.t.Helper()
	by := make([][]connectors.Split, len(j.readers))
	for _, sp := range splits {
		i := j.src.(connectors.SplitAssigner).Assign(sp, len(j.readers))
		by[i] = append(by[i], sp)
	}
	for i, ss := range by {
		if len(ss) > 0 {
			if err := j.readers[i].AddSplits(context.Background(), ss); err != nil {
				j.t.Fatal(err)
			}
		}
	}
}

func (j *job) discover() error {
	if j.done {
		return nil
	}
	splits, done, err := j.enum.Discover(context.Background())
	if err != nil {
		return err
	}
	j.done = done
	j.assign(splits)
	return nil
}

// step calls Next once on every reader and keeps the rows.
func (j *job) step() (int, error) {
	got := 0
	for _, r := range j.readers {
		b, err := r.Next(context.Background())
		if err != nil {
			return got, err
		}
		if b.Finished {
			j.finished[b.Split]++
		}
		if b.Batch.Record != nil {
			if b.Split == "" {
				j.t.Fatalf("a batch without a split")
			}
			j.rows = append(j.rows, rowsOf(j.t, b.Batch)...)
			got += b.Batch.NumRows()
			b.Batch.Release()
		}
	}
	return got, nil
}

// runUntil steps until cond holds, failing after a timeout.
func (j *job) runUntil(what string, cond func() bool) {
	j.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			j.t.Fatalf("timed out waiting for %s (have %d rows)", what, len(j.rows))
		}
		if _, err := j.step(); err != nil {
			j.t.Fatal(err)
		}
	}
}

// held returns the splits the readers hold.
func (j *job) snapshot() *checkpoint {
	j.t.Helper()
	c := &checkpoint{}
	var err error
	if c.enum, err = j.enum.Snapshot(); err != nil {
		j.t.Fatal(err)
	}
	for _, r := range j.readers {
		ss, err := r.Snapshot()
		if err != nil {
			j.t.Fatal(err)
		}
		c.splits = append(c.splits, ss...)
	}
	return c
}

func (j *job) close() {
	for _, r := range j.readers {
		r.Close()
	}
	j.enum.Close()
}

// sameRows compares two row multisets, reporting the first differences.
func sameRows(t *testing.T, what string, got, want []row) {
	t.Helper()
	key := func(r row) string {
		if r.null {
			return fmt.Sprintf("%s %d NULL", r.kind, r.id)
		}
		return fmt.Sprintf("%s %d %q %g", r.kind, r.id, r.name, r.amount)
	}
	count := map[string]int{}
	for _, r := range want {
		count[key(r)]++
	}
	for _, r := range got {
		count[key(r)]--
	}
	var diffs []string
	for k, n := range count {
		if n != 0 {
			diffs = append(diffs, fmt.Sprintf("%+d × %s", -n, k))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		if len(diffs) > 10 {
			diffs = diffs[:10]
		}
		t.Fatalf("%s: got %d rows, want %d; differences (+ extra, - missing):\n%s", what, len(got), len(want), strings.Join(diffs, "\n"))
	}
}

// countingHandler is a bad-record handler that skips and remembers.
type countingHandler struct {
	mu   sync.Mutex
	recs []connectors.BadRecord
}

func (h *countingHandler) Handle(_ context.Context, r connectors.BadRecord) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r)
	return nil
}

// consumeAll reads topic from the start up to the end offsets it has now
// (the last stable offsets under read_committed), with a plain kgo
// consumer: what a downstream reader of the topic sees.
func consumeAll(t *testing.T, addrs, topic string, readCommitted bool) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := kadm.NewClient(testClient(t, addrs))
	var ends kadm.ListedOffsets
	var err error
	if readCommitted {
		ends, err = adm.ListCommittedOffsets(ctx, topic)
	} else {
		ends, err = adm.ListEndOffsets(ctx, topic)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{}
	parts := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
			parts[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	if len(want) == 0 {
		return nil
	}
	opts := []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}), kgo.KeepControlRecords()}
	if readCommitted {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl := testClient(t, addrs, opts...)
	var out []*kgo.Record
	next := map[int32]int64{}
	for {
		doneAll := true
		for p, end := range want {
			if next[p] < end {
				doneAll = false
			}
		}
		if doneAll {
			return out
		}
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consuming %s: %v (at %v, want %v)", topic, err, next, want)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("consuming %s: %v", topic, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= want[r.Partition] {
				return
			}
			next[r.Partition] = r.Offset + 1
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
}

// recordRows decodes JSON test rows from records' values.
func recordRows(t *testing.T, recs []*kgo.Record) []row {
	t.Helper()
	src, err := newSplitSource(tableInfo("check", map[string]string{"topic": "x", "properties.bootstrap.servers": "x:1", "format": "json"}), false)
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

// decodeByPartition decodes records with r, a partition at a time (the
// reader skips offsets it has passed within a split).
func decodeByPartition(t *testing.T, r *reader, recs []*kgo.Record) []row {
	t.Helper()
	byPart := map[int32][]*kgo.Record{}
	for _, rec := range recs {
		byPart[rec.Partition] = append(byPart[rec.Partition], rec)
	}
	var out []row
	for _, prs := range byPart {
		h := &heldSplit{st: splitState{Topic: "x", Stop: noStop}, pending: prs}
		b, err := r.decode(context.Background(), "x-0", h)
		if err != nil {
			t.Fatal(err)
		}
		if b.Batch.Record != nil {
			out = append(out, rowsOf(t, b.Batch)...)
			b.Batch.Release()
		}
	}
	return out
}

// batchOf builds a batch of rows (with their kinds) of the test schema.
func batchOf(rows []row) stream.Batch {
	mem := memory.DefaultAllocator
	ib := array.NewInt64Builder(mem)
	sb := array.NewStringBuilder(mem)
	fb := array.NewFloat64Builder(mem)
	kinds := make([]stream.RowKind, len(rows))
	for i, r := range rows {
		ib.Append(r.id)
		if r.null {
			sb.AppendNull()
			fb.AppendNull()
		} else {
			sb.Append(r.name)
			fb.Append(r.amount)
		}
		kinds[i] = r.kind
	}
	cols := []arrow.Array{ib.NewArray(), sb.NewArray(), fb.NewArray()}
	rec := array.NewRecordBatch(testSchema.Arrow(), cols, int64(len(rows)))
	for _, c := range cols {
		c.Release()
	}
	return stream.Batch{Record: rec, Kinds: kinds}
}
