package expr

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/types"
)

// arithOp is a binary arithmetic operator.
type arithOp uint8

const (
	opAdd arithOp = iota
	opSub
	opMul
	opDiv
	opMod
)

var arithFuncs = map[string]arithOp{FuncAdd: opAdd, FuncSub: opSub, FuncMul: opMul, FuncDiv: opDiv, FuncMod: opMod}

var arithSymbols = [...]string{"+", "-", "*", "/", "%"}

// number is the set of primitive numeric column types.
type number interface {
	int32 | int64 | float64
}

// integer is the set of integer column types.
type integer interface {
	int32 | int64
}

// compileArith compiles add, sub, mul, div and mod.
func compileArith(fn string, t types.Type, args []*prog) (*prog, error) {
	if err := wantArgs(args, 2); err != nil {
		return nil, err
	}
	op := arithFuncs[fn]
	l, r := args[0], args[1]
	text := infix(arithSymbols[op], args)
	if op == opMod {
		text = "MOD(" + l.text + ", " + r.text + ")"
	}
	p := &prog{t: t, text: text, fallible: anyFallible(l, r)}
	lk, rk := l.t.Kind, r.t.Kind
	if lk == types.Null || rk == types.Null {
		p.konst = &scalar{null: true}
		return p, nil
	}
	mismatch := func() error {
		return fmt.Errorf("cannot apply %s to %s giving %s", arithSymbols[op], argTypes(args), t)
	}
	switch {
	case lk == rk && (lk == types.Int || lk == types.BigInt || lk == types.Double):
		if t.Kind != lk {
			return nil, mismatch()
		}
		if (op == opDiv || op == opMod) && lk != types.Double {
			p.fallible = true
		}
		dt := t.Arrow()
		switch lk {
		case types.Int:
			p.run = binaryRun[int32](op, l, r, dt, text)
		case types.BigInt:
			p.run = binaryRun[int64](op, l, r, dt, text)
		default:
			p.run = binaryRun[float64](op, l, r, dt, text)
		}
	case lk == types.Decimal && rk == types.Decimal:
		if t.Kind != types.Decimal {
			return nil, mismatch()
		}
		k, err := newDecArith(op, l.t, r.t, t)
		if err != nil {
			return nil, err
		}
		if op == opDiv || op == opMod {
			p.fallible = true
		}
		p.run = decimalRun(k, l, r, text)
	case (op == opAdd || op == opSub) && lk == types.Timestamp && rk == types.Interval,
		op == opAdd && lk == types.Interval && rk == types.Timestamp:
		if t.Kind != types.Timestamp {
			return nil, mismatch()
		}
		p.run = binaryRun[int64](op, l, r, t.Arrow(), text)
	case (op == opAdd || op == opSub) && lk == types.Interval && rk == types.Interval:
		if t.Kind != types.Interval {
			return nil, mismatch()
		}
		p.run = binaryRun[int64](op, l, r, t.Arrow(), text)
	default:
		return nil, mismatch()
	}
	return p, nil
}

// binaryRun returns the run function of a primitive arithmetic node.
func binaryRun[T number](op arithOp, l, r *prog, dt arrow.DataType, text string) func(*evalCtx, *batch) (value, error) {
	return strictBinary(l, r, func(ec *evalCtx, lv, rv value, n int) (value, error) {
		return arithNumbers[T](ec, op, lv, rv, dt, n, text)
	})
}

// arithNumbers applies op to two primitive operands, neither the constant
// NULL.
func arithNumbers[T number](ec *evalCtx, op arithOp, lv, rv value, dt arrow.DataType, n int, text string) (value, error) {
	if lv.arr == nil && rv.arr == nil {
		// Both constant but not folded (the call fails): compute over n rows.
		arr := broadcast(ec.mem, lv.sc, typeOfNumber[T](dt), n)
		defer arr.Release()
		lv = value{arr: arr}
	}
	vb, nulls := andValidity(ec.mem, n, lv.arr, rv.arr)
	ob, out := newValues[T](ec.mem, n)
	release := func() {
		ob.Release()
		if vb != nil {
			vb.Release()
		}
	}
	var valid []byte
	if vb != nil {
		valid = vb.Bytes()
	}
	var a, b []T
	var am, bm int
	if lv.arr != nil {
		a, am = values[T](lv.arr), -1
	} else {
		a = []T{scalarNumber[T](lv.sc)}
	}
	if rv.arr != nil {
		b, bm = values[T](rv.arr), -1
	} else {
		b = []T{scalarNumber[T](rv.sc)}
	}
	isFloat := isFloatType[T]()
	switch {
	case (op == opDiv || op == opMod) && !isFloat:
		bad := -1
		switch x := any(a).(type) {
		case []int32:
			bad = divModInts(op == opMod, x, am, any(b).([]int32), bm, any(out).([]int32), valid)
		case []int64:
			bad = divModInts(op == opMod, x, am, any(b).([]int64), bm, any(out).([]int64), valid)
		}
		if bad >= 0 {
			release()
			return value{}, fmt.Errorf("expr: division by zero in %s (%v %s 0)", text, a[bad&am], arithSymbols[op])
		}
	case op == opMod:
		modFloats(a, am, b, bm, out)
	case am != 0 && bm != 0:
		arithAA(op, a, b, out)
	case am != 0:
		arithAS(op, a, b[0], out)
	default:
		arithSA(op, a[0], b, out)
	}
	return value{arr: makeArray(dt, n, nulls, vb, ob)}, nil
}

// isFloatType reports whether T is float64.
func isFloatType[T number]() bool {
	var z T
	_, ok := any(z).(float64)
	return ok
}

// typeOfNumber maps an Arrow type back to the logical type of its numbers.
func typeOfNumber[T number](dt arrow.DataType) types.Type {
	switch dt.ID() {
	case arrow.INT32:
		return types.IntType
	case arrow.FLOAT64:
		return types.DoubleType
	case arrow.TIMESTAMP:
		return types.TimestampType
	case arrow.DURATION:
		return types.IntervalType
	}
	return types.BigIntType
}

// scalarNumber reads a non-NULL scalar as T.
func scalarNumber[T number](sc *scalar) T {
	var z T
	switch any(z).(type) {
	case float64:
		return T(sc.f)
	}
	return T(sc.i)
}

// arithAA computes out[i] = a[i] op b[i] for add, sub, mul and (floats
// only) div. Integer arithmetic wraps on overflow, as Java's does.
func arithAA[T number](op arithOp, a, b, out []T) {
	a = a[:len(out)]
	b = b[:len(out)]
	switch op {
	case opAdd:
		for i := range out {
			out[i] = a[i] + b[i]
		}
	case opSub:
		for i := range out {
			out[i] = a[i] - b[i]
		}
	case opMul:
		for i := range out {
			out[i] = a[i] * b[i]
		}
	case opDiv:
		for i := range out {
			out[i] = a[i] / b[i]
		}
	}
}

// arithAS computes out[i] = a[i] op s.
func arithAS[T number](op arithOp, a []T, s T, out []T) {
	a = a[:len(out)]
	switch op {
	case opAdd:
		for i := range out {
			out[i] = a[i] + s
		}
	case opSub:
		for i := range out {
			out[i] = a[i] - s
		}
	case opMul:
		for i := range out {
			out[i] = a[i] * s
		}
	case opDiv:
		for i := range out {
			out[i] = a[i] / s
		}
	}
}

// arithSA computes out[i] = s op b[i].
func arithSA[T number](op arithOp, s T, b []T, out []T) {
	b = b[:len(out)]
	switch op {
	case opAdd:
		for i := range out {
			out[i] = s + b[i]
		}
	case opSub:
		for i := range out {
			out[i] = s - b[i]
		}
	case opMul:
		for i := range out {
			out[i] = s * b[i]
		}
	case opDiv:
		for i := range out {
			out[i] = s / b[i]
		}
	}
}

// divModInts computes integer division or remainder (truncating, so the
// remainder has the dividend's sign; MIN / -1 wraps to MIN, as in Java).
// a[i&am] and b[i&bm] address the operands (a mask of 0 repeats a
// constant). It returns the first non-NULL row whose divisor is 0, or -1.
// NULL rows (valid bit clear) never fail.
func divModInts[T integer](mod bool, a []T, am int, b []T, bm int, out []T, valid []byte) int {
	for i := range out {
		d := b[i&bm]
		if d == 0 {
			if isValid(valid, 0, i) {
				return i
			}
			out[i] = 0
			continue
		}
		if d == -1 {
			// Go defines MIN / -1 = MIN and MIN % -1 = 0, as Java does;
			// avoid relying on hardware that traps.
			if mod {
				out[i] = 0
			} else {
				out[i] = -a[i&am]
			}
			continue
		}
		if mod {
			out[i] = a[i&am] % d
		} else {
			out[i] = a[i&am] / d
		}
	}
	return -1
}

// modFloats computes the IEEE remainder with the dividend's sign (Java's %).
func modFloats[T number](a []T, am int, b []T, bm int, out []T) {
	for i := range out {
		out[i] = T(math.Mod(float64(a[i&am]), float64(b[i&bm])))
	}
}

// compileNeg compiles unary minus.
func compileNeg(t types.Type, args []*prog) (*prog, error) {
	if err := wantArgs(args, 1); err != nil {
		return nil, err
	}
	a := args[0]
	p := &prog{t: t, text: "(-" + a.text + ")", fallible: a.fallible}
	if a.t.Kind == types.Null {
		p.konst = &scalar{null: true}
		return p, nil
	}
	if !a.t.SameValues(t) && !(a.t.Kind == t.Kind && t.Kind != types.Decimal) {
		return nil, fmt.Errorf("cannot negate %s giving %s", a.t, t)
	}
	dt := t.Arrow()
	switch t.Kind {
	case types.Int:
		p.run = negRun[int32](a, dt)
	case types.BigInt, types.Interval:
		p.run = negRun[int64](a, dt)
	case types.Double:
		p.run = negRun[float64](a, dt)
	case types.Decimal:
		p.run = func(ec *evalCtx, in *batch) (value, error) {
			v, err := a.evalArray(ec, in)
			if err != nil {
				return value{}, err
			}
			defer v.Release()
			vb, nulls := copyValidity(ec.mem, v)
			ob, out := newValues[decimal128.Num](ec.mem, in.n)
			src := values[decimal128.Num](v)
			for i := range out {
				out[i] = src[i].Negate()
			}
			return value{arr: makeArray(dt, in.n, nulls, vb, ob)}, nil
		}
	default:
		return nil, fmt.Errorf("cannot negate %s", a.t)
	}
	return p, nil
}

// negRun returns the run function of unary minus on primitives.
func negRun[T number](a *prog, dt arrow.DataType) func(*evalCtx, *batch) (value, error) {
	return func(ec *evalCtx, in *batch) (value, error) {
		v, err := a.evalArray(ec, in)
		if err != nil {
			return value{}, err
		}
		defer v.Release()
		vb, nulls := copyValidity(ec.mem, v)
		ob, out := newValues[T](ec.mem, in.n)
		src := values[T](v)
		src = src[:len(out)]
		for i := range out {
			out[i] = -src[i]
		}
		return value{arr: makeArray(dt, in.n, nulls, vb, ob)}, nil
	}
}
