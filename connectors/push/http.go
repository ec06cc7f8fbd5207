package push

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// StatusReload is the WebSocket close code telling a client to reload
// (the 4000-4999 range is the application's).
const StatusReload websocket.StatusCode = 4000

// HandlerOptions configures a Handler.
type HandlerOptions struct {
	// Heartbeat is how often an idle Server-Sent Events stream gets a
	// comment line and a WebSocket a ping (default 15 s), so proxies keep
	// it open and dead clients are noticed.
	Heartbeat time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Handler serves GET /v1/streams/{table}: a table's messages over
// Server-Sent Events, or over WebSocket for an Upgrade request.
//
// Query parameters: key (only the rows whose key column has this text),
// token (resume after this message; for Server-Sent Events the
// Last-Event-ID header takes precedence, as EventSource sends it when it
// reconnects) and snapshot=false (without a token, skip the table's
// current rows and receive only changes).
type Handler struct {
	hub  *Hub
	opts HandlerOptions
	done chan struct{}
	once sync.Once
}

// NewHandler returns a handler serving hub's streams.
func NewHandler(hub *Hub, opts HandlerOptions) *Handler {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{hub: hub, opts: opts, done: make(chan struct{})}
}

// Close ends every open stream (at server shutdown: http.Server.Shutdown
// waits for streams that never end by themselves).
func (h *Handler) Close() { h.once.Do(func() { close(h.done) }) }

// errorMessage is the last message of a stream that cannot go on.
type errorMessage struct {
	Kind   string `json:"kind"` // "error"
	Error  string `json:"error"`
	Reload bool   `json:"reload"`
}

func errorJSON(err error) []byte {
	b, _ := json.Marshal(errorMessage{Kind: "error", Error: err.Error(), Reload: errors.Is(err, ErrReload)})
	return b
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	table := r.PathValue("table")
	if table == "" {
		table = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	}
	if table == "" {
		http.Error(w, `{"code":3,"message":"no table: GET /v1/streams/{table}"}`, http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	opts := SubscribeOptions{Token: q.Get("token"), NoSnapshot: q.Get("snapshot") == "false"}
	opts.Key, opts.Filter = q.Get("key"), q.Has("key")
	ws := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
	if id := r.Header.Get("Last-Event-ID"); id != "" && !ws {
		opts.Token = id
	}
	sub, err := h.hub.Subscribe(table, opts)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 3, "message": err.Error()})
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-h.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	if ws {
		h.serveWebSocket(ctx, w, r, table, sub)
		return
	}
	h.serveSSE(ctx, w, table, sub)
}

// serveSSE streams sub as Server-Sent Events: each message's token is its
// id; a stream that cannot go on ends with an error message.
func (h *Handler) serveSSE(ctx context.Context, w http.ResponseWriter, table string, sub *Subscription) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	hd.Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(": subscribed to " + table + "\n\n"))
	fl.Flush()
	msgs, errs := h.pump(ctx, sub)
	tick := time.NewTicker(h.opts.Heartbeat)
	defer tick.Stop()
	var buf []byte
	for {
		select {
		case batch, ok := <-msgs:
			if !ok {
				if err := <-errs; err != nil && ctx.Err() == nil {
					buf = append(append(append(buf[:0], "data: "...), errorJSON(err)...), "\n\n"...)
					_, _ = w.Write(buf)
					fl.Flush()
				}
				return
			}
			buf = buf[:0]
			for _, m := range batch {
				buf = append(buf, "id: "...)
				buf = append(buf, tokenOf(m)...)
				buf = append(buf, "\ndata: "...)
				buf = append(buf, m...)
				buf = append(buf, "\n\n"...)
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
			fl.Flush()
		case <-tick.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
			fl.Flush()
		case <-ctx.Done():
			return
		}
	}
}

// tokenOf returns the token member of a message rendered by Hub.render:
// its last string.
func tokenOf(m []byte) []byte {
	end := len(m) - 2 // before `"}`
	start := end
	for start > 0 && m[start-1] != '"' {
		start--
	}
	return m[start:end]
}

// pump runs sub.Next on its own goroutine, so a stream can heartbeat while
// it waits. msgs closes when the subscription ends; errs then holds why.
// The goroutine ends with ctx.
func (h *Handler) pump(ctx context.Context, sub *Subscription) (<-chan [][]byte, <-chan error) {
	msgs, errs := make(chan [][]byte), make(chan error, 1)
	go func() {
		defer close(msgs)
		for {
			batch, err := sub.Next(ctx)
			if err != nil {
				errs <- err
				return
			}
			select {
			case msgs <- batch:
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
		}
	}()
	return msgs, errs
}

// serveWebSocket streams sub as WebSocket text messages; a stream that
// cannot go on sends an error message and closes with StatusReload (a
// reload) or StatusPolicyViolation.
func (h *Handler) serveWebSocket(ctx context.Context, w http.ResponseWriter, r *http.Request, table string, sub *Subscription) {
	// Clients authenticate with the bearer token, not cookies, so any
	// origin may connect.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"*"}})
	if err != nil {
		h.opts.Logger.Debug("push: websocket handshake failed", "table", table, "err", err)
		return
	}
	defer c.CloseNow()
	ctx = c.CloseRead(ctx) // the client sends nothing; this handles its pings and close
	msgs, errs := h.pump(ctx, sub)
	tick := time.NewTicker(h.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case batch, ok := <-msgs:
			if !ok {
				err := <-errs
				if err == nil || ctx.Err() != nil {
					_ = c.Close(websocket.StatusGoingAway, "server shutting down")
					return
				}
				wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = c.Write(wctx, websocket.MessageText, errorJSON(err))
				cancel()
				code, reason := websocket.StatusPolicyViolation, "error"
				if errors.Is(err, ErrReload) {
					code, reason = StatusReload, "reload"
				}
				_ = c.Close(code, reason)
				return
			}
			for _, m := range batch {
				if err := c.Write(ctx, websocket.MessageText, m); err != nil {
					return
				}
			}
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, h.opts.Heartbeat)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case <-ctx.Done():
			_ = c.Close(websocket.StatusGoingAway, "server shutting down")
			return
		}
	}
}
