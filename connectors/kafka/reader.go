package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/connectors/format/raw"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// pollWait is how long Next waits for records when none are buffered.
// The runtime calls Next again after a back-off when it returns nothing.
const pollWait = 10 * time.Millisecond

// heldSplit is a split a reader holds: its position and the records
// polled for it but not returned yet.
type heldSplit struct {
	st      splitState
	pending []*kgo.Record
}

// reader reads the partitions assigned to one source subtask, with one
// kgo client consuming them directly (no consumer group).
type reader struct {
	cfg    *config
	rc     connectors.ReaderContext
	cl     *kgo.Client
	alloc  memory.Allocator
	logger *slog.Logger

	held  map[string]*heldSplit
	order []string // split ids, for round robin
	next  int      // index into order of the next split to serve

	dec     format.Decoder
	rawDec  *raw.Decoder // dec, when the value format is raw
	builder *format.Builder
	kinds   []stream.RowKind
	// Upsert sources decode a tombstone's key into keyView: a builder
	// whose columns are the key columns of builder.
	keyDec     format.Decoder
	keyRawDec  *raw.Decoder
	keyView    *format.Builder
	keySchema  types.Schema
	nonKeyCols []int

	skipped operator.Counter
}

func newReader(cfg *config, rc connectors.ReaderContext) (*reader, error) {
	r := &reader{cfg: cfg, rc: rc, alloc: rc.Alloc, logger: rc.Logger, held: map[string]*heldSplit{}}
	if r.alloc == nil {
		r.alloc = memory.DefaultAllocator
	}
	if r.logger == nil {
		r.logger = slog.Default()
	}
	if r.rc.BatchSize <= 0 {
		r.rc.BatchSize = 1024
	}
	var err error
	if r.dec, err = newDecoder(cfg.value); err != nil {
		return nil, fmt.Errorf("kafka: table '%s': %w", cfg.table, err)
	}
	r.rawDec, _ = r.dec.(*raw.Decoder)
	r.builder = format.NewBuilder(cfg.schema)
	if cfg.upsert {
		if r.keyDec, err = newDecoder(cfg.key); err != nil {
			return nil, fmt.Errorf("kafka: table '%s': %w", cfg.table, err)
		}
		r.keyRawDec, _ = r.keyDec.(*raw.Decoder)
		r.keySchema = cfg.key.schema
		isKey := map[int]bool{}
		for _, c := range cfg.keyCols {
			isKey[c] = true
		}
		for i := range cfg.schema.Fields {
			if !isKey[i] {
				r.nonKeyCols = append(r.nonKeyCols, i)
			}
		}
		r.resetKeyView()
	}
	if rc.Metrics != nil {
		r.skipped = rc.Metrics.Counter("bad_records_skipped", "Records the source skipped because they could not be parsed.")
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.brokers...),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}
	if cfg.readCommited {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	if r.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("kafka: table '%s': %w", cfg.table, err)
	}
	return r, nil
}

// resetKeyView makes keyView a builder over the key columns of builder,
// in step with it (after a Build, both are empty).
func (r *reader) resetKeyView() {
	r.keyView = format.NewBuilder(r.keySchema)
	for i, c := range r.cfg.keyCols {
		r.keyView.Cols[i] = r.builder.Cols[c]
	}
}

// AddSplits starts consuming the splits at their offsets.
func (r *reader) AddSplits(_ context.Context, splits []connectors.Split) error {
	add := map[string]map[int32]kgo.Offset{}
	for _, sp := range splits {
		st, err := decodeSplit(sp)
		if err != nil {
			return err
		}
		if old, ok := r.held[sp.ID]; ok {
			r.logger.Warn("kafka: split added again; taking the new position", "split", sp.ID,
				"old", old.st.Offset, "new", st.Offset)
			r.cl.RemoveConsumePartitions(map[string][]int32{st.Topic: {st.Partition}})
			old.st, old.pending = st, nil
		} else {
			r.held[sp.ID] = &heldSplit{st: st}
			r.order = append(r.order, sp.ID)
		}
		if st.finished() {
			continue // reported by the next Next
		}
		if add[st.Topic] == nil {
			add[st.Topic] = map[int32]kgo.Offset{}
		}
		add[st.Topic][st.Partition] = kgo.NewOffset().At(st.Offset)
	}
	if len(add) > 0 {
		r.cl.AddConsumePartitions(add)
	}
	return nil
}

// Next returns the rows of one split: up to BatchSize records polled for
// it, decoded. A bounded split whose offset reaches its stop is returned
// with Finished and dropped.
func (r *reader) Next(ctx context.Context) (connectors.SplitBatch, error) {
	if len(r.held) == 0 {
		return connectors.SplitBatch{}, nil
	}
	if b, ok, err := r.serve(ctx); ok || err != nil {
		return b, err
	}
	if err := r.poll(ctx); err != nil {
		return connectors.SplitBatch{}, err
	}
	b, _, err := r.serve(ctx)
	return b, err
}

// serve returns a batch of the next split (round robin) that has records
// pending or has finished; ok is false when none has.
func (r *reader) serve(ctx context.Context) (connectors.SplitBatch, bool, error) {
	for range len(r.order) {
		if r.next >= len(r.order) {
			r.next = 0
		}
		id := r.order[r.next]
		r.next++
		h := r.held[id]
		if !h.st.finished() && len(h.pending) == 0 {
			continue
		}
		b, err := r.decode(ctx, id, h)
		if err != nil {
			return connectors.SplitBatch{}, false, err
		}
		if b.Batch.Record == nil && !b.Finished {
			continue // everything pending was skipped
		}
		return b, true, nil
	}
	return connectors.SplitBatch{}, false, nil
}

// decode turns up to BatchSize pending records of h into a batch.
func (r *reader) decode(ctx context.Context, id string, h *heldSplit) (connectors.SplitBatch, error) {
	rows := 0
	taken := 0
	r.kinds = r.kinds[:0]
	for _, rec := range h.pending {
		if rows >= r.rc.BatchSize || h.st.finished() {
			break
		}
		taken++
		if rec.Offset < h.st.Offset {
			continue // already returned (a re-fetch)
		}
		h.st.Offset = rec.Offset + 1
		if rec.Attrs.IsControl() {
			continue // a transaction marker
		}
		ok, err := r.decodeRecord(ctx, rec)
		if err != nil {
			// The job fails; the rows decoded so far stay in the builder
			// (with their kinds) and the position is past the bad record.
			r.builder.Rollback()
			return connectors.SplitBatch{}, err
		}
		if ok {
			rows++
		}
	}
	clear(h.pending[:taken])
	h.pending = h.pending[taken:]
	if len(h.pending) == 0 {
		h.pending = nil
	}
	out := connectors.SplitBatch{Split: id}
	if rows > 0 {
		rec, err := r.builder.Build(r.alloc)
		if r.cfg.upsert {
			r.resetKeyView()
		}
		if err != nil {
			return connectors.SplitBatch{}, fmt.Errorf("kafka: table '%s': split %s: %w", r.cfg.table, id, err)
		}
		out.Batch.Record = rec
		if r.cfg.upsert {
			out.Batch.Kinds = append([]stream.RowKind(nil), r.kinds...)
		}
	}
	if h.st.finished() {
		out.Finished = true
		r.drop(id, h)
	}
	return out, nil
}

// decodeRecord appends rec's row (ok) or skips it: a record without a
// value in a json or csv table (as Flink does), or a bad record the
// policy skips.
func (r *reader) decodeRecord(ctx context.Context, rec *kgo.Record) (bool, error) {
	var err error
	kind := stream.UpdateAfter
	switch {
	case rec.Value == nil && r.cfg.upsert:
		kind = stream.Delete
		err = r.decodeTombstone(rec.Key)
	case rec.Value == nil && r.rawDec != nil:
		err = r.rawDec.DecodeNull(r.builder)
	case rec.Value == nil:
		return false, nil
	default:
		val := rec.Value
		if r.rawDec == nil {
			val = trimRecord(val)
		}
		var skip bool
		if skip, err = r.dec.Decode(val, r.builder); err == nil && skip {
			err = errors.New("the message value holds no row")
		}
		if err == nil && r.cfg.upsert {
			r.keyView.Commit()
		}
	}
	if err == nil {
		if r.cfg.upsert {
			r.kinds = append(r.kinds, kind)
		}
		return true, nil
	}
	side, data, ignore := "value", rec.Value, r.cfg.value.ignore
	if kind == stream.Delete {
		side, data, ignore = "key", rec.Key, r.cfg.key.ignore
	}
	bad := connectors.BadRecord{
		Location: rec.Topic + "/" + strconv.FormatInt(int64(rec.Partition), 10) + "/" + strconv.FormatInt(rec.Offset, 10),
		Reason:   side + ": " + err.Error(),
		Record:   data,
	}
	if ignore {
		if r.skipped != nil {
			r.skipped.Add(1)
		}
		return false, nil
	}
	if herr := r.rc.BadRecordHandler().Handle(ctx, bad); herr != nil {
		return false, fmt.Errorf("kafka: table '%s': %w", r.cfg.table, herr)
	}
	return false, nil
}

// decodeTombstone appends the row of a message without a value in an
// upsert table: the key's columns, NULL elsewhere.
func (r *reader) decodeTombstone(key []byte) error {
	var err error
	switch {
	case key == nil && r.keyRawDec != nil:
		err = r.keyRawDec.DecodeNull(r.keyView)
	case key == nil:
		return errors.New("a message without a value (a delete) has no key either")
	default:
		k := key
		if r.keyRawDec == nil {
			k = trimRecord(k)
		}
		var skip bool
		if skip, err = r.keyDec.Decode(k, r.keyView); err == nil && skip {
			err = errors.New("the message key holds no row")
		}
	}
	if err != nil {
		return err
	}
	for _, c := range r.nonKeyCols {
		r.builder.Cols[c].AppendNull()
	}
	r.builder.Commit()
	return nil
}

// poll waits briefly for records and files them under their splits.
func (r *reader) poll(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, pollWait)
	defer cancel()
	fs := r.cl.PollRecords(pctx, 4*r.rc.BatchSize)
	if err := ctx.Err(); err != nil {
		return err
	}
	var fatal error
	fs.EachError(func(t string, p int32, err error) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		if errors.Is(err, kgo.ErrClientClosed) {
			fatal = fmt.Errorf("kafka: table '%s': the client is closed", r.cfg.table)
			return
		}
		var ke *kerr.Error
		if errors.As(err, &ke) && !ke.Retriable && fatal == nil {
			fatal = fmt.Errorf("kafka: table '%s': reading partition %s: %w", r.cfg.table, splitID(t, p), err)
			return
		}
		r.logger.Warn("kafka: fetch error; retrying", "table", r.cfg.table, "partition", splitID(t, p), "err", err)
	})
	if fatal != nil {
		return fatal
	}
	fs.EachRecord(func(rec *kgo.Record) {
		h := r.held[splitID(rec.Topic, rec.Partition)]
		if h == nil || h.st.finished() {
			return // no longer held
		}
		h.pending = append(h.pending, rec)
	})
	return nil
}

// drop forgets a finished split.
func (r *reader) drop(id string, h *heldSplit) {
	r.cl.RemoveConsumePartitions(map[string][]int32{h.st.Topic: {h.st.Partition}})
	delete(r.held, id)
	for i, o := range r.order {
		if o == id {
			r.order = append(r.order[:i], r.order[i+1:]...)
			if r.next > i {
				r.next--
			}
			break
		}
	}
}

// Snapshot returns every held split at the offset after the last record
// Next returned.
func (r *reader) Snapshot() ([]connectors.Split, error) {
	ids := make([]string, 0, len(r.held))
	for id := range r.held {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]connectors.Split, 0, len(ids))
	for _, id := range ids {
		sp, err := r.held[id].st.split()
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

// Close closes the client.
func (r *reader) Close() error {
	r.cl.Close()
	return nil
}
