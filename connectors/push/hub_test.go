package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	pushv1 "github.com/eddy-streaming/eddy/api/push/v1"
)

// testRow is the row the hub tests publish: which publisher, its counter.
type testRow struct {
	Pub int    `json:"pub"`
	N   int    `json:"n"`
	Key string `json:"key"`
}

// got is a received message, decoded.
type got struct {
	Kind  string  `json:"kind"`
	Row   testRow `json:"row"`
	Token string  `json:"token"`
	Error string  `json:"error"`
}

func decode(t testing.TB, b []byte) got {
	t.Helper()
	var g got
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	return g
}

func pubRows(pub, from, n int, keys int, r *rand.Rand) []*pushv1.Row {
	var rows []*pushv1.Row
	for i := from; i < from+n; i++ {
		k := fmt.Sprint(r.IntN(keys))
		b, _ := json.Marshal(testRow{Pub: pub, N: i, Key: k})
		rows = append(rows, &pushv1.Row{Kind: []string{"+I", "-U", "+U", "-D"}[r.IntN(4)], Key: k, Json: b})
	}
	return rows
}

// TestHubConcurrent runs random publishers and subscribers (filtered or
// not, some disconnecting and resuming with their last token) at once and
// checks: every unfiltered subscriber sees every publisher's rows exactly
// once in publishing order, all see one and the same order, and a
// filtered subscriber sees exactly that order's rows of its key.
func TestHubConcurrent(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			h := NewHub()
			pubs, subs, keys := 1+r.IntN(4), 2+r.IntN(5), 1+r.IntN(4)
			perPub := 50 + r.IntN(300)
			total := pubs * perPub
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			type subSpec struct {
				filter bool
				key    string
				resume int // resubscribe after this many messages (0: never)
			}
			specs := make([]subSpec, subs)
			results := make([][]got, subs)
			var ready, done sync.WaitGroup
			for i := range specs {
				specs[i] = subSpec{filter: r.IntN(2) == 0, key: fmt.Sprint(r.IntN(keys))}
				if r.IntN(2) == 0 {
					specs[i].resume = 1 + r.IntN(total/keys+1)
				}
				if i == 0 {
					specs[i].filter = false
				}
				sub, err := h.Subscribe("t", SubscribeOptions{Filter: specs[i].filter, Key: specs[i].key})
				if err != nil {
					t.Fatal(err)
				}
				ready.Add(1)
				done.Add(1)
				go func(i int, sub *Subscription) {
					defer done.Done()
					ready.Done()
					var out []got
					ends := 0 // end-of-test rows seen
					for (specs[i].filter && ends < 1) || (!specs[i].filter && ends < keys) {
						msgs, err := sub.Next(ctx)
						if err != nil {
							t.Errorf("subscriber %d: %v", i, err)
							return
						}
						for _, m := range msgs {
							g := decode(t, m)
							if g.Row.Pub < 0 {
								ends++
							}
							out = append(out, g)
						}
						if specs[i].resume > 0 && len(out) >= specs[i].resume {
							specs[i].resume = 0
							tok := out[len(out)-1].Token
							if sub, err = h.Subscribe("t", SubscribeOptions{Filter: specs[i].filter, Key: specs[i].key, Token: tok}); err != nil {
								t.Errorf("resubscribe: %v", err)
								return
							}
						}
					}
					results[i] = out
				}(i, sub)
			}
			ready.Wait()
			var pw sync.WaitGroup
			for p := range pubs {
				pw.Add(1)
				pr := rand.New(rand.NewPCG(seed, uint64(p)))
				go func() {
					defer pw.Done()
					for n := 0; n < perPub; {
						k := min(1+pr.IntN(20), perPub-n)
						if _, err := h.Publish(ctx, &pushv1.PublishRequest{Table: "T", KeyColumn: "key", BufferSize: int32(2 * total), Rows: pubRows(p, n, k, keys, pr)}); err != nil {
							t.Error(err)
							return
						}
						n += k
					}
				}()
			}
			pw.Wait()
			// One end row per key tells the subscribers the test is over.
			var end []*pushv1.Row
			for k := range keys {
				b, _ := json.Marshal(testRow{Pub: -1, N: k, Key: fmt.Sprint(k)})
				end = append(end, &pushv1.Row{Kind: "+I", Key: fmt.Sprint(k), Json: b})
			}
			if _, err := h.Publish(ctx, &pushv1.PublishRequest{Table: "t", KeyColumn: "key", Rows: end}); err != nil {
				t.Fatal(err)
			}
			done.Wait()
			if t.Failed() {
				return
			}
			ref := results[0]
			// The reference: every publisher's rows once, in its order.
			next := make([]int, pubs)
			for _, g := range ref {
				if g.Row.Pub < 0 {
					continue
				}
				if g.Row.N != next[g.Row.Pub] {
					t.Fatalf("publisher %d: got row %d, want %d", g.Row.Pub, g.Row.N, next[g.Row.Pub])
				}
				next[g.Row.Pub]++
			}
			if len(ref) != total+keys {
				t.Fatalf("got %d messages, want %d", len(ref), total+keys)
			}
			for i, res := range results {
				var want []got
				for _, g := range ref {
					if !specs[i].filter || g.Row.Key == specs[i].key {
						want = append(want, g)
					}
				}
				if fmt.Sprint(res) != fmt.Sprint(want) {
					t.Fatalf("subscriber %d (filter %v key %s): got %d messages, want %d\ngot  %v\nwant %v", i, specs[i].filter, specs[i].key, len(res), len(want), res, want)
				}
			}
		})
	}
}

func publishN(t *testing.T, h *Hub, table string, buf, from, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(from), 1))
	if _, err := h.Publish(context.Background(), &pushv1.PublishRequest{Table: table, KeyColumn: "key", BufferSize: int32(buf), Rows: pubRows(0, from, n, 3, r)}); err != nil {
		t.Fatal(err)
	}
}

// TestHubBufferBound: a token older than the buffer, from another epoch
// or ahead of the stream is told to reload; one inside the buffer resumes
// exactly after itself.
func TestHubBufferBound(t *testing.T) {
	ctx := context.Background()
	h := NewHub()
	buf := 10
	sub, err := h.Subscribe("t", SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	publishN(t, h, "t", buf, 0, 5)
	msgs, err := sub.Next(ctx)
	if err != nil || len(msgs) != 5 {
		t.Fatalf("got %d messages, %v", len(msgs), err)
	}
	tok2 := decode(t, msgs[2]).Token
	publishN(t, h, "t", buf, 5, 5) // 10 messages: all still buffered
	s2, _ := h.Subscribe("t", SubscribeOptions{Token: tok2})
	msgs, err = s2.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if g := decode(t, m); g.Row.N != 3+i {
			t.Fatalf("resumed message %d is row %d, want %d", i, g.Row.N, 3+i)
		}
	}
	if len(msgs) != 7 {
		t.Fatalf("resumed with %d messages, want 7", len(msgs))
	}
	publishN(t, h, "t", buf, 10, 4) // message 3 (row 3) leaves the buffer
	s3, _ := h.Subscribe("t", SubscribeOptions{Token: tok2})
	if _, err := s3.Next(ctx); !errors.Is(err, ErrReload) || !strings.Contains(err.Error(), "left its buffer") {
		t.Fatalf("expired token: got %v, want a reload error", err)
	}
	// The first subscriber, which stopped reading after message 5, falls
	// behind too when message 6 leaves.
	publishN(t, h, "t", buf, 14, 2)
	if _, err := sub.Next(ctx); !errors.Is(err, ErrReload) {
		t.Fatalf("subscriber behind the buffer: got %v, want a reload error", err)
	}
	other := NewHub()
	s4, _ := other.Subscribe("t", SubscribeOptions{Token: tok2})
	if _, err := s4.Next(ctx); !errors.Is(err, ErrReload) || !strings.Contains(err.Error(), "another job manager lifetime") {
		t.Fatalf("token of another epoch: got %v", err)
	}
	s5, _ := h.Subscribe("t", SubscribeOptions{Token: h.Epoch() + ".999"})
	if _, err := s5.Next(ctx); !errors.Is(err, ErrReload) {
		t.Fatalf("token ahead of the stream: got %v", err)
	}
	if _, err := h.Subscribe("t", SubscribeOptions{Token: "garbage"}); err == nil {
		t.Fatal("a malformed token was accepted")
	}
}

// TestHubDedupAndSnapshot: replayed commits are ignored, and a new
// subscriber starts from the live rows of a table with a primary key.
func TestHubDedupAndSnapshot(t *testing.T) {
	ctx := context.Background()
	h := NewHub()
	row := func(kind, pk, key string, v int) *pushv1.Row {
		return &pushv1.Row{Kind: kind, Key: key, PrimaryKey: []byte(pk), Json: fmt.Appendf(nil, `{"k":%q,"v":%d}`, pk, v)}
	}
	writer := "w1"
	req := func(sub int32, ck int64, part int32, rows ...*pushv1.Row) *pushv1.PublishRequest {
		return &pushv1.PublishRequest{Table: "lb", KeyColumn: "room", BufferSize: 100, Subtask: sub, CheckpointId: ck, Part: part, Rows: rows, WriterId: writer}
	}
	steps := []struct {
		req  *pushv1.PublishRequest
		want bool
	}{
		{req(0, 1, 0, row("+I", "a", "1", 1), row("+I", "b", "1", 2), row("+I", "c", "2", 3)), true},
		{req(0, 1, 0, row("+I", "x", "1", 9)), false}, // replay
		{req(0, 1, 1, row("-U", "a", "1", 1), row("+U", "a", "1", 4)), true},
		{req(1, 1, 0, row("-D", "b", "1", 2)), true}, // another subtask
		{req(0, 1, 1, row("+I", "x", "1", 9)), false},
		{req(0, 0, 0, row("+I", "d", "1", 5)), true}, // outside checkpoints: always
		{req(0, 0, 0, row("+I", "e", "1", 6)), true},
	}
	for i, s := range steps {
		ok, err := h.Publish(ctx, s.req)
		if err != nil || ok != s.want {
			t.Fatalf("step %d: published %v, %v; want %v", i, ok, err, s.want)
		}
	}
	// Another writer (another job, or a resubmission) starts its
	// checkpoints at 1 again: not a replay.
	writer = "w2"
	if ok, err := h.Publish(ctx, req(0, 1, 0, row("+I", "f", "2", 7))); !ok || err != nil {
		t.Fatalf("another writer's first commit: published %v, %v", ok, err)
	}
	sub, _ := h.Subscribe("LB", SubscribeOptions{Filter: true, Key: "1"})
	msgs, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, m := range msgs {
		var g struct {
			Kind string
			Row  struct {
				K string
				V int
			}
			Token string
		}
		if err := json.Unmarshal(m, &g); err != nil {
			t.Fatal(err)
		}
		if g.Token != h.Epoch()+".9" {
			t.Fatalf("snapshot token %s, want the head's", g.Token)
		}
		rows = append(rows, fmt.Sprintf("%s %s=%d", g.Kind, g.Row.K, g.Row.V))
	}
	if got, want := strings.Join(rows, ", "), "+I a=4, +I d=5, +I e=6"; got != want {
		t.Fatalf("snapshot of room 1: got %s, want %s", got, want)
	}
	if _, err := h.Publish(ctx, &pushv1.PublishRequest{Table: "lb", Rows: []*pushv1.Row{{Kind: "+X"}}}); err == nil {
		t.Fatal("a bad row kind was accepted")
	}
}
