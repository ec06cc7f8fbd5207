package netexchange

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// pair is a producer process a and a consumer process b sharing one job.
type pair struct {
	mem    *memory.CheckedAllocator
	a, b   *proc
	ta, tb *Transport
}

func newPair(t *testing.T, capacity int, gateWait time.Duration) *pair {
	p := &pair{mem: memory.NewCheckedAllocator(memory.NewGoAllocator())}
	p.a, p.b = startProc(t, gateWait), startProc(t, gateWait)
	placement := func(exchange.ChannelID) string { return p.b.addr }
	p.ta = p.a.transport(t, "job-f", 1, capacity, p.mem, placement)
	p.tb = p.b.transport(t, "job-f", 1, capacity, p.mem, placement)
	return p
}

// close tears everything down and checks memory.
func (p *pair) close(t *testing.T) {
	_ = p.ta.Close()
	_ = p.tb.Close()
	p.a.stop()
	p.b.stop()
	p.mem.AssertSize(t, 0)
}

func (p *pair) batch(r *rand.Rand) stream.Message {
	return stream.DataMessage(stream.Batch{Record: randomRecord(r, p.mem, 1+r.IntN(20), false)})
}

var chanID = exchange.ChannelID{Edge: 4, From: 2, To: 1}

// TestProducerDies: the producer's transport closes mid-stream (as when its
// process dies): the consumer's Next fails naming the channel and the
// producer, and Close releases what was queued.
func TestProducerDies(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := newPair(t, 4, time.Second)
	defer p.close(t)
	ctx := testCtx(t)
	g, err := p.tb.Gate([]exchange.ChannelID{chanID})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.ta.Sender(chanID)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 3; i++ {
		if err := s.Send(ctx, p.batch(r)); err != nil {
			t.Fatal(err)
		}
	}
	_, m, err := g.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Batch.Release()
	if err := p.ta.Close(); err != nil {
		t.Fatal(err)
	}
	var nerr error
	for nerr == nil { // queued messages may come first
		_, m, nerr = g.Next(ctx)
		m.Batch.Release()
	}
	if !strings.Contains(nerr.Error(), chanID.String()) || !strings.Contains(nerr.Error(), p.a.addr) || errors.Is(nerr, exchange.ErrClosed) {
		t.Fatalf("Next after the producer died: %v", nerr)
	}
	t.Logf("consumer: %v", nerr)
	if err := s.Send(ctx, p.batch(r)); err == nil {
		t.Fatal("Send on a closed transport succeeded")
	}
	g.Close()
}

// TestConsumerDies: the consumer's gRPC server stops (its process died)
// while the producer is blocked for credit and while it sends: Send fails
// naming the channel and the consumer, without hanging.
func TestConsumerDies(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := newPair(t, 2, time.Second)
	defer p.close(t)
	ctx := testCtx(t)
	g, err := p.tb.Gate([]exchange.ChannelID{chanID})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s, err := p.ta.Sender(chanID)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2, 2))
	done := make(chan error, 1)
	go func() {
		for {
			if err := s.Send(ctx, p.batch(r)); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond) // blocked for credit by now
	p.b.gs.Stop()
	select {
	case err := <-done:
		if !strings.Contains(err.Error(), chanID.String()) || !strings.Contains(err.Error(), p.b.addr) || errors.Is(err, exchange.ErrClosed) {
			t.Fatalf("Send after the consumer died: %v", err)
		}
		t.Logf("producer: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Send hangs after the consumer died")
	}
}

// TestGateClosed: closing the consumer's gate (job teardown) makes the
// remote producer's Send fail with exchange.ErrClosed.
func TestGateClosed(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := newPair(t, 2, time.Second)
	defer p.close(t)
	ctx := testCtx(t)
	g, err := p.tb.Gate([]exchange.ChannelID{chanID})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.ta.Sender(chanID)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 3))
	if err := s.Send(ctx, p.batch(r)); err != nil {
		t.Fatal(err)
	}
	g.Close()
	var serr error
	for i := 0; i < 10 && serr == nil; i++ {
		serr = s.Send(ctx, p.batch(r))
	}
	if !errors.Is(serr, exchange.ErrClosed) {
		t.Fatalf("Send to a closed gate: %v", serr)
	}
}

// TestAttempts: a stream of an older attempt is refused at once; one of an
// attempt not deployed here fails after the gate wait; a gate deployed
// during the wait is found (deployment race).
func TestAttempts(t *testing.T) {
	defer goleak.VerifyNone(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := testCtx(t)
	const wait = 300 * time.Millisecond
	a, b := startProc(t, wait), startProc(t, wait)
	defer a.stop()
	defer b.stop()
	placement := func(exchange.ChannelID) string { return b.addr }
	r := rand.New(rand.NewPCG(4, 4))
	batch := func() stream.Message {
		return stream.DataMessage(stream.Batch{Record: randomRecord(r, mem, 3, false)})
	}
	tb := b.transport(t, "job-a", 2, 2, mem, placement)
	defer tb.Close()
	if _, err := tb.Gate([]exchange.ChannelID{chanID}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(b.srv, Config{Job: "job-a", Attempt: 2, Self: b.addr, Placement: placement}); err == nil {
		t.Fatal("two transports for one attempt")
	}

	old := a.transport(t, "job-a", 1, 2, mem, placement)
	s, _ := old.Sender(chanID)
	start := time.Now()
	err := s.Send(ctx, batch())
	if err == nil || !strings.Contains(err.Error(), "stale") || time.Since(start) > wait {
		t.Fatalf("old attempt: %v after %s", err, time.Since(start))
	}
	t.Logf("old attempt: %v", err)
	_ = old.Close()

	newer := a.transport(t, "job-a", 3, 2, mem, placement)
	s, _ = newer.Sender(chanID)
	start = time.Now()
	err = s.Send(ctx, batch())
	if err == nil || !strings.Contains(err.Error(), "not deployed") || time.Since(start) < wait {
		t.Fatalf("undeployed attempt: %v after %s", err, time.Since(start))
	}
	t.Logf("undeployed attempt: %v", err)

	// Attempt 3 arrives on b while a stream waits for it.
	s2, _ := newer.Sender(exchange.ChannelID{Edge: 9, From: 0, To: 0})
	sent := make(chan error, 1)
	go func() { sent <- s2.Send(ctx, batch()) }()
	time.Sleep(wait / 3)
	tb3 := b.transport(t, "job-a", 3, 2, mem, placement)
	defer tb3.Close()
	time.Sleep(wait / 3)
	g, err := tb3.Gate([]exchange.ChannelID{{Edge: 9, From: 0, To: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("deployment race: %v", err)
	}
	_, m, err := g.Next(ctx)
	if err != nil || m.Kind != stream.Data {
		t.Fatalf("deployment race: %v %v", m.Kind, err)
	}
	m.Batch.Release()
	_ = newer.Close()

	// The superseded attempt 2 is refused now too.
	tr2 := a.transport(t, "job-a", 2, 2, mem, placement)
	s, _ = tr2.Sender(chanID)
	if err := s.Send(ctx, batch()); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("superseded attempt: %v", err)
	}
	_ = tr2.Close()
}

// TestBadOptions checks construction errors.
func TestBadOptions(t *testing.T) {
	srv := NewServer(ServerConfig{})
	place := func(exchange.ChannelID) string { return "x:1" }
	for name, cfg := range map[string]Config{
		"no job":       {Self: "x:1", Placement: place},
		"no self":      {Job: "j", Placement: place},
		"no placement": {Job: "j", Self: "x:1"},
		"capacity":     {Job: "j", Self: "x:1", Placement: place, Capacity: -1},
	} {
		if _, err := New(srv, cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	tr, err := New(srv, Config{Job: "j", Self: "x:1", DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, Placement: func(id exchange.ChannelID) string {
		if id.To == 0 {
			return "x:1"
		}
		return "y:2"
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Gate([]exchange.ChannelID{{To: 1}}); err == nil {
		t.Error("gate for a channel consumed elsewhere")
	}
	if _, err := tr.Gate([]exchange.ChannelID{{To: 0}, {To: 0}}); err == nil {
		t.Error("gate with a channel twice")
	}
	if _, err := tr.Sender(exchange.ChannelID{From: 5}); err == nil {
		t.Error("local sender without gate")
	}
	if _, err := tr.Sender(exchange.ChannelID{To: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Sender(exchange.ChannelID{To: 1}); err == nil {
		t.Error("two remote senders")
	}
	// Without transport credentials dialing fails clearly.
	tr2, err := New(srv, Config{Job: "k", Self: "x:1", Placement: func(exchange.ChannelID) string { return "y:2" }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	if _, err := tr2.Sender(exchange.ChannelID{}); err == nil {
		t.Error("dialing without transport credentials")
	} else {
		t.Log(err)
	}
}

// TestLargeBatch sends a record batch larger than gRPC's default 4 MiB
// message limit (the servers use ServerOptions).
func TestLargeBatch(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := newPair(t, 2, time.Second)
	defer p.close(t)
	ctx := testCtx(t)
	g, err := p.tb.Gate([]exchange.ChannelID{chanID})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s, err := p.ta.Sender(chanID)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	m := stream.DataMessage(stream.Batch{Record: randomRecord(r, p.mem, 200_000, false)})
	want := describe(m)
	if err := s.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	_, got, err := g.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, "large batch", describe(got), want)
	got.Batch.Release()
}
