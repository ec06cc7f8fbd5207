// Package embedded compiles a SQL script and runs it in this process: the
// embedded mini-cluster behind `jobmanager run`, and the entry point for Go
// programs that bring their own connectors or user-defined functions (see
// examples/udf).
package embedded
