// Package netexchange is the network exchange: it carries the channels of
// a job between task manager processes as gRPC streams of Arrow IPC record
// batches, with credit-based flow control. Channels whose producer and
// consumer run in the same process stay in-memory queues.
//
// # Pieces
//
// Every process serves one Server (eddy.exchange.v1.ExchangeService,
// Register on the task manager's gRPC server, with ServerOptions). For each
// job attempt the process runs, New makes a Transport (exchange.Transport)
// from the job, the attempt, this process's address and a placement
// function giving the address of the process running each channel's
// consumer. Transport.Gate builds one gate (package exchange's in-memory
// queues, exchange.NewGate) over all input channels of a subtask; each
// channel is fed either by the in-memory Sender of a producer in this
// process (Transport.Sender when Placement(id) == Self) or by the stream of
// a remote producer. Transport.Sender returns a network sender for a
// channel consumed elsewhere; one gRPC connection per peer carries all
// channels to it (HTTP/2 streams).
//
// # Protocol
//
// A channel is one bidirectional stream (ExchangeService.Channel), opened by
// the producer's first Send. Producer to consumer:
//
//   - Open, first and only first: job, attempt, channel (edge, from, to) and
//     the producer's address. The consumer's Server finds the job's
//     Transport and the channel's gate, waiting up to ServerConfig.GateWait
//     for them to be deployed (deployment races), then refuses with
//     NotFound. An attempt older than the one running here is refused at
//     once (FailedPrecondition): frames of an attempt that was restarted
//     never reach the new one. A second producer for a channel is refused.
//   - Batch: the record batch as Arrow IPC stream messages; the first batch
//     (and the first after a schema change) starts a new IPC stream and
//     carries the schema message, later ones only their record batch
//     message. Row kinds travel as one byte per row, absent for all-insert
//     batches. Dictionaries are not used by the engine (they would work, as
//     IPC dictionary messages in the same frame).
//   - Watermark (fixed 8 bytes), Idle, Barrier (checkpoint id, timestamp,
//     savepoint flag) and End: every stream.Message kind, one frame each.
//
// Consumer to producer: Credit messages. The first grants the channel's
// capacity and also says the stream was accepted; every frame after Open
// costs the producer one credit, and a producer without credit blocks in
// Send (honouring its context). The consumer returns a credit when its gate
// hands a message out (Next), not when the frame arrives, so a channel
// blocked for barrier alignment, or a slow consumer, stops its producers
// once its queue (capacity messages) is full: nothing is dropped and a
// channel's memory is bounded by its credits. Returned credits are
// coalesced into one Credit message while the previous one is being sent.
// A producer exceeding its credits is a protocol error.
//
// Ordering: one stream per channel, so batches, watermarks, barriers and
// End arrive in the order they were sent; a barrier never overtakes a
// batch.
//
// End: after sending End the producer half-closes the stream and waits for
// the consumer to end the RPC with OK, which it does once End is queued.
// So a Send(End) that returned means every frame of the channel is in the
// consumer's gate, and the producer's process may exit.
//
// # Failure
//
// A stream that breaks before End (peer process gone, connection lost,
// transport closed, bad frame) makes the consumer's Next fail with an
// error naming the channel and the producer's address, and the producer's
// Send fail with an error naming the channel and the consumer's address;
// the runtime then restarts the job. A closed consumer gate ends its
// streams with Aborted, which the producer's Send reports as
// exchange.ErrClosed (teardown, as with the in-memory transport). Close
// closes every gate, ends every stream, closes the connections and waits
// for the transport's goroutines; queued batches are released exactly once.
// Detecting a silent peer (network partition) needs gRPC keepalives: pass
// keepalive dial options in Config.DialOptions and a matching enforcement
// policy on the server.
//
// Security: the transport adds no credentials; the caller passes TLS and
// per-RPC credentials (the cluster secret) in Config.DialOptions and checks
// them with server options or interceptors on its gRPC server.
package netexchange
