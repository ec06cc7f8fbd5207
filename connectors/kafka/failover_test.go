package kafka

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/connectors"
)

// pipe is a job copying a Kafka table into an exactly-once Kafka table,
// checkpointing as the runtime does: the readers' splits and the sink's
// committable are taken between two reads.
type pipe struct {
	t    *testing.T
	src  connectors.SplitSource
	sink connectors.Sink
	j    *job
	w    connectors.Writer
	// copied counts the rows copied since the checkpoint restored.
	copied int
	ckpt   int64
	last   *completed
}

// completed is a completed checkpoint.
type completed struct {
	cp           *checkpoint
	committables [][]byte
	copied       int // rows copied up to it
}

func startPipe(t *testing.T, src connectors.SplitSource, sinkInfo connectors.TableInfo, readers int, from *completed) *pipe {
	t.Helper()
	p := &pipe{t: t, src: src, last: from}
	var err error
	if p.sink, err = New().NewSink(sinkInfo); err != nil {
		t.Fatal(err)
	}
	var cp *checkpoint
	if from != nil {
		if err := p.sink.(connectors.RecoverableSink).Recover(context.Background(), from.committables); err != nil {
			t.Fatal(err)
		}
		cp, p.copied = from.cp, from.copied
	} else {
		p.last = &completed{}
	}
	p.j = startJob(t, src, readers, cp, nil)
	p.w = openWriter(t, p.sink, 0, 1, true)
	return p
}

// step reads once from every reader and writes what came.
func (p *pipe) step() {
	p.t.Helper()
	ctx := context.Background()
	for _, r := range p.j.readers {
		b, err := r.Next(ctx)
		if err != nil {
			p.t.Fatal(err)
		}
		if b.Batch.Record == nil {
			continue
		}
		if err := p.w.Write(ctx, b.Batch); err != nil {
			p.t.Fatal(err)
		}
		p.copied += b.Batch.NumRows()
		b.Batch.Release()
	}
}

// checkpoint takes a checkpoint; with complete, it completes (commits).
func (p *pipe) checkpoint(complete bool) {
	p.t.Helper()
	p.ckpt++
	cp := p.j.snapshot()
	c, err := p.w.(connectors.TwoPhaseWriter).Prepare(context.Background(), p.ckpt)
	if err != nil {
		p.t.Fatal(err)
	}
	if !complete {
		return
	}
	if err := p.w.(connectors.TwoPhaseWriter).Commit(context.Background(), p.ckpt, c); err != nil {
		p.t.Fatal(err)
	}
	p.last = &completed{cp: cp, committables: [][]byte{c}, copied: p.copied}
}

// A broker leaves the cluster and comes back, and the job fails once
// between a checkpoint's Prepare and its completion, while records keep
// arriving: a read_committed reader of the output sees every input row
// exactly once.
func TestBrokerRestartExactlyOnce(t *testing.T) {
	rng := newTestRNG(t)
	parts := int32(2 + rng.IntN(4))
	c, addrs := testCluster(t, 3, parts, "in", "out")
	prod := manualProducer(t, addrs, kgo.RetryTimeout(30*time.Second))
	var mu sync.Mutex
	var want []row
	next := int64(0)
	bg := newTestRNG(t) // the background writer's own
	write := func(rng *rand.Rand, n int) error {
		var recs []*kgo.Record
		var rows []row
		for range n {
			r := randomRow(rng, next)
			next++
			rows = append(rows, r)
			recs = append(recs, &kgo.Record{Topic: "in", Partition: int32(r.id) % parts, Value: r.json()})
		}
		if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			return err
		}
		mu.Lock()
		want = append(want, rows...)
		mu.Unlock()
		return nil
	}
	if err := write(rng, 100+rng.IntN(200)); err != nil {
		t.Fatal(err)
	}
	src := mustSource(t, tableInfo("in", map[string]string{"topic": "in", "properties.bootstrap.servers": addrs,
		"format": "json", "scan.startup.mode": "earliest-offset"}))
	sinkInfo := tableInfo("out", map[string]string{"topic": "out", "properties.bootstrap.servers": addrs,
		"format": "json", "sink.delivery-guarantee": "exactly-once", "sink.transactional-id-prefix": "failover"})
	p := startPipe(t, src, sinkInfo, 2, nil)

	// Records keep arriving in the background.
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			case <-time.After(5 * time.Millisecond):
			}
			if err := write(bg, 1+bg.IntN(10)); err != nil {
				done <- err
				return
			}
		}
	}()
	run := func(steps int) {
		for i := range steps {
			p.step()
			if i%7 == 6 {
				p.checkpoint(true)
			}
		}
	}
	run(20)
	// The leader of partition 0 leaves; the others take over.
	leader := c.LeaderFor("in", 0)
	if err := c.RemoveNode(leader); err != nil {
		t.Fatal(err)
	}
	run(30)
	// The job fails after a prepare that never completes, with rows
	// written after it, and restarts from the last completed checkpoint
	// at another parallelism.
	p.checkpoint(false)
	run(3)
	crash(p.w)
	p.j.close()
	p = startPipe(t, src, sinkInfo, 1+rng.IntN(3), p.last)
	run(10)
	// The broker comes back.
	if _, _, err := c.AddNode(leader, 0); err != nil {
		t.Fatal(err)
	}
	c.ShufflePartitionLeaders()
	run(20)
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("producing during the test: %v", err)
	}
	mu.Lock()
	total := len(want)
	mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for p.copied < total {
		if time.Now().After(deadline) {
			t.Fatalf("copied %d of %d rows", p.copied, total)
		}
		run(10)
	}
	p.checkpoint(true)
	if err := p.w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.j.close()
	sameRows(t, "output after broker restart and failover", recordRows(t, consumeAll(t, addrs, "out", true)), want)
}
