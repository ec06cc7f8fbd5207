package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// sink is a table written to a topic.
type sink struct {
	cfg    *config
	logger *slog.Logger
}

func newSink(info connectors.TableInfo, upsert bool) (*sink, error) {
	cfg, err := parseConfig(info, upsert)
	if err != nil {
		return nil, fmt.Errorf("kafka: table '%s': %w", info.Name, err)
	}
	if len(cfg.topics) != 1 {
		return nil, fmt.Errorf("kafka: table '%s': option '%s': a sink writes one topic, not %d", info.Name, OptTopic, len(cfg.topics))
	}
	return &sink{cfg: cfg, logger: slog.Default()}, nil
}

// Writer opens the writer of subtask rc.Subtask: transactional with
// 'sink.delivery-guarantee' = 'exactly-once' in a job that checkpoints,
// else a plain (idempotent) producer flushed at checkpoints and at the
// end.
func (s *sink) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	logger := rc.Logger
	if logger == nil {
		logger = slog.Default()
	}
	enc, err := newRowEncoder(s.cfg)
	if err != nil {
		return nil, fmt.Errorf("kafka: table '%s': %w", s.cfg.table, err)
	}
	if s.cfg.delivery == DeliveryExactlyOnce {
		if rc.Checkpointing {
			return newTxnWriter(ctx, s.cfg, rc, logger, enc)
		}
		if rc.Subtask == 0 {
			logger.Info("kafka: the job takes no checkpoints, so the exactly-once sink writes without transactions (at least once, flushed at the end)",
				"table", s.cfg.table)
		}
	}
	return newPlainWriter(s.cfg, logger, enc)
}

// rowEncoder turns a batch's rows into messages.
type rowEncoder struct {
	cfg   *config
	value messageEncoder
	key   messageEncoder
}

func newRowEncoder(cfg *config) (*rowEncoder, error) {
	e := &rowEncoder{cfg: cfg}
	var err error
	if e.value, err = newEncoder(cfg.value); err != nil {
		return nil, err
	}
	if cfg.hasKey {
		if e.key, err = newEncoder(cfg.key); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// records returns the messages of b's rows. An upsert table writes +I and
// +U rows as values, -D rows as tombstones (no value) and drops -U rows;
// a kafka table takes inserts only.
func (e *rowEncoder) records(b stream.Batch) ([]*kgo.Record, error) {
	n := b.NumRows()
	if n == 0 {
		return nil, nil
	}
	if !e.cfg.upsert && b.Kinds != nil {
		for i, k := range b.Kinds {
			if k != stream.Insert {
				return nil, fmt.Errorf("row %d is %s, but 'connector' = 'kafka' writes inserts only (use 'upsert-kafka' for updates)", i, k)
			}
		}
	}
	vals, err := e.value.encode(b.Record)
	if err != nil {
		return nil, fmt.Errorf("encoding the value: %w", err)
	}
	var keys [][]byte
	if e.key != nil {
		kr := project(b.Record, e.cfg.key.schema, e.cfg.keyCols)
		keys, err = e.key.encode(kr)
		kr.Release()
		if err != nil {
			return nil, fmt.Errorf("encoding the key: %w", err)
		}
	}
	out := make([]*kgo.Record, 0, n)
	for i := 0; i < n; i++ {
		r := &kgo.Record{Topic: e.cfg.topics[0], Value: vals[i]}
		if keys != nil {
			r.Key = keys[i]
		}
		if e.cfg.upsert {
			switch b.Kind(i) {
			case stream.UpdateBefore:
				continue
			case stream.Delete:
				r.Value = nil
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// produceErr keeps the first error of asynchronous produce calls.
type produceErr struct {
	mu  sync.Mutex
	err error
}

func (p *produceErr) set(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

func (p *produceErr) get() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *produceErr) promise(table string) func(*kgo.Record, error) {
	return func(r *kgo.Record, err error) {
		if err != nil {
			p.set(fmt.Errorf("kafka: table '%s': producing to %s: %w", table, splitID(r.Topic, r.Partition), err))
		}
	}
}

// plainWriter writes through one idempotent producer: at least once.
type plainWriter struct {
	cfg     *config
	logger  *slog.Logger
	enc     *rowEncoder
	cl      *kgo.Client
	errs    produceErr
	promise func(*kgo.Record, error)
	closed  bool
}

// encodeForWrite is what both writers do first: refuse a closed writer,
// report an earlier asynchronous produce error, encode b's rows.
func encodeForWrite(closed bool, errs *produceErr, enc *rowEncoder, table string, b stream.Batch) ([]*kgo.Record, error) {
	if closed {
		return nil, errClosed
	}
	if err := errs.get(); err != nil {
		return nil, err
	}
	recs, err := enc.records(b)
	if err != nil {
		return nil, fmt.Errorf("kafka: table '%s': %w", table, err)
	}
	return recs, nil
}

func newPlainWriter(cfg *config, logger *slog.Logger, enc *rowEncoder) (*plainWriter, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.brokers...))
	if err != nil {
		return nil, fmt.Errorf("kafka: table '%s': %w", cfg.table, err)
	}
	w := &plainWriter{cfg: cfg, logger: logger, enc: enc, cl: cl}
	w.promise = w.errs.promise(cfg.table)
	return w, nil
}

// Write produces b's rows (asynchronously; errors surface at the next
// call).
func (w *plainWriter) Write(ctx context.Context, b stream.Batch) error {
	recs, err := encodeForWrite(w.closed, &w.errs, w.enc, w.cfg.table, b)
	if err != nil {
		return err
	}
	for _, r := range recs {
		w.cl.Produce(ctx, r, w.promise)
	}
	return nil
}

// Prepare flushes (unless 'sink.delivery-guarantee' = 'none'): every
// record written before the barrier is acknowledged. The committable is
// empty.
func (w *plainWriter) Prepare(ctx context.Context, _ int64) ([]byte, error) {
	if w.cfg.delivery != DeliveryNone {
		if err := w.cl.Flush(ctx); err != nil {
			return nil, fmt.Errorf("kafka: table '%s': flushing at a checkpoint: %w", w.cfg.table, err)
		}
	}
	return nil, w.errs.get()
}

// Commit has nothing to do.
func (w *plainWriter) Commit(context.Context, int64, []byte) error { return nil }

// Close flushes and closes the producer.
func (w *plainWriter) Close(ctx context.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.cl.Close()
	if err := w.cl.Flush(ctx); err != nil {
		return fmt.Errorf("kafka: table '%s': flushing at the end: %w", w.cfg.table, err)
	}
	return w.errs.get()
}

// Abort drops what is still buffered and closes the producer.
func (w *plainWriter) Abort(ctx context.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = w.cl.AbortBufferedRecords(actx)
	w.cl.Close()
	return nil
}

// committable is what the exactly-once writer's Prepare returns: the
// transaction holding the checkpoint's records, and enough about the
// writer for a recovery to find every transactional id it may have used.
type committable struct {
	// TxID is the transactional id, "" when the checkpoint had no records.
	TxID       string `json:"txid,omitempty"`
	ProducerID int64  `json:"producer_id"`
	Epoch      int16  `json:"epoch"`
	// Subtask and Parallelism are the writer's.
	Subtask     int `json:"subtask"`
	Parallelism int `json:"parallelism"`
	// Pool is the number of transactional ids the writer has used
	// (<prefix>-<subtask>-0 .. Pool-1).
	Pool int `json:"pool"`
}

func decodeCommittable(b []byte) (committable, error) {
	var c committable
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("kafka: cannot read a committable: %w", err)
	}
	return c, nil
}

// txnID is the transactional id of producer n of subtask s.
func txnID(prefix string, subtask, n int) string {
	return prefix + "-" + strconv.Itoa(subtask) + "-" + strconv.Itoa(n)
}

// txnProducer is one transactional producer of a writer's pool.
type txnProducer struct {
	n       int
	id      string
	cl      *kgo.Client
	records int // records produced in the open transaction
	open    bool
}

// txnWriter writes each checkpoint's records in a Kafka transaction,
// committed when the checkpoint completes, as Flink's KafkaSink does with
// 'exactly-once'. The transactions of checkpoints not yet complete stay
// open on producers of their own, so the writer keeps a small pool of
// producers, <prefix>-<subtask>-<n>.
type txnWriter struct {
	cfg     *config
	rc      connectors.ReaderContext
	logger  *slog.Logger
	enc     *rowEncoder
	admin   *kgo.Client // raw transaction requests
	all     []*txnProducer
	free    []*txnProducer
	cur     *txnProducer
	pending map[string]*txnProducer
	errs    produceErr
	promise func(*kgo.Record, error)
	closed  bool
}

func newTxnWriter(ctx context.Context, cfg *config, rc connectors.ReaderContext, logger *slog.Logger, enc *rowEncoder) (*txnWriter, error) {
	admin, err := kgo.NewClient(kgo.SeedBrokers(cfg.brokers...))
	if err != nil {
		return nil, fmt.Errorf("kafka: table '%s': %w", cfg.table, err)
	}
	w := &txnWriter{cfg: cfg, rc: rc, logger: logger, enc: enc, admin: admin, pending: map[string]*txnProducer{}}
	w.promise = w.errs.promise(cfg.table)
	// Abort what an earlier run of this subtask left open (a job that
	// failed before its first checkpoint is not recovered).
	if err := abortLingering(ctx, admin, cfg, rc.Subtask, 0, logger); err != nil {
		admin.Close()
		return nil, err
	}
	return w, nil
}

func (w *txnWriter) newProducer() (*txnProducer, error) {
	n := len(w.all)
	id := txnID(w.cfg.txnPrefix, w.rc.Subtask, n)
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.cfg.brokers...), kgo.TransactionalID(id),
		kgo.TransactionTimeout(w.cfg.txnTimeout))
	if err != nil {
		return nil, fmt.Errorf("kafka: table '%s': transactional producer %s: %w", w.cfg.table, id, err)
	}
	p := &txnProducer{n: n, id: id, cl: cl}
	w.all = append(w.all, p)
	return p, nil
}

// current returns the producer of the open transaction, starting one.
func (w *txnWriter) current() (*txnProducer, error) {
	if w.cur != nil {
		return w.cur, nil
	}
	var p *txnProducer
	if len(w.free) > 0 {
		p = w.free[0]
		w.free = w.free[1:]
	} else {
		var err error
		if p, err = w.newProducer(); err != nil {
			return nil, err
		}
	}
	if err := p.cl.BeginTransaction(); err != nil {
		return nil, fmt.Errorf("kafka: table '%s': beginning a transaction on %s: %w", w.cfg.table, p.id, err)
	}
	p.open, p.records = true, 0
	w.cur = p
	return p, nil
}

// Write produces b's rows in the open transaction.
func (w *txnWriter) Write(ctx context.Context, b stream.Batch) error {
	recs, err := encodeForWrite(w.closed, &w.errs, w.enc, w.cfg.table, b)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	p, err := w.current()
	if err != nil {
		return err
	}
	for _, r := range recs {
		p.cl.Produce(ctx, r, w.promise)
	}
	p.records += len(recs)
	return nil
}

func (w *txnWriter) meta() committable {
	return committable{Subtask: w.rc.Subtask, Parallelism: w.rc.Parallelism, Pool: len(w.all)}
}

// Prepare flushes the open transaction and returns it as the committable;
// the records after the barrier go to another producer's transaction.
func (w *txnWriter) Prepare(ctx context.Context, checkpointID int64) ([]byte, error) {
	c := w.meta()
	if p := w.cur; p != nil && p.records > 0 {
		if err := p.cl.Flush(ctx); err != nil {
			return nil, fmt.Errorf("kafka: table '%s': flushing transaction %s at checkpoint %d: %w", w.cfg.table, p.id, checkpointID, err)
		}
		if err := w.errs.get(); err != nil {
			return nil, err
		}
		id, epoch, err := p.cl.ProducerID(ctx)
		if err != nil {
			return nil, fmt.Errorf("kafka: table '%s': producer id of %s: %w", w.cfg.table, p.id, err)
		}
		c.TxID, c.ProducerID, c.Epoch = p.id, id, epoch
		w.pending[p.id] = p
		w.cur = nil
	}
	return json.Marshal(c)
}

// Commit commits the checkpoint's transaction: on the live producer that
// wrote it, or, for a committable of an earlier writer, by a raw EndTxn
// with its producer id and epoch. A transaction that is already committed
// (or no longer known) is not an error.
func (w *txnWriter) Commit(ctx context.Context, checkpointID int64, b []byte) error {
	c, err := decodeCommittable(b)
	if err != nil {
		return fmt.Errorf("kafka: table '%s': checkpoint %d: %w", w.cfg.table, checkpointID, err)
	}
	if c.TxID == "" {
		return nil
	}
	if p := w.pending[c.TxID]; p != nil {
		if err := p.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			return fmt.Errorf("kafka: table '%s': committing transaction %s of checkpoint %d: %w", w.cfg.table, p.id, checkpointID, err)
		}
		delete(w.pending, c.TxID)
		p.open, p.records = false, 0
		w.free = append(w.free, p)
		return nil
	}
	return commitRaw(ctx, w.admin, w.cfg, c, w.logger)
}

// Close commits the open transaction and every prepared one (end of
// input: no checkpoint follows) and closes the producers.
func (w *txnWriter) Close(ctx context.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.closeAll()
	if p := w.cur; p != nil && p.open {
		if err := p.cl.Flush(ctx); err != nil {
			return fmt.Errorf("kafka: table '%s': flushing transaction %s at the end: %w", w.cfg.table, p.id, err)
		}
		if err := w.errs.get(); err != nil {
			return err
		}
		w.pending[p.id] = p
		w.cur = nil
	}
	if err := w.errs.get(); err != nil {
		return err
	}
	ids := make([]string, 0, len(w.pending))
	for id := range w.pending {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := w.pending[id]
		if err := p.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			return fmt.Errorf("kafka: table '%s': committing transaction %s at the end: %w", w.cfg.table, id, err)
		}
		delete(w.pending, id)
	}
	return nil
}

// Abort aborts the open transaction. Prepared transactions are left as
// they are: their checkpoint may have completed, and the recovery that
// follows commits them (and aborts the others).
func (w *txnWriter) Abort(ctx context.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.closeAll()
	if p := w.cur; p != nil && p.open {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = p.cl.AbortBufferedRecords(actx)
		if err := p.cl.EndTransaction(actx, kgo.TryAbort); err != nil {
			w.logger.Warn("kafka: aborting the open transaction failed; the next run aborts it", "table", w.cfg.table, "txid", p.id, "err", err)
		}
	}
	return nil
}

func (w *txnWriter) closeAll() {
	for _, p := range w.all {
		p.cl.Close()
	}
	w.admin.Close()
}

// Recover commits the transactions of the checkpoint the job restores,
// then aborts whatever else the writers of the failed run left open under
// the prefix (initializing a transactional id fences its old producer and
// aborts its open transaction).
func (s *sink) Recover(ctx context.Context, committables [][]byte) error {
	if s.cfg.delivery != DeliveryExactlyOnce || len(committables) == 0 {
		return nil
	}
	admin, err := kgo.NewClient(kgo.SeedBrokers(s.cfg.brokers...))
	if err != nil {
		return fmt.Errorf("kafka: table '%s': %w", s.cfg.table, err)
	}
	defer admin.Close()
	subtasks := 0
	pools := map[int]int{}
	for _, b := range committables {
		if len(b) == 0 {
			continue
		}
		c, err := decodeCommittable(b)
		if err != nil {
			return fmt.Errorf("kafka: table '%s': %w", s.cfg.table, err)
		}
		subtasks = max(subtasks, c.Parallelism, c.Subtask+1)
		pools[c.Subtask] = max(pools[c.Subtask], c.Pool)
		if c.TxID != "" {
			if err := commitRaw(ctx, admin, s.cfg, c, s.logger); err != nil {
				return err
			}
		}
	}
	for st := 0; st < subtasks; st++ {
		if err := abortLingering(ctx, admin, s.cfg, st, pools[st], s.logger); err != nil {
			return err
		}
	}
	return nil
}

// txnRetry is how long a raw transaction request is retried while the
// coordinator is busy (CONCURRENT_TRANSACTIONS, loading, moving).
const txnRetry = 30 * time.Second

// retryTxn runs do until it returns an error code that is not retriable,
// or txnRetry has passed.
func retryTxn(ctx context.Context, do func() (int16, error)) (error, error) {
	deadline := time.Now().Add(txnRetry)
	wait := 10 * time.Millisecond
	for {
		code, err := do()
		if err != nil {
			return nil, err
		}
		kerrv := kerr.ErrorForCode(code)
		retriable := errors.Is(kerrv, kerr.ConcurrentTransactions) || errors.Is(kerrv, kerr.CoordinatorLoadInProgress) ||
			errors.Is(kerrv, kerr.CoordinatorNotAvailable) || errors.Is(kerrv, kerr.NotCoordinator)
		if !retriable || time.Now().After(deadline) {
			return kerrv, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// commitRaw commits a transaction of another (possibly dead) producer by
// its transactional id, producer id and epoch, as Flink's KafkaCommitter
// resumes one. An already completed, fenced or unknown transaction is
// logged and taken as done: committing is idempotent.
func commitRaw(ctx context.Context, cl *kgo.Client, cfg *config, c committable, logger *slog.Logger) error {
	kerrv, err := retryTxn(ctx, func() (int16, error) {
		req := kmsg.NewPtrEndTxnRequest()
		req.TransactionalID = c.TxID
		req.ProducerID = c.ProducerID
		req.ProducerEpoch = c.Epoch
		req.Commit = true
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return 0, err
		}
		return resp.ErrorCode, nil
	})
	if err != nil {
		return fmt.Errorf("kafka: table '%s': committing transaction %s: %w", cfg.table, c.TxID, err)
	}
	switch {
	case kerrv == nil:
		return nil
	case errors.Is(kerrv, kerr.InvalidTxnState), errors.Is(kerrv, kerr.ProducerFenced),
		errors.Is(kerrv, kerr.InvalidProducerEpoch), errors.Is(kerrv, kerr.InvalidProducerIDMapping),
		errors.Is(kerrv, kerr.TransactionalIDNotFound):
		// Normal when a restore commits a checkpoint whose commit had
		// already happened; data is lost only if the broker aborted the
		// transaction after 'properties.transaction.timeout.ms'.
		logger.Info("kafka: transaction already completed (committed before, or aborted by the broker after its timeout); nothing to commit",
			"table", cfg.table, "txid", c.TxID, "producer_id", c.ProducerID, "epoch", c.Epoch, "reply", kerrv.Error())
		return nil
	}
	return fmt.Errorf("kafka: table '%s': committing transaction %s: %w", cfg.table, c.TxID, kerrv)
}

// abortLingering initializes the transactional ids <prefix>-<subtask>-n
// for n = 0, 1, ..., which aborts any transaction left open on them, until
// one at or past atLeast turns out never used (epoch 0).
func abortLingering(ctx context.Context, cl *kgo.Client, cfg *config, subtask, atLeast int, logger *slog.Logger) error {
	aborted := 0
	for n := 0; ; n++ {
		id := txnID(cfg.txnPrefix, subtask, n)
		var epoch int16
		kerrv, err := retryTxn(ctx, func() (int16, error) {
			req := kmsg.NewPtrInitProducerIDRequest()
			req.TransactionalID = &id
			req.TransactionTimeoutMillis = int32(cfg.txnTimeout.Milliseconds())
			req.ProducerID, req.ProducerEpoch = -1, -1
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				return 0, err
			}
			epoch = resp.ProducerEpoch
			return resp.ErrorCode, nil
		})
		if err == nil && kerrv != nil {
			err = kerrv
		}
		if err != nil {
			return fmt.Errorf("kafka: table '%s': aborting what transactional id %s left open: %w", cfg.table, id, err)
		}
		if epoch == 0 && n >= atLeast {
			break
		}
		aborted++
	}
	if aborted > 0 {
		logger.Debug("kafka: fenced earlier transactional producers", "table", cfg.table, "subtask", subtask, "ids", aborted)
	}
	return nil
}
