package jobmanager

import (
	"context"
	"errors"
	"time"

	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// Job states, as the API shows them.
const (
	StateCreated    = "CREATED"
	StateRunning    = "RUNNING"
	StateRestarting = "RESTARTING"
	StateFinished   = "FINISHED"
	StateCanceled   = "CANCELED"
	StateFailed     = "FAILED"
)

// terminal reports whether a job in state s has ended for good.
func terminal(s string) bool {
	return s == StateFinished || s == StateCanceled || s == StateFailed
}

// CompileRequest is what a Compiler compiles.
type CompileRequest struct {
	// Name names the job (the graph's name: metrics' job label and the
	// checkpoints' job).
	Name string
	// SQL is the script.
	SQL string
	// Parallelism is every operator's parallelism (at least 1).
	Parallelism int
}

// Compiled is a compiled script.
type Compiled struct {
	// Graph is the job; nil when the script has no statement to run
	// (EXPLAIN statements only).
	Graph *jobgraph.Graph
	// Statements is the number of statements in the script.
	Statements int
}

// Compiler turns SQL into job graphs. cmd/jobmanager wires the planner.
// Errors about the SQL text are *SQLError.
type Compiler interface {
	// Compile compiles a script.
	Compile(ctx context.Context, req CompileRequest) (*Compiled, error)
	// Explain returns the plan `jobmanager explain` prints.
	Explain(ctx context.Context, req CompileRequest) (string, error)
}

// SQLError is an error in submitted SQL at a position of its text.
type SQLError struct {
	// Line and Column are 1-based.
	Line, Column int
	// Message is the positioned text ("job.sql:3:8: unknown function
	// 'foo'").
	Message string
}

// Error returns the positioned text.
func (e *SQLError) Error() string { return e.Message }

// JobSpec is what a Runner needs to know of a job.
type JobSpec struct {
	ID   string
	Name string
	// CheckpointInterval is the time between checkpoints (0: the job
	// option, else none).
	CheckpointInterval time.Duration
}

// ErrNoSlots is returned (wrapped, with the numbers) by Runner.Start when
// too few slots are free: the job waits.
var ErrNoSlots = errors.New("not enough free slots")

// Runner runs jobs on task managers. LocalRunner runs them in this
// process; remote task managers implement it too.
type Runner interface {
	// Start deploys graph g of job and returns at once; the job resumes
	// from restore when set, and keeps its checkpoints in st. It fails
	// with ErrNoSlots when the job does not fit the free slots now.
	Start(ctx context.Context, job JobSpec, g *jobgraph.Graph, restore *checkpoint.Metadata, st checkpoint.Storage) (Execution, error)
	// TotalSlots is the number of slots of every task manager.
	TotalSlots() int
	// TaskManagers describes the task managers.
	TaskManagers() []TaskManagerInfo
}

// Execution is one running job.
type Execution interface {
	// Status is the job's live status.
	Status() ExecStatus
	// Cancel cancels the job; Done closes once it is torn down.
	Cancel()
	// Savepoint takes a savepoint; the job runs on.
	Savepoint(ctx context.Context) (string, error)
	// StopWithSavepoint stops the job with a savepoint and returns its
	// path; the job then ends with no error.
	StopWithSavepoint(ctx context.Context) (string, error)
	// Done is closed when the job has ended.
	Done() <-chan struct{}
	// Err is the job's error once Done is closed: nil when every source
	// was exhausted and every row committed, or when it stopped with a
	// savepoint.
	Err() error
}

// ExecStatus is an execution's live status.
type ExecStatus struct {
	runtime.Status
	// SavepointPath is the savepoint the job stopped with, once it has.
	SavepointPath string
	// Message, when set, says what a restarting job waits for (e.g.
	// slots).
	Message string
}

// TaskManagerInfo describes a task manager.
type TaskManagerInfo struct {
	ID            string
	Slots         int
	FreeSlots     int
	Address       string
	LastHeartbeat time.Time
	// Local marks a task manager inside the job manager's process.
	Local bool
}
