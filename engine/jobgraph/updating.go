package jobgraph

import "github.com/eddy-streaming/eddy/engine/expr"

// ChangelogMode is what kinds of rows flow on an edge (Flink's changelog
// modes). The planner derives it per operator output; EXPLAIN shows it.
type ChangelogMode string

// The changelog modes.
const (
	// AppendOnly streams carry +I rows only.
	AppendOnly ChangelogMode = "append"
	// Retract streams carry +I, -U, +U and -D: every update is an -U of the
	// old row followed by a +U of the new one, and a -D carries the whole
	// deleted row.
	Retract ChangelogMode = "retract"
	// Upsert streams carry +I, +U and -D keyed by a unique key: a +U
	// replaces the row with its key, a -D deletes it; no -U is sent.
	Upsert ChangelogMode = "upsert"
)

// StateTTL bounds the keyed state of an updating operator: state not read
// or written for TTLMs milliseconds of processing time is dropped and
// counted ("state_expired"). Zero keeps state forever. It comes from
// SET 'table.exec.state.ttl' or a STATE_TTL hint.
type StateTTL struct {
	TTLMs int64 `json:"ttl_ms,omitempty"`
}

// Changes says how an updating operator's input and output carry changes.
type Changes struct {
	// InputRetracts is set when an input carries -U/-D rows (for joins,
	// see JoinSpec's per-side fields instead).
	InputRetracts bool `json:"input_retracts,omitempty"`
	// EmitUpdateBefore asks for -U rows before +U rows (a retract output);
	// without it an update is a single +U (upsert output, keyed by the
	// operator's unique key).
	EmitUpdateBefore bool `json:"emit_update_before,omitempty"`
}

// AggPhase says whether a group aggregate keeps state or only
// pre-aggregates (the local half of a two-phase aggregation).
type AggPhase string

// The aggregation phases.
const (
	// OnePhase aggregates rows into results kept in state (the default).
	OnePhase AggPhase = ""
	// LocalPhase pre-aggregates append-only input before the hash
	// exchange: it folds rows into per-group partial results and flushes
	// them as +I rows (group keys then one column per call) at least every
	// 'table.exec.mini-batch.size' rows (default 10000), at every
	// watermark and at end of input, keeping no state across flushes. The
	// planner gives it only calls whose partials a global aggregate can
	// merge (COUNT, SUM, MIN, MAX; AVG as SUM and COUNT) and merges them
	// downstream with an ordinary OnePhase aggregate.
	LocalPhase AggPhase = "local"
)

// GroupAggSpec is a non-windowed GROUP BY: one accumulator row per distinct
// group key, updated by every input row (and retracted by -U/-D input rows
// when InputRetracts). After each input batch it emits, per group whose
// result changed: +I for a new group; -U old / +U new (or +U alone without
// EmitUpdateBefore); -D when a retracting input empties the group. A group
// whose result did not change emits nothing. With no GroupKeys there is one
// global group (its result is emitted from the first row on).
// Output: GroupKeys (in order), then one column per Aggs entry; the group
// keys are the output's unique key.
type GroupAggSpec struct {
	GroupKeys []int     `json:"group_keys"`
	Aggs      []AggCall `json:"aggs"`
	Changes
	StateTTL
	// Phase is LocalPhase for the local half of a two-phase aggregation.
	Phase AggPhase `json:"phase,omitempty"`
	// MiniBatch, when set, folds input rows in mini-batches rather than
	// batch by batch, so a group changed many times in one mini-batch
	// emits one change ('table.exec.mini-batch.*').
	MiniBatch *MiniBatch `json:"mini_batch,omitempty"`
}

// MiniBatch buffers an operator's input and processes it as one batch when
// Size rows are buffered, when the oldest buffered row has waited LatencyMs
// of processing time, at every watermark and at end of input.
type MiniBatch struct {
	Size      int   `json:"size"`
	LatencyMs int64 `json:"latency_ms"`
}

// RankFunc is a ranking function of a Top-N.
type RankFunc string

// The ranking functions.
const (
	RowNumber RankFunc = "row_number"
	Rank      RankFunc = "rank"
	DenseRank RankFunc = "dense_rank"
)

// RankSpec is a regular (non-windowed) Top-N: per PartitionKeys, the rows
// whose Func rank by OrderBy is <= N (ROW_NUMBER ties broken by arrival,
// first row first). It emits changes as the ranking moves: a row entering
// the top N is inserted, a row leaving it deleted, and, with EmitRank, a
// row whose rank number changes is updated. Rows that stay where they were
// produce nothing. Output: the input columns, then the rank (BIGINT NOT
// NULL) if EmitRank. With EmitRank and ROW_NUMBER the output's unique key
// is PartitionKeys + rank; otherwise (tied RANK/DENSE_RANK rows share a
// rank) changes are retractions of whole rows, -U/+U pairs included.
type RankSpec struct {
	Func          RankFunc  `json:"func"`
	PartitionKeys []int     `json:"partition_keys"`
	OrderBy       []SortKey `json:"order_by"`
	N             int64     `json:"n"`
	EmitRank      bool      `json:"emit_rank,omitempty"`
	Changes
	StateTTL
}

// DedupSpec keeps one row per Keys (ROW_NUMBER() OVER (PARTITION BY keys
// ORDER BY time) = 1): the first (ORDER BY ASC) or last (DESC) row.
// With ProcTime, arrival order decides: keep-first emits each key's first
// row once (append-only output), keep-last emits +I then an update per
// later row. With event time (TimeColumn), the row with the smallest
// (keep-first) or largest (keep-last) time wins, ties going to the row
// that arrived first (keep-first) or last (keep-last); a row that wins over
// the key's current row replaces it (an update), so keep-first may update
// when an earlier row arrives late. Output: the input columns; Keys are its
// unique key.
type DedupSpec struct {
	Keys     []int `json:"keys"`
	KeepLast bool  `json:"keep_last,omitempty"`
	// TimeColumn is the event-time attribute ordering the rows, or -1 with
	// ProcTime.
	TimeColumn int  `json:"time_column"`
	ProcTime   bool `json:"proc_time,omitempty"`
	Changes
	StateTTL
}

// JoinSpec is a regular join of input 0 (left) and input 1 (right) on
// LeftKeys[i] = RightKeys[i] (SQL equality: NULL keys never match) and the
// optional Residual over the left columns followed by the right columns.
// Both sides are kept in state; each input row (+I/+U adds, -U/-D
// removes) is joined with the other side's current rows, and outer joins
// retract their NULL-padded row when a first match arrives (and re-emit it
// when the last match goes). Output: the left columns then the right
// columns (SEMI/ANTI: the left columns alone). The output is append-only
// only for an INNER join of two append-only inputs; otherwise it retracts.
type JoinSpec struct {
	Type      JoinType   `json:"type"`
	LeftKeys  []int      `json:"left_keys"`
	RightKeys []int      `json:"right_keys"`
	Residual  *expr.Expr `json:"residual,omitempty"`
	// LeftRetracts and RightRetracts say whether each input carries -U/-D.
	LeftRetracts  bool `json:"left_retracts,omitempty"`
	RightRetracts bool `json:"right_retracts,omitempty"`
	// EmitUpdateBefore is as in Changes.
	EmitUpdateBefore bool `json:"emit_update_before,omitempty"`
	StateTTL
}

// IntervalJoinSpec is an interval join of two append-only inputs (0 left,
// 1 right): a left row l and right row r join when their keys are equal,
// Residual holds, and LowerMs <= l.time - r.time <= UpperMs (Flink's
// `l.ts BETWEEN r.ts - INTERVAL a AND r.ts + INTERVAL b` is LowerMs = -a,
// UpperMs = b). Rows are kept until the watermark shows no partner can
// arrive any more, then dropped; outer joins emit a row that never matched,
// NULL-padded, at that point. Rows later than the watermark are dropped and
// counted. The output is append-only: the left columns then the right.
type IntervalJoinSpec struct {
	Type      JoinType   `json:"type"`
	LeftKeys  []int      `json:"left_keys"`
	RightKeys []int      `json:"right_keys"`
	LeftTime  int        `json:"left_time"`
	RightTime int        `json:"right_time"`
	LowerMs   int64      `json:"lower_ms"`
	UpperMs   int64      `json:"upper_ms"`
	Residual  *expr.Expr `json:"residual,omitempty"`
}

// LookupJoinSpec joins every input row with the rows of the table Dim
// whose DimKeys equal the row's Keys, as of processing time (`JOIN dim FOR
// SYSTEM_TIME AS OF t.proc_time ON ...`). Dim's connector serves lookups
// (connectors.LookupSourceFactory) or, failing that, is a bounded source
// read whole into the cache. Looked-up rows are cached for CacheTTLMs (0:
// the whole table is loaded once and kept) and at most CacheMaxRows keys (0:
// no bound). Output: the input columns then Dim's columns; with Left, an
// input row without a match is kept once, NULL-padded. Residual is over the
// output columns. The output's changelog is the input's.
type LookupJoinSpec struct {
	Left         bool       `json:"left,omitempty"`
	Dim          TableRef   `json:"dim"`
	Keys         []int      `json:"keys"`
	DimKeys      []int      `json:"dim_keys"`
	Residual     *expr.Expr `json:"residual,omitempty"`
	CacheTTLMs   int64      `json:"cache_ttl_ms,omitempty"`
	CacheMaxRows int64      `json:"cache_max_rows,omitempty"`
}

// TemporalJoinSpec is an event-time temporal join (`JOIN versioned FOR
// SYSTEM_TIME AS OF l.ts ON l.k = v.pk`): input 0 is an append-only stream,
// input 1 the changelog of a versioned table whose primary key is
// RightKeys, with its own time attribute RightTime (the time each version
// becomes valid). A left row is held until the combined watermark passes
// its LeftTime, then joined with the version of its key valid at that
// time (the latest version with RightTime <= LeftTime that is not
// deleted). Versions no held or future left row can need are dropped. The
// output is append-only: the left columns then the right columns; with
// Left, a row without a valid version is kept, NULL-padded.
type TemporalJoinSpec struct {
	Left      bool       `json:"left,omitempty"`
	LeftKeys  []int      `json:"left_keys"`
	RightKeys []int      `json:"right_keys"`
	LeftTime  int        `json:"left_time"`
	RightTime int        `json:"right_time"`
	Residual  *expr.Expr `json:"residual,omitempty"`
	StateTTL
}
