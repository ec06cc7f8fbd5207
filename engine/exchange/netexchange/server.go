package netexchange

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	exchangev1 "github.com/eddy-streaming/eddy/api/exchange/v1"
	"github.com/eddy-streaming/eddy/engine/exchange"
)

// DefaultGateWait is how long a stream waits by default for its job attempt
// and gate to be deployed on the consumer's process before it is refused.
const DefaultGateWait = 10 * time.Second

// MaxFrameSize is the largest frame (one record batch in Arrow IPC) a
// Sender sends. The gRPC servers of task managers must accept messages of
// this size: pass ServerOptions() to grpc.NewServer.
const MaxFrameSize = 256 << 20

// ServerOptions returns the gRPC server options the exchange needs (a
// receive limit of MaxFrameSize). Security options (TLS, credentials
// checks) are the caller's to add.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(MaxFrameSize + 64<<10)}
}

// ServerConfig configures a Server.
type ServerConfig struct {
	// GateWait is how long a stream waits for its job attempt and gate to
	// be deployed here (deployment races) before it fails; 0 means
	// DefaultGateWait.
	GateWait time.Duration
}

// Server is the consumer side of the network exchange in one process: it
// serves eddy.exchange.v1.ExchangeService and feeds incoming streams into
// the gates of the Transports made with it. One Server serves every job
// attempt of the process. It is safe for concurrent use.
type Server struct {
	exchangev1.UnimplementedExchangeServiceServer
	gateWait time.Duration

	mu   sync.Mutex
	jobs map[string]*Transport
	// changed is closed and replaced whenever a transport or gate is
	// registered, waking streams that wait for theirs.
	changed chan struct{}
}

// NewServer returns a Server with no transports.
func NewServer(cfg ServerConfig) *Server {
	if cfg.GateWait <= 0 {
		cfg.GateWait = DefaultGateWait
	}
	return &Server{gateWait: cfg.GateWait, jobs: map[string]*Transport{}, changed: make(chan struct{})}
}

// Register registers s with a gRPC server (a task manager's).
func (s *Server) Register(r grpc.ServiceRegistrar) {
	exchangev1.RegisterExchangeServiceServer(r, s)
}

// broadcastLocked wakes waiting streams; s.mu is held.
func (s *Server) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// register makes t the transport of its job on this process, superseding
// an earlier attempt.
func (s *Server) register(t *Transport) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.jobs[t.cfg.Job]; old != nil && old.cfg.Attempt >= t.cfg.Attempt {
		return fmt.Errorf("netexchange: job %q already has attempt %d on this process (new attempt %d)", t.cfg.Job, old.cfg.Attempt, t.cfg.Attempt)
	}
	s.jobs[t.cfg.Job] = t
	s.broadcastLocked()
	return nil
}

// unregisterLocked removes t if it is its job's transport; s.mu is held.
func (s *Server) unregisterLocked(t *Transport) {
	if s.jobs[t.cfg.Job] == t {
		delete(s.jobs, t.cfg.Job)
	}
	s.broadcastLocked()
}

// attach finds the gate channel that open names, waiting up to the gate
// wait for it to be deployed, and claims it for the stream. It adds one to
// the transport's goroutine count for the stream's receiver.
func (s *Server) attach(ctx context.Context, open *exchangev1.Open) (*Transport, *inChannel, error) {
	id := exchange.ChannelID{Edge: int(open.GetEdge()), From: int(open.GetFromSubtask()), To: int(open.GetToSubtask())}
	timer := time.NewTimer(s.gateWait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		t := s.jobs[open.GetJobId()]
		if t != nil && open.GetAttempt() < t.cfg.Attempt {
			s.mu.Unlock()
			return nil, nil, status.Errorf(codes.FailedPrecondition,
				"channel %s of job %q: attempt %d is stale, attempt %d runs here", id, open.GetJobId(), open.GetAttempt(), t.cfg.Attempt)
		}
		if t != nil && open.GetAttempt() == t.cfg.Attempt && !t.closed {
			if ic := t.inbound[id]; ic != nil {
				if ic.claimed {
					s.mu.Unlock()
					return nil, nil, status.Errorf(codes.AlreadyExists, "channel %s of job %q attempt %d already has a producer", id, open.GetJobId(), open.GetAttempt())
				}
				ic.claimed = true
				ic.producer = open.GetProducer()
				ic.remote.Store(true)
				t.wg.Add(1)
				s.mu.Unlock()
				return t, ic, nil
			}
		}
		wait := s.changed
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, nil, status.FromContextError(ctx.Err()).Err()
		case <-timer.C:
			what := fmt.Sprintf("job %q attempt %d is not deployed here", open.GetJobId(), open.GetAttempt())
			if t != nil && open.GetAttempt() == t.cfg.Attempt {
				what = fmt.Sprintf("job %q attempt %d has no gate for it here", open.GetJobId(), open.GetAttempt())
			}
			return nil, nil, status.Errorf(codes.NotFound, "channel %s: %s (waited %s)", id, what, s.gateWait)
		}
	}
}

// Channel implements exchangev1.ExchangeServiceServer.
func (s *Server) Channel(st grpc.BidiStreamingServer[exchangev1.Frame, exchangev1.Credit]) error {
	f, err := st.Recv()
	if err != nil {
		return err
	}
	open := f.GetOpen()
	if open == nil {
		return status.Error(codes.InvalidArgument, "the first frame of a channel must be an open frame")
	}
	t, ic, err := s.attach(st.Context(), open)
	if err != nil {
		return err
	}
	return t.serve(st, ic)
}
