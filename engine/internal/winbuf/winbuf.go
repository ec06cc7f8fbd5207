package winbuf

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/bits"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Defaults the window operators share.
const (
	// DefaultLimit is the buffer limit when the job sets none.
	DefaultLimit = 100_000
	// OutputBatchRows is the largest batch a window operator emits.
	OutputBatchRows = 8192
)

// Metric names the buffer registers for its operator.
const (
	// LateRecordsMetric counts rows dropped because their window had
	// already fired.
	LateRecordsMetric = "late_records_dropped"
	// NullRowtimeMetric counts rows dropped because their time (or window)
	// columns were NULL.
	NullRowtimeMetric = "null_rowtime_records_dropped"
	// SpilledMetric counts buffer entries (groups or candidate rows)
	// spilled to keyed state because the buffer was full.
	SpilledMetric = "state_spilled_entries"
)

// Key identifies a window, or a slice of one: event time [Start, End) in
// epoch milliseconds.
type Key struct{ Start, End int64 }

// Compare orders keys by End, then Start: the order windows fire in.
func (k Key) Compare(o Key) int {
	if c := cmp.Compare(k.End, o.End); c != 0 {
		return c
	}
	return cmp.Compare(k.Start, o.Start)
}

// Window is an operator's in-memory part of one window: groups in a hash
// table, each with a state the operator folds rows into.
type Window interface {
	// Groups returns the window's groups: encoded keys and key hashes.
	Groups() *hashtable.Table
	// Size returns how many entries (groups, rows) the window holds
	// against the buffer's limit.
	Size() int
	// AppendState appends the encoded state of group g to dst.
	AppendState(dst []byte, g uint32) []byte
	// MergeState folds an encoded state, written by AppendState of a window
	// with the same key, into group g. g may have just been inserted into
	// Groups(): the window grows its per-group state as needed.
	MergeState(g uint32, src []byte) error
	// Reset empties the window for reuse, keeping its memory.
	Reset()
}

// Config says which operator a Buffer serves.
type Config struct {
	// Kind names the operator in messages, e.g. "window_agg".
	Kind string
	// Table is the state table's name; Version is the first byte of every
	// value, the format of the groups' states.
	Table   string
	Version byte
	// LimitOption is the job option that caps the buffer, DefaultLimit its
	// value when the job sets none, and Unit what the limit counts
	// ("groups", "rows"), for messages.
	LimitOption  string
	DefaultLimit int
	Unit         string
	// LateHelp and NullHelp describe the operator's two drop counters.
	LateHelp, NullHelp string
}

// Buffer is the window buffer of one operator subtask. It is used from the
// subtask's goroutine only.
type Buffer[W Window] struct {
	// Late and NullTime count dropped rows (LateRecordsMetric,
	// NullRowtimeMetric); CountDropped adds to them.
	Late, NullTime operator.Counter
	// Spilled counts entries written to keyed state (SpilledMetric).
	Spilled operator.Counter

	cfg       Config
	oc        *operator.Context
	log       *slog.Logger
	mem       memory.Allocator
	table     state.Table
	limit     int
	newWindow func() (W, error)
	wm        int64
	// next is at most the smallest End of any open or spilled window: no
	// watermark below next-1 fires anything.
	next       int64
	open       map[Key]W
	spilled    map[Key]*spill
	buffered   int
	pool       []W
	foreign    bool // a group's key group is outside oc.KeyGroups
	warnedNull bool // CountDropped logged its warning

	// Scratch.
	keys   []Key
	counts []int
	kgOf   []uint16
	order  []uint32
	skey   []byte
	sval   []byte
}

// spill records what a window has in the state table.
type spill struct {
	seq uint32   // chunks written so far: the next chunk's sequence number
	kgs []uint64 // key groups written, one bit each
}

const (
	prefixLen = state.KeyGroupLen + 8 + 8 // key group, end, start
	seqLen    = 4
)

// Open prepares the buffer of operator subtask oc: it reads the limit
// option, opens the state table and registers the drop counters.
// newWindow makes an empty window; the buffer calls it lazily, so it may
// depend on what the operator binds from its first batch.
func Open[W Window](oc *operator.Context, cfg Config, newWindow func() (W, error)) (*Buffer[W], error) {
	b := &Buffer[W]{cfg: cfg, oc: oc, log: oc.Logger, newWindow: newWindow, wm: stream.MinWatermark, next: math.MaxInt64,
		open: map[Key]W{}, spilled: map[Key]*spill{}}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.mem = oc.Alloc; b.mem == nil {
		b.mem = memory.DefaultAllocator
	}
	b.limit = cfg.DefaultLimit
	if s, ok := oc.Config[cfg.LimitOption]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("option '%s' = '%s': want a positive integer (number of buffered %s)", cfg.LimitOption, s, cfg.Unit)
		}
		b.limit = n
	}
	if oc.State == nil {
		return nil, errors.New("no keyed state backend")
	}
	if oc.MaxParallelism < 1 || oc.MaxParallelism > keygroup.MaxMaxParallelism {
		return nil, fmt.Errorf("max parallelism %d is out of range", oc.MaxParallelism)
	}
	var err error
	if b.table, err = oc.State.Table(cfg.Table); err != nil {
		return nil, fmt.Errorf("open state table: %w", err)
	}
	b.Late = counter(oc.Metrics, LateRecordsMetric, cfg.LateHelp)
	b.NullTime = counter(oc.Metrics, NullRowtimeMetric, cfg.NullHelp)
	b.Spilled = counter(oc.Metrics, SpilledMetric, "Window buffer entries spilled to keyed state because the buffer was full.")
	return b, nil
}

type nopCounter struct{}

func (nopCounter) Add(float64) {}

func counter(m operator.Metrics, name, help string) operator.Counter {
	if m == nil {
		return nopCounter{}
	}
	return m.Counter(name, help)
}

// Logger returns the subtask's logger (slog.Default when it has none).
func (b *Buffer[W]) Logger() *slog.Logger { return b.log }

// Alloc returns the subtask's Arrow allocator (memory.DefaultAllocator
// when it has none).
func (b *Buffer[W]) Alloc() memory.Allocator { return b.mem }

// Limit returns the buffer's limit.
func (b *Buffer[W]) Limit() int { return b.limit }

// Buffered returns the number of entries the open windows hold.
func (b *Buffer[W]) Buffered() int { return b.buffered }

// Watermark returns the watermark of the last Fire that advanced it:
// windows with End-1 <= Watermark() have fired, so rows for them are late.
func (b *Buffer[W]) Watermark() int64 { return b.wm }

// Window returns the open window k, creating it when there is none.
func (b *Buffer[W]) Window(k Key) (W, error) {
	if w, ok := b.open[k]; ok {
		return w, nil
	}
	w, err := b.take()
	if err != nil {
		return w, err
	}
	b.open[k] = w
	b.next = min(b.next, k.End)
	return w, nil
}

// Lookup returns the open window k, if there is one.
func (b *Buffer[W]) Lookup(k Key) (W, bool) {
	w, ok := b.open[k]
	return w, ok
}

// Add counts n more buffered entries (fewer when n is negative). The
// operator calls it as its windows grow or shrink, outside MergeState.
func (b *Buffer[W]) Add(n int) { b.buffered += n }

// New returns an empty window that the buffer does not hold: the caller
// owns it, fills it, and hands it over with Put or back with Recycle.
func (b *Buffer[W]) New() (W, error) { return b.take() }

// Take removes window k from the buffer, open or spilled, and returns it
// with its spilled state merged in (one Scan and one DeleteRange per key
// group it spilled into); ok is false when the buffer holds no window k.
// The caller owns w: it hands it back with Put or Recycle. Operators that
// decide themselves when windows are due (sliding windows built from
// slices) use Take instead of Fire.
func (b *Buffer[W]) Take(k Key) (w W, ok bool, err error) {
	if w, ok, err = b.remove(k); err != nil {
		return w, false, fmt.Errorf("%s %s: window [%d, %d): %w", b.cfg.Kind, b.oc.OperatorID, k.Start, k.End, err)
	}
	return w, ok, nil
}

// remove is Take without the error context.
func (b *Buffer[W]) remove(k Key) (w W, ok bool, err error) {
	w, open := b.open[k]
	sp := b.spilled[k]
	if !open && sp == nil {
		return w, false, nil
	}
	if open {
		delete(b.open, k)
		b.buffered -= w.Size()
	} else if w, err = b.take(); err != nil {
		return w, false, err
	}
	if sp != nil {
		delete(b.spilled, k)
		if err := b.merge(k, w, sp); err != nil {
			b.recycle(w)
			var zero W
			return zero, false, err
		}
	}
	return w, true, nil
}

// Put hands window w, which the caller owns (from New or Take), to the
// buffer as open window k. When k has spilled state, Take and Fire merge
// the two. It fails when window k is already open. The buffer counts w's
// entries against its limit; call SpillIfFull after.
func (b *Buffer[W]) Put(k Key, w W) error {
	if _, ok := b.open[k]; ok {
		return fmt.Errorf("%s %s: window [%d, %d) is already open", b.cfg.Kind, b.oc.OperatorID, k.Start, k.End)
	}
	b.open[k] = w
	b.buffered += w.Size()
	b.next = min(b.next, k.End)
	return nil
}

// Recycle takes back a window the caller owns, for reuse.
func (b *Buffer[W]) Recycle(w W) { b.recycle(w) }

func (b *Buffer[W]) take() (W, error) {
	if n := len(b.pool); n > 0 {
		w := b.pool[n-1]
		b.pool = b.pool[:n-1]
		return w, nil
	}
	return b.newWindow()
}

func (b *Buffer[W]) recycle(w W) {
	w.Reset()
	if len(b.pool) < 4 {
		b.pool = append(b.pool, w)
	}
}

// SpillIfFull spills, when the buffer holds more entries than its limit,
// the open windows that end last (farthest from firing) into the state
// table until it holds at most half the limit. Windows about to fire stay
// in memory, and every spill makes room for at least half the limit, so
// the buffer does not thrash.
func (b *Buffer[W]) SpillIfFull() error {
	if b.buffered <= b.limit {
		return nil
	}
	b.keys = b.keys[:0]
	for k := range b.open {
		b.keys = append(b.keys, k)
	}
	slices.SortFunc(b.keys, func(x, y Key) int { return y.Compare(x) })
	for _, k := range b.keys {
		if b.buffered <= b.limit/2 {
			break
		}
		if err := b.spillOpen(k, true); err != nil {
			return fmt.Errorf("spill window [%d, %d) to state: %w", k.Start, k.End, err)
		}
	}
	return nil
}

// prefix appends the key prefix of window k in key group kg to dst.
func prefix(dst []byte, kg int, k Key) []byte {
	dst = state.KeyPrefix(dst, kg)
	dst = state.AppendInt64(dst, k.End)
	return state.AppendInt64(dst, k.Start)
}

// chunkBytes is the size past which a chunk is written and the next one
// started, so values stay moderate whatever the size of a window. Tests
// lower it.
var chunkBytes = 256 << 10

// spillOpen writes open window k to state (write) and drops it from
// memory. count says to count its groups as spilled (SpilledMetric): a
// snapshot's writes are not.
func (b *Buffer[W]) spillOpen(k Key, count bool) error {
	w := b.open[k]
	if err := b.write(k, w, count); err != nil {
		return err
	}
	b.buffered -= w.Size()
	delete(b.open, k)
	b.recycle(w)
	return nil
}

// write writes every group of window w, without reading, as chunks of the
// key groups its groups fall into, as a delta of window k.
func (b *Buffer[W]) write(k Key, w W, count bool) error {
	sp := b.spilled[k]
	if sp == nil {
		sp = &spill{kgs: make([]uint64, (b.oc.MaxParallelism+63)/64)}
		b.spilled[k] = sp
	}
	t := w.Groups()
	n, maxP := t.Len(), b.oc.MaxParallelism

	// Order the groups by key group (a counting sort).
	b.counts = grow(b.counts, maxP+1)
	clear(b.counts)
	b.kgOf = grow(b.kgOf, n)
	for g, h := range t.Hashes() {
		kg := keygroup.Of(h, maxP)
		b.kgOf[g] = uint16(kg)
		b.counts[kg+1]++
	}
	for kg := 1; kg <= maxP; kg++ {
		b.counts[kg] += b.counts[kg-1]
	}
	b.order = grow(b.order, n)
	for g, kg := range b.kgOf[:n] {
		b.order[b.counts[kg]] = uint32(g)
		b.counts[kg]++
	}

	// counts[kg] is now where key group kg+1 starts.
	lo := 0
	for kg := 0; kg < maxP; kg++ {
		hi := b.counts[kg]
		if lo == hi {
			continue
		}
		if sp.kgs[kg/64]&(1<<(kg%64)) == 0 {
			sp.kgs[kg/64] |= 1 << (kg % 64)
			b.noteKeyGroup(kg)
		}
		b.sval = append(b.sval[:0], b.cfg.Version)
		for _, g := range b.order[lo:hi] {
			key := t.Key(g)
			b.sval = binary.LittleEndian.AppendUint64(b.sval, t.Hash(g))
			b.sval = binary.AppendUvarint(b.sval, uint64(len(key)))
			b.sval = append(b.sval, key...)
			// Reserve a fixed-width length for the state and fill it in
			// after, so the state is encoded straight into the chunk.
			at := len(b.sval)
			b.sval = append(b.sval, 0, 0, 0, 0)
			b.sval = w.AppendState(b.sval, g)
			binary.LittleEndian.PutUint32(b.sval[at:], uint32(len(b.sval)-at-4))
			if len(b.sval) >= chunkBytes {
				if err := b.putChunk(kg, k, sp); err != nil {
					return err
				}
				b.sval = append(b.sval[:0], b.cfg.Version)
			}
		}
		if len(b.sval) > 1 {
			if err := b.putChunk(kg, k, sp); err != nil {
				return err
			}
		}
		lo = hi
	}
	if count {
		b.Spilled.Add(float64(n))
	}
	b.next = min(b.next, k.End)
	return nil
}

// putChunk writes b.sval as the next chunk of window k in key group kg.
func (b *Buffer[W]) putChunk(kg int, k Key, sp *spill) error {
	if sp.seq == math.MaxUint32 {
		return errors.New("too many chunks in one window")
	}
	b.skey = prefix(b.skey[:0], kg, k)
	b.skey = binary.BigEndian.AppendUint32(b.skey, sp.seq)
	sp.seq++
	if err := b.table.Put(b.skey, b.sval); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n, n+n/4)
}

// noteKeyGroup warns, once, about a group whose key group this subtask does
// not own: the input is not partitioned by the group keys. Results stay
// right, since firing reads back every key group a window spilled into.
func (b *Buffer[W]) noteKeyGroup(kg int) {
	if b.foreign || b.oc.KeyGroups.Contains(kg) {
		return
	}
	b.foreign = true
	b.log.Warn(b.cfg.Kind+": a group's key group is outside this subtask's range; the input is not partitioned by the group keys",
		"operator", b.oc.OperatorID, "key_group", kg, "owned", b.oc.KeyGroups.String())
}

var errCorrupt = errors.New("corrupt state entry")

// merge folds every spilled chunk of window k into w and deletes them: one
// Scan and one DeleteRange per key group k spilled into.
func (b *Buffer[W]) merge(k Key, w W, sp *spill) error {
	for i, word := range sp.kgs {
		for ; word != 0; word &= word - 1 {
			kg := i*64 + bits.TrailingZeros64(word)
			lo := prefix(b.skey[:0], kg, k)
			b.skey = lo
			hi := state.PrefixEnd(lo)
			err := b.table.Scan(lo, hi, func(key, value []byte) error {
				if len(key) != prefixLen+seqLen || len(value) < 1 || value[0] != b.cfg.Version {
					return fmt.Errorf("%w: key of %d bytes, value of %d bytes", errCorrupt, len(key), len(value))
				}
				return b.mergeChunk(kg, w, value[1:])
			})
			if err != nil {
				return fmt.Errorf("merge state of key group %d: %w", kg, err)
			}
			if err := b.table.DeleteRange(lo, hi); err != nil {
				return fmt.Errorf("delete fired state of key group %d: %w", kg, err)
			}
		}
	}
	return nil
}

// mergeChunk folds the groups of one chunk of key group kg into w.
func (b *Buffer[W]) mergeChunk(kg int, w W, v []byte) error {
	t := w.Groups()
	maxP := b.oc.MaxParallelism
	for len(v) > 0 {
		if len(v) < 8 {
			return fmt.Errorf("%w: truncated group", errCorrupt)
		}
		h := binary.LittleEndian.Uint64(v)
		if keygroup.Of(h, maxP) != kg {
			return fmt.Errorf("%w: key hash %#x is not of key group %d", errCorrupt, h, kg)
		}
		kl, n := binary.Uvarint(v[8:])
		if n <= 0 || kl > uint64(len(v)-8-n) || len(v)-8-n-int(kl) < 4 {
			return fmt.Errorf("%w: truncated group key", errCorrupt)
		}
		v = v[8+n:]
		key := v[:kl]
		sl := binary.LittleEndian.Uint32(v[kl:])
		v = v[kl+4:]
		if uint64(sl) > uint64(len(v)) {
			return fmt.Errorf("%w: truncated group state", errCorrupt)
		}
		g, _, err := t.FindOrInsertOne(h, key)
		if err != nil {
			return err
		}
		if err := w.MergeState(g, v[:sl]); err != nil {
			return fmt.Errorf("%w: %v", errCorrupt, err)
		}
		v = v[sl:]
	}
	return nil
}

// Fire advances the watermark to wm and, if it moved forward, calls emit
// for every window with End-1 <= wm, open or spilled, in (End, Start)
// order, with its spilled state merged in. emit must not keep w: the buffer
// reuses it afterwards.
func (b *Buffer[W]) Fire(wm int64, emit func(k Key, w W) error) error {
	if wm <= b.wm {
		return nil
	}
	b.wm = wm
	if wm < b.next-1 {
		return nil
	}
	b.keys = b.keys[:0]
	next := int64(math.MaxInt64)
	for k := range b.open {
		if k.End-1 <= wm {
			b.keys = append(b.keys, k)
		} else {
			next = min(next, k.End)
		}
	}
	for k := range b.spilled {
		if _, ok := b.open[k]; ok {
			continue
		}
		if k.End-1 <= wm {
			b.keys = append(b.keys, k)
		} else {
			next = min(next, k.End)
		}
	}
	b.next = next
	slices.SortFunc(b.keys, Key.Compare)
	for _, k := range b.keys {
		if err := b.fire(k, emit); err != nil {
			return fmt.Errorf("%s %s: window [%d, %d): %w", b.cfg.Kind, b.oc.OperatorID, k.Start, k.End, err)
		}
	}
	return nil
}

func (b *Buffer[W]) fire(k Key, emit func(k Key, w W) error) error {
	w, ok, err := b.remove(k)
	if err != nil || !ok {
		return err
	}
	defer b.recycle(w)
	return emit(k, w)
}

// Close drops the buffer's windows. The state table belongs to the
// backend, which the runtime closes.
func (b *Buffer[W]) Close() {
	b.open, b.spilled, b.pool = nil, nil, nil
}
