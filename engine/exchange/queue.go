package exchange

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/stream"
)

// NewGate returns an in-memory Gate over n channels that each hold at most
// capacity messages, and the Senders that feed its channels, in channel
// order. It is the queue code of Local for other transports. When onTake is
// not nil, Next calls onTake(ch) on the consumer's goroutine, outside the
// gate's lock, after it hands out a message of channel ch (Close does not):
// a network transport returns flow-control credit to the producer there,
// when the message is consumed rather than when it arrives.
func NewGate(n, capacity int, onTake func(ch int)) (Gate, []Sender, error) {
	if capacity < 1 {
		return nil, nil, fmt.Errorf("exchange: channel capacity %d < 1", capacity)
	}
	if n < 0 {
		return nil, nil, fmt.Errorf("exchange: %d channels < 0", n)
	}
	g := &localGate{
		queues: make([]*localQueue, n),
		notify: make(chan struct{}, 1),
		closed: make(chan struct{}),
		onTake: onTake,
	}
	senders := make([]Sender, n)
	for i := range g.queues {
		q := &localQueue{gate: g, buf: make([]stream.Message, capacity), space: make(chan struct{}, 1), hasSender: true}
		g.queues[i] = q
		senders[i] = q
	}
	return g, senders, nil
}
