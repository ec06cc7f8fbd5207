// Package exchange moves messages (batches, watermarks, idleness, end of
// input) between the subtasks of a running job.
//
// A channel joins one producer subtask to one consumer subtask over one edge
// of the job graph (ChannelID). Its producer end is a Sender; a consumer
// reads all of its input channels through one Gate, which hands out
// messages in FIFO order per channel and round-robin across channels, and
// can hold back a single channel (Block) for checkpoint-barrier alignment.
// Wake interrupts a consumer waiting in Next (ErrWoken), so it can act on
// something outside its channels, such as a completed checkpoint.
// A Transport makes both ends. Local is the in-process Transport: every
// channel is a bounded queue of messages, so a slow consumer blocks its
// producers (backpressure) and nothing is ever dropped. A network transport
// can replace it without changing the tasks.
//
// On the producer side a Router implements an exchange kind of
// jobgraph.ExchangeKind over the senders of one edge: forward, hash (each
// row to the subtask owning its key group, split with a vectorized take),
// rebalance (round-robin batches), broadcast and single. Control messages
// go to every target.
//
// Ownership follows package stream: Send takes the batch's reference, and a
// message that can no longer be delivered (job torn down) is released.
package exchange
