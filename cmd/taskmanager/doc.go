// Command taskmanager runs a task manager: it serves its gRPC services on
// --rpc-addr, registers with the job manager at --jobmanager offering
// --slots slots, and heartbeats until it is stopped (SIGINT or SIGTERM),
// registering again whenever the job manager restarts or loses it.
//
//	taskmanager --jobmanager HOST:PORT [--slots N] [--rpc-addr HOST:PORT]
//	            [--id ID] [--cluster-secret S]
//
// With a cluster secret (--cluster-secret, or the EDDY_CLUSTER_SECRET
// environment variable) every call to the job manager carries it; the job
// manager must be started with the same one. Without one the task manager
// joins a job manager that has none, with a warning.
//
// Running deployed subtasks is not there yet (see docs/architecture.md,
// "Cluster").
package main
