package expr

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

// compileUDF compiles a FuncUDF call: the user-defined scalar function
// Expr.UDF of the Env's registry, given its arguments as columns (a
// constant is broadcast; an untyped NULL is a column of Arrow's NULL
// type). Its ResultType must agree with the plan's; its result is checked
// (length, Arrow type) and a panic in it fails the job as an error.
func compileUDF(c *compiler, e *Expr, args []*prog) (*prog, error) {
	name := e.UDF
	if name == "" {
		return nil, fmt.Errorf("a user-defined function call names no function")
	}
	if c.env.Functions == nil {
		return nil, fmt.Errorf("user-defined function %s: the job has no function registry", name)
	}
	f, ok := c.env.Functions.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown user-defined function %s (registered: %v)", name, c.env.Functions.Names())
	}
	s, ok := f.(udf.Scalar)
	if !ok {
		return nil, fmt.Errorf("user-defined function %s is not a scalar function", name)
	}
	argTypes := make([]types.Type, len(args))
	for i, a := range args {
		argTypes[i] = a.t
	}
	rt, err := s.ResultType(argTypes)
	if err != nil {
		return nil, fmt.Errorf("user-defined function %s: %w", name, err)
	}
	if !arrow.TypeEqual(rt.Arrow(), e.Type.Arrow()) {
		return nil, fmt.Errorf("user-defined function %s returns %s, but the plan says %s", name, rt, e.Type)
	}
	text := callText(name, args)
	dt := e.Type.Arrow()
	p := &prog{t: e.Type, text: text, fallible: true}
	p.run = func(ec *evalCtx, in *batch) (value, error) {
		cols := make([]arrow.Array, len(args))
		defer func() {
			for _, a := range cols {
				if a != nil {
					a.Release()
				}
			}
		}()
		for i, a := range args {
			arr, err := a.evalArray(ec, in)
			if err != nil {
				return value{}, err
			}
			cols[i] = arr
		}
		out, err := callScalar(ec.ctx, s, cols, in.n, ec.mem)
		if err != nil {
			return value{}, fmt.Errorf("%s: %w", text, err)
		}
		if out == nil {
			return value{}, fmt.Errorf("%s: the function returned no column", text)
		}
		if out.Len() != in.n || !arrow.TypeEqual(out.DataType(), dt) {
			err := fmt.Errorf("%s: the function returned %d rows of %s, want %d rows of %s", text, out.Len(), out.DataType(), in.n, dt)
			out.Release()
			return value{}, err
		}
		return value{arr: out}, nil
	}
	return p, nil
}

// callScalar calls s.Eval, turning a panic into an error.
func callScalar(ctx context.Context, s udf.Scalar, cols []arrow.Array, n int, mem memory.Allocator) (out arrow.Array, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("the function panicked: %v", r)
		}
	}()
	return s.Eval(ctx, cols, n, mem)
}
