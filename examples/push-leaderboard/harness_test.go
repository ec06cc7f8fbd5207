package pushleaderboard

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	jmv1 "github.com/eddy-streaming/eddy/api/jobmanager/v1"
	pushv1 "github.com/eddy-streaming/eddy/api/push/v1"
	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/connectors/push"
	"github.com/eddy-streaming/eddy/embedded"
	"github.com/eddy-streaming/eddy/engine/cluster/jobmanager"
)

// testToken is the bearer token of the tests' job manager.
const testToken = "s3cret"

// compiler is the tests' jobmanager.Compiler: the planner through package
// embedded, as cmd/jobmanager wires it.
type compiler struct{ reg *connectors.Registry }

func (c compiler) Compile(ctx context.Context, req jobmanager.CompileRequest) (*jobmanager.Compiled, error) {
	p, err := embedded.Compile(ctx, "job.sql", req.SQL, embedded.Options{JobName: req.Name, Parallelism: req.Parallelism, Connectors: c.reg})
	if err != nil {
		return nil, err
	}
	return &jobmanager.Compiled{Graph: p.Graph, Statements: 3}, nil
}

func (c compiler) Explain(ctx context.Context, req jobmanager.CompileRequest) (string, error) {
	p, err := embedded.Compile(ctx, "job.sql", req.SQL, embedded.Options{Connectors: c.reg})
	if err != nil {
		return "", err
	}
	return p.Explain(), nil
}

// recorder is the push connector's publisher in the tests: the hub, plus a
// record of every row the hub accepted, in order: the job's output as its
// writers committed it.
type recorder struct {
	hub *push.Hub

	mu   sync.Mutex
	rows []*pushv1.Row
}

func (r *recorder) Publish(ctx context.Context, req *pushv1.PublishRequest) (bool, error) {
	// One lock around both keeps the record in the hub's order.
	r.mu.Lock()
	defer r.mu.Unlock()
	ok, err := r.hub.Publish(ctx, req)
	if ok {
		r.rows = append(r.rows, req.GetRows()...)
	}
	return ok, err
}

func (r *recorder) recorded() []*pushv1.Row {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.rows)
}

// cluster is a job manager serving in process: the service with a local
// runner, the REST and gRPC servers with the push hub and the demo page.
type cluster struct {
	t    *testing.T
	svc  *jobmanager.Service
	srv  *jobmanager.Server
	hub  *push.Hub
	rec  *recorder
	base string // http://HOST:PORT
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	hub := push.NewHub()
	rec := &recorder{hub: hub}
	reg := builtin.Registry()
	if err := reg.Register(push.New(rec)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runner, err := jobmanager.NewLocalRunner(jobmanager.LocalConfig{TaskManagers: 1, Slots: 4, Connectors: reg, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := jobmanager.NewService(ctx, jobmanager.ServiceConfig{Dir: t.TempDir(), Compiler: compiler{reg: reg}, Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := jobmanager.Start(ctx, svc, jobmanager.ServerConfig{
		RESTAddr: "127.0.0.1:0", RPCAddr: "127.0.0.1:0", Token: testToken,
		Push: hub, Handlers: map[string]http.Handler{Route: Handler()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		svc.Close()
		cancel()
	})
	return &cluster{t: t, svc: svc, srv: srv, hub: hub, rec: rec, base: "http://" + srv.RESTAddr()}
}

// submit submits text and returns the job's id.
func (c *cluster) submit(text string) string {
	c.t.Helper()
	resp, err := c.svc.SubmitJob(context.Background(), &jmv1.SubmitJobRequest{Sql: text, Name: "leaderboard", Parallelism: 1})
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.GetId()
}

// waitFinished waits until job id is FINISHED.
func (c *cluster) waitFinished(id string) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := c.svc.GetJob(context.Background(), &jmv1.GetJobRequest{Id: id})
		if err != nil {
			c.t.Fatal(err)
		}
		switch j.GetState() {
		case "FINISHED":
			return
		case "FAILED", "CANCELED":
			c.t.Fatalf("job %s is %s: %s", id, j.GetState(), j.GetMessage())
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job %s is still %s", id, j.GetState())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var rateOption = regexp.MustCompile(`'rows-per-second' = '\d+',`)

// boundedSQL is the example's job, bounded to rows gifts at rps rows per
// second.
func boundedSQL(rows, rps int) string {
	return rateOption.ReplaceAllString(SQL(), fmt.Sprintf("'rows-per-second' = '%d', 'number-of-rows' = '%d',", rps, rows))
}

// gift is one generated gift.
type gift struct{ room, user, amount int64 }

// readGifts reads the gifts table of text through the datagen connector
// (unthrottled): the rows the job reads, in the generator's order.
func readGifts(t *testing.T, text string) []gift {
	t.Helper()
	reg := builtin.Registry()
	_ = reg.Register(push.New(nil))
	plan, err := embedded.Compile(context.Background(), "job.sql", text, embedded.Options{Connectors: reg})
	if err != nil {
		t.Fatal(err)
	}
	var info connectors.TableInfo
	for _, v := range plan.Graph.Vertices {
		if src := v.Ops[0].Source; src != nil && src.Table == "gifts" {
			info = connectors.TableInfo{Name: src.Table, Schema: src.Schema, Options: maps(src.Options)}
		}
	}
	if info.Name == "" {
		t.Fatal("no gifts source in the plan")
	}
	info.Options["rows-per-second"] = "0"
	f, _ := reg.Lookup("datagen")
	src, err := f.(connectors.SourceFactory).NewSource(info)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rd, err := src.Reader(ctx, connectors.ReaderContext{Parallelism: 1, BatchSize: 1000, Alloc: memory.DefaultAllocator})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	col := func(rec arrow.RecordBatch, name string) []int64 {
		i := info.Schema.Index(name)
		if i < 0 {
			t.Fatalf("gifts has no column %s", name)
		}
		return rec.Column(i).(*array.Int64).Int64Values()
	}
	var out []gift
	for {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil {
			continue
		}
		rooms, users, amounts := col(rec, "room_id"), col(rec, "user_id"), col(rec, "amount")
		for i := range rooms {
			out = append(out, gift{rooms[i], users[i], amounts[i]})
		}
		rec.Release()
	}
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// reference is what the job must show for one room, computed from the
// generator's rows: each user's running totals and the final top 5.
type reference struct {
	prefix map[int64][]int64 // user -> total after 1, 2, ... gifts
	final  map[int64]int64   // user -> total
	top    []int64           // the 5 largest totals, descending
}

func roomReference(gifts []gift, room int64) reference {
	ref := reference{prefix: map[int64][]int64{}, final: map[int64]int64{}}
	for _, g := range gifts {
		if g.room != room {
			continue
		}
		ref.final[g.user] += g.amount
		ref.prefix[g.user] = append(ref.prefix[g.user], ref.final[g.user])
	}
	for _, v := range ref.final {
		ref.top = append(ref.top, v)
	}
	slices.SortFunc(ref.top, func(a, b int64) int { return cmp.Compare(b, a) })
	ref.top = ref.top[:min(5, len(ref.top))]
	return ref
}

// place is one row of the leaderboard table.
type place struct {
	Room  int64 `json:"room_id"`
	Rn    int64 `json:"rn"`
	User  int64 `json:"user_id"`
	Total int64 `json:"total"`
	Gifts int64 `json:"gifts"`
}

// msg is one message of a stream.
type msg struct {
	Kind   string          `json:"kind"`
	Row    json.RawMessage `json:"row"`
	Token  string          `json:"token"`
	Error  string          `json:"error"`
	Reload bool            `json:"reload"`
}

// checkBoard checks a room's board (rn -> row) against the reference: the
// totals by place are the top 5, each user has that total, users differ.
func checkBoard(t *testing.T, board map[int64]place, ref reference) {
	t.Helper()
	var got []int64
	users := map[int64]bool{}
	for rn := int64(1); rn <= int64(len(board)); rn++ {
		p, ok := board[rn]
		if !ok {
			t.Fatalf("the board has no place %d: %v", rn, board)
		}
		if ref.final[p.User] != p.Total || users[p.User] {
			t.Fatalf("place %d: user %d with total %d (the user's total is %d; seen before: %v)", rn, p.User, p.Total, ref.final[p.User], users[p.User])
		}
		users[p.User] = true
		got = append(got, p.Total)
	}
	if !slices.Equal(got, ref.top) {
		t.Fatalf("board totals %v, want %v", got, ref.top)
	}
}

// checkChange checks one upserted row against the user's running totals:
// after `gifts` gifts the user's total is `total`.
func checkChange(t *testing.T, p place, ref reference) {
	t.Helper()
	sums := ref.prefix[p.User]
	if p.Gifts < 1 || int(p.Gifts) > len(sums) || sums[p.Gifts-1] != p.Total {
		t.Fatalf("row %+v: user %d's total after %d gifts is not %d (running totals %v)", p, p.User, p.Gifts, p.Total, sums)
	}
}

// apply applies a message to a board keyed by rn.
func apply(t *testing.T, board map[int64]place, m msg) place {
	t.Helper()
	var p place
	if err := json.Unmarshal(m.Row, &p); err != nil {
		t.Fatalf("row %s: %v", m.Row, err)
	}
	switch m.Kind {
	case "+I", "+U":
		board[p.Rn] = p
	case "-U", "-D":
		delete(board, p.Rn)
	default:
		t.Fatalf("message kind %q", m.Kind)
	}
	return p
}

// sseClient reads a stream over Server-Sent Events.
type sseClient struct {
	cancel context.CancelFunc
	msgs   chan msg
	done   chan error
}

// openSSE subscribes to path (with query) with the bearer token as a
// header, and the optional Last-Event-ID.
func openSSE(t *testing.T, url, lastEventID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+testToken)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	c := &sseClient{cancel: cancel, msgs: make(chan msg, 1<<16), done: make(chan error, 1)}
	go func() {
		defer resp.Body.Close()
		defer close(c.msgs)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var id, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if data != "" {
					var m msg
					if err := json.Unmarshal([]byte(data), &m); err != nil {
						c.done <- fmt.Errorf("event %q: %v", data, err)
						return
					}
					if m.Kind != "error" && m.Token != id {
						c.done <- fmt.Errorf("event id %q differs from its token %q", id, m.Token)
						return
					}
					c.msgs <- m
				}
				id, data = "", ""
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			}
		}
		c.done <- sc.Err()
	}()
	return c
}

// next returns the next message, failing after a timeout.
func (c *sseClient) next(t *testing.T) (msg, bool) {
	t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			if err := <-c.done; err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
		}
		return m, ok
	case <-time.After(30 * time.Second):
		t.Fatal("no message for 30 s")
	}
	return msg{}, false
}

func (c *sseClient) close() { c.cancel() }
