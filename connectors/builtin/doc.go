// Package builtin lists the connectors that ship with Eddy: datagen,
// filesystem, print and blackhole. Registry returns a fresh registry with
// all of them, the one the job manager uses; tests and embedders add their
// own connectors to it the same way.
package builtin
