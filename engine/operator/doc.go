// Package operator defines the interface every stream operator implements and
// the context the runtime hands it. Operators consume and emit Arrow record
// batches (stream.Batch); the runtime owns the loop, merges watermarks across
// inputs and forwards them after the operator has seen them.
package operator
