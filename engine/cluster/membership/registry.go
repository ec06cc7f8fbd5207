package membership

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	clusterv1 "github.com/eddy-streaming/eddy/api/cluster/v1"
)

// Defaults for Config's zero fields.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultHeartbeatTimeout  = 5 * time.Second
)

// Config configures a Registry.
type Config struct {
	// HeartbeatInterval is how often task managers heartbeat, and
	// HeartbeatTimeout how long one may stay silent before it is lost.
	HeartbeatInterval, HeartbeatTimeout time.Duration
	// Logger receives joins and losses (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now), for tests.
	Now func() time.Time
}

// TaskManager is a registered task manager.
type TaskManager struct {
	ID, Address   string
	Slots         int
	Version       string
	Registration  string
	Registered    time.Time
	LastHeartbeat time.Time
}

// EventKind says what happened to a task manager.
type EventKind int

// The events.
const (
	// Joined: a task manager registered (or registered again).
	Joined EventKind = iota
	// Lost: a task manager stopped heartbeating, or registered again
	// under its id (it restarted: what ran there is gone).
	Lost
)

// String renders k.
func (k EventKind) String() string {
	if k == Lost {
		return "lost"
	}
	return "joined"
}

// Event is a change of the registry.
type Event struct {
	Kind EventKind
	TM   TaskManager
	// Why says why a task manager was lost.
	Why string
}

// Registry is the job manager's registry of task managers; see the
// package comment. Its methods may be called from any goroutine.
type Registry struct {
	clusterv1.UnimplementedClusterServer
	cfg Config

	mu   sync.Mutex
	tms  map[string]*TaskManager
	subs map[chan Event]struct{}
}

// New makes a registry.
func New(cfg Config) *Registry {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Registry{cfg: cfg, tms: map[string]*TaskManager{}, subs: map[chan Event]struct{}{}}
}

// Register registers the Cluster service on s.
func (r *Registry) Register(s grpc.ServiceRegistrar) { clusterv1.RegisterClusterServer(s, r) }

// MethodPrefix is the prefix of the service's method names, for
// SecretInterceptor.
var MethodPrefix = "/" + clusterv1.Cluster_ServiceDesc.ServiceName + "/"

// RegisterTaskManager implements clusterv1.ClusterServer.
func (r *Registry) RegisterTaskManager(ctx context.Context, req *clusterv1.RegisterTaskManagerRequest) (*clusterv1.RegisterTaskManagerResponse, error) {
	switch {
	case strings.TrimSpace(req.GetId()) == "":
		return nil, status.Error(codes.InvalidArgument, "register: the task manager has no id")
	case req.GetSlots() < 1:
		return nil, status.Errorf(codes.InvalidArgument, "register %s: %d slots: a task manager offers at least one", req.GetId(), req.GetSlots())
	case req.GetAddress() == "":
		return nil, status.Errorf(codes.InvalidArgument, "register %s: no address to reach it at", req.GetId())
	}
	var token [8]byte
	_, _ = rand.Read(token[:])
	now := r.cfg.Now()
	tm := &TaskManager{ID: req.GetId(), Address: req.GetAddress(), Slots: int(req.GetSlots()), Version: req.GetVersion(),
		Registration: hex.EncodeToString(token[:]), Registered: now, LastHeartbeat: now}
	r.mu.Lock()
	old := r.tms[tm.ID]
	r.tms[tm.ID] = tm
	r.mu.Unlock()
	if old != nil {
		r.cfg.Logger.Warn("task manager registered again: what ran there is lost", "taskmanager", tm.ID, "address", tm.Address)
		r.publish(Event{Kind: Lost, TM: *old, Why: "it registered again (restarted)"})
	}
	r.cfg.Logger.Info("task manager joined", "taskmanager", tm.ID, "address", tm.Address, "slots", tm.Slots)
	r.publish(Event{Kind: Joined, TM: *tm})
	return &clusterv1.RegisterTaskManagerResponse{
		Registration:        tm.Registration,
		HeartbeatIntervalMs: r.cfg.HeartbeatInterval.Milliseconds(),
		HeartbeatTimeoutMs:  r.cfg.HeartbeatTimeout.Milliseconds(),
	}, nil
}

// Heartbeat implements clusterv1.ClusterServer.
func (r *Registry) Heartbeat(ctx context.Context, req *clusterv1.HeartbeatRequest) (*clusterv1.HeartbeatResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tm := r.tms[req.GetId()]
	if tm == nil || tm.Registration != req.GetRegistration() {
		return &clusterv1.HeartbeatResponse{Reregister: true}, nil
	}
	tm.LastHeartbeat = r.cfg.Now()
	return &clusterv1.HeartbeatResponse{}, nil
}

// TaskManagers returns the registered task managers, by id.
func (r *Registry) TaskManagers() []TaskManager {
	r.mu.Lock()
	out := make([]TaskManager, 0, len(r.tms))
	for _, tm := range r.tms {
		out = append(out, *tm)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b TaskManager) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Subscribe returns a channel of the registry's events from now on, and a
// function that ends the subscription. Events are dropped (with a warning)
// for a subscriber more than 64 behind.
func (r *Registry) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 64)
	r.mu.Lock()
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.subs, ch)
			r.mu.Unlock()
		})
	}
}

func (r *Registry) publish(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ch := range r.subs {
		select {
		case ch <- e:
		default:
			r.cfg.Logger.Warn("membership event dropped: subscriber too slow", "event", e.Kind.String(), "taskmanager", e.TM.ID)
		}
	}
}

// Run declares lost the task managers silent for the heartbeat timeout,
// checking every tenth of it, until ctx is done.
func (r *Registry) Run(ctx context.Context) {
	t := time.NewTicker(max(r.cfg.HeartbeatTimeout/10, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Expire()
		}
	}
}

// Expire declares lost, now, the task managers silent for the heartbeat
// timeout. Run calls it periodically.
func (r *Registry) Expire() {
	now := r.cfg.Now()
	var lost []TaskManager
	r.mu.Lock()
	for id, tm := range r.tms {
		if now.Sub(tm.LastHeartbeat) >= r.cfg.HeartbeatTimeout {
			lost = append(lost, *tm)
			delete(r.tms, id)
		}
	}
	r.mu.Unlock()
	for _, tm := range lost {
		why := fmt.Sprintf("no heartbeat for %s", now.Sub(tm.LastHeartbeat).Round(time.Millisecond))
		r.cfg.Logger.Warn("task manager lost", "taskmanager", tm.ID, "address", tm.Address, "why", why)
		r.publish(Event{Kind: Lost, TM: tm, Why: why})
	}
}
