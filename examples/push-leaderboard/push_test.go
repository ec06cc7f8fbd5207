package pushleaderboard

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	pushv1 "github.com/eddy-streaming/eddy/api/push/v1"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/connectors/push"
	"github.com/eddy-streaming/eddy/embedded"
)

// rowsOf returns the recorded rows whose key is room ("" : all).
func rowsOf(rows []*pushv1.Row, room string) []*pushv1.Row {
	var out []*pushv1.Row
	for _, r := range rows {
		if room == "" || !r.GetKeyNull() && r.GetKey() == room {
			out = append(out, r)
		}
	}
	return out
}

// sameRows fails unless got carries exactly want's rows, in order.
func sameRows(t *testing.T, what string, got []msg, want []*pushv1.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages, the job wrote %d", what, len(got), len(want))
	}
	for i, m := range got {
		if m.Kind != want[i].GetKind() || string(m.Row) != string(want[i].GetJson()) {
			t.Fatalf("%s: message %d is %s %s, the job wrote %s %s", what, i, m.Kind, m.Row, want[i].GetKind(), want[i].GetJson())
		}
	}
}

// TestRoom42 is the proof: a client subscribed to room 42 over
// Server-Sent Events, disconnected midway and reconnected with its token,
// receives exactly the rows the job wrote for room 42, in order, nothing
// lost or doubled; they are the leaderboard changes the generator's rows
// imply (each a user's running total) and end at the reference top 5. A
// WebSocket client of the whole table receives every row in order, and a
// late client starts from the final board.
func TestRoom42(t *testing.T) {
	c := startCluster(t)
	text := boundedSQL(12000, 4000)
	ref := roomReference(readGifts(t, text), 42)
	if len(ref.final) < 10 {
		t.Fatalf("room 42 has %d gifters: too few to test anything", len(ref.final))
	}
	sse := openSSE(t, c.base+"/v1/streams/leaderboard?key=42", "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.base, "http")+"/v1/streams/leaderboard?access_token="+testToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	wsMsgs := make(chan msg, 1<<20)
	wsErr := make(chan error, 1)
	go func() {
		defer close(wsMsgs)
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				wsErr <- err
				return
			}
			var m msg
			if err := json.Unmarshal(b, &m); err != nil {
				wsErr <- err
				return
			}
			wsMsgs <- m
		}
	}()

	id := c.submit(text)
	const first = 10
	var got []msg
	for len(got) < first {
		m, ok := sse.next(t)
		if !ok {
			t.Fatal("the stream ended")
		}
		got = append(got, m)
	}
	sse.close()
	// Resume only once the job wrote more for room 42 than the client saw.
	for deadline := time.Now().Add(30 * time.Second); len(rowsOf(c.rec.recorded(), "42")) < first+5; {
		if time.Now().After(deadline) {
			t.Fatal("the job wrote nothing more for room 42")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sse = openSSE(t, c.base+"/v1/streams/leaderboard?key=42", got[len(got)-1].Token)
	defer sse.close()
	c.waitFinished(id)
	all := c.rec.recorded()
	want := rowsOf(all, "42")
	for len(got) < len(want) {
		m, ok := sse.next(t)
		if !ok {
			t.Fatal("the stream ended")
		}
		got = append(got, m)
	}
	select {
	case m := <-sse.msgs:
		t.Fatalf("a message beyond the job's output: %+v", m)
	case <-time.After(100 * time.Millisecond):
	}
	sameRows(t, "room 42 over SSE, with a reconnection", got, want)
	board := map[int64]place{}
	for _, m := range got {
		if p := apply(t, board, m); (m.Kind == "+I" || m.Kind == "+U") && p.Room == 42 {
			checkChange(t, p, ref)
		} else if p.Room != 42 {
			t.Fatalf("a row of room %d in room 42's stream", p.Room)
		}
	}
	checkBoard(t, board, ref)
	t.Logf("room 42: %d messages, %d gifters; the whole table: %d messages", len(got), len(ref.final), len(all))

	var wsGot []msg
	for len(wsGot) < len(all) {
		select {
		case m, ok := <-wsMsgs:
			if !ok {
				t.Fatalf("websocket: %v", <-wsErr)
			}
			wsGot = append(wsGot, m)
		case <-time.After(30 * time.Second):
			t.Fatalf("websocket: %d messages of %d", len(wsGot), len(all))
		}
	}
	sameRows(t, "the whole table over WebSocket", wsGot, all)

	// A client arriving now starts from the final board.
	late := openSSE(t, c.base+"/v1/streams/leaderboard?key=42", "")
	defer late.close()
	board = map[int64]place{}
	for len(board) < len(ref.top) {
		m, _ := late.next(t)
		if m.Kind != "+I" {
			t.Fatalf("snapshot message %+v", m)
		}
		apply(t, board, m)
	}
	checkBoard(t, board, ref)
}

// TestReload: a token older than the table's buffer, or from another job
// manager lifetime, gets an explicit reload error, over SSE and WebSocket;
// requests without the bearer token are refused.
func TestReload(t *testing.T) {
	c := startCluster(t)
	text := strings.NewReplacer("'buffer-size' = '10000'", "'buffer-size' = '20'").Replace(boundedSQL(2000, 4000))
	sse := openSSE(t, c.base+"/v1/streams/leaderboard", "")
	id := c.submit(text)
	m, ok := sse.next(t)
	if !ok {
		t.Fatal("the stream ended")
	}
	sse.close()
	c.waitFinished(id)
	if n := len(c.rec.recorded()); n < 40 {
		t.Fatalf("the job wrote %d rows: too few to overflow the buffer", n)
	}
	expectReload := func(what string, m msg) {
		t.Helper()
		if m.Kind != "error" || !m.Reload || m.Error == "" {
			t.Fatalf("%s: got %+v, want a reload error", what, m)
		}
	}
	for _, tok := range []string{m.Token, "0a0b0c.1"} {
		s := openSSE(t, c.base+"/v1/streams/leaderboard?key=42", tok)
		e, _ := s.next(t)
		expectReload("SSE with token "+tok, e)
		if _, ok := s.next(t); ok {
			t.Fatalf("SSE with token %s: the stream went on after the error", tok)
		}
		s.close()

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.base, "http")+"/v1/streams/leaderboard?token="+tok,
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + testToken}}})
		if err != nil {
			t.Fatal(err)
		}
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wm msg
		if err := json.Unmarshal(b, &wm); err != nil {
			t.Fatal(err)
		}
		expectReload("WebSocket with token "+tok, wm)
		if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != push.StatusReload {
			t.Fatalf("WebSocket with token %s: closed with %v, want status %d", tok, err, push.StatusReload)
		}
		ws.CloseNow()
		cancel()
	}
	for _, auth := range []string{"", "Bearer wrong"} {
		req, _ := http.NewRequest("GET", c.base+"/v1/streams/leaderboard", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("Authorization %q: %s, want 401", auth, resp.Status)
		}
	}
	resp, err := http.Get(c.base + "/v1/streams/leaderboard?access_token=" + testToken + "&token=nonsense")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a malformed token: %s, want 400", resp.Status)
	}
}

// TestCreateTable: a 'key-column' that is not a column is refused at
// CREATE TABLE, at the option.
func TestCreateTable(t *testing.T) {
	reg := builtin.Registry()
	if err := reg.Register(push.New(nil)); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(SQL(), "'key-column' = 'room_id'", "'key-column' = 'room'", 1)
	_, err := embedded.Compile(context.Background(), "job.sql", text, embedded.Options{Connectors: reg})
	if err == nil || !strings.Contains(err.Error(), "option 'key-column': table leaderboard has no column 'room'") || !strings.HasPrefix(err.Error(), "job.sql:") {
		t.Fatalf("got %v", err)
	}
	if _, err := embedded.Compile(context.Background(), "job.sql", SQL(), embedded.Options{Connectors: reg}); err != nil {
		t.Fatal(err)
	}
}
