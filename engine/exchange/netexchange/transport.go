package netexchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	exchangev1 "github.com/eddy-streaming/eddy/api/exchange/v1"
	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// DefaultCapacity is the default number of credits (queued messages) per
// channel.
const DefaultCapacity = 4

// gateClosedMsg is the status message of a stream whose gate was closed;
// the producer's Send then fails with exchange.ErrClosed.
const gateClosedMsg = "netexchange: the consumer's gate is closed"

// Config configures the Transport of one process for one job attempt.
type Config struct {
	// Job names the job.
	Job string
	// Attempt is the job's execution attempt. It must grow with every
	// restart: streams of other attempts are refused.
	Attempt int64
	// Self is this process's exchange address, as Placement returns it.
	Self string
	// Placement returns the address of the process that runs the consumer
	// subtask of a channel (a gRPC target peers can dial).
	Placement func(exchange.ChannelID) string
	// Capacity is the number of messages a channel holds, which is also
	// the number of credits of a remote producer; 0 means DefaultCapacity.
	Capacity int
	// Allocator allocates received record batches; nil means
	// memory.DefaultAllocator.
	Allocator memory.Allocator
	// DialOptions are used to dial peers. They must include transport
	// credentials (grpc.WithTransportCredentials: TLS, or insecure where
	// that is acceptable) and may add per-RPC credentials carrying the
	// cluster secret and keepalive parameters.
	DialOptions []grpc.DialOption
}

// Transport implements exchange.Transport for one process of a job
// attempt: channels whose producer and consumer both run here are
// in-memory queues, the others are gRPC streams to the consumer's process
// with credit-based flow control. It is safe for concurrent use.
type Transport struct {
	srv *Server
	cfg Config

	ctx    context.Context // cancelled by Close: ends every stream
	cancel context.CancelFunc
	// wg counts the goroutines the transport starts (stream receivers).
	wg sync.WaitGroup

	// Guarded by srv.mu.
	inbound map[exchange.ChannelID]*inChannel
	gates   []*gate
	closed  bool

	mu       sync.Mutex
	conns    map[string]*grpc.ClientConn
	outbound map[exchange.ChannelID]bool
}

// New returns the transport of cfg.Job's attempt cfg.Attempt on this
// process, whose remote channels arrive through srv. It supersedes the
// transport of an earlier attempt of the job on srv.
func New(srv *Server, cfg Config) (*Transport, error) {
	switch {
	case srv == nil:
		return nil, errors.New("netexchange: no server")
	case cfg.Job == "":
		return nil, errors.New("netexchange: no job")
	case cfg.Self == "":
		return nil, errors.New("netexchange: no address for this process (Self)")
	case cfg.Placement == nil:
		return nil, errors.New("netexchange: no placement function")
	case cfg.Capacity < 0:
		return nil, fmt.Errorf("netexchange: channel capacity %d < 0", cfg.Capacity)
	}
	if cfg.Capacity == 0 {
		cfg.Capacity = DefaultCapacity
	}
	if cfg.Allocator == nil {
		cfg.Allocator = memory.DefaultAllocator
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		srv: srv, cfg: cfg, ctx: ctx, cancel: cancel,
		inbound:  map[exchange.ChannelID]*inChannel{},
		conns:    map[string]*grpc.ClientConn{},
		outbound: map[exchange.ChannelID]bool{},
	}
	if err := srv.register(t); err != nil {
		cancel()
		return nil, err
	}
	return t, nil
}

// Close closes every gate (releasing what they hold), ends every stream,
// closes the connections to peers and waits for the transport's
// goroutines. Senders fail afterwards. It is idempotent.
func (t *Transport) Close() error {
	t.srv.mu.Lock()
	if t.closed {
		t.srv.mu.Unlock()
		return nil
	}
	t.closed = true
	t.srv.unregisterLocked(t)
	gates := t.gates
	t.srv.mu.Unlock()

	t.cancel()
	for _, g := range gates {
		g.Close()
	}
	t.wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for addr, cc := range t.conns {
		if err := cc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("netexchange: closing connection to %s: %w", addr, err))
		}
	}
	t.conns = map[string]*grpc.ClientConn{}
	return errors.Join(errs...)
}

// Gate implements exchange.Transport. Every channel of ids must have its
// consumer here (Placement(id) == Self); each is fed either by the Sender
// of a producer in this process or by a stream from a remote producer.
func (t *Transport) Gate(ids []exchange.ChannelID) (exchange.Gate, error) {
	for _, id := range ids {
		if addr := t.cfg.Placement(id); addr != t.cfg.Self {
			return nil, fmt.Errorf("netexchange: channel %s is consumed at %s, not here (%s)", id, addr, t.cfg.Self)
		}
	}
	g := &gate{t: t, chans: make([]*inChannel, len(ids)), done: make(chan struct{})}
	inner, senders, err := exchange.NewGate(len(ids), t.cfg.Capacity, g.onTake)
	if err != nil {
		return nil, fmt.Errorf("netexchange: %w", err)
	}
	g.Gate = inner
	for i, id := range ids {
		g.chans[i] = &inChannel{id: id, gate: g, sender: senders[i], signal: make(chan struct{}, 1)}
	}
	t.srv.mu.Lock()
	defer t.srv.mu.Unlock()
	if t.closed {
		inner.Close()
		return nil, errors.New("netexchange: transport closed")
	}
	seen := make(map[exchange.ChannelID]bool, len(ids))
	for _, id := range ids {
		if _, dup := t.inbound[id]; dup || seen[id] {
			inner.Close()
			return nil, fmt.Errorf("netexchange: channel %s has two gates", id)
		}
		seen[id] = true
	}
	for _, ic := range g.chans {
		t.inbound[ic.id] = ic
	}
	t.gates = append(t.gates, g)
	t.srv.broadcastLocked()
	return g, nil
}

// Sender implements exchange.Transport: the in-memory sender of the gate's
// queue when the consumer runs here, a network sender otherwise. A
// network sender opens its stream on its first Send.
func (t *Transport) Sender(id exchange.ChannelID) (exchange.Sender, error) {
	addr := t.cfg.Placement(id)
	if addr == t.cfg.Self {
		t.srv.mu.Lock()
		defer t.srv.mu.Unlock()
		ic := t.inbound[id]
		switch {
		case t.closed:
			return nil, errors.New("netexchange: transport closed")
		case ic == nil:
			return nil, fmt.Errorf("netexchange: channel %s has no gate", id)
		case ic.claimed:
			return nil, fmt.Errorf("netexchange: channel %s has two senders", id)
		}
		ic.claimed = true
		return ic.sender, nil
	}
	if addr == "" {
		return nil, fmt.Errorf("netexchange: channel %s has no placement", id)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.outbound[id] {
		return nil, fmt.Errorf("netexchange: channel %s has two senders", id)
	}
	cc := t.conns[addr]
	if cc == nil {
		opts := append([]grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1 << 20))}, t.cfg.DialOptions...)
		var err error
		if cc, err = grpc.NewClient(addr, opts...); err != nil {
			return nil, fmt.Errorf("netexchange: channel %s: dialing %s: %w", id, addr, err)
		}
		t.conns[addr] = cc
	}
	t.outbound[id] = true
	return &netSender{t: t, id: id, addr: addr, client: exchangev1.NewExchangeServiceClient(cc),
		enc: encoder{mem: t.cfg.Allocator}, signal: make(chan struct{}, 1), done: make(chan struct{})}, nil
}

// inChannel is one channel of a gate.
type inChannel struct {
	id     exchange.ChannelID
	gate   *gate
	sender exchange.Sender // feeds the gate's queue
	// claimed says a local Sender or a remote stream feeds the channel;
	// producer is the remote producer's address (both under srv.mu).
	claimed  bool
	producer string
	// remote is set before a stream's first frame is queued.
	remote atomic.Bool
	// pending counts credits to return; signal wakes the stream's handler.
	pending atomic.Int64
	signal  chan struct{}
}

// gate is an exchange gate whose channels are in-memory queues, fed
// locally or by streams; a stream failure makes Next fail.
type gate struct {
	exchange.Gate
	t     *Transport
	chans []*inChannel
	done  chan struct{} // closed by Close
	once  sync.Once

	mu  sync.Mutex
	err error
}

// onTake returns a credit for a message handed out by Next.
func (g *gate) onTake(ch int) {
	ic := g.chans[ch]
	if !ic.remote.Load() {
		return
	}
	ic.pending.Add(1)
	select {
	case ic.signal <- struct{}{}:
	default:
	}
}

// fail makes Next return err (the first failure) from now on.
func (g *gate) fail(err error) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
	g.Gate.Wake()
}

func (g *gate) failure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Next implements exchange.Gate.
func (g *gate) Next(ctx context.Context) (int, stream.Message, error) {
	if err := g.failure(); err != nil {
		return 0, stream.Message{}, err
	}
	i, m, err := g.Gate.Next(ctx)
	if errors.Is(err, exchange.ErrWoken) {
		if ferr := g.failure(); ferr != nil {
			return 0, stream.Message{}, ferr
		}
	}
	return i, m, err
}

// Close implements exchange.Gate.
func (g *gate) Close() {
	g.once.Do(func() {
		close(g.done)
		g.Gate.Close()
	})
}

// isDone reports whether the stream's end is expected (gate or transport
// closed), so it is no failure of the gate.
func (g *gate) isDone() bool {
	select {
	case <-g.done:
		return true
	case <-g.t.ctx.Done():
		return true
	default:
		return false
	}
}

// serve runs the consumer side of one stream: it grants credits while a
// receiver goroutine queues the frames. It returns when the stream ends
// (OK after End), the gate is closed or the transport closes.
func (t *Transport) serve(st grpc.BidiStreamingServer[exchangev1.Frame, exchangev1.Credit], ic *inChannel) error {
	var granted atomic.Int64
	granted.Store(int64(t.cfg.Capacity))
	if err := st.Send(&exchangev1.Credit{Credits: int32(t.cfg.Capacity)}); err != nil {
		t.wg.Done()
		return t.streamFailed(ic, fmt.Errorf("granting credits: %w", err))
	}
	recvDone := make(chan error, 1)
	go func() {
		defer t.wg.Done()
		recvDone <- t.receive(st, ic, &granted)
	}()
	for {
		select {
		case err := <-recvDone:
			return err
		case <-ic.signal:
			n := ic.pending.Swap(0)
			if n == 0 {
				continue
			}
			granted.Add(n)
			if err := st.Send(&exchangev1.Credit{Credits: int32(n)}); err != nil {
				return t.streamFailed(ic, fmt.Errorf("returning credits: %w", err))
			}
		case <-ic.gate.done:
			return status.Error(codes.Aborted, gateClosedMsg)
		case <-t.ctx.Done():
			return status.Error(codes.Unavailable, "netexchange: the consumer's transport is closed")
		}
	}
}

// receive queues the frames of one stream until End.
func (t *Transport) receive(st grpc.BidiStreamingServer[exchangev1.Frame, exchangev1.Credit], ic *inChannel, granted *atomic.Int64) error {
	dec := decoder{mem: t.cfg.Allocator}
	defer dec.release()
	var received int64
	for {
		f, err := st.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the stream ended before the end of input")
			} else {
				err = fmt.Errorf("the stream broke: %w", err)
			}
			return t.streamFailed(ic, err)
		}
		received++
		if received > granted.Load() {
			return t.streamFailed(ic, status.Errorf(codes.ResourceExhausted, "frame %d exceeds the %d credits granted", received, granted.Load()))
		}
		m, err := dec.decode(f)
		if err != nil {
			return t.streamFailed(ic, status.Errorf(codes.InvalidArgument, "frame %d: %v", received, err))
		}
		if err := ic.sender.Send(st.Context(), m); err != nil {
			if errors.Is(err, exchange.ErrClosed) {
				return status.Error(codes.Aborted, gateClosedMsg)
			}
			return t.streamFailed(ic, err)
		}
		if m.Kind == stream.End {
			return nil
		}
	}
}

// streamFailed reports a broken stream to its gate (unless the gate or
// transport is closing) and returns the status for the producer.
func (t *Transport) streamFailed(ic *inChannel, err error) error {
	if !ic.gate.isDone() {
		ic.gate.fail(fmt.Errorf("netexchange: channel %s from %s: %w", ic.id, ic.producer, err))
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Unknown, err.Error())
}

// netSender is the producer end of a channel whose consumer runs in another
// process.
type netSender struct {
	t      *Transport
	id     exchange.ChannelID
	addr   string
	client exchangev1.ExchangeServiceClient
	enc    encoder

	stream grpc.BidiStreamingClient[exchangev1.Frame, exchangev1.Credit]
	cancel context.CancelFunc
	// credits left; signal wakes Send when credits arrive.
	credits atomic.Int64
	signal  chan struct{}
	// done is closed when the credit reader ends; recvErr is then its error
	// (io.EOF when the consumer ended the stream with OK).
	done    chan struct{}
	recvErr error
	// err is the sender's terminal error; ended says End was sent.
	err   error
	ended bool
}

// Send implements exchange.Sender.
func (s *netSender) Send(ctx context.Context, m stream.Message) error {
	defer m.Batch.Release() // frames hold copies
	if s.err != nil {
		return s.err
	}
	if s.ended {
		return fmt.Errorf("netexchange: channel %s to %s: send after end of input", s.id, s.addr)
	}
	if s.stream == nil {
		if err := s.open(); err != nil {
			return s.terminate(err)
		}
	}
	for s.credits.Load() == 0 {
		select {
		case <-s.signal:
		case <-s.done:
			return s.terminate(s.streamError())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.credits.Add(-1)
	f, err := s.enc.encode(m)
	if err != nil {
		return s.terminate(err)
	}
	if b := f.GetBatch(); b != nil && len(b.Ipc)+len(b.Kinds) > MaxFrameSize {
		return s.terminate(fmt.Errorf("record batch of %d rows is %d bytes in Arrow IPC, over the frame limit %d", m.Batch.NumRows(), len(b.Ipc)+len(b.Kinds), MaxFrameSize))
	}
	stop := context.AfterFunc(ctx, s.cancel) // honour ctx while gRPC flow control blocks
	err = s.stream.Send(f)
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return s.terminate(ctx.Err())
		}
		<-s.done // Send failed: the stream is over, Recv has its status
		return s.terminate(s.streamError())
	}
	if m.Kind != stream.End {
		return nil
	}
	// Wait for the consumer to confirm it queued everything (it ends the
	// stream with OK), so closing this process right after loses nothing.
	s.ended = true
	if err := s.stream.CloseSend(); err != nil {
		return s.terminate(err)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return s.terminate(ctx.Err())
	}
	if !errors.Is(s.recvErr, io.EOF) {
		return s.terminate(s.streamError())
	}
	s.finish()
	return nil
}

// open starts the stream: the open frame, then a goroutine reading credits.
func (s *netSender) open() error {
	s.t.srv.mu.Lock()
	closed := s.t.closed
	if !closed {
		s.t.wg.Add(1)
	}
	s.t.srv.mu.Unlock()
	if closed {
		return errors.New("transport closed")
	}
	ctx, cancel := context.WithCancel(s.t.ctx)
	st, err := s.client.Channel(ctx)
	if err != nil {
		cancel()
		s.t.wg.Done()
		return err
	}
	s.stream, s.cancel = st, cancel
	go func() {
		defer s.t.wg.Done()
		defer close(s.done)
		for {
			c, err := st.Recv()
			if err != nil {
				s.recvErr = err
				return
			}
			if c.GetCredits() <= 0 {
				s.recvErr = status.Errorf(codes.Internal, "consumer granted %d credits", c.GetCredits())
				cancel()
				return
			}
			s.credits.Add(int64(c.GetCredits()))
			select {
			case s.signal <- struct{}{}:
			default:
			}
		}
	}()
	open := &exchangev1.Open{
		JobId: s.t.cfg.Job, Attempt: s.t.cfg.Attempt,
		Edge: int32(s.id.Edge), FromSubtask: int32(s.id.From), ToSubtask: int32(s.id.To),
		Producer: s.t.cfg.Self,
	}
	if err := st.Send(&exchangev1.Frame{Kind: &exchangev1.Frame_Open{Open: open}}); err != nil {
		<-s.done
		return s.streamError()
	}
	return nil
}

// streamError returns the error that ended the stream, once done is closed.
func (s *netSender) streamError() error {
	err := s.recvErr
	if errors.Is(err, io.EOF) {
		return errors.New("the consumer ended the stream before the end of input")
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.Aborted && st.Message() == gateClosedMsg {
		return fmt.Errorf("%s: %w", gateClosedMsg, exchange.ErrClosed)
	}
	if err == nil {
		return errors.New("the stream ended")
	}
	return err
}

// terminate records err as the sender's final error, named with its channel
// and peer, and releases the stream.
func (s *netSender) terminate(err error) error {
	s.err = fmt.Errorf("netexchange: channel %s to %s: %w", s.id, s.addr, err)
	s.finish()
	return s.err
}

// finish releases the stream and the encoder.
func (s *netSender) finish() {
	if s.cancel != nil {
		s.cancel()
	}
	s.enc.release()
}

var (
	_ exchange.Transport = (*Transport)(nil)
	_ exchange.Gate      = (*gate)(nil)
	_ exchange.Sender    = (*netSender)(nil)
)
