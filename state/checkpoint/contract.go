package checkpoint

import (
	"context"
	"io"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// Storage keeps checkpoints. Files are immutable once written; shared files
// (a state backend's data files) are named by their content's identity and
// may be referenced by several checkpoints, which is what makes snapshots
// incremental: a file the storage already holds is not copied again.
// Implementations are safe for concurrent use.
type Storage interface {
	// HasShared reports whether the shared file name is stored (with that
	// size).
	HasShared(ctx context.Context, name string, size int64) (bool, error)
	// PutShared stores a shared file from r (size bytes) under name,
	// atomically: a reader never sees a partial file. Storing a name
	// again is a no-op.
	PutShared(ctx context.Context, name string, size int64, r io.Reader) error
	// OpenShared opens a shared file.
	OpenShared(ctx context.Context, name string) (io.ReadCloser, error)
	// Commit writes m as checkpoint m.ID's metadata, atomically and with
	// a checksum, then drops the oldest complete checkpoints beyond the
	// retention count and the shared files no kept checkpoint references.
	// A checkpoint exists only once Commit returned.
	Commit(ctx context.Context, m *Metadata) error
	// Latest returns the metadata of the newest complete checkpoint whose
	// metadata and referenced files are intact (checksums verified),
	// skipping corrupt or truncated ones (and saying so through the
	// returned skipped list); nil, nil when there is none.
	Latest(ctx context.Context) (m *Metadata, skipped []error, err error)
	// Load reads and verifies the metadata of one checkpoint, by ID or by
	// its path (as printed in logs).
	Load(ctx context.Context, ref string) (*Metadata, error)
	// List returns the IDs of the complete checkpoints, oldest first.
	List(ctx context.Context) ([]int64, error)
}

// Metadata describes one complete checkpoint (or savepoint) of a job.
type Metadata struct {
	// Format versions the metadata encoding.
	Format int `json:"format"`
	// Job is the job's name and ID the checkpoint's number (increasing).
	Job string `json:"job"`
	ID  int64  `json:"id"`
	// TimestampMs is when the checkpoint was triggered (wall clock).
	TimestampMs int64 `json:"timestamp_ms"`
	// Savepoint marks a checkpoint taken on demand or at stop, kept until
	// deleted by the user and restorable at another parallelism.
	Savepoint bool `json:"savepoint,omitempty"`
	// MaxParallelism is the job's number of key groups; a restore with
	// another one fails.
	MaxParallelism int `json:"max_parallelism"`
	// Operators holds each stateful operator's part, by operator ID (the
	// plan's stable identities).
	Operators map[string]*OperatorState `json:"operators"`
}

// OperatorState is one operator's part of a checkpoint: one entry per
// subtask of the parallelism it ran at.
type OperatorState struct {
	Parallelism int             `json:"parallelism"`
	Subtasks    []*SubtaskState `json:"subtasks"`
	// Coordinator is the state of the operator's part on the job manager:
	// a split source's enumerator (connectors.SplitEnumerator.Snapshot),
	// taken when the checkpoint was triggered.
	Coordinator []byte `json:"coordinator,omitempty"`
}

// SubtaskState is what one subtask of one operator saved.
type SubtaskState struct {
	Subtask   int            `json:"subtask"`
	KeyGroups keygroup.Range `json:"key_groups"`
	// Backend is the keyed-state snapshot (nil: the operator has none).
	Backend *BackendHandle `json:"backend,omitempty"`
	// Watermark is the subtask's combined input watermark at the barrier,
	// replayed into the operator after a restore.
	Watermark int64 `json:"watermark"`
	// Position is a source reader's position (connectors.PositionedReader).
	Position []byte `json:"position,omitempty"`
	// Committable is a sink writer's prepared output
	// (connectors.TwoPhaseWriter).
	Committable []byte `json:"committable,omitempty"`
	// Pending holds the same writer's committables of earlier checkpoints
	// that were dropped (failed or timed out) after it prepared them, oldest
	// first: output not committed yet that Committable does not cover. A
	// restore recovers them together with Committable.
	Pending [][]byte `json:"pending,omitempty"`
}

// BackendHandle describes a backend snapshot in storage: the shared files
// that make it up and what the backend needs to open them.
type BackendHandle struct {
	// Kind names the backend that wrote it (e.g. "pebble").
	Kind string `json:"kind"`
	// Files are the shared files, in the order the backend wants them.
	Files []FileRef `json:"files"`
	// Meta is backend-specific (e.g. the name of its manifest).
	Meta map[string]string `json:"meta,omitempty"`
}

// FileRef is a shared file with its size and SHA-256 checksum (hex).
type FileRef struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// SnapshotBackend is a keyed-state backend that can be checkpointed.
// Snapshot is called synchronously at the barrier, after the operators'
// SnapshotState, and must be quick (no copying of data files); Persist runs
// afterwards on another goroutine while processing goes on.
type SnapshotBackend interface {
	state.Backend
	Snapshot(ctx context.Context, checkpointID int64) (Snapshot, error)
}

// Snapshot is a consistent, frozen view of a backend's contents.
type Snapshot interface {
	// Persist copies the snapshot's files into storage, skipping those it
	// already holds, and returns the handle to record in the metadata.
	Persist(ctx context.Context, st Storage) (*BackendHandle, error)
	// Release frees the snapshot (after Persist, or instead of it).
	Release() error
}

// RestoringProvider is a state.Provider that can open a backend from
// checkpointed snapshots. Restore opens the backend of scope holding the
// keys of scope.KeyGroups found in handles: the snapshots of every old
// subtask whose key groups overlap scope's (one, without a rescale). It
// verifies the files' checksums and fails with a clear error on a
// mismatch.
type RestoringProvider interface {
	state.Provider
	Restore(ctx context.Context, scope state.Scope, st Storage, handles []*BackendHandle) (state.Backend, error)
}
