package e2e

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
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/datagen"
	"github.com/eddy-streaming/eddy/engine/types"
	pushleaderboard "github.com/eddy-streaming/eddy/examples/push-leaderboard"
)

// TestClusterPush runs the push leaderboard on a job manager process with
// a remote task manager process (two slots, parallelism 2, checkpoints):
// the task manager's writers publish through the job manager's
// PushService behind the cluster secret. An SSE client of room 42 receives
// the room's changes: each a user's running total after that many gifts,
// ending at the reference top 5 computed from the generator's rows.
func TestClusterPush(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	const rows, room = 6000, 42
	c := startCluster(t, t.TempDir(), 2)
	text := regexp.MustCompile(`'rows-per-second' = '\d+',`).ReplaceAllString(pushleaderboard.SQL(),
		fmt.Sprintf("'rows-per-second' = '3000', 'number-of-rows' = '%d',", rows))

	// The reference: the generator's gifts, read through the connector.
	schema := types.Schema{Fields: []types.Field{
		{Name: "room_id", Type: types.BigIntType}, {Name: "user_id", Type: types.BigIntType}, {Name: "amount", Type: types.BigIntType}}}
	src, err := datagen.New().NewSource(connectors.TableInfo{Name: "gifts", Schema: schema, Options: map[string]string{
		"connector": "datagen", "stream": "gifts", "rooms": "50", "users": "2000", "skew": "0.8", "seed": "9",
		"number-of-rows": fmt.Sprint(rows), "max-out-of-orderness": "5 s"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rd, err := src.Reader(ctx, connectors.ReaderContext{Parallelism: 1, BatchSize: 1000, Alloc: memory.DefaultAllocator})
	if err != nil {
		t.Fatal(err)
	}
	running := map[int64][]int64{} // user -> total after 1, 2, ... gifts in the room
	final := map[int64]int64{}
	for {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil {
			continue
		}
		r, u, a := rec.Column(0).(*array.Int64).Int64Values(), rec.Column(1).(*array.Int64).Int64Values(), rec.Column(2).(*array.Int64).Int64Values()
		for i := range r {
			if r[i] == room {
				final[u[i]] += a[i]
				running[u[i]] = append(running[u[i]], final[u[i]])
			}
		}
		rec.Release()
	}
	rd.Close()
	var top []int64
	for _, v := range final {
		top = append(top, v)
	}
	slices.SortFunc(top, func(a, b int64) int { return cmp.Compare(b, a) })
	top = top[:min(5, len(top))]
	if len(final) < 10 {
		t.Fatalf("room %d has %d gifters: too few to test anything", room, len(final))
	}

	// The job manager serves the demo page too.
	page, err := http.Get(c.rest + "/demo/leaderboard/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(b), "leaderboard.js") {
		t.Fatalf("GET /demo/leaderboard/: %s %.200s", page.Status, b)
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", fmt.Sprintf("%s/v1/streams/leaderboard?key=%d", c.rest, room), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/streams/leaderboard: %s", resp.Status)
	}
	type place struct {
		Room, Rn, User, Total, Gifts int64
	}
	msgs := make(chan string, 1<<16)
	go func() {
		defer close(msgs)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "data: ") {
				msgs <- l[6:]
			}
		}
	}()
	start := time.Now()
	id := c.submit(map[string]any{"sql": text, "name": "push", "parallelism": 2, "checkpoint_interval": "200ms"})
	c.waitFinished(id, start)

	// Apply the stream until it is quiet: the job has finished, so every
	// row has been published.
	board := map[int64]place{}
	n := 0
	for quiet := false; !quiet; {
		select {
		case data, ok := <-msgs:
			if !ok {
				t.Fatal("the stream ended")
			}
			var m struct {
				Kind string `json:"kind"`
				Row  struct {
					Room  int64 `json:"room_id"`
					Rn    int64 `json:"rn"`
					User  int64 `json:"user_id"`
					Total int64 `json:"total"`
					Gifts int64 `json:"gifts"`
				} `json:"row"`
			}
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				t.Fatalf("message %s: %v", data, err)
			}
			p := place(m.Row)
			if p.Room != room {
				t.Fatalf("a row of room %d in room %d's stream: %s", p.Room, room, data)
			}
			switch m.Kind {
			case "+I", "+U":
				if s := running[p.User]; p.Gifts < 1 || int(p.Gifts) > len(s) || s[p.Gifts-1] != p.Total {
					t.Fatalf("row %s: user %d's total after %d gifts is not %d", data, p.User, p.Gifts, p.Total)
				}
				board[p.Rn] = p
			case "-U", "-D":
				delete(board, p.Rn)
			default:
				t.Fatalf("message %s", data)
			}
			n++
		case <-time.After(time.Second):
			quiet = true
		}
	}
	var got []int64
	for rn := int64(1); rn <= int64(len(board)); rn++ {
		p, ok := board[rn]
		if !ok || final[p.User] != p.Total {
			t.Fatalf("place %d: %+v (the user's total: %d)", rn, p, final[p.User])
		}
		got = append(got, p.Total)
	}
	if !slices.Equal(got, top) {
		t.Fatalf("room %d's board %v, want %v (%d messages)\n%s", room, got, top, n, c.logs())
	}
	t.Logf("room %d: %d messages", room, n)
}
