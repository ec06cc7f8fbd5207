package taskmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	taskmanagerv1 "github.com/eddy-streaming/eddy/api/taskmanager/v1"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/engine/cluster/membership"
	"github.com/eddy-streaming/eddy/engine/exchange/netexchange"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

const testSecret = "s3cret"

// tmProc is a task manager's gRPC server with the exchange and Parts, as
// cmd/taskmanager wires them.
type tmProc struct {
	addr  string
	gs    *grpc.Server
	parts *Parts
}

func dialOpts() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(membership.SecretCredentials(testSecret))}
}

func startTM(t *testing.T, mem memory.Allocator) *tmProc {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	prefixes := []string{"/eddy.taskmanager.v1.TaskManager/", "/eddy.exchange.v1.ExchangeService/"}
	opts := append(netexchange.ServerOptions(),
		grpc.ChainUnaryInterceptor(membership.SecretInterceptor(testSecret, prefixes...)),
		grpc.ChainStreamInterceptor(membership.SecretStreamInterceptor(testSecret, prefixes...)))
	gs := grpc.NewServer(opts...)
	ex := netexchange.NewServer(netexchange.ServerConfig{GateWait: 5 * time.Second})
	ex.Register(gs)
	parts, err := NewParts(PartsConfig{ID: "tm-test", Address: lis.Addr().String(), Exchange: ex, Connectors: builtin.Registry(),
		StateDir: t.TempDir(), DialOptions: dialOpts(), Alloc: mem, StateCacheSize: 4 << 20, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	taskmanagerv1.RegisterTaskManagerServer(gs, parts)
	go func() { _ = gs.Serve(lis) }()
	return &tmProc{addr: lis.Addr().String(), gs: gs, parts: parts}
}

func (p *tmProc) close(t *testing.T) {
	t.Helper()
	if err := p.parts.Close(); err != nil {
		t.Errorf("closing parts: %v", err)
	}
	p.gs.Stop()
}

// fakeJM is a job manager's JobControl: it forwards acks, source ends and
// commits to a runtime.Coordinator (when there is one) and collects every
// call.
type fakeJM struct {
	taskmanagerv1.UnimplementedJobControlServer
	addr string
	gs   *grpc.Server

	mu    sync.Mutex
	coord *runtime.Coordinator
	acks  []runtime.SubtaskAck
	ends  []*taskmanagerv1.SourceEndedRequest
	parts chan *taskmanagerv1.PartEndedRequest
}

func startFakeJM(t *testing.T) *fakeJM {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	jm := &fakeJM{addr: lis.Addr().String(), parts: make(chan *taskmanagerv1.PartEndedRequest, 16),
		gs: grpc.NewServer(grpc.UnaryInterceptor(membership.SecretInterceptor(testSecret, "/eddy.taskmanager.v1.JobControl/")))}
	taskmanagerv1.RegisterJobControlServer(jm.gs, jm)
	go func() { _ = jm.gs.Serve(lis) }()
	return jm
}

func (jm *fakeJM) coordinator() *runtime.Coordinator {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	return jm.coord
}

func (jm *fakeJM) Ack(ctx context.Context, req *taskmanagerv1.AckRequest) (*taskmanagerv1.Empty, error) {
	var a runtime.SubtaskAck
	if err := json.Unmarshal(req.GetAckJson(), &a); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "ack_json: %v", err)
	}
	jm.mu.Lock()
	jm.acks = append(jm.acks, a)
	jm.mu.Unlock()
	if c := jm.coordinator(); c != nil {
		if err := c.Ack(ctx, a); err != nil {
			return nil, status.Error(codes.Unavailable, err.Error())
		}
	}
	return &taskmanagerv1.Empty{}, nil
}

func (jm *fakeJM) SourceEnded(ctx context.Context, req *taskmanagerv1.SourceEndedRequest) (*taskmanagerv1.Empty, error) {
	jm.mu.Lock()
	jm.ends = append(jm.ends, req)
	jm.mu.Unlock()
	if c := jm.coordinator(); c != nil {
		e := runtime.SourceEnd{Attempt: req.GetPart().GetAttempt(), Vertex: req.GetVertex(), Subtask: int(req.GetSubtask()), LastBarrier: req.GetLastBarrier()}
		if err := c.SourceEnded(ctx, e); err != nil {
			return nil, status.Error(codes.Unavailable, err.Error())
		}
	}
	return &taskmanagerv1.Empty{}, nil
}

func (jm *fakeJM) CommittedUpTo(ctx context.Context, req *taskmanagerv1.CommittedUpToRequest) (*taskmanagerv1.Empty, error) {
	if c := jm.coordinator(); c != nil {
		if err := c.CommittedUpTo(ctx, req.GetCheckpointId()); err != nil {
			return nil, status.Error(codes.Unavailable, err.Error())
		}
	}
	return &taskmanagerv1.Empty{}, nil
}

func (jm *fakeJM) PartEnded(ctx context.Context, req *taskmanagerv1.PartEndedRequest) (*taskmanagerv1.Empty, error) {
	jm.parts <- req
	return &taskmanagerv1.Empty{}, nil
}

// partEnded waits for the next PartEnded.
func (jm *fakeJM) partEnded(t *testing.T, within time.Duration) *taskmanagerv1.PartEndedRequest {
	t.Helper()
	select {
	case req := <-jm.parts:
		return req
	case <-time.After(within):
		t.Fatalf("no PartEnded within %s", within)
		return nil
	}
}

// rpcPeers are the coordinator's peers: the part, over gRPC.
type rpcPeers struct {
	t   *testing.T
	tm  taskmanagerv1.TaskManagerClient
	ref *taskmanagerv1.PartRef
}

func (p rpcPeers) call(what string, f func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f(ctx); err != nil && status.Code(err) != codes.FailedPrecondition { // the part may have ended
		p.t.Errorf("%s: %v", what, err)
	}
}

func (p rpcPeers) TriggerBarrier(b stream.Barrier, halt bool) {
	p.call("trigger", func(ctx context.Context) error {
		_, err := p.tm.TriggerBarrier(ctx, &taskmanagerv1.TriggerBarrierRequest{Part: p.ref, CheckpointId: b.CheckpointID, TimestampMs: b.TimestampMs, Savepoint: b.Savepoint, Halt: halt})
		return err
	})
}
func (p rpcPeers) ResumeSources() {
	p.call("resume", func(ctx context.Context) error { _, err := p.tm.ResumeSources(ctx, p.ref); return err })
}
func (p rpcPeers) NotifyComplete(id int64, stop bool) {
	p.call("complete", func(ctx context.Context) error {
		_, err := p.tm.NotifyComplete(ctx, &taskmanagerv1.NotifyCompleteRequest{Part: p.ref, CheckpointId: id, Stop: stop})
		return err
	})
}
func (p rpcPeers) Stop(string) {
	p.call("stop", func(ctx context.Context) error { _, err := p.tm.StopPart(ctx, p.ref); return err })
}

// inputRow is a row of the test job's input.
type inputRow struct {
	k, ts, v int64
}

var inSchema = types.Schema{Fields: []types.Field{
	{Name: "k", Type: types.BigIntType}, {Name: "ts", Type: types.TimestampType}, {Name: "v", Type: types.BigIntType}}}

var outSchema = types.Schema{Fields: []types.Field{
	{Name: "k", Type: types.BigIntType},
	{Name: "window_start", Type: types.TimestampType}, {Name: "window_end", Type: types.TimestampType},
	{Name: "s", Type: types.BigIntType}, {Name: "c", Type: types.Type{Kind: types.BigInt, NotNull: true}}}}

const windowMs = 1000

// windowGraph is the test job: csv files of in, hashed on k to a 1 s
// tumbling window aggregation (SUM(v), COUNT(*) per k) written as csv to
// out, every vertex at parallelism p. Its watermark delay exceeds the
// data's time span, so every window fires at the end of input and no row
// is late.
func windowGraph(in, out string, p int) *jobgraph.Graph {
	src := &jobgraph.OperatorSpec{ID: "src", Name: "Source(in)", Output: inSchema, Source: &jobgraph.SourceSpec{
		TableRef:  jobgraph.TableRef{Table: "in", Connector: "filesystem", Options: map[string]string{"path": in, "format": "csv"}, Schema: inSchema},
		Watermark: &jobgraph.WatermarkSpec{Column: 1, DelayMs: 1 << 40}}}
	agg := &jobgraph.OperatorSpec{ID: "agg", Name: "WindowAgg", Output: outSchema, WindowAgg: &jobgraph.WindowAggSpec{
		Window:    jobgraph.WindowSpec{Kind: jobgraph.Tumble, TimeColumn: 1, SizeMs: windowMs},
		GroupKeys: []int{0},
		Aggs: []jobgraph.AggCall{{Func: jobgraph.Sum, Arg: 2, Type: types.BigIntType, Name: "s"},
			{Func: jobgraph.CountStar, Arg: -1, Type: types.Type{Kind: types.BigInt, NotNull: true}, Name: "c"}}}}
	sink := &jobgraph.OperatorSpec{ID: "sink", Name: "Sink(out)", Output: outSchema, Sink: &jobgraph.SinkSpec{
		TableRef: jobgraph.TableRef{Table: "out", Connector: "filesystem", Options: map[string]string{"path": out, "format": "csv"}, Schema: outSchema}}}
	return &jobgraph.Graph{Name: "windows", Vertices: []*jobgraph.Vertex{
		{ID: "v-src", Parallelism: p, Ops: []*jobgraph.OperatorSpec{src}},
		{ID: "v-agg", Parallelism: p, Ops: []*jobgraph.OperatorSpec{agg, sink}},
	}, Edges: []*jobgraph.Edge{{From: "v-src", To: "v-agg", Exchange: jobgraph.Hash, Keys: []int{0}}}}
}

func tsText(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000") }

// writeInput writes rows as csv files (random sizes) into dir.
func writeInput(t *testing.T, r *rand.Rand, dir string, rows []inputRow) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f := 0; len(rows) > 0; f++ {
		n := min(len(rows), 1+r.IntN(2*len(rows)/3+1))
		var b strings.Builder
		for _, row := range rows[:n] {
			fmt.Fprintf(&b, "%d,%s,%d\n", row.k, tsText(row.ts), row.v)
		}
		rows = rows[n:]
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("in-%03d.csv", f)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// reference computes the job's output a row at a time, as csv lines.
func reference(rows []inputRow) []string {
	type key struct{ k, w int64 }
	type acc struct{ s, c int64 }
	m := map[key]*acc{}
	for _, r := range rows {
		w := r.ts - ((r.ts%windowMs)+windowMs)%windowMs
		a := m[key{r.k, w}]
		if a == nil {
			a = &acc{}
			m[key{r.k, w}] = a
		}
		a.s += r.v
		a.c++
	}
	var out []string
	for k, a := range m {
		out = append(out, fmt.Sprintf("%d,%s,%s,%d,%d", k.k, tsText(k.w), tsText(k.w+windowMs), a.s, a.c))
	}
	sort.Strings(out)
	return out
}

// readOutput returns the lines of the visible files under dir, sorted,
// and the names of hidden files left there.
func readOutput(t *testing.T, dir string) (lines, hidden []string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
			hidden = append(hidden, e.Name())
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	sort.Strings(lines)
	return lines, hidden
}

func sameLines(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d output rows, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("output row %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

func deployReq(jm *fakeJM, tm *tmProc, g *jobgraph.Graph, job string, attempt int64, ck string) *taskmanagerv1.DeployRequest {
	data, _ := json.Marshal(g)
	p := 1
	for _, v := range g.Vertices {
		p = max(p, v.Parallelism)
	}
	req := &taskmanagerv1.DeployRequest{Part: &taskmanagerv1.PartRef{JobId: job, Attempt: attempt}, GraphJson: data,
		SlotAddresses: map[int32]string{}, CheckpointDir: ck, JobManager: jm.addr, MaxParallelism: 128}
	for s := range p {
		req.Slots = append(req.Slots, int32(s))
		req.SlotAddresses[int32(s)] = tm.addr
	}
	return req
}

// tmClient dials a task manager; close the connection before checking
// for leaked goroutines.
func tmClient(t *testing.T, addr string) (taskmanagerv1.TaskManagerClient, func()) {
	t.Helper()
	cc, err := grpc.NewClient(addr, dialOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	return taskmanagerv1.NewTaskManagerClient(cc), func() { _ = cc.Close() }
}

// TestDeployBoundedJobAsOnePart: a bounded windowed job deployed as one
// part holding every slot, checkpointed by a coordinator in the fake job
// manager over RPC, ends; PartEnded reports no error and its result; the
// committed output equals the reference.
func TestDeployBoundedJobAsOnePart(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, p := range []int{1, 3} {
		t.Run(fmt.Sprintf("p%d", p), func(t *testing.T) { runBounded(t, p) })
	}
}

func runBounded(t *testing.T, p int) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	n := 60_000 + r.IntN(40_000)
	rows := make([]inputRow, n)
	base := int64(1_700_000_000_000)
	for i := range rows {
		rows[i] = inputRow{k: int64(r.IntN(50)), ts: base + int64(r.IntN(20_000)), v: int64(r.IntN(1000) - 100)}
	}
	dir := t.TempDir()
	in, out, ck := filepath.Join(dir, "in"), filepath.Join(dir, "out"), filepath.Join(dir, "ck")
	writeInput(t, r, in, rows)
	want := reference(rows)

	jm := startFakeJM(t)
	defer jm.gs.Stop()
	tm := startTM(t, mem)
	defer tm.close(t)
	g := windowGraph(in, out, p)
	client, closeClient := tmClient(t, tm.addr)
	defer closeClient()
	ref := &taskmanagerv1.PartRef{JobId: "job-1", Attempt: 1}
	st, err := checkpoint.NewDirStorage(ck, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	coord, err := runtime.NewCoordinator(ctx, runtime.CoordinatorConfig{Job: g.Name, MaxParallelism: 128, Subtasks: runtime.Subtasks(g),
		Committers: 1, Storage: st, Interval: 5 * time.Millisecond, Peers: rpcPeers{t: t, tm: client, ref: ref}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	jm.mu.Lock()
	jm.coord = coord
	jm.mu.Unlock()
	if _, err := client.Deploy(ctx, deployReq(jm, tm, g, "job-1", 1, ck)); err != nil {
		t.Fatal(err)
	}
	coordDone := make(chan struct{})
	go func() { defer close(coordDone); coord.Run(ctx) }()
	if got := tm.parts.Running(); len(got) != 1 || got[0] != "job-1/1" {
		t.Fatalf("running %v", got)
	}
	ended := jm.partEnded(t, time.Minute)
	cancel()
	<-coordDone
	if ended.GetError() != "" {
		t.Fatalf("the part failed: %s", ended.GetError())
	}
	if ended.GetPart().GetJobId() != "job-1" || ended.GetPart().GetAttempt() != 1 || ended.GetTaskmanagerId() != "tm-test" {
		t.Fatalf("PartEnded names %v from %q", ended.GetPart(), ended.GetTaskmanagerId())
	}
	var res runtime.PartResult
	if err := json.Unmarshal(ended.GetResultJson(), &res); err != nil {
		t.Fatalf("result_json: %v", err)
	}
	if res.RecordsIn != int64(n) || res.RecordsOut != int64(len(want)) {
		t.Fatalf("result: %d rows in, %d out; want %d, %d", res.RecordsIn, res.RecordsOut, n, len(want))
	}
	stats := coord.Stats()
	jm.mu.Lock()
	acks, ends := len(jm.acks), len(jm.ends)
	for _, a := range jm.acks {
		if a.Attempt != 1 || a.Error != "" {
			t.Errorf("ack %+v", a)
		}
	}
	jm.mu.Unlock()
	t.Logf("p=%d: %d rows, %d windows, %d checkpoints completed (%d failed), %d acks, %d source ends", p, n, len(want), stats.Completed, stats.Failed, acks, ends)
	if ends != p {
		t.Errorf("%d source ends reported, want %d", ends, p)
	}
	// Checkpoints complete when the job outlasts a few intervals (not
	// always: the input is small); TestStaleAttemptsAndCancel drives one
	// by hand.
	got, hidden := readOutput(t, out)
	if len(hidden) > 0 {
		t.Errorf("hidden files left in the output: %v", hidden)
	}
	sameLines(t, got, want)
	waitFor(t, "the part to leave", func() bool { return len(tm.parts.Running()) == 0 })
	if ents, err := os.ReadDir(tm.parts.cfg.StateDir); err != nil || len(ents) != 0 {
		t.Errorf("the part's state directory was not removed: %v %v", ents, err)
	}
}

// likesGraph is a job that runs until cancelled: a throttled datagen
// stream into a blackhole sink.
func likesGraph(p int) *jobgraph.Graph {
	var fields []types.Field
	for _, f := range []struct {
		n string
		t types.Type
	}{{"room_id", types.BigIntType}, {"user_id", types.BigIntType}, {"count", types.IntType}, {"ts", types.TimestampType}} {
		fields = append(fields, types.Field{Name: f.n, Type: f.t})
	}
	sch := types.Schema{Fields: fields}
	src := &jobgraph.OperatorSpec{ID: "src", Name: "Source(likes)", Output: sch, Source: &jobgraph.SourceSpec{
		TableRef: jobgraph.TableRef{Table: "likes", Connector: "datagen", Options: map[string]string{"stream": "likes", "rows-per-second": "200"}, Schema: sch}}}
	sink := &jobgraph.OperatorSpec{ID: "sink", Name: "Sink(bh)", Output: sch, Sink: &jobgraph.SinkSpec{
		TableRef: jobgraph.TableRef{Table: "bh", Connector: "blackhole", Options: map[string]string{}, Schema: sch}}}
	return &jobgraph.Graph{Name: "likes", Vertices: []*jobgraph.Vertex{{ID: "v1", Parallelism: p, Ops: []*jobgraph.OperatorSpec{src, sink}}}}
}

// TestStaleAttemptsAndCancel: calls of attempts not running are refused
// with FAILED_PRECONDITION, a newer attempt supersedes the running one
// (which reports its end with an error), and CancelPart ends a part with
// an error naming the reason.
func TestStaleAttemptsAndCancel(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	jm := startFakeJM(t)
	defer jm.gs.Stop()
	tm := startTM(t, mem)
	defer tm.close(t)
	client, closeClient := tmClient(t, tm.addr)
	defer closeClient()
	ctx := context.Background()
	g := likesGraph(2)
	ck := filepath.Join(t.TempDir(), "ck")

	if _, err := client.Deploy(ctx, deployReq(jm, tm, g, "job-1", 2, ck)); err != nil {
		t.Fatal(err)
	}
	wantCode := func(what string, err error, code codes.Code, text string) {
		t.Helper()
		if status.Code(err) != code || !strings.Contains(err.Error(), text) {
			t.Fatalf("%s: %v, want %s with %q", what, err, code, text)
		}
	}
	_, err := client.Deploy(ctx, deployReq(jm, tm, g, "job-1", 1, ck))
	wantCode("deploy an older attempt", err, codes.FailedPrecondition, "stale")
	_, err = client.Deploy(ctx, deployReq(jm, tm, g, "job-1", 2, ck))
	wantCode("deploy the running attempt again", err, codes.FailedPrecondition, "stale")
	_, err = client.TriggerBarrier(ctx, &taskmanagerv1.TriggerBarrierRequest{Part: &taskmanagerv1.PartRef{JobId: "job-1", Attempt: 1}, CheckpointId: 1})
	wantCode("trigger an older attempt", err, codes.FailedPrecondition, "not current")
	_, err = client.NotifyComplete(ctx, &taskmanagerv1.NotifyCompleteRequest{Part: &taskmanagerv1.PartRef{JobId: "job-9", Attempt: 2}, CheckpointId: 1})
	wantCode("complete an unknown job", err, codes.FailedPrecondition, "no part")
	_, err = client.CancelPart(ctx, &taskmanagerv1.CancelPartRequest{Part: &taskmanagerv1.PartRef{JobId: "job-1", Attempt: 3}})
	wantCode("cancel a newer attempt", err, codes.FailedPrecondition, "not current")

	bad := deployReq(jm, tm, g, "job-2", 1, ck)
	bad.SlotAddresses[1] = "127.0.0.1:1"
	_, err = client.Deploy(ctx, bad)
	wantCode("deploy a slot placed elsewhere", err, codes.InvalidArgument, "slot 1 is placed at 127.0.0.1:1")
	bad = deployReq(jm, tm, g, "job-2", 1, ck)
	bad.GraphJson = []byte("{")
	_, err = client.Deploy(ctx, bad)
	wantCode("deploy a broken graph", err, codes.InvalidArgument, "graph_json")
	bad = deployReq(jm, tm, g, "job-2", 1, ck)
	bad.MaxParallelism = 64
	g2 := likesGraph(2)
	g2.MaxParallelism = 32
	bad.GraphJson, _ = json.Marshal(g2)
	_, err = client.Deploy(ctx, bad)
	wantCode("deploy with another max parallelism", err, codes.InvalidArgument, "max_parallelism 64 differs from the graph's 32")

	// A newer attempt supersedes attempt 2.
	if _, err := client.Deploy(ctx, deployReq(jm, tm, g, "job-1", 3, ck)); err != nil {
		t.Fatal(err)
	}
	ended := jm.partEnded(t, 10*time.Second)
	if ended.GetPart().GetAttempt() != 2 || !strings.Contains(ended.GetError(), "superseded by attempt 3") {
		t.Fatalf("attempt 2 ended: %v %q", ended.GetPart(), ended.GetError())
	}
	if got := tm.parts.Running(); len(got) != 1 || got[0] != "job-1/3" {
		t.Fatalf("running %v", got)
	}
	// Attempt 3 takes a checkpoint driven by hand.
	ref3 := &taskmanagerv1.PartRef{JobId: "job-1", Attempt: 3}
	if _, err := client.TriggerBarrier(ctx, &taskmanagerv1.TriggerBarrierRequest{Part: ref3, CheckpointId: 1, TimestampMs: time.Now().UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both subtasks' acks", func() bool {
		jm.mu.Lock()
		defer jm.mu.Unlock()
		n := 0
		for _, a := range jm.acks {
			if a.Attempt == 3 && a.CheckpointID == 1 && a.Error == "" && a.States["src"] != nil {
				n++
			}
		}
		return n == 2
	})
	if _, err := client.NotifyComplete(ctx, &taskmanagerv1.NotifyCompleteRequest{Part: ref3, CheckpointId: 1}); err != nil {
		t.Fatal(err)
	}
	// CancelPart ends it with an error.
	if _, err := client.CancelPart(ctx, &taskmanagerv1.CancelPartRequest{Part: ref3, Reason: "task manager tm-x lost"}); err != nil {
		t.Fatal(err)
	}
	ended = jm.partEnded(t, 10*time.Second)
	if ended.GetPart().GetAttempt() != 3 || !strings.Contains(ended.GetError(), "task manager tm-x lost") {
		t.Fatalf("attempt 3 ended: %v %q", ended.GetPart(), ended.GetError())
	}
	var res runtime.PartResult
	if err := json.Unmarshal(ended.GetResultJson(), &res); err != nil || res.RecordsIn == 0 {
		t.Fatalf("result_json %s: %v", ended.GetResultJson(), err)
	}
	waitFor(t, "the part to leave", func() bool { return len(tm.parts.Running()) == 0 })
	_, err = client.StopPart(ctx, ref3)
	wantCode("stop an ended part", err, codes.FailedPrecondition, "no part")
}

// TestCloseCancelsParts: closing Parts cancels a running part and reports
// its end; deploys after Close are refused.
func TestCloseCancelsParts(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	jm := startFakeJM(t)
	defer jm.gs.Stop()
	tm := startTM(t, mem)
	defer tm.gs.Stop()
	client, closeClient := tmClient(t, tm.addr)
	defer closeClient()
	g := likesGraph(1)
	if _, err := client.Deploy(context.Background(), deployReq(jm, tm, g, "job-1", 1, "")); err != nil {
		t.Fatal(err)
	}
	if err := tm.parts.Close(); err != nil {
		t.Fatal(err)
	}
	ended := jm.partEnded(t, 10*time.Second)
	if !strings.Contains(ended.GetError(), "shutting down") {
		t.Fatalf("ended with %q", ended.GetError())
	}
	_, err := client.Deploy(context.Background(), deployReq(jm, tm, g, "job-1", 2, ""))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("deploy after close: %v", err)
	}
}
