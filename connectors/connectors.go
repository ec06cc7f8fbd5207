package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TableInfo is what a connector learns about its table: its name, physical
// schema (computed columns and watermarks are the engine's business) and the
// WITH options, keys lower-cased.
type TableInfo struct {
	Name    string
	Schema  types.Schema
	Options map[string]string
	// PrimaryKey lists the columns of PRIMARY KEY (...) NOT ENFORCED, or
	// none.
	PrimaryKey []int
	// PartitionKeys lists the columns of PARTITIONED BY (...): a sink
	// writes each row under a path of those columns' values
	// (col=value/...), a source reads them back from the path.
	PartitionKeys []int
	// Changelog is, for a sink, the kind of stream it is fed: "" or
	// "append" (only +I rows), "retract" (+I, -U, +U, -D) or "upsert"
	// (+I, +U, -D by PrimaryKey). Writers see each row's kind in
	// stream.Batch.Kinds.
	Changelog string
}

// OptionType is the type of an option's value.
type OptionType string

// The option types.
const (
	OptString   OptionType = "string"
	OptInt      OptionType = "int"
	OptBool     OptionType = "bool"
	OptDuration OptionType = "duration"
	OptEnum     OptionType = "enum"
	OptFloat    OptionType = "float"
)

// OptionSpec describes one WITH option of a connector.
type OptionSpec struct {
	Key         string
	Type        OptionType
	Default     string
	Required    bool
	Enum        []string // allowed values, for OptEnum
	Description string
}

// Factory makes connectors of one kind. Name is the value of the table's
// 'connector' option. A Factory implements SourceFactory, SinkFactory or both.
type Factory interface {
	Name() string
	// Options lists every option the connector accepts besides 'connector'.
	Options() []OptionSpec
}

// TableValidator is implemented by factories that check a table's schema
// and options beyond what OptionSpecs express (for example, that the
// declared columns exist in the generated stream). The planner calls it at
// CREATE TABLE, so mistakes are reported before a job starts. The error
// should name the column or option it is about.
type TableValidator interface {
	ValidateTable(info TableInfo) error
}

// ProjectableSource is implemented by source factories that can produce any
// subset of a table's columns. The planner then hands NewSource a TableInfo
// whose Schema holds only the columns the job reads (in the table's order),
// and the readers return batches of exactly those columns.
type ProjectableSource interface {
	SourceFactory
	// CanProject reports whether the table (with its full schema) can be
	// read column-pruned.
	CanProject(info TableInfo) bool
}

// UpdatingSink is implemented by sink factories that accept updating
// input (retract or upsert streams). The planner refuses to feed an
// updating query into a sink that does not implement it, or whose
// AcceptsUpdates returns an error (which should say why, e.g. which
// format to use instead).
type UpdatingSink interface {
	SinkFactory
	AcceptsUpdates(info TableInfo) error
}

// ChangelogSource is implemented by source factories whose tables may
// carry updates (for example a changelog-json file): SourceChangelog says
// what a table's readers emit, "append" (only +I), "retract" or "upsert"
// (by info.PrimaryKey); its readers implement ChangelogReader to
// give each row's kind. Sources without it are append-only.
type ChangelogSource interface {
	SourceFactory
	SourceChangelog(info TableInfo) string
}

// ChangelogReader is implemented by the readers of a ChangelogSource:
// NextBatch is Next with the rows' kinds (nil Kinds: all +I). The runtime
// calls NextBatch instead of Next when a reader has it.
type ChangelogReader interface {
	Reader
	NextBatch(ctx context.Context) (stream.Batch, error)
}

// RestorableSource is implemented by sources whose readers' positions can
// be checkpointed, so a restored job resumes reading where the checkpoint
// was taken (exactly once). Positions are opaque bytes owned by the
// connector. A checkpoint holds the position of every reader; on restore
// each new reader is given all of them, so a source whose shares depend on
// the parallelism (reader s of P) can resume at another parallelism
// (rescale) by skipping what any old reader had already read.
type RestorableSource interface {
	Source
	// RestoreReader opens the reader of rc.Subtask of rc.Parallelism
	// resuming after positions (those of every reader of the checkpoint,
	// possibly taken at another parallelism). Its readers implement
	// PositionedReader.
	RestoreReader(ctx context.Context, rc ReaderContext, positions [][]byte) (Reader, error)
}

// PositionedReader is implemented by the readers of a RestorableSource:
// Position describes everything the reader has returned so far (all batches
// up to the last Next), for a checkpoint taken between two Next calls.
type PositionedReader interface {
	Reader
	Position() ([]byte, error)
}

// TwoPhaseWriter is implemented by the writers of sinks that take part in
// checkpoints for exactly-once output. At a checkpoint barrier the runtime
// calls Prepare: everything written so far becomes durable but stays
// invisible (e.g. hidden in-progress files), and Prepare returns a
// committable describing it, which the checkpoint stores. When the
// checkpoint is complete, the runtime calls Commit with it, which makes that
// output visible. Commit must be idempotent: after a failure the restored
// job commits the committables of the checkpoint it restores again (through
// RecoverableSink), since the old writer may have died before committing.
// Output written after the last Prepare is committed by Close at the end
// of input, or dropped by Abort.
type TwoPhaseWriter interface {
	Writer
	Prepare(ctx context.Context, checkpointID int64) (committable []byte, err error)
	Commit(ctx context.Context, checkpointID int64, committable []byte) error
}

// RecoverableSink is implemented by sinks whose writers are TwoPhaseWriters.
// Recover is called once per job start from a checkpoint, before any
// writer opens, with the committables of that checkpoint (every writer's,
// possibly at another parallelism): it commits them if they are not
// committed yet, and removes output prepared or written after the
// checkpoint (by any writer of the failed run), so nothing is doubled.
type RecoverableSink interface {
	Sink
	Recover(ctx context.Context, committables [][]byte) error
}

// LookupSourceFactory is implemented by factories whose tables serve
// point lookups by key (the dimension side of a lookup join). A bounded
// source without it can still be joined: the engine reads it whole into
// its cache.
type LookupSourceFactory interface {
	Factory
	NewLookup(ctx context.Context, info TableInfo, keys []int, rc ReaderContext) (Lookuper, error)
}

// Lookuper finds a table's rows by key.
type Lookuper interface {
	// Lookup returns, for the key rows of keys (columns in the order of
	// the keys NewLookup was given), the matching table rows, in the
	// table's physical schema, and for each result row the index of the
	// key row it matches. The caller owns the returned record.
	Lookup(ctx context.Context, keys arrow.RecordBatch) (rows arrow.RecordBatch, keyRow []int32, err error)
	Close() error
}

// SourceFactory makes sources.
type SourceFactory interface {
	Factory
	NewSource(info TableInfo) (Source, error)
}

// SinkFactory makes sinks.
type SinkFactory interface {
	Factory
	NewSink(info TableInfo) (Sink, error)
}

// ReaderContext is what one parallel reader or writer is told.
type ReaderContext struct {
	Subtask     int
	Parallelism int
	// BatchSize is the largest number of rows a reader should put in one batch.
	BatchSize int
	Alloc     memory.Allocator
	Logger    *slog.Logger
	Metrics   operator.Metrics
	// BadRecords applies the table's bad-record policy (see
	// BadRecordOptions); use rc.BadRecordHandler(), which is never nil.
	BadRecords BadRecordHandler
	// Checkpointing reports that the job takes checkpoints: a
	// TwoPhaseWriter's Prepare and Commit will be called at barriers.
	Checkpointing bool
}

// Source is a table being read.
type Source interface {
	// Bounded reports whether every reader eventually returns io.EOF.
	Bounded() bool
	// Reader opens the reader of subtask rc.Subtask of rc.Parallelism.
	// Together the readers produce every row exactly once.
	Reader(ctx context.Context, rc ReaderContext) (Reader, error)
}

// Reader reads one share of a source.
type Reader interface {
	// Next returns the next batch, in the table's physical schema; the
	// caller owns it. It returns io.EOF when a bounded share is exhausted,
	// and (nil, nil) when an unbounded one has nothing right now.
	Next(ctx context.Context) (arrow.RecordBatch, error)
	Close() error
}

// Sink is a table being written.
type Sink interface {
	// Writer opens the writer of subtask rc.Subtask.
	Writer(ctx context.Context, rc ReaderContext) (Writer, error)
}

// Writer writes one subtask's share of a sink.
type Writer interface {
	// Write writes b's rows. b is borrowed: the caller releases it after the call.
	Write(ctx context.Context, b stream.Batch) error
	// Close completes the output after the last Write: when it returns nil,
	// everything written is durable and visible.
	Close(ctx context.Context) error
	// Abort is called instead of Close when the job fails or is cancelled:
	// it releases the writer without making unfinished output visible.
	Abort(ctx context.Context) error
}

// Registry maps connector names to factories. It is safe for concurrent use.
type Registry struct {
	mu        sync.RWMutex
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Register adds f. It fails if the name is taken.
func (r *Registry) Register(f Factory) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := strings.ToLower(f.Name())
	if _, dup := r.factories[name]; dup {
		return fmt.Errorf("connectors: connector %q registered twice", name)
	}
	r.factories[name] = f
	return nil
}

// Lookup returns the factory called name.
func (r *Registry) Lookup(name string) (Factory, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.factories[strings.ToLower(name)]
	return f, ok
}

// Names returns the registered connector names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.factories))
	for n := range r.factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ValidateOptions checks opts against specs: unknown keys, missing required
// keys and badly typed values are errors naming the option. The 'connector'
// key itself is ignored.
func ValidateOptions(specs []OptionSpec, opts map[string]string) error {
	byKey := make(map[string]OptionSpec, len(specs))
	for _, s := range specs {
		byKey[s.Key] = s
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "connector" {
			continue
		}
		s, ok := byKey[k]
		if !ok {
			known := make([]string, 0, len(specs))
			for _, s := range specs {
				known = append(known, "'"+s.Key+"'")
			}
			return fmt.Errorf("unknown option '%s' (supported: %s)", k, strings.Join(known, ", "))
		}
		if err := checkValue(s, opts[k]); err != nil {
			return err
		}
	}
	for _, s := range specs {
		if _, ok := opts[s.Key]; s.Required && !ok {
			return fmt.Errorf("missing required option '%s'", s.Key)
		}
	}
	return nil
}

func checkValue(s OptionSpec, v string) error {
	var err error
	switch s.Type {
	case OptInt:
		_, err = strconv.ParseInt(v, 10, 64)
	case OptFloat:
		_, err = strconv.ParseFloat(v, 64)
	case OptBool:
		_, err = strconv.ParseBool(v)
	case OptDuration:
		_, err = ParseDuration(v)
	case OptEnum:
		for _, e := range s.Enum {
			if strings.EqualFold(e, v) {
				return nil
			}
		}
		return fmt.Errorf("option '%s': '%s' is not one of %s", s.Key, v, strings.Join(s.Enum, ", "))
	}
	if err != nil {
		return fmt.Errorf("option '%s': '%s' is not a valid %s", s.Key, v, s.Type)
	}
	return nil
}

// ParseDuration accepts Go durations ("500ms", "2s") and Flink's forms
// ("10 s", "1min", "1d", "5 seconds"; a bare number is milliseconds).
func ParseDuration(v string) (time.Duration, error) {
	t := strings.TrimSpace(v)
	if d, err := time.ParseDuration(t); err == nil {
		return d, nil
	}
	// Flink's form: digits, optional blanks, an optional unit (none: ms).
	// A sign is kept, for callers to refuse negative durations by name.
	i := 0
	if strings.HasPrefix(t, "-") {
		i++
	}
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i > 0 && t[i-1] != '-' {
		n, err := strconv.ParseInt(t[:i], 10, 64)
		if u, ok := durationUnits[strings.ToLower(strings.TrimSpace(t[i:]))]; ok && err == nil {
			if n > math.MaxInt64/int64(u) || n < math.MinInt64/int64(u) {
				return 0, fmt.Errorf("invalid duration %q: too large", v)
			}
			return time.Duration(n) * u, nil
		}
	}
	return 0, fmt.Errorf("invalid duration %q", v)
}

// durationUnits are the unit names of Flink's durations.
var durationUnits = map[string]time.Duration{
	"": time.Millisecond, "ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond,
	"millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// Option returns opts[key], or the spec's default when absent.
func Option(specs []OptionSpec, opts map[string]string, key string) string {
	if v, ok := opts[key]; ok {
		return v
	}
	for _, s := range specs {
		if s.Key == key {
			return s.Default
		}
	}
	return ""
}
