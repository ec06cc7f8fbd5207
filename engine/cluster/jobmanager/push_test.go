package jobmanager

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pushv1 "github.com/eddy-streaming/eddy/api/push/v1"
	"github.com/eddy-streaming/eddy/connectors/push"
	"github.com/eddy-streaming/eddy/engine/cluster/membership"
)

// TestPushServing: the job manager serves the PushService behind the
// cluster secret and the streams behind the bearer token (header or
// ?access_token=); a remote writer's rows reach a subscribed client in
// order; extra handlers are mounted without the token; shutdown ends open
// streams.
func TestPushServing(t *testing.T) {
	const token, secret = "tok", "cs"
	svc := newTestService(t, t.TempDir(), newFakeRunner(2))
	hub := push.NewHub()
	srv, err := Start(context.Background(), svc, ServerConfig{
		RESTAddr: "127.0.0.1:0", RPCAddr: "127.0.0.1:0", Token: token, ClusterSecret: secret, Push: hub,
		Handlers: map[string]http.Handler{"GET /demo/x/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("demo"))
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + srv.RESTAddr()

	get := func(path string, header ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, c := range []struct {
		path   string
		header []string
		want   int
	}{
		{"/v1/streams/t", nil, http.StatusUnauthorized},
		{"/v1/streams/t?access_token=wrong", nil, http.StatusUnauthorized},
		{"/v1/streams/t", []string{"Authorization", "Bearer wrong"}, http.StatusUnauthorized},
		{"/demo/x/", nil, http.StatusOK},
	} {
		resp := get(c.path, c.header...)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("GET %s %v: %s, want %d", c.path, c.header, resp.Status, c.want)
		}
	}

	// Two subscribers to key "1": one authenticated by header, one by query.
	type event struct {
		id  string
		msg struct {
			Kind  string          `json:"kind"`
			Row   json.RawMessage `json:"row"`
			Token string          `json:"token"`
		}
	}
	subscribe := func(resp *http.Response) <-chan event {
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("subscribe: %s %s", resp.Status, b)
		}
		ch := make(chan event, 1024)
		go func() {
			defer resp.Body.Close()
			defer close(ch)
			sc := bufio.NewScanner(resp.Body)
			var ev event
			for sc.Scan() {
				switch l := sc.Text(); {
				case strings.HasPrefix(l, "id: "):
					ev.id = l[4:]
				case strings.HasPrefix(l, "data: "):
					if err := json.Unmarshal([]byte(l[6:]), &ev.msg); err != nil {
						t.Errorf("event %s: %v", l, err)
						return
					}
				case l == "" && ev.id != "":
					ch <- ev
					ev = event{}
				}
			}
		}()
		return ch
	}
	subs := []<-chan event{
		subscribe(get("/v1/streams/t?key=1", "Authorization", "Bearer "+token)),
		subscribe(get("/v1/streams/T?key=1&access_token=" + token)),
	}

	// A remote writer: without the cluster secret it is refused.
	conn, err := grpc.NewClient(srv.RPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	req := func(rows []*pushv1.Row) *pushv1.PublishRequest {
		return &pushv1.PublishRequest{Table: "t", KeyColumn: "k", BufferSize: 100, Rows: rows}
	}
	if _, err := push.NewClient(conn).Publish(ctx, req(nil)); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("publishing without the cluster secret: %v", err)
	}
	sconn, err := grpc.NewClient(srv.RPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(membership.SecretCredentials(secret)))
	if err != nil {
		t.Fatal(err)
	}
	defer sconn.Close()
	client := push.NewClient(sconn)
	r := rand.New(rand.NewPCG(3, 4))
	var want []string
	for range 20 {
		var rows []*pushv1.Row
		for range r.IntN(10) {
			k := fmt.Sprint(r.IntN(3))
			row := fmt.Sprintf(`{"k":%s,"v":%d}`, k, r.Int64())
			rows = append(rows, &pushv1.Row{Kind: "+I", Key: k, Json: []byte(row)})
			if k == "1" {
				want = append(want, row)
			}
		}
		if _, err := client.Publish(ctx, req(rows)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Publish(ctx, &pushv1.PublishRequest{Table: "t", Rows: []*pushv1.Row{{Kind: "?"}}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a bad row kind: %v", err)
	}
	for i, ch := range subs {
		for j, w := range want {
			select {
			case ev := <-ch:
				if ev.msg.Kind != "+I" || string(ev.msg.Row) != w || ev.id != ev.msg.Token {
					t.Fatalf("subscriber %d, message %d: %+v, want row %s", i, j, ev, w)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("subscriber %d: %d messages of %d", i, j, len(want))
			}
		}
	}

	// Shutdown ends the open streams instead of waiting for them.
	start := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v with open streams", d)
	}
	for i, ch := range subs {
		for range ch {
			t.Fatalf("subscriber %d: a message after the last", i)
		}
	}
}
