// Package taskmanager is the task manager's side of the cluster: Join
// registers with the job manager (api/cluster/v1), offers the slots and
// heartbeats, registering again whenever the job manager asks (it
// restarted, or declared this task manager lost) or cannot be reached,
// with capped exponential backoff.
//
// Parts (parts.go) runs what the job manager deploys: it serves
// api/taskmanager/v1's TaskManager. Deploy decodes a part of a job attempt
// (the job graph, the slots it runs, every slot's task manager, the
// checkpoint directory, the checkpoint to restore, the job's options) and
// starts it with runtime.RunPart: the subtasks of its slots (slot i holds
// subtask i of every vertex), keyed state in Pebble under a directory of
// its own (removed when it ends), channels through a network-exchange
// Transport of the attempt, and a runtime.CoordinatorLink that calls the
// job manager's JobControl (acks as JSON, retried briefly while the job
// manager is unavailable). The job manager's coordinator drives the part
// through TriggerBarrier, ResumeSources, NotifyComplete and StopPart;
// CancelPart fails it. One part runs per job: deploying a newer attempt
// cancels the older one, and calls naming another attempt are refused with
// FAILED_PRECONDITION. When a part ends it reports PartEnded (its error,
// or none, and its runtime.PartResult as JSON).
package taskmanager
