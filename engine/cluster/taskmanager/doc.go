// Package taskmanager is the task manager's side of the cluster: Join
// registers with the job manager (api/cluster/v1), offers the slots and
// heartbeats, registering again whenever the job manager asks (it
// restarted, or declared this task manager lost) or cannot be reached,
// with capped exponential backoff.
//
// Running the subtasks deployed to the task manager builds on this (see
// docs/architecture.md, "Cluster").
package taskmanager
