package exchange

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"

	"github.com/eddy-streaming/eddy/engine/stream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// intBatch returns a one-column batch holding vals.
func intBatch(mem memory.Allocator, vals ...int64) stream.Batch {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, nil)
	arr := b.NewArray()
	defer arr.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	return stream.Batch{Record: array.NewRecordBatch(schema, []arrow.Array{arr}, int64(len(vals)))}
}

func firstValue(b stream.Batch) int64 { return b.Record.Column(0).(*array.Int64).Value(0) }

func newLocal(t *testing.T, capacity int, ids []ChannelID) (Gate, []Sender) {
	t.Helper()
	l, err := NewLocal(capacity)
	if err != nil {
		t.Fatal(err)
	}
	g, err := l.Gate(ids)
	if err != nil {
		t.Fatal(err)
	}
	senders := make([]Sender, len(ids))
	for i, id := range ids {
		if senders[i], err = l.Sender(id); err != nil {
			t.Fatal(err)
		}
	}
	return g, senders
}

func TestLocalWiringErrors(t *testing.T) {
	if _, err := NewLocal(0); err == nil {
		t.Fatal("capacity 0 accepted")
	}
	l, _ := NewLocal(1)
	id := ChannelID{Edge: 0, From: 1, To: 2}
	if _, err := l.Sender(id); err == nil {
		t.Fatal("sender without gate accepted")
	}
	if _, err := l.Gate([]ChannelID{id}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Gate([]ChannelID{id}); err == nil {
		t.Fatal("second gate on one channel accepted")
	}
	if _, err := l.Sender(id); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sender(id); err == nil {
		t.Fatal("second sender on one channel accepted")
	}
}

// TestLocalBackpressure checks that a full channel blocks its producer: a
// Send that would have to wait fails once its context is done.
func TestLocalBackpressure(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	g, s := newLocal(t, 2, []ChannelID{{0, 0, 0}})
	defer g.Close()
	ctx := context.Background()
	for i := range 2 {
		if err := s[0].Send(ctx, stream.DataMessage(intBatch(mem, int64(i)))); err != nil {
			t.Fatal(err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s[0].Send(cancelled, stream.DataMessage(intBatch(mem, 2))); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send to a full channel returned %v, want context.Canceled", err)
	}
	// Taking one message makes room for exactly one more.
	_, m, err := g.Next(ctx)
	if err != nil || firstValue(m.Batch) != 0 {
		t.Fatalf("Next: %v", err)
	}
	m.Batch.Release()
	if err := s[0].Send(cancelled, stream.DataMessage(intBatch(mem, 3))); err != nil {
		t.Fatalf("Send after room was made: %v", err)
	}
	if err := s[0].Send(cancelled, stream.DataMessage(intBatch(mem, 4))); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send to a full channel returned %v", err)
	}
	// A blocked Send wakes when the consumer takes a message.
	done := make(chan error)
	go func() { done <- s[0].Send(ctx, stream.DataMessage(intBatch(mem, 5))) }()
	_, m, _ = g.Next(ctx)
	m.Batch.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Close releases what is queued (1 and 3... here 3 and 5).
}

func TestLocalCloseReleasesAndWakes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	g, s := newLocal(t, 1, []ChannelID{{0, 0, 0}, {0, 1, 0}})
	ctx := context.Background()
	if err := s[0].Send(ctx, stream.DataMessage(intBatch(mem, 1))); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s[0].Send(ctx, stream.DataMessage(intBatch(mem, 2))) }()
	g.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Send after Close returned %v, want ErrClosed", err)
	}
	if err := s[1].Send(ctx, stream.DataMessage(intBatch(mem, 3))); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close returned %v", err)
	}
	g.Close() // idempotent
	if _, _, err := g.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close returned %v", err)
	}
}

func TestLocalNextCancelled(t *testing.T) {
	g, _ := newLocal(t, 1, []ChannelID{{0, 0, 0}})
	defer g.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, _, err := g.Next(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Next returned %v", err)
	}
}

func TestLocalBlock(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	g, s := newLocal(t, 4, []ChannelID{{0, 0, 0}, {0, 1, 0}})
	defer g.Close()
	ctx := context.Background()
	for i := range 3 {
		_ = s[0].Send(ctx, stream.DataMessage(intBatch(mem, int64(i))))
		_ = s[1].Send(ctx, stream.DataMessage(intBatch(mem, int64(10+i))))
	}
	g.Block(0)
	for i := range 3 {
		ch, m, err := g.Next(ctx)
		if err != nil || ch != 1 || firstValue(m.Batch) != int64(10+i) {
			t.Fatalf("got channel %d err %v, want channel 1 while 0 is blocked", ch, err)
		}
		m.Batch.Release()
	}
	// Nothing left on unblocked channels: Next waits until Unblock.
	done := make(chan int)
	go func() {
		ch, m, err := g.Next(ctx)
		if err == nil {
			m.Batch.Release()
		}
		done <- ch
	}()
	g.Unblock(0)
	if ch := <-done; ch != 0 {
		t.Fatalf("got channel %d after Unblock, want 0", ch)
	}
}

// TestLocalManyProducers sends from several goroutines through small
// channels and checks every message arrives once, in order per channel.
func TestLocalManyProducers(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const producers, perProducer = 5, 300
	ids := make([]ChannelID, producers)
	for i := range ids {
		ids[i] = ChannelID{Edge: 0, From: i, To: 0}
	}
	g, s := newLocal(t, 2, ids)
	defer g.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProducer {
				if err := s[p].Send(ctx, stream.DataMessage(intBatch(mem, int64(i)))); err != nil {
					t.Error(err)
					return
				}
			}
			if err := s[p].Send(ctx, stream.Message{Kind: stream.End}); err != nil {
				t.Error(err)
			}
		}()
	}
	next := make([]int64, producers)
	ended := 0
	for ended < producers {
		ch, m, err := g.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind == stream.End {
			ended++
			if next[ch] != perProducer {
				t.Fatalf("channel %d ended after %d messages", ch, next[ch])
			}
			continue
		}
		if v := firstValue(m.Batch); v != next[ch] {
			t.Fatalf("channel %d: got %d, want %d", ch, v, next[ch])
		}
		next[ch]++
		m.Batch.Release()
	}
	wg.Wait()
}

// TestLocalWake: Wake makes a waiting Next, or else the next one, return
// ErrWoken once; messages are then read as before.
func TestLocalWake(t *testing.T) {
	g, senders := newLocal(t, 2, []ChannelID{{Edge: 0, From: 0, To: 0}})
	defer g.Close()
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, _, err := g.Next(ctx)
		done <- err
	}()
	g.Wake()
	if err := <-done; !errors.Is(err, ErrWoken) {
		t.Fatalf("waiting Next after Wake: %v, want ErrWoken", err)
	}
	// A Wake with nothing waiting is kept for the next Next, once.
	if err := senders[0].Send(ctx, stream.WatermarkMessage(7)); err != nil {
		t.Fatal(err)
	}
	g.Wake()
	if _, _, err := g.Next(ctx); !errors.Is(err, ErrWoken) {
		t.Fatalf("Next after Wake: %v, want ErrWoken", err)
	}
	if _, m, err := g.Next(ctx); err != nil || m.Kind != stream.Watermark || m.Watermark != 7 {
		t.Fatalf("Next after the wake-up: %+v, %v", m, err)
	}
}
