package push

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	pushv1 "github.com/eddy-streaming/eddy/api/push/v1"
)

func serve(t *testing.T, hub *Hub, opts HandlerOptions) (*httptest.Server, *Handler) {
	t.Helper()
	h := NewHandler(hub, opts)
	mux := http.NewServeMux()
	mux.Handle("GET /v1/streams/{table}", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return srv, h
}

// sseLines opens an SSE stream and returns its lines.
func sseLines(t *testing.T, url string, header ...string) (<-chan string, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("GET %s: %s %s", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	ch := make(chan string, 1<<14)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch, cancel
}

// sseData returns the next n data messages, checking each id is its token.
func sseData(t *testing.T, lines <-chan string, n int) []rawMsg {
	t.Helper()
	var out []rawMsg
	id := ""
	for len(out) < n {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended after %d messages of %d", len(out), n)
			}
			switch {
			case strings.HasPrefix(l, "id: "):
				id = l[4:]
			case strings.HasPrefix(l, "data: "):
				var m rawMsg
				if err := json.Unmarshal([]byte(l[6:]), &m); err != nil {
					t.Fatal(err)
				}
				if m.Kind != "error" && m.Token != id {
					t.Fatalf("id %q, token %q", id, m.Token)
				}
				out = append(out, m)
				id = ""
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d messages of %d", len(out), n)
		}
	}
	return out
}

// publishRandom publishes n rows with keys 0..2 and returns their JSON
// by key ("" : all).
func publishRandom(t *testing.T, hub *Hub, r *rand.Rand, n int, byKey map[string][]string) {
	t.Helper()
	var rows []*pushv1.Row
	for range n {
		k := fmt.Sprint(r.IntN(3))
		j := fmt.Sprintf(`{"k":%s,"v":%d}`, k, r.Int64())
		rows = append(rows, &pushv1.Row{Kind: "+U", Key: k, Json: []byte(j)})
		byKey[k] = append(byKey[k], j)
		byKey[""] = append(byKey[""], j)
	}
	if _, err := hub.Publish(context.Background(), &pushv1.PublishRequest{Table: "t", KeyColumn: "k", BufferSize: 1000, Rows: rows}); err != nil {
		t.Fatal(err)
	}
}

// TestSSE: filtering, resumption by Last-Event-ID (which wins over a stale
// ?token=, as EventSource reconnects with its first URL), heartbeats,
// a malformed token, and Close ending the streams.
func TestSSE(t *testing.T) {
	hub := NewHub()
	srv, h := serve(t, hub, HandlerOptions{Heartbeat: 50 * time.Millisecond})
	r := rand.New(rand.NewPCG(8, 9))
	byKey := map[string][]string{}
	lines, cancel := sseLines(t, srv.URL+"/v1/streams/t?key=1")
	publishRandom(t, hub, r, 40, byKey)
	n := len(byKey["1"])
	first := sseData(t, lines, n/2)
	cancel()
	publishRandom(t, hub, r, 40, byKey)
	stale := first[0].Token
	lines, cancel = sseLines(t, srv.URL+"/v1/streams/t?key=1&token="+stale, "Last-Event-ID", first[len(first)-1].Token)
	rest := sseData(t, lines, len(byKey["1"])-len(first))
	sameRows(t, "resumed", append(first, rest...), byKey["1"])
	// Heartbeats keep the idle stream open.
	deadline := time.After(5 * time.Second)
	for ping := false; !ping; {
		select {
		case l := <-lines:
			ping = l == ": ping"
		case <-deadline:
			t.Fatal("no heartbeat")
		}
	}
	// Close ends the stream.
	h.Close()
	for range lines {
	}
	cancel()

	resp, err := http.Get(srv.URL + "/v1/streams/t?token=x.y")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a malformed token: %s", resp.Status)
	}
}

// TestWebSocket: a WebSocket client of one key receives its rows in order,
// resumes with ?token= after a disconnection, starts from the current
// rows of a table with a primary key (or not, with snapshot=false), and is
// closed with StatusReload when it must reload.
func TestWebSocket(t *testing.T) {
	hub := NewHub()
	srv, _ := serve(t, hub, HandlerOptions{})
	base := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/streams/t"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	read := func(c *websocket.Conn, n int) []rawMsg {
		t.Helper()
		var out []rawMsg
		for len(out) < n {
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("after %d messages of %d: %v", len(out), n, err)
			}
			var m rawMsg
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		return out
	}
	r := rand.New(rand.NewPCG(1, 2))
	byKey := map[string][]string{}
	c, _, err := websocket.Dial(ctx, base+"?key=2", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The handler subscribes before it accepts the handshake: the client
	// receives everything published from now on.
	publishRandom(t, hub, r, 60, byKey)
	first := read(c, len(byKey["2"])/2)
	c.CloseNow()
	publishRandom(t, hub, r, 60, byKey)
	c, _, err = websocket.Dial(ctx, base+"?key=2&token="+first[len(first)-1].Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	rest := read(c, len(byKey["2"])-len(first))
	sameRows(t, "websocket, resumed", append(first, rest...), byKey["2"])
	c.CloseNow()

	// A table with a primary key: new clients start from its live rows.
	pk := func(kind, k string, v int) *pushv1.Row {
		return &pushv1.Row{Kind: kind, Key: "r", PrimaryKey: []byte(k), Json: fmt.Appendf(nil, `{"k":%q,"v":%d}`, k, v)}
	}
	if _, err := hub.Publish(ctx, &pushv1.PublishRequest{Table: "lb", KeyColumn: "room", Rows: []*pushv1.Row{
		pk("+I", "a", 1), pk("+I", "b", 2), pk("-U", "a", 1), pk("+U", "a", 3), pk("-D", "b", 2), pk("+I", "c", 4)}}); err != nil {
		t.Fatal(err)
	}
	lb := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/streams/lb"
	c, _, err = websocket.Dial(ctx, lb+"?key=r", nil)
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, "snapshot", read(c, 2), []string{`{"k":"a","v":3}`, `{"k":"c","v":4}`})
	c.CloseNow()
	c, _, err = websocket.Dial(ctx, lb+"?key=r&snapshot=false", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Publish(ctx, &pushv1.PublishRequest{Table: "lb", KeyColumn: "room", Rows: []*pushv1.Row{pk("+I", "d", 5)}}); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "without a snapshot", read(c, 1), []string{`{"k":"d","v":5}`})
	c.CloseNow()

	c, _, err = websocket.Dial(ctx, base+"?token=ffffff.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := read(c, 1)[0]; m.Kind != "error" {
		t.Fatalf("a token of another epoch: %+v", m)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != StatusReload {
		t.Fatalf("closed with %v, want %d", err, StatusReload)
	}
}
