// Package checkpoint is what a checkpoint is made of and where it is kept:
// the Storage interface (a directory today, object storage later), the
// Metadata that describes one checkpoint (written last, atomically, with
// checksums: a checkpoint exists once its metadata does), and the
// interfaces through which keyed-state backends snapshot themselves into
// storage (SnapshotBackend) and are restored from it (RestoringProvider).
package checkpoint
