package operator

import "context"

// Snapshotter is implemented by operators whose state must survive a
// failure (asynchronous barrier snapshotting). The runtime calls the
// methods from the operator's goroutine, between batches.
//
// SnapshotState is called when checkpoint checkpointID's barrier has reached
// the operator (aligned over all its inputs): the operator writes into its
// keyed state (Context.State, whose tables the backend then snapshots)
// whatever it holds only in memory and changed since its last snapshot,
// and deletes what it dropped, so that the backend's contents are the
// operator's whole state as of the barrier. Keys begin with their key
// group (state.KeyPrefix). State that belongs to no key (rare) goes under
// the key group of the subtask's first owned key group. It must not emit.
//
// RestoreState is called after Open and before any batch when the job
// resumes from a checkpoint or savepoint: the operator rebuilds its memory
// from Context.State, which holds exactly the key groups this subtask owns
// (gathered, after a rescale, from the subtasks that owned them before).
// The runtime then replays the subtask's last watermark (ProcessWatermark)
// before new input. An operator that keeps everything in Context.State
// anyway may implement both as no-ops.
type Snapshotter interface {
	SnapshotState(ctx context.Context, checkpointID int64) error
	RestoreState(ctx context.Context) error
}

// CheckpointListener is implemented by operators that act when a
// checkpoint is complete, i.e. every task of the job acknowledged it and
// its metadata is durable (for example to release what only the previous
// checkpoint needed). Called from the operator's goroutine.
type CheckpointListener interface {
	NotifyCheckpointComplete(ctx context.Context, checkpointID int64) error
}
