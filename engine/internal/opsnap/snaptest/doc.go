// Package snaptest tests operator snapshots (operator.Snapshotter). Run
// drives an operator over a script of batches and watermarks twice: once
// uninterrupted at parallelism 1 (taking one snapshot at the cut, whose
// keys are the reference for incremental snapshots), and once at
// parallelism Before with snapshots at half-way, just before and at the
// cut, then Close, a re-split of the key groups into After new memstate
// backends (copying keys, as a rescale does), RestoreState, the replay of
// the last watermark, and the rest of the script at parallelism After,
// rows routed by the hash of their key columns as the hash exchange does.
// It returns both outputs after the cut; SameSequence, SameByKey,
// SameMultiset and SameLast compare them. CountingBackend counts the Puts
// and Deletes of snapshots.
package snaptest
