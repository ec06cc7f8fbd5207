package exchange

import (
	"context"
	"fmt"
	"sync"

	"github.com/eddy-streaming/eddy/engine/stream"
)

// Local is the in-process Transport: every channel is a queue of at most
// Capacity messages. It is safe for concurrent use.
type Local struct {
	capacity int
	mu       sync.Mutex
	queues   map[ChannelID]*localQueue
}

// NewLocal returns an in-process transport whose channels hold at most
// capacity messages (at least 1).
func NewLocal(capacity int) (*Local, error) {
	if capacity < 1 {
		return nil, fmt.Errorf("exchange: channel capacity %d < 1", capacity)
	}
	return &Local{capacity: capacity, queues: map[ChannelID]*localQueue{}}, nil
}

// Gate implements Transport.
func (l *Local) Gate(ids []ChannelID) (Gate, error) {
	g := &localGate{
		queues: make([]*localQueue, len(ids)),
		notify: make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if _, dup := l.queues[id]; dup {
			return nil, fmt.Errorf("exchange: channel %s has two gates", id)
		}
	}
	for i, id := range ids {
		q := &localQueue{gate: g, buf: make([]stream.Message, l.capacity), space: make(chan struct{}, 1)}
		g.queues[i] = q
		l.queues[id] = q
	}
	return g, nil
}

// Sender implements Transport.
func (l *Local) Sender(id ChannelID) (Sender, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q, ok := l.queues[id]
	if !ok {
		return nil, fmt.Errorf("exchange: channel %s has no gate", id)
	}
	if q.hasSender {
		return nil, fmt.Errorf("exchange: channel %s has two senders", id)
	}
	q.hasSender = true
	return q, nil
}

// localQueue is one channel: a ring buffer guarded by its gate's mutex.
type localQueue struct {
	gate      *localGate
	buf       []stream.Message
	head, n   int
	blocked   bool
	hasSender bool
	// space gets a token when the consumer takes a message, waking a
	// producer waiting for room.
	space chan struct{}
}

// Send implements Sender.
func (q *localQueue) Send(ctx context.Context, m stream.Message) error {
	g := q.gate
	for {
		g.mu.Lock()
		if g.isClosed {
			g.mu.Unlock()
			m.Batch.Release()
			return ErrClosed
		}
		if q.n < len(q.buf) {
			q.buf[(q.head+q.n)%len(q.buf)] = m
			q.n++
			g.mu.Unlock()
			select {
			case g.notify <- struct{}{}:
			default:
			}
			return nil
		}
		g.mu.Unlock()
		select {
		case <-q.space:
		case <-g.closed:
		case <-ctx.Done():
			m.Batch.Release()
			return ctx.Err()
		}
	}
}

// localGate reads a set of local queues.
type localGate struct {
	mu       sync.Mutex
	queues   []*localQueue
	next     int // round-robin start
	isClosed bool
	woken    bool
	// notify gets a token whenever a message is queued.
	notify chan struct{}
	// closed is closed by Close, waking blocked producers.
	closed chan struct{}
	// onTake, when set, is called after Next hands out a message (NewGate).
	onTake func(ch int)
}

// NumChannels implements Gate.
func (g *localGate) NumChannels() int { return len(g.queues) }

// Next implements Gate.
func (g *localGate) Next(ctx context.Context) (int, stream.Message, error) {
	for {
		g.mu.Lock()
		if g.isClosed {
			g.mu.Unlock()
			return 0, stream.Message{}, ErrClosed
		}
		if g.woken {
			g.woken = false
			g.mu.Unlock()
			return 0, stream.Message{}, ErrWoken
		}
		n := len(g.queues)
		for k := 0; k < n; k++ {
			i := (g.next + k) % n
			q := g.queues[i]
			if q.n == 0 || q.blocked {
				continue
			}
			m := q.buf[q.head]
			q.buf[q.head] = stream.Message{}
			q.head = (q.head + 1) % len(q.buf)
			q.n--
			g.next = (i + 1) % n
			g.mu.Unlock()
			select {
			case q.space <- struct{}{}:
			default:
			}
			if g.onTake != nil {
				g.onTake(i)
			}
			return i, m, nil
		}
		g.mu.Unlock()
		select {
		case <-g.notify:
		case <-ctx.Done():
			return 0, stream.Message{}, ctx.Err()
		}
	}
}

// Block implements Gate.
func (g *localGate) Block(ch int) {
	g.mu.Lock()
	g.queues[ch].blocked = true
	g.mu.Unlock()
}

// Unblock implements Gate.
func (g *localGate) Unblock(ch int) {
	g.mu.Lock()
	g.queues[ch].blocked = false
	g.mu.Unlock()
	select {
	case g.notify <- struct{}{}:
	default:
	}
}

// Wake implements Gate.
func (g *localGate) Wake() {
	g.mu.Lock()
	g.woken = true
	g.mu.Unlock()
	select {
	case g.notify <- struct{}{}:
	default:
	}
}

// Close implements Gate.
func (g *localGate) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.isClosed {
		return
	}
	g.isClosed = true
	close(g.closed)
	for _, q := range g.queues {
		for ; q.n > 0; q.n-- {
			q.buf[q.head].Batch.Release()
			q.buf[q.head] = stream.Message{}
			q.head = (q.head + 1) % len(q.buf)
		}
	}
}

var (
	_ Transport = (*Local)(nil)
	_ Gate      = (*localGate)(nil)
	_ Sender    = (*localQueue)(nil)
)
