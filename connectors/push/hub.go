package push

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	pushv1 "github.com/eddy-streaming/eddy/api/push/v1"
)

// DefaultBufferSize is the number of messages a table's stream keeps for
// clients resuming with a token, unless 'buffer-size' says otherwise.
const DefaultBufferSize = 10000

// MaxBufferSize bounds 'buffer-size'.
const MaxBufferSize = 10_000_000

// Publisher receives the committed rows of push tables. The job manager's
// Hub is one; a task manager's is a Client of the job manager's
// PushService.
type Publisher interface {
	// Publish appends req's rows to the stream of req.Table. It reports
	// false when req (a subtask's checkpoint, part) was published before
	// and was ignored.
	Publish(ctx context.Context, req *pushv1.PublishRequest) (published bool, err error)
}

// ErrReload is wrapped by the errors of a subscription that cannot go on
// without losing messages: its token is older than the table's buffer,
// comes from another job manager lifetime, or the client fell behind the
// buffer. The client must reload the table's state and subscribe again
// without a token.
var ErrReload = errors.New("reload")

// Hub holds the streams of every push table published in this process
// (the job manager), serves subscriptions to them and deduplicates
// replayed commits. It is safe for concurrent use.
type Hub struct {
	epoch string

	mu      sync.Mutex
	streams map[string]*tableStream
}

// NewHub returns an empty hub with a fresh epoch: tokens of another hub
// (an earlier job manager lifetime) are refused with ErrReload.
func NewHub() *Hub {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return &Hub{epoch: hex.EncodeToString(b[:]), streams: map[string]*tableStream{}}
}

// Epoch returns the hub's epoch, the first part of its tokens.
func (h *Hub) Epoch() string { return h.epoch }

// message is one published row as clients receive it.
type message struct {
	seq     uint64
	kind    string
	key     string
	keyNull bool
	row     []byte // the row's JSON object
	data    []byte // the whole message: {"kind":..,"row":..,"token":..}
}

// pubMark is the last (checkpoint, part) a writer published.
type pubMark struct {
	checkpoint int64
	part       int32
}

// tableStream is one table's stream: a bounded ring of its latest
// messages, its live rows by primary key and the subscribers' wake-up.
type tableStream struct {
	name string

	mu        sync.Mutex
	known     bool // published at least once: keyColumn is the table's
	keyColumn string
	bufSize   int                // 'buffer-size'
	msgs      []message          // the messages held: seqs seq-len(msgs)+1 .. seq
	seq       uint64             // the last message's sequence number (0: none)
	live      map[string]message // the latest +I/+U row of each primary key
	marks     map[string]pubMark // by writer id and subtask
	wake      chan struct{}      // closed and replaced at every publication
}

// stream returns the table's stream, creating it (with the default buffer)
// when it does not exist yet: clients may subscribe before the job that
// writes the table publishes anything.
func (h *Hub) stream(table string) *tableStream {
	h.mu.Lock()
	defer h.mu.Unlock()
	name := strings.ToLower(table)
	s, ok := h.streams[name]
	if !ok {
		s = &tableStream{name: table, bufSize: DefaultBufferSize, live: map[string]message{},
			marks: map[string]pubMark{}, wake: make(chan struct{})}
		h.streams[name] = s
	}
	return s
}

// token returns the resume token of message seq.
func (h *Hub) token(seq uint64) string { return h.epoch + "." + strconv.FormatUint(seq, 10) }

// parseToken splits a token into epoch and sequence number.
func parseToken(tok string) (epoch string, seq uint64, err error) {
	e, s, ok := strings.Cut(tok, ".")
	if ok {
		seq, err = strconv.ParseUint(s, 10, 64)
	}
	if !ok || err != nil || e == "" {
		return "", 0, fmt.Errorf("malformed token %q: a token is EPOCH.SEQUENCE, as sent with every message", tok)
	}
	return e, seq, nil
}

// validKinds are the row kinds a publication may carry.
var validKinds = map[string]bool{"+I": true, "-U": true, "+U": true, "-D": true}

// Publish implements Publisher: it appends req's rows to the table's
// stream, in order, unless req's (subtask, checkpoint, part) was published
// already.
func (h *Hub) Publish(ctx context.Context, req *pushv1.PublishRequest) (bool, error) {
	if req.GetTable() == "" {
		return false, errors.New("push: publication without a table name")
	}
	if bs := req.GetBufferSize(); bs < 0 || bs > MaxBufferSize {
		return false, fmt.Errorf("push: table %s: buffer size %d is out of range 1..%d", req.GetTable(), bs, MaxBufferSize)
	}
	for i, r := range req.GetRows() {
		if !validKinds[r.GetKind()] {
			return false, fmt.Errorf("push: table %s: row %d has kind %q (want +I, -U, +U or -D)", req.GetTable(), i, r.GetKind())
		}
	}
	s := h.stream(req.GetTable())
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := req.GetCheckpointId(); c > 0 {
		w := req.GetWriterId() + "/" + strconv.Itoa(int(req.GetSubtask()))
		m, ok := s.marks[w]
		if ok && (c < m.checkpoint || c == m.checkpoint && req.GetPart() <= m.part) {
			return false, nil
		}
		s.marks[w] = pubMark{checkpoint: c, part: req.GetPart()}
	}
	s.known, s.keyColumn = true, req.GetKeyColumn()
	if bs := int(req.GetBufferSize()); bs > 0 {
		s.bufSize = bs
	}
	for _, r := range req.GetRows() {
		s.seq++
		m := message{seq: s.seq, kind: r.GetKind(), key: r.GetKey(), keyNull: r.GetKeyNull(), row: r.GetJson()}
		m.data = h.render(m.kind, m.row, m.seq)
		s.msgs = append(s.msgs, m)
		if pk := r.GetPrimaryKey(); len(pk) > 0 {
			if m.kind == "+I" || m.kind == "+U" {
				s.live[string(pk)] = m
			} else {
				delete(s.live, string(pk))
			}
		}
	}
	// Keep the latest bufSize messages, and every message of this
	// publication: a commit larger than the buffer still reaches the
	// clients that keep up.
	if keep := max(s.bufSize, len(req.GetRows())); len(s.msgs) > keep {
		s.msgs = s.msgs[len(s.msgs)-keep:]
	}
	if len(req.GetRows()) > 0 {
		close(s.wake)
		s.wake = make(chan struct{})
	}
	return true, nil
}

// render builds a message's JSON: {"kind":K,"row":ROW,"token":T}.
func (h *Hub) render(kind string, row []byte, seq uint64) []byte {
	b := make([]byte, 0, len(row)+48)
	b = append(b, `{"kind":"`...)
	b = append(b, kind...)
	b = append(b, `","row":`...)
	b = append(b, row...)
	b = append(b, `,"token":"`...)
	b = append(b, h.token(seq)...)
	return append(b, `"}`...)
}

// SubscribeOptions says what a subscription receives.
type SubscribeOptions struct {
	// Key, when Filter is set, keeps only the rows whose key column's
	// value has this text.
	Key    string
	Filter bool
	// Token resumes after the message that carried it; "" starts now.
	Token string
	// NoSnapshot skips the current state a subscription without a token
	// starts with (the live rows of a table with a primary key).
	NoSnapshot bool
}

// Subscription is one client's position in a table's stream.
type Subscription struct {
	h      *Hub
	s      *tableStream
	opts   SubscribeOptions
	cursor uint64   // the last message considered
	first  [][]byte // the snapshot, delivered by the first Next
	err    error    // delivered by the first Next (a stale token)
}

// Subscribe opens a subscription to table's stream. A malformed token is
// an error; a token that cannot be resumed (another epoch, older than the
// buffer, ahead of the stream) makes the first Next return an ErrReload
// error, so the client is told why on its stream.
func (h *Hub) Subscribe(table string, opts SubscribeOptions) (*Subscription, error) {
	var epoch string
	var seq uint64
	if opts.Token != "" {
		var err error
		if epoch, seq, err = parseToken(opts.Token); err != nil {
			return nil, err
		}
	}
	s := h.stream(table)
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := &Subscription{h: h, s: s, opts: opts, cursor: s.seq}
	switch {
	case opts.Token == "":
		if !opts.NoSnapshot {
			sub.first = s.snapshot(h, opts)
		}
	case epoch != h.epoch:
		sub.err = fmt.Errorf("token %s comes from another job manager lifetime (now %s): %w: the stream cannot resume, subscribe again without a token", opts.Token, h.epoch, ErrReload)
	case seq > s.seq:
		sub.err = fmt.Errorf("token %s is ahead of table %s's stream (last message %d): %w: subscribe again without a token", opts.Token, table, s.seq, ErrReload)
	default:
		sub.cursor = seq
	}
	return sub, nil
}

// snapshot renders the live rows matching opts, oldest change first, as
// +I messages carrying the token of the stream's head.
func (s *tableStream) snapshot(h *Hub, opts SubscribeOptions) [][]byte {
	rows := make([]message, 0, len(s.live))
	for _, m := range s.live {
		if opts.Filter && (m.keyNull || m.key != opts.Key) {
			continue
		}
		rows = append(rows, m)
	}
	slices.SortFunc(rows, func(a, b message) int { return cmp.Compare(a.seq, b.seq) })
	out := make([][]byte, len(rows))
	for i, m := range rows {
		out[i] = h.render("+I", m.row, s.seq)
	}
	return out
}

// maxPerNext bounds the messages one Next returns.
const maxPerNext = 1024

// Next waits until there are messages for the subscription and returns
// their JSON, in the stream's order. It returns an error wrapping
// ErrReload when messages the client has not seen left the buffer, and
// ctx's error when ctx ends.
func (sub *Subscription) Next(ctx context.Context) ([][]byte, error) {
	if sub.err != nil {
		return nil, sub.err
	}
	if sub.first != nil {
		out := sub.first
		sub.first = nil
		if len(out) > 0 {
			return out, nil
		}
	}
	s := sub.s
	for {
		s.mu.Lock()
		if sub.cursor < s.seq {
			oldest := s.seq - uint64(len(s.msgs)) + 1
			if sub.cursor+1 < oldest {
				s.mu.Unlock()
				sub.err = fmt.Errorf("messages %d..%d of table %s left its buffer of %d before this client read them: %w: subscribe again without a token",
					sub.cursor+1, oldest-1, s.name, s.bufSize, ErrReload)
				return nil, sub.err
			}
			var out [][]byte
			for sub.cursor < s.seq && len(out) < maxPerNext {
				sub.cursor++
				m := &s.msgs[sub.cursor-oldest]
				if sub.opts.Filter && (m.keyNull || m.key != sub.opts.Key) {
					continue
				}
				out = append(out, m.data)
			}
			s.mu.Unlock()
			if len(out) > 0 {
				return out, nil
			}
			continue
		}
		if sub.opts.Filter && s.known && s.keyColumn == "" {
			s.mu.Unlock()
			return nil, fmt.Errorf("table %s has no key column ('key-column' or a PRIMARY KEY): it cannot be filtered with ?key=", s.name)
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Token returns the token of the last message the subscription
// considered (its resume point), or "" before any.
func (sub *Subscription) Token() string {
	if sub.cursor == 0 {
		return ""
	}
	return sub.h.token(sub.cursor)
}
