package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/engine/exchange"
)

// SubtaskError is the error of one subtask: the vertex, operator and
// subtask it happened in, and the cause.
type SubtaskError struct {
	VertexID string
	// OperatorID and OperatorName are empty when the error was the
	// runtime's own (reading inputs, for example).
	OperatorID   string
	OperatorName string
	Subtask      int
	Parallelism  int
	Err          error
}

// Error renders e as "vertex v, operator o (name), subtask 1 of 4: cause".
func (e *SubtaskError) Error() string {
	op := ""
	if e.OperatorID != "" {
		op = ", operator " + e.OperatorID
		if e.OperatorName != "" {
			op += " (" + e.OperatorName + ")"
		}
	}
	return fmt.Sprintf("vertex %s%s, subtask %d of %d: %v", e.VertexID, op, e.Subtask, e.Parallelism, e.Err)
}

// Unwrap returns the cause.
func (e *SubtaskError) Unwrap() error { return e.Err }

// isTeardown reports whether err only says the job is being torn down.
func isTeardown(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, exchange.ErrClosed)
}
