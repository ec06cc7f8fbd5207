// Package jobmanager is Eddy's job manager service: the gRPC service of
// api/jobmanager/v1 and its REST gateway, the registry of jobs and their
// state machine, bearer-token auth, the durable job store and the Runner
// that runs jobs on task managers, with LocalRunner running them in this
// process and RemoteRunner on task managers that joined over the network
// (engine/cluster/membership), driving each job attempt's parts through
// the TaskManager service and serving JobControl (api/taskmanager/v1).
//
// SQL reaches the service through an injected Compiler (engine/ never
// imports sql/ or planner/; cmd/jobmanager wires the planner). A submitted
// job is compiled (SQL errors are InvalidArgument statuses carrying an
// api SQLError detail, which the REST error handler turns into 400 with
// line, column and message), recorded in DIR/jobs/<id>.json (written
// atomically: temp file and rename) and started by the Runner with its
// checkpoints in DIR/<id>/ (a checkpoint.DirStorage). States: CREATED
// (waiting for slots, with a message), RUNNING, RESTARTING (failed, waiting
// to restart from its latest checkpoint), FINISHED (every source exhausted
// and every row committed), CANCELED (after cancel or stop with a
// savepoint) and FAILED (the restart strategy gave up; the error is in the
// failures). A job manager started again on the same DIR lists the old
// jobs and resumes those that were CREATED, RUNNING or RESTARTING from
// their latest checkpoint or savepoint.
//
// The REST gateway dials the gRPC server on its own address, so one unary
// interceptor enforces the bearer token for both (the gateway forwards the
// Authorization header as "authorization" metadata); /metrics and
// /v1/openapi.json check the same token, /healthz is open.
package jobmanager
