package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// --- an in-memory checkpoint.Storage ---

type memStorage struct {
	mu     sync.Mutex
	shared map[string][]byte
	metas  map[int64][]byte // JSON, by ID; all kept
	// commits counts Commit calls.
	commits atomic.Int64
}

func newMemStorage() *memStorage {
	return &memStorage{shared: map[string][]byte{}, metas: map[int64][]byte{}}
}

func (m *memStorage) HasShared(ctx context.Context, name string, size int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.shared[name]
	return ok && int64(len(b)) == size, nil
}

func (m *memStorage) PutShared(ctx context.Context, name string, size int64, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fmt.Errorf("shared file %s: %d bytes, want %d", name, len(b), size)
	}
	m.mu.Lock()
	m.shared[name] = b
	m.mu.Unlock()
	return nil
}

func (m *memStorage) OpenShared(ctx context.Context, name string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.shared[name]
	if !ok {
		return nil, fmt.Errorf("no shared file %s", name)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memStorage) Commit(ctx context.Context, md *checkpoint.Metadata) error {
	b, err := json.Marshal(md)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.metas[md.ID]; dup {
		return fmt.Errorf("checkpoint %d committed twice", md.ID)
	}
	m.metas[md.ID] = b
	m.commits.Add(1)
	return nil
}

func (m *memStorage) load(id int64) (*checkpoint.Metadata, error) {
	m.mu.Lock()
	b, ok := m.metas[id]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no checkpoint %d", id)
	}
	var md checkpoint.Metadata
	return &md, json.Unmarshal(b, &md)
}

func (m *memStorage) Latest(ctx context.Context) (*checkpoint.Metadata, []error, error) {
	ids, _ := m.List(ctx)
	if len(ids) == 0 {
		return nil, nil, nil
	}
	md, err := m.load(ids[len(ids)-1])
	return md, nil, err
}

func (m *memStorage) Load(ctx context.Context, ref string) (*checkpoint.Metadata, error) {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return nil, err
	}
	return m.load(id)
}

func (m *memStorage) List(ctx context.Context) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []int64
	for id := range m.metas {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// maxID is the newest committed checkpoint, 0 if none.
func (m *memStorage) maxID() int64 {
	ids, _ := m.List(context.Background())
	if len(ids) == 0 {
		return 0
	}
	return ids[len(ids)-1]
}

// --- a snapshotting state provider over memstate ---

// snapProvider opens memstate backends that snapshot by serializing every
// table into one shared file.
type snapProvider struct {
	// failPersist, when set, fails Persist of the checkpoints it returns
	// true for.
	failPersist func(id int64) bool
	opened      atomic.Int64
	restored    atomic.Int64
}

type snapBackend struct {
	p      *snapProvider
	b      *memstate.Backend
	tables map[string]bool
}

func (p *snapProvider) Open(ctx context.Context, scope state.Scope) (state.Backend, error) {
	p.opened.Add(1)
	return &snapBackend{p: p, b: memstate.New(), tables: map[string]bool{}}, nil
}

func (b *snapBackend) Table(name string) (state.Table, error) {
	b.tables[name] = true
	return b.b.Table(name)
}

func (b *snapBackend) Close() error { return b.b.Close() }

// encode writes every table as (name, n, key, value...) with
// length-prefixed fields.
func (b *snapBackend) encode() ([]byte, error) {
	var names []string
	for n := range b.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []byte
	put := func(p []byte) {
		out = binary.AppendUvarint(out, uint64(len(p)))
		out = append(out, p...)
	}
	for _, n := range names {
		t, err := b.b.Table(n)
		if err != nil {
			return nil, err
		}
		put([]byte(n))
		err = t.Scan(state.KeyPrefix(nil, 0), nil, func(k, v []byte) error {
			out = append(out, 1)
			put(k)
			put(v)
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, 0)
	}
	return out, nil
}

func (b *snapBackend) Snapshot(ctx context.Context, id int64) (checkpoint.Snapshot, error) {
	data, err := b.encode()
	if err != nil {
		return nil, err
	}
	return &snap{p: b.p, id: id, data: data}, nil
}

type snap struct {
	p        *snapProvider
	id       int64
	data     []byte
	released bool
}

func (s *snap) Persist(ctx context.Context, st checkpoint.Storage) (*checkpoint.BackendHandle, error) {
	if s.p.failPersist != nil && s.p.failPersist(s.id) {
		return nil, fmt.Errorf("injected persist failure at checkpoint %d", s.id)
	}
	sum := sha256.Sum256(s.data)
	name := hex.EncodeToString(sum[:])
	has, err := st.HasShared(ctx, name, int64(len(s.data)))
	if err != nil {
		return nil, err
	}
	if !has {
		if err := st.PutShared(ctx, name, int64(len(s.data)), bytes.NewReader(s.data)); err != nil {
			return nil, err
		}
	}
	return &checkpoint.BackendHandle{Kind: "memsnap", Files: []checkpoint.FileRef{{Name: name, Size: int64(len(s.data)), SHA256: name}}}, nil
}

func (s *snap) Release() error {
	if s.released {
		return fmt.Errorf("snapshot released twice")
	}
	s.released = true
	return nil
}

// Restore implements checkpoint.RestoringProvider: it loads the keys of
// scope's key groups from every handle.
func (p *snapProvider) Restore(ctx context.Context, scope state.Scope, st checkpoint.Storage, handles []*checkpoint.BackendHandle) (state.Backend, error) {
	p.restored.Add(1)
	be := &snapBackend{p: p, b: memstate.New(), tables: map[string]bool{}}
	for _, h := range handles {
		for _, f := range h.Files {
			rc, err := st.OpenShared(ctx, f.Name)
			if err != nil {
				return nil, err
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != f.SHA256 {
				return nil, fmt.Errorf("file %s: checksum mismatch", f.Name)
			}
			if err := be.decode(data, scope.KeyGroups); err != nil {
				return nil, err
			}
		}
	}
	return be, nil
}

func (b *snapBackend) decode(data []byte, kgs keygroup.Range) error {
	get := func() ([]byte, error) {
		n, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < n {
			return nil, fmt.Errorf("corrupt snapshot")
		}
		p := data[k : k+int(n)]
		data = data[k+int(n):]
		return p, nil
	}
	for len(data) > 0 {
		name, err := get()
		if err != nil {
			return err
		}
		t, err := b.Table(string(name))
		if err != nil {
			return err
		}
		for {
			if len(data) == 0 {
				return fmt.Errorf("corrupt snapshot")
			}
			more := data[0]
			data = data[1:]
			if more == 0 {
				break
			}
			k, err := get()
			if err != nil {
				return err
			}
			v, err := get()
			if err != nil {
				return err
			}
			kg, err := state.KeyGroupOf(k)
			if err != nil {
				return err
			}
			if kgs.Contains(kg) {
				if err := t.Put(k, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

var (
	_ checkpoint.RestoringProvider = (*snapProvider)(nil)
	_ checkpoint.SnapshotBackend   = (*snapBackend)(nil)
)

// --- a restorable source: the dataset's readers report their position ---

// position encodes (subtask, rows returned).
func (fr *fakeReader) Position() ([]byte, error) {
	return []byte(fmt.Sprintf("%d:%d", fr.rc.Subtask, fr.pos)), nil
}

func (d *dataset) RestoreReader(ctx context.Context, rc connectors.ReaderContext, positions [][]byte) (connectors.Reader, error) {
	r, err := d.Reader(ctx, rc)
	if err != nil {
		return nil, err
	}
	fr := r.(*fakeReader)
	found := false
	for _, p := range positions {
		var sub, pos int
		if _, err := fmt.Sscanf(string(p), "%d:%d", &sub, &pos); err != nil {
			return nil, fmt.Errorf("bad position %q: %w", p, err)
		}
		if sub == rc.Subtask {
			if found {
				return nil, fmt.Errorf("two positions for subtask %d", sub)
			}
			found = true
			fr.pos = pos
		}
	}
	if !found {
		return nil, fmt.Errorf("no position for subtask %d in %q", rc.Subtask, positions)
	}
	return fr, nil
}

var (
	_ connectors.RestorableSource = (*dataset)(nil)
	_ connectors.PositionedReader = (*fakeReader)(nil)
)

// --- a two-phase sink ---

// tpcSink is the "tpc" connector: writers stage rows; Prepare moves them to
// a durable prepared area under a committable "id:token"; Commit (and Close)
// makes them visible. Recover implements the RecoverableSink contract.
type tpcSink struct {
	mu       sync.Mutex
	nextTok  int
	prepared map[string][]string // by token
	visible  []visibleRow
	done     map[string]bool // tokens committed
	// commitLog records each Commit with the newest checkpoint committed
	// in storage at the time.
	commitLog []commitEvent
	storage   *memStorage
	recovers  int
	// keepCommitted makes Recover keep output committed after the
	// restored checkpoint, as a sink that cannot take it back (Kafka's
	// committed transactions) must.
	keepCommitted bool
}

type visibleRow struct {
	ckpt int64 // the checkpoint that committed it; MaxInt64: Close
	row  string
}

type commitEvent struct {
	id, storedMax int64
}

func newTPCSink(st *memStorage) *tpcSink {
	return &tpcSink{prepared: map[string][]string{}, done: map[string]bool{}, storage: st}
}

func (f *tpcSink) Name() string                     { return "tpc" }
func (f *tpcSink) Options() []connectors.OptionSpec { return nil }
func (f *tpcSink) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	return f, nil
}

func (f *tpcSink) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	return &tpcWriter{f: f}, nil
}

func (f *tpcSink) Recover(ctx context.Context, committables [][]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recovers++
	keep := map[string]bool{}
	var restored int64
	for _, c := range committables {
		id, tok, err := parseCommittable(c)
		if err != nil {
			return err
		}
		restored = max(restored, id)
		keep[tok] = true
	}
	// Output committed after the restored checkpoint goes.
	vis := f.visible[:0]
	for _, v := range f.visible {
		if v.ckpt <= restored || f.keepCommitted {
			vis = append(vis, v)
		}
	}
	f.visible = vis
	for tok := range f.prepared {
		if !keep[tok] {
			delete(f.prepared, tok)
		}
	}
	for _, c := range committables {
		id, tok, _ := parseCommittable(c)
		f.commitLocked(id, tok)
	}
	return nil
}

func parseCommittable(c []byte) (int64, string, error) {
	id, tok, ok := strings.Cut(string(c), ":")
	if !ok {
		return 0, "", fmt.Errorf("bad committable %q", c)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	return n, tok, err
}

func (f *tpcSink) commitLocked(id int64, tok string) {
	if f.done[tok] {
		return
	}
	rows, ok := f.prepared[tok]
	if !ok {
		return
	}
	for _, r := range rows {
		f.visible = append(f.visible, visibleRow{ckpt: id, row: r})
	}
	delete(f.prepared, tok)
	f.done[tok] = true
}

// rows returns the visible rows, sorted.
func (f *tpcSink) rows() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.visible))
	for i, v := range f.visible {
		out[i] = v.row
	}
	sort.Strings(out)
	return out
}

type tpcWriter struct {
	f      *tpcSink
	staged []string
}

func (w *tpcWriter) Write(ctx context.Context, b stream.Batch) error {
	for i := 0; i < b.NumRows(); i++ {
		var sb strings.Builder
		sb.WriteString(b.Kind(i).String())
		for c := 0; c < int(b.Record.NumCols()); c++ {
			sb.WriteString("|")
			sb.WriteString(b.Record.Column(c).ValueStr(i))
		}
		w.staged = append(w.staged, sb.String())
	}
	return nil
}

func (w *tpcWriter) Prepare(ctx context.Context, id int64) ([]byte, error) {
	f := w.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextTok++
	tok := fmt.Sprintf("t%d", f.nextTok)
	f.prepared[tok] = w.staged
	w.staged = nil
	return []byte(fmt.Sprintf("%d:%s", id, tok)), nil
}

func (w *tpcWriter) Commit(ctx context.Context, id int64, committable []byte) error {
	cid, tok, err := parseCommittable(committable)
	if err != nil {
		return err
	}
	if cid != id {
		return fmt.Errorf("commit of checkpoint %d with the committable of %d", id, cid)
	}
	f := w.f
	stored := f.storage.maxID()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commitLog = append(f.commitLog, commitEvent{id: id, storedMax: stored})
	f.commitLocked(id, tok)
	return nil
}

func (w *tpcWriter) Close(ctx context.Context) error {
	f := w.f
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range w.staged {
		f.visible = append(f.visible, visibleRow{ckpt: 1<<63 - 1, row: r})
	}
	w.staged = nil
	return nil
}

func (w *tpcWriter) Abort(ctx context.Context) error {
	w.staged = nil
	return nil
}

var (
	_ connectors.RecoverableSink = (*tpcSink)(nil)
	_ connectors.TwoPhaseWriter  = (*tpcWriter)(nil)
)

// --- a stateful operator that checkpoints its memory ---

// runCountOp keeps a running count per key (column 0; NULL is a key) in
// memory, emits (id, key, count) per row, writes changed counts to keyed
// state at SnapshotState and reads them back at RestoreState. It fails
// (or panics) when fail says so.
type runCountOp struct {
	oc     *operator.Context
	tbl    state.Table
	counts map[string]*runCount
	dirty  map[string]bool
	hashes []uint64
	fail   func(subtask int) (fail, panics bool)
	// snaps, when set, records the ids processed before each snapshot.
	processed []int64
	snaps     *snapLog
}

type runCount struct {
	kg  int
	n   int64
	key string
}

// snapLog records, per subtask and checkpoint, the row ids an operator had
// processed at its snapshot.
type snapLog struct {
	mu  sync.Mutex
	ids map[int64]map[int][]int64
}

var runCountSchema = types.Schema{Fields: []types.Field{
	{Name: "id", Type: types.BigIntType},
	{Name: "key", Type: types.BigIntType},
	{Name: "cnt", Type: types.BigIntType},
}}

func (c *runCountOp) Open(ctx context.Context, oc *operator.Context) error {
	c.oc = oc
	c.counts, c.dirty = map[string]*runCount{}, map[string]bool{}
	var err error
	c.tbl, err = oc.State.Table("counts")
	return err
}

func (c *runCountOp) ProcessBatch(ctx context.Context, input int, b stream.Batch, out operator.Collector) error {
	if c.fail != nil {
		if f, p := c.fail(c.oc.Subtask); f {
			if p {
				var m map[string]int
				m["boom"]++
			}
			return fmt.Errorf("runcount: %w", errBoom)
		}
	}
	n := b.NumRows()
	if cap(c.hashes) < n {
		c.hashes = make([]uint64, n)
	}
	keys := b.Record.Column(0).(*array.Int64)
	ids := b.Record.Column(3).(*array.Int64)
	if err := keygroup.HashColumns([]arrow.Array{keys}, c.hashes[:n]); err != nil {
		return err
	}
	bld := array.NewRecordBuilder(c.oc.Alloc, runCountSchema.Arrow())
	defer bld.Release()
	for i := 0; i < n; i++ {
		k := "null"
		if !keys.IsNull(i) {
			k = strconv.FormatInt(keys.Value(i), 10)
		}
		rc := c.counts[k]
		if rc == nil {
			rc = &runCount{kg: keygroup.Of(c.hashes[i], c.oc.MaxParallelism), key: k}
			c.counts[k] = rc
		}
		rc.n++
		c.dirty[k] = true
		bld.Field(0).(*array.Int64Builder).Append(ids.Value(i))
		if keys.IsNull(i) {
			bld.Field(1).AppendNull()
		} else {
			bld.Field(1).(*array.Int64Builder).Append(keys.Value(i))
		}
		bld.Field(2).(*array.Int64Builder).Append(rc.n)
		if c.snaps != nil {
			c.processed = append(c.processed, ids.Value(i))
		}
	}
	return out.Emit(ctx, stream.Batch{Record: bld.NewRecordBatch()})
}

func (c *runCountOp) SnapshotState(ctx context.Context, id int64) error {
	for k := range c.dirty {
		rc := c.counts[k]
		key := append(state.KeyPrefix(nil, rc.kg), k...)
		if err := c.tbl.Put(key, state.AppendInt64(nil, rc.n)); err != nil {
			return err
		}
	}
	clear(c.dirty)
	if c.snaps != nil {
		c.snaps.mu.Lock()
		if c.snaps.ids[id] == nil {
			c.snaps.ids[id] = map[int][]int64{}
		}
		c.snaps.ids[id][c.oc.Subtask] = append([]int64(nil), c.processed...)
		c.snaps.mu.Unlock()
	}
	return nil
}

func (c *runCountOp) RestoreState(ctx context.Context) error {
	return c.tbl.Scan(state.KeyPrefix(nil, 0), nil, func(k, v []byte) error {
		kg, err := state.KeyGroupOf(k)
		if err != nil {
			return err
		}
		if !c.oc.KeyGroups.Contains(kg) {
			return fmt.Errorf("restored key group %d outside %s", kg, c.oc.KeyGroups)
		}
		key := string(k[state.KeyGroupLen:])
		c.counts[key] = &runCount{kg: kg, n: state.DecodeInt64(v), key: key}
		return nil
	})
}

func (c *runCountOp) ProcessWatermark(ctx context.Context, wm int64, out operator.Collector) error {
	return nil
}

func (c *runCountOp) Close(ctx context.Context) error { return nil }

var _ operator.Snapshotter = (*runCountOp)(nil)
