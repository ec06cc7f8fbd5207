package kafka

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/connectors"
)

func newTestRNG(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func mustSource(t *testing.T, info connectors.TableInfo) connectors.SplitSource {
	t.Helper()
	f := New()
	if err := f.ValidateTable(info); err != nil {
		t.Fatal(err)
	}
	src, err := f.NewSplitSource(info)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// A bounded read, snapshotted in the middle and restored onto another
// number of readers, returns every record produced before the job started
// exactly once, and nothing a producer writes after the start.
func TestSourceBoundedRestoreExactlyOnce(t *testing.T) {
	rng := newTestRNG(t)
	for round := range 3 {
		parts := int32(1 + rng.IntN(6))
		topic := "orders" + strconv.Itoa(round)
		_, addrs := testCluster(t, 1, parts, topic)
		prod := manualProducer(t, addrs)
		n := rng.IntN(400)
		var want []row
		for i := range n {
			want = append(want, randomRow(rng, int64(i)))
		}
		produce(t, prod, topic, want, func(row) int32 { return rng.Int32N(parts) }, rng)

		info := tableInfo("orders", map[string]string{"topic": topic, "properties.bootstrap.servers": addrs,
			"format": "json", "scan.startup.mode": "earliest-offset", "scan.bounded.mode": "latest-offset"})
		src := mustSource(t, info)
		if !src.Bounded() {
			t.Fatal("a latest-offset bounded source says it is unbounded")
		}
		j := startJob(t, src, 1+rng.IntN(4), nil, nil)

		// A producer keeps writing after the job started.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := int64(1 << 40)
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := row{id: id, name: "late"}
				id++
				if err := prod.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Partition: int32(id) % parts, Value: r.json()}).FirstErr(); err != nil {
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()

		// Read some, then checkpoint and restore at another parallelism.
		for range rng.IntN(10) {
			if _, err := j.step(); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.discover(); err != nil {
			t.Fatal(err)
		}
		if !j.done {
			t.Fatal("a bounded enumerator is not done after its first listing")
		}
		cp := j.snapshot()
		before := j.rows
		finishedBefore := len(j.finished)
		j.close()
		j2 := startJob(t, src, 1+rng.IntN(4), cp, nil)
		j2.rows = before
		j2.runUntil("every split to finish", func() bool { return len(j2.finished)+finishedBefore == int(parts) })
		// More calls return nothing.
		for range 3 {
			if got, err := j2.step(); err != nil || got != 0 {
				t.Fatalf("after the end: %d rows, %v", got, err)
			}
		}
		close(stop)
		wg.Wait()
		j2.close()
		for id, n := range j2.finished {
			if n != 1 {
				t.Fatalf("split %s reported finished %d times", id, n)
			}
		}
		sameRows(t, "bounded read", j2.rows, want)
	}
}

// An unbounded read with a restore in the middle, onto another number of
// readers, while records keep coming: every record exactly once.
func TestSourceUnboundedRestoreExactlyOnce(t *testing.T) {
	rng := newTestRNG(t)
	parts := int32(2 + rng.IntN(5))
	_, addrs := testCluster(t, 1, parts, "events")
	prod := manualProducer(t, addrs)
	var want []row
	next := int64(0)
	more := func(n int) {
		var rows []row
		for range n {
			rows = append(rows, randomRow(rng, next))
			next++
		}
		produce(t, prod, "events", rows, func(r row) int32 { return int32(r.id*7919) % parts }, rng)
		want = append(want, rows...)
	}
	more(rng.IntN(300))
	info := tableInfo("events", map[string]string{"topic": "events", "properties.bootstrap.servers": addrs,
		"format": "json", "scan.startup.mode": "earliest-offset"})
	src := mustSource(t, info)
	j := startJob(t, src, 1+rng.IntN(3), nil, nil)
	more(rng.IntN(300))
	target := rng.IntN(len(want) + 1)
	j.runUntil("some rows", func() bool { return len(j.rows) >= target })
	cp := j.snapshot()
	rows := j.rows
	j.close()
	more(rng.IntN(300))
	j2 := startJob(t, src, 1+rng.IntN(4), cp, nil)
	j2.rows = rows
	j2.runUntil("every row", func() bool { return len(j2.rows) >= len(want) })
	for range 5 { // nothing more arrives
		if _, err := j2.step(); err != nil {
			t.Fatal(err)
		}
	}
	j2.close()
	sameRows(t, "unbounded read", j2.rows, want)
	if len(j2.finished) != 0 {
		t.Fatalf("unbounded splits finished: %v", j2.finished)
	}
}

// Each startup mode starts where Flink's does.
func TestSourceStartupModes(t *testing.T) {
	rng := newTestRNG(t)
	const parts = 3
	_, addrs := testCluster(t, 1, parts, "t")
	prod := manualProducer(t, addrs)
	ctx := context.Background()
	// Phase A: records with timestamps 1000 + id.
	var a []row
	for i := range 60 + rng.IntN(60) {
		a = append(a, randomRow(rng, int64(i)))
	}
	part := func(r row) int32 { return int32(r.id % parts) }
	for _, r := range a {
		rec := &kgo.Record{Topic: "t", Partition: part(r), Value: r.json(), Timestamp: time.UnixMilli(1000 + r.id)}
		if err := prod.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// The group committed a random offset on partitions 0 and 1, none on 2.
	adm := kadm.NewClient(testClient(t, addrs))
	perPart := map[int32][]row{}
	for _, r := range a {
		perPart[part(r)] = append(perPart[part(r)], r)
	}
	committed := map[int32]int{0: rng.IntN(len(perPart[0]) + 1), 1: rng.IntN(len(perPart[1]) + 1)}
	offs := kadm.Offsets{}
	for p, o := range committed {
		offs.Add(kadm.Offset{Topic: "t", Partition: p, At: int64(o), LeaderEpoch: -1})
	}
	if _, err := adm.CommitOffsets(ctx, "g1", offs); err != nil {
		t.Fatal(err)
	}
	tsMillis := 1000 + int64(rng.IntN(len(a)))

	cases := []struct {
		mode  map[string]string
		wantA func(r row) bool
	}{
		{map[string]string{"scan.startup.mode": "earliest-offset"}, func(row) bool { return true }},
		{map[string]string{"scan.startup.mode": "latest-offset"}, func(row) bool { return false }},
		{map[string]string{"scan.startup.mode": "timestamp", "scan.startup.timestamp-millis": strconv.FormatInt(tsMillis, 10)},
			func(r row) bool { return 1000+r.id >= tsMillis }},
		{map[string]string{"properties.group.id": "g1"}, func(r row) bool { // the default mode
			p := part(r)
			c, ok := committed[p]
			if !ok {
				return true
			}
			for i, x := range perPart[p] {
				if x.id == r.id {
					return i >= c
				}
			}
			return false
		}},
		{map[string]string{"scan.startup.mode": "group-offsets", "properties.group.id": "nobody"}, func(row) bool { return true }},
	}
	next := int64(10000)
	var prevB []row // phase B rows of the cases before: after every committed offset and timestamp
	for _, c := range cases {
		opts := map[string]string{"topic": "t", "properties.bootstrap.servers": addrs, "format": "json"}
		for k, v := range c.mode {
			opts[k] = v
		}
		src := mustSource(t, tableInfo("t", opts))
		j := startJob(t, src, 2, nil, nil)
		// Phase B, after the start: always read.
		var want []row
		for _, r := range a {
			if c.wantA(r) {
				want = append(want, r)
			}
		}
		if c.mode["scan.startup.mode"] != "latest-offset" {
			want = append(want, prevB...)
		}
		var b []row
		for range 1 + rng.IntN(30) {
			b = append(b, randomRow(rng, next))
			next++
		}
		produce(t, prod, "t", b, part, rng)
		want = append(want, b...)
		prevB = append(prevB, b...)
		j.runUntil("the rows", func() bool { return len(j.rows) >= len(want) })
		for range 5 {
			if _, err := j.step(); err != nil {
				t.Fatal(err)
			}
		}
		j.close()
		sameRows(t, "startup "+c.mode["scan.startup.mode"], j.rows, want)
	}
}

// Partitions added to a topic are discovered and read from their start.
func TestSourceDiscoversNewPartitions(t *testing.T) {
	rng := newTestRNG(t)
	_, addrs := testCluster(t, 1, 2, "grow")
	prod := manualProducer(t, addrs)
	var want []row
	id := int64(0)
	write := func(parts int32, n int) {
		var rows []row
		for range n {
			rows = append(rows, randomRow(rng, id))
			id++
		}
		produce(t, prod, "grow", rows, func(r row) int32 { return int32(r.id) % parts }, rng)
		want = append(want, rows...)
	}
	write(2, 20+rng.IntN(50))
	src := mustSource(t, tableInfo("grow", map[string]string{"topic": "grow", "properties.bootstrap.servers": addrs,
		"format": "json", "scan.startup.mode": "latest-offset", "scan.topic-partition-discovery.interval": "10ms"}))
	j := startJob(t, src, 3, nil, nil)
	want = nil // latest-offset: the records before the start are not read
	adm := kadm.NewClient(testClient(t, addrs))
	if _, err := adm.CreatePartitions(context.Background(), 2+rng.IntN(3), "grow"); err != nil {
		t.Fatal(err)
	}
	details, err := adm.ListTopics(context.Background(), "grow")
	if err != nil {
		t.Fatal(err)
	}
	parts := int32(len(details["grow"].Partitions))
	prod = manualProducer(t, addrs) // one that knows the new partitions
	write(parts, 50+rng.IntN(50))   // new partitions get records before they are found
	time.Sleep(20 * time.Millisecond)
	if err := j.discover(); err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, r := range j.readers {
		ss, _ := r.Snapshot()
		held += len(ss)
	}
	if held != int(parts) {
		t.Fatalf("readers hold %d splits after discovery, want %d", held, parts)
	}
	j.runUntil("every row", func() bool { return len(j.rows) >= len(want) })
	j.close()
	sameRows(t, "discovered partitions", j.rows, want)
}

// Bad records fail the read naming topic/partition/offset, or are skipped
// and handed to the policy's handler.
func TestSourceBadRecords(t *testing.T) {
	rng := newTestRNG(t)
	_, addrs := testCluster(t, 1, 2, "bad")
	prod := manualProducer(t, addrs)
	var want []row
	var badAt []string
	ctx := context.Background()
	for i := range 100 + rng.IntN(100) {
		p := rng.Int32N(2)
		var val []byte
		isBad := false
		switch rng.IntN(10) {
		case 0:
			val, isBad = []byte(`{"id": "not a number"}`), true
		case 1:
			val, isBad = []byte{0xff, '{', 0}, true
		case 2:
			val = nil // skipped silently (as Flink)
		default:
			r := randomRow(rng, int64(i))
			want = append(want, r)
			val = r.json()
		}
		res := prod.ProduceSync(ctx, &kgo.Record{Topic: "bad", Partition: p, Value: val})
		if err := res.FirstErr(); err != nil {
			t.Fatal(err)
		}
		if isBad {
			rec, _ := res.First()
			badAt = append(badAt, "bad/"+strconv.Itoa(int(rec.Partition))+"/"+strconv.FormatInt(rec.Offset, 10))
		}
	}
	opts := map[string]string{"topic": "bad", "properties.bootstrap.servers": addrs, "format": "json",
		"scan.startup.mode": "earliest-offset", "scan.bounded.mode": "latest-offset"}

	// fail: the first bad record's location is in the error.
	src := mustSource(t, tableInfo("bad", opts))
	j := startJob(t, src, 1, nil, nil)
	var err error
	for deadline := time.Now().Add(10 * time.Second); err == nil && time.Now().Before(deadline) && len(j.finished) < 2; {
		_, err = j.step()
	}
	j.close()
	if len(badAt) > 0 {
		if err == nil {
			t.Fatal("a bad record did not fail the read")
		}
		var br connectors.BadRecord
		if !errors.As(err, &br) {
			t.Fatalf("error %v is not a BadRecord", err)
		}
		found := false
		for _, loc := range badAt {
			found = found || br.Location == loc
		}
		if !found || !strings.Contains(err.Error(), br.Location) {
			t.Fatalf("error %q names %q, not one of the bad records %v", err, br.Location, badAt)
		}
	}

	// skip: every bad record reaches the handler once, the rest is read.
	h := &countingHandler{}
	opts["bad-records.policy"] = "skip"
	j = startJob(t, mustSource(t, tableInfo("bad", opts)), 2, nil, h)
	j.runUntil("the end", func() bool { return len(j.finished) == 2 })
	j.close()
	sameRows(t, "skip policy", j.rows, want)
	var locs []string
	for _, r := range h.recs {
		locs = append(locs, r.Location)
		if r.Reason == "" || r.Record == nil {
			t.Fatalf("bad record without reason or bytes: %+v", r)
		}
	}
	if strings.Join(sortStrings(locs), ",") != strings.Join(sortStrings(badAt), ",") {
		t.Fatalf("handler saw %v, want %v", locs, badAt)
	}

	// json.ignore-parse-errors skips without the handler.
	delete(opts, "bad-records.policy")
	opts["json.ignore-parse-errors"] = "true"
	j = startJob(t, mustSource(t, tableInfo("bad", opts)), 1, nil, nil)
	j.runUntil("the end", func() bool { return len(j.finished) == 2 })
	j.close()
	sameRows(t, "ignore-parse-errors", j.rows, want)
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for k := i + 1; k < len(out); k++ {
			if out[k] < out[i] {
				out[i], out[k] = out[k], out[i]
			}
		}
	}
	return out
}

// Under read_committed a bounded read skips aborted records and finishes
// even when a partition ends in transaction markers; an empty partition
// finishes at once.
func TestSourceReadCommittedBounded(t *testing.T) {
	rng := newTestRNG(t)
	_, addrs := testCluster(t, 1, 3, "tx")
	ctx := context.Background()
	txp := testClient(t, addrs, kgo.TransactionalID("test-writer"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var want []row
	id := int64(0)
	for range 2 + rng.IntN(4) {
		commit := rng.IntN(2) == 0
		if err := txp.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for range 1 + rng.IntN(20) {
			r := randomRow(rng, id)
			id++
			if err := txp.ProduceSync(ctx, &kgo.Record{Topic: "tx", Partition: rng.Int32N(2), Value: r.json()}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if commit {
				want = append(want, r)
			}
		}
		if err := txp.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	// Partition 2 stays empty.
	for _, level := range []string{"read_committed", "read_uncommitted"} {
		src := mustSource(t, tableInfo("tx", map[string]string{"topic": "tx", "properties.bootstrap.servers": addrs,
			"format": "json", "scan.startup.mode": "earliest-offset", "scan.bounded.mode": "latest-offset",
			"properties.isolation.level": level}))
		j := startJob(t, src, 2, nil, nil)
		j.runUntil("every split to finish", func() bool { return len(j.finished) == 3 })
		j.close()
		if level == "read_committed" {
			sameRows(t, level, j.rows, want)
		} else if len(j.rows) != int(id) {
			t.Fatalf("read_uncommitted read %d rows, want all %d", len(j.rows), id)
		}
	}
}

// Flink's assignment: the start reader comes from the topic's Java hash.
func TestAssignLikeFlink(t *testing.T) {
	// "orders".hashCode() == -1008770331 in Java.
	if h := javaStringHash("orders"); h != -1008770331 {
		t.Fatalf("hash of orders = %d", h)
	}
	rng := newTestRNG(t)
	for range 100 {
		p := 1 + rng.IntN(8)
		topic := strconv.Itoa(rng.Int())
		start := owner(topic, 0, p)
		for part := int32(0); part < 20; part++ {
			if got := owner(topic, part, p); got != (start+int(part))%p {
				t.Fatalf("partition %d of %s → reader %d", part, topic, got)
			}
		}
		var h int32
		for _, c := range topic {
			h = 31*h + c
		}
		if want := int((h*31)&0x7FFFFFFF) % p; start != want {
			t.Fatalf("start reader %d, want %d", start, want)
		}
	}
}
