package netexchange

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"

	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// TestRandomExchange runs several edges whose producers and consumers are
// spread over three processes (local and remote channels, random
// capacities, random Block/Unblock on the consumers) and checks every
// channel delivers exactly its messages in order.
func TestRandomExchange(t *testing.T) {
	defer goleak.VerifyNone(t)
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runRandomExchange(t, seed) })
	}
}

func runRandomExchange(t *testing.T, seed uint64) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := testCtx(t)
	r := rand.New(rand.NewPCG(seed, 99))
	const nproc = 3
	procs := make([]*proc, nproc)
	for i := range procs {
		procs[i] = startProc(t, 5*time.Second)
		defer procs[i].stop()
	}
	type edge struct{ producers, consumers int }
	edges := []edge{{1 + r.IntN(3), 1 + r.IntN(3)}, {1 + r.IntN(3), 1 + r.IntN(3)}, {1 + r.IntN(2), 1}}
	consumerProc := func(e, c int) int { return (c + e) % nproc }
	producerProc := func(e, p int) int { return (2*p + e + 1) % nproc }
	placement := func(id exchange.ChannelID) string { return procs[consumerProc(id.Edge, id.To)].addr }
	capacity := 1 + r.IntN(4)
	trs := make([]*Transport, nproc)
	for i, p := range procs {
		trs[i] = p.transport(t, "job-r", 3, capacity, mem, placement)
		defer trs[i].Close()
	}
	t.Logf("edges %v, capacity %d", edges, capacity)

	// Gates first.
	type consumer struct {
		ids  []exchange.ChannelID
		gate exchange.Gate
		got  [][]string
	}
	var consumers []*consumer
	for e, ed := range edges {
		for c := 0; c < ed.consumers; c++ {
			cs := &consumer{}
			for p := 0; p < ed.producers; p++ {
				cs.ids = append(cs.ids, exchange.ChannelID{Edge: e, From: p, To: c})
			}
			r.Shuffle(len(cs.ids), func(i, j int) { cs.ids[i], cs.ids[j] = cs.ids[j], cs.ids[i] })
			g, err := trs[consumerProc(e, c)].Gate(cs.ids)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			cs.gate, cs.got = g, make([][]string, len(cs.ids))
			consumers = append(consumers, cs)
		}
	}
	// Then the producers.
	type producer struct {
		senders map[exchange.ChannelID]exchange.Sender
		want    map[exchange.ChannelID][]string
		seed    uint64
	}
	var producers []*producer
	for e, ed := range edges {
		for p := 0; p < ed.producers; p++ {
			pr := &producer{senders: map[exchange.ChannelID]exchange.Sender{}, want: map[exchange.ChannelID][]string{}, seed: r.Uint64()}
			for c := 0; c < ed.consumers; c++ {
				id := exchange.ChannelID{Edge: e, From: p, To: c}
				s, err := trs[producerProc(e, p)].Sender(id)
				if err != nil {
					t.Fatal(err)
				}
				pr.senders[id] = s
			}
			producers = append(producers, pr)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(producers)+len(consumers))
	for _, pr := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(pr.seed, 1))
			left := map[exchange.ChannelID]int{}
			var open []exchange.ChannelID
			for id := range pr.senders {
				left[id] = r.IntN(40)
				open = append(open, id)
			}
			for len(open) > 0 {
				k := r.IntN(len(open))
				id := open[k]
				m := stream.Message{Kind: stream.End}
				if left[id] > 0 {
					m = randomMessage(r, mem)
					left[id]--
				} else {
					open = append(open[:k], open[k+1:]...)
				}
				pr.want[id] = append(pr.want[id], describe(m)...)
				if err := pr.senders[id].Send(ctx, m); err != nil {
					errs <- fmt.Errorf("send %s: %w", id, err)
					return
				}
			}
		}()
	}
	for ci, cs := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(ci)))
			ended := 0
			blocked := map[int]bool{}
			for ended < len(cs.ids) {
				if len(blocked) < len(cs.ids)-ended && r.IntN(10) == 0 {
					ch := r.IntN(len(cs.ids))
					cs.gate.Block(ch)
					blocked[ch] = true
				}
				nctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
				ch, m, err := cs.gate.Next(nctx)
				cancel()
				if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
					for b := range blocked {
						cs.gate.Unblock(b)
						delete(blocked, b)
					}
					continue
				}
				if err != nil {
					errs <- fmt.Errorf("next: %w", err)
					return
				}
				if blocked[ch] {
					errs <- fmt.Errorf("channel %d is blocked but delivered", ch)
				}
				cs.got[ch] = append(cs.got[ch], describe(m)...)
				m.Batch.Release()
				if m.Kind == stream.End {
					ended++
				}
				if r.IntN(4) == 0 && len(blocked) > 0 {
					for b := range blocked {
						cs.gate.Unblock(b)
						delete(blocked, b)
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := map[exchange.ChannelID][]string{}
	for _, pr := range producers {
		for id, w := range pr.want {
			want[id] = w
		}
	}
	n := 0
	for _, cs := range consumers {
		for i, id := range cs.ids {
			equalLines(t, id.String(), cs.got[i], want[id])
			n += len(cs.got[i])
		}
	}
	t.Logf("%d channels, %d lines", len(want), n)
}

// TestBackPressure checks that a consumer that stops calling Next stops its
// remote producer after exactly `capacity` frames, that a blocked channel
// (alignment) does the same, and that nothing is lost when it resumes.
func TestBackPressure(t *testing.T) {
	defer goleak.VerifyNone(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := testCtx(t)
	a, b := startProc(t, time.Second), startProc(t, time.Second)
	defer a.stop()
	defer b.stop()
	const capacity = 3
	placement := func(exchange.ChannelID) string { return b.addr }
	ta := a.transport(t, "job-bp", 1, capacity, mem, placement)
	defer ta.Close()
	tb := b.transport(t, "job-bp", 1, capacity, mem, placement)
	defer tb.Close()
	ids := []exchange.ChannelID{{Edge: 0, From: 0, To: 0}, {Edge: 0, From: 1, To: 0}}
	g, err := tb.Gate(ids)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	const total = 25
	r := rand.New(rand.NewPCG(5, 6))
	var sent [2]atomic.Int64
	want := make([][]string, 2)
	var wg sync.WaitGroup
	for i, id := range ids {
		s, err := ta.Sender(id)
		if err != nil {
			t.Fatal(err)
		}
		msgs := make([]stream.Message, total)
		for k := range msgs {
			msgs[k] = stream.Message{Kind: stream.End}
			if k < total-1 {
				msgs[k] = randomMessage(r, mem)
			}
			want[i] = append(want[i], describe(msgs[k])...)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k, m := range msgs {
				if err := s.Send(ctx, m); err != nil {
					t.Errorf("send: %v", err)
					for _, m := range msgs[k+1:] {
						m.Batch.Release()
					}
					return
				}
				sent[i].Add(1)
			}
		}()
	}
	// Nobody reads: each producer stops after exactly capacity frames.
	stalled := func() bool { return sent[0].Load() == capacity && sent[1].Load() == capacity }
	if !waitFor(5*time.Second, stalled) {
		t.Fatalf("producers sent %d and %d, want %d each", sent[0].Load(), sent[1].Load(), capacity)
	}
	time.Sleep(200 * time.Millisecond)
	if !stalled() {
		t.Fatalf("producers went on to %d and %d without credit", sent[0].Load(), sent[1].Load())
	}
	// Alignment: channel 0 blocked, only channel 1 flows, and channel 0's
	// producer stays stalled.
	g.Block(0)
	got := make([][]string, 2)
	for k := 0; k < total; k++ {
		ch, m, err := g.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ch != 1 {
			t.Fatalf("blocked channel %d delivered", ch)
		}
		got[ch] = append(got[ch], describe(m)...)
		m.Batch.Release()
	}
	time.Sleep(100 * time.Millisecond)
	if n := sent[0].Load(); n != capacity {
		t.Fatalf("blocked channel's producer sent %d, want %d", n, capacity)
	}
	nctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if _, _, err := g.Next(nctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next on a blocked channel: %v", err)
	}
	cancel()
	g.Unblock(0)
	for k := 0; k < total; k++ {
		ch, m, err := g.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got[ch] = append(got[ch], describe(m)...)
		m.Batch.Release()
	}
	wg.Wait()
	equalLines(t, "channel 0", got[0], want[0])
	equalLines(t, "channel 1", got[1], want[1])
}

// TestSendHonoursContext checks that a producer blocked for credit returns
// ctx's error and releases the batch.
func TestSendHonoursContext(t *testing.T) {
	defer goleak.VerifyNone(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := testCtx(t)
	a, b := startProc(t, time.Second), startProc(t, time.Second)
	defer a.stop()
	defer b.stop()
	placement := func(exchange.ChannelID) string { return b.addr }
	ta := a.transport(t, "job-ctx", 1, 1, mem, placement)
	defer ta.Close()
	tb := b.transport(t, "job-ctx", 1, 1, mem, placement)
	defer tb.Close()
	id := exchange.ChannelID{Edge: 2, From: 1, To: 0}
	g, err := tb.Gate([]exchange.ChannelID{id})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s, err := ta.Sender(id)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	if err := s.Send(ctx, stream.DataMessage(stream.Batch{Record: randomRecord(r, mem, 5, false)})); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := s.Send(sctx, stream.DataMessage(stream.Batch{Record: randomRecord(r, mem, 5, false)})); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send without credit: %v", err)
	}
}

// TestMixedGate feeds one gate from two local and two remote producers.
func TestMixedGate(t *testing.T) {
	defer goleak.VerifyNone(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := testCtx(t)
	a, b := startProc(t, time.Second), startProc(t, time.Second)
	defer a.stop()
	defer b.stop()
	placement := func(exchange.ChannelID) string { return b.addr }
	ta := a.transport(t, "job-mix", 1, 2, mem, placement)
	defer ta.Close()
	tb := b.transport(t, "job-mix", 1, 2, mem, placement)
	defer tb.Close()
	ids := []exchange.ChannelID{{Edge: 1, From: 0, To: 0}, {Edge: 1, From: 1, To: 0}, {Edge: 1, From: 2, To: 0}, {Edge: 1, From: 3, To: 0}}
	g, err := tb.Gate(ids)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	want := make([][]string, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		tr := ta // producers 0 and 2 remote, 1 and 3 local to the consumer
		if i%2 == 1 {
			tr = tb
		}
		s, err := tr.Sender(id)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(uint64(i), 11))
		msgs := make([]stream.Message, 30)
		for k := range msgs {
			msgs[k] = stream.Message{Kind: stream.End}
			if k < len(msgs)-1 {
				msgs[k] = randomMessage(r, mem)
			}
			want[i] = append(want[i], describe(msgs[k])...)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k, m := range msgs {
				if err := s.Send(ctx, m); err != nil {
					t.Errorf("send %s: %v", id, err)
					for _, m := range msgs[k+1:] {
						m.Batch.Release()
					}
					return
				}
			}
		}()
	}
	if _, err := tb.Sender(ids[1]); err == nil || !strings.Contains(err.Error(), "two senders") {
		t.Errorf("second local sender: %v", err)
	}
	got := make([][]string, len(ids))
	for ended := 0; ended < len(ids); {
		ch, m, err := g.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got[ch] = append(got[ch], describe(m)...)
		if m.Kind == stream.End {
			ended++
		}
		m.Batch.Release()
	}
	wg.Wait()
	for i, id := range ids {
		equalLines(t, id.String(), got[i], want[i])
	}
}
