package udf

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// Function is what every user-defined function has: the name SQL calls it
// by (case-insensitive) and a check of its argument types.
type Function interface {
	// Name is the SQL name, e.g. "count_char".
	Name() string
}

// Scalar is a user-defined scalar function: one value per row.
type Scalar interface {
	Function
	// ResultType checks the argument types of a call and returns the
	// result type. Its error ("takes 2 arguments", "argument 1 must be a
	// STRING") is reported at the call, in the user's SQL.
	ResultType(args []types.Type) (types.Type, error)
	// Eval computes the result for n rows. args are the argument columns
	// (n rows each, of the types ResultType accepted); the result is a new
	// column of n rows of the result type, which the caller releases. Eval
	// may be called from several goroutines at once.
	Eval(ctx context.Context, args []arrow.Array, n int, mem memory.Allocator) (arrow.Array, error)
}

// Aggregate is a user-defined aggregate function.
type Aggregate interface {
	Function
	// ResultType checks the argument types and returns the result type.
	ResultType(args []types.Type) (types.Type, error)
	// NewAccumulator returns the empty state of one group.
	NewAccumulator(args []types.Type) Accumulator
}

// Accumulator is the running state of an aggregate for one group.
type Accumulator interface {
	// Accumulate folds row i of the argument columns into the state.
	Accumulate(args []arrow.Array, i int) error
	// Merge folds another accumulator of the same function into this one
	// (used when windows are built from slices and when state is restored).
	Merge(other Accumulator) error
	// Result appends the group's result to b, a builder of the result type.
	Result(b array.Builder) error
	// MarshalBinary and UnmarshalBinary save and restore the state, for
	// keyed state and checkpoints.
	MarshalBinary() ([]byte, error)
	UnmarshalBinary(data []byte) error
}

// Table is a user-defined table function: zero or more rows per input row,
// called as LATERAL TABLE(f(args)).
type Table interface {
	Function
	// ResultSchema checks the argument types and returns the columns of
	// the rows the function produces.
	ResultSchema(args []types.Type) (types.Schema, error)
	// Eval produces the output rows for n input rows: a record with the
	// ResultSchema's columns, and for every output row the index of the
	// input row it belongs to (non-decreasing). The caller releases the
	// record.
	Eval(ctx context.Context, args []arrow.Array, n int, mem memory.Allocator) (arrow.RecordBatch, []int32, error)
}

// Registry holds user-defined functions by name. It is safe for concurrent
// use.
type Registry struct {
	mu    sync.RWMutex
	funcs map[string]Function
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{funcs: map[string]Function{}} }

// Register adds f, which must implement Scalar, Aggregate or Table. It fails
// if the name is empty or taken, or if f has a Check() error method that
// reports an error (the typed helpers do, for unsupported Go types).
func (r *Registry) Register(f Function) error {
	switch f.(type) {
	case Scalar, Aggregate, Table:
	default:
		return fmt.Errorf("udf: %q is neither a Scalar, an Aggregate nor a Table function", f.Name())
	}
	name := strings.ToLower(f.Name())
	if name == "" {
		return fmt.Errorf("udf: a function needs a name")
	}
	if c, ok := f.(interface{ Check() error }); ok {
		if err := c.Check(); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.funcs[name]; dup {
		return fmt.Errorf("udf: function %q registered twice", name)
	}
	r.funcs[name] = f
	return nil
}

// Lookup returns the function called name (case-insensitive). A nil
// registry holds nothing.
func (r *Registry) Lookup(name string) (Function, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.funcs[strings.ToLower(name)]
	return f, ok
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.funcs))
	for n := range r.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
