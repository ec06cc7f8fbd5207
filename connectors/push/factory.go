package push

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	pushv1 "github.com/eddy-streaming/eddy/api/push/v1"
	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// The connector's options.
const (
	// OptKeyColumn names the column clients filter on with ?key=.
	OptKeyColumn = "key-column"
	// OptBufferSize is the number of messages kept for resumption.
	OptBufferSize = "buffer-size"
)

// Name is the connector's name: 'connector' = 'push'.
const Name = "push"

// Factory makes push sinks: tables whose committed changes the job
// manager serves to front ends at GET /v1/streams/{table}.
type Factory struct {
	pub Publisher
}

var (
	_ connectors.SinkFactory     = (*Factory)(nil)
	_ connectors.UpdatingSink    = (*Factory)(nil)
	_ connectors.TableValidator  = (*Factory)(nil)
	_ connectors.RecoverableSink = (*sink)(nil)
	_ connectors.TwoPhaseWriter  = (*writer)(nil)
)

// New returns the push connector publishing through pub: the job
// manager's Hub in the job manager's process (and its local task
// managers), a Client of the job manager's PushService in a remote task
// manager. With a nil pub, tables can be declared and planned but not
// written (a process that serves no streams).
func New(pub Publisher) *Factory { return &Factory{pub: pub} }

// Name returns "push".
func (f *Factory) Name() string { return Name }

// Options lists the push connector's options.
func (f *Factory) Options() []connectors.OptionSpec {
	return []connectors.OptionSpec{
		{Key: OptKeyColumn, Type: connectors.OptString,
			Description: "The column clients subscribe by: `GET /v1/streams/{table}?key=VALUE` receives the rows whose value of this column has the text VALUE. Default: the first PRIMARY KEY column. Without either, clients receive every row and cannot filter."},
		{Key: OptBufferSize, Type: connectors.OptInt, Default: strconv.Itoa(DefaultBufferSize),
			Description: "The number of the table's latest messages the job manager keeps, so a client that reconnects with its last token receives what it missed; a client whose token is older is told to reload."},
	}
}

// config is a table's checked options.
type config struct {
	key        int // the key column, or -1
	keyColumn  string
	bufferSize int
}

func (f *Factory) config(info connectors.TableInfo) (config, error) {
	if err := connectors.ValidateOptions(f.Options(), info.Options); err != nil {
		return config{}, err
	}
	c := config{key: -1}
	if name := strings.TrimSpace(info.Options[OptKeyColumn]); name != "" {
		c.key = info.Schema.Index(name)
		if c.key < 0 {
			var cols []string
			for _, fl := range info.Schema.Fields {
				cols = append(cols, fl.Name)
			}
			return config{}, fmt.Errorf("option '%s': table %s has no column '%s' (columns: %s)", OptKeyColumn, info.Name, name, strings.Join(cols, ", "))
		}
	} else if len(info.PrimaryKey) > 0 {
		c.key = info.PrimaryKey[0]
	}
	if c.key >= 0 {
		c.keyColumn = info.Schema.Fields[c.key].Name
	}
	n, _ := strconv.Atoi(connectors.Option(f.Options(), info.Options, OptBufferSize))
	if n < 1 || n > MaxBufferSize {
		return config{}, fmt.Errorf("option '%s': %d is out of range 1..%d", OptBufferSize, n, MaxBufferSize)
	}
	c.bufferSize = n
	return c, nil
}

// ValidateTable checks the options at CREATE TABLE: 'key-column' must name
// a column, 'buffer-size' must be positive.
func (f *Factory) ValidateTable(info connectors.TableInfo) error {
	_, err := f.config(info)
	return err
}

// AcceptsUpdates accepts every changelog: clients receive every row kind.
func (f *Factory) AcceptsUpdates(connectors.TableInfo) error { return nil }

// NewSink returns the table's sink.
func (f *Factory) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	c, err := f.config(info)
	if err != nil {
		return nil, err
	}
	return &sink{f: f, info: info, cfg: c}, nil
}

type sink struct {
	f    *Factory
	info connectors.TableInfo
	cfg  config
}

func (s *sink) publisher() (Publisher, error) {
	if s.f.pub == nil {
		return nil, fmt.Errorf("push table %s: this process has no push hub: push tables are written by jobs of a job manager (jobmanager serve), which serves them at /v1/streams/%s", s.info.Name, s.info.Name)
	}
	return s.f.pub, nil
}

// Writer opens the writer of subtask rc.Subtask. With checkpointing its
// rows are published when their checkpoint completes; without, at every
// Write.
func (s *sink) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	pub, err := s.publisher()
	if err != nil {
		return nil, err
	}
	var id [8]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	return &writer{
		id: hex.EncodeToString(id[:]), pub: pub, enc: newEncoder(s.info.Schema, s.cfg.key, s.info.PrimaryKey), checkpointing: rc.Checkpointing,
		table: s.info.Name, keyColumn: s.cfg.keyColumn, bufferSize: int32(s.cfg.bufferSize), subtask: int32(rc.Subtask),
	}, nil
}

// Recover publishes what the checkpoint's writers prepared. The hub
// ignores commits it published already, so only what a crashed job
// prepared and did not commit reaches clients.
func (s *sink) Recover(ctx context.Context, committables [][]byte) error {
	if len(committables) == 0 {
		return nil
	}
	pub, err := s.publisher()
	if err != nil {
		return err
	}
	for i, c := range committables {
		if err := commit(ctx, pub, c); err != nil {
			return fmt.Errorf("push table %s: recover committable %d: %w", s.info.Name, i, err)
		}
	}
	return nil
}

// writer is one subtask's writer.
type writer struct {
	id            string // the writer instance's random id
	pub           Publisher
	enc           *encoder
	checkpointing bool
	table         string
	keyColumn     string
	bufferSize    int32
	subtask       int32
	pending       []*pushv1.Row // rows since the last Prepare (checkpointing)
}

// request returns a publication of rows at checkpoint id (0: none).
func (w *writer) request(id int64, rows []*pushv1.Row) *pushv1.PublishRequest {
	return &pushv1.PublishRequest{Table: w.table, KeyColumn: w.keyColumn, BufferSize: w.bufferSize, Subtask: w.subtask,
		CheckpointId: id, Rows: rows, WriterId: w.id}
}

// Write encodes b's rows and publishes them, or, with checkpointing, keeps
// them for the next Prepare.
func (w *writer) Write(ctx context.Context, b stream.Batch) error {
	rows, err := w.enc.encode(b)
	if err != nil {
		return fmt.Errorf("push table %s: %w", w.table, err)
	}
	if len(rows) == 0 {
		return nil
	}
	if w.checkpointing {
		w.pending = append(w.pending, rows...)
		return nil
	}
	return publish(ctx, w.pub, w.request(0, rows))
}

// Prepare returns the rows written since the last checkpoint as the
// committable (the encoded publication), to be published by Commit.
func (w *writer) Prepare(ctx context.Context, checkpointID int64) ([]byte, error) {
	req := w.request(checkpointID, w.pending)
	w.pending = nil
	b, err := proto.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("push table %s: checkpoint %d: %w", w.table, checkpointID, err)
	}
	return b, nil
}

// Commit publishes the rows prepared at checkpointID.
func (w *writer) Commit(ctx context.Context, checkpointID int64, committable []byte) error {
	if err := commit(ctx, w.pub, committable); err != nil {
		return fmt.Errorf("push table %s: commit checkpoint %d: %w", w.table, checkpointID, err)
	}
	return nil
}

// Close publishes the rows written after the last checkpoint.
func (w *writer) Close(ctx context.Context) error {
	rows := w.pending
	w.pending = nil
	if len(rows) == 0 {
		return nil
	}
	return publish(ctx, w.pub, w.request(0, rows))
}

// Abort drops the rows not committed.
func (w *writer) Abort(context.Context) error {
	w.pending = nil
	return nil
}

// commit publishes a committable.
func commit(ctx context.Context, pub Publisher, committable []byte) error {
	var req pushv1.PublishRequest
	if err := proto.Unmarshal(committable, &req); err != nil {
		return fmt.Errorf("malformed committable: %w", err)
	}
	if req.GetCheckpointId() <= 0 {
		return errors.New("malformed committable: no checkpoint id")
	}
	if len(req.GetRows()) == 0 {
		return nil
	}
	return publish(ctx, pub, &req)
}

// maxRequestBytes bounds one publication's rows, well under gRPC's 4 MiB
// message limit.
const maxRequestBytes = 1 << 20

// publish sends req, split into parts of at most maxRequestBytes of rows
// (numbered, so a replayed checkpoint's parts are recognized).
func publish(ctx context.Context, pub Publisher, req *pushv1.PublishRequest) error {
	rows := req.Rows
	part := int32(0)
	for len(rows) > 0 {
		n, size := 0, 0
		for n < len(rows) && (n == 0 || size+rowSize(rows[n]) <= maxRequestBytes) {
			size += rowSize(rows[n])
			n++
		}
		r := &pushv1.PublishRequest{Table: req.Table, KeyColumn: req.KeyColumn, BufferSize: req.BufferSize,
			Subtask: req.Subtask, CheckpointId: req.CheckpointId, Part: part, Rows: rows[:n], WriterId: req.WriterId}
		if _, err := pub.Publish(ctx, r); err != nil {
			return err
		}
		rows = rows[n:]
		part++
	}
	return nil
}

func rowSize(r *pushv1.Row) int { return len(r.Json) + len(r.Key) + len(r.PrimaryKey) + 16 }
