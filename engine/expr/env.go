package expr

import (
	"time"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

// Env is what a compiled expression may need from the job besides its
// input columns.
type Env struct {
	// Functions resolves FuncUDF calls (nil: the expression may call no
	// user-defined function).
	Functions *udf.Registry
	// Now is the wall clock in epoch milliseconds, for CURRENT_TIMESTAMP,
	// PROCTIME() and UNIX_TIMESTAMP() (nil: the system clock). Operators
	// pass operator.Context.Now.
	Now func() int64
}

// now returns the clock to use.
func (e Env) now() func() int64 {
	if e.Now != nil {
		return e.Now
	}
	return func() int64 { return time.Now().UnixMilli() }
}

// CompileWith is Compile with the job's user-defined functions and clock.
func CompileWith(e *Expr, input types.Schema, env Env) (Evaluator, error) {
	return compileEnv(e, input, env)
}

// CallsUDF reports whether e calls a user-defined function anywhere, and
// so can only be compiled with the job's registry (CompileWith).
func CallsUDF(e *Expr) bool {
	if e == nil {
		return false
	}
	if e.Kind == KindCall && e.Func == FuncUDF {
		return true
	}
	for _, a := range e.Args {
		if CallsUDF(a) {
			return true
		}
	}
	return false
}
