// Package stream defines what flows along the edges of a running job: record
// batches whose rows each carry a changelog row kind, and the control events
// that travel in-band with them (watermarks, idleness, checkpoint barriers and
// end of input).
//
// Ownership: a Batch holds one reference to its Arrow record. Whoever sends a
// Batch gives that reference away; whoever receives one must Release it (or
// pass it on) exactly once.
package stream
