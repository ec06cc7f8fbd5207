// Command taskmanager runs a task manager: it serves its gRPC services on
// --rpc-addr, registers with the job manager at --jobmanager offering
// --slots slots, and heartbeats until it is stopped (SIGINT or SIGTERM),
// registering again whenever the job manager restarts or loses it.
//
//	taskmanager --jobmanager HOST:PORT [--slots N] [--rpc-addr HOST:PORT]
//	            [--id ID] [--cluster-secret S] [--state-dir DIR]
//	            [--tls-cert FILE --tls-key FILE] [--tls-ca FILE]
//
// With a cluster secret (--cluster-secret, or the EDDY_CLUSTER_SECRET
// environment variable) every call to the job manager carries it; the job
// manager must be started with the same one. Without one the task manager
// joins a job manager that has none, with a warning.
//
// The task manager runs the parts of job attempts the job manager deploys
// (engine/cluster/taskmanager.Parts, the TaskManager gRPC service) and
// carries their channels to and from other task managers (the network
// exchange); with a cluster secret both services require it. Parts keep
// their keyed state under --state-dir (default: a temporary directory,
// removed at exit). It ships the connectors of connectors/builtin and the
// Nexmark count_char UDF, as the job manager does.
//
// TLS is off by default. With --tls-cert and --tls-key the task manager
// serves its gRPC services (parts and exchange) over TLS, as a job manager
// serving TLS requires (it dials its task managers over TLS). With
// --tls-ca or --tls-cert its connections to the job manager and to other
// task managers use TLS, verified against the --tls-ca PEM bundle (default:
// the system roots); certificates must name the dialed addresses. Without
// TLS flags it dials in plaintext, and exits 1 saying so when the job
// manager turns out to serve TLS.
package main
