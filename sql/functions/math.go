package functions

import (
	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
)

// doubleFunc binds a DOUBLE function of DOUBLE arguments (numbers are
// cast).
func doubleFunc(name, fn string) bindFn {
	return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
		out := make([]*expr.Expr, len(args))
		for i := range args {
			a, err := wantDouble(c, name, args, i)
			if err != nil {
				return nil, err
			}
			out[i] = a
		}
		return expr.Call(fn, typ(types.DoubleType, notNull(out...)), out...), nil
	}
}

func registerMath() {
	register(&Func{Name: "ABS", Category: "arithmetic", Synopsis: "ABS(x)", Doc: "The absolute value of x, of x's type.", MinArgs: 1, MaxArgs: 1,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			x, err := wantNumeric(c, "ABS", args, 0)
			if err != nil {
				return nil, err
			}
			return expr.Call(expr.FuncAbs, typ(x.Type, x.Type.NotNull), x), nil
		}})
	register(&Func{Name: "MOD", Category: "arithmetic", Synopsis: "MOD(a, b)", Doc: "The remainder of a / b, with a's sign.", MinArgs: 2, MaxArgs: 2,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) { return c.Arith("%", args[0], args[1], -1) }})
	register(&Func{Name: "POWER", Aliases: []string{"POW"}, Category: "arithmetic", Synopsis: "POWER(a, b)", Doc: "a to the power b, a DOUBLE.", MinArgs: 2, MaxArgs: 2,
		bind: doubleFunc("POWER", expr.FuncPower)})
	register(&Func{Name: "SQRT", Category: "arithmetic", Synopsis: "SQRT(x)", Doc: "The square root of x, a DOUBLE.", MinArgs: 1, MaxArgs: 1,
		bind: doubleFunc("SQRT", expr.FuncSqrt)})
	register(&Func{Name: "LN", Category: "arithmetic", Synopsis: "LN(x)", Doc: "The natural logarithm of x, a DOUBLE.", MinArgs: 1, MaxArgs: 1,
		bind: doubleFunc("LN", expr.FuncLn)})
	register(&Func{Name: "LOG10", Category: "arithmetic", Synopsis: "LOG10(x)", Doc: "The base-10 logarithm of x, a DOUBLE.", MinArgs: 1, MaxArgs: 1,
		bind: doubleFunc("LOG10", expr.FuncLog10)})
	register(&Func{Name: "LOG2", Category: "arithmetic", Synopsis: "LOG2(x)", Doc: "The base-2 logarithm of x, a DOUBLE.", MinArgs: 1, MaxArgs: 1,
		bind: doubleFunc("LOG2", expr.FuncLog2)})
	register(&Func{Name: "LOG", Category: "arithmetic", Synopsis: "LOG(x) or LOG(base, x)", Doc: "The natural logarithm of x, or its logarithm to base, a DOUBLE.", MinArgs: 1, MaxArgs: 2,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			if len(args) == 1 {
				return doubleFunc("LOG", expr.FuncLn)(c, args)
			}
			return doubleFunc("LOG", expr.FuncLog)(c, args)
		}})
	register(&Func{Name: "EXP", Category: "arithmetic", Synopsis: "EXP(x)", Doc: "e to the power x, a DOUBLE.", MinArgs: 1, MaxArgs: 1,
		bind: doubleFunc("EXP", expr.FuncExp)})
	register(&Func{Name: "ROUND", Category: "arithmetic", Synopsis: "ROUND(x [, d])", Doc: "x rounded half up to d decimal places (default 0; d < 0 rounds to tens, hundreds, ...); d is an integer literal.", MinArgs: 1, MaxArgs: 2,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			x, err := wantNumeric(c, "ROUND", args, 0)
			if err != nil {
				return nil, err
			}
			d := int64(0)
			if len(args) == 2 {
				var ok bool
				if d, ok = intLiteral(args[1]); !ok {
					return nil, c.Errorf(1, "the decimal places of ROUND must be an integer literal")
				}
			}
			t := x.Type.Plain()
			if t.Kind == types.Decimal {
				t = expr.RoundDecimalType(t.Precision, t.Scale, int(max(min(d, 100), -100)))
			}
			dl := expr.Lit(itoa(d), types.Type{Kind: types.BigInt, NotNull: true})
			return expr.Call(expr.FuncRound, typ(t, x.Type.NotNull), x, dl), nil
		}})
	floorCeil := func(name, fn string) bindFn {
		return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			if args[0].Type.Kind == types.Timestamp {
				return nil, c.Errorf(0, "%s of a TIMESTAMP needs a unit: %s(ts TO unit)", name, name)
			}
			x, err := wantNumeric(c, name, args, 0)
			if err != nil {
				return nil, err
			}
			switch x.Type.Kind {
			case types.Int, types.BigInt:
				return x, nil
			case types.Decimal:
				return expr.Call(fn, typ(types.DecimalType(x.Type.Precision, 0), x.Type.NotNull), x), nil
			}
			return expr.Call(fn, typ(x.Type, x.Type.NotNull), x), nil
		}
	}
	register(&Func{Name: "FLOOR", Category: "arithmetic", Synopsis: "FLOOR(x) or FLOOR(ts TO unit)", Doc: "The largest integer not above x (a DECIMAL(p, s) gives DECIMAL(p, 0)).", MinArgs: 1, MaxArgs: 1,
		bind: floorCeil("FLOOR", expr.FuncFloor)})
	register(&Func{Name: "CEIL", Aliases: []string{"CEILING"}, Category: "arithmetic", Synopsis: "CEIL(x) or CEIL(ts TO unit)", Doc: "The smallest integer not below x.", MinArgs: 1, MaxArgs: 1,
		bind: floorCeil("CEIL", expr.FuncCeil)})
	register(&Func{Name: "RAND", Category: "arithmetic", Synopsis: "RAND()", Doc: "A pseudorandom DOUBLE in [0, 1), per row.", MinArgs: 0, MaxArgs: 0,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			return expr.Call(expr.FuncRand, typ(types.DoubleType, true)), nil
		}})
}
