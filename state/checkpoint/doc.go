// Package checkpoint is what a checkpoint is made of and where it is kept:
// the Storage interface (a directory today, object storage later), the
// Metadata that describes one checkpoint (written last, atomically, with
// checksums: a checkpoint exists once its metadata does), and the
// interfaces through which keyed-state backends snapshot themselves into
// storage (SnapshotBackend) and are restored from it (RestoringProvider).
//
// DirStorage (NewDirStorage, OpenDirStorage) is the Storage of a local
// directory: DIR/shared/<name> holds the immutable shared files,
// DIR/chk-<id>/_metadata and DIR/savepoint-<id>/_metadata the metadata
// (EncodeMetadata: a header line with the format, the body's length and its
// SHA-256, then JSON). Every file is written under a hidden temporary name,
// synced and renamed. Commit keeps the newest Retain intact checkpoints and
// every savepoint and deletes the shared files none of them references,
// sparing those a checkpoint still in progress stored or found (for
// DirOptions.PendingGrace). Latest skips damaged checkpoints and says why.
//
// For the runtime: FindRestore resolves --from-checkpoint (a directory, a
// checkpoint directory or its _metadata, an ID) into fully verified
// metadata, copying a foreign directory's files into the job's storage;
// NextID numbers new checkpoints; Metadata.Fits and CheckMaxParallelism
// check a restore against the plan; Metadata.HandlesFor, Watermark,
// Positions and Committables split the saved state among the subtasks of
// the new parallelism.
package checkpoint
