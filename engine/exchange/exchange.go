package exchange

import (
	"context"
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/stream"
)

// ErrClosed is returned by Send when the receiving gate was closed.
var ErrClosed = errors.New("exchange: channel closed")

// ErrWoken is returned by Gate.Next after Gate.Wake.
var ErrWoken = errors.New("exchange: gate woken")

// ChannelID names one channel: producer subtask From of the edge with index
// Edge in the job graph sends to consumer subtask To.
type ChannelID struct {
	Edge int
	From int
	To   int
}

// String renders id as "edge 1: 0->3".
func (id ChannelID) String() string { return fmt.Sprintf("edge %d: %d->%d", id.Edge, id.From, id.To) }

// Sender is the producer end of one channel. It is used by one goroutine.
type Sender interface {
	// Send delivers m, blocking while the channel is full. It takes
	// ownership of m's batch, also when it fails: on ctx cancellation or a
	// closed gate the batch is released and the error returned.
	Send(ctx context.Context, m stream.Message) error
}

// Gate is the consumer end of all input channels of one subtask. It is used
// by one goroutine.
type Gate interface {
	// NumChannels returns the number of channels; they are numbered in the
	// order given to Transport.Gate.
	NumChannels() int
	// Next blocks until a message is available on a channel that is not
	// blocked and returns the channel's number and the message, whose batch
	// the caller then owns. It returns ctx.Err() when ctx is done.
	Next(ctx context.Context) (int, stream.Message, error)
	// Block stops Next from returning messages of channel ch, which keep
	// queueing (and so eventually back-pressure their producer) until
	// Unblock. It is meant for checkpoint-barrier alignment.
	Block(ch int)
	// Unblock undoes Block.
	Unblock(ch int)
	// Wake makes the Next that is waiting, or else the next call to Next,
	// return ErrWoken once, so the consumer can act on something outside
	// its channels (a completed checkpoint, for example). It may be called
	// from any goroutine.
	Wake()
	// Close releases every message still queued and makes later and
	// pending Sends fail with ErrClosed. It is idempotent.
	Close()
}

// Transport makes channels. Gates are made first, then the senders that
// feed them.
type Transport interface {
	// Gate makes the consumer end of channels ids, numbered in that order.
	Gate(ids []ChannelID) (Gate, error)
	// Sender makes the producer end of channel id.
	Sender(id ChannelID) (Sender, error)
}
