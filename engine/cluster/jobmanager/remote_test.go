package jobmanager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	tmv1 "github.com/eddy-streaming/eddy/api/taskmanager/v1"
	"github.com/eddy-streaming/eddy/engine/cluster/membership"
	"github.com/eddy-streaming/eddy/engine/cluster/taskmanager"
	"github.com/eddy-streaming/eddy/engine/exchange/netexchange"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

const remoteSecret = "remote-secret"

var quietLog = func() *slog.Logger {
	if os.Getenv("EDDY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}()

func remoteDial() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(membership.SecretCredentials(remoteSecret))}
}

// testTM is an in-process task manager: its gRPC server (exchange and
// Parts) and its join loop.
type testTM struct {
	id    string
	gs    *grpc.Server
	parts *taskmanager.Parts
	stop  context.CancelFunc
	done  chan struct{}
}

func startTestTM(t *testing.T, id, jm string, slots int) *testTM {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	prefixes := []string{"/" + tmv1.TaskManager_ServiceDesc.ServiceName + "/", "/eddy.exchange.v1.ExchangeService/"}
	opts := append(netexchange.ServerOptions(),
		grpc.ChainUnaryInterceptor(membership.SecretInterceptor(remoteSecret, prefixes...)),
		grpc.ChainStreamInterceptor(membership.SecretStreamInterceptor(remoteSecret, prefixes...)))
	gs := grpc.NewServer(opts...)
	ex := netexchange.NewServer(netexchange.ServerConfig{GateWait: 5 * time.Second})
	ex.Register(gs)
	parts, err := taskmanager.NewParts(taskmanager.PartsConfig{ID: id, Address: lis.Addr().String(), Exchange: ex,
		Connectors: testRegistry(), StateDir: t.TempDir(), DialOptions: remoteDial(), StateCacheSize: 4 << 20, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	tmv1.RegisterTaskManagerServer(gs, parts)
	go func() { _ = gs.Serve(lis) }()
	conn, err := grpc.NewClient(jm, remoteDial()...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tm := &testTM{id: id, gs: gs, parts: parts, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		defer conn.Close()
		_ = taskmanager.Join(ctx, conn, taskmanager.Config{ID: id, Address: lis.Addr().String(), Slots: slots, Logger: quietLog})
	}()
	return tm
}

// kill ends the task manager as abruptly as an in-process one can: no
// more heartbeats, its server gone, its parts torn down.
func (tm *testTM) kill() {
	tm.stop()
	<-tm.done
	tm.gs.Stop()
	_ = tm.parts.Close()
}

// remoteCluster is a job manager's gRPC server (membership and
// JobControl) with a RemoteRunner, and its task managers.
type remoteCluster struct {
	members *membership.Registry
	runner  *RemoteRunner
	gs      *grpc.Server
	addr    string
	tms     []*testTM
	stop    context.CancelFunc
}

func startRemoteCluster(t *testing.T, tms, slots int) *remoteCluster {
	t.Helper()
	members := membership.New(membership.Config{HeartbeatInterval: 100 * time.Millisecond, HeartbeatTimeout: time.Second, Logger: quietLog})
	ctx, cancel := context.WithCancel(context.Background())
	go members.Run(ctx)
	runner, err := NewRemoteRunner(RemoteConfig{Members: members, Connectors: testRegistry(), DialOptions: remoteDial(),
		RestartStrategy: runtimeStrategy(), EndWait: 5 * time.Second, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	prefixes := []string{membership.MethodPrefix, JobControlPrefix}
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(membership.SecretInterceptor(remoteSecret, prefixes...)))
	members.Register(gs)
	runner.Register(gs)
	go func() { _ = gs.Serve(lis) }()
	c := &remoteCluster{members: members, runner: runner, gs: gs, addr: lis.Addr().String(), stop: cancel}
	runner.SetJobManagerAddress(c.addr)
	for i := range tms {
		c.tms = append(c.tms, startTestTM(t, fmt.Sprintf("tm-%d", i), c.addr, slots))
	}
	deadline := time.Now().Add(10 * time.Second)
	for runner.TotalSlots() < tms*slots {
		if time.Now().After(deadline) {
			t.Fatalf("task managers did not join: %d slots", runner.TotalSlots())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c
}

func (c *remoteCluster) close() {
	for _, tm := range c.tms {
		tm.kill()
	}
	c.gs.Stop()
	c.runner.Close()
	c.stop()
}

// likes is a throttled datagen stream into a blackhole: it runs until
// cancelled.
func likesJob(p int) *jobgraph.Graph {
	sch := types.Schema{Fields: []types.Field{{Name: "room_id", Type: types.BigIntType}, {Name: "user_id", Type: types.BigIntType},
		{Name: "count", Type: types.IntType}, {Name: "ts", Type: types.TimestampType}}}
	src := &jobgraph.OperatorSpec{ID: "src", Name: "Source(likes)", Output: sch, Source: &jobgraph.SourceSpec{
		TableRef: jobgraph.TableRef{Table: "likes", Connector: "datagen", Options: map[string]string{"stream": "likes", "rows-per-second": "500"}, Schema: sch}}}
	sink := &jobgraph.OperatorSpec{ID: "sink", Name: "Sink(bh)", Output: sch, Sink: &jobgraph.SinkSpec{
		TableRef: jobgraph.TableRef{Table: "bh", Connector: "blackhole", Options: map[string]string{}, Schema: sch}}}
	return &jobgraph.Graph{Name: "likes", MaxParallelism: jobgraph.DefaultMaxParallelism,
		Vertices: []*jobgraph.Vertex{{ID: "v1", Parallelism: p, Ops: []*jobgraph.OperatorSpec{src, sink}}}}
}

func waitUntil(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRemoteRunnerFailover runs a job at parallelism 3 on three task
// managers of two slots: slots spread one per task manager; checkpoints
// complete; killing a task manager holding a part fails the attempt, which
// restarts from a checkpoint on the remaining slots; a savepoint is taken
// and the job stops with one, ending with no error.
func TestRemoteRunnerFailover(t *testing.T) {
	c := startRemoteCluster(t, 3, 2)
	defer c.close()
	st, err := checkpoint.NewDirStorage(filepath.Join(t.TempDir(), "ck"), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.runner.Start(ctx, JobSpec{ID: "big", Name: "big"}, likesJob(7), nil, st); !errors.Is(err, ErrNoSlots) {
		t.Fatalf("a job at parallelism 7 on 6 slots: want ErrNoSlots, got %v", err)
	}
	ex, err := c.runner.Start(ctx, JobSpec{ID: "j1", Name: "likes", CheckpointInterval: 100 * time.Millisecond}, likesJob(3), nil, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range c.runner.TaskManagers() {
		if tm.FreeSlots != 1 {
			t.Errorf("task manager %s: %d free slots, want 1 (slots spread out)", tm.ID, tm.FreeSlots)
		}
	}
	waitUntil(t, "two checkpoints", 20*time.Second, func() bool { return ex.Status().Checkpoints >= 2 })
	before := ex.Status().LastCheckpoint.ID
	c.tms[1].kill()
	waitUntil(t, "a restart", 20*time.Second, func() bool { return ex.Status().Restarts >= 1 })
	waitUntil(t, "a checkpoint after the restart", 30*time.Second, func() bool {
		s := ex.Status()
		return !s.Restarting && s.LastCheckpoint != nil && s.LastCheckpoint.ID > before+1
	})
	s := ex.Status()
	if len(s.Failures) == 0 {
		t.Fatalf("no failure recorded after the restart")
	}
	t.Logf("failure: %s", s.Failures[0].Message)
	waitUntil(t, "the killed task manager's loss", 5*time.Second, func() bool { return len(c.runner.TaskManagers()) == 2 })
	free := 0
	for _, tm := range c.runner.TaskManagers() {
		if tm.ID == "tm-1" {
			t.Errorf("the killed task manager is still listed")
		}
		free += tm.FreeSlots
	}
	if free != 1 {
		t.Errorf("%d free slots after the restart on 4, want 1", free)
	}
	path, err := ex.Savepoint(ctx)
	if err != nil {
		t.Fatalf("savepoint: %v", err)
	}
	stop, err := ex.StopWithSavepoint(ctx)
	if err != nil {
		t.Fatalf("stop with savepoint: %v", err)
	}
	select {
	case <-ex.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("the job did not end after its stop savepoint")
	}
	if err := ex.Err(); err != nil {
		t.Fatalf("stopped job: %v", err)
	}
	if got := ex.Status().SavepointPath; got != stop || stop == path {
		t.Fatalf("savepoint path %q, stop %q, earlier %q", got, stop, path)
	}
	waitUntil(t, "slots released", 5*time.Second, func() bool {
		free := 0
		for _, tm := range c.runner.TaskManagers() {
			free += tm.FreeSlots
		}
		return free == 4
	})
}

func runtimeStrategy() runtime.RestartStrategy {
	return runtime.RestartStrategy{MaxAttempts: 3, InitialDelay: 100 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2}
}

// TestRemoteRunnerLiveStatus runs a throttled job with event-time
// watermarks at parallelism 3 on two task managers and checks that, while it
// runs, Execution.Status shows the parts' live reports merged: records
// growing, a watermark that never goes back, back-pressure within [0, 1];
// once it stopped, the final counts (the parts' results) are at least the
// last live ones and every row read was written.
func TestRemoteRunnerLiveStatus(t *testing.T) {
	c := startRemoteCluster(t, 2, 2)
	defer c.close()
	st, err := checkpoint.NewDirStorage(filepath.Join(t.TempDir(), "ck"), 0)
	if err != nil {
		t.Fatal(err)
	}
	g := likesJob(3)
	g.Vertices[0].Ops[0].Source.Watermark = &jobgraph.WatermarkSpec{Column: 3, DelayMs: 100}
	ctx := context.Background()
	ex, err := c.runner.Start(ctx, JobSpec{ID: "live", Name: "likes", CheckpointInterval: 200 * time.Millisecond}, g, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	vertex := func(s ExecStatus) runtime.VertexStatus {
		t.Helper()
		if len(s.Vertices) != 1 || s.Vertices[0].ID != "v1" || s.Vertices[0].Parallelism != 3 {
			t.Fatalf("vertices %+v, want v1 at parallelism 3", s.Vertices)
		}
		return s.Vertices[0]
	}
	var first runtime.VertexStatus
	waitUntil(t, "live records and a watermark", 20*time.Second, func() bool {
		first = vertex(ex.Status())
		return first.RecordsIn > 0 && first.Watermark != stream.MinWatermark
	})
	prev := first
	for range 3 {
		waitUntil(t, "records_in to grow", 10*time.Second, func() bool {
			s := ex.Status()
			if s.Ended {
				t.Fatalf("the job ended while running: %v", ex.Err())
			}
			v := vertex(s)
			if v.RecordsIn < prev.RecordsIn || v.RecordsOut < prev.RecordsOut {
				t.Fatalf("live records went back: %+v after %+v", v, prev)
			}
			if v.Watermark < prev.Watermark || v.Watermark == stream.MaxWatermark {
				t.Fatalf("live watermark %d after %d (running job)", v.Watermark, prev.Watermark)
			}
			if v.Backpressure < 0 || v.Backpressure > 1 {
				t.Fatalf("back-pressure %v outside [0, 1]", v.Backpressure)
			}
			grew := v.RecordsIn > prev.RecordsIn && v.Watermark > prev.Watermark
			prev = v
			return grew
		})
	}
	t.Logf("live: first %+v, last %+v", first, prev)
	if _, err := ex.StopWithSavepoint(ctx); err != nil {
		t.Fatalf("stop with savepoint: %v", err)
	}
	select {
	case <-ex.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("the job did not end after its stop savepoint")
	}
	if err := ex.Err(); err != nil {
		t.Fatalf("stopped job: %v", err)
	}
	final := vertex(ex.Status())
	if final.RecordsIn < prev.RecordsIn || final.RecordsOut < prev.RecordsOut {
		t.Fatalf("final records %+v below the last live %+v", final, prev)
	}
	if final.RecordsIn != final.RecordsOut {
		t.Fatalf("final: %d rows read, %d written (source -> sink chain)", final.RecordsIn, final.RecordsOut)
	}
}
