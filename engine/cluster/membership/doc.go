// Package membership is the job manager's registry of task managers: the
// eddy.cluster.v1.Cluster gRPC service (api/cluster/v1) through which task
// managers register, offer their slots and heartbeat, and the detection of
// task managers that died or stopped heartbeating.
//
// A task manager registers with its id, the address of its own gRPC
// services and its number of slots, and gets a registration token and the
// heartbeat interval and timeout. It then heartbeats with that token. A
// task manager silent for the timeout is declared lost (an Event for
// subscribers: the scheduler restarts the jobs that ran there) and
// forgotten; its next heartbeat is answered "register again", as is any
// heartbeat after a job manager restart. A registration under a known id
// replaces the old one (the task manager restarted).
//
// With a cluster secret, every call of the service must carry it in the
// "x-eddy-cluster-secret" metadata (SecretCredentials on the client side,
// SecretInterceptor on the server side; compared in constant time); without
// one, anyone reaching the port may join, and the job manager warns.
package membership
