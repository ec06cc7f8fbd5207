package taskmanager

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/eddy-streaming/eddy/engine/cluster/membership"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// jobManager serves a registry on addr ("127.0.0.1:0" for any port).
type jobManager struct {
	reg  *membership.Registry
	srv  *grpc.Server
	addr string
	stop context.CancelFunc
	done chan struct{}
}

func startJobManager(t *testing.T, addr, secret string) *jobManager {
	t.Helper()
	var lis net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port of a stopped server may linger briefly
		if lis, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	reg := membership.New(membership.Config{HeartbeatInterval: 20 * time.Millisecond, HeartbeatTimeout: 200 * time.Millisecond, Logger: quiet})
	srv := grpc.NewServer(grpc.UnaryInterceptor(membership.SecretInterceptor(secret, membership.MethodPrefix)))
	reg.Register(srv)
	ctx, cancel := context.WithCancel(context.Background())
	jm := &jobManager{reg: reg, srv: srv, addr: lis.Addr().String(), stop: cancel, done: make(chan struct{})}
	go func() { _ = srv.Serve(lis) }()
	go func() { defer close(jm.done); reg.Run(ctx) }()
	return jm
}

func (jm *jobManager) close() {
	jm.stop()
	jm.srv.Stop()
	<-jm.done
}

// member runs Join in the background.
type member struct {
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	regs   int
	lost   int
}

func join(t *testing.T, jmAddr, id string, slots int, secret string) *member {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if secret != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(membership.SecretCredentials(secret)))
	}
	conn, err := grpc.NewClient(jmAddr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &member{cancel: cancel, done: make(chan error, 1)}
	go func() {
		defer conn.Close()
		m.done <- Join(ctx, conn, Config{ID: id, Address: "127.0.0.1:1" + id[len(id)-1:], Slots: slots, Logger: quiet,
			MaxBackoff: 50 * time.Millisecond, Registered: func(string) { m.mu.Lock(); m.regs++; m.mu.Unlock() },
			Lost: func(error) { m.mu.Lock(); m.lost++; m.mu.Unlock() }})
	}()
	return m
}

func (m *member) registrations() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.regs
}

func (m *member) leave(t *testing.T) {
	t.Helper()
	m.cancel()
	if err := <-m.done; err != nil {
		t.Fatalf("Join: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func slotsOf(reg *membership.Registry) map[string]int {
	out := map[string]int{}
	for _, tm := range reg.TaskManagers() {
		out[tm.ID] = tm.Slots
	}
	return out
}

// TestJoinHeartbeatAndLoss: task managers join with their slots; one that
// stops heartbeating is declared lost within the timeout (and an event
// says so) while the other stays.
func TestJoinHeartbeatAndLoss(t *testing.T) {
	jm := startJobManager(t, "127.0.0.1:0", "s3cret")
	defer jm.close()
	events, unsub := jm.reg.Subscribe()
	defer unsub()
	a, b := join(t, jm.addr, "tm1", 2, "s3cret"), join(t, jm.addr, "tm2", 3, "s3cret")
	defer b.leave(t)
	waitFor(t, "both task managers", func() bool { s := slotsOf(jm.reg); return s["tm1"] == 2 && s["tm2"] == 3 })
	// Heartbeats keep them registered well past the timeout.
	time.Sleep(500 * time.Millisecond)
	if s := slotsOf(jm.reg); len(s) != 2 {
		t.Fatalf("after 500 ms of heartbeats: %v", s)
	}
	a.leave(t)
	stopped := time.Now()
	for {
		select {
		case e := <-events:
			if e.Kind != membership.Lost || e.TM.ID != "tm1" {
				continue
			}
			if d := time.Since(stopped); d > 2*time.Second {
				t.Fatalf("loss detected after %s", d)
			}
			if !strings.Contains(e.Why, "no heartbeat") {
				t.Fatalf("loss reason %q", e.Why)
			}
			if s := slotsOf(jm.reg); len(s) != 1 || s["tm2"] != 3 {
				t.Fatalf("after the loss: %v", s)
			}
			return
		case <-time.After(5 * time.Second):
			t.Fatal("the silent task manager was never declared lost")
		}
	}
}

// TestWrongSecretIsRefused: a task manager without the cluster secret (or
// with another) cannot join, and Join says why instead of retrying.
func TestWrongSecretIsRefused(t *testing.T) {
	jm := startJobManager(t, "127.0.0.1:0", "s3cret")
	defer jm.close()
	for _, secret := range []string{"", "wrong"} {
		m := join(t, jm.addr, "tm9", 1, secret)
		select {
		case err := <-m.done:
			if err == nil || !strings.Contains(err.Error(), "cluster secret") {
				t.Fatalf("secret %q: Join returned %v", secret, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("secret %q: Join kept retrying", secret)
		}
		m.cancel()
		if len(jm.reg.TaskManagers()) != 0 {
			t.Fatalf("secret %q: registered %v", secret, jm.reg.TaskManagers())
		}
	}
}

// TestRegisterAgainAfterJobManagerRestart: a new job manager on the same
// address does not know the task manager's registration; the task manager
// registers again by itself.
func TestRegisterAgainAfterJobManagerRestart(t *testing.T) {
	jm := startJobManager(t, "127.0.0.1:0", "")
	addr := jm.addr
	m := join(t, addr, "tm1", 1, "")
	defer m.leave(t)
	waitFor(t, "the first registration", func() bool { return len(jm.reg.TaskManagers()) == 1 })
	jm.close()
	jm2 := startJobManager(t, addr, "")
	defer jm2.close()
	// The new registry records the task manager before the Register call
	// returns to it, so wait for both sides to see the registration.
	d := waitFor(t, "the registration with the new job manager", func() bool {
		return len(jm2.reg.TaskManagers()) == 1 && m.registrations() >= 2
	})
	m.mu.Lock()
	lost := m.lost
	m.mu.Unlock()
	if lost < 1 {
		t.Fatal("the task manager registered again without reporting the job manager lost")
	}
	t.Logf("registered again %s after the restart", d)
}

// TestRestartedTaskManagerIsLostThenJoins: a task manager registering
// again under its id (it restarted) loses what ran on the old one.
func TestRestartedTaskManagerIsLostThenJoins(t *testing.T) {
	jm := startJobManager(t, "127.0.0.1:0", "")
	defer jm.close()
	events, unsub := jm.reg.Subscribe()
	defer unsub()
	a := join(t, jm.addr, "tm1", 1, "")
	waitFor(t, "tm1", func() bool { return len(jm.reg.TaskManagers()) == 1 })
	a.leave(t)
	b := join(t, jm.addr, "tm1", 4, "")
	defer b.leave(t)
	var kinds []string
	for len(kinds) < 3 {
		select {
		case e := <-events:
			kinds = append(kinds, e.Kind.String())
		case <-time.After(5 * time.Second):
			t.Fatalf("events %v", kinds)
		}
	}
	if strings.Join(kinds, ",") != "joined,lost,joined" {
		t.Fatalf("events %v, want joined,lost,joined", kinds)
	}
	if s := slotsOf(jm.reg); s["tm1"] != 4 {
		t.Fatalf("after the restart: %v", s)
	}
}
