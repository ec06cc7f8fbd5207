package functions

import (
	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

// BindUDF types a call of the user-defined function f in an expression:
// a scalar function becomes an expr.FuncUDF call of the type its
// ResultType gives (errors from it are reported at the call); aggregate
// and table functions are errors here.
func BindUDF(c Ctx, f udf.Function, args []*expr.Expr) (*expr.Expr, error) {
	name := f.Name()
	switch fn := f.(type) {
	case udf.Scalar:
		argTypes := make([]types.Type, len(args))
		for i, a := range args {
			argTypes[i] = a.Type
		}
		t, err := fn.ResultType(argTypes)
		if err != nil {
			return nil, c.Errorf(-1, "%s: %v", name, err)
		}
		t = t.Plain()
		if t.Kind == types.Null || t.Kind == types.Interval {
			return nil, c.Errorf(-1, "%s: a function cannot return %s", name, t)
		}
		return &expr.Expr{Kind: expr.KindCall, Func: expr.FuncUDF, UDF: name, Args: args, Type: t}, nil
	case udf.Aggregate:
		return nil, c.Errorf(-1, "%s is an aggregate function: it cannot be used here", name)
	case udf.Table:
		return nil, c.Errorf(-1, "%s is a table function: call it in FROM ..., LATERAL TABLE(%s(...))", name, name)
	}
	return nil, c.Errorf(-1, "%s is not a scalar function", name)
}
