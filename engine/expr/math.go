package expr

// Arithmetic functions. DOUBLE functions follow Java's Math (POWER keeps
// Java's NaN rules where Go's math.Pow differs); ABS wraps on the minimum
// integer like Math.abs; ROUND rounds half up on the decimal value (a
// DOUBLE through its shortest decimal form, as BigDecimal.valueOf does);
// DECIMAL results are exact.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/types"
)

// compileAbs compiles ABS(x) for every numeric type (the result has x's
// type).
func compileAbs(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("ABS", args, 1, 1); err != nil {
		return nil, err
	}
	if err := checkArgKinds("ABS", args, numKinds); err != nil {
		return nil, err
	}
	x := args[0]
	if !sameArrow(x.t, e.Type) && x.t.Kind != types.Null {
		return nil, fmt.Errorf("ABS of %s returns %s, not %s", x.t, x.t, e.Type)
	}
	p := &prog{t: e.Type, text: callText("ABS", args), fallible: x.fallible}
	dt := e.Type.Arrow()
	kind := e.Type.Kind
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		arr := materialize(ec.mem, vals[0], x.t, n)
		defer arr.Release()
		vb, nulls := copyValidity(ec.mem, arr)
		switch kind {
		case types.Int:
			ob, out := newValues[int32](ec.mem, n)
			for i, v := range values[int32](arr) {
				out[i] = (v ^ (v >> 31)) - (v >> 31)
			}
			return value{arr: makeArray(dt, n, nulls, vb, ob)}, nil
		case types.BigInt:
			ob, out := newValues[int64](ec.mem, n)
			for i, v := range values[int64](arr) {
				out[i] = (v ^ (v >> 63)) - (v >> 63)
			}
			return value{arr: makeArray(dt, n, nulls, vb, ob)}, nil
		case types.Double:
			ob, out := newValues[float64](ec.mem, n)
			for i, v := range values[float64](arr) {
				out[i] = math.Abs(v)
			}
			return value{arr: makeArray(dt, n, nulls, vb, ob)}, nil
		default:
			ob, out := newValues[decimal128.Num](ec.mem, n)
			for i, v := range values[decimal128.Num](arr) {
				out[i] = v.Abs()
			}
			return value{arr: makeArray(dt, n, nulls, vb, ob)}, nil
		}
	})
	return p, nil
}

// javaPow is Java's Math.pow: like math.Pow, except that a NaN exponent
// always gives NaN and 1 or -1 to an infinite power is NaN.
func javaPow(a, b float64) float64 {
	if math.IsNaN(b) {
		return math.NaN()
	}
	if math.IsInf(b, 0) && math.Abs(a) == 1 {
		return math.NaN()
	}
	return math.Pow(a, b)
}

// javaLog10 is Java's Math.log10, exact on powers of ten.
func javaLog10(x float64) float64 {
	r := math.Log10(x)
	if r == math.Trunc(r) || math.IsInf(r, 0) || math.IsNaN(r) {
		return r
	}
	if k := math.Round(r); math.Abs(r-k) < 1e-9 && k >= -300 && k <= 300 && math.Pow(10, k) == x {
		return k
	}
	return r
}

// doubleFuncs are the DOUBLE functions of DOUBLE arguments.
var doubleFuncs = map[string]struct {
	name  string
	arity int
	f1    func(float64) float64
	f2    func(float64, float64) float64
}{
	FuncSqrt:  {name: "SQRT", arity: 1, f1: math.Sqrt},
	FuncLn:    {name: "LN", arity: 1, f1: math.Log},
	FuncLog10: {name: "LOG10", arity: 1, f1: javaLog10},
	FuncLog2:  {name: "LOG2", arity: 1, f1: func(x float64) float64 { return math.Log(x) / math.Ln2 }},
	FuncExp:   {name: "EXP", arity: 1, f1: math.Exp},
	FuncPower: {name: "POWER", arity: 2, f2: javaPow},
	FuncLog:   {name: "LOG", arity: 2, f2: func(b, x float64) float64 { return math.Log(x) / math.Log(b) }},
}

// compileDoubleFunc compiles a function of doubleFuncs.
func compileDoubleFunc(fn string) compileFn {
	d := doubleFuncs[fn]
	return func(c *compiler, e *Expr, args []*prog) (*prog, error) {
		if err := argRange(d.name, args, d.arity, d.arity); err != nil {
			return nil, err
		}
		kinds := [][]types.Kind{{types.Double}, {types.Double}}
		if err := checkArgKinds(d.name, args, kinds[:d.arity]...); err != nil {
			return nil, err
		}
		if e.Type.Kind != types.Double {
			return nil, fmt.Errorf("%s returns a DOUBLE, not %s", d.name, e.Type)
		}
		p := &prog{t: e.Type, text: callText(d.name, args), fallible: anyFallible(args...)}
		p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
			ob, out := newValues[float64](ec.mem, n)
			a := newF64Operand(vals[0])
			if d.arity == 1 {
				for i := range out {
					out[i] = d.f1(a.at(i))
				}
			} else {
				b := newF64Operand(vals[1])
				for i := range out {
					out[i] = d.f2(a.at(i), b.at(i))
				}
			}
			nulls := newOutNulls(ec.mem, n, vals...)
			vb, nn := nulls.finish()
			return value{arr: makeArray(arrow.PrimitiveTypes.Float64, n, nn, vb, ob)}, nil
		})
		return p, nil
	}
}

// roundDouble rounds x half up to d decimal places of its shortest decimal
// form (BigDecimal.valueOf(x).setScale(d, HALF_UP).doubleValue()). NaN and
// infinities are returned as they are.
func roundDouble(x float64, d int64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
		return x
	}
	var buf [40]byte
	b := strconv.AppendFloat(buf[:0], x, 'e', -1, 64) // [-]d[.ddd]e±xx
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var digits [24]byte
	nd := 0
	k := 0
	for ; b[k] != 'e'; k++ {
		if b[k] != '.' {
			digits[nd] = b[k]
			nd++
		}
	}
	exp, _ := strconv.Atoi(string(b[k+1:]))
	keep := int64(exp) + d + 1 // digits at places >= 10^-d
	if keep >= int64(nd) {
		return x
	}
	if keep < 0 {
		return 0
	}
	up := digits[keep] >= '5'
	var out [48]byte
	o := 0
	if neg {
		out[o] = '-'
		o++
	}
	if keep == 0 {
		if !up {
			return 0
		}
		out[o] = '1'
		o++
	} else {
		start := o
		o += copy(out[o:], digits[:keep])
		if up {
			i := o - 1
			for ; i >= start && out[i] == '9'; i-- {
				out[i] = '0'
			}
			if i >= start {
				out[i]++
			} else {
				copy(out[start+1:], out[start:o])
				out[start] = '1'
				o++
				exp++ // one more leading digit
				keep++
			}
		}
	}
	// The kept digits end at place 10^(exp-keep+1).
	res := append(out[:o], 'e')
	res = strconv.AppendInt(res, int64(exp)-keep+1, 10)
	f, _ := strconv.ParseFloat(unsafe.String(&res[0], len(res)), 64)
	return f
}

// roundInt rounds x half up to a multiple of 10^k (k > 0) and returns the
// low 64 bits of the result (Java's BigDecimal.longValue).
func roundInt(x int64, k int64) int64 {
	if k > 19 {
		return 0
	}
	if k == 19 {
		p19 := uint64(10_000_000_000_000_000_000)
		switch {
		case x >= 5_000_000_000_000_000_000:
			return int64(p19) // the low 64 bits of 10^19
		case x <= -5_000_000_000_000_000_000:
			return -int64(p19)
		}
		return 0
	}
	p := int64(pow10u64[k])
	q, r := x/p, x%p
	if r >= 0 && uint64(r)*2 >= uint64(p) {
		q++
	} else if r < 0 && uint64(-r)*2 >= uint64(p) {
		q--
	}
	return q * p
}

// RoundDecimalType is the type of ROUND(x, d) for x DECIMAL(p, s) (Flink's
// LogicalTypeMerging.findRoundDecimalType).
func RoundDecimalType(p, s, d int) types.Type {
	switch {
	case d >= s:
		return types.DecimalType(p, s)
	case d < 0:
		return types.DecimalType(min(38, 1+p-s), 0)
	}
	return types.DecimalType(1+p-s+d, d)
}

// compileRound compiles ROUND(x, d) with d a constant integer: x rounded
// half up to d decimal places (d < 0 rounds to tens, hundreds, ...). The
// result has x's type, except for a DECIMAL (see RoundDecimalType).
func compileRound(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("ROUND", args, 2, 2); err != nil {
		return nil, err
	}
	if err := checkArgKinds("ROUND", args, numKinds, intKinds); err != nil {
		return nil, err
	}
	x, dp := args[0], args[1]
	if dp.konst == nil || dp.konst.null {
		return nil, fmt.Errorf("the decimal places of ROUND must be a constant integer, not %s", dp.text)
	}
	d := dp.konst.i
	want := x.t.Plain()
	if want.Kind == types.Decimal {
		want = RoundDecimalType(want.Precision, want.Scale, int(max(min(d, 100), -100)))
	}
	if !sameArrow(want, e.Type) {
		return nil, fmt.Errorf("ROUND of %s to %d places returns %s, not %s", x.t, d, want, e.Type)
	}
	p := &prog{t: e.Type, text: callText("ROUND", args), fallible: x.fallible}
	dt := e.Type.Arrow()
	kind, scale := x.t.Kind, int64(x.t.Scale)
	p.run = strictRun(args[:1], func(ec *evalCtx, vals []value, n int) (value, error) {
		arr := materialize(ec.mem, vals[0], x.t, n)
		defer arr.Release()
		nulls := newOutNulls(ec.mem, n, value{arr: arr})
		switch kind {
		case types.Int:
			ob, out := newValues[int32](ec.mem, n)
			for i, v := range values[int32](arr) {
				if d >= 0 {
					out[i] = v
				} else {
					out[i] = int32(roundInt(int64(v), -d))
				}
			}
			vb, nn := nulls.finish()
			return value{arr: makeArray(dt, n, nn, vb, ob)}, nil
		case types.BigInt:
			ob, out := newValues[int64](ec.mem, n)
			for i, v := range values[int64](arr) {
				if d >= 0 {
					out[i] = v
				} else {
					out[i] = roundInt(v, -d)
				}
			}
			vb, nn := nulls.finish()
			return value{arr: makeArray(dt, n, nn, vb, ob)}, nil
		case types.Double:
			ob, out := newValues[float64](ec.mem, n)
			for i, v := range values[float64](arr) {
				out[i] = roundDouble(v, d)
			}
			vb, nn := nulls.finish()
			return value{arr: makeArray(dt, n, nn, vb, ob)}, nil
		default:
			ob, out := newValues[decimal128.Num](ec.mem, n)
			in := values[decimal128.Num](arr)
			for i, v := range in {
				if d >= scale {
					out[i] = v
					continue
				}
				u, neg := mag(v)
				q := u.divPow10(int(scale-d), true)
				if d < 0 {
					var ok bool
					if q, ok = q.mulPow10(int(-d), 38); !ok {
						nulls.setNull(i)
						continue
					}
				}
				out[i] = q.signed(neg)
			}
			vb, nn := nulls.finish()
			return value{arr: makeArray(dt, n, nn, vb, ob)}, nil
		}
	})
	return p, nil
}

// compileFloorCeil compiles FLOOR(x) and CEIL(x) of a DOUBLE or a DECIMAL
// (DECIMAL(p, s) gives DECIMAL(p, 0)); the planner passes integers
// through without a call.
func compileFloorCeil(ceil bool) compileFn {
	name := "FLOOR"
	if ceil {
		name = "CEIL"
	}
	return func(c *compiler, e *Expr, args []*prog) (*prog, error) {
		if err := argRange(name, args, 1, 1); err != nil {
			return nil, err
		}
		if err := checkArgKinds(name, args, numKinds); err != nil {
			return nil, err
		}
		x := args[0]
		want := x.t.Plain()
		if want.Kind == types.Decimal {
			want = types.DecimalType(want.Precision, 0)
		}
		if !sameArrow(want, e.Type) {
			return nil, fmt.Errorf("%s of %s returns %s, not %s", name, x.t, want, e.Type)
		}
		p := &prog{t: e.Type, text: callText(name, args), fallible: x.fallible}
		dt := e.Type.Arrow()
		kind, scale := x.t.Kind, x.t.Scale
		p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
			arr := materialize(ec.mem, vals[0], x.t, n)
			defer arr.Release()
			vb, nulls := copyValidity(ec.mem, arr)
			switch kind {
			case types.Int:
				ob, out := newValues[int32](ec.mem, n)
				copy(out, values[int32](arr))
				return value{arr: makeArray(dt, n, nulls, vb, ob)}, nil
			case types.BigInt:
				ob, out := newValues[int64](ec.mem, n)
				copy(out, values[int64](arr))
				return value{arr: makeArray(dt, n, nulls, vb, ob)}, nil
			case types.Double:
				ob, out := newValues[float64](ec.mem, n)
				for i, v := range values[float64](arr) {
					if ceil {
						out[i] = math.Ceil(v)
					} else {
						out[i] = math.Floor(v)
					}
				}
				return value{arr: makeArray(dt, n, nulls, vb, ob)}, nil
			default:
				ob, out := newValues[decimal128.Num](ec.mem, n)
				for i, v := range values[decimal128.Num](arr) {
					u, neg := mag(v)
					q := u.divPow10(scale, false)
					back, _ := q.mulPow10(scale, 38)
					if back != u && (neg != ceil) {
						q = q.add64(1)
					}
					out[i] = q.signed(neg)
				}
				return value{arr: makeArray(dt, n, nulls, vb, ob)}, nil
			}
		})
		return p, nil
	}
}

// compileRand compiles RAND(): a pseudorandom DOUBLE in [0, 1) per row.
func compileRand(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("RAND", args, 0, 0); err != nil {
		return nil, err
	}
	if e.Type.Kind != types.Double {
		return nil, fmt.Errorf("RAND returns a DOUBLE, not %s", e.Type)
	}
	p := &prog{t: e.Type, text: "RAND()"}
	p.run = func(ec *evalCtx, in *batch) (value, error) {
		ob, out := newValues[float64](ec.mem, in.n)
		for i := range out {
			out[i] = rand.Float64()
		}
		return value{arr: makeArray(arrow.PrimitiveTypes.Float64, in.n, 0, nil, ob)}, nil
	}
	return p, nil
}
