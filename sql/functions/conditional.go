package functions

import (
	"strconv"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// coalesce binds COALESCE(a, b, ...): CASE WHEN a IS NOT NULL THEN a ...
// ELSE last END, of the arguments' common type; arguments after one that
// is NOT NULL are never reached and dropped. NOT NULL when the last
// reached argument is.
func coalesce(name string) bindFn {
	return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
		vals := args
		for i, v := range args {
			if v.Type.NotNull {
				vals = args[:i+1]
				break
			}
		}
		t := types.Type{}
		for i, v := range vals {
			ct, ok := c.CommonType(t, v.Type)
			if !ok {
				return nil, c.Errorf(i, "%s arguments have incompatible types %s and %s", name, t, v.Type.Plain().Nullable())
			}
			t = ct
		}
		if t.Kind == types.Null {
			return nil, c.Errorf(-1, "cannot infer the type of %s: every argument is NULL", name)
		}
		if len(vals) == 1 {
			return c.Cast(vals[0], t), nil
		}
		var cargs []*expr.Expr
		for _, v := range vals[:len(vals)-1] {
			if v.Type.Kind == types.Null {
				continue
			}
			cargs = append(cargs, expr.Call(expr.FuncIsNotNull, types.Type{Kind: types.Boolean, NotNull: true}, v), c.Cast(v, t))
		}
		last := vals[len(vals)-1]
		cargs = append(cargs, c.Cast(last, t))
		t.NotNull = last.Type.NotNull
		if len(cargs) == 1 {
			return cargs[0], nil
		}
		return expr.Call(expr.FuncCase, t, cargs...), nil
	}
}

func registerConditional() {
	register(&Func{Name: "COALESCE", Category: "conditional", Synopsis: "COALESCE(a, b, ...)", Doc: "The first argument that is not NULL.", MinArgs: 1, MaxArgs: -1,
		bind: coalesce("COALESCE")})
	register(&Func{Name: "IFNULL", Category: "conditional", Synopsis: "IFNULL(a, b)", Doc: "a unless it is NULL, else b.", MinArgs: 2, MaxArgs: 2,
		bind: coalesce("IFNULL")})
	register(&Func{Name: "NULLIF", Category: "conditional", Synopsis: "NULLIF(a, b)", Doc: "NULL if a = b, else a.", MinArgs: 2, MaxArgs: 2,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			v, w := args[0], args[1]
			if v.Type.Kind == types.Null {
				return nil, c.Errorf(0, "cannot infer the type of NULL in NULLIF")
			}
			eq, err := c.Compare("=", v, w, -1)
			if err != nil {
				return nil, err
			}
			t := v.Type.Plain().Nullable()
			return expr.Call(expr.FuncCase, t, eq, expr.NullLit(t), c.Cast(v, t)), nil
		}})
	register(&Func{Name: "IF", Category: "conditional", Synopsis: "IF(condition, then, else)", Doc: "then when condition is TRUE, else else.", MinArgs: 3, MaxArgs: 3,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			cond := args[0]
			switch cond.Type.Kind {
			case types.Boolean:
			case types.Null:
				cond = expr.NullLit(types.BooleanType)
			default:
				return nil, c.Errorf(0, "IF condition must be BOOLEAN, not %s", cond.Type.Plain())
			}
			return c.Case([]*expr.Expr{cond}, []*expr.Expr{args[1], args[2]}, true, []int{1, 2})
		}})
}
