// Command jobmanager compiles Eddy SQL scripts and runs them.
//
//	jobmanager run [--parallelism N] [--checkpoint-dir DIR --checkpoint-interval 2s
//	               [--from-checkpoint DIR-or-path] [--allow-non-restored-state]
//	               [--savepoint-on-stop=false]] JOB.sql
//	jobmanager explain [--parallelism N] JOB.sql
//	jobmanager serve --checkpoint-dir DIR [--rest-addr HOST:PORT] [--rpc-addr HOST:PORT]
//	               [--local-taskmanagers N] [--slots N] [--token T] [--cluster-secret S]
//	               [--tls-cert FILE --tls-key FILE [--tls-ca FILE]] [--submit JOB.sql [--submit-parallelism N]]
//
// run executes every INSERT (and bare query) of the script as one job in an
// embedded mini-cluster. A job whose sources are all bounded runs until they
// are exhausted (end of input is the final watermark, so every open window
// fires) and exits 0. The script's EXPLAIN statements print their plans to
// stdout first, in order, and do not run; a script of EXPLAIN statements
// only runs nothing and exits 0. Any error exits non-zero with a message;
// SQL errors read FILE:LINE:COL: message.
//
// With --checkpoint-dir DIR the job keeps its keyed state in Pebble (working
// files in a temporary directory) and its checkpoints in DIR, every
// --checkpoint-interval (a Go duration; it overrides the job option
// 'execution.checkpointing.interval', which applies when the flag is
// absent); a failed job restarts in process from its latest checkpoint.
// --from-checkpoint resumes from the newest intact checkpoint under a
// directory (it may be DIR itself) or from one checkpoint's directory or
// _metadata file; when the directory holds no complete checkpoint the job
// starts from the beginning and logs "no complete checkpoint under DIR;
// starting from the beginning". A restore whose state does not fit the
// job fails naming the operators, unless --allow-non-restored-state.
//
// Savepoints: with --checkpoint-dir, SIGTERM or SIGINT stops the job with a
// savepoint (--savepoint-on-stop, default true): its sources stop reading,
// the savepoint is written to DIR/savepoint-<id> (kept regardless of the
// checkpoints' retention), the sinks commit exactly the output it covers,
// and the command prints "jobmanager: job JOB.sql stopped with savepoint
// PATH" and exits 0. A second signal, or a failed savepoint, cancels the
// job (exit 130). With --savepoint-on-stop=false, or without
// --checkpoint-dir, a signal just cancels it. SIGUSR1 takes a savepoint of
// the running job and prints its path; the job runs on. A savepoint
// restores at any parallelism: --from-checkpoint PATH --parallelism N.
//
// explain prints the EXPLAIN statements' plans, then the job's logical plan
// and physical DAG: operators, exchanges and parallelism.
//
// serve runs the job manager (engine/cluster/jobmanager): the gRPC service
// eddy.jobmanager.v1.JobManager on --rpc-addr and its REST API (docs/rest.md)
// on --rest-addr, jobs running on --local-taskmanagers task managers of
// --slots slots each inside the process. It prints "jobmanager: REST on
// http://ADDR, gRPC on ADDR" once it listens. Job records and each job's
// checkpoints live under --checkpoint-dir; a job manager started again on it
// resumes the jobs that were running from their latest checkpoint. With
// --token (or $EDDY_TOKEN) every request but GET /healthz needs
// "Authorization: Bearer T"; without one it warns at startup. --tls-cert and
// --tls-key serve both APIs over TLS; with remote task managers
// (--local-taskmanagers 0) the job manager then dials them over TLS too,
// verifying them against --tls-ca (default: the system roots), so they
// must serve TLS (taskmanager --tls-cert --tls-key). SIGINT or SIGTERM shuts it down,
// leaving running jobs recorded as running. Submitted SQL is named job.sql in
// error messages. --cluster-secret is accepted for the remote task managers
// to come; in local mode nothing uses it. --submit FILE submits that script
// as a job (named after the file) once the job manager serves, and prints its
// ID; a failed submit is logged and the job manager serves on.
package main
